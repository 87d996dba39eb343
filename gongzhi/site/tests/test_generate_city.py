"""The city-scale generator: counts roll up, paths are consistent, and refresh_stats agrees with the bulk path."""

import pytest
from django.core.management import call_command
from django.db.models import Count

from gongzhi.registry.actions import refresh_stats
from gongzhi.registry.models import AreaNode, Ownership, Person, Residence, Unit

COUNTS = ("unit_count", "household_count", "resident_count", "aged_60_count", "aged_80_count", "compound_count")


@pytest.fixture
def city(db):
    call_command("generate_city", units=2000, compounds=8, seed=3, verbosity=0)
    return AreaNode.objects.get(parent=None, name="合成城区")


def test_counts_roll_up_from_units_to_the_district(city):
    assert Unit.objects.count() == 2000
    assert city.unit_count == 2000
    assert city.compound_count == 8
    assert city.resident_count == Residence.objects.count() == Person.objects.count()
    assert city.household_count == Unit.objects.filter(resident_count__gt=0).count()
    assert 0 < city.aged_80_count < city.aged_60_count < city.resident_count
    courtyards = AreaNode.objects.filter(level__code="courtyard")
    assert courtyards.count() == 8
    per_compound = dict(Unit.objects.values_list("compound").annotate(n=Count("pk")))
    for court in courtyards:
        assert court.unit_count == per_compound[court.pk] == 250
    for node in AreaNode.objects.exclude(level__code="entrance"):
        children = node.children.all()
        direct = Unit.objects.filter(node=node).count()
        assert node.unit_count == direct + sum(c.unit_count for c in children), node


def test_paths_are_consistent(city):
    nodes = {n.pk: n for n in AreaNode.objects.all()}
    for node in nodes.values():
        expected = f"{nodes[node.parent_id].path if node.parent_id else '/'}{node.pk}/"
        assert node.path == expected
        assert node.depth == node.level.depth
    for unit in Unit.objects.select_related("node", "compound")[:500]:
        assert unit.path == unit.node.path
        assert unit.path.startswith(unit.compound.path)
        assert unit.compound.level.is_compound
        assert unit.voting_area()[0] is not None  # every unit has an area from some source
    assert not Unit.objects.filter(area_registered=None, area_surveyed=None, area_contract=None).exists()
    assert (
        Ownership.objects.filter(is_designated_voter=True).count() == Unit.objects.filter(resident_count__gt=0).count()
    )


def test_bulk_counts_match_refresh_stats(city):
    before = {n.pk: tuple(getattr(n, f) for f in COUNTS) for n in AreaNode.objects.all()}
    for court in AreaNode.objects.filter(level__code="courtyard"):
        refresh_stats(court)
    after = {n.pk: tuple(getattr(n, f) for f in COUNTS) for n in AreaNode.objects.all()}
    assert after == before


def test_a_second_city_adds_ids_after_the_first(city):
    call_command("generate_city", units=100, compounds=1, seed=4, name="第二城区", verbosity=0)
    second = AreaNode.objects.get(parent=None, name="第二城区")
    assert second.unit_count == 100
    assert Unit.objects.count() == 2100
    # sequences were reset: an ordinary insert after the bulk path gets a fresh id
    person = Person.objects.create(name="新居民")
    assert person.pk > Person.objects.exclude(pk=person.pk).order_by("-pk").first().pk
