"""Stored household figures on AreaNode: `liaison_household_count` (households with a current liaison) beside
`household_count` — filled by the migration, recounted by refresh_stats, summed by roll_up, and kept exact under
concurrent writers on PostgreSQL (row locks in a fixed order; SQLite runs writers one at a time)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Sum

from gongzhi.organizations import actions as org_actions
from gongzhi.organizations.models import LiaisonAssignment
from gongzhi.organizations.tests.builders import build_coverage_district, resident
from gongzhi.registry import actions
from gongzhi.registry.models import AreaNode, Residence, Unit
from testkit.race import race

FIGURES = ("household_count", "liaison_household_count")


def direct(node: AreaNode) -> tuple[int, int]:
    units = Unit.objects.filter(
        path__startswith=node.path, pk__in=Residence.objects.filter(until__isnull=True).values("unit_id")
    )
    liaised = units.filter(pk__in=LiaisonAssignment.objects.filter(until__isnull=True).values("unit_id"))
    return units.count(), liaised.count()


def wrong_nodes() -> dict:
    out = {}
    for node in AreaNode.objects.all():
        stored = (node.household_count, node.liaison_household_count)
        if stored != direct(node):
            out[node.name, node.pk] = {"stored": stored, "direct": direct(node)}
    return out


def sums_of_children_hold() -> bool:
    """Above the buildings and entrances (which hold units themselves), each node is the sum of its children."""
    for node in AreaNode.objects.filter(children__isnull=False, units__isnull=True).distinct():
        sums = node.children.aggregate(**{f: Sum(f) for f in FIGURES})
        if any((sums[f] or 0) != getattr(node, f) for f in FIGURES):
            return False
    return True


@pytest.fixture
def cov(mini):
    return build_coverage_district(mini)


def test_the_migration_fills_the_new_figure_for_existing_data(cov):
    migration = importlib.import_module("gongzhi.registry.migrations.0004_areanode_liaison_household_count")
    AreaNode.objects.update(liaison_household_count=0, household_count=0)
    assert wrong_nodes()
    migration.fill(apps, connection.schema_editor())
    assert not wrong_nodes()
    court = AreaNode.objects.get(pk=cov.c1.pk)
    assert (court.household_count, court.liaison_household_count) == (3, 2)


def test_roll_up_sums_the_new_figure_like_the_others(cov):
    AreaNode.objects.filter(pk__in=cov.c1.ids_on_path[:-1]).update(liaison_household_count=99, household_count=99)
    actions.roll_up(cov.c1)
    assert not wrong_nodes()
    assert sums_of_children_hold()


def test_a_drifted_compound_is_set_right_by_its_next_assignment_and_its_ancestors_follow(cov):
    # A residence written straight into the table (no action, no recount): the stored figures lag; the next change
    # in the compound recounts it. An empty unit liaison1 was given: now a household with a liaison.
    person = actions.create_person(actor=None, name="新住户", home_path=cov.mini.units[3].path)
    Residence.objects.create(unit=cov.mini.units[3], person=person, relation="owner", is_household_head=True)
    Unit.objects.filter(pk=cov.mini.units[3].pk).update(resident_count=1)
    assert wrong_nodes()
    org_actions.assign_liaison(cov.liaison1, [cov.mini.units[2]], actor=None)
    assert not wrong_nodes()
    district = AreaNode.objects.get(pk=cov.mini.district.pk)
    assert (district.household_count, district.liaison_household_count) == (8, 5)


def test_refresh_household_counts_takes_any_set_of_compounds(cov):
    AreaNode.objects.filter(pk__in=[cov.c2.pk, cov.c3.pk]).update(liaison_household_count=0, household_count=0)
    AreaNode.objects.filter(pk=cov.mini.district.pk).update(household_count=0)  # and the district alone
    actions.refresh_household_counts([cov.c2.pk, cov.c3.pk, cov.c2.pk, None])
    # The compounds recounted, the ancestors summed again from their children: all right, the district too.
    assert not wrong_nodes()
    actions.refresh_household_counts([])
    assert not wrong_nodes()


def test_assignment_costs_a_bounded_number_of_queries(cov, django_assert_max_num_queries):
    units = [cov.c2_units[1], cov.c2_units[2]]
    # assignments: 3 reads/writes + the insert in its savepoint (3); the recount: compounds, paths, lock, units,
    # the compound and its building (6), a sum and an UPDATE for each of its 4 ancestors (8); the audit entry (4);
    # the outer savepoint (2)
    with django_assert_max_num_queries(3 + 3 + 6 + 8 + 4 + 2):
        org_actions.assign_liaison(cov.liaison2, units, actor=None)
    assert not wrong_nodes()


# --- real concurrent writers (PostgreSQL) ------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_assignments_in_one_compound_and_its_neighbours_lose_no_update(cov):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")
    m = cov.mini
    org_actions.end_membership(cov.liaison1, actor=None)
    for i, unit in enumerate(m.units[3:]):
        resident(unit, f"住户{i}")
    resident(cov.c2_units[2], "住户c2")
    for court in (cov.c1, cov.c2):
        actions.refresh_stats(court)
    assert not wrong_nodes()
    liaisons = []
    for i in range(6):
        p = actions.create_person(actor=None, name=f"联络员{i}", home_path=m.units[0].path)
        liaisons.append(org_actions.add_member(cov.group1, actor=None, person=p, role="liaison", is_party_member=True))
    p = actions.create_person(actor=None, name="社区联络员", home_path=m.community.path)
    wide = org_actions.add_member(cov.committee, actor=None, person=p, role="liaison", is_party_member=True)
    # Six writers each give one household of C1 to their liaison; two more work in C2 and C3 at the same time
    # (other compounds, the same community, subdistrict and district rows).
    jobs = [(liaisons[i], [m.units[i]]) for i in range(6)]
    jobs += [(wide, [cov.c2_units[1], cov.c2_units[2]]), (wide, cov.c3_units)]

    _results, errors = race(len(jobs), lambda i: org_actions.assign_liaison(jobs[i][0], jobs[i][1], actor=None))
    assert errors == [None] * len(jobs)
    assert not wrong_nodes()
    assert AreaNode.objects.get(pk=cov.c1.pk).liaison_household_count == 6

    # Now release them all at once, while a refresh_stats of C1 runs beside them.
    def release(i):
        if i == len(jobs):
            actions.refresh_stats(AreaNode.objects.get(pk=cov.c1.pk))
        elif i < 6:
            org_actions.end_membership(jobs[i][0], actor=None)
        else:
            org_actions.unassign_liaison(jobs[i][0], jobs[i][1], actor=None)

    _results, errors = race(len(jobs) + 1, release)
    assert errors == [None] * (len(jobs) + 1)
    assert not wrong_nodes()
    district = AreaNode.objects.get(pk=m.district.pk)
    assert district.liaison_household_count == 1  # liaison2's household in C2 stays
    assert district.household_count == Residence.objects.filter(until__isnull=True).values("unit").distinct().count()
