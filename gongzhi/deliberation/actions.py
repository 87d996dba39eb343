"""Every change to a deliberation goes through these functions: permission, transaction, timeline, audit.

Transitions: `advance_matter` moves to the next stage when the current stage's exit guards pass
(`process.exit_blockers`); `return_matter` sends it back (a failed owners' vote, an objection the body
upholds); `withdraw_matter` ends it. A failed owners' vote does not close the matter by itself: the officer
decides — return it to 审议 to amend the proposal and vote again, or withdraw it — and the choice is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from gongzhi.core import audit
from gongzhi.core.calendar import calendar_from
from gongzhi.core.errors import BilingualValidationError
from gongzhi.core.gate import require
from gongzhi.core.idempotency import create_once
from gongzhi.core.models import Upload, User
from gongzhi.core.uploads import UploadError, store_upload
from gongzhi.deliberation import (
    clock,
    notices,
    selectors,
    votes,  # votes.vote_state, looked up at call time (tests stand in a vote)
)
from gongzhi.deliberation.models import (
    ASSEMBLY_BODIES,
    AccountLine,
    Attendance,
    Channel,
    Matter,
    Meeting,
    Objection,
    Opinion,
    ProcessTemplate,
    ProposalVersion,
    Reach,
    Report,
    StageDefinition,
    StageEvent,
)
from gongzhi.registry.models import Person, Unit, UnitSet

# 物业管理条例 Art. 14: owners are notified 15 days before an owners' assembly.
ASSEMBLY_NOTICE_DAYS = 15


class ProcessError(BilingualValidationError):
    """A refused step, with the reason in Chinese and English (the API shows it as a 400 naming the field)."""


def _today(today: date | None) -> date:
    return today or clock.today()


def _names(stage: StageDefinition) -> list[str]:
    return [stage.name, stage.name_en]


def _event(
    matter: Matter,
    action: str,
    summary: str,
    *,
    params: dict,
    actor: User | None,
    on_behalf_of: Person | None = None,
    body: str = "",
    documents: Iterable[Upload] = (),
) -> StageEvent:
    """A timeline line: `params` are what StageEvent.text renders in the reader's language; `summary` is the
    Chinese sentence kept as written."""
    event = StageEvent.objects.create(
        matter=matter,
        stage=matter.stage,
        action=action,
        summary=summary[:300],
        params=params,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=str(actor) if actor is not None else "system",
        on_behalf_of=on_behalf_of,
        body=body,
        at=timezone.now(),
    )
    if documents:
        event.documents.set(documents)
    return event


def _store_files(
    files: Iterable[tuple[bytes, str]], *, actor: User | None, scope_path: str, field: str = "attachments"
) -> list[Upload]:
    uploads = []
    for data, name in files or ():
        try:
            uploads.append(store_upload(data, name=name, kind="document", user=actor, scope_path=scope_path))
        except UploadError as e:
            raise ProcessError(e.zh, e.en, field)
    return uploads


def _text(value: str, field: str, zh_label: str, en_label: str, max_len: int = 5000) -> str:
    value = (value or "").strip()
    if not value:
        raise ProcessError(f"{zh_label}不能为空", f"{en_label} is required", field, "required")
    if len(value) > max_len:
        raise ProcessError(
            f"{zh_label}不能超过{max_len}字", f"{en_label} is longer than {max_len} characters", field, "max_length"
        )
    return value


def _lock(matter: Matter) -> Matter:
    """Re-read the matter under a row lock (PostgreSQL; SQLite's IMMEDIATE transaction serialises writers).

    Lock order in deliberation: the matter first, then its rows (opinions, objections); only the matter's own
    row is locked (`of=("self",)`), not its stage, template or unit set read alongside.
    """
    return (
        Matter.objects.select_for_update(of=("self",)).select_related("stage", "template", "unit_set").get(pk=matter.pk)
    )


# ------------------------------------------------------------------------------------------ matters


@transaction.atomic
def create_matter(
    *,
    actor: User | None,
    title: str,
    unit_set: UnitSet,
    summary: str = "",
    template: ProcessTemplate | None = None,
    today: date | None = None,
) -> Matter:
    scope = unit_set.scope
    require(actor, "deliberation.add_matter", scope)
    title = _text(title, "title", "议题名称", "title", 200)
    template = template or selectors.template_for(scope)
    first = template.stages.order_by("order").first()
    matter = Matter.objects.create(
        title=title,
        summary=(summary or "").strip(),
        template=template,
        stage=first,
        stage_entered_on=_today(today),
        unit_set=unit_set,
        scope=scope,
        path=scope.path,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _event(matter, "create", f"创建议题：{title}", params={"title": title}, actor=actor)
    audit.record(
        "deliberation.create_matter",
        matter,
        actor=actor,
        changes={"title": title, "unit_set": unit_set.pk, "template": template.code, "stage": first.code},
    )
    return matter


def _enter_stage(matter: Matter, stage: StageDefinition, *, actor: User | None, today: date) -> None:
    matter.stage = stage
    matter.stage_entered_on = today
    if stage.notice_days:
        matter.notice_posted_on = today
        matter.notice_ends_on = calendar_from(today).period_end(today, stage.notice_days)
    else:
        matter.notice_posted_on = matter.notice_ends_on = None
    if stage.is_final:
        matter.outcome = Matter.Outcome.DONE
    matter.save()
    if stage.notice_kind:
        notices.post_matter_notice(matter, kind=stage.notice_kind, actor=actor, posted_on=today)


@transaction.atomic
def advance_matter(matter: Matter, *, actor: User | None, note: str = "", today: date | None = None) -> Matter:
    """Move to the next stage if the current stage's guards pass; else refuse, naming every reason."""
    matter = _lock(matter)
    require(actor, "deliberation.advance_matter", matter)
    today = _today(today)
    problems = selectors.blockers(matter, today)
    if problems:
        raise ProcessError("；".join(p.zh for p in problems), "; ".join(p.en for p in problems), None, problems[0].code)
    before = matter.stage
    after = selectors.next_stage(matter)
    assert after is not None, "blockers() refuses to advance past the last stage"
    _enter_stage(matter, after, actor=actor, today=today)
    summary = f"{before.name} → {after.name}" + (f"（{note.strip()}）" if note and note.strip() else "")
    params = {"from": _names(before), "to": _names(after), "note": (note or "").strip()}
    _event(matter, "advance", summary, params=params, actor=actor)
    audit.record(
        "deliberation.advance_matter",
        matter,
        actor=actor,
        changes={"stage": [before.code, after.code], "notice_ends_on": matter.notice_ends_on, "note": note},
    )
    return matter


@transaction.atomic
def return_matter(
    matter: Matter, *, actor: User | None, to_stage: str, reason: str, today: date | None = None
) -> Matter:
    """Send the matter back to an earlier stage (a failed vote → 审议; an upheld objection → 审议 or 决议)."""
    matter = _lock(matter)
    require(actor, "deliberation.return_matter", matter)
    reason = _text(reason, "reason", "退回理由", "reason", 1000)
    target = matter.template.stages.filter(code=to_stage, order__lt=matter.stage.order).first()
    if target is None:
        raise ProcessError("只能退回到之前的阶段", "a matter can only be returned to an earlier stage", "to_stage")
    before = matter.stage
    resolve_order = next((s.order for s in matter.template.stages.all() if s.allows("vote")), None)
    if resolve_order is not None and target.order <= resolve_order:
        matter.resolution, matter.resolution_text, matter.resolved_on, matter.vote_id = "", "", None, None
    _enter_stage(matter, target, actor=actor, today=_today(today))
    params = {"from": _names(before), "to": _names(target), "reason": reason}
    _event(matter, "return", f"{before.name} → {target.name}：{reason}", params=params, actor=actor)
    audit.record(
        "deliberation.return_matter",
        matter,
        actor=actor,
        changes={"stage": [before.code, target.code], "reason": reason},
    )
    return matter


@transaction.atomic
def withdraw_matter(matter: Matter, *, actor: User | None, reason: str) -> Matter:
    matter = _lock(matter)
    require(actor, "deliberation.withdraw_matter", matter)
    reason = _text(reason, "reason", "终止理由", "reason", 1000)
    matter.outcome = Matter.Outcome.WITHDRAWN
    matter.save(update_fields=["outcome"])
    _event(matter, "withdraw", f"终止议题：{reason}", params={"reason": reason}, actor=actor)
    audit.record(
        "deliberation.withdraw_matter", matter, actor=actor, changes={"reason": reason, "stage": matter.stage.code}
    )
    return matter


# ------------------------------------------------------------------------------------------ 一征


def _opinion(
    matter: Matter,
    *,
    actor: User | None,
    person: Person | None,
    unit: Unit | None,
    text: str,
    kind: str,
    channel: str,
    on_behalf_of: Person | None,
    idempotency_key: str,
) -> Opinion:
    text = _text(text, "text", "意见内容", "opinion text", 2000)
    if kind not in Opinion.Kind.values:
        raise ProcessError("请选择类型：需求或意见建议", "choose a kind: need or opinion", "kind")
    key = (idempotency_key or "")[:64]
    opinion, created = create_once(
        Opinion,
        key,
        scope={"matter": matter},
        create=lambda: Opinion.objects.create(
            matter=matter,
            stage=matter.stage,
            unit=unit,
            person=person,
            kind=kind,
            text=text,
            channel=channel,
            entered_by=actor,
            on_behalf_of=on_behalf_of,
            idempotency_key=key,
        ),
    )
    if not created:  # a retry with the same key: the first answer, nothing written twice
        return opinion
    if unit is not None:
        Reach.objects.get_or_create(
            matter=matter, unit=unit, defaults={"channel": channel, "by": actor, "at": timezone.now()}
        )
    label = "需求" if kind == Opinion.Kind.NEED else "意见"
    _event(
        matter,
        "opinion",
        f"收到{label}（{Channel(channel).label}）{opinion.reference}",
        params={"kind": kind, "channel": channel, "reference": opinion.reference},
        actor=actor,
        on_behalf_of=on_behalf_of,
    )
    audit.record(
        "deliberation.opinion",
        matter,
        actor=actor,
        on_behalf_of=on_behalf_of,
        channel=channel,
        changes={"opinion": opinion.pk, "unit": getattr(unit, "pk", None), "kind": kind, "text": audit.PERSONAL},
    )
    return opinion


@transaction.atomic
def submit_opinion(
    matter: Matter,
    *,
    actor: User,
    text: str,
    kind: str = Opinion.Kind.OPINION,
    unit: Unit | None = None,
    idempotency_key: str = "",
) -> Opinion:
    """A resident's own opinion, online. The unit is one of theirs in the matter (their first, if not given)."""
    require(actor, "deliberation.submit_opinion", matter)
    units = selectors.person_units(matter, actor.person_id)
    if unit is None:
        unit = units.first()
    elif not units.filter(pk=unit.pk).exists():
        raise ProcessError(
            "该房屋不在本议题范围内，或您不是其住户/业主", "that unit is not yours or not in this matter", "unit"
        )
    return _opinion(
        matter,
        actor=actor,
        person=actor.person,
        unit=unit,
        text=text,
        kind=kind,
        channel=Channel.ONLINE,
        on_behalf_of=None,
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def enter_opinion(
    matter: Matter,
    *,
    actor: User | None,
    on_behalf_of: Person | None,
    unit: Unit | None,
    text: str,
    channel: str,
    kind: str = Opinion.Kind.OPINION,
    idempotency_key: str = "",
) -> Opinion:
    """A hotline operator or worker enters a resident's opinion for them (hotline, door-to-door, meeting)."""
    require(actor, "deliberation.enter_opinion", matter)
    if channel not in (Channel.HOTLINE, Channel.DOOR, Channel.MEETING):
        raise ProcessError(
            "请选择渠道：热线、入户或会议", "choose a channel: hotline, door-to-door or meeting", "channel"
        )
    if on_behalf_of is None:
        raise ProcessError("请选择代为填报的居民", "choose the resident you are entering this for", "on_behalf_of")
    if unit is None or not selectors.person_units(matter, on_behalf_of.pk).filter(pk=unit.pk).exists():
        raise ProcessError(
            "该居民不是本议题范围内此房屋的住户或业主",
            "that person does not live in or own this unit of the matter",
            "unit",
        )
    return _opinion(
        matter,
        actor=actor,
        person=on_behalf_of,
        unit=unit,
        text=text,
        kind=kind,
        channel=channel,
        on_behalf_of=on_behalf_of,
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def mark_reached(
    matter: Matter, *, actor: User | None, unit: Unit, channel: str = Channel.DOOR, note: str = ""
) -> Reach:
    """A worker visited or called the household; it no longer shows as not reached (with or without an opinion)."""
    require(actor, "deliberation.mark_reached", matter)
    if not selectors.matter_units(matter).filter(pk=unit.pk).exists():
        raise ProcessError("该房屋不在本议题范围内", "that unit is not in this matter", "unit")
    reach, created = Reach.objects.get_or_create(
        matter=matter,
        unit=unit,
        defaults={"channel": channel, "by": actor, "note": (note or "")[:200], "at": timezone.now()},
    )
    if created:
        audit.record(
            "deliberation.mark_reached", matter, actor=actor, channel=channel, changes={"unit": unit.pk, "note": note}
        )
    return reach


# ------------------------------------------------------------------------------------------ 三议


@transaction.atomic
def save_proposal(
    matter: Matter, *, actor: User | None, text: str, note: str = "", meeting: Meeting | None = None
) -> ProposalVersion:
    """Write the proposal (提议) or amend it (审议): each save is a new numbered version."""
    matter = _lock(matter)
    require(actor, "deliberation.amend_proposal", matter)
    text = _text(text, "text", "方案内容", "proposal text", 20000)
    last = matter.proposals.order_by("-number").first()
    if last and last.text == text:
        raise ProcessError("方案内容没有变化", "the proposal text has not changed", "text")
    version = ProposalVersion.objects.create(
        matter=matter,
        number=(last.number + 1) if last else 1,
        text=text,
        note=(note or "").strip()[:300],
        stage=matter.stage,
        meeting=meeting,
        author=actor,
    )
    verb = "修改方案" if last else "提出方案"
    _event(
        matter,
        "proposal",
        f"{verb}（第{version.number}版）{(' ' + version.note) if version.note else ''}",
        params={"number": version.number, "note": version.note, "amended": bool(last)},
        actor=actor,
    )
    audit.record(
        "deliberation.save_proposal", matter, actor=actor, changes={"version": version.number, "note": version.note}
    )
    return version


def _body_choices(matter: Matter) -> list[str]:
    return list(matter.stage.bodies or [])


@transaction.atomic
def schedule_meeting(
    matter: Matter,
    *,
    actor: User | None,
    body: str,
    title: str,
    held_on: date,
    agenda: str,
    place: str = "",
    today: date | None = None,
) -> Meeting:
    """A meeting of one of the stage's owning bodies. Members of the body are put on the attendance list.

    An owners' assembly needs its notice posted 15 days before (物业管理条例 Art. 14): scheduling it sooner is
    refused, and the assembly notice is posted with the meeting.
    """
    matter = _lock(matter)
    require(actor, "deliberation.manage_meeting", matter)
    today = _today(today)
    if body not in _body_choices(matter):
        raise ProcessError("该组织不是本阶段的议事主体", "that body does not own this stage", "body")
    title = _text(title, "title", "会议名称", "meeting title", 200)
    agenda = _text(agenda, "agenda", "会议议程", "agenda", 5000)
    if held_on is None:
        raise ProcessError("会议日期不能为空", "the meeting date is required", "held_on", "required")
    if held_on < today:
        raise ProcessError("会议日期不能早于今天", "the meeting date cannot be in the past", "held_on")
    meeting = Meeting.objects.create(
        matter=matter,
        stage=matter.stage,
        body=body,
        title=title,
        held_on=held_on,
        place=(place or "").strip()[:200],
        agenda=agenda,
        created_by=actor,
    )
    if body == "owners_assembly":
        notices.post_assembly_notice(meeting, actor=actor, posted_on=today)
    if body not in ASSEMBLY_BODIES:
        members = selectors.body_memberships(matter, [body]).select_related("organization").order_by("id")[:500]
        Attendance.objects.bulk_create(
            [
                Attendance(meeting=meeting, person_id=m.person_id, organization=m.organization, role=m.role)
                for m in members
            ],
            ignore_conflicts=True,
        )
    _event(
        matter,
        "meeting",
        f"安排会议：{title}（{held_on.isoformat()}）",
        params={"title": title, "held_on": held_on.isoformat()},
        actor=actor,
        body=body,
    )
    audit.record(
        "deliberation.schedule_meeting",
        matter,
        actor=actor,
        changes={"meeting": meeting.pk, "body": body, "held_on": held_on, "title": title},
    )
    return meeting


@transaction.atomic
def record_attendance(meeting: Meeting, *, actor: User | None, statuses: dict[int, str]) -> None:
    require(actor, "deliberation.manage_meeting", meeting.matter)
    for person_id, status in statuses.items():
        if status not in Attendance.Status.values:
            raise ProcessError("出席情况只能是出席、缺席或请假", "attendance is present, absent or excused", "status")
        Attendance.objects.filter(meeting=meeting, person_id=person_id).update(status=status)
    audit.record(
        "deliberation.record_attendance",
        meeting.matter,
        actor=actor,
        changes={"meeting": meeting.pk, "statuses": {str(k): v for k, v in statuses.items()}},
    )


@transaction.atomic
def record_minutes(
    meeting: Meeting,
    *,
    actor: User | None,
    minutes: str,
    files: Iterable[tuple[bytes, str]] = (),
    today: date | None = None,
) -> Meeting:
    """The minutes (and signed attendance sheet, photos) of a meeting."""
    matter = meeting.matter
    require(actor, "deliberation.manage_meeting", matter)
    if meeting.held_on > _today(today):
        raise ProcessError("会议尚未召开，不能记录纪要", "the meeting has not taken place yet", "minutes")
    meeting.minutes = _text(minutes, "minutes", "会议纪要", "minutes", 20000)
    meeting.minutes_at = timezone.now()
    meeting.save(update_fields=["minutes", "minutes_at"])
    uploads = _store_files(files, actor=actor, scope_path=matter.path)
    if uploads:
        meeting.attachments.add(*uploads)
    present = meeting.attendance.filter(status=Attendance.Status.PRESENT).count()
    _event(
        matter,
        "minutes",
        f"会议纪要：{meeting.title}（出席{present}人）",
        params={"title": meeting.title, "present": present},
        actor=actor,
        body=meeting.body,
        documents=uploads,
    )
    audit.record(
        "deliberation.record_minutes",
        matter,
        actor=actor,
        changes={"meeting": meeting.pk, "attachments": [u.pk for u in uploads]},
    )
    return meeting


# ------------------------------------------------------------------------------------------ 决议


@transaction.atomic
def record_assembly_resolution(
    matter: Matter, *, actor: User | None, meeting: Meeting, text: str, today: date | None = None
) -> Matter:
    """A residents' assembly (居民会议) resolved the matter at `meeting` (its minutes must be recorded)."""
    matter = _lock(matter)
    require(actor, "deliberation.resolve_matter", matter)
    if meeting.matter_id != matter.pk or meeting.stage_id != matter.stage_id or meeting.body not in ASSEMBLY_BODIES:
        raise ProcessError("请选择本阶段召开的居民大会", "choose the assembly held in this stage", "meeting")
    if not meeting.minutes:
        raise ProcessError("请先记录大会纪要", "record the assembly's minutes first", "meeting")
    matter.resolution = Matter.Resolution.ASSEMBLY
    matter.resolution_text = _text(text, "text", "决议内容", "resolution text", 20000)
    matter.resolved_on = _today(today)
    matter.vote_id = None
    matter.save()
    _event(
        matter,
        "resolve",
        f"居民大会作出决议（{meeting.title}）",
        params={"title": meeting.title},
        actor=actor,
        body=meeting.body,
    )
    audit.record("deliberation.resolve_by_assembly", matter, actor=actor, changes={"meeting": meeting.pk})
    return matter


@transaction.atomic
def link_vote(matter: Matter, *, actor: User | None, vote_id: int, text: str = "") -> Matter:
    """The owners' vote (voting app) that resolves the matter. Advancing waits for its certified result."""
    matter = _lock(matter)
    require(actor, "deliberation.resolve_matter", matter)
    state = votes.vote_state(vote_id)
    if state is None:
        raise ProcessError("未找到该表决", "vote not found", "vote")
    if state.matter_ref and state.matter_ref != matter.vote_ref:
        raise ProcessError("该表决属于其他议题", "that vote belongs to another matter", "vote")
    if not (state.path.startswith(matter.path) or matter.path.startswith(state.path)):
        raise ProcessError("该表决的范围与议题不一致", "the vote's area does not match the matter", "vote")
    matter.resolution = Matter.Resolution.VOTE
    matter.vote_id = state.id
    matter.resolution_text = (text or "").strip() or matter.resolution_text
    matter.save()
    _event(
        matter,
        "link_vote",
        f"由业主表决决议：{state.subject}",
        params={"subject": state.subject},
        actor=actor,
        body="owners_assembly",
    )
    audit.record("deliberation.link_vote", matter, actor=actor, changes={"vote": state.id})
    return matter


# ------------------------------------------------------------------------------------------ 两公开


def _objection(
    matter: Matter,
    *,
    actor: User | None,
    person: Person | None,
    unit: Unit | None,
    reasons: str,
    channel: str,
    idempotency_key: str,
) -> Objection:
    reasons = _text(reasons, "reasons", "异议理由", "reasons", 5000)
    key = (idempotency_key or "")[:64]
    objection, created = create_once(
        Objection,
        key,
        scope={"matter": matter},
        create=lambda: Objection.objects.create(
            matter=matter,
            stage=matter.stage,
            person=person,
            unit=unit,
            reasons=reasons,
            channel=channel,
            entered_by=actor,
            idempotency_key=key,
        ),
    )
    if not created:  # a retry with the same key: the first answer, nothing written twice
        return objection
    on_behalf = person if channel != Channel.ONLINE else None
    _event(
        matter,
        "objection",
        f"收到异议 {objection.reference}（{Channel(channel).label}）",
        params={"channel": channel, "reference": objection.reference},
        actor=actor,
        on_behalf_of=on_behalf,
    )
    audit.record(
        "deliberation.objection",
        matter,
        actor=actor,
        on_behalf_of=on_behalf,
        channel=channel,
        changes={"objection": objection.pk, "unit": getattr(unit, "pk", None), "reasons": audit.PERSONAL},
    )
    return objection


@transaction.atomic
def lodge_objection(
    matter: Matter, *, actor: User, reasons: str, unit: Unit | None = None, idempotency_key: str = ""
) -> Objection:
    """A resident or owner of the matter's units objects to the posted resolution, with reasons."""
    require(actor, "deliberation.lodge_objection", matter)
    units = selectors.person_units(matter, actor.person_id)
    if unit is None:
        unit = units.first()
    elif not units.filter(pk=unit.pk).exists():
        raise ProcessError(
            "该房屋不在本议题范围内，或您不是其住户/业主", "that unit is not yours or not in this matter", "unit"
        )
    return _objection(
        matter,
        actor=actor,
        person=actor.person,
        unit=unit,
        reasons=reasons,
        channel=Channel.ONLINE,
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def enter_objection(
    matter: Matter,
    *,
    actor: User | None,
    on_behalf_of: Person | None,
    unit: Unit | None,
    reasons: str,
    channel: str,
    idempotency_key: str = "",
) -> Objection:
    require(actor, "deliberation.enter_objection", matter)
    if channel not in (Channel.HOTLINE, Channel.DOOR, Channel.MEETING):
        raise ProcessError(
            "请选择渠道：热线、入户或会议", "choose a channel: hotline, door-to-door or meeting", "channel"
        )
    if (
        on_behalf_of is None
        or unit is None
        or not selectors.person_units(matter, on_behalf_of.pk).filter(pk=unit.pk).exists()
    ):
        raise ProcessError(
            "该居民不是本议题范围内此房屋的住户或业主",
            "that person does not live in or own this unit of the matter",
            "unit",
        )
    return _objection(
        matter,
        actor=actor,
        person=on_behalf_of,
        unit=unit,
        reasons=reasons,
        channel=channel,
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def answer_objection(objection: Objection, *, actor: User | None, answer: str, dismiss: bool = False) -> Objection:
    """The owning body answers (or dismisses, e.g. not a resident of the units) an objection, with a reason."""
    objection = Objection.objects.select_for_update(of=("self",)).select_related("matter__stage").get(pk=objection.pk)
    matter = objection.matter
    require(actor, "deliberation.answer_objection", matter)
    if objection.status != Objection.Status.OPEN:
        raise ProcessError("该异议已处理", "this objection has already been dealt with", "objection")
    objection.answer = _text(answer, "answer", "答复意见", "answer", 5000)
    objection.status = Objection.Status.DISMISSED if dismiss else Objection.Status.ANSWERED
    objection.answered_by, objection.answered_at = actor, timezone.now()
    objection.save(update_fields=["answer", "status", "answered_by", "answered_at"])
    verb = "不予受理" if dismiss else "答复"
    _event(
        matter,
        "answer_objection",
        f"{verb}异议 {objection.reference}",
        params={"reference": objection.reference, "dismissed": bool(dismiss)},
        actor=actor,
    )
    audit.record(
        "deliberation.answer_objection",
        matter,
        actor=actor,
        changes={"objection": objection.pk, "status": objection.status},
    )
    return objection


@transaction.atomic
def add_report(
    matter: Matter,
    *,
    actor: User | None,
    kind: str,
    text: str,
    percent: int | None = None,
    files: Iterable[tuple[bytes, str]] = (),
) -> Report:
    """实施: a progress report, or the acceptance (验收) that lets the matter move to the results notice."""
    require(actor, "deliberation.report_progress", matter)
    if kind not in Report.Kind.values:
        raise ProcessError("请选择报告类型", "choose a report kind", "kind")
    text = _text(text, "text", "报告内容", "report text", 10000)
    if percent is not None and not 0 <= percent <= 100:
        raise ProcessError("完成比例应在0到100之间", "percent complete must be between 0 and 100", "percent")
    report = Report.objects.create(
        matter=matter, stage=matter.stage, kind=kind, text=text, percent=percent, author=actor
    )
    uploads = _store_files(files, actor=actor, scope_path=matter.path)
    if uploads:
        report.attachments.add(*uploads)
    label = "验收" if kind == Report.Kind.ACCEPTANCE else f"进度报告{f'（{percent}%）' if percent is not None else ''}"
    _event(matter, "report", label, params={"kind": kind, "percent": percent}, actor=actor, documents=uploads)
    audit.record(
        "deliberation.add_report",
        matter,
        actor=actor,
        changes={"report": report.pk, "kind": kind, "percent": percent, "attachments": [u.pk for u in uploads]},
    )
    return report


@transaction.atomic
def add_account_line(
    matter: Matter, *, actor: User | None, direction: str, item: str, amount: Decimal | str, on: date, source: str = ""
) -> AccountLine:
    require(actor, "deliberation.report_progress", matter)
    if direction not in AccountLine.Direction.values:
        raise ProcessError("请选择收入或支出", "choose income or expense", "direction")
    item = _text(item, "item", "收支项目", "item", 200)
    try:
        amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ProcessError("金额格式不正确", "the amount is not a number", "amount")
    if amount <= 0:
        raise ProcessError("金额必须大于0", "the amount must be positive", "amount")
    if on is None:
        raise ProcessError("日期不能为空", "the date is required", "on", "required")
    line = AccountLine.objects.create(
        matter=matter,
        direction=direction,
        item=item,
        amount=amount,
        source=(source or "").strip()[:100],
        on=on,
        author=actor,
    )
    _event(
        matter,
        "account",
        f"{line.get_direction_display()}：{item} {amount}元",
        params={"direction": direction, "item": item, "amount": str(amount)},
        actor=actor,
    )
    audit.record(
        "deliberation.add_account_line",
        matter,
        actor=actor,
        changes={"line": line.pk, "direction": direction, "item": item, "amount": amount},
    )
    return line
