"""The work order through the actions: every move, who may make it, refusals that write nothing, SMS, limits."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied

from gongzhi.core.models import AuditEntry, CalendarOverride
from gongzhi.core.sms import LocmemBackend
from gongzhi.servicedesk import actions
from gongzhi.servicedesk.actions import DeskError
from gongzhi.servicedesk.models import Escalation, Event, FollowUpCall, Objection, ServiceRequest

TZ = ZoneInfo("Asia/Shanghai")


def at(y, m, d, h=10, minute=0):
    return datetime(y, m, d, h, minute, tzinfo=TZ)


def sms_texts():
    return [m["text"] for m in LocmemBackend.outbox]


def audit_actions(req):
    return list(
        AuditEntry.objects.filter(target_type="servicedesk.servicerequest", target_id=str(req.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


@pytest.fixture
def flow(submit, worker, liaison, operator, django_capture_on_commit_callbacks):
    """Helpers moving one order along, as the right people."""

    class Flow:
        def accepted(self, **kw):
            with django_capture_on_commit_callbacks(execute=True):
                return submit(**kw)

        def dispatched(self, **kw):
            req = self.accepted(**kw)
            with django_capture_on_commit_callbacks(execute=True):
                return actions.dispatch_request(req, actor=worker)

        def taken(self, **kw):
            req = self.dispatched(**kw)
            return actions.take_request(req, actor=liaison)

        def in_progress(self, **kw):
            req = self.taken(**kw)
            return actions.start_handling(req, actor=liaison)

        def completed(self, **kw):
            req = self.in_progress(**kw)
            actions.contact_requester(req, actor=liaison)
            with django_capture_on_commit_callbacks(execute=True):
                return actions.complete_request(req, actor=liaison, resolution="已更换灯泡")

        def followed_up(self, solved=True, **kw):
            req = self.completed(**kw)
            call = req.calls.get()
            actions.record_follow_up(call, actor=operator, outcome="reached", solved=solved)
            req.refresh_from_db()
            return req

        def rated(self, satisfaction="satisfied", **kw):
            req = self.followed_up(**kw)
            return actions.rate_request(req, actor=operator, satisfaction=satisfaction)

    return Flow()


def test_the_whole_loop_is_audited_timed_and_texted(flow, operator, worker):
    req = flow.rated()
    req = actions.archive_request(req, actor=worker)
    assert req.status == "archived"
    assert audit_actions(req) == [
        "servicedesk.submit", "servicedesk.dispatch", "servicedesk.take", "servicedesk.start",
        "servicedesk.contact", "servicedesk.complete", "servicedesk.follow_up", "servicedesk.rate",
        "servicedesk.archive",
    ]  # fmt: skip
    assert list(req.events.values_list("kind", flat=True)) == [
        "accept", "dispatch", "take", "start", "contact", "complete", "follow_up", "rate", "archive",
    ]  # fmt: skip
    texts = sms_texts()
    assert any("已受理" in t for t in texts) and any("已派至" in t for t in texts)
    assert any("已办结" in t and f"/service/rate/{req.rating_key}/" in t for t in texts)
    assert req.reference.startswith("SD") and req.due_at is not None and req.response_due_at is not None


def test_resident_report_keeps_the_requester_and_the_compound(submit, resident, mini):
    req = submit()
    assert req.requester_user == resident and req.requester_phone == "13812345678"
    assert req.compound == mini.courtyard and req.place == "油漆厂家属院"
    assert req.status == "accepted" and req.path == mini.entrance.path


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"description": "  "}, "description"),
        ({"answers": {}}, "attribute[floor]"),
        ({"answers": {"floor": "三楼"}}, "attribute[floor]"),
        ({"latitude": "north", "longitude": "1"}, "lat"),
        ({"latitude": "91", "longitude": "113"}, "lat"),
        ({"photos": [(b"not an image", "x.jpg")]}, "photos"),
        ({"node": None}, "node"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(submit, kw, field):
    before = (ServiceRequest.objects.count(), AuditEntry.objects.count())
    with pytest.raises(DeskError) as e:
        submit(**kw)
    assert e.value.field == field and e.value.zh and e.value.en
    assert (ServiceRequest.objects.count(), AuditEntry.objects.count()) == before


def test_list_answers_are_checked_against_the_offered_values(submit, cats):
    with pytest.raises(DeskError) as e:
        submit(category=cats["drain_blocked"], answers={"overflow": "maybe"})
    assert e.value.field == "attribute[overflow]"
    req = submit(category=cats["elderly_help"], answers={"needs": ["shopping", "visit"]})
    assert req.answers == {"needs": ["shopping", "visit"]}
    with pytest.raises(DeskError):
        submit(category=cats["elderly_help"], answers={"needs": ["shopping", "cooking"]})


def test_hotline_operator_enters_for_a_caller(cats, operator, mini):
    req = actions.submit_request(
        actor=operator,
        category=cats["emergency"],
        description="楼道有燃气味",
        channel="hotline",
        node=mini.courtyard,
        requester_name="李秀英",
        requester_phone="138 1234 5678",
    )
    assert req.entered_by == operator and req.requester_user is None and req.requester_phone == "13812345678"
    entry = AuditEntry.objects.get(action="servicedesk.submit", target_id=str(req.pk))
    assert entry.channel == "hotline" and entry.changes["requester"] == "[personal]"
    assert "13812345678" not in str(entry.changes)


def test_hotline_needs_the_callers_number(cats, operator, mini):
    with pytest.raises(DeskError) as e:
        actions.submit_request(
            actor=operator, category=cats["emergency"], description="x", channel="hotline", node=mini.courtyard
        )
    assert e.value.field == "requester_phone"


def test_a_resident_cannot_enter_for_someone_else(cats, resident, mini):
    with pytest.raises(PermissionDenied):
        actions.submit_request(
            actor=resident, category=cats["emergency"], description="x", channel="hotline", node=mini.courtyard,
            requester_phone="13812345678",
        )  # fmt: skip


def test_operator_outside_scope_refused(cats, persona, mini):
    outsider = persona("community_worker", mini.other_subdistrict, "far")
    with pytest.raises(PermissionDenied):
        actions.submit_request(
            actor=outsider, category=cats["emergency"], description="x", channel="door", node=mini.courtyard,
            requester_phone="13812345678",
        )  # fmt: skip


# --- who may move it ---------------------------------------------------------------------------------------------


def test_only_dispatchers_in_scope_dispatch(flow, liaison, persona, mini, resident):
    req = flow.accepted()
    far_worker = persona("community_worker", mini.other_subdistrict, "far")
    for actor in (liaison, far_worker, resident):
        with pytest.raises(PermissionDenied):
            actions.dispatch_request(req, actor=actor)
    assert ServiceRequest.objects.get(pk=req.pk).status == "accepted"


def test_dispatch_to_a_person_only_that_person_takes(flow, worker, liaison, persona, mini):
    req = flow.accepted()
    other = persona("party_liaison", mini.courtyard, "liaison-b")
    actions.dispatch_request(req, actor=worker, to_user=other)
    with pytest.raises(PermissionDenied):
        actions.take_request(req, actor=liaison)
    actions.take_request(req, actor=other)
    assert req.taker == other and req.taker_kind == "party_member"


def test_dispatch_to_an_organisation_only_its_members_take(flow, worker, liaison, mini):
    from gongzhi.organizations.models import Membership, Organization, OrgKind
    from gongzhi.registry.models import Person

    unit_kind = OrgKind.objects.get(code="resident_unit")
    org = Organization.objects.create(kind=unit_kind, name="郑州油漆厂", node=mini.community)
    req = flow.accepted()
    actions.dispatch_request(req, actor=worker, to_org=org)
    with pytest.raises(PermissionDenied):
        actions.take_request(req, actor=liaison)
    liaison.person = Person.objects.get(name="王小明")
    liaison.save()
    Membership.objects.create(organization=org, person=liaison.person, is_party_member=True)
    actions.take_request(req, actor=liaison)
    assert req.taker_kind == "resident_unit"


def test_open_order_outside_the_takers_scope_refused(flow, other_liaison):
    req = flow.dispatched()
    with pytest.raises(PermissionDenied):
        actions.take_request(req, actor=other_liaison)


def test_two_takers_cannot_both_take(flow, liaison, persona, mini):
    req = flow.dispatched()
    stale = ServiceRequest.objects.get(pk=req.pk)
    actions.take_request(req, actor=liaison)
    other = persona("party_liaison", mini.courtyard, "liaison-b")
    with pytest.raises((DeskError, PermissionDenied)):
        actions.take_request(stale, actor=other)
    assert ServiceRequest.objects.get(pk=req.pk).taker == liaison


def test_only_the_taker_or_a_dispatcher_handles(flow, persona, mini, worker):
    req = flow.taken()
    other = persona("party_liaison", mini.courtyard, "liaison-b")
    with pytest.raises(PermissionDenied):
        actions.start_handling(req, actor=other)
    actions.start_handling(req, actor=worker)
    assert req.status == "in_progress"


# --- refusals by state (the permission carries the state too) ------------------------------------------------------

STAGES = ["accepted", "dispatched", "taken", "in_progress", "completed", "followed_up", "rated"]


def _moves(worker, liaison, operator, other_req):
    return {
        "dispatch": lambda r: actions.dispatch_request(r, actor=worker),
        "take": lambda r: actions.take_request(r, actor=liaison),
        "contact": lambda r: actions.contact_requester(r, actor=liaison),
        "start": lambda r: actions.start_handling(r, actor=liaison),
        "extend": lambda r: actions.extend_request(r, actor=liaison, value=2, unit="workdays", reason="等配件"),
        "complete": lambda r: actions.complete_request(r, actor=liaison, resolution="已修好"),
        "rate": lambda r: actions.rate_request(r, actor=operator, satisfaction="basic"),
        "return": lambda r: actions.return_for_rework(r, actor=worker, reason="仍不亮"),
        "archive": lambda r: actions.archive_request(r, actor=worker),
        "escalate": lambda r: actions.escalate(r, actor=worker),
        "merge": lambda r: actions.merge_duplicate(r, actor=worker, into=other_req),
        "object": lambda r: actions.object_to_dispatch(r, actor=liaison, reason="不属本人职责"),
    }


ALLOWED = {
    ("dispatch", "accepted"), ("take", "dispatched"), ("object", "dispatched"),
    ("contact", "taken"), ("contact", "in_progress"), ("start", "taken"), ("extend", "taken"),
    ("extend", "in_progress"), ("complete", "in_progress"), ("rate", "completed"), ("rate", "followed_up"),
    ("return", "followed_up"), ("return", "rated"), ("archive", "followed_up"), ("archive", "rated"),
    ("escalate", "dispatched"), ("escalate", "taken"), ("escalate", "in_progress"),
    ("merge", "accepted"), ("merge", "dispatched"),
}  # fmt: skip


@pytest.mark.parametrize("stage", STAGES)
def test_every_move_in_every_stage(flow, stage, worker, liaison, operator, submit):
    other = submit(description="同一盏灯")
    names = list(_moves(worker, liaison, operator, other))
    for name in names:
        req = getattr(flow, stage)()
        before_status, before_audit = req.status, AuditEntry.objects.count()
        move = _moves(worker, liaison, operator, other)[name]
        if (name, stage) in ALLOWED:
            move(req)
            assert AuditEntry.objects.count() == before_audit + 1 or name in {"rate"} or stage == "completed"
        else:
            with pytest.raises((PermissionDenied, DeskError)):
                move(req)
            assert ServiceRequest.objects.get(pk=req.pk).status == before_status
            assert AuditEntry.objects.count() == before_audit


def test_archived_and_merged_orders_refuse_everything(
    flow, worker, liaison, operator, submit, django_capture_on_commit_callbacks
):
    original = submit(description="同一盏灯")
    dup = flow.accepted()
    with django_capture_on_commit_callbacks(execute=True):
        actions.merge_duplicate(dup, actor=worker, into=original)
    archived = actions.archive_request(flow.rated(), actor=worker)
    for req in (dup, archived):
        for move in _moves(worker, liaison, operator, original).values():
            with pytest.raises((PermissionDenied, DeskError)):
                move(req)
    assert dup.duplicate_of == original
    assert any("已与其合并" in t for t in sms_texts())


def test_merge_into_itself_or_a_merged_order_refused(flow, worker, submit):
    a, b, c = flow.accepted(), submit(), submit()
    with pytest.raises(DeskError) as e:
        actions.merge_duplicate(a, actor=worker, into=a)
    assert e.value.field == "into"
    actions.merge_duplicate(b, actor=worker, into=c)
    with pytest.raises(DeskError):
        actions.merge_duplicate(a, actor=worker, into=b)


# --- objections ----------------------------------------------------------------------------------------------------


def test_objection_upheld_goes_back_for_a_new_dispatch_without_restarting_the_limit(flow, worker, liaison):
    req = flow.dispatched()
    due = req.due_at
    actions.object_to_dispatch(req, actor=liaison, reason="属供水单位职责")
    with pytest.raises((DeskError, PermissionDenied)):
        actions.take_request(req, actor=liaison)
    with pytest.raises((DeskError, PermissionDenied)):
        actions.object_to_dispatch(req, actor=liaison, reason="再次异议")
    actions.decide_objection(req, actor=worker, upheld=True, note="改派供水单位")
    assert req.status == "accepted" and not req.objection_pending
    actions.dispatch_request(req, actor=worker)
    assert req.due_at == due
    assert Objection.objects.get(request=req).decision == "upheld"


def test_objection_rejected_must_be_handled(flow, worker, liaison):
    req = flow.dispatched()
    actions.object_to_dispatch(req, actor=liaison, reason="不属本人")
    with pytest.raises(PermissionDenied):
        actions.decide_objection(req, actor=liaison, upheld=True, note="x")
    actions.decide_objection(req, actor=worker, upheld=False, note="属地管理，须办理")
    assert req.status == "dispatched" and not req.objection_pending
    actions.take_request(req, actor=liaison)


def test_objection_needs_a_reason(flow, liaison):
    req = flow.dispatched()
    with pytest.raises(DeskError) as e:
        actions.object_to_dispatch(req, actor=liaison, reason=" ")
    assert e.value.field == "reason" and not Objection.objects.exists()


# --- extension, follow-up, rating, rework ---------------------------------------------------------------------------


def test_extension_needs_a_reason_and_tells_the_requester(flow, liaison, django_capture_on_commit_callbacks):
    req = flow.in_progress()
    with pytest.raises(DeskError) as e:
        actions.extend_request(req, actor=liaison, value=2, unit="workdays", reason="")
    assert e.value.field == "reason"
    with pytest.raises(DeskError) as e:
        actions.extend_request(req, actor=liaison, value=99, unit="workdays", reason="等配件")
    assert e.value.field == "value"
    old = req.due_at
    with django_capture_on_commit_callbacks(execute=True):
        actions.extend_request(req, actor=liaison, value=2, unit="workdays", reason="等配件")
    assert req.due_at > old and req.extension_reason == "等配件"
    assert any("延期" in t and "等配件" in t for t in sms_texts())


def test_unanswered_follow_up_calls_are_retried_then_closed_without_result(flow, operator):
    req = flow.completed()
    for _ in range(3):
        call = FollowUpCall.objects.get(request=req, done_at__isnull=True)
        actions.record_follow_up(call, actor=operator, outcome="no_answer")
    req.refresh_from_db()
    assert req.status == "followed_up" and req.solved is None
    assert not FollowUpCall.objects.filter(request=req, done_at__isnull=True).exists()


def test_follow_up_reached_needs_solved_and_may_rate(flow, operator):
    req = flow.completed()
    call = req.calls.get()
    with pytest.raises(DeskError) as e:
        actions.record_follow_up(call, actor=operator, outcome="reached")
    assert e.value.field == "solved"
    actions.record_follow_up(call, actor=operator, outcome="reached", solved=False, satisfaction="unsatisfied")
    req.refresh_from_db()
    assert req.status == "rated" and req.solved is False and req.satisfaction == "unsatisfied"
    entry = AuditEntry.objects.get(action="servicedesk.follow_up", target_id=str(req.pk))
    assert entry.actor == operator and entry.on_behalf_of_id == req.requester_person_id


def test_follow_up_only_by_intake_roles(flow, liaison):
    req = flow.completed()
    with pytest.raises(PermissionDenied):
        actions.record_follow_up(req.calls.get(), actor=liaison, outcome="reached", solved=True)


def test_unsatisfied_order_is_returned_for_rework_with_a_new_limit(flow, worker, liaison):
    req = flow.rated(satisfaction="unsatisfied", solved=False)
    actions.return_for_rework(req, actor=worker, reason="灯仍不亮")
    assert req.status == "in_progress" and req.rework_count == 1 and req.completed_at is None
    actions.complete_request(req, actor=liaison, resolution="更换线路")
    assert FollowUpCall.objects.filter(request=req, done_at__isnull=True).count() == 1


def test_rating_by_the_sms_link(flow):
    req = flow.completed()
    with pytest.raises(DeskError):
        actions.rate_by_key("wrong", satisfaction="satisfied")
    actions.rate_by_key(req.rating_key, satisfaction="basic", comment="挺快")
    req.refresh_from_db()
    assert req.status == "rated" and req.satisfaction == "basic"
    with pytest.raises(DeskError):
        actions.rate_by_key(req.rating_key, satisfaction="satisfied")


def test_requester_rates_own_order_but_not_anothers(flow, persona, mini):
    req = flow.completed()
    stranger = persona("resident", mini.courtyard, "stranger")
    with pytest.raises(PermissionDenied):
        actions.rate_request(req, actor=stranger, satisfaction="satisfied")
    actions.rate_request(req, actor=req.requester_user, satisfaction="satisfied")
    assert req.status == "rated"


# --- time limits and escalation ------------------------------------------------------------------------------------


def test_limit_in_working_days_across_the_national_day_and_a_make_up_saturday(submit, worker):
    req = submit(now=at(2025, 9, 30))  # stair light: 3 working days
    actions.dispatch_request(req, actor=worker, now=at(2025, 9, 30, 11))
    assert req.due_at == datetime(2025, 10, 11, 23, 59, 59, tzinfo=TZ)
    assert req.response_due_at == at(2025, 10, 1, 11)  # 24 hours, round the clock


def test_limit_follows_a_district_override(submit, worker):
    CalendarOverride.objects.create(day=date(2025, 11, 17), is_workday=False, note="区级调整")
    req = submit(now=at(2025, 11, 14))
    actions.dispatch_request(req, actor=worker, now=at(2025, 11, 14))
    # 3 working days from Fri 14 Nov: Tue 18, Wed 19, Thu 20 (Mon 17 is the district's holiday; else Wed 19).
    assert req.due_at.date() == date(2025, 11, 20)


def test_hour_limits_run_over_holidays(submit, worker, cats):
    req = submit(category=cats["emergency"], now=at(2025, 10, 1, 23), answers={})
    actions.dispatch_request(req, actor=worker, now=at(2025, 10, 1, 23, 5))
    assert req.due_at == at(2025, 10, 2, 1)


def test_escalation_goes_up_the_area_tree(flow, worker, mini):
    req = flow.taken()
    actions.escalate(req, actor=worker, note="请加快")
    actions.escalate(req, actor=worker)
    actions.escalate(req, actor=worker)
    assert [(e.level, e.to_node) for e in Escalation.objects.filter(request=req).order_by("level")] == [
        (1, mini.community), (2, mini.subdistrict), (3, mini.district)
    ]  # fmt: skip
    with pytest.raises(DeskError):
        actions.escalate(req, actor=worker)


def test_scheduled_escalation_chases_late_orders_once(submit, worker, cats):
    req = submit(category=cats["emergency"], answers={}, now=at(2025, 11, 3, 8))
    actions.dispatch_request(req, actor=worker, now=at(2025, 11, 3, 8))  # due 10:00
    assert actions.escalate_due(now=at(2025, 11, 3, 9)) == 0
    assert actions.escalate_due(now=at(2025, 11, 3, 9, 40)) == 1
    assert actions.escalate_due(now=at(2025, 11, 3, 10, 30)) == 1
    assert actions.escalate_due(now=at(2025, 11, 3, 10, 31)) == 0
    assert actions.escalate_due(now=at(2025, 11, 3, 13)) == 1
    req.refresh_from_db()
    assert req.escalation_level == 3 and Event.objects.filter(request=req, kind="escalate").count() == 3


def test_escalation_skips_closed_orders(flow):
    req = flow.completed()
    ServiceRequest.objects.filter(pk=req.pk).update(due_at=at(2020, 1, 1))
    assert actions.escalate_due() == 0


def test_escalate_command(submit, worker, cats):
    from io import StringIO

    from django.core.management import call_command

    req = submit(category=cats["emergency"], answers={}, now=at(2025, 11, 3, 8))
    actions.dispatch_request(req, actor=worker, now=at(2025, 11, 3, 8))
    out = StringIO()
    call_command("servicedesk_escalate", stdout=out)
    assert "3" in out.getvalue()
    req.refresh_from_db()
    assert req.escalation_level == 3


def test_rated_by_link_before_the_call_the_call_still_records_solved(flow, operator):
    req = flow.completed()
    actions.rate_by_key(req.rating_key, satisfaction="satisfied")
    call = FollowUpCall.objects.get(request=req, done_at__isnull=True)
    actions.record_follow_up(call, actor=operator, outcome="reached", solved=True, satisfaction="basic")
    req.refresh_from_db()
    assert req.status == "rated" and req.solved is True and req.satisfaction == "satisfied"
    assert list(req.events.values_list("kind", flat=True))[-2:] == ["rate", "follow_up"]
