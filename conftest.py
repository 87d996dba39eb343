import time

import pytest


@pytest.fixture
def mini(db):
    from testkit import world as testing

    return testing.build_mini_district()


@pytest.fixture
def persona(db, mini):
    """persona("community_worker") → a signed-up user holding that role at the mini district's community."""

    from testkit import world as testing

    def make(role: str, node=None, username: str | None = None):
        return testing.make_user(username or f"{role}-{node.pk if node else 'c'}", role, node or mini.community)

    return make


@pytest.fixture(autouse=True)
def _own_checkpoint_file(settings, tmp_path):
    """Each test its own audit checkpoint file (the outside copy), as its database is its own: a checkpoint one
    test wrote (a demo load, a notice PDF) must not meet another test's rolled-back log."""
    settings.GONGZHI_AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's language (Chinese), as a request does through LocaleMiddleware. Outside a
    request the active language is otherwise whatever ran before: a management command run with translations off
    (migrate, when the test database is made) leaves none active, and messages come out in English."""
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def _sms_outbox():
    from gongzhi.core.sms import LocmemBackend

    LocmemBackend.outbox.clear()
    yield


def pytest_collection_modifyitems(config, items):
    """On SQLite, skip postgres_only tests; on PostgreSQL, sqlite_only ones (CI's legs deselect them with -m).

    Every transactional test gets serialized_rollback=True: its flush then leaves the seeded rows and content
    types to be restored from the snapshot, instead of re-creating content types under new ids (post_migrate),
    which would collide with the next serialized test's restore on PostgreSQL.
    """
    from django.conf import settings

    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None or not (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
            continue
        if not marker.kwargs.get("serialized_rollback"):
            kwargs = {**marker.kwargs, "transaction": True, "serialized_rollback": True}
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        other, skip = "sqlite_only", pytest.mark.skip(reason="sqlite_only: its PostgreSQL variant runs instead")
    else:
        other, skip = (
            "postgres_only",
            pytest.mark.skip(reason="postgres_only: run with DATABASE_URL=postgres://… to include it"),
        )
    for item in items:
        if other in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _sqlite_audit_triggers_and_flush(request):
    """SQLite's test flush DELETEs every row, which the audit log's append-only trigger refuses.

    For transactional tests (live server, real threads) on SQLite: make sure the triggers are there while the
    test runs, and drop the DELETE trigger just before pytest-django flushes the tables; the next test puts it
    back. PostgreSQL flushes with TRUNCATE, which row triggers do not see.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")  # set up first, so this teardown runs before the flush
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    import importlib

    migration = importlib.import_module("gongzhi.core.migrations.0002_audit_append_only")
    with connection.cursor() as cur:
        for statement in migration.SQLITE:
            cur.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS"))
    yield
    # A request the browser sent last may still be running in the live server's thread, holding the shared
    # in-memory database ("database table is locked"): it ends within moments, so wait for it (at most ~10 s).
    from django.db import OperationalError

    for attempt in range(100):
        try:
            with connection.cursor() as cur:
                cur.execute("DROP TRIGGER IF EXISTS core_auditentry_no_delete")
            break
        except OperationalError as e:
            if "locked" not in str(e) or attempt == 99:
                raise
            time.sleep(0.1)
