import pytest

from testkit import bulkywaste as bw


@pytest.fixture
def area(mini):
    """福华街街道 as the service area: 10 stops and 20 m³ a day."""
    return bw.service_area(mini.subdistrict)


@pytest.fixture
def other_area(mini):
    return bw.service_area(mini.other_subdistrict)


@pytest.fixture
def operator(persona, mini):
    return persona("hotline_operator", mini.district)


@pytest.fixture
def dispatcher(persona, mini):
    return persona("dispatcher", mini.subdistrict)


@pytest.fixture
def resident(mini):
    from gongzhi.registry.models import Person
    from testkit.world import make_user

    person = Person.objects.get(name="张建国")
    return make_user("zhang", "resident", mini.courtyard, person=person, phone=person.phone)
