"""The stage machine end to end, with dates: guards, notice periods (National Day), objections, votes."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied

from gongzhi.core.models import AuditEntry
from gongzhi.deliberation import actions
from gongzhi.deliberation.actions import ProcessError
from gongzhi.deliberation.models import Matter, Objection, Opinion, Reach, StageEvent
from gongzhi.deliberation.votes import VoteState
from gongzhi.notices.models import Notice

pytestmark = pytest.mark.django_db


def to_resolve(scene, set_today):
    """Walk the matter through 一征 and 提议/审议 to 决议 (meetings with minutes, proposal amended)."""
    m, officer = scene.matter, scene.officer
    actions.advance_matter(m, actor=officer, today=date(2026, 9, 1))
    v1 = actions.save_proposal(m, actor=scene.secretary, text="在1号楼1单元加装电梯一部。")
    meeting = actions.schedule_meeting(
        m,
        actor=officer,
        body="compound_party_branch",
        title="党支部会议",
        held_on=date(2026, 9, 2),
        agenda="研究加装电梯方案",
        today=date(2026, 9, 1),
    )
    actions.record_minutes(meeting, actor=officer, minutes="同意提出方案", today=date(2026, 9, 2))
    actions.advance_matter(m, actor=scene.secretary, today=date(2026, 9, 2))
    m.refresh_from_db()
    assert m.stage.code == "review"
    with pytest.raises(ProcessError) as err:
        actions.advance_matter(m, actor=officer, today=date(2026, 9, 3))
    assert err.value.zh.startswith("本阶段须召开会议")
    review = actions.schedule_meeting(
        m,
        actor=officer,
        body="residents_committee",
        title="审议会",
        held_on=date(2026, 9, 4),
        agenda="审议方案",
        today=date(2026, 9, 3),
    )
    actions.record_minutes(review, actor=officer, minutes="修改后通过", today=date(2026, 9, 4))
    v2 = actions.save_proposal(
        m, actor=officer, text="在1号楼1单元加装电梯一部，费用按楼层分摊。", note="审议修改", meeting=review
    )
    assert (v1.number, v2.number) == (1, 2)
    actions.advance_matter(m, actor=officer, today=date(2026, 9, 4))
    m.refresh_from_db()
    assert m.stage.code == "resolve"
    return m


def resolve_by_assembly(scene, m, day):
    assembly = actions.schedule_meeting(
        m,
        actor=scene.officer,
        body="residents_assembly",
        title="居民大会",
        held_on=day,
        agenda="表决加装电梯方案",
        today=day,
    )
    actions.record_minutes(assembly, actor=scene.officer, minutes="到会过半数，多数同意", today=day)
    actions.record_assembly_resolution(
        m, actor=scene.officer, meeting=assembly, text="同意加装电梯方案（第2版）", today=day
    )


def test_whole_process_with_national_day_and_objection(scene, set_today, django_capture_on_commit_callbacks):
    m = to_resolve(scene, set_today)
    resolve_by_assembly(scene, m, date(2026, 9, 24))
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 9, 24))
    m.refresh_from_db()
    # Posted 24 Sept for 7 days: the last day would be 1 Oct (National Day) → moves to 8 Oct, the next working day.
    assert m.stage.code == "resolution_notice"
    assert (m.notice_posted_on, m.notice_ends_on) == (date(2026, 9, 24), date(2026, 10, 8))
    notice = Notice.objects.get(matter=m, kind=Notice.Kind.RESOLUTION)
    assert (notice.period_start, notice.period_end) == (date(2026, 9, 25), date(2026, 10, 8))

    set_today(date(2026, 9, 30))
    objection = actions.lodge_objection(m, actor=scene.resident, reasons="低层住户采光受影响")
    assert objection.status == Objection.Status.OPEN
    for day in (date(2026, 10, 1), date(2026, 10, 8)):
        with pytest.raises(ProcessError) as err:
            actions.advance_matter(m, actor=scene.officer, today=day)
        assert err.value.code == "notice_running"
    with pytest.raises(ProcessError) as err:
        actions.advance_matter(m, actor=scene.officer, today=date(2026, 10, 9))
    assert "异议未答复" in err.value.zh and "unanswered" in err.value.en
    actions.answer_objection(objection, actor=scene.officer, answer="电梯井位于北侧，不影响采光，已上门说明")
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 10, 9))
    m.refresh_from_db()
    assert m.stage.code == "implementation"

    with pytest.raises(ProcessError):
        actions.advance_matter(m, actor=scene.officer, today=date(2026, 11, 1))
    actions.add_report(m, actor=scene.officer, kind="progress", text="基础施工完成", percent=40)
    actions.add_account_line(
        m, actor=scene.officer, direction="income", item="政府补贴", amount="200000", on=date(2026, 10, 20)
    )
    actions.add_account_line(
        m, actor=scene.officer, direction="expense", item="电梯设备", amount="180000.50", on=date(2026, 11, 2)
    )
    actions.add_report(m, actor=scene.officer, kind="acceptance", text="经居民监督小组验收合格")
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 11, 10))
    m.refresh_from_db()
    assert m.stage.code == "results_notice"
    accounts = Notice.objects.get(matter=m, kind=Notice.Kind.ACCOUNTS)
    assert accounts.tables[1]["rows"] == [["200,000.00", "180,000.50", "19,999.50"]]
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 11, 30))
    m.refresh_from_db()
    assert m.stage.code == "closed" and m.outcome == Matter.Outcome.DONE

    # The whole record: every step on the timeline and in the audit log.
    kinds = list(StageEvent.objects.filter(matter=m).values_list("action", flat=True))
    assert kinds.count("advance") == 7 and "objection" in kinds and "answer_objection" in kinds
    logged = set(
        AuditEntry.objects.filter(target_type="deliberation.matter", target_id=str(m.pk)).values_list(
            "action", flat=True
        )
    )
    assert {
        "deliberation.advance_matter",
        "deliberation.objection",
        "deliberation.answer_objection",
        "deliberation.record_minutes",
        "deliberation.save_proposal",
        "deliberation.resolve_by_assembly",
    } <= logged


def test_objections_only_during_the_period_and_only_from_the_matters_residents(scene, set_today):
    m = to_resolve(scene, set_today)
    resolve_by_assembly(scene, m, date(2026, 9, 24))
    with pytest.raises(PermissionDenied):  # not in a notice stage yet
        actions.lodge_objection(m, actor=scene.resident, reasons="反对")
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 9, 24))
    m.refresh_from_db()
    set_today(date(2026, 10, 8))  # the last day still counts
    with pytest.raises(PermissionDenied):
        actions.lodge_objection(m, actor=scene.outsider, reasons="反对")
    with pytest.raises(ProcessError) as err:
        actions.lodge_objection(m, actor=scene.resident, reasons="  ")
    assert err.value.field == "reasons"
    actions.lodge_objection(m, actor=scene.resident, reasons="费用分摊不合理")
    set_today(date(2026, 10, 9))
    with pytest.raises(PermissionDenied):
        actions.lodge_objection(m, actor=scene.resident, reasons="晚了")


def test_dismissed_objection_no_longer_blocks_and_cannot_be_answered_twice(scene, set_today):
    m = to_resolve(scene, set_today)
    resolve_by_assembly(scene, m, date(2026, 9, 24))
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 9, 24))
    set_today(date(2026, 9, 28))
    m.refresh_from_db()
    objection = actions.lodge_objection(m, actor=scene.resident, reasons="不同意")
    actions.answer_objection(objection, actor=scene.officer, answer="未说明具体理由", dismiss=True)
    with pytest.raises(ProcessError):
        actions.answer_objection(objection, actor=scene.officer, answer="再答复")
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 10, 9))


def fake_vote(monkeypatch, **kw):
    state = VoteState(
        id=77,
        subject="加装电梯表决",
        status=kw.get("status", "certified"),
        certified=kw.get("status", "certified") == "certified",
        passed=kw.get("passed"),
        matter_ref="",
        path=kw["path"],
    )
    monkeypatch.setattr("gongzhi.deliberation.votes.vote_state", lambda vote_id: state if vote_id == 77 else None)


def test_owners_vote_resolves_only_when_certified_and_passed(scene, set_today, monkeypatch):
    m = to_resolve(scene, set_today)
    fake_vote(monkeypatch, status="open", passed=None, path=m.path)
    actions.link_vote(m, actor=scene.officer, vote_id=77)
    with pytest.raises(ProcessError) as err:
        actions.advance_matter(m, actor=scene.officer, today=date(2026, 9, 24))
    assert err.value.code == "vote_pending"
    fake_vote(monkeypatch, passed=False, path=m.path)
    with pytest.raises(ProcessError) as err:
        actions.advance_matter(m, actor=scene.officer, today=date(2026, 9, 24))
    assert err.value.code == "vote_failed"
    # Failed vote: back to review (the link is cleared), amend, and resolve again.
    actions.return_matter(m, actor=scene.officer, to_stage="review", reason="表决未通过，修改方案")
    m.refresh_from_db()
    assert (m.stage.code, m.vote_id, m.resolution) == ("review", None, "")
    with pytest.raises(ProcessError):
        actions.return_matter(m, actor=scene.officer, to_stage="implementation", reason="向前跳")


def test_vote_of_another_area_is_refused(scene, set_today, monkeypatch):
    m = to_resolve(scene, set_today)
    fake_vote(monkeypatch, passed=True, path=scene.mini.other_courtyard.path)
    with pytest.raises(ProcessError) as err:
        actions.link_vote(m, actor=scene.officer, vote_id=77)
    assert err.value.field == "vote"


def test_operator_enters_opinion_on_behalf_of_a_resident(scene):
    m = scene.matter
    unit = scene.mini.units[1]
    opinion = actions.enter_opinion(
        m,
        actor=scene.operator,
        on_behalf_of=scene.resident_person,
        unit=unit,
        text="腿脚不便，盼望加装电梯",
        channel="hotline",
        kind="need",
        idempotency_key="call-1",
    )
    again = actions.enter_opinion(
        m,
        actor=scene.operator,
        on_behalf_of=scene.resident_person,
        unit=unit,
        text="腿脚不便，盼望加装电梯",
        channel="hotline",
        kind="need",
        idempotency_key="call-1",
    )
    assert again.pk == opinion.pk and Opinion.objects.filter(matter=m).count() == 1
    assert (opinion.entered_by, opinion.on_behalf_of, opinion.channel) == (
        scene.operator,
        scene.resident_person,
        "hotline",
    )
    entry = AuditEntry.objects.filter(action="deliberation.opinion").get()
    assert (entry.actor_id, entry.on_behalf_of_id, entry.channel) == (
        scene.operator.pk,
        scene.resident_person.pk,
        "hotline",
    )
    assert entry.changes["text"] == "[personal]"
    assert Reach.objects.filter(matter=m, unit=unit).exists()
    with pytest.raises(ProcessError) as err:  # the person does not live in that unit
        actions.enter_opinion(
            m,
            actor=scene.operator,
            on_behalf_of=scene.resident_person,
            unit=scene.mini.units[2],
            text="x",
            channel="hotline",
        )
    assert err.value.field == "unit"
    with pytest.raises(ProcessError):
        actions.enter_opinion(
            m, actor=scene.operator, on_behalf_of=scene.resident_person, unit=unit, text="x", channel="online"
        )
    with pytest.raises(PermissionDenied):  # residents cannot enter for others
        actions.enter_opinion(
            m, actor=scene.resident, on_behalf_of=scene.resident_person, unit=unit, text="x", channel="hotline"
        )


def test_owners_assembly_needs_fifteen_days_notice(scene, set_today):
    m = to_resolve(scene, set_today)
    with pytest.raises(Exception) as err:
        actions.schedule_meeting(
            m,
            actor=scene.officer,
            body="owners_assembly",
            title="业主大会",
            held_on=date(2026, 9, 18),
            agenda="表决",
            today=date(2026, 9, 4),
        )
    assert "15日" in str(err.value) and "2026-09-19" in str(err.value)
    assert not Notice.objects.filter(kind=Notice.Kind.ASSEMBLY).exists()
    meeting = actions.schedule_meeting(
        m,
        actor=scene.officer,
        body="owners_assembly",
        title="业主大会",
        held_on=date(2026, 9, 19),
        agenda="表决",
        today=date(2026, 9, 4),
    )
    notice = Notice.objects.get(kind=Notice.Kind.ASSEMBLY)
    assert (notice.posted_on, notice.meeting_on, notice.period_end) == (
        date(2026, 9, 4),
        meeting.held_on,
        meeting.held_on,
    )


def test_meeting_body_must_own_the_stage(scene, set_today):
    m = scene.matter
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 9, 1))
    with pytest.raises(ProcessError) as err:
        actions.schedule_meeting(
            m,
            actor=scene.officer,
            body="property_company",
            title="物业会",
            held_on=date(2026, 9, 2),
            agenda="x",
            today=date(2026, 9, 1),
        )
    assert err.value.field == "body"
    meeting = actions.schedule_meeting(
        m,
        actor=scene.officer,
        body="compound_party_branch",
        title="支部会",
        held_on=date(2026, 9, 2),
        agenda="x",
        today=date(2026, 9, 1),
    )
    assert meeting.attendance.count() == 2  # the branch's two members are on the list
    with pytest.raises(ProcessError):  # minutes before the meeting
        actions.record_minutes(meeting, actor=scene.officer, minutes="x", today=date(2026, 9, 1))
