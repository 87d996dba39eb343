"""Every registry action that changes what the area nodes count keeps the counts itself, in its own transaction:
a worker who adds a flat, a resident, a birth date, or erases a person sees the compound's figures (and the
street's and the district's) right on the next page, not after the nightly recount."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from gongzhi.registry import actions
from gongzhi.registry.models import AreaNode, Residence
from gongzhi.registry.tests.counts import assert_every_node_matches_its_rows
from testkit import world as testing


def counts(node: AreaNode) -> tuple[int, ...]:
    node.refresh_from_db()
    return tuple(getattr(node, f) for f in actions.COUNT_FIELDS)


def test_each_action_leaves_every_node_matching_its_rows(mini):
    today = timezone.localdate()
    assert_every_node_matches_its_rows(today)
    root = testing.make_user("root", is_superuser=True)

    unit = actions.create_unit(actor=None, node=mini.entrance, number="901", floor=9)
    assert_every_node_matches_its_rows(today)
    assert AreaNode.objects.get(pk=mini.district.pk).unit_count == len(mini.units) + 3 + 1

    old = actions.create_person(actor=None, name="赵大爷", birth_date=date(1940, 5, 1), home_path=unit.path)
    residence = actions.add_residence(actor=None, unit=unit, person=old, relation="owner", household_head=True)
    assert_every_node_matches_its_rows(today)
    young = actions.create_person(actor=None, name="赵小妹", home_path=unit.path)
    actions.add_residence(actor=None, unit=unit, person=young, relation="child")
    actions.update_person(young, actor=None, birth_date=date(1960, 1, 1))  # a birth date learnt later: aged 60+
    assert_every_node_matches_its_rows(today)
    court = AreaNode.objects.get(pk=mini.courtyard.pk)
    assert (court.household_count, court.resident_count, court.aged_60_count, court.aged_80_count) == (2, 5, 4, 2)

    actions.erase_person(old, actor=root, reason="本人申请删除")  # still lives there, of no known age
    assert_every_node_matches_its_rows(today)
    actions.end_residence(residence, actor=None)
    actions.end_residence(Residence.objects.get(person=young), actor=None)  # the flat is empty again
    assert_every_node_matches_its_rows(today)
    assert counts(mini.courtyard)[:2] == (len(mini.units) + 1, 1)

    court2 = actions.create_area_node(
        actor=None, parent=mini.community, level=testing.level("courtyard"), name="新楼院"
    )  # a compound more in the community, the street and the district
    assert_every_node_matches_its_rows(today)
    assert counts(court2)[-1] == 1 and AreaNode.objects.get(pk=mini.district.pk).compound_count == 3


def test_a_drifted_compound_is_set_right_by_its_next_change(mini):
    AreaNode.objects.filter(pk=mini.courtyard.pk).update(resident_count=99, aged_80_count=0)
    AreaNode.objects.filter(pk=mini.entrance.pk).update(unit_count=0)
    person = actions.create_person(actor=None, name="新住户", home_path=mini.units[2].path)

    actions.add_residence(actor=None, unit=mini.units[2], person=person, relation="tenant")

    # The compound and its nodes are recounted, and the nodes above summed again from their children (moving them
    # by the compound's change would have taken them below zero: 3 residents − 95).
    for node in (mini.courtyard, mini.building, mini.entrance):
        node.refresh_from_db()
        assert (node.unit_count, node.resident_count, node.aged_80_count) == (len(mini.units), 4, 1)
    assert AreaNode.objects.get(pk=mini.district.pk).resident_count == 4
    assert actions.recount_counts(actor=None, dry_run=True) == []


@pytest.mark.parametrize("action", ["add_residence", "end_residence"])
def test_keeping_the_counts_costs_a_bounded_number_of_queries(mini, action, django_assert_max_num_queries):
    person = actions.create_person(actor=None, name="新住户", home_path=mini.units[2].path)
    residence = Residence.objects.filter(unit=mini.units[0]).first()
    # The action's own (its savepoints, the row, the unit's resident count, the home path, the audit entry: ≤ 10),
    # then the counts: the lock, the units, one residents' count per node from the compound down to the entrance
    # (3) and an UPDATE for each (3), and for each of the 4 nodes above the compound a sum and an UPDATE.
    with django_assert_max_num_queries(10 + 1 + 1 + 3 + 3 + 2 * 4):
        if action == "add_residence":
            actions.add_residence(actor=None, unit=mini.units[2], person=person, relation="tenant")
        else:
            actions.end_residence(residence, actor=None)
    assert_every_node_matches_its_rows(timezone.localdate())
