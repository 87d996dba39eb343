"""Collection: the crew opens a stop, starts the round, marks each item, completes the round; the rating after.

Locks follow the order stated in `actions/__init__.py` (booking, then items).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

import gongzhi.bulkywaste.actions.ledger as ledger  # the module itself, not the package (no cycle)
import gongzhi.bulkywaste.actions.messages as messages  # the module itself, not the package (no cycle)
from gongzhi.bulkywaste.inputs import BookingError, RatingError
from gongzhi.bulkywaste.limits import limits
from gongzhi.bulkywaste.models import Booking, BookingItem, Rating, Round, RoundStop
from gongzhi.core import audit
from gongzhi.core.gate import require
from gongzhi.core.models import Upload
from gongzhi.core.uploads import UploadError, store_upload

if TYPE_CHECKING:
    from gongzhi.core.models import User


@transaction.atomic
def open_stop(stop: RoundStop, *, actor: User | None) -> dict:
    """The crew member opens a stop: the contact is shown in full, and that view is logged (pii.view)."""
    require(actor, "bulkywaste.work_round", stop.round)
    RoundStop.objects.filter(pk=stop.pk, opened_at__isnull=True).update(opened_at=timezone.now())
    booking = stop.booking
    target = booking.on_behalf_of if booking.on_behalf_of_id else booking
    audit.record(
        "pii.view",
        target,
        actor=actor,
        changes={"fields": ["contact_name", "contact_phone"], "booking": booking.pk, "stop": stop.pk},
    )
    return {"name": booking.contact_name, "phone": booking.contact_phone}


@transaction.atomic
def start_round(rnd: Round, *, actor: User | None, now: datetime | None = None) -> Round:
    require(actor, "bulkywaste.work_round", rnd)
    now = now or timezone.now()
    _check_today(rnd, now)
    if Round.objects.filter(pk=rnd.pk, status=Round.Status.PLANNED).update(status=Round.Status.STARTED, started_at=now):
        audit.record("bulky.start_round", rnd, actor=actor)
    rnd.refresh_from_db()
    return rnd


@transaction.atomic
def mark_item(
    item: BookingItem,
    *,
    actor: User | None,
    outcome: str,
    weight_kg: Decimal | None = None,
    photo: tuple[bytes, str] | None = None,
    now: datetime | None = None,
) -> BookingItem:
    """Mark one item collected / not found / refused, with the weighed kilograms and a photo."""
    now = now or timezone.now()
    booking = Booking.objects.select_for_update(of=("self",)).get(pk=item.booking_id)
    stop = (
        RoundStop.objects.filter(booking=booking, round__vehicle__crew=actor).select_related("round__vehicle").first()
        if getattr(actor, "pk", None)
        else None
    ) or RoundStop.objects.filter(booking=booking).select_related("round__vehicle", "round__plan__area").first()
    if stop is None:
        raise BookingError("该预约尚未排入收运路线", "this booking is not on a round", None)
    require(actor, "bulkywaste.work_round", stop.round)
    if booking.status not in Booking.OPEN:
        raise BookingError("该预约已结束", "this booking is finished", None)
    if outcome not in (BookingItem.Outcome.COLLECTED, BookingItem.Outcome.NOT_FOUND, BookingItem.Outcome.REFUSED):
        raise BookingError("请选择收运结果", "choose an outcome", "outcome")
    _check_today(stop.round, now)
    item = BookingItem.objects.select_for_update(of=("self",)).get(pk=item.pk)  # booking, then item
    if outcome == BookingItem.Outcome.COLLECTED:
        if weight_kg is None or weight_kg <= 0:
            raise BookingError("已收运的物品须填写重量", "a collected item needs its weight", "weight_kg")
    elif weight_kg is not None and weight_kg < 0:
        raise BookingError("重量不能为负数", "weight must not be negative", "weight_kg")
    top = limits().item_kg * item.quantity
    if weight_kg is not None and weight_kg > top:
        raise BookingError(
            f"“{item.description}”{item.quantity}件不可能重{weight_kg:f}千克（上限{top:f}千克），请核对",
            f"{item.quantity} × “{item.description}” cannot weigh {weight_kg:f} kg (at most {top:f} kg); please check",
            "weight_kg",
        )
    upload = None
    if photo is not None:
        try:
            upload = store_upload(photo[0], name=photo[1], kind=Upload.Kind.PHOTO, user=actor, scope_path=booking.path)
        except UploadError as e:
            raise BookingError(f"照片：{e.zh}", f"photo: {e.en}", "photo") from None
    item.outcome = outcome
    item.collected_weight_kg = weight_kg if outcome == BookingItem.Outcome.COLLECTED else None
    item.outcome_photo = upload or item.outcome_photo
    item.outcome_at = now
    item.outcome_by = actor if getattr(actor, "pk", None) else None
    item.save()
    if stop.round.status == Round.Status.PLANNED:
        Round.objects.filter(pk=stop.round_id, status=Round.Status.PLANNED).update(
            status=Round.Status.STARTED, started_at=now
        )
    audit.record(
        "bulky.mark_item",
        booking,
        actor=actor,
        changes={"item": item.pk, "outcome": outcome, "weight_kg": weight_kg, "photo": upload.pk if upload else None},
    )
    if not booking.items.filter(outcome=BookingItem.Outcome.PENDING).exists():
        _finish(booking, now)
    return item


def _check_today(rnd: Round, now: datetime) -> None:
    """A round is worked on its own day: not started early, nothing recorded on another day's round."""
    today = timezone.localdate(now)
    if rnd.day != today:
        raise BookingError(
            f"这是{rnd.day.month}月{rnd.day.day}日的路线，只能在当天出车和记录",
            f"this round is for {rnd.day:%Y-%m-%d}; it can be started and recorded on that day only",
            "round",
        )


def _finish(booking: Booking, now: datetime) -> None:
    outcomes = set(booking.items.values_list("outcome", flat=True))
    if outcomes == {BookingItem.Outcome.COLLECTED}:
        status = Booking.Status.COLLECTED
    elif BookingItem.Outcome.COLLECTED in outcomes:
        status = Booking.Status.PARTLY
    else:
        status = Booking.Status.NOT_COLLECTED
    local = timezone.localtime(now)
    on_time = local.date() == booking.day and booking.window_start <= local.time() <= booking.window_end
    booking.status, booking.finished_at, booking.on_time = status, now, on_time
    booking.rating_token = secrets.token_urlsafe(32)
    booking.save(update_fields=["status", "finished_at", "on_time", "rating_token"])
    audit.record("bulky.finish", booking, actor=None, changes={"status": status, "on_time": on_time})
    messages.finished(booking)
    for rnd in Round.objects.filter(stops__booking=booking).exclude(status=Round.Status.COMPLETED).distinct():
        open_left = Booking.objects.filter(stops__round=rnd, status__in=Booking.OPEN).exists()
        if not open_left:
            _complete(rnd, now)


@transaction.atomic
def complete_round(rnd: Round, *, actor: User | None, now: datetime | None = None) -> Round:
    """The crew ends the round; its cost lines are written to the ledger."""
    require(actor, "bulkywaste.work_round", rnd)
    _complete(rnd, now or timezone.now(), actor=actor)
    rnd.refresh_from_db()
    return rnd


def _complete(rnd: Round, now: datetime, actor: User | None = None) -> None:
    if (
        not Round.objects.filter(pk=rnd.pk)
        .exclude(status=Round.Status.COMPLETED)
        .update(status=Round.Status.COMPLETED, completed_at=now)
    ):
        return  # completed already: the ledger is written once
    rnd = Round.objects.select_related("vehicle", "plan__area").get(pk=rnd.pk)
    if rnd.started_at is None:
        Round.objects.filter(pk=rnd.pk).update(started_at=rnd.start_at)
    stops = list(rnd.stops.select_related("booking").order_by("order"))
    if stops:
        ledger.write_ledger(rnd, stops)
    audit.record("bulky.complete_round", rnd, actor=actor, changes={"stops": len(stops)})


# ------------------------------------------------------------------------------------------------ ratings


@transaction.atomic
def rate_service(token: str, *, score: int, comment: str = "") -> Rating:
    """The resident's rating by the link in the outcome SMS; once per booking."""
    booking = Booking.objects.filter(rating_token=token or "-", status__in=Booking.FINISHED).first() if token else None
    if booking is None:
        raise RatingError("评价链接无效", "this rating link is not valid", None)
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise RatingError("评分应为1到5", "the score must be 1 to 5", "score")
    try:
        with transaction.atomic():
            rating = Rating.objects.create(booking=booking, score=score, comment=(comment or "").strip()[:500])
    except IntegrityError:
        raise RatingError("您已评价过本次服务，谢谢", "this service has already been rated, thank you", None) from None
    audit.record("bulky.rate", booking, actor=None, channel="sms_link", changes={"score": score})
    return rating
