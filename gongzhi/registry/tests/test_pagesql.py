"""The registry pages' hand-written SQL (registry/pagesql.py) gives what the ORM gives, on SQLite and PostgreSQL.

Each read is checked against an ORM query written the plain way (the twin), on the mini district grown with
co-owners, a legal person, units without owners, former owners, entrances, a LIKE wildcard in nothing but the
data, organisations inside and above a compound, and a dissolved one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Q

from gongzhi.organizations.models import Organization
from gongzhi.registry import actions, pagesql
from gongzhi.registry.models import AreaLevel, AreaNode, Ownership, Unit
from gongzhi.registry.selectors import LevelPlan, path_prefixes
from gongzhi.registry.tests.pages_helpers import add_orgs, add_owner, org_kind

pytestmark = pytest.mark.django_db


@pytest.fixture
def district(mini):
    add_orgs(mini)
    Organization.objects.create(
        kind=org_kind("t_committee2", "业主委员会", "self_governance"),
        name="已撤销的业委会",
        node=mini.courtyard,
        dissolved=date(2020, 1, 1),
    )
    add_owner(mini.units[0], designated_voter=True)
    add_owner(mini.units[0], name="李秀英", phone="", id_number="")
    works = actions.create_person(actor=None, name="A&B 机械厂", kind="legal", home_path=mini.units[1].path)
    actions.add_ownership(actor=None, unit=mini.units[1], person=works)
    former = add_owner(mini.units[2], name="王老师", phone="", id_number="")
    Ownership.objects.filter(person=former).update(until=date(2021, 5, 1))
    # Units straight under the building (no entrance), and a second entrance with a wildcard-looking name.
    actions.create_unit(actor=None, node=mini.building, number="001", area_surveyed=Decimal("33.30"))
    second = actions.create_area_node(
        actor=None, parent=mini.building, level=AreaLevel.objects.get(code="entrance"), name="2_单元%"
    )
    for i in range(3):
        actions.create_unit(actor=None, node=second, number=f"20{i}", floor=None)
    return mini


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_node_chain_matches_the_orm(district):
    for node in AreaNode.objects.all():
        got, ancestors, depth, community_depth = pagesql.node_chain(node.pk)
        want = AreaNode.objects.select_related("level").get(pk=node.pk)
        assert _fields(got) == _fields(want)
        assert _fields(got.level) == _fields(want.level)
        profile = getattr(want, "profile", None)
        if profile is None:
            assert getattr(got, "profile", None) is None
        else:
            assert _fields(got.profile) == _fields(profile)
            assert isinstance(got.profile.latitude, (Decimal, type(None))) and isinstance(
                got.profile.fees_collected, bool
            )
        want_up = list(AreaNode.objects.filter(pk__in=want.ids_on_path[:-1]).order_by("depth"))
        assert [_fields(a) for a in ancestors] == [_fields(a) for a in want_up]
        assert LevelPlan(depth, community_depth) == LevelPlan.load() == LevelPlan(4, 2)


def test_node_chain_costs_one_query_and_loads_level_and_profile(district, django_assert_num_queries):
    with django_assert_num_queries(1):
        node, ancestors, _depth, _community = pagesql.node_chain(district.courtyard.pk)
        assert node.level.name and node.profile.year_built == 1986 and ancestors[0].level.name
    with django_assert_num_queries(1):
        node, _a, _d, _c = pagesql.node_chain(district.building.pk)
        assert getattr(node, "profile", None) is None  # known absent: no query to find out


def test_node_chain_of_a_missing_node_and_without_compound_levels(district):
    assert pagesql.node_chain(10**9) == (None, [], None, None)
    AreaLevel.objects.update(is_compound=False)
    assert pagesql.node_chain(district.courtyard.pk)[2] is None
    AreaLevel.objects.filter(code="community").update(code="shequ")
    assert pagesql.node_chain(district.courtyard.pk)[3] is None


def test_children_match_the_orm_with_paging(district):
    for parent in AreaNode.objects.all():
        want = list(AreaNode.objects.filter(parent=parent).select_related("level").order_by("name"))
        got = pagesql.children(parent.pk, "", 50)
        assert [_fields(c) for c in got] == [_fields(c) for c in want]
        assert [_fields(c.level) for c in got] == [_fields(c.level) for c in want]
        if want:
            after = want[0].name
            assert [c.pk for c in pagesql.children(parent.pk, after, 50)] == [c.pk for c in want[1:]]
            assert [c.pk for c in pagesql.children(parent.pk, "", 1)] == [want[0].pk]


def _orm_unit_rows(node, after, limit):
    qs = Unit.objects.filter(compound_id__in=node.ids_on_path, path__startswith=node.path).order_by("id")
    if after:
        qs = qs.filter(id__gt=after)
    rows = []
    for unit in qs.select_related("node")[:limit]:
        owners = list(
            Ownership.objects.filter(unit=unit, until__isnull=True).select_related("person").order_by("id")
        ) or [None]
        for own in owners:
            rows.append(
                (
                    unit.pk,
                    unit.number,
                    unit.floor,
                    unit.resident_count,
                    unit.node_id,
                    *(getattr(unit, f"area_{code}") for code, _label in Unit.AREA_SOURCES),
                    unit.node.name,
                    own.person.name if own else None,
                    own.person.kind if own else None,
                    own.is_designated_voter if own else None,
                )
            )
    return rows


def test_unit_rows_match_the_orm_for_every_node_and_page(district):
    for node in AreaNode.objects.all():
        for after, limit in ((None, 100), (None, 2), (district.units[1].pk, 3)):
            got = pagesql.unit_rows(node.ids_on_path, node.path, after, limit)
            assert got == _orm_unit_rows(node, after, limit), (node.name, after, limit)
    rows = pagesql.unit_rows(district.building.ids_on_path, district.building.path, None, 100)
    assert any(r[-1] is True for r in rows) and any(r[-1] is False for r in rows)  # booleans, not 0/1
    assert all(isinstance(v, Decimal) for r in rows for v in r[5:8] if v is not None)
    assert "王老师" not in {r[-4] for r in rows}  # a former owner is not shown


def test_unit_rows_take_the_path_as_a_prefix_not_a_pattern(district):
    building = district.building
    as_pattern = building.path[:-2] + "_/"  # "/…/12/" → "/…/1_/": as a LIKE pattern it would match the building
    assert pagesql.unit_rows(building.ids_on_path, building.path, None, 100)
    assert pagesql.unit_rows(building.ids_on_path, as_pattern, None, 100) == []
    assert pagesql.like_prefix("a_b%c\\") == "a\\_b\\%c\\\\%"


def _orm_organisations(node, limit):
    return list(
        Organization.objects.filter(
            Q(path__in=path_prefixes(node.path)) | Q(path__startswith=node.path, node__level__is_compound=True),
            dissolved__isnull=True,
        )
        .order_by("path", "kind__chain_rank", "name")
        .values_list("name", "kind__name", "kind__category", "node__name", "node__level__depth")[:limit]
    )


def test_organisations_match_the_orm(district):
    for node in AreaNode.objects.all():
        for limit in (100, 1):
            got = pagesql.organisations(path_prefixes(node.path), node.path, limit)
            assert [tuple(r) for r in got] == _orm_organisations(node, limit), node.name
    names = {r[0] for r in pagesql.organisations(path_prefixes(district.courtyard.path), district.courtyard.path, 100)}
    assert names == {"铁道家园社区大党委", "油漆厂楼院党小组", "红马甲志愿队"}  # not the dissolved committee
