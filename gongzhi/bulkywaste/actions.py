"""Every change to bulky-waste collection goes through these functions: permission, transaction, audit entry,
side effects (SMS, planning) after commit.

Capacity is carried by the database, not by locks: a booking takes one stop and its volume from its day's
`DayCapacity` row with a conditional UPDATE (`... WHERE stops_left >= 1 AND volume_left >= v`), and CHECK
constraints keep both at or above zero. Two bookings racing for the last slot cannot both get it, on SQLite or
PostgreSQL. Cancelling gives the capacity back.
"""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language

from gongzhi.bulkywaste import routing, sizing
from gongzhi.bulkywaste.models import (
    WINDOW_TIMES,
    Booking,
    BookingItem,
    BookingPhoto,
    CatalogueEntry,
    Channel,
    CostEntry,
    CostRates,
    DailySequence,
    DayCapacity,
    DayPlan,
    DumpingReport,
    FeeSchedule,
    Rating,
    Round,
    RoundStop,
    ServiceArea,
    Vehicle,
    Window,
)
from gongzhi.core import audit, pii
from gongzhi.core.calendar import calendar_from
from gongzhi.core.gate import require
from gongzhi.core.models import Upload
from gongzhi.core.sms import send_sms
from gongzhi.core.uploads import UploadError, store_upload
from gongzhi.core.workdays import Calendar
from gongzhi.registry.models import AreaNode, Ownership, Person, Residence, Unit

MAX_ITEMS = 200  # a compound-wide booking may list many items
MAX_PHOTOS = 5
DEFAULT_VOLUME_M3 = Decimal("0.3")  # a described item without a volume: a conservative estimate for capacity
DEFAULT_WEIGHT_KG = Decimal("20")
ETA_CHANGE_NOTICE = timedelta(minutes=30)


# Sent inside report_dumping's transaction with report= and node=; the service desk turns it into a request.
dumping_reported = Signal()


class BookingError(ValueError):
    """Bad input or a rule that refuses the change; names the field, Chinese first."""

    def __init__(self, zh: str, en: str, field: str | None = None):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.field = zh, en, field

    @property
    def shown(self) -> str:
        """The message in the page's language (English pages get the English, every other page the Chinese)."""
        return self.en if (get_language() or "").startswith("en") else self.zh


# ------------------------------------------------------------------------------------------------ items


@dataclass
class ItemSpec:
    """An item as asked for: a catalogue entry (measures default to its typical ones) or a description."""

    entry: CatalogueEntry | None = None
    description: str = ""
    category: str = ""
    quantity: int = 1
    weight_kg: Decimal | None = None
    volume_m3: Decimal | None = None
    length_m: Decimal | None = None
    integral: bool = True

    @property
    def name(self) -> str:
        return self.description or (self.entry.name if self.entry else "")

    def measures(self) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        e = self.entry
        return (
            self.weight_kg if self.weight_kg is not None else (e.typical_weight_kg if e else None),
            self.volume_m3 if self.volume_m3 is not None else (e.typical_volume_m3 if e else None),
            self.length_m if self.length_m is not None else (e.typical_length_m if e else None),
        )

    def sizing_category(self) -> sizing.Category:
        code = self.category or (self.entry.category if self.entry else "")
        try:
            return sizing.Category(code)
        except ValueError:
            raise BookingError("请选择物品类别", "choose the item's category", "category") from None


def decide(spec: ItemSpec) -> sizing.SizingDecision:
    """The sizing decision for an item (Zhengzhou's rule, `sizing.classify`)."""
    weight, volume, length = spec.measures()
    try:
        return sizing.classify(spec.sizing_category(), weight, volume, length, integral=spec.integral)
    except ValueError as e:
        field = next((f for f in ("weight_kg", "volume_m3", "length_m") if f in str(e)), None)
        raise BookingError("尺寸或重量不能为负数", "measures must not be negative", field) from None


def check_items(specs: Sequence[ItemSpec]) -> None:
    """Refuse an empty list, bad quantities and anything that is not bulky waste, naming the item."""
    if not specs:
        raise BookingError("请至少添加一件物品", "add at least one item", "items")
    if len(specs) > MAX_ITEMS:
        raise BookingError(f"一次最多预约{MAX_ITEMS}项物品", f"at most {MAX_ITEMS} item lines per booking", "items")
    for n, spec in enumerate(specs):
        if not spec.name.strip():
            raise BookingError("请写明物品名称", "describe the item", f"items[{n}].description")
        if not 1 <= spec.quantity <= 500:
            raise BookingError("数量应为1到500", "quantity must be between 1 and 500", f"items[{n}].quantity")
        d = decide(spec)
        if not d.is_bulky:
            raise BookingError(
                f"“{spec.name}”不能预约大件垃圾上门回收：{d.reason_zh}",
                f"“{spec.entry.name_en if spec.entry else spec.name}” cannot be booked for bulky-waste "
                f"collection: {d.reason_en}",
                f"items[{n}]",
            )


def _load(specs: Sequence[ItemSpec]) -> tuple[int, Decimal, int]:
    """(litres, kg, pieces) of a list of items, estimating what was not measured."""
    volume, weight, pieces = Decimal(0), Decimal(0), 0
    for s in specs:
        w, v, _length = s.measures()
        volume += (v if v is not None else DEFAULT_VOLUME_M3) * s.quantity
        weight += (w if w is not None else DEFAULT_WEIGHT_KG) * s.quantity
        pieces += s.quantity
    return int((volume * 1000).to_integral_value(rounding="ROUND_CEILING")), weight, pieces


def fee_for(specs: Sequence[ItemSpec], day: date) -> tuple[Decimal, str]:
    """The fee of a booking under the schedule in force on its day (free when none is configured)."""
    schedule = FeeSchedule.objects.filter(effective_from__lte=day).first()
    if schedule is None or schedule.mode == FeeSchedule.Mode.FREE:
        return Decimal("0.00"), FeeSchedule.Mode.FREE
    if schedule.mode == FeeSchedule.Mode.FLAT:
        return schedule.flat_amount, schedule.mode
    total = sum(((s.entry.price if s.entry else schedule.default_item_price) * s.quantity for s in specs), Decimal(0))
    return total.quantize(Decimal("0.01")), schedule.mode


# ---------------------------------------------------------------------------------------------- address


@dataclass
class Address:
    text: str
    latitude: Decimal
    longitude: Decimal
    path: str
    unit: Unit | None = None
    compound: AreaNode | None = None


def _coords(node: AreaNode) -> tuple[Decimal, Decimal]:
    profile = getattr(node, "profile", None)
    if profile is None or profile.latitude is None or profile.longitude is None:
        raise BookingError(
            f"{node.name}尚未登记坐标，请填写地址和坐标", f"{node.name} has no coordinates on record", "address"
        )
    return profile.latitude, profile.longitude


def address_of_unit(unit: Unit) -> Address:
    """The unit's address, located at its compound's coordinates (WGS-84)."""
    names = dict(AreaNode.objects.filter(pk__in=unit.node.ids_on_path).values_list("pk", "name"))
    compound = unit.compound
    below = [names[i] for i in unit.node.ids_on_path if i in names and i not in compound.ids_on_path]
    lat, lon = _coords(compound)
    text = " ".join([compound.address or compound.name, *below, unit.number])
    return Address(text, lat, lon, unit.path, unit=unit, compound=compound)


def address_of_compound(node: AreaNode) -> Address:
    lat, lon = _coords(node)
    return Address(node.address or node.name, lat, lon, node.path, compound=node)


def free_address(text: str, latitude, longitude, node: AreaNode) -> Address:
    """A free-text address with WGS-84 coordinates, inside an area node (for scope and capacity)."""
    text = (text or "").strip()
    if not text:
        raise BookingError("地址不能为空", "address is required", "address")
    lat, lon = _parse_coords(latitude, longitude)
    return Address(text[:200], lat, lon, node.path)


def _parse_coords(latitude, longitude) -> tuple[Decimal, Decimal]:
    try:
        lat, lon = Decimal(str(latitude)), Decimal(str(longitude))
    except Exception:  # noqa: BLE001 - any unparsable value
        raise BookingError("坐标应为数字（WGS-84）", "coordinates must be numbers (WGS-84)", "latitude") from None
    if not (lat.is_finite() and lon.is_finite()):
        raise BookingError("坐标应为数字（WGS-84）", "coordinates must be numbers (WGS-84)", "latitude")
    if not (Decimal(-90) <= lat <= 90 and Decimal(-180) <= lon <= 180):
        raise BookingError("坐标超出范围（WGS-84）", "coordinates out of range (WGS-84)", "latitude")
    return lat.quantize(Decimal("0.000001")), lon.quantize(Decimal("0.000001"))


def area_for(path: str) -> ServiceArea:
    """The deepest active service area containing `path`."""
    parts = [p for p in path.strip("/").split("/") if p]
    prefixes = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    area = ServiceArea.objects.filter(active=True, path__in=prefixes).select_related("node").order_by("-path").first()
    if area is None:
        raise BookingError("该地址不在大件垃圾收运服务范围内", "this address is outside every service area", "address")
    return area


def units_of(person: Person | None) -> list[Unit]:
    """Units where a person lives or owns (for 'book for my home')."""
    if person is None:
        return []
    ids = set(Residence.objects.filter(person=person, until__isnull=True).values_list("unit_id", flat=True)) | set(
        Ownership.objects.filter(person=person, until__isnull=True).values_list("unit_id", flat=True)
    )
    return list(Unit.objects.filter(pk__in=ids).select_related("compound", "node").order_by("path", "number"))


# ------------------------------------------------------------------------------------------------- days


def calendar_for(start: date, end: date) -> Calendar:
    return calendar_from(start, (end - start).days)


def cutoff(area: ServiceArea, day: date) -> datetime:
    """Bookings for `day` are taken, changed and cancelled until this moment (e.g. 18:00 the day before)."""
    return timezone.make_aware(datetime.combine(day - timedelta(days=area.cutoff_days_before), area.cutoff_time))


def serving_days(area: ServiceArea, now: datetime | None = None, count: int | None = None) -> list[date]:
    """The days a resident may book, earliest first: after the cut-off, within the horizon, workdays if set."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    horizon = area.horizon_days if count is None else count
    cal = calendar_for(today, today + timedelta(days=horizon + 1))
    out = []
    for i in range(1, horizon + 1):
        day = today + timedelta(days=i)
        if now >= cutoff(area, day):
            continue
        if area.workdays_only and not cal.is_workday(day):
            continue
        out.append(day)
    return out


def _ensure_capacity_rows(area: ServiceArea, days: Sequence[date]) -> None:
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


def availability(area: ServiceArea, *, volume: int = 0, now: datetime | None = None) -> list[dict]:
    """Each bookable day with what is left (a day without a row yet has its full capacity)."""
    days = serving_days(area, now)
    rows = {
        c.day: c for c in DayCapacity.objects.filter(area=area, day__in=days).only("day", "stops_left", "volume_left")
    }
    out = []
    for d in days:
        c = rows.get(d)
        stops = c.stops_left if c else area.daily_stops
        vol = c.volume_left if c else area.daily_volume_litres
        out.append({"day": d, "stops_left": stops, "volume_left": vol, "fits": stops >= 1 and vol >= volume})
    return out


def first_free_day(area: ServiceArea, volume: int, preferred: Sequence[date] = (), now=None) -> date | None:
    """What a booking would be offered now: the first preferred day that fits, else the next one that does."""
    rows = availability(area, volume=volume, now=now)
    fits = [r["day"] for r in rows if r["fits"]]
    for d in preferred:
        if d in fits:
            return d
    start = min(preferred) if preferred else None
    return next((d for d in fits if start is None or d >= start), None)


def _window_times(window: str, start: time | None, end: time | None) -> tuple[time, time]:
    if window in WINDOW_TIMES:
        return WINDOW_TIMES[Window(window)]
    if window != Window.CUSTOM:
        raise BookingError("请选择上门时段", "choose a time window", "window")
    if start is None or end is None or not (time(6, 0) <= start < end <= time(21, 0)):
        raise BookingError(
            "指定时段应在6:00到21:00之间，且开始早于结束",
            "a custom window must lie within 06:00–21:00 and start before it ends",
            "window_start",
        )
    if (datetime.combine(date.min, end) - datetime.combine(date.min, start)) < timedelta(hours=1):
        raise BookingError("指定时段至少1小时", "a custom window must be at least one hour long", "window_end")
    return start, end


# ------------------------------------------------------------------------------------------- references


def next_reference(prefix: str, now: datetime | None = None) -> str:
    """DJ-20261125-0042: the day's counter row is incremented by an UPDATE, which row-locks it till commit."""
    key = f"{prefix}-{timezone.localdate(now or timezone.now()):%Y%m%d}"
    DailySequence.objects.bulk_create([DailySequence(key=key, value=0)], ignore_conflicts=True)
    DailySequence.objects.filter(key=key).update(value=F("value") + 1)
    value = DailySequence.objects.filter(key=key).values_list("value", flat=True).get()
    return f"{key}-{value:04d}"


# -------------------------------------------------------------------------------------------- messages


def _sms(phone: str, text: str) -> None:
    if phone and pii.MOBILE_RE.match(phone):  # a landline cannot take a message; the hotline calls back
        send_sms(phone, f"【共治】{text}")


def _when(booking: Booking) -> str:
    return f"{booking.day.month}月{booking.day.day}日 {booking.window_label}"


def rating_url(booking: Booking) -> str:
    """The rating link for the SMS (absolute when the deployment sets GONGZHI_SITE_URL)."""
    return settings.GONGZHI_SITE_URL.rstrip("/") + reverse("bulkywaste:rate", args=[booking.rating_token])


# --------------------------------------------------------------------------------------------- booking


def _check_contact(name: str, phone: str) -> tuple[str, str]:
    name = (name or "").strip()
    if not name:
        raise BookingError("联系人不能为空", "contact name is required", "contact_name")
    try:
        phone = pii.normalize_phone(phone)
    except pii.PiiError as e:
        raise BookingError(f"联系电话：{e.zh}", f"contact phone: {e.en}", "contact_phone") from None
    return name[:50], phone


def _can_book_here(actor, address: Address, on_behalf_of, channel: str) -> None:
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


def _store_photos(booking: Booking, photos, actor) -> list[int]:
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
    actor,
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
    now: datetime | None = None,
) -> Booking:
    """Book a pickup on the first preferred day with room, else the next free day (never an overbooked one).

    `exact_day` refuses instead of moving (used when a resident picked a day from the list and we must not
    surprise them — the page then offers the next free day). A retried call with the same idempotency key
    returns the first booking.
    """
    if channel not in Channel.values or channel == Channel.DISPATCHER:
        raise BookingError("渠道无效", "unknown channel", "channel")
    key = (idempotency_key or "")[:64]
    if key and actor is not None:
        existing = Booking.objects.filter(booked_by=actor, idempotency_key=key).first()
        if existing is not None:
            return existing
    _can_book_here(actor, address, on_behalf_of, channel)
    check_items(items)
    contact_name, contact_phone = _check_contact(contact_name, contact_phone)
    start, end = _window_times(window, window_start, window_end)
    area = area_for(address.path)
    volume, weight, pieces = _load(items)
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
    _ensure_capacity_rows(area, candidates)
    try:
        with transaction.atomic():  # savepoint: a lost idempotency race rolls back the capacity taken too
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
            fee, mode = fee_for(items, day)
            booking = Booking.objects.create(
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
    except IntegrityError:
        existing = Booking.objects.filter(booked_by=actor, idempotency_key=key).first() if key else None
        if existing is None:
            raise
        return existing
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
        },
    )
    _sms(
        contact_phone,
        f"大件垃圾上门回收已预约，编号{booking.reference}，上门时间{_when(booking)}。"
        f"如需修改或取消，请在{cutoff(area, day):%m月%d日%H:%M}前办理。咨询电话{settings.GONGZHI_HOTLINE}",
    )
    _replan_if_planned(area, day, now)
    return booking


@transaction.atomic
def stash_photo(data: bytes, name: str, *, actor) -> Upload:
    """A photo uploaded on the resident's photo page, before the booking exists (attached by `book`)."""
    require(actor, "bulkywaste.book_own", None)
    try:
        upload = store_upload(data, name=name, kind=Upload.Kind.PHOTO, user=actor)
    except UploadError as e:
        raise BookingError(f"照片：{e.zh}", f"photo: {e.en}", "photo") from None
    audit.record("bulky.stash_photo", upload, actor=actor, changes={"size": upload.size})
    return upload


@transaction.atomic
def reveal_contact(booking: Booking, *, actor) -> dict:
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
    actor,
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
    check_items(items)
    contact_name, contact_phone = _check_contact(contact_name, contact_phone)
    now = now or timezone.now()
    local = timezone.localtime(now)
    start = local.time().replace(second=0, microsecond=0)
    end = window_end or time(20, 0)
    if end <= start:
        raise BookingError("加急时段应晚于当前时间", "the urgent window must end after now", "window_end")
    volume, weight, pieces = _load(items)
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
    _sms(contact_phone, f"大件垃圾加急收运已安排，编号{booking.reference}，今天{booking.window_label}上门。")
    _queue_plan(area, booking.day)
    return booking


def _check_open(booking: Booking, actor) -> None:
    if booking.status not in Booking.OPEN:
        require(actor, "bulkywaste.view_booking", booking)
        raise BookingError(
            f"该预约{booking.get_status_display()}，不能再修改或取消",
            "this booking can no longer be changed or cancelled",
            None,
        )


def _check_cutoff(booking: Booking, actor, now: datetime) -> None:
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
    actor,
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
    booking = Booking.objects.select_for_update().select_related("area").get(pk=booking.pk)
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
        booking.window_start, booking.window_end = _window_times(window, window_start, window_end)
    if contact_name is not None or contact_phone is not None:
        booking.contact_name, booking.contact_phone = _check_contact(
            contact_name if contact_name is not None else booking.contact_name,
            contact_phone if contact_phone is not None else booking.contact_phone,
        )
    if notes is not None:
        booking.notes = notes.strip()[:300]
    if items is not None:
        check_items(items)
        booking.volume_litres, booking.weight_kg, booking.item_count = _load(items)
    new_day = day or booking.day
    if new_day != old_day and new_day not in serving_days(booking.area, now):
        raise BookingError(f"{new_day:%Y-%m-%d} 不可预约", f"{new_day:%Y-%m-%d} cannot be booked", "day")
    if booking.capacity_taken and (new_day != old_day or booking.volume_litres != old_volume):
        _ensure_capacity_rows(booking.area, [new_day])
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
    _sms(booking.contact_phone, f"您的大件垃圾预约{booking.reference}已修改，上门时间{_when(booking)}。")
    _replan_if_planned(booking.area, old_day, now)
    if new_day != old_day:
        _replan_if_planned(booking.area, new_day, now)
    return booking


@transaction.atomic
def cancel_booking(
    booking: Booking, *, actor, reason: str = "", on_behalf_of=None, channel: str = "", now=None
) -> Booking:
    """Cancel until the cut-off; the day's capacity is given back and a planned day is re-planned."""
    booking = Booking.objects.select_for_update().select_related("area").get(pk=booking.pk)
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
    _sms(booking.contact_phone, f"您的大件垃圾预约{booking.reference}已取消。")
    _replan_if_planned(booking.area, booking.day, now)
    return booking


# -------------------------------------------------------------------------------------------- planning


def _queue_plan(area: ServiceArea, day: date, now: datetime | None = None) -> DayPlan:
    """Queue a (re-)plan; `now` is the moment of the change that asked for it (the plan starts no earlier)."""
    plan, _ = DayPlan.objects.get_or_create(area=area, day=day)
    DayPlan.objects.filter(pk=plan.pk).update(status=DayPlan.Status.QUEUED, requested_at=timezone.now())
    as_of = now.isoformat() if now is not None else None

    def enqueue():
        from gongzhi.bulkywaste.tasks import plan_day_task

        plan_day_task.enqueue(plan.pk, as_of)

    transaction.on_commit(enqueue)
    return plan


def _replan_if_planned(area: ServiceArea, day: date, now: datetime) -> None:
    """Automatic re-plan when bookings change on a day already planned and not yet under way."""
    if DayPlan.objects.filter(area=area, day=day).exists() and day >= timezone.localdate(now):
        _queue_plan(area, day, now)


@transaction.atomic
def request_plan(area: ServiceArea, day: date, *, actor) -> DayPlan:
    """The dispatcher's 'plan / re-plan' button: solving runs as a background task."""
    require(actor, "bulkywaste.dispatch", area)
    plan = _queue_plan(area, day)
    audit.record("bulky.request_plan", plan, actor=actor, changes={"area": area.pk, "day": day})
    return plan


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _at(day: date, seconds: float) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(0))) + timedelta(seconds=round(seconds))


def travel_matrix() -> tuple[routing.TravelMatrix, str]:
    url = getattr(settings, "GONGZHI_OSRM_URL", "")
    if url:
        return routing.OsrmMatrix(url), "osrm"
    return routing.StraightLineMatrix(), "straight_line"


@dataclass
class _Problem:
    stops: list[routing.Stop] = field(default_factory=list)
    vehicles: list[routing.VehicleSpec] = field(default_factory=list)
    bookings: dict[int, Booking] = field(default_factory=dict)


def _problem(plan: DayPlan, now: datetime) -> _Problem:
    area, day = plan.area, plan.day
    # Subqueries, not exclude() across the relation: exclude(rounds__day=…, rounds__status=…) would also drop
    # a vehicle that has a completed round on ANOTHER day and a planned round on this one.
    under_way = Round.objects.filter(day=day, status__in=[Round.Status.STARTED, Round.Status.COMPLETED])
    bookings = list(
        Booking.objects.filter(area=area, day=day, status__in=Booking.OPEN)
        .exclude(pk__in=RoundStop.objects.filter(round__in=under_way).values("booking_id"))
        .order_by("id")
    )
    vehicles = list(
        Vehicle.objects.filter(area=area, active=True).exclude(pk__in=under_way.values("vehicle_id")).order_by("id")
    )
    today = timezone.localdate(now)
    earliest = _seconds(timezone.localtime(now).time()) if day == today else 0
    p = _Problem(bookings={b.pk: b for b in bookings})
    for v in vehicles:
        start = max(_seconds(v.shift_start), earliest)
        end = max(_seconds(v.shift_end), start)
        p.vehicles.append(
            routing.VehicleSpec(
                id=str(v.pk),
                depot=routing.Location(float(v.depot_latitude), float(v.depot_longitude)),
                capacity=(v.volume_litres, v.weight_kg),
                shift_start=start,
                shift_end=end,
            )
        )
    for b in bookings:
        tw_start = max(_seconds(b.window_start), earliest)
        tw_end = max(_seconds(b.window_end), tw_start)
        p.stops.append(
            routing.Stop(
                id=f"B{b.pk}",
                location=routing.Location(float(b.latitude), float(b.longitude)),
                demand=(b.volume_litres, int(math.ceil(b.weight_kg))),
                tw_start=tw_start,
                tw_end=tw_end,
                service_seconds=area.service_seconds_base + area.service_seconds_per_item * b.item_count,
            )
        )
    return p


def _parse_stop_id(stop_id: str) -> tuple[int, int]:
    head, _, part = stop_id.partition("#")
    return int(head[1:]), int(part or 0)


def plan_day(plan_id: int, *, iterations: int | None = None, seed: int = 0, now: datetime | None = None) -> DayPlan:
    """Solve the day's rounds (called by the background task) and store them.

    Reads and solves outside any transaction (the solver may take seconds), then writes in one transaction
    only if nobody planned the day meanwhile (the plan's version is bumped by a conditional UPDATE).
    Rounds already started are kept as they are; their vehicles and bookings are left out.
    """
    now = now or timezone.now()
    plan = DayPlan.objects.select_related("area").get(pk=plan_id)
    version = plan.version
    problem = _problem(plan, now)
    iterations = iterations or plan.area.solver_iterations
    matrix, source = travel_matrix()
    stops = routing.split_oversized(problem.stops, problem.vehicles)
    try:
        result = routing.solve(stops, problem.vehicles, matrix, max_iterations=iterations, seed=seed)
    except (OSError, ValueError):
        if source != "osrm":
            raise
        matrix, source = routing.StraightLineMatrix(), "straight_line (osrm failed)"
        result = routing.solve(stops, problem.vehicles, matrix, max_iterations=iterations, seed=seed)
    parts = defaultdict(int)
    for s in stops:
        bid, part = _parse_stop_id(s.id)
        parts[bid] = max(parts[bid], part)
    demand = {s.id: s.demand for s in stops}
    with transaction.atomic():
        if DayPlan.objects.filter(pk=plan.pk, version=version).update(version=F("version") + 1) != 1:
            return DayPlan.objects.get(pk=plan.pk)  # someone else planned it meanwhile; theirs stands
        RoundStop.objects.filter(round__plan=plan, round__status=Round.Status.PLANNED).delete()
        Round.objects.filter(plan=plan, status=Round.Status.PLANNED).delete()
        vehicles = {str(v.pk): v for v in Vehicle.objects.filter(pk__in=[int(v.id) for v in problem.vehicles])}
        eta: dict[int, datetime] = {}
        new_stops = []
        for route in result.routes:
            rnd = Round.objects.create(
                plan=plan,
                vehicle=vehicles[route.vehicle_id],
                day=plan.day,
                start_at=_at(plan.day, route.start_time),
                end_at=_at(plan.day, route.end_time),
                distance_m=int(round(route.distance)),
                volume_litres=route.load[0],
                weight_kg=route.load[1],
            )
            for order, visit in enumerate(route.stops, 1):
                bid, part = _parse_stop_id(visit.stop_id)
                at = _at(plan.day, visit.start)
                eta[bid] = min(eta.get(bid, at), at)
                new_stops.append(
                    RoundStop(
                        round=rnd,
                        booking_id=bid,
                        part=part,
                        parts=parts[bid] or 1,
                        order=order,
                        eta=at,
                        departure=_at(plan.day, visit.departure),
                        volume_litres=demand[visit.stop_id][0],
                        weight_kg=demand[visit.stop_id][1],
                    )
                )
        RoundStop.objects.bulk_create(new_stops)
        unassigned = []
        for u in result.unassigned:
            bid, part = _parse_stop_id(u.stop_id)
            b = problem.bookings[bid]
            unassigned.append(
                {
                    "booking": bid,
                    "reference": b.reference,
                    "part": part,
                    "reason": u.reason.value,
                    "reason_zh": u.reason.label_zh,
                    "reason_en": u.reason.label_en,
                }
            )
        partly = {u["booking"] for u in unassigned}
        for bid, b in problem.bookings.items():
            new_eta = eta.get(bid) if bid not in partly else None
            status = Booking.Status.PLANNED if new_eta else Booking.Status.BOOKED
            notify = new_eta is not None and (
                b.planned_eta is None or abs(new_eta - b.planned_eta) >= ETA_CHANGE_NOTICE
            )
            Booking.objects.filter(pk=bid, status__in=Booking.OPEN).update(status=status, planned_eta=new_eta)
            if notify:
                _sms(
                    b.contact_phone,
                    f"您的大件垃圾预约{b.reference}已排班：{b.day.month}月{b.day.day}日，"
                    f"预计{timezone.localtime(new_eta):%H:%M}前后上门（时段{b.window_label}）。",
                )
        DayPlan.objects.filter(pk=plan.pk).update(
            status=DayPlan.Status.DONE,
            planned_at=timezone.now(),
            matrix=source,
            iterations=iterations,
            seed=seed,
            unassigned=unassigned,
            error="",
        )
        audit.record(
            "bulky.plan",
            plan,
            actor=None,
            changes={
                "version": version + 1,
                "rounds": len(result.routes),
                "stops": len(new_stops),
                "unassigned": [(u["reference"], u["part"], u["reason"]) for u in unassigned],
                "distance_m": int(result.total_distance),
                "matrix": source,
                "iterations": iterations,
                "seed": seed,
            },
        )
    return DayPlan.objects.get(pk=plan.pk)


# ----------------------------------------------------------------------------------------------- crews


@transaction.atomic
def open_stop(stop: RoundStop, *, actor) -> dict:
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
def start_round(rnd: Round, *, actor, now=None) -> Round:
    require(actor, "bulkywaste.work_round", rnd)
    if Round.objects.filter(pk=rnd.pk, status=Round.Status.PLANNED).update(
        status=Round.Status.STARTED, started_at=now or timezone.now()
    ):
        audit.record("bulky.start_round", rnd, actor=actor)
    rnd.refresh_from_db()
    return rnd


@transaction.atomic
def mark_item(
    item: BookingItem,
    *,
    actor,
    outcome: str,
    weight_kg: Decimal | None = None,
    photo: tuple[bytes, str] | None = None,
    now: datetime | None = None,
) -> BookingItem:
    """Mark one item collected / not found / refused, with the weighed kilograms and a photo."""
    now = now or timezone.now()
    booking = Booking.objects.select_for_update().get(pk=item.booking_id)
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
    if outcome == BookingItem.Outcome.COLLECTED:
        if weight_kg is None or weight_kg <= 0:
            raise BookingError("已收运的物品须填写重量", "a collected item needs its weight", "weight_kg")
    elif weight_kg is not None and weight_kg < 0:
        raise BookingError("重量不能为负数", "weight must not be negative", "weight_kg")
    item = BookingItem.objects.select_for_update().get(pk=item.pk)
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
    label = Booking.Status(status).label
    _sms(
        booking.contact_phone,
        f"您的大件垃圾预约{booking.reference}：{label}。请为本次服务评分：{rating_url(booking)}",
    )
    for rnd in Round.objects.filter(stops__booking=booking).exclude(status=Round.Status.COMPLETED).distinct():
        open_left = Booking.objects.filter(stops__round=rnd, status__in=Booking.OPEN).exists()
        if not open_left:
            _complete(rnd, now)


@transaction.atomic
def complete_round(rnd: Round, *, actor, now=None) -> Round:
    """The crew ends the round; its cost lines are written to the ledger."""
    require(actor, "bulkywaste.work_round", rnd)
    _complete(rnd, now or timezone.now(), actor=actor)
    rnd.refresh_from_db()
    return rnd


def _rates(day: date) -> CostRates:
    return CostRates.objects.filter(effective_from__lte=day).first() or CostRates(
        vehicle_km=Decimal(0), crew_hour=Decimal(0), disposal_kg=Decimal(0), effective_from=day
    )


def _split(total: Decimal, n: int, quantum: Decimal) -> list[Decimal]:
    """Share `total` over n stops in steps of `quantum`; the last takes the remainder, so the sum is exact."""
    each = (total / n).quantize(quantum, rounding=ROUND_HALF_UP)
    return [each] * (n - 1) + [total - each * (n - 1)]


def _complete(rnd: Round, now: datetime, actor=None) -> None:
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
        write_ledger(rnd, stops)
    audit.record("bulky.complete_round", rnd, actor=actor, changes={"stops": len(stops)})


def write_ledger(rnd: Round, stops: list[RoundStop]) -> None:
    """台账: the round's vehicle-km and crew hours shared equally over its stops; disposal by weight collected.

    Vehicle-km and crew hours use the planned round (distance, start to end), which does not depend on when
    the crew pressed the buttons; crew hours count every crew member of the vehicle (at least one).
    """
    q4, q2 = Decimal("0.0001"), Decimal("0.01")
    rates = _rates(rnd.day)
    n = len(stops)
    km = (Decimal(rnd.distance_m) / 1000).quantize(q4)
    hours = (Decimal((rnd.end_at - rnd.start_at).total_seconds()) / 3600).quantize(q4)
    crew = max(1, rnd.vehicle.crew.count())
    crew_hours = hours * crew
    km_q, km_a = _split(km, n, q4), _split((km * rates.vehicle_km).quantize(q2, ROUND_HALF_UP), n, q2)
    ch_q = _split(crew_hours, n, q4)
    ch_a = _split((crew_hours * rates.crew_hour).quantize(q2, ROUND_HALF_UP), n, q2)
    booking_ids = [s.booking_id for s in stops]
    collected: dict[int, Decimal] = defaultdict(Decimal)
    for bid, w in BookingItem.objects.filter(
        booking_id__in=booking_ids, outcome=BookingItem.Outcome.COLLECTED
    ).values_list("booking_id", "collected_weight_kg"):
        collected[bid] += w or 0
    planned: dict[int, int] = defaultdict(int)
    for bid, w in RoundStop.objects.filter(booking_id__in=booking_ids).values_list("booking_id", "weight_kg"):
        planned[bid] += w
    rows = []
    area = rnd.plan.area
    for i, s in enumerate(stops):
        share = Decimal(s.weight_kg) / planned[s.booking_id] if planned[s.booking_id] else Decimal(1) / max(1, s.parts)
        kg = (collected[s.booking_id] * share).quantize(q4)
        common = {
            "round": rnd,
            "stop": s,
            "booking_id": s.booking_id,
            "vehicle": rnd.vehicle,
            "area": area,
            "day": rnd.day,
        }
        rows += [
            CostEntry(
                kind=CostEntry.Kind.VEHICLE_KM, quantity=km_q[i], rate=rates.vehicle_km, amount=km_a[i], **common
            ),
            CostEntry(kind=CostEntry.Kind.CREW_HOURS, quantity=ch_q[i], rate=rates.crew_hour, amount=ch_a[i], **common),
            CostEntry(
                kind=CostEntry.Kind.DISPOSAL,
                quantity=kg,
                rate=rates.disposal_kg,
                amount=(kg * rates.disposal_kg).quantize(q2, ROUND_HALF_UP),
                **common,
            ),
        ]
    CostEntry.objects.bulk_create(rows)


# ------------------------------------------------------------------------------------- ratings, reminders


class RatingError(BookingError):
    pass


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


def send_reminders(*, today: date | None = None) -> int:
    """SMS the contacts of tomorrow's bookings, once each (the flag is set by a conditional UPDATE)."""
    today = today or timezone.localdate()
    tomorrow = today + timedelta(days=1)
    sent = 0
    for booking in Booking.objects.filter(day=tomorrow, status__in=Booking.OPEN, reminder_sent_at__isnull=True):
        with transaction.atomic():
            if Booking.objects.filter(pk=booking.pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=timezone.now()
            ):
                eta = f"，预计{timezone.localtime(booking.planned_eta):%H:%M}前后" if booking.planned_eta else ""
                _sms(
                    booking.contact_phone,
                    f"提醒：明天{_when(booking)}{eta}上门收运大件垃圾（编号{booking.reference}），"
                    f"请将物品放在约定位置。",
                )
                audit.record("bulky.remind", booking, actor=None, changes={"day": booking.day})
                sent += 1
    return sent


# ------------------------------------------------------------------------------------- illegal dumping


@transaction.atomic
def report_dumping(
    *,
    actor,
    description: str,
    node: AreaNode | None = None,
    address: str = "",
    latitude=None,
    longitude=None,
    photo: tuple[bytes, str] | None = None,
    reporter_phone: str = "",
) -> DumpingReport:
    """乱丢大件垃圾: anyone may report, signed in or not; the community's queue takes it."""
    description = (description or "").strip()
    if not description:
        raise BookingError("请描述看到的情况", "describe what you saw", "description")
    if not (address or "").strip() and (latitude in (None, "") or longitude in (None, "")):
        raise BookingError("请填写地点或坐标", "give the place or its coordinates", "address")
    lat = lon = None
    if latitude not in (None, "") and longitude not in (None, ""):
        lat, lon = _parse_coords(latitude, longitude)
    if node is None:
        area = ServiceArea.objects.filter(active=True).order_by("path").first()
        if area is None:
            raise BookingError("尚未设置收运片区", "no service area is configured", "area")
    else:
        area = area_for(node.path)
    phone = ""
    if reporter_phone:
        try:
            phone = pii.normalize_phone(reporter_phone)
        except pii.PiiError as e:
            raise BookingError(f"联系电话：{e.zh}", f"phone: {e.en}", "reporter_phone") from None
    path = node.path if node is not None else area.path
    upload = None
    if photo is not None:
        try:
            upload = store_upload(photo[0], name=photo[1], kind=Upload.Kind.PHOTO, user=actor, scope_path=path)
        except UploadError as e:
            raise BookingError(f"照片：{e.zh}", f"photo: {e.en}", "photo") from None
    report = DumpingReport.objects.create(
        reference=next_reference("JB"),
        description=description[:1000],
        address=(address or "").strip()[:200],
        latitude=lat,
        longitude=lon,
        area=area,
        path=path,
        photo=upload,
        reporter=actor if getattr(actor, "pk", None) else None,
        reporter_phone=phone,
    )
    audit.record(
        "bulky.report_dumping",
        report,
        actor=actor if getattr(actor, "pk", None) else None,
        changes={
            "reference": report.reference,
            "photo": upload.pk if upload else None,
            "phone": audit.PERSONAL if phone else "",
        },
    )
    # The service desk (if installed) files it as a request of its category, in this same transaction.
    dumping_reported.send(sender=DumpingReport, report=report, node=node or area.node)
    return report


@transaction.atomic
def assign_dumping(report: DumpingReport, *, actor, assignee) -> DumpingReport:
    require(actor, "bulkywaste.handle_dumping", report)
    if report.status == DumpingReport.Status.RESOLVED:
        raise BookingError("该举报已处理完毕", "this report is resolved", None)
    report.status, report.assigned_to = DumpingReport.Status.ASSIGNED, assignee
    report.save(update_fields=["status", "assigned_to", "updated_at"])
    audit.record("bulky.assign_dumping", report, actor=actor, changes={"assigned_to": assignee.pk})
    return report


@transaction.atomic
def resolve_dumping(report: DumpingReport, *, actor, resolution: str) -> DumpingReport:
    require(actor, "bulkywaste.handle_dumping", report)
    resolution = (resolution or "").strip()
    if not resolution:
        raise BookingError("请填写处理结果", "describe how it was resolved", "resolution")
    report.status, report.resolution = DumpingReport.Status.RESOLVED, resolution[:500]
    report.save(update_fields=["status", "resolution", "updated_at"])
    audit.record("bulky.resolve_dumping", report, actor=actor, changes={"resolution": resolution[:500]})
    return report


# ----------------------------------------------------------------------------------------- configuration


@transaction.atomic
def save_config(obj, *, actor) -> None:
    """Catalogue entries, fee schedules, cost rates, service areas and vehicles (admin and demo)."""
    perm = "bulkywaste.dispatch" if isinstance(obj, Vehicle) else "bulkywaste.configure"
    scope = obj if isinstance(obj, Vehicle | ServiceArea) else None
    if actor is not None and not actor.has_perm(perm, scope):
        raise PermissionDenied(perm)
    created = obj.pk is None
    obj.full_clean(exclude=["path"] if isinstance(obj, ServiceArea) else None)
    obj.save()
    audit.record(f"bulky.{'create' if created else 'change'}_{obj._meta.model_name}", obj, actor=actor)
