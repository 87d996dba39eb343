"""The coverage report reads stored household figures: they stay exact after every kind of change, the report
agrees with the old direct computation (kept here, in plain Python, as the oracle), and it never reads a unit.

Stored per node: `household_count` and `liaison_household_count` (households with a current liaison); the report
shows their difference as "households without a liaison".
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.organizations import actions, selectors
from gongzhi.organizations.models import LiaisonAssignment, Organization
from gongzhi.organizations.tests.builders import add_bulk, build_coverage_district, make_org, resident
from gongzhi.registry import actions as registry
from gongzhi.registry.importer import import_roster
from gongzhi.registry.models import AreaLevel, AreaNode, Residence, Unit
from gongzhi.registry.tests.roster_files import csv_bytes, row

CATEGORIES = ("party", "self_governance", "volunteer")


@pytest.fixture
def cov(mini):
    return build_coverage_district(mini)


# --- the oracle: the old direct computation, over the rows ------------------------------------------------------


def direct_figures(node: AreaNode) -> tuple[int, int]:
    """(households, households with a current liaison) under `node`, counted from residences and assignments."""
    lived = set(Residence.objects.filter(until__isnull=True).values_list("unit_id", flat=True))
    liaised = set(LiaisonAssignment.objects.filter(until__isnull=True).values_list("unit_id", flat=True))
    units = [pk for pk in Unit.objects.filter(path__startswith=node.path).values_list("pk", flat=True) if pk in lived]
    return len(units), sum(1 for pk in units if pk in liaised)


def assert_stored_counts_exact() -> None:
    """Every node of the tree: the stored figures equal a direct count."""
    wrong = {}
    for node in AreaNode.objects.all():
        stored = (node.household_count, node.liaison_household_count)
        direct = direct_figures(node)
        if stored != direct:
            wrong[node.name, node.pk] = {"stored": stored, "direct": direct}
    assert not wrong


def oracle(node: AreaNode) -> tuple[list[tuple], tuple, list[tuple]]:
    """Per-community totals, grand total and rows for the compounds under `node`, as the report defined them
    before the figures were stored: households = units of the compound with a current resident; without a
    liaison = those with no current assignment; a category is present when a current organisation of it sits
    on the compound or on its parent below the community level."""
    community_depth = AreaLevel.objects.get(code="community").depth
    communities = [
        c
        for c in AreaNode.objects.filter(level__code="community").order_by("path")
        if c.path.startswith(node.path) or node.path.startswith(c.path)
    ]
    names = {c.pk: c.name for c in communities}
    orgs = {
        (o.node_id, o.kind.category) for o in Organization.objects.filter(dissolved__isnull=True).select_related("kind")
    }
    lived = set(Residence.objects.filter(until__isnull=True).values_list("unit_id", flat=True))
    liaised = set(LiaisonAssignment.objects.filter(until__isnull=True).values_list("unit_id", flat=True))
    rows, per = [], {}
    compounds = AreaNode.objects.filter(path__startswith=node.path, level__is_compound=True)
    for c in compounds.select_related("parent__level").order_by("path"):
        flags = [
            (c.pk, cat) in orgs
            or (c.parent_id is not None and (c.parent_id, cat) in orgs and c.parent.level.depth > community_depth)
            for cat in CATEGORIES
        ]
        households = [pk for pk in Unit.objects.filter(compound=c).values_list("pk", flat=True) if pk in lived]
        without = sum(1 for pk in households if pk not in liaised)
        community = next((int(p) for p in c.path.strip("/").split("/") if int(p) in names), None)
        rows.append((c.pk, c.name, community, *flags, len(households), without))
        t = per.setdefault(community, [community, names.get(community, ""), 0, 0, 0, 0, 0, 0, 0])
        for i, v in enumerate((1, *flags, all(flags), len(households), without)):
            t[2 + i] += int(v)
    order = [c.pk for c in communities]
    per_list = sorted(
        (tuple(t) for t in per.values()), key=lambda t: order.index(t[0]) if t[0] in order else len(order)
    )
    grand = tuple(sum(t[i] for t in per_list) for i in range(2, 9))
    return per_list, grand, rows


def report(node: AreaNode) -> tuple[list[tuple], tuple, list[tuple]]:
    def fields(t):
        return (
            t.compounds,
            t.with_party,
            t.with_self_governance,
            t.with_volunteer,
            t.with_all_three,
            t.households,
            t.households_without_liaison,
        )

    per, grand = selectors.coverage_totals(node)
    rows = [
        (
            r.compound_id,
            r.name,
            r.community_id,
            r.has_party,
            r.has_self_governance,
            r.has_volunteer,
            r.households,
            r.households_without_liaison,
        )
        for r in selectors.iter_coverage(node, chunk=2)
    ]
    return [(t.community_id, t.community, *fields(t)) for t in per], fields(grand), rows


def assert_report_matches_oracle(cov) -> None:
    m = cov.mini
    for node in (m.district, m.subdistrict, m.community, m.estate, cov.c2.parent, m.courtyard, m.other_subdistrict):
        assert report(node) == oracle(node), node.name


# --- every kind of change keeps the stored figures exact ---------------------------------------------------------


def test_built_district_is_exact_and_matches_the_oracle(cov):
    assert_stored_counts_exact()
    assert_report_matches_oracle(cov)
    cov.c1.refresh_from_db()
    assert (cov.c1.household_count, cov.c1.liaison_household_count) == (3, 2)


def test_assign_across_compounds_and_replacing_another_liaison(cov):
    # A liaison of the community party committee may look after households in all three compounds at once.
    person = registry.create_person(actor=None, name="韩志刚", home_path=cov.mini.community.path)
    wide = actions.add_member(cov.committee, actor=None, person=person, role="liaison", is_party_member=True)
    actions.assign_liaison(
        wide, [cov.mini.units[2], cov.c2_units[0], cov.c2_units[1], cov.c3_units[0], cov.c3_units[1]], actor=None
    )
    assert_stored_counts_exact()  # c2_units[0] moved from liaison2: counted once, not twice
    assert_report_matches_oracle(cov)
    row = {r.compound_id: r for r in selectors.coverage_for(cov.mini.community)}
    assert [row[c.pk].households_without_liaison for c in (cov.c1, cov.c2, cov.c3)] == [0, 0, 0]
    actions.assign_liaison(wide, [cov.c3_units[0]], actor=None)  # a no-op
    assert_stored_counts_exact()


def test_assigning_an_empty_unit_makes_no_household(cov):
    empty = cov.c2_units[3]
    actions.assign_liaison(cov.liaison2, [empty], actor=None)
    assert_stored_counts_exact()
    cov.c2.refresh_from_db()
    assert (cov.c2.household_count, cov.c2.liaison_household_count) == (2, 1)


def test_unassign_some_then_all(cov):
    actions.unassign_liaison(cov.liaison1, (u for u in [cov.mini.units[0]]), actor=None)  # any iterable
    assert_stored_counts_exact()
    actions.unassign_liaison(cov.liaison1, None, actor=None)
    assert_stored_counts_exact()
    assert_report_matches_oracle(cov)


def test_end_membership_releases_the_households(cov):
    actions.end_membership(cov.liaison1, actor=None)
    assert_stored_counts_exact()
    assert_report_matches_oracle(cov)


def test_dissolving_an_organisation_releases_its_liaisons_households(cov):
    actions.dissolve_organization(cov.group1, actor=None)
    assert_stored_counts_exact()
    assert_report_matches_oracle(cov)


def test_residence_added_and_ended_then_refresh_stats(cov):
    # An empty unit that already has a liaison becomes a household; a liaised household becomes empty.
    resident(cov.mini.units[3], "新住户")  # liaison1 was given this unit while it stood empty
    for r in Residence.objects.filter(unit=cov.c2_units[0], until__isnull=True):
        registry.end_residence(r, actor=None)
    registry.refresh_stats(cov.c1)
    registry.refresh_stats(cov.c2)
    assert_stored_counts_exact()
    assert_report_matches_oracle(cov)
    cov.c1.refresh_from_db()
    assert (cov.c1.household_count, cov.c1.liaison_household_count) == (4, 3)


def test_roster_import_that_moves_people_into_a_liaised_unit(cov, persona):
    # Unit 202 of 1号楼 1单元 (mini.units[3]) is empty but has a liaison; the roster puts a family in it.
    data = csv_bytes(
        [
            row(
                building="1号楼",
                entrance="1单元",
                number="202",
                area_registered="65.50",
                name="冯德明",
                relation="业主",
            ),
            row(building="1号楼", entrance="1单元", number="202", name="冯小玲", relation="家庭成员"),
            row(building="3号楼", entrance="1单元", number="101", area_registered="60", name="褚建华", relation="业主"),
        ]
    )
    result = import_roster(cov.c1, data, actor=persona("community_worker"), dry_run=False)
    assert result.written, result.errors
    assert_stored_counts_exact()
    assert_report_matches_oracle(cov)
    row_c1 = next(r for r in selectors.coverage_for(cov.mini.community) if r.compound_id == cov.c1.pk)
    assert (row_c1.households, row_c1.households_without_liaison) == (5, 2)


def test_refresh_stats_repairs_drifted_figures(cov):
    AreaNode.objects.update(household_count=0, liaison_household_count=0)
    for court in (cov.c1, cov.c2, cov.c3, cov.mini.other_courtyard):
        registry.refresh_stats(court)
    assert_stored_counts_exact()


def test_a_new_compound_under_the_community_counts_in_the_totals(cov):
    add_bulk(cov.committee, 3, 2)
    court = AreaNode.objects.get(name="扩展1院")
    group = make_org("courtyard_party_group", court, parent=Organization.objects.get(name="扩展小区党支部"))
    person = registry.create_person(actor=None, name="秦淑珍", home_path=court.path)
    m = actions.add_member(group, actor=None, person=person, role="liaison", is_party_member=True)
    actions.assign_liaison(m, Unit.objects.filter(compound=court), actor=None)
    assert_stored_counts_exact()
    assert_report_matches_oracle(cov)


# --- the report's cost: fixed, and no unit read -----------------------------------------------------------------

UNIT_TABLE = re.compile(r'"registry_unit"')


def captured(fn) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("extra", [0, 40])
def test_totals_and_pages_cost_a_fixed_number_of_queries_and_read_no_unit(cov, extra):
    if extra:
        add_bulk(cov.committee, extra, 3)
    node = cov.mini.district
    communities = selectors.communities_for(node)
    costs = {
        "coverage_totals": captured(lambda: selectors.coverage_totals(node)),
        "coverage_totals(communities)": captured(lambda: selectors.coverage_totals(node, communities=communities)),
        "coverage_for": captured(lambda: selectors.coverage_for(node)),
        "coverage_for(only_incomplete)": captured(lambda: selectors.coverage_for(node, only_incomplete=True)),
        "iter_coverage": captured(lambda: list(selectors.iter_coverage(node))),
    }
    assert {name: len(sqls) for name, sqls in costs.items()} == {
        "coverage_totals": 2,  # the communities, the grouped compounds
        "coverage_totals(communities)": 1,
        "coverage_for": 2,
        "coverage_for(only_incomplete)": 2,
        "iter_coverage": 2,  # one chunk of 500 compounds
    }
    for name, sqls in costs.items():
        assert not [sql for sql in sqls if UNIT_TABLE.search(sql)], name
    per, grand = selectors.coverage_totals(node)
    assert grand.compounds == 4 + extra and grand.households == 7 + 3 * extra


def test_the_unit_table_check_can_see_a_unit_read(cov):
    """The check above is not vacuous: the drill-down, which does read units, is caught by it."""
    sqls = captured(lambda: selectors.households_without_liaison(cov.c3))
    assert any(UNIT_TABLE.search(sql) for sql in sqls)
