"""Every change to a work order: permission first, one transaction, a timeline event and an audit entry, the SMS
after commit. The state rules are `machine.py`'s; time limits are counted with the working-day calendar.

Concurrency: moves that two people may race for (接单, 派单, and every state move) are conditional updates on the
order's current state, so the loser gets a clear refusal and nothing is written twice.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from gongzhi.core import audit, crypto, pii
from gongzhi.core.calendar import calendar_from
from gongzhi.core.errors import BilingualError
from gongzhi.core.gate import require
from gongzhi.core.models import Upload, User
from gongzhi.core.rules import assignments
from gongzhi.core.sms import send_sms
from gongzhi.core.uploads import UploadError, store_upload
from gongzhi.core.workdays import Calendar
from gongzhi.organizations.models import Organization
from gongzhi.registry.models import AreaNode, Person, Unit
from gongzhi.servicedesk import machine
from gongzhi.servicedesk.machine import State, TransitionError
from gongzhi.servicedesk.models import (
    LINKED_STEPS,
    Category,
    Escalation,
    Event,
    FollowUpCall,
    Objection,
    Open311Client,
    Photo,
    Question,
    ServiceRequest,
)

MAX_PHOTOS = 3
MAX_FOLLOW_UP_TRIES = 3


class DeskError(BilingualError):
    """Bad input or a refused move; names the field, Chinese first."""


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _calendar(start: datetime) -> Calendar:
    return calendar_from(timezone.localtime(start).date() - timedelta(days=1))


def _local(dt: datetime) -> datetime:
    return timezone.localtime(dt)


def _fmt(dt: datetime) -> str:
    dt = _local(dt)
    return f"{dt.month}月{dt.day}日{dt:%H:%M}"


def _sms(req: ServiceRequest, text: str, conceal: tuple[str, ...] = ()) -> None:
    if req.requester_phone and pii.MOBILE_RE.match(req.requester_phone):  # landlines get the hotline's call
        send_sms(req.requester_phone, f"【共治】{text}", kind="servicedesk", conceal=conceal)


def _label(actor: User | None) -> str:
    return str(actor) if actor is not None else Event.SYSTEM


def _event(
    req: ServiceRequest,
    kind: str,
    at: datetime,
    actor: User | None,
    note: str = "",
    internal: bool = False,
    params: dict | None = None,
) -> None:
    """A timeline line. `note` is what a person wrote; `params` is what the platform says (codes, names,
    moments), read in the reader's language by Event.text."""
    Event.objects.create(
        request=req,
        at=at,
        kind=kind,
        state=req.status,
        note=note[:500],
        params=params or {},
        internal=internal,
        actor_label=_label(actor),
    )


@transaction.atomic
def record_linked_step(req: ServiceRequest, *, actor: User | None, step: str) -> None:
    """A step of the record this request was filed for (a renovation defect's fix reported, accepted or sent
    back) shown on the request's timeline, so the desk sees it; the request's own state is the desk's to move.
    Called by the hook for the part whose action took the step (that action checked its own permission)."""
    if step not in LINKED_STEPS:
        raise DeskError("未知的关联事项进展", "unknown linked step", "step")
    _event(req, "linked", timezone.now(), actor, params={"step": step})
    audit.record("servicedesk.record_linked_step", req, actor=actor, changes={"step": step})


def _audit(
    req: ServiceRequest,
    verb: str,
    actor: User | None,
    changes: dict,
    on_behalf_of: Person | None = None,
    channel: str = "",
) -> None:
    audit.record(
        f"servicedesk.{verb}",
        req,
        actor=actor if getattr(actor, "pk", None) else None,
        on_behalf_of=on_behalf_of,
        changes=changes,
        channel=channel,
    )


def _move(req: ServiceRequest, name: str, now: datetime, **fields: Any) -> None:
    """Apply transition `name` with a conditional update on the state read, so a concurrent move loses cleanly."""
    try:
        target = machine.advance(name, req.status, objection_pending=req.objection_pending)
    except TransitionError as e:
        raise DeskError(e.zh, e.en, None) from None
    updated = ServiceRequest.objects.filter(
        pk=req.pk, status=req.status, objection_pending=req.objection_pending
    ).update(status=target.value, updated_at=now, **fields)
    if updated != 1:
        raise DeskError("工单刚被他人处理，请刷新后再试", "someone else has just moved this order; reload it", None)
    req.status = target.value
    for key, value in fields.items():
        setattr(req, key, value)


def _clean_text(value: str, field: str, zh: str, en: str, max_len: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DeskError(f"请填写{zh}", f"{en} is required", field)
    if len(value) > max_len:
        raise DeskError(f"{zh}不能超过{max_len}字", f"{en} is longer than {max_len} characters", field)
    return value


# ------------------------------------------------------------------------------------------------ intake


def compound_of(node: AreaNode) -> AreaNode | None:
    """The 楼院 a node lies in (itself if it is one), for the public place and the liaison's "near me"."""
    if node.level.is_compound:
        return node
    return (
        AreaNode.objects.filter(id__in=node.ids_on_path, level__is_compound=True).select_related("level").first()
        if node.ids_on_path
        else None
    )


def clean_answers(category: Category, raw: dict) -> dict:
    """Check answers against the category's questions: required ones present, lists from the offered values."""
    out: dict = {}
    for q in category.questions.all():
        value = raw.get(q.code)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", []):
            if q.required:
                raise DeskError(
                    f"请回答：{q.label}", f"answer required: {q.label_en or q.code}", f"attribute[{q.code}]"
                )
            continue
        keys = {str(v.get("key")) for v in q.values}
        if q.datatype == Question.Datatype.MULTI:
            values = value if isinstance(value, list) else [value]
            if not all(str(v) in keys for v in values):
                raise DeskError(
                    f"{q.label}：选项无效", f"{q.code}: not one of the offered values", f"attribute[{q.code}]"
                )
            out[q.code] = [str(v) for v in values]
        elif q.datatype == Question.Datatype.SINGLE:
            if isinstance(value, list) or str(value) not in keys:
                raise DeskError(
                    f"{q.label}：选项无效", f"{q.code}: not one of the offered values", f"attribute[{q.code}]"
                )
            out[q.code] = str(value)
        elif q.datatype == Question.Datatype.NUMBER:
            try:
                out[q.code] = str(Decimal(str(value)))
            except InvalidOperation:
                raise DeskError(f"{q.label}：应为数字", f"{q.code}: must be a number", f"attribute[{q.code}]") from None
        else:
            if isinstance(value, list):
                value = " ".join(map(str, value))
            out[q.code] = _clean_text(str(value), f"attribute[{q.code}]", q.label, q.code, 1000)
    return out


def _coords(
    latitude: Decimal | float | str | None, longitude: Decimal | float | str | None
) -> tuple[Decimal | None, Decimal | None]:
    if latitude in (None, "") and longitude in (None, ""):
        return None, None
    try:
        lat, lon = Decimal(str(latitude)), Decimal(str(longitude))
    except (InvalidOperation, TypeError):
        raise DeskError("坐标格式不正确", "the coordinates are not numbers", "lat") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise DeskError("坐标超出范围", "the coordinates are out of range", "lat")
    return lat.quantize(Decimal("0.000001")), lon.quantize(Decimal("0.000001"))


@transaction.atomic
def submit_request(
    *,
    actor: User | None,
    category: Category,
    description: str,
    channel: str,
    node: AreaNode | None = None,
    unit: Unit | None = None,
    latitude: Decimal | float | str | None = None,
    longitude: Decimal | float | str | None = None,
    address_string: str = "",
    answers: dict | None = None,
    photos: Sequence[tuple[bytes, str]] = (),
    stashed_photos: Sequence[int] = (),
    uploads: Sequence[Upload] = (),
    source: str = "",
    media_url: str = "",
    requester_name: str = "",
    requester_phone: str = "",
    on_behalf_of: Person | None = None,
    open311_client: Open311Client | None = None,
    requester_account: User | None = None,
    now: datetime | None = None,
) -> ServiceRequest:
    """受理 — a request enters the desk. A resident reports for themself (channel web); an operator, worker or
    liaison for a caller (`on_behalf_of`, or a caller's name and phone); Open311 and the bulky-waste hook as the
    system (`actor=None`, checked by the caller). A part handing over a resident's own report names the
    resident's account (`requester_account`, with `actor=None`), so it is theirs to follow and rate."""
    now = _now(now)
    if unit is not None:
        node = unit.node
    if node is None:
        raise DeskError("请选择地点", "choose the place", "node")
    for_someone = on_behalf_of is not None or (channel in {ServiceRequest.Channel.HOTLINE, ServiceRequest.Channel.DOOR})
    require(actor, "servicedesk.intake_request" if for_someone else "servicedesk.report_request", node)
    if category is None or not category.active:
        raise DeskError("请选择诉求类别", "choose a category", "category")
    if channel not in ServiceRequest.Channel.values:
        raise DeskError("渠道不正确", "unknown channel", "channel")
    description = _clean_text(description, "description", "诉求内容", "description", 4000)
    answers = clean_answers(category, answers or {})
    lat, lon = _coords(latitude, longitude)
    if len(photos) + len(stashed_photos) > MAX_PHOTOS:
        raise DeskError(f"最多上传{MAX_PHOTOS}张照片", f"at most {MAX_PHOTOS} photos", "photos")
    name = _clean_text(requester_name, "requester_name", "诉求人姓名", "requester's name", 100, required=False)
    phone = ""
    if requester_phone:
        try:
            phone = pii.normalize_phone(requester_phone)
        except pii.PiiError as e:
            raise DeskError(f"联系电话：{e.zh}", f"phone: {e.en}", "requester_phone") from None
    requester_user: User | None = None
    if not for_someone and actor is not None and actor.pk:
        requester_user = actor
        on_behalf_of = None
        phone = phone or actor.phone
        name = name or (actor.person.name if actor.person_id else "")
    if actor is None and requester_account is not None:
        requester_user = requester_account
        phone = phone or requester_account.phone
        name = name or (requester_account.person.name if requester_account.person_id else "")
    if on_behalf_of is not None:
        name, phone = name or on_behalf_of.name, phone or on_behalf_of.phone
    if channel == ServiceRequest.Channel.HOTLINE and not phone:
        raise DeskError("热线受理须记录来电号码", "a hotline request needs the caller's number", "requester_phone")
    compound = compound_of(node)
    req = ServiceRequest.objects.create(
        reference=f"tmp-{secrets.token_hex(6)}",
        category=category,
        status=State.ACCEPTED.value,
        channel=channel,
        description=description,
        answers=answers,
        node=node,
        compound=compound,
        unit=unit,
        path=(unit.path if unit is not None else node.path),
        address_string=_clean_text(address_string, "address_string", "地址", "address", 200, required=False)
        or (compound or node).address,
        latitude=lat,
        longitude=lon,
        media_url=(media_url or "")[:500],
        requester_person=on_behalf_of
        or (requester_user.person if requester_user is not None and requester_user.person_id else None),
        requester_user=requester_user,
        requester_name=name,
        requester_phone=phone,
        entered_by=actor if getattr(actor, "pk", None) else None,
        open311_client=open311_client,
        source=source[:60],
        accepted_at=now,
    )
    req.reference = f"SD{_local(now):%Y%m%d}{req.pk:05d}"
    ServiceRequest.objects.filter(pk=req.pk).update(reference=req.reference)
    stored = []
    for data, filename in photos:
        try:
            upload = store_upload(data, name=filename, kind=Upload.Kind.PHOTO, user=actor, scope_path=req.path)
        except UploadError as e:
            raise DeskError(f"照片：{e.zh}", f"photo: {e.en}", "photos") from None
        Photo.objects.create(request=req, upload=upload)
        stored.append(upload.pk)
    for upload in uploads:  # already stored by the part that hands the request over (bulky-waste photos)
        Photo.objects.create(request=req, upload=upload)
        stored.append(upload.pk)
    if stashed_photos and getattr(actor, "pk", None):
        # Only the actor's own photos, stashed on the photo page and not yet attached to anything.
        mine = Upload.objects.filter(pk__in=list(stashed_photos), uploaded_by=actor, scope_path="").select_for_update(
            of=("self",)
        )
        for upload in mine:
            Photo.objects.create(request=req, upload=upload)
            stored.append(upload.pk)
        Upload.objects.filter(pk__in=stored, scope_path="").update(scope_path=req.path)
    _event(req, "accept", now, actor, params={"channel": channel})
    _audit(
        req,
        "submit",
        actor,
        {
            "reference": req.reference,
            "category": category.code,
            "channel": channel,
            "node": node.pk,
            "unit": unit.pk if unit else None,
            "photos": stored,
            "requester": audit.PERSONAL if (name or phone) else "",
            "open311_client": open311_client.pk if open311_client else None,
        },
        on_behalf_of=on_behalf_of,
        channel=channel,
    )
    _sms(req, f"您的诉求已受理，工单号{req.reference}（{category.name}）。我们将尽快派单办理。")
    return req


def stash_photo(data: bytes, name: str, *, actor: User | None) -> Upload:
    """A photo from the resident's photo page, before the request exists (attached by `submit_request`)."""
    with transaction.atomic():
        require(actor, "servicedesk.report_request", None)
        try:
            upload = store_upload(data, name=name, kind=Upload.Kind.PHOTO, user=actor)
        except UploadError as e:
            raise DeskError(f"照片：{e.zh}", f"photo: {e.en}", "photo") from None
        audit.record("servicedesk.stash_photo", upload, actor=actor, changes={"size": upload.size})
        return upload


@transaction.atomic
def reveal_requester(req: ServiceRequest, *, actor: User | None, purpose: str = "callback") -> dict:
    """The requester's name and phone in full, for whoever must call back (taker, operator, dispatcher); logged."""
    require(actor, "servicedesk.view_requester", req)
    audit.record(
        "pii.view",
        req,
        actor=actor,
        on_behalf_of=None,
        changes={"fields": ["requester_name", "requester_phone"], "purpose": purpose},
    )
    return {"name": req.requester_name, "phone": req.requester_phone}


def attach_photo(req: ServiceRequest, *, actor: User | None, data: bytes, name: str, stage: str = "report") -> Photo:
    """A photo added later (the requester's, or the taker's "after" photo)."""
    with transaction.atomic():
        perm = "servicedesk.complete_request" if stage == "done" else "servicedesk.view_request"
        require(actor, perm, req)
        if req.photos.count() >= MAX_PHOTOS * 2:
            raise DeskError("照片已达上限", "no more photos can be added", "photos")
        try:
            upload = store_upload(data, name=name, kind=Upload.Kind.PHOTO, user=actor, scope_path=req.path)
        except UploadError as e:
            raise DeskError(f"照片：{e.zh}", f"photo: {e.en}", "photos") from None
        photo = Photo.objects.create(request=req, upload=upload, stage=stage)
        _audit(req, "attach_photo", actor, {"upload": upload.pk, "stage": stage})
        return photo


# ------------------------------------------------------------------------------------------------- dispatch


def taker_kind_of(user: User | None, org: Organization | None = None) -> str:
    """What kind of taker this is: from the organisation's kind, else from the user's roles."""
    K = ServiceRequest.TakerKind
    if org is not None:
        code = org.kind.code
        if code == "resident_unit":
            return K.RESIDENT_UNIT
        if code == "volunteer_team":
            return K.VOLUNTEER
        if code == "property_company":
            return K.PROPERTY
        if org.kind.category == "party":
            return K.PARTY_MEMBER
        return K.DEPARTMENT
    roles = {r for r, _p in assignments(user)} if user is not None else set()
    for role, kind in (
        ("party_liaison", K.PARTY_MEMBER),
        ("volunteer", K.VOLUNTEER),
        ("property_manager", K.PROPERTY),
        ("community_worker", K.COMMUNITY),
    ):
        if role in roles:
            return kind
    return K.DEPARTMENT


@transaction.atomic
def dispatch_request(
    req: ServiceRequest,
    *,
    actor: User | None,
    to_user: User | None = None,
    to_org: Organization | None = None,
    note: str = "",
    now: datetime | None = None,
) -> ServiceRequest:
    """派单 — to a person, to an organisation (the catalogue's responsible body by default), or, with neither and
    no body in the catalogue, open to the takers of the scope (party members near the place).

    The handling limit counts from acceptance (a re-dispatch after an upheld objection does not restart it,
    首接负责); the response limit from this dispatch."""
    require(actor, "servicedesk.dispatch_request", req)
    now = _now(now)
    if to_user is None and to_org is None:
        to_org = req.category.responsible
    cat = req.category
    due = req.due_at or machine.due_at(_local(req.accepted_at), cat.limit_value, cat.limit_unit, _calendar(now))
    _move(
        req,
        "dispatch",
        now,
        assignee=to_user,
        assignee_org=to_org,
        dispatched_at=now,
        response_due_at=now + timedelta(hours=cat.response_hours),
        due_at=due,
    )
    whom = (to_user and str(to_user)) or (to_org and to_org.name) or ""
    _event(req, "dispatch", now, actor, params={"to": whom, "due": due.isoformat()})
    _audit(
        req,
        "dispatch",
        actor,
        {"to_user": getattr(to_user, "pk", None), "to_org": getattr(to_org, "pk", None), "due_at": due},
    )
    _sms(req, f"您的工单{req.reference}已派至{whom or '社区党员、志愿者接单'}办理，办理时限{_fmt(due)}。")
    return req


@transaction.atomic
def object_to_dispatch(
    req: ServiceRequest, *, actor: User | None, reason: str, now: datetime | None = None
) -> Objection:
    """派单异议 — the addressee says the order is not within its duty; a dispatcher decides."""
    require(actor, "servicedesk.object_request", req)
    now = _now(now)
    reason = _clean_text(reason, "reason", "异议理由", "reason", 500)
    _move(req, "object", now, objection_pending=True)
    objection = Objection.objects.create(request=req, raised_by=actor, reason=reason, raised_at=now)
    _event(req, "object", now, actor, reason, internal=True)
    _audit(req, "object", actor, {"objection": objection.pk, "reason": reason})
    return objection


@transaction.atomic
def decide_objection(
    req: ServiceRequest, *, actor: User | None, upheld: bool, note: str = "", now: datetime | None = None
) -> ServiceRequest:
    """异议成立: back to 受理 for a new dispatch; 不成立: the addressee must handle it (it cannot be returned)."""
    require(actor, "servicedesk.decide_objection", req)
    now = _now(now)
    note = _clean_text(note, "note", "裁定说明", "decision note", 500)
    objection = Objection.objects.select_for_update(of=("self",)).get(request=req, decision="")
    if upheld:
        _move(req, "uphold_objection", now, objection_pending=False, assignee=None, assignee_org=None)
    else:
        _move(req, "reject_objection", now, objection_pending=False)
    objection.decision = Objection.Decision.UPHELD if upheld else Objection.Decision.REJECTED
    objection.decision_note, objection.decided_by, objection.decided_at = note, actor, now
    objection.save()
    kind = "uphold_objection" if upheld else "reject_objection"
    _event(req, kind, now, actor, note, internal=True)
    _audit(req, kind, actor, {"objection": objection.pk, "note": note})
    return req


@transaction.atomic
def take_request(req: ServiceRequest, *, actor: User, now: datetime | None = None) -> ServiceRequest:
    """接单 — the first taker wins (a conditional update); the requester is told who will handle it."""
    require(actor, "servicedesk.take_request", req)
    now = _now(now)
    org = req.assignee_org
    kind = taker_kind_of(actor, org)
    _move(req, "take", now, taker=actor, taker_kind=kind, taken_at=now)
    _event(req, "take", now, actor, params={"taker_kind": kind})
    _audit(req, "take", actor, {"taker": actor.pk, "kind": kind})
    _sms(req, f"您的工单{req.reference}已由{ServiceRequest.TakerKind(kind).label}接单，将尽快与您联系。")
    return req


@transaction.atomic
def contact_requester(
    req: ServiceRequest, *, actor: User | None, note: str = "", now: datetime | None = None
) -> ServiceRequest:
    """The taker has reached the requester (北京条例 Art. 15: 及时联系诉求人) — what 响应率 counts."""
    require(actor, "servicedesk.contact_request", req)
    now = _now(now)
    note = _clean_text(note, "note", "联系情况", "note", 300, required=False)
    if req.contacted_at is not None:
        raise DeskError("已记录联系诉求人", "the contact is recorded already", None)
    _move(req, "contact", now, contacted_at=now)
    _event(req, "contact", now, actor, note, internal=True)
    _audit(req, "contact", actor, {"note": note})
    return req


@transaction.atomic
def start_handling(req: ServiceRequest, *, actor: User | None, now: datetime | None = None) -> ServiceRequest:
    require(actor, "servicedesk.start_request", req)
    now = _now(now)
    _move(req, "start", now, started_at=now)
    _event(req, "start", now, actor)
    _audit(req, "start", actor, {})
    return req


@transaction.atomic
def extend_request(
    req: ServiceRequest, *, actor: User | None, value: int, unit: str, reason: str, now: datetime | None = None
) -> ServiceRequest:
    """延期 — with a reason, which the requester is told (北京条例 Art. 15)."""
    require(actor, "servicedesk.extend_request", req)
    now = _now(now)
    reason = _clean_text(reason, "reason", "延期理由", "reason", 300)
    if unit not in {u.value for u in machine.LimitUnit}:
        raise DeskError("时限单位不正确", "unknown unit", "unit")
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 30:
        raise DeskError("延期应为1至30个单位", "an extension is 1 to 30 units", "value")
    base = max(req.due_at or now, now)
    new_due = machine.extended_due(_local(base), value, unit, _calendar(base))
    old_due = req.due_at
    _move(req, "extend", now, due_at=new_due, extension_reason=reason)
    _event(req, "extend", now, actor, params={"due": new_due.isoformat(), "reason": reason})
    _audit(req, "extend", actor, {"due_at": [old_due, new_due], "reason": reason})
    _sms(req, f"您的工单{req.reference}延期至{_fmt(new_due)}办结，原因：{reason}")
    return req


@transaction.atomic
def complete_request(
    req: ServiceRequest,
    *,
    actor: User | None,
    resolution: str,
    photos: Sequence[tuple[bytes, str]] = (),
    now: datetime | None = None,
) -> ServiceRequest:
    """办结 — with what was done; the follow-up call is put on the operators' list for the next working day and
    the requester is asked to rate by a link."""
    require(actor, "servicedesk.complete_request", req)
    now = _now(now)
    resolution = _clean_text(resolution, "resolution", "办理结果", "resolution", 1000)
    if len(photos) > MAX_PHOTOS:
        raise DeskError(f"最多上传{MAX_PHOTOS}张照片", f"at most {MAX_PHOTOS} photos", "photos")
    _move(req, "complete", now, completed_at=now, resolution=resolution)
    for data, filename in photos:
        try:
            upload = store_upload(data, name=filename, kind=Upload.Kind.PHOTO, user=actor, scope_path=req.path)
        except UploadError as e:
            raise DeskError(f"照片：{e.zh}", f"photo: {e.en}", "photos") from None
        Photo.objects.create(request=req, upload=upload, stage="done")
    cal = _calendar(now)
    FollowUpCall.objects.create(request=req, due_on=cal.add_workdays(_local(now).date(), 1), path=req.path)
    _event(req, "complete", now, actor, resolution)
    _audit(req, "complete", actor, {"resolution": resolution, "late": bool(req.due_at and now > req.due_at)})
    _sms(
        req,
        f"您的工单{req.reference}已办结：{resolution[:60]}。请评价：{rating_link(req)}",
        conceal=(req.rating_key,),  # the link lets its holder rate: not kept in the message record
    )
    return req


# ------------------------------------------------------------------------------------------- follow-up, rating


def rating_link(req: ServiceRequest) -> str:
    """The rating link for the SMS (absolute when the deployment sets GONGZHI_SITE_URL)."""
    return settings.GONGZHI_SITE_URL.rstrip("/") + reverse("servicedesk:rate", args=[req.rating_key])


@transaction.atomic
def record_follow_up(
    call: FollowUpCall,
    *,
    actor: User | None,
    outcome: str,
    solved: bool | None = None,
    satisfaction: str = "",
    note: str = "",
    now: datetime | None = None,
) -> FollowUpCall:
    """回访 — the operator's call and its result. Reached: solved or not (and a rating, if the requester gives
    one). No answer: another try the next working day, up to three; then the order is followed up without
    a result (it then counts in no rate's denominator)."""
    req = call.request
    require(actor, "servicedesk.follow_up_request", req)
    now = _now(now)
    call = FollowUpCall.objects.select_for_update(of=("self",)).get(pk=call.pk)
    if call.done_at is not None:
        raise DeskError("该回访已记录", "this call is recorded already", None)
    if outcome not in FollowUpCall.Outcome.values:
        raise DeskError("请选择回访结果", "choose the outcome of the call", "outcome")
    note = _clean_text(note, "note", "回访记录", "note", 500, required=False)
    if outcome == FollowUpCall.Outcome.REACHED and solved is None:
        raise DeskError("请记录诉求是否已解决", "record whether the request is solved", "solved")
    if satisfaction and satisfaction not in ServiceRequest.Satisfaction.values:
        raise DeskError("评价选项不正确", "unknown rating", "satisfaction")
    call.done_at, call.operator, call.outcome, call.note = now, actor, outcome, note
    call.save()
    person = req.requester_person
    # Rated already (by the SMS link): the call still records whether it is solved; the state stays.
    step = "follow_up_rated" if req.status == State.RATED else "follow_up"
    if outcome == FollowUpCall.Outcome.REACHED:
        _move(req, step, now, followed_up_at=now, solved=solved)
        _event(req, "follow_up", now, actor, params={"solved": bool(solved)})
        _audit(req, "follow_up", actor, {"solved": solved, "call": call.pk, "note": note}, on_behalf_of=person)
        if satisfaction and step == "follow_up":
            _rate(req, actor, satisfaction, "", now, on_behalf_of=person)
    else:
        tries = req.calls.count()
        if tries < MAX_FOLLOW_UP_TRIES:
            due = _calendar(now).add_workdays(_local(now).date(), 1)
            FollowUpCall.objects.create(request=req, due_on=due, path=req.path)
        else:
            _move(req, step, now, followed_up_at=now, solved=None)
            _event(req, "follow_up", now, actor, params={"unreached": True})
        _audit(req, "follow_up_attempt", actor, {"outcome": outcome, "call": call.pk, "tries": tries})
    return call


def _rate(
    req: ServiceRequest,
    actor: User | None,
    satisfaction: str,
    comment: str,
    now: datetime,
    on_behalf_of: Person | None = None,
) -> None:
    if satisfaction not in ServiceRequest.Satisfaction.values:
        raise DeskError("请选择满意程度", "choose how satisfied you are", "satisfaction")
    comment = _clean_text(comment, "comment", "评价意见", "comment", 500, required=False)
    _move(req, "rate", now, rated_at=now, satisfaction=satisfaction, rating_comment=comment)
    _event(req, "rate", now, actor, params={"satisfaction": satisfaction})
    _audit(req, "rate", actor, {"satisfaction": satisfaction}, on_behalf_of=on_behalf_of)


@transaction.atomic
def rate_request(
    req: ServiceRequest,
    *,
    actor: User | None,
    satisfaction: str,
    comment: str = "",
    on_behalf_of: Person | None = None,
    now: datetime | None = None,
) -> ServiceRequest:
    """评价 — by the requester signed in, or an operator on their behalf."""
    require(actor, "servicedesk.rate_request", req)
    _rate(req, actor, satisfaction, comment, _now(now), on_behalf_of=on_behalf_of)
    return req


@transaction.atomic
def rate_by_key(key: str, *, satisfaction: str, comment: str = "", now: datetime | None = None) -> ServiceRequest:
    """评价 from the link in the SMS: the key stands for the requester (the system acts; no sign-in needed)."""
    req = ServiceRequest.objects.filter(rating_key=key).first() if key else None
    if req is None or not hmac.compare_digest(req.rating_key, key):
        raise DeskError("评价链接无效", "this rating link is not valid", None)
    if not machine.allowed("rate", req.status):
        raise DeskError("该工单已评价或尚未办结", "this order is rated already or not completed", None)
    _rate(req, None, satisfaction, comment, _now(now), on_behalf_of=req.requester_person)
    return req


@transaction.atomic
def return_for_rework(
    req: ServiceRequest, *, actor: User | None, reason: str, now: datetime | None = None
) -> ServiceRequest:
    """退回重办 — the requester was not satisfied or it is not solved: back to the taker, with a fresh limit."""
    require(actor, "servicedesk.return_request", req)
    now = _now(now)
    reason = _clean_text(reason, "reason", "退回理由", "reason", 300)
    if req.rework_count >= 20:
        raise DeskError("退回次数已达上限", "this order was returned too many times", None)
    cat = req.category
    due = machine.due_at(_local(now), cat.limit_value, cat.limit_unit, _calendar(now))
    _move(req, "return", now, due_at=due, rework_count=req.rework_count + 1, completed_at=None)
    _event(req, "return", now, actor, reason)
    _audit(req, "return", actor, {"reason": reason, "due_at": due, "rework": req.rework_count})
    _sms(req, f"您的工单{req.reference}已退回重办，新的办理时限{_fmt(due)}。")
    return req


@transaction.atomic
def archive_request(req: ServiceRequest, *, actor: User | None, now: datetime | None = None) -> ServiceRequest:
    require(actor, "servicedesk.archive_request", req)
    now = _now(now)
    _move(req, "archive", now, archived_at=now)
    _event(req, "archive", now, actor)
    _audit(req, "archive", actor, {})
    return req


# -------------------------------------------------------------------------------------------- escalation


def escalation_node(req: ServiceRequest, level: int) -> AreaNode:
    """The ancestor of the order's place at the level this escalation goes to (community, street, district)."""
    code = machine.ESCALATION_LEVEL_CODES[level]
    ids = req.node.ids_on_path
    node = AreaNode.objects.filter(id__in=ids, level__code=code).first()
    return node or AreaNode.objects.filter(id__in=ids).order_by("depth").first()


@transaction.atomic
def escalate(req: ServiceRequest, *, actor: User | None, note: str = "", now: datetime | None = None) -> Escalation:
    """催办 / 督办 — one level up: 1 the community, 2 the street (督办), 3 the district."""
    require(actor, "servicedesk.escalate_request", req)
    now = _now(now)
    level = req.escalation_level + 1
    if level > 3:
        raise DeskError("已督办至区级", "already escalated to the district", None)
    return _escalate(req, actor, level, note, now)


def _escalate(
    req: ServiceRequest, actor: User | None, level: int, note: str, now: datetime, auto: bool = False
) -> Escalation:
    if not machine.allowed("escalate", req.status):
        raise DeskError("该工单不在办理中", "this order is not being handled", None)
    to = escalation_node(req, level)
    updated = ServiceRequest.objects.filter(pk=req.pk, escalation_level=level - 1).update(
        escalation_level=level, escalated_to=to, updated_at=now
    )
    if updated != 1:
        raise DeskError("该工单刚被催办", "this order has just been escalated", None)
    req.escalation_level, req.escalated_to = level, to
    esc = Escalation.objects.create(request=req, level=level, to_node=to, at=now, note=note[:300], by=actor)
    params = {"level": level, "to": to.name, "note": "" if auto else note, "auto": auto}
    _event(req, "escalate", now, actor, params=params)
    _audit(req, "escalate", actor, {"level": level, "to": to.pk, "note": note[:300]})
    return esc


def escalate_due(now: datetime | None = None) -> int:
    """The scheduled 催办/督办: every live order whose limit is near or past goes up as far as it should.
    Run by `manage.py servicedesk_escalate` (cron, every few minutes)."""
    now = _now(now)
    live = [s.value for s in machine.LIVE]
    count = 0
    qs = ServiceRequest.objects.filter(status__in=live, due_at__isnull=False, escalation_level__lt=3).select_related(
        "node"
    )
    for req in qs.iterator():
        wanted = machine.escalation_due(now, req.due_at, req.dispatched_at or req.accepted_at, req.escalation_level)
        while req.escalation_level < wanted:
            with transaction.atomic():
                try:
                    _escalate(req, None, req.escalation_level + 1, "到期自动", now, auto=True)
                except DeskError:
                    break
            count += 1
    return count


@transaction.atomic
def merge_duplicate(
    req: ServiceRequest, *, actor: User | None, into: ServiceRequest, note: str = "", now: datetime | None = None
) -> ServiceRequest:
    """合并重复件 — the later report joins the earlier one; its requester is told the reference to follow."""
    require(actor, "servicedesk.merge_request", req)
    now = _now(now)
    if into.pk == req.pk or into.status == State.MERGED:
        raise DeskError("请选择另一张未合并的工单", "choose another order that is not merged", "into")
    if into.status == State.ARCHIVED:
        raise DeskError("不能并入已归档的工单", "an archived order cannot take duplicates", "into")
    _move(req, "merge", now, duplicate_of=into)
    _event(req, "merge", now, actor, params={"into": into.reference, "note": note})
    _audit(req, "merge", actor, {"into": into.pk, "note": note[:300]})
    _sms(req, f"您反映的问题已有工单{into.reference}在办理，您的工单{req.reference}已与其合并。")
    return req


# ----------------------------------------------------------------------------------------- configuration


@transaction.atomic
def save_category(category: Category, *, actor: User | None) -> Category:
    require(actor, "servicedesk.manage_catalogue", category.node)
    created = category.pk is None
    category.full_clean(exclude=["path"])
    category.save()
    audit.record(
        f"servicedesk.{'create' if created else 'change'}_category",
        category,
        actor=actor,
        changes={"code": category.code, "limit": f"{category.limit_value} {category.limit_unit}"},
    )
    return category


@transaction.atomic
def save_question(question: Question, *, actor: User | None) -> Question:
    require(actor, "servicedesk.manage_catalogue", question.category.node)
    created = question.pk is None
    question.full_clean()
    if question.datatype in {Question.Datatype.SINGLE, Question.Datatype.MULTI} and not question.values:
        raise DeskError("选择题须提供选项", "a list question needs values", "values")
    question.save()
    audit.record(
        f"servicedesk.{'create' if created else 'change'}_question",
        question,
        actor=actor,
        changes={"code": question.code},
    )
    return question


def hash_key(key: str) -> str:
    return crypto.mac(f"open311:{key}".encode())


@transaction.atomic
def create_open311_client(
    *, actor: User | None, name: str, node: AreaNode, per_minute: int = 30
) -> tuple[Open311Client, str]:
    """A new Open311 client and its key — shown once, only its keyed hash is kept."""
    require(actor, "servicedesk.manage_open311_clients", node)
    name = _clean_text(name, "name", "名称", "name", 100)
    if Open311Client.objects.filter(name=name).exists():
        raise DeskError("该名称已被使用", "this name is taken", "name")
    key = secrets.token_urlsafe(24)
    client = Open311Client.objects.create(
        name=name, key_prefix=key[:8], key_hash=hash_key(key), node=node, per_minute=per_minute
    )
    audit.record("servicedesk.create_open311_client", client, actor=actor, changes={"name": name, "node": node.pk})
    return client, key


@transaction.atomic
def set_open311_client_active(client: Open311Client, *, actor: User | None, active: bool) -> Open311Client:
    require(actor, "servicedesk.manage_open311_clients", client.node)
    client.active = active
    client.save(update_fields=["active"])
    audit.record("servicedesk.change_open311_client", client, actor=actor, changes={"active": active})
    return client


def client_for_key(key: str) -> Open311Client | None:
    if not key:
        return None
    return Open311Client.objects.filter(key_hash=hash_key(key), active=True).select_related("node").first()
