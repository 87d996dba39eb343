import pytest


@pytest.fixture
def mini(db):
    from gongzhi.core import testing

    return testing.build_mini_district()


@pytest.fixture
def persona(db, mini):
    """persona("community_worker") → a signed-up user holding that role at the mini district's community."""

    from gongzhi.core import testing

    def make(role: str, node=None, username: str | None = None):
        return testing.make_user(username or f"{role}-{node.pk if node else 'c'}", role, node or mini.community)

    return make


@pytest.fixture(autouse=True)
def _sms_outbox():
    from gongzhi.core.sms import LocmemBackend

    LocmemBackend.outbox.clear()
    yield


def pytest_collection_modifyitems(config, items):
    """On SQLite, skip postgres_only tests (CI's SQLite leg deselects them with -m "not postgres_only")."""
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="postgres_only: run with DATABASE_URL=postgres://… to include it")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)
