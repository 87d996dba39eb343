"""The renovation flow through its actions: menu, orders and bills, tallies, owners' votes, plan, works,
defects and acceptance."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from gongzhi.core.models import AuditEntry
from gongzhi.renovation import actions, selectors
from gongzhi.renovation.actions import RenovationError
from gongzhi.renovation.models import Defect, MenuCategory, Order, PlanLine, Project
from gongzhi.renovation.shares import compute_shares, fen_text
from gongzhi.renovation.tests.builders import build_scene, soon, to_works

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(mini):
    return build_scene(mini)


def test_national_categories_are_seeded_and_a_district_adds_its_own(scene):
    codes = [c.code for c in selectors.categories_for(scene.mini.district)]
    assert codes == ["basic", "improvement", "enhancement"]
    admin = __import__("testkit.world", fromlist=["make_user"]).make_user(
        "admin", "district_admin", scene.mini.district
    )
    actions.create_category(actor=admin, district=scene.mini.district, code="safety", name="安全类", name_en="Safety")
    assert [c.code for c in selectors.categories_for(scene.mini.district)][-1] == "safety"
    assert MenuCategory.objects.count() == 4


def test_menu_item_funding_split_must_add_up(scene):
    with pytest.raises(RenovationError) as err:
        actions.create_menu_item(
            actor=None,
            district=scene.mini.district,
            category=scene.pipes.category,
            code="roof",
            name="屋面",
            coverage="building",
            unit_cost="10.00",
            cost_basis="per_m2",
            share_basis="area",
            pct_subsidy=50,
            pct_residents=40,
        )
    assert err.value.field == "pct_residents" and "100%" in err.value.zh


def test_a_resident_sees_the_bill_then_orders_for_own_household(scene):
    p, unit = scene.project, scene.mini.units[1]
    bill = selectors.bill(p, unit.pk)
    by_code = {line.item.code: line for line in bill.lines}
    # pipes: 800 × 6 households = 4800, residents 20% = 960, 6 households → 160.00 each
    assert by_code["pipes"].cost == Decimal("4800.00") and by_code["pipes"].share == "160.00"
    # meter: per unit, 300 at 100%
    assert by_code["meter"].share == "300.00"
    # lift: 600000 × 25% = 150000 by floor × area; units[1] is on floor 1 → 0
    assert by_code["lift"].share == "0.00"
    # the same figure as the shares command computes
    label, members = selectors.scope_members(p, scene.pipes)[f"node:{scene.mini.building.pk}"]
    result = compute_shares(selectors.share_request(scene.pipes, members, Decimal("960.00")))
    assert fen_text(result.shares_fen[str(unit.pk)]) == "160.00"

    order = actions.place_order(
        p,
        actor=scene.resident,
        unit=unit,
        item=scene.pipes,
        agrees=True,
        willing_to_pay=True,
        seen_share=Decimal("160.00"),
    )
    assert order.channel == "online" and order.seen_share == Decimal("160.00")
    # answering again replaces the answer, never doubles it
    actions.place_order(p, actor=scene.resident, unit=unit, item=scene.pipes, agrees=False)
    assert Order.objects.filter(project=p, unit=unit).count() == 1
    assert Order.objects.get(project=p, unit=unit).agrees is False
    entry = AuditEntry.objects.filter(action="renovation.place_order").latest("id")
    assert entry.actor_id == scene.resident.pk


def test_a_resident_cannot_order_for_someone_elses_unit(scene):
    with pytest.raises(PermissionDenied):
        actions.place_order(
            scene.project, actor=scene.resident, unit=scene.mini.units[2], item=scene.pipes, agrees=True
        )
    with pytest.raises(PermissionDenied):
        actions.place_order(
            scene.project, actor=scene.outsider, unit=scene.mini.units[1], item=scene.pipes, agrees=True
        )


def test_the_hotline_orders_on_behalf_recorded(scene):
    order = actions.place_order(
        scene.project,
        actor=scene.operator,
        unit=scene.mini.units[1],
        item=scene.pipes,
        agrees=True,
        channel="hotline",
        on_behalf_of=scene.resident_person,
    )
    assert order.on_behalf_of == scene.resident_person and order.entered_by == scene.operator
    entry = AuditEntry.objects.filter(action="renovation.place_order").latest("id")
    assert entry.on_behalf_of_id == scene.resident_person.pk and entry.channel == "hotline"
    with pytest.raises(RenovationError) as err:  # the person must belong to the unit
        actions.place_order(
            scene.project,
            actor=scene.operator,
            unit=scene.mini.units[3],
            item=scene.pipes,
            agrees=True,
            channel="door",
            on_behalf_of=scene.resident_person,
        )
    assert err.value.field == "on_behalf_of"
    with pytest.raises(PermissionDenied):  # a resident cannot act for others
        actions.place_order(
            scene.project,
            actor=scene.resident,
            unit=scene.mini.units[1],
            item=scene.pipes,
            agrees=True,
            channel="door",
            on_behalf_of=scene.resident_person,
        )


def _agree(scene, item, units):
    from gongzhi.registry import actions as registry

    for i, unit in enumerate(units):
        person = registry.create_person(actor=None, name=f"住户{unit.pk}{i}", home_path=unit.path)
        registry.add_residence(actor=None, unit=unit, person=person, relation="owner")
        actions.place_order(
            scene.project, actor=scene.operator, unit=unit, item=item, agrees=True, channel="door", on_behalf_of=person
        )


def test_tallies_against_the_threshold_at_the_bound(scene):
    units = scene.mini.units  # 6 households in one building: 4/5 needs 24/5 → 5 households
    _agree(scene, scene.pipes, units[:4])
    tally = next(t for t in selectors.tallies(scene.project) if t.item == scene.pipes)
    assert (tally.tally.households, tally.tally.agreeing, tally.passed) == (6, 4, False)
    assert tally.household_percent == "66.7%"
    _agree(scene, scene.pipes, units[4:5])
    tally = next(t for t in selectors.tallies(scene.project) if t.item == scene.pipes)
    assert (tally.tally.agreeing, tally.passed) == (5, True)
    expected_area = sum((u.area_registered for u in units[:5]), Decimal(0))
    assert tally.tally.agreeing_area == expected_area


def test_dependencies_refuse_an_item_without_its_prerequisite_on_the_menu(scene):
    scene.project.menu.remove(scene.pipes)
    scene.project._gz_menu = None
    with pytest.raises(RenovationError) as err:
        actions.place_order(
            scene.project, actor=scene.resident, unit=scene.mini.units[1], item=scene.meter, agrees=True
        )
    assert "供排水管网改造" in err.value.zh


def test_art_278_item_is_routed_to_the_entrance_owners_vote(scene):
    entrance_key = f"node:{scene.mini.entrance.pk}"
    with pytest.raises(RenovationError):
        actions.route_to_owners_vote(
            scene.project,
            actor=scene.officer,
            item=scene.pipes,
            scope_key=f"node:{scene.mini.building.pk}",
            opens_at=timezone.now() + timedelta(days=16),
            closes_at=timezone.now() + timedelta(days=30),
        )
    routed = actions.route_to_owners_vote(
        scene.project,
        actor=scene.officer,
        item=scene.lift,
        scope_key=entrance_key,
        opens_at=timezone.now() + timedelta(days=16),
        closes_at=timezone.now() + timedelta(days=30),
    )
    vote = routed.vote
    assert vote.matter == "alter_rebuild" and vote.kind == "owner"
    assert vote.total_units == 6  # exactly that entrance's units
    assert vote.matter_ref.startswith(scene.project.ref)
    tally = next(t for t in selectors.tallies(scene.project) if t.item == scene.lift)
    assert tally.vote == vote and tally.passed is False  # not certified yet
    with pytest.raises(RenovationError):
        actions.route_to_owners_vote(
            scene.project,
            actor=scene.officer,
            item=scene.lift,
            scope_key=entrance_key,
            opens_at=vote.opens_at,
            closes_at=vote.closes_at,
        )


def test_adopting_the_plan_keeps_every_line_and_ends_ordering(scene):
    _agree(scene, scene.pipes, scene.mini.units[:5])
    lines = actions.adopt_plan(scene.project, actor=scene.officer)
    by_item = {ln.item.code: ln for ln in lines if ln.item.code != "meter"}
    assert by_item["pipes"].passed and not by_item["lift"].passed
    assert PlanLine.objects.filter(project=scene.project).count() == 1 + 1 + 6  # pipes, lift, 6 meters
    with pytest.raises(PermissionDenied):
        actions.place_order(
            scene.project, actor=scene.resident, unit=scene.mini.units[1], item=scene.pipes, agrees=True
        )
    shares = actions.bill_shares(scene.project, by_item["pipes"])
    assert sum(shares.values()) == 96000 and set(shares.values()) == {16000}


def test_only_the_projects_contractor_reports_progress_and_the_roll_up_is_normalised(scene):
    p = to_works(scene)
    w2 = actions.add_work_item(p, actor=scene.officer, external_id="W2", name="外墙", budget="300000.00")
    w1 = p.work_items.get(external_id="W1")
    actions.report_progress(w1, actor=scene.contractor_user, progress=100)
    actions.report_progress(w2, actor=scene.contractor_user, progress="20")
    assert selectors.project_progress(p) == 40  # (100×1 + 20×3) / 4
    with pytest.raises(PermissionDenied):
        actions.report_progress(w2, actor=scene.other_contractor, progress=30)
    with pytest.raises(RenovationError) as err:
        actions.report_progress(w2, actor=scene.contractor_user, progress=101)
    assert err.value.field == "progress"
    with pytest.raises(RenovationError):
        actions.report_progress(w2, actor=scene.contractor_user, progress="12.5")


def test_bulk_progress_import_is_all_or_nothing(scene):
    p = to_works(scene)
    actions.add_work_item(p, actor=scene.officer, external_id="W2", name="外墙", budget="300000.00")
    bad = [
        {"external_id": "W1", "progress": "50"},
        {"external_id": "W9", "progress": "10"},
        {"external_id": "W2", "progress": "abc"},
    ]
    report = actions.import_progress(p, actor=scene.contractor_user, rows=bad, dry_run=False)
    assert not report.ok and not report.applied
    assert [r.line for r in report.rows if r.errors] == [3, 4]
    assert p.work_items.get(external_id="W1").progress == 0  # nothing written
    good = [{"external_id": "W1", "progress": "50"}, {"external_id": "W2", "progress": "10", "note": "脚手架"}]
    dry = actions.import_progress(p, actor=scene.contractor_user, rows=good, dry_run=True)
    assert dry.ok and not dry.applied and p.work_items.get(external_id="W1").progress == 0
    done = actions.import_progress(p, actor=scene.contractor_user, rows=good, dry_run=False)
    assert done.applied and p.work_items.get(external_id="W1").progress == 50
    again = actions.import_progress(p, actor=scene.contractor_user, rows=good, dry_run=False)  # re-importable
    assert again.applied and p.work_items.get(external_id="W2").progress == 10


def test_defect_lifecycle_token_link_and_only_the_supervisor_closes(scene):
    p = to_works(scene)
    defect = actions.report_defect(
        p, actor=scene.resident, source="resident", description="3楼楼道灯不亮", deadline=soon()
    )
    assert defect.reporter == scene.resident_person and defect.status == "registered"
    with pytest.raises(RenovationError):  # nothing to close before the fix
        actions.close_defect(defect, actor=scene.supervisor_user)
    with pytest.raises(RenovationError) as err:
        actions.resolve_defect_by_token("not-a-token", name="王工", note="已修")
    assert err.value.status == 404
    actions.resolve_defect_by_token(defect.token, name="王工", note="已更换灯具")
    defect.refresh_from_db()
    assert defect.status == "resolved" and defect.resolved_by_label == "王工"
    with pytest.raises(PermissionDenied):
        actions.close_defect(defect, actor=scene.contractor_user)
    with pytest.raises(PermissionDenied):
        actions.close_defect(defect, actor=scene.resident)
    actions.reject_fix(defect, actor=scene.supervisor_user, reason="仍不亮")
    defect.refresh_from_db()
    assert defect.status == "registered"
    actions.resolve_defect(defect, actor=scene.contractor_user, note="更换线路")
    actions.close_defect(defect, actor=scene.supervisor_user)
    defect.refresh_from_db()
    assert defect.status == "closed" and defect.closed_by == scene.supervisor_user


def test_overdue_flag():
    today = timezone.localdate()
    d = Defect(deadline=today - timedelta(days=1))
    assert d.is_overdue(today)
    d = Defect(deadline=today)
    assert not d.is_overdue(today)
    d = Defect(deadline=today - timedelta(days=3), resolved_at=timezone.now())
    assert d.is_overdue(today)  # resolved after the deadline stays marked
    d = Defect(deadline=today + timedelta(days=3), resolved_at=timezone.now())
    assert not d.is_overdue(today + timedelta(days=10))


def test_defects_are_never_deleted():
    from django.db.models import ProtectedError

    assert Defect._meta.get_field("project").remote_field.on_delete.__name__ == "PROTECT"
    assert ProtectedError  # the project cannot be deleted under its defects


def test_acceptance_is_refused_while_a_defect_is_open_then_accounts_go_out(scene):
    from gongzhi.notices.models import Notice

    p = to_works(scene)
    w1 = p.work_items.get()
    actions.report_progress(w1, actor=scene.contractor_user, progress=100)
    checklist = [{"item": "防水层无渗漏", "ok": True}]
    actions.sign_acceptance(w1, actor=scene.supervisor_user, signer="supervision", checklist=checklist)
    actions.sign_acceptance(w1, actor=scene.officer, signer="street_office", checklist=checklist)
    defect = actions.report_defect(
        p, actor=scene.inspector, source="inspector", description="落水管松动", deadline=soon()
    )
    with pytest.raises(RenovationError) as err:
        actions.accept_project(p, actor=scene.officer)
    assert err.value.status == 409 and "未销项" in err.value.zh
    assert Project.objects.get(pk=p.pk).stage == "works"
    assert not Notice.objects.filter(kind="accounts").exists()
    actions.resolve_defect_by_token(defect.token, name="王工", note="已紧固")
    actions.close_defect(defect, actor=scene.inspector)
    actions.accept_project(p, actor=scene.officer)
    p.refresh_from_db()
    assert p.stage == "accepted" and p.accounts_notice.kind == "accounts"
    assert p.accounts_notice.tables[2]["rows"][0][0] == "W1"


def test_acceptance_needs_both_signatures_and_a_full_checklist(scene):
    p = to_works(scene)
    w1 = p.work_items.get()
    actions.report_progress(w1, actor=scene.contractor_user, progress=100)
    with pytest.raises(RenovationError):
        actions.sign_acceptance(
            w1, actor=scene.supervisor_user, signer="supervision", checklist=[{"item": "x", "ok": False}]
        )
    with pytest.raises(PermissionDenied):  # the contractor never signs for the residents
        actions.sign_acceptance(
            w1, actor=scene.contractor_user, signer="supervision", checklist=[{"item": "x", "ok": True}]
        )
    actions.sign_acceptance(
        w1, actor=scene.supervisor_user, signer="supervision", checklist=[{"item": "x", "ok": True}]
    )
    with pytest.raises(RenovationError) as err:
        actions.accept_project(p, actor=scene.officer)
    assert "签字" in err.value.zh


def test_temporary_party_branch_lives_in_the_organisations_registry(scene):
    from gongzhi.registry.models import Person

    cadre = Person.objects.create(name="街道干部", home_path=scene.mini.subdistrict.path)
    # the street office founds it: its cadres lie outside a community worker's area
    branch = actions.found_party_branch(
        scene.project, actor=scene.inspector, name="油漆厂家属院改造临时党支部", members=[(cadre, "secretary", True)]
    )
    assert branch.kind.is_temporary and branch.project_ref == scene.project.ref
    assert branch.memberships.get().role == "secretary"
    with pytest.raises(RenovationError):
        actions.found_party_branch(scene.project, actor=scene.inspector, name="again")


def test_timeline_joins_orders_plan_works_defects_and_hides_future_milestones(scene):
    _agree(scene, scene.pipes, scene.mini.units[:1])
    p = to_works(scene)
    actions.add_milestone(p, actor=scene.officer, title="开工仪式", on=timezone.localdate())
    actions.add_milestone(p, actor=scene.officer, title="竣工（计划）", on=soon(60), publication_date=soon(30))
    kinds = {e.kind for e in selectors.timeline(p, staff=False)}
    assert {"project", "orders", "plan", "works", "milestone"} <= kinds
    titles = [e.title for e in selectors.timeline(p, staff=False)]
    assert "开工仪式" in titles and not any("竣工" in t for t in titles)
    assert any("竣工" in e.title for e in selectors.timeline(p, staff=True))
