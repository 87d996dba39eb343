"""The nightly recount of the counts stored on the area nodes (`manage.py recount_counts`): residents age without
any row changing, a row written past the actions leaves its compound's figures behind, and a node can drift alone —
each is found from the rows and set right under the same locks as every other writer, audited, and a second run
finds nothing."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.utils import timezone

from gongzhi.core.models import AuditEntry
from gongzhi.registry import actions
from gongzhi.registry.models import AreaNode, Person, Residence, Unit
from gongzhi.registry.tests.counts import assert_every_node_matches_its_rows, stored
from testkit import world as testing


def recount_entries() -> int:
    return AuditEntry.objects.filter(action="registry.recount_counts").count()


def test_a_registry_kept_by_its_actions_needs_no_correction(mini, django_assert_max_num_queries):
    # The units' resident counts (one grouped query), the nodes, then per compound one grouped count of its units
    # and one of its residences.
    with django_assert_max_num_queries(1 + 2 + 2 * 2):
        assert actions.recount_counts(actor=None) == []
    assert recount_entries() == 0


def test_a_resident_who_turns_80_overnight_is_counted_by_the_next_nights_recount(mini):
    birthday = date(2038, 7, 9)  # 李秀英, born 1958-07-09, turns 80
    court = AreaNode.objects.get(pk=mini.courtyard.pk)
    assert (court.aged_60_count, court.aged_80_count) == (2, 1)
    assert actions.recount_counts(actor=None, today=date(2038, 7, 8)) == []  # the eve of the birthday: nothing yet

    drifts = actions.recount_counts(actor=None, today=birthday)

    chain = {mini.district.pk, mini.subdistrict.pk, mini.community.pk, mini.estate.pk, court.pk, mini.building.pk}
    assert {d.node_id for d in drifts} == chain | {mini.entrance.pk}
    assert all(d.fields == {"aged_80_count": (1, 2)} for d in drifts)
    court.refresh_from_db()
    assert (court.aged_60_count, court.aged_80_count) == (2, 2)
    assert_every_node_matches_its_rows(birthday)
    entry = AuditEntry.objects.filter(action="registry.recount_counts", target_id=str(court.pk)).get()
    assert entry.changes == {"aged_80_count": [1, 2]} and entry.actor_label == "system"
    assert recount_entries() == 7
    assert actions.recount_counts(actor=None, today=birthday) == []  # a second run finds nothing


def test_a_residence_written_straight_into_the_table_is_counted_and_a_dry_run_changes_nothing(mini):
    # Every action keeps the counts itself (test_counts_kept.py); a row written past them (a bulk path, a repair
    # by hand in the database) leaves them behind until the recount.
    person = actions.create_person(actor=None, name="新住户", birth_date=date(1950, 1, 1), home_path=mini.units[3].path)
    Residence.objects.create(unit=mini.units[3], person=person, relation="tenant")
    Unit.objects.filter(pk=mini.units[3].pk).update(resident_count=1)
    before = stored()

    seen = actions.recount_counts(actor=None, dry_run=True)

    court = next(d for d in seen if d.node_id == mini.courtyard.pk)
    assert court.fields == {"household_count": (1, 2), "resident_count": (3, 4), "aged_60_count": (2, 3)}
    assert stored() == before and recount_entries() == 0

    assert actions.recount_counts(actor=None) == seen
    assert_every_node_matches_its_rows(timezone.localdate())
    assert AreaNode.objects.get(pk=mini.district.pk).resident_count == 4


def test_a_units_resident_count_written_past_the_actions_is_set_right_first(mini):
    Unit.objects.filter(pk=mini.units[4].pk).update(resident_count=2)  # nobody lives there
    actions.refresh_stats(mini.courtyard)  # the nodes now count it as a household: 2, where 1 is right

    seen = actions.recount_counts(actor=None, dry_run=True)
    assert [(d.unit_id, d.fields) for d in seen] == [(mini.units[4].pk, {"resident_count": (2, 0)})]

    drifts = actions.recount_counts(actor=None)

    assert drifts[0].unit_id == mini.units[4].pk
    court = next(d for d in drifts if d.node_id == mini.courtyard.pk and d.unit_id is None)
    assert court.fields == {"household_count": (2, 1)}  # the unit first, then the nodes it makes a household of
    assert Unit.objects.get(pk=mini.units[4].pk).resident_count == 0
    assert AuditEntry.objects.filter(action="registry.recount_counts", target_type="registry.unit").count() == 1
    assert_every_node_matches_its_rows(timezone.localdate())
    assert actions.recount_counts(actor=None) == []


def test_a_birth_date_blanked_past_the_actions_is_found(mini):
    Person.objects.filter(name="张建国").update(birth_date=None)

    drifts = actions.recount_counts(actor=None)

    assert {d.node_id for d in drifts} >= {mini.courtyard.pk, mini.district.pk}
    court = AreaNode.objects.get(pk=mini.courtyard.pk)
    assert (court.resident_count, court.aged_60_count, court.aged_80_count) == (3, 1, 0)  # still a resident


def test_a_node_above_the_compounds_that_drifted_alone_is_summed_again(mini):
    AreaNode.objects.filter(pk=mini.subdistrict.pk).update(resident_count=999, compound_count=0)
    empty = actions.create_area_node(
        actor=None, parent=mini.district, level=testing.level("subdistrict"), name="空街道"
    )  # nothing under it
    AreaNode.objects.filter(pk=empty.pk).update(unit_count=5)

    drifts = {d.node_id: d.fields for d in actions.recount_counts(actor=None)}

    assert drifts[mini.subdistrict.pk] == {"resident_count": (999, 3), "compound_count": (0, 1)}
    assert drifts[empty.pk] == {"unit_count": (5, 0)}
    assert actions.recount_counts(actor=None) == []
    assert_every_node_matches_its_rows(timezone.localdate())


def test_only_the_system_or_a_superuser_may_recount(mini, persona):
    with pytest.raises(PermissionDenied):
        actions.recount_counts(actor=persona("community_worker"))
    assert actions.recount_counts(actor=testing.make_user("root", is_superuser=True)) == []


def test_the_command_prints_what_it_set_right_and_refuses_a_bad_date(mini):
    AreaNode.objects.filter(pk=mini.courtyard.pk).update(unit_count=1)
    out = StringIO()
    call_command("recount_counts", "--dry-run", stdout=out)
    assert f"node {mini.courtyard.pk} 油漆厂家属院: unit_count 1→6" in out.getvalue()
    assert "1 个节点不一致（未改）" in out.getvalue()
    out = StringIO()
    call_command("recount_counts", "--today", "2026-12-03", stdout=out)
    assert "1 个节点已更正" in out.getvalue()
    assert AreaNode.objects.get(pk=mini.courtyard.pk).unit_count == 6
    with pytest.raises(CommandError, match="--today"):
        call_command("recount_counts", "--today", "03/12/2026", stdout=StringIO())
