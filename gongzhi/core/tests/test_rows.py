"""core.rows: a read whose SQL is built once (the same instances as the ORM's), and insert_unless_taken — a row a
unique constraint may already hold, inserted without a savepoint on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.core.models import AuditEntry, Upload, User
from gongzhi.core.rows import Read, insert, insert_unless_taken

pytestmark = pytest.mark.django_db(transaction=True)


def _entry(seq: int, **fields) -> AuditEntry:
    values = {
        "chain": 15,
        "seq": seq,
        "created_at": timezone.now(),
        "actor_label": "test",
        "action": "test.rows",
        "target_type": "test.thing",
        "target_id": str(seq),
        "changes": {"n": seq, "名": "值"},
        "prev_mac": "0" * 64,
        "mac": f"{seq:064x}",
    }
    return AuditEntry(**(values | fields))


def test_a_new_row_is_written_with_its_key_and_its_values():
    entry = _entry(1)
    assert insert_unless_taken(entry) is True
    assert entry.pk is not None and not entry._state.adding and entry._state.db == "default"
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.chain, stored.seq, stored.changes, stored.mac) == (15, 1, {"n": 1, "名": "值"}, entry.mac)


def test_a_taken_row_writes_nothing_and_the_transaction_goes_on():
    assert insert_unless_taken(_entry(1))
    with transaction.atomic():
        with CaptureQueriesContext(connection) as ctx:
            loser = _entry(1, mac="f" * 64)
            assert insert_unless_taken(loser) is False
        assert loser.pk is None
        # The transaction is not aborted: it reads and writes on.
        assert AuditEntry.objects.filter(chain=15).count() == 1
        assert insert_unless_taken(_entry(2))
    if connection.vendor == "postgresql":  # one statement, no SAVEPOINT / RELEASE around it
        assert len(ctx.captured_queries) == 1
        assert "ON CONFLICT DO NOTHING" in ctx.captured_queries[0]["sql"]
    assert list(AuditEntry.objects.filter(chain=15).order_by("seq").values_list("seq", "mac")) == [
        (1, f"{1:064x}"),
        (2, f"{2:064x}"),
    ]


def test_other_failures_still_raise():
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_unless_taken(_entry(1, action=None))  # NOT NULL: not a taken row
    assert not AuditEntry.objects.filter(chain=15).exists()


def test_an_insert_writes_the_values_the_orm_would_each_time_and_an_expression_too():
    """The second and later inserts of a model reuse the statement's text (PostgreSQL); the values are prepared
    for each row as `save()` prepares them, and a value that is an expression is compiled, not cached."""
    for seq in (1, 2, 3):
        with CaptureQueriesContext(connection) as ctx:
            entry = _entry(seq, changes={"n": seq, "when": "今天"})
            insert(entry)
        assert entry.pk is not None and not entry._state.adding
        assert len(ctx.captured_queries) == 1
    computed = _entry(4)
    computed.seq = Value(4)
    assert insert_unless_taken(computed) is True
    assert insert_unless_taken(_entry(4, mac="e" * 64)) is False  # taken, by the cached statement
    stored = list(AuditEntry.objects.filter(chain=15).order_by("seq").values_list("seq", "changes", "mac"))
    assert stored == [
        (1, {"n": 1, "when": "今天"}, f"{1:064x}"),
        (2, {"n": 2, "when": "今天"}, f"{2:064x}"),
        (3, {"n": 3, "when": "今天"}, f"{3:064x}"),
        (4, {"n": 4, "名": "值"}, f"{4:064x}"),
    ]


# --- Read -----------------------------------------------------------------------------------------------------


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_a_read_gives_the_instances_the_orm_gives_with_the_relation_joined():
    clerk = User.objects.create_user("rows-clerk", password="x-Long-Enough-1")
    AuditEntry.objects.bulk_create([_entry(1, actor=clerk), _entry(2), _entry(3, actor=clerk)])
    read = Read(AuditEntry, "t.chain = %s AND t.seq >= %s", related=("actor",), order_by="t.seq")
    with CaptureQueriesContext(connection) as ctx:
        got = read.all(15, 2)
        actors = [e.actor for e in got]  # cached by the join: no query
    assert len(ctx.captured_queries) == 1
    want = list(AuditEntry.objects.select_related("actor").filter(chain=15, seq__gte=2).order_by("seq"))
    assert [_fields(e) for e in got] == [_fields(e) for e in want]  # datetimes aware, JSON decoded, as the ORM's
    assert got[0].changes == {"n": 2, "名": "值"} and got[0].created_at.tzinfo is not None
    assert actors[0] is None and _fields(actors[1]) == _fields(clerk) and isinstance(actors[1], User)
    assert not got[0]._state.adding and got[0]._state.db == "default"
    assert read.first(15, 99) is None and read.all(15, 99) == []


def test_a_read_joins_a_relation_of_a_relation_and_adds_an_annotation():
    clerk = User.objects.create_user("rows-clerk2", password="x-Long-Enough-1")
    AuditEntry.objects.bulk_create([_entry(1), _entry(2, actor=clerk)])
    read = Read(
        AuditEntry,
        "t.chain = %s",
        related=("actor__person",),
        annotate={"later": ("(SELECT COUNT(*) FROM core_auditentry x WHERE x.chain = t.chain AND x.seq > t.seq)", int)},
        order_by="t.seq",
    )
    with CaptureQueriesContext(connection) as ctx:
        first, second = read.all(15)
        assert first.actor is None and second.actor.pk == clerk.pk and second.actor.person is None
    assert len(ctx.captured_queries) == 1
    assert (first.later, second.later) == (1, 0)
    assert "LEFT JOIN" in ctx.captured_queries[0]["sql"]  # both links may be empty


def test_a_read_of_values_converts_them_as_values_list_does():
    AuditEntry.objects.bulk_create([_entry(seq) for seq in (1, 2, 3)])
    tail = Read(AuditEntry, "t.chain = %s", order_by="t.seq DESC", limit=1, values=("seq", "created_at"))
    want = AuditEntry.objects.filter(chain=15).order_by("-seq").values_list("seq", "created_at").first()
    assert tail.first(15) == want and tail.all(15) == [want] and tail.first(14) is None


def test_a_read_converts_what_the_backend_stores_differently():
    """UUIDs (text on SQLite), files and booleans come back as the fields' Python values."""
    clerk = User.objects.create_user("rows-uploader", password="x-Long-Enough-1")
    upload = Upload.objects.create(
        file="uploads/2026/12/a.jpg",
        kind=Upload.Kind.SCAN,
        original_name="a.jpg",
        content_type="image/jpeg",
        size=3,
        sha256="0" * 64,
        uploaded_by=clerk,
    )
    got = Read(Upload, "t.id = %s", related=("uploaded_by",)).first(upload.pk)
    assert _fields(got) == _fields(Upload.objects.get(pk=upload.pk))
    assert got.key == upload.key and got.file.name == "uploads/2026/12/a.jpg" and got.uploaded_by.is_active is True


def test_the_sql_is_built_once_per_connection(monkeypatch):
    builds = []
    build = Read._build
    monkeypatch.setattr(Read, "_build", lambda self, conn: builds.append(conn) or build(self, conn))
    read = Read("core.AuditEntry", "t.chain = %s", values=("seq",))  # by label: resolved when first used
    assert read.all(15) == [] and read.all(15) == [] and read.first(15) is None
    assert builds == [connection] and read.model is AuditEntry


def test_only_a_forward_relation_can_be_joined():
    with pytest.raises(ValueError, match="forward relation"):
        Read(User, "t.id = %s", related=("role_assignments",)).all(1)


# --- where the platform reads through it on every request --------------------------------------------------------


def test_the_session_store_reads_a_live_session_and_not_an_expired_one():
    from datetime import timedelta

    from django.contrib.sessions.models import Session

    from gongzhi.core.sessions import SessionStore

    store = SessionStore()
    store["who"] = "张三"
    store.create()
    key = store.session_key
    with CaptureQueriesContext(connection) as ctx:
        assert SessionStore(key).load() == {"who": "张三"}
    assert len(ctx.captured_queries) == 1
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    stale = SessionStore(key)
    assert stale.load() == {} and stale.session_key is None  # as Django's own store: a new session follows
    assert SessionStore("no-such-session-key-at-all-here").load() == {}


def test_the_signed_in_user_is_read_as_the_model_backend_reads_it():
    from gongzhi.core.auth_backends import SmsCodeBackend

    user = User.objects.create_user("rows-resident", password="x-Long-Enough-1")
    backend = SmsCodeBackend()
    assert _fields(backend.get_user(user.pk)) == _fields(User.objects.get(pk=user.pk))
    assert backend.get_user(str(user.pk)).pk == user.pk and backend.get_user(user.pk + 999) is None
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert backend.get_user(user.pk) is None  # an inactive account is signed out, as with ModelBackend
