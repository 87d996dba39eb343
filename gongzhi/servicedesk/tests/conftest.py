import pytest


@pytest.fixture
def cats(mini):
    from gongzhi.servicedesk import testing

    return testing.catalogue(mini.district)


@pytest.fixture
def worker(persona, mini):
    return persona("community_worker", mini.community, "worker")


@pytest.fixture
def operator(persona, mini):
    return persona("hotline_operator", mini.district, "operator")


@pytest.fixture
def liaison(persona, mini):
    return persona("party_liaison", mini.courtyard, "liaison")


@pytest.fixture
def other_liaison(persona, mini):
    return persona("party_liaison", mini.other_courtyard, "liaison2")


@pytest.fixture
def resident(mini):
    from gongzhi.registry.models import Person
    from testkit.world import make_user

    person = Person.objects.get(name="张建国")
    return make_user("zhang", "resident", mini.courtyard, person=person, phone=person.phone)


@pytest.fixture
def submit(cats, resident, mini):
    """submit(**overrides) → a request from the resident about a stair light in 1号楼."""
    from gongzhi.servicedesk import actions

    def make(**kw):
        args = {
            "actor": resident,
            "category": cats["stair_light"],
            "description": "1单元3楼楼道灯不亮",
            "channel": "web",
            "node": mini.entrance,
            "answers": {"floor": "3"},
        }
        args.update(kw)
        return actions.submit_request(**args)

    return make


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache; ids repeat across rolled-back tests."""
    from django.core.cache import cache

    cache.clear()
    yield
