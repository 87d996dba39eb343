"""insert_unless_taken: a row a unique constraint may already hold, inserted without a savepoint on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.core.models import AuditEntry
from gongzhi.core.rows import insert_unless_taken

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
