"""Booking and capacity: book, the urgent same-day path, amend, cancel, photos, the contact's reveal.

Capacity is carried by the database, not by locks: a booking takes one stop and its volume from its day's
`DayCapacity` row with a conditional UPDATE (`... WHERE stops_left >= 1 AND volume_left >= v`), and CHECK
constraints keep both at or above zero. Two bookings racing for the last slot cannot both get it, on SQLite or
PostgreSQL. Cancelling gives the capacity back.

Locks follow the order stated in `actions/__init__.py` (booking, then items).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

import gongzhi.bulkywaste.actions.messages as messages  # the module itself, not the package (no cycle)
import gongzhi.bulkywaste.actions.planning as planning  # the module itself, not the package (no cycle)
from gongzhi.bulkywaste.inputs import (
    MAX_PHOTOS,
    Address,
    BookingError,
    DuplicateBooking,
    ItemSpec,
    check_contact,
    check_items,
    item_problems,
    load_of,
    raise_all,
    window_times,
)
from gongzhi.bulkywaste.models import (
    Booking,
    BookingItem,
    BookingPhoto,
    Channel,
    DailySequence,
    DayCapacity,
    FeeSchedule,
    ServiceArea,
    Window,
)
from gongzhi.bulkywaste.selectors import (
    area_for,
    cutoff,
    fee_for,
    first_free_day,
    same_address_bookings,
    serving_days,
    units_of,
)
from gongzhi.core import audit, idempotency
from gongzhi.core.gate import require
from gongzhi.core.models import Upload
from gongzhi.core.uploads import UploadError, store_upload
from gongzhi.registry.models import Person

# ----------------------------------------------------------------------------------------------- capacity


if TYPE_CHECKING:
    from gongzhi.core.models import User


def ensure_capacity_rows(area: ServiceArea, days: Sequence[date]) -> None:
    DayCapacity.objects.bulk_create(
        [
            DayCapacity(area=area, day=d, stops_left=area.daily_stops, volume_left=area.daily_volume_litres)
            for d in days
        ],
        ignore_conflicts=True,
    )


def _take(area: ServiceArea, day: date, volume: int) -> bool:
    """Take one stop and `volume` litres of the day, or nothing: one conditional UPDATE, rows affected 0 or 1."""
    return (
        DayCapacity.objects.filter(area=area, day=day, stops_left__gte=1, volume_left__gte=volume).update(
            stops_left=F("stops_left") - 1, volume_left=F("volume_left") - volume
        )
        == 1
    )


def _give_back(area_id: int, day: date, volume: int) -> None:
    DayCapacity.objects.filter(area_id=area_id, day=day).update(
        stops_left=F("stops_left") + 1, volume_left=F("volume_left") + volume
    )


# ------------------------------------------------------------------------------------------- references


def next_reference(prefix: str, now: datetime | None = None) -> str:
    """DJ-20261125-0042: the day's counter row is incremented by an UPDATE, which row-locks it till commit."""
    key = f"{prefix}-{timezone.localdate(now or timezone.now()):%Y%m%d}"
    DailySequence.objects.bulk_create([DailySequence(key=key, value=0)], ignore_conflicts=True)
    DailySequence.objects.filter(key=key).update(value=F("value") + 1)
    value = DailySequence.objects.filter(key=key).values_list("value", flat=True).get()
    return f"{key}-{value:04d}"


# --------------------------------------------------------------------------------------------- booking


def _can_book_here(actor: User | None, address: Address, on_behalf_of: Person | None, channel: str) -> None:
    if actor is None:
        return
    target = address.unit or address.compound or address
    if channel == Channel.PROPERTY:
        require(actor, "bulkywaste.book_compound", address.compound or address)
        return
    if on_behalf_of is not None or channel == Channel.HOTLINE:
        require(actor, "bulkywaste.book_for_resident", target)
        return
    require(actor, "bulkywaste.book_own", None)
    if address.unit is not None and not actor.has_perm("bulkywaste.book_for_resident", address.unit):
        if address.unit.pk not in {u.pk for u in units_of(actor.person)}:
            raise PermissionDenied("not the actor's home")


def _store_photos(booking: Booking, photos: Sequence[tuple[bytes, str]], actor: User | None) -> list[int]:
    if len(photos) > MAX_PHOTOS:
        raise BookingError(f"最多上传{MAX_PHOTOS}张照片", f"at most {MAX_PHOTOS} photos", "photos")
    ids = []
    for data, name in photos:
        try:
            upload = store_upload(data, name=name, kind=Upload.Kind.PHOTO, user=actor, scope_path=booking.path)
        except UploadError as e:
            raise BookingError(f"照片：{e.zh}", f"photo: {e.en}", "photos") from None
        BookingPhoto.objects.create(booking=booking, upload=upload)
        ids.append(upload.pk)
    return ids


def _create_items(booking: Booking, specs: Sequence[ItemSpec]) -> None:
    BookingItem.objects.bulk_create(
        [
            BookingItem(
                booking=booking,
                entry=s.entry,
                description=s.name[:100],
                category=s.sizing_category().code,
                quantity=s.quantity,
                weight_kg=s.measures()[0],
                volume_m3=s.measures()[1],
                length_m=s.measures()[2],
            )
            for s in specs
        ]
    )


@transaction.atomic
def book(
    *,
    actor: User | None,
    channel: str,
    items: Sequence[ItemSpec],
    address: Address,
    preferred_days: Sequence[date] = (),
    window: str = Window.MORNING,
    window_start: time | None = None,
    window_end: time | None = None,
    contact_name: str,
    contact_phone: str,
    notes: str = "",
    on_behalf_of: Person | None = None,
    photos: Sequence[tuple[bytes, str]] = (),
    upload_ids: Sequence[int] = (),
    idempotency_key: str = "",
    exact_day: bool = False,
    on_duplicate: str = "",
    now: datetime | None = None,
) -> Booking:
    """Book a pickup on the first preferred day with room, else the next free day (never an overbooked one).

    `exact_day` refuses instead of moving (used when a resident picked a day from the list and we must not
    surprise them — the page then offers the next free day). A retried call with the same idempotency key
    returns the first booking. A second booking of the same address and half-day raises `DuplicateBooking`
    unless `on_duplicate="continue"` (merging is `merge_into`).
    """
    if channel not in Channel.values or channel == Channel.DISPATCHER:
        raise BookingError("渠道无效", "unknown channel", "channel")
    key = idempotency.clean_key(idempotency_key) if getattr(actor, "pk", None) else ""
    mine = Booking.objects.filter(booked_by=actor if key else None)
    existing = idempotency.replay(mine, key)
    if existing is not None:
        return existing
    _can_book_here(actor, address, on_behalf_of, channel)
    problems = item_problems(items)
    try:
        contact_name, contact_phone = check_contact(contact_name, contact_phone)
    except BookingError as e:
        problems.append(e)
    try:
        start, end = window_times(window, window_start, window_end)
    except BookingError as e:
        problems.append(e)
    raise_all(problems)  # every problem at once, before anything is written
    area = area_for(address.path)
    volume, weight, pieces = load_of(items)
    if volume > area.daily_volume_litres:
        raise BookingError(
            "物品总体积超过该片区每日收运能力，请分次预约或联系调度员加急安排",
            "the items exceed the area's daily capacity: book in parts or ask the dispatcher",
            "items",
        )
    now = now or timezone.now()
    days = serving_days(area, now)
    if not days:
        raise BookingError("近期没有可预约的日期", "no bookable day in the horizon", "day")
    preferred = [d for d in dict.fromkeys(preferred_days)]
    for d in preferred:
        if d not in days:
            raise BookingError(
                f"{d:%Y-%m-%d} 不可预约（已过截止时间、非收运日或超出可预约范围）",
                f"{d:%Y-%m-%d} cannot be booked (past the cut-off, not a collection day, or too far ahead)",
                "preferred_days",
            )
    candidates = preferred + (
        [] if exact_day and preferred else [d for d in days if not preferred or d > min(preferred)]
    )
    ensure_capacity_rows(area, candidates)

    duplicate_of: list[str] = []

    def create() -> Booking:  # in a savepoint: a lost idempotency race rolls back the capacity taken too
        day = next((d for d in candidates if _take(area, d, volume)), None)
        if day is None:
            later = first_free_day(area, volume, now=now)
            if exact_day and later:
                raise BookingError(
                    f"所选日期已约满，最早可约 {later:%Y-%m-%d}",
                    f"that day is fully booked; the earliest free day is {later:%Y-%m-%d}",
                    "preferred_days",
                )
            raise BookingError("可预约范围内的日期均已约满", "every bookable day is full", "preferred_days")
        twins = same_address_bookings(address.path, address.text, day, start, end)
        if twins and on_duplicate != "continue":
            raise DuplicateBooking(twins)  # the savepoint gives the capacity back
        duplicate_of.extend(b.reference for b in twins)
        fee, mode = fee_for(items, day)
        return Booking.objects.create(
            reference=next_reference("DJ", now),
            area=area,
            path=address.path,
            day=day,
            preferred_days=[d.isoformat() for d in preferred],
            window=window,
            window_start=start,
            window_end=end,
            unit=address.unit,
            compound=address.compound,
            address=address.text,
            latitude=address.latitude,
            longitude=address.longitude,
            contact_name=contact_name,
            contact_phone=contact_phone,
            notes=(notes or "").strip()[:300],
            channel=channel,
            booked_by=actor if getattr(actor, "pk", None) else None,
            on_behalf_of=on_behalf_of,
            capacity_taken=True,
            volume_litres=volume,
            weight_kg=weight,
            item_count=pieces,
            fee=fee,
            fee_mode=mode,
            idempotency_key=key,
        )

    booking, created = idempotency.get_or_create_by_key(mine, key, create)
    if not created:
        return booking
    day = booking.day
    fee = booking.fee
    _create_items(booking, items)
    photo_ids = _store_photos(booking, photos, actor)
    if upload_ids:
        stashed = Upload.objects.filter(
            pk__in=list(upload_ids)[:MAX_PHOTOS],
            kind=Upload.Kind.PHOTO,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
        )
        for upload in stashed:
            BookingPhoto.objects.create(booking=booking, upload=upload)
            photo_ids.append(upload.pk)
        # Stashed before the booking existed: now it belongs to the booking's area (the crew may see it).
        Upload.objects.filter(pk__in=photo_ids, scope_path="").update(scope_path=booking.path)
    audit.record(
        "bulky.book",
        booking,
        actor=actor,
        on_behalf_of=on_behalf_of,
        channel=channel,
        changes={
            "reference": booking.reference,
            "day": day,
            "window": booking.window_label,
            "items": pieces,
            "volume_litres": volume,
            "fee": fee,
            "unit": address.unit.pk if address.unit else None,
            "contact": audit.PERSONAL,
            "photos": photo_ids,
            "moved_from": preferred[0] if preferred and preferred[0] != day else None,
            "duplicate_of": duplicate_of,
        },
    )
    messages.booked(booking)
    planning.replan_if_planned(area, day, now)
    return booking


@transaction.atomic
def stash_photo(data: bytes, name: str, *, actor: User | None) -> Upload:
    """A photo uploaded on the resident's photo page, before the booking exists (attached by `book`)."""
    require(actor, "bulkywaste.book_own", None)
    try:
        upload = store_upload(data, name=name, kind=Upload.Kind.PHOTO, user=actor)
    except UploadError as e:
        raise BookingError(f"照片：{e.zh}", f"photo: {e.en}", "photo") from None
    audit.record("bulky.stash_photo", upload, actor=actor, changes={"size": upload.size})
    return upload


@transaction.atomic
def reveal_contact(booking: Booking, *, actor: User | None) -> dict:
    """Show a booking's contact in full to a role that may see personal data; the view is logged."""
    require(actor, "bulkywaste.view_booking", booking)
    require(actor, "registry.view_person_unmasked", booking)
    target = booking.on_behalf_of if booking.on_behalf_of_id else booking
    audit.record(
        "pii.view", target, actor=actor, changes={"fields": ["contact_name", "contact_phone"], "booking": booking.pk}
    )
    return {"name": booking.contact_name, "phone": booking.contact_phone}


@transaction.atomic
def book_urgent(
    *,
    actor: User | None,
    items: Sequence[ItemSpec],
    address: Address,
    reason: str,
    contact_name: str,
    contact_phone: str,
    window_end: time | None = None,
    notes: str = "",
    on_behalf_of: Person | None = None,
    now: datetime | None = None,
) -> Booking:
    """The urgent same-day path (加急): a dispatcher books for today outside the planned-day capacity, with
    a recorded reason, and today's plan is redone so the pickup goes straight into a round."""
    area = area_for(address.path)
    require(actor, "bulkywaste.dispatch", area)
    reason = (reason or "").strip()
    if not reason:
        raise BookingError("加急须写明原因", "an urgent booking needs a reason", "reason")
    problems = item_problems(items)
    try:
        contact_name, contact_phone = check_contact(contact_name, contact_phone)
    except BookingError as e:
        problems.append(e)
    raise_all(problems)
    now = now or timezone.now()
    local = timezone.localtime(now)
    start = local.time().replace(second=0, microsecond=0)
    end = window_end or time(20, 0)
    if end <= start:
        raise BookingError("加急时段应晚于当前时间", "the urgent window must end after now", "window_end")
    volume, weight, pieces = load_of(items)
    booking = Booking.objects.create(
        reference=next_reference("DJ", now),
        area=area,
        path=address.path,
        day=local.date(),
        window=Window.CUSTOM,
        window_start=start,
        window_end=end,
        unit=address.unit,
        compound=address.compound,
        address=address.text,
        latitude=address.latitude,
        longitude=address.longitude,
        contact_name=contact_name,
        contact_phone=contact_phone,
        notes=(notes or "").strip()[:300],
        channel=Channel.DISPATCHER,
        booked_by=actor if getattr(actor, "pk", None) else None,
        on_behalf_of=on_behalf_of,
        urgent=True,
        urgent_reason=reason[:300],
        capacity_taken=False,
        volume_litres=volume,
        weight_kg=weight,
        item_count=pieces,
        fee_mode=FeeSchedule.Mode.FREE,
    )
    _create_items(booking, items)
    audit.record(
        "bulky.book_urgent",
        booking,
        actor=actor,
        on_behalf_of=on_behalf_of,
        channel=Channel.DISPATCHER,
        changes={"reference": booking.reference, "reason": reason, "items": pieces, "volume_litres": volume},
    )
    messages.booked_urgent(booking)
    planning.queue_plan(area, booking.day)
    return booking


def _check_open(booking: Booking, actor: User | None) -> None:
    if booking.status not in Booking.OPEN:
        require(actor, "bulkywaste.view_booking", booking)
        raise BookingError(
            f"该预约{booking.get_status_display()}，不能再修改或取消",
            "this booking can no longer be changed or cancelled",
            None,
        )


def _check_cutoff(booking: Booking, actor: User | None, now: datetime) -> None:
    if actor is not None and actor.has_perm("bulkywaste.dispatch", booking.area):
        return  # the dispatcher may still change a booking the evening before
    if now >= cutoff(booking.area, booking.day):
        deadline = cutoff(booking.area, booking.day)
        raise BookingError(
            f"已过修改截止时间（{timezone.localtime(deadline):%m月%d日%H:%M}），请致电{settings.GONGZHI_HOTLINE}",
            f"past the cut-off ({timezone.localtime(deadline):%Y-%m-%d %H:%M}); please call the hotline",
            "day",
        )


@transaction.atomic
def amend_booking(
    booking: Booking,
    *,
    actor: User | None,
    day: date | None = None,
    window: str | None = None,
    window_start: time | None = None,
    window_end: time | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    notes: str | None = None,
    items: Sequence[ItemSpec] | None = None,
    on_behalf_of: Person | None = None,
    channel: str = "",
    now: datetime | None = None,
) -> Booking:
    """Change the day, window, contact, notes or items until the cut-off. A new day or a larger load must fit
    that day's capacity (taken before the old is given back, in one transaction)."""
    booking = Booking.objects.select_for_update(of=("self",)).select_related("area").get(pk=booking.pk)
    _check_open(booking, actor)
    require(actor, "bulkywaste.change_booking", booking)
    now = now or timezone.now()
    _check_cutoff(booking, actor, now)
    before = {
        "day": booking.day,
        "window": booking.window_label,
        "contact_name": booking.contact_name,
        "contact_phone": booking.contact_phone,
        "notes": booking.notes,
        "volume_litres": booking.volume_litres,
    }
    old_day, old_volume = booking.day, booking.volume_litres
    if window is not None:
        booking.window = window
        booking.window_start, booking.window_end = window_times(window, window_start, window_end)
    if contact_name is not None or contact_phone is not None:
        booking.contact_name, booking.contact_phone = check_contact(
            contact_name if contact_name is not None else booking.contact_name,
            contact_phone if contact_phone is not None else booking.contact_phone,
        )
    if notes is not None:
        booking.notes = notes.strip()[:300]
    if items is not None:
        check_items(items)
        booking.volume_litres, booking.weight_kg, booking.item_count = load_of(items)
    new_day = day or booking.day
    if new_day != old_day and new_day not in serving_days(booking.area, now):
        raise BookingError(f"{new_day:%Y-%m-%d} 不可预约", f"{new_day:%Y-%m-%d} cannot be booked", "day")
    if booking.capacity_taken and (new_day != old_day or booking.volume_litres != old_volume):
        ensure_capacity_rows(booking.area, [new_day])
        if new_day == old_day:
            _give_back(booking.area_id, old_day, old_volume)
            ok = _take(booking.area, new_day, booking.volume_litres)
        else:
            ok = _take(booking.area, new_day, booking.volume_litres)
            if ok:
                _give_back(booking.area_id, old_day, old_volume)
        if not ok:
            later = first_free_day(booking.area, booking.volume_litres, [new_day], now=now)
            hint = f"，最早可约 {later:%Y-%m-%d}" if later else ""
            raise BookingError(
                f"{new_day:%Y-%m-%d} 已约满{hint}", f"{new_day:%Y-%m-%d} is fully booked", "day"
            )  # the transaction rolls back, so nothing is half-changed
    booking.day = new_day
    after = {
        "day": booking.day,
        "window": booking.window_label,
        "contact_name": booking.contact_name,
        "contact_phone": booking.contact_phone,
        "notes": booking.notes,
        "volume_litres": booking.volume_litres,
    }
    changes = audit.diff(before, after, personal=frozenset({"contact_name", "contact_phone"}))
    if items is not None:
        changes["items"] = "replaced"
    if not changes:
        raise BookingError("您没有修改任何内容", "you have not changed anything", None)
    if new_day != old_day:
        booking.status = Booking.Status.BOOKED
        booking.reminder_sent_at = None
        booking.planned_eta = None
    booking.save()
    if items is not None:
        booking.items.all().delete()
        _create_items(booking, items)
    audit.record("bulky.amend", booking, actor=actor, on_behalf_of=on_behalf_of, channel=channel, changes=changes)
    messages.amended(booking)
    planning.replan_if_planned(booking.area, old_day, now)
    if new_day != old_day:
        planning.replan_if_planned(booking.area, new_day, now)
    return booking


@transaction.atomic
def cancel_booking(
    booking: Booking,
    *,
    actor: User | None,
    reason: str = "",
    on_behalf_of: Person | None = None,
    channel: str = "",
    now: datetime | None = None,
) -> Booking:
    """Cancel until the cut-off; the day's capacity is given back and a planned day is re-planned."""
    booking = Booking.objects.select_for_update(of=("self",)).select_related("area").get(pk=booking.pk)
    _check_open(booking, actor)
    require(actor, "bulkywaste.change_booking", booking)
    now = now or timezone.now()
    _check_cutoff(booking, actor, now)
    updated = Booking.objects.filter(pk=booking.pk, status__in=Booking.OPEN).update(
        status=Booking.Status.CANCELLED, cancelled_at=now
    )
    if updated != 1:
        raise BookingError("该预约已不能取消", "this booking can no longer be cancelled", None)
    if booking.capacity_taken:
        _give_back(booking.area_id, booking.day, booking.volume_litres)
    booking.refresh_from_db()
    audit.record(
        "bulky.cancel",
        booking,
        actor=actor,
        on_behalf_of=on_behalf_of,
        channel=channel,
        changes={"reason": (reason or "")[:300], "day": booking.day},
    )
    messages.cancelled(booking)
    planning.replan_if_planned(booking.area, booking.day, now)
    return booking


@transaction.atomic
def merge_into(
    booking: Booking,
    *,
    actor: User | None,
    items: Sequence[ItemSpec],
    notes: str = "",
    on_behalf_of: Person | None = None,
    channel: str = "",
    now: datetime | None = None,
) -> Booking:
    """Add the items of a would-be second booking to the open booking of the same address and half-day (the
    resident's choice when warned of the duplicate): an amendment of its items, with its checks and capacity."""
    require(actor, "bulkywaste.change_booking", booking)
    existing = [
        ItemSpec(
            entry=i.entry,
            description=i.description if not i.entry_id else "",
            category=i.category,
            quantity=i.quantity,
            weight_kg=i.weight_kg if not i.entry_id else None,
            volume_m3=i.volume_m3 if not i.entry_id else None,
            length_m=i.length_m if not i.entry_id else None,
        )
        for i in booking.items.select_related("entry").order_by("pk")
    ]
    extra = (notes or "").strip()
    return amend_booking(
        booking,
        actor=actor,
        items=[*existing, *items],
        notes=f"{booking.notes} {extra}".strip()[:300] if extra and extra not in booking.notes else None,
        on_behalf_of=on_behalf_of,
        channel=channel,
        now=now,
    )
