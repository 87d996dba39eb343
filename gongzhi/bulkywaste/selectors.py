"""Reads for pages, API and exports: scoped, keyset-paged lists and the figures (aggregated in SQL)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from gongzhi.bulkywaste.inputs import BookingError, ItemSpec
from gongzhi.bulkywaste.models import (
    Booking,
    BookingItem,
    CatalogueEntry,
    CostEntry,
    DayCapacity,
    DumpingReport,
    FeeSchedule,
    ServiceArea,
)
from gongzhi.core import pii
from gongzhi.core.calendar import calendar_from
from gongzhi.core.models import Reader
from gongzhi.core.roles import roles_with
from gongzhi.core.rules import assignments, holds, scope_q
from gongzhi.core.workdays import Calendar
from gongzhi.registry.models import AreaNode, Ownership, Person, Residence, Unit

PAGE = 50


def parse_day(value: object, default: date | None = None) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return default


def _scoped(qs: QuerySet, user: Reader, capability: str, field: str = "path") -> QuerySet:
    """Rows under the scopes where the user holds `capability` (a capability of `core.roles`, never a role set)."""
    q = scope_q(user, roles_with(capability), field)
    return qs if q is None else qs.filter(q)


def areas_for(user: Reader, capability: str = "bulkywaste.dispatch") -> list[ServiceArea]:
    """Service areas the user works in: inside one of their scopes, or containing one (a community worker)."""
    roles, held = roles_with(capability), holds(capability)
    areas = list(ServiceArea.objects.filter(active=True).select_related("node"))
    return [a for a in areas if held.test(user, a) or _contains_scope(user, roles, a)]


def _contains_scope(user: Reader, roles: Collection[str], area: ServiceArea) -> bool:
    return any(r in roles and p.startswith(area.path) for r, p in assignments(user))


def own_bookings(user: Reader, after: int | None = None) -> list[Booking]:
    q = Q(booked_by=user)
    if user.person_id:
        q |= Q(on_behalf_of_id=user.person_id)
    qs = Booking.objects.filter(q).order_by("-id")
    if after:
        qs = qs.filter(id__lt=after)
    return list(qs[:PAGE])


def staff_bookings(
    user: Reader, *, day: date | None = None, status: str = "", after: int | None = None
) -> list[Booking]:
    qs = _scoped(Booking.objects.select_related("area"), user, "bulkywaste.book_for").order_by("-id")
    if day:
        qs = qs.filter(day=day)
    if status in Booking.Status.values:
        qs = qs.filter(status=status)
    if after:
        qs = qs.filter(id__lt=after)
    return list(qs[:PAGE])


def dumping_queue(user: Reader, *, status: str = "", after: int | None = None) -> list[DumpingReport]:
    qs = _scoped(DumpingReport.objects.select_related("area", "assigned_to"), user, "bulkywaste.dumping").order_by(
        "-id"
    )
    if status in DumpingReport.Status.values:
        qs = qs.filter(status=status)
    if after:
        qs = qs.filter(id__lt=after)
    return list(qs[:PAGE])


def contact_for(user: Reader, booking: Booking) -> tuple[str, str]:
    """(name, phone) as this user sees them on a page: in full for the one who booked it (they typed it) and
    the resident it was booked for; masked for everyone else, who reveal it with a logged action."""
    if booking.booked_by_id == user.pk or (user.person_id and booking.on_behalf_of_id == user.person_id):
        return booking.contact_name, booking.contact_phone
    return pii.mask_name(booking.contact_name), pii.mask_phone(booking.contact_phone)


def people_by_phone(user: Reader, phone: str) -> list[Person]:
    return list(
        _scoped(Person.objects.filter(phone=phone, erased_at__isnull=True), user, "bulkywaste.book_for", "home_path")[
            :20
        ]
    )


def catalogue() -> list[CatalogueEntry]:
    return list(CatalogueEntry.objects.filter(active=True))


# ------------------------------------------------------------------------------ service areas, days, capacity


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


def first_free_day(
    area: ServiceArea, volume: int, preferred: Sequence[date] = (), now: datetime | None = None
) -> date | None:
    """What a booking would be offered now: the first preferred day that fits, else the next one that does."""
    rows = availability(area, volume=volume, now=now)
    fits = [r["day"] for r in rows if r["fits"]]
    for d in preferred:
        if d in fits:
            return d
    start = min(preferred) if preferred else None
    return next((d for d in fits if start is None or d >= start), None)


def fee_for(specs: Sequence[ItemSpec], day: date) -> tuple[Decimal, str]:
    """The fee of a booking under the schedule in force on its day (free when none is configured)."""
    schedule = FeeSchedule.objects.filter(effective_from__lte=day).first()
    if schedule is None or schedule.mode == FeeSchedule.Mode.FREE:
        return Decimal("0.00"), FeeSchedule.Mode.FREE
    if schedule.mode == FeeSchedule.Mode.FLAT:
        return schedule.flat_amount, schedule.mode
    total = sum(((s.entry.price if s.entry else schedule.default_item_price) * s.quantity for s in specs), Decimal(0))
    return total.quantize(Decimal("0.01")), schedule.mode


def search_units(q: str, limit: int = 30) -> list[Unit]:
    """Registry addresses inside an active service area, by compound name, then building and unit:
    "油漆厂 1号楼 101" — the first word names the compound (小区/楼院), each further word a building, an entrance or
    the unit number. Addresses only: nobody's name or phone."""
    words = q.split()
    if not words:
        return []
    paths = list(ServiceArea.objects.filter(active=True).values_list("path", flat=True))
    if not paths:
        return []
    inside = Q(pk__in=[])
    for p in paths:
        inside |= Q(path__startswith=p)
    compounds = list(
        AreaNode.objects.filter(inside, level__is_compound=True)
        .filter(Q(name__contains=words[0]) | Q(address__contains=words[0]))
        .values_list("path", flat=True)[:10]
    )
    if not compounds:
        return []
    under = Q(pk__in=[])
    for p in compounds:
        under |= Q(path__startswith=p)
    qs = Unit.objects.filter(under)
    for word in words[1:]:
        nodes = list(AreaNode.objects.filter(under, name__contains=word).values_list("path", flat=True)[:20])
        match = Q(number=word)
        for p in nodes:
            match |= Q(path__startswith=p)
        qs = qs.filter(match)
    return list(qs.select_related("compound__profile", "node").order_by("path", "number")[:limit])


def same_address_bookings(
    path: str, address: str, day: date, start: time, end: time, exclude: int | None = None
) -> list[Booking]:
    """Open bookings at the same address (same place in the registry and the same address text) whose window
    overlaps [start, end) on `day` — a second booking of the same half-day is flagged on every channel."""
    qs = Booking.objects.filter(
        path=path, address=address, day=day, status__in=Booking.OPEN, window_start__lt=end, window_end__gt=start
    )
    if exclude:
        qs = qs.exclude(pk=exclude)
    return list(qs.order_by("id")[:5])


def duplicate_ids(bookings: Sequence[Booking]) -> set[int]:
    """Of a day's bookings, those sharing an address and an overlapping window with another (for the tag)."""
    out: set[int] = set()
    by_place: dict[tuple, list[Booking]] = {}
    for b in bookings:
        if b.status in Booking.OPEN:
            by_place.setdefault((b.path, b.address, b.day), []).append(b)
    for group in by_place.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a.window_start < b.window_end and b.window_start < a.window_end:
                    out |= {a.pk, b.pk}
    return out


# ------------------------------------------------------------------------------------------------ figures


@dataclass
class Figures:
    start: date
    end: date
    by_area: list[dict] = field(default_factory=list)
    by_category: list[dict] = field(default_factory=list)
    by_day: list[dict] = field(default_factory=list)
    bookings_finished: int = 0
    on_time: int = 0
    collected_bookings: int = 0
    cost_total: Decimal = Decimal("0.00")
    cost_by_kind: dict[str, Decimal] = field(default_factory=dict)
    cost_by_area: list[dict] = field(default_factory=list)
    cost_by_vehicle: list[dict] = field(default_factory=list)
    costs: QuerySet | None = None

    def ledger_rounds(self) -> list[dict]:
        """台账 per round (for the export): kilometres, crew hours, kilograms and money, summed in SQL."""
        if self.costs is None:
            return []
        kinds = {"km": "vehicle_km", "hours": "crew_hours", "kg": "disposal"}
        return list(
            self.costs.values("round_id", "day", "vehicle__name", "area__name")
            .annotate(
                stops=Count("stop", distinct=True),
                **{k: Sum("quantity", filter=Q(kind=v)) for k, v in kinds.items()},
                total=Sum("amount"),
            )
            .order_by("day", "vehicle__name", "round_id")
        )

    @property
    def on_time_rate(self) -> Decimal | None:
        """Collected within the booked window, of the bookings finished (collected or partly)."""
        if not self.collected_bookings:
            return None
        return (Decimal(self.on_time) * 100 / self.collected_bookings).quantize(Decimal("0.1"))

    @property
    def cost_per_pickup(self) -> Decimal | None:
        if not self.collected_bookings:
            return None
        return (self.cost_total / self.collected_bookings).quantize(Decimal("0.01"))


def figures(user: Reader, start: date, end: date, area: ServiceArea | None = None) -> Figures:
    """Items, volume and weight collected by area, category and day; on-time rate; cost per pickup.

    Six aggregate queries whatever the volume of data; the scope filter is a path prefix on the booking.
    """
    f = Figures(start, end)
    items = BookingItem.objects.filter(
        outcome=BookingItem.Outcome.COLLECTED, booking__day__gte=start, booking__day__lte=end
    )
    bookings = Booking.objects.filter(day__gte=start, day__lte=end)
    costs = CostEntry.objects.filter(day__gte=start, day__lte=end)
    roles = roles_with("bulkywaste.figures")
    q_items, q_bookings = scope_q(user, roles, "booking__path"), scope_q(user, roles, "path")
    q_costs = scope_q(user, roles, "booking__path")
    if q_items is not None:
        items, bookings, costs = items.filter(q_items), bookings.filter(q_bookings), costs.filter(q_costs)
    if area is not None:
        items, bookings, costs = items.filter(booking__area=area), bookings.filter(area=area), costs.filter(area=area)
    volume = ExpressionWrapper(
        Coalesce(F("volume_m3"), Decimal("0")) * F("quantity"),
        output_field=DecimalField(max_digits=14, decimal_places=3),
    )
    sums = {
        "pieces": Coalesce(Sum("quantity"), 0),
        "volume_m3": Coalesce(Sum(volume), Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=3)),
        "weight_kg": Coalesce(
            Sum("collected_weight_kg"), Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2)
        ),
    }
    f.by_area = list(items.values("booking__area__name").annotate(**sums).order_by("booking__area__name"))
    labels = dict(BookingItem._meta.get_field("category").choices)
    f.by_category = [
        {**r, "label": labels.get(r["category"], r["category"])}
        for r in items.values("category").annotate(**sums).order_by("-weight_kg", "category")
    ]
    f.by_day = list(items.values("booking__day").annotate(**sums).order_by("booking__day"))
    agg = bookings.aggregate(
        finished=Count("id", filter=Q(status__in=Booking.FINISHED)),
        collected=Count("id", filter=Q(status__in=[Booking.Status.COLLECTED, Booking.Status.PARTLY])),
        on_time=Count("id", filter=Q(status__in=[Booking.Status.COLLECTED, Booking.Status.PARTLY], on_time=True)),
    )
    f.bookings_finished, f.collected_bookings, f.on_time = agg["finished"], agg["collected"], agg["on_time"]
    f.cost_by_kind = {
        r["kind"]: r["total"] for r in costs.values("kind").annotate(total=Sum("amount")).order_by("kind")
    }
    f.cost_total = sum(f.cost_by_kind.values(), Decimal("0.00"))
    f.cost_by_area = list(costs.values("area__name").annotate(total=Sum("amount")).order_by("area__name"))
    f.cost_by_vehicle = list(
        costs.values("vehicle__name")
        .annotate(total=Sum("amount"), rounds=Count("round", distinct=True), pickups=Count("booking", distinct=True))
        .order_by("vehicle__name")
    )
    f.costs = costs
    for rows in (f.by_area, f.by_category, f.by_day):
        for r in rows:  # as people write them: 569.24, not 569.2400000000000
            r["volume_m3"], r["weight_kg"] = tidy(r["volume_m3"], 3), tidy(r["weight_kg"], 2)
    f.cost_by_kind = {k: money(v) for k, v in f.cost_by_kind.items()}
    f.cost_total = money(f.cost_total)
    for rows in (f.cost_by_area, f.cost_by_vehicle):
        for r in rows:
            r["total"] = money(r["total"])
    return f


def tidy(value: Decimal | float | None, places: int) -> Decimal:
    """A measured quantity to its precision, without trailing zeros (12.5, 569.24, 3)."""
    d = Decimal(value or 0).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()


def money(value: Decimal | float | None) -> Decimal:
    """Money to the fen."""
    return Decimal(value or 0).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def bars(rows: list[dict], key: str, label: str, width: int = 360) -> list[dict]:
    """Rows with a bar length in pixels (for the server-rendered SVG charts)."""
    top = max((Decimal(r[key]) for r in rows), default=Decimal(0))
    return [
        {"label": str(r[label]), "value": r[key], "px": int(Decimal(r[key]) * width / top) if top else 0, "y": 28 * n}
        for n, r in enumerate(rows)
    ]
