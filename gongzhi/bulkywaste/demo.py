"""Bulky waste's part of the demo, through the actions (so capacity, references, audit and SMS are real).

- Three service areas (福华街, 大学路, 人和路 subdistricts) with vehicles, a crew and cost rates.
- Last week: a collected day in 福华街 (rounds completed, items weighed, ledger written, some ratings), so the
  figures page has something to show.
- The next collection day: residents' bookings in 福华街's old 楼院 (web and hotline), 正商蔚蓝港湾's property
  manager booking a compound-wide pickup that needs three trucks, and the day planned into rounds.
- Two illegal-dumping reports in the community's queue.
Idempotent: nothing is added when the service areas exist. The solver runs a small iteration count.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from gongzhi.bulkywaste import actions
from gongzhi.bulkywaste.actions import ItemSpec
from gongzhi.bulkywaste.models import (
    Booking,
    CatalogueEntry,
    CostRates,
    DayPlan,
    ServiceArea,
    UnloadSite,
    Vehicle,
)
from gongzhi.registry.models import Residence, Unit

ITERATIONS = 300  # enough for a good demo plan in a few seconds; production areas default to 2000
FUHUA = ("福华街街道",)
DAXUE = ("大学路街道",)
RENHE = ("人和路街道",)
DEPOTS = {
    "福华街街道": ("34.7300", "113.6250"),
    "大学路街道": ("34.7250", "113.6400"),
    "人和路街道": ("34.7350", "113.6300"),
}
TRANSFER = ("34.7200", "113.6150")  # the district's transfer station (中转站), WGS-84
COMMON = ["double_bed", "mattress", "three_seat_sofa", "armchair", "wardrobe", "bookcase", "dining_table", "desk",
          "office_chair", "kitchen_cabinet", "old_bicycle", "metal_rack", "wooden_board"]  # fmt: skip


def load(ctx) -> None:
    if ctx.district is None or ServiceArea.objects.exists():
        ctx.say("大件垃圾演示数据已存在，跳过 / bulky-waste demo already loaded, skipping")
        return
    rng = ctx.rng("bulkywaste")
    entries = {e.code: e for e in CatalogueEntry.objects.all()}
    with transaction.atomic():
        areas = _areas(ctx)
    past = _past_day(ctx, rng, areas["福华街街道"], entries)
    with transaction.atomic():
        day, count = _next_day(ctx, rng, areas, entries)
    for area in areas.values():
        plan, _ = DayPlan.objects.get_or_create(area=area, day=day)
        plan = actions.plan_day(plan.pk, iterations=ITERATIONS)
    with transaction.atomic():
        _dumping(ctx)
    ctx.say(
        f"大件垃圾：{count} 个预约排入 {day:%Y-%m-%d} 的路线，{past} 个上周已收运 / bulky waste: {count} bookings "
        f"planned for {day:%Y-%m-%d}, {past} collected last week"
    )
    ctx.notes.append(
        "大件垃圾：调度员 dispatcher 打开 /bulky/dispatch/，热线坐席 hotline_operator 打开 /bulky/hotline/，"
        "收运队员 crew 打开 /bulky/crew/?day=" + day.isoformat() + "，物业 property_manager 打开 /bulky/compound/ / "
        "bulky waste: dispatcher → /bulky/dispatch/, hotline_operator → /bulky/hotline/, crew → /bulky/crew/, "
        "property_manager → /bulky/compound/, figures → /bulky/figures/"
    )


def _areas(ctx) -> dict[str, ServiceArea]:
    out = {}
    for names, stops, litres, vehicles in (
        # A day's capacity is what the fleet carries in one trip each; trucks may unload and go again (sites below).
        (FUHUA, 120, 96_000, [(f"福华街{n}号车", 16_000, 4_000) for n in range(1, 7)]),
        (DAXUE, 40, 80_000, [(f"大学路{n}号车", 16_000, 4_000) for n in range(1, 6)]),
        (RENHE, 20, 20_000, [("人和路1号车", 10_000, 2_500), ("人和路2号车", 10_000, 2_500)]),
    ):  # fmt: skip
        node = ctx.node(*names)
        area = ServiceArea(
            node=node, name=node.name, daily_stops=stops, daily_volume_litres=litres, solver_iterations=ITERATIONS
        )
        actions.save_config(area, actor=None)
        lat, lon = DEPOTS[node.name]
        for n, (name, volume, weight) in enumerate(vehicles):
            v = Vehicle(
                area=area, name=name, plate=f"豫A·D{node.pk % 100:02d}{n + 1:02d}", volume_litres=volume, weight_kg=weight,
                depot_latitude=Decimal(lat), depot_longitude=Decimal(lon), shift_start=time(7, 30), shift_end=time(17, 30),
            )  # fmt: skip
            actions.save_config(v, actor=None)
        # A full truck unloads at its depot or at the district's transfer station (中转站) and goes out again.
        for site in (
            UnloadSite(area=area, name=f"{node.name}车场", kind=UnloadSite.Kind.DEPOT, latitude=Decimal(lat),
                       longitude=Decimal(lon), unload_minutes=15),
            UnloadSite(area=area, name="二七区大件垃圾中转站", kind=UnloadSite.Kind.TRANSFER,
                       latitude=Decimal(TRANSFER[0]), longitude=Decimal(TRANSFER[1]), unload_minutes=20),
        ):  # fmt: skip
            actions.save_config(site, actor=None)
        out[node.name] = area
    crew = ctx.user("crew")
    Vehicle.objects.get(name="福华街1号车").crew.add(crew)
    Vehicle.objects.get(name="大学路1号车").crew.add(crew)
    actions.save_config(
        CostRates(vehicle_km=Decimal("3.50"), crew_hour=Decimal("40.00"), disposal_kg=Decimal("0.2000"),
                  effective_from=ctx.today - timedelta(days=365)),
        actor=None,
    )  # fmt: skip
    return out


def _units(area: ServiceArea, rng: random.Random, n: int, exclude: str = "") -> list[Unit]:
    ids = list(
        Unit.objects.filter(path__startswith=area.path, resident_count__gt=0)
        .exclude(compound__name=exclude)
        .values_list("pk", flat=True)[:4000]
    )
    picked = rng.sample(ids, min(n, len(ids)))
    return list(Unit.objects.filter(pk__in=picked).select_related("compound__profile", "node").order_by("pk"))


def _items(rng: random.Random, entries) -> list[ItemSpec]:
    codes = rng.sample(COMMON, rng.choice((1, 1, 1, 2)))
    return [ItemSpec(entry=entries[c], quantity=rng.choice((1, 1, 1, 2))) for c in codes]


def _contact(unit: Unit) -> tuple:
    r = Residence.objects.filter(unit=unit, person__phone__startswith="1").select_related("person").first()
    return (r.person if r else None, r.person.name if r else "住户", r.person.phone if r else "13800000000")


def _book(ctx, unit, rng, entries, *, day, now, actor, channel) -> Booking:
    person, name, phone = _contact(unit)
    return actions.book(
        actor=actor, channel=channel, items=_items(rng, entries), address=actions.address_of_unit(unit),
        preferred_days=[day], window=rng.choice(("morning", "morning", "afternoon")), contact_name=name,
        contact_phone=phone, on_behalf_of=person if channel == "hotline" else None, now=now,
        notes=rng.choice(("", "", "放在单元门口", "老人在家，请敲门", "楼下车棚旁")),
        on_duplicate="continue",  # a caller may book the resident's home again: flagged, as on the pages
    )  # fmt: skip


def _past_day(ctx, rng, area: ServiceArea, entries) -> int:
    """A collected day last week: booked three days before, planned, every item marked, the ledger written."""
    day = ctx.today - timedelta(days=7)
    while not actions.calendar_for(day, day).is_workday(day):
        day -= timedelta(days=1)
    booked_at = timezone.make_aware(datetime.combine(day - timedelta(days=3), time(9, 0)))
    operator, crew = ctx.user("hotline_operator"), ctx.user("crew")
    with transaction.atomic():
        bookings = [
            _book(ctx, u, rng, entries, day=day, now=booked_at, actor=operator, channel="hotline")
            for u in _units(area, rng, 24)
        ]
    plan, _ = DayPlan.objects.get_or_create(area=area, day=day)
    actions.plan_day(plan.pk, iterations=ITERATIONS, now=booked_at)
    for v in Vehicle.objects.filter(area=area):
        v.crew.add(crew)  # last week the demo crew member rode along on every truck, so they could mark it
    with transaction.atomic():
        for b in Booking.objects.filter(pk__in=[b.pk for b in bookings], status="planned").prefetch_related("items"):
            eta = timezone.localtime(b.planned_eta)
            late = rng.random() < 0.1
            when = eta + timedelta(minutes=rng.randint(5, 25)) + (timedelta(hours=5) if late else timedelta())
            for item in b.items.all():
                outcome = rng.choices(("collected", "not_found", "refused"), (0.92, 0.04, 0.04))[0]
                kg = (Decimal(item.weight_kg or 20) * item.quantity * Decimal(rng.randint(80, 115)) / 100).quantize(
                    Decimal("0.1")
                )
                actions.mark_item(
                    item, actor=crew, outcome=outcome, weight_kg=kg if outcome == "collected" else None, now=when
                )
            b.refresh_from_db()
            if b.rating_token and rng.random() < 0.6:
                actions.rate_service(
                    b.rating_token, score=rng.choice((5, 5, 5, 4, 4, 3)), comment=rng.choice(("", "师傅很负责", "准时"))
                )
    for v in Vehicle.objects.filter(area=area).exclude(name="福华街1号车"):
        v.crew.remove(crew)
    return len(bookings)


def _next_day(ctx, rng, areas, entries):
    """The next collection day across the district: residents, hotline callers, and 正商蔚蓝港湾's compound."""
    now = timezone.now()
    fuhua = areas["福华街街道"]
    day = actions.serving_days(fuhua, now)[0]
    operator = ctx.user("hotline_operator")
    resident = ctx.user("resident")
    count = 0
    home = actions.units_of(resident.person)
    if home:  # the demo resident books for their own home in 油漆厂家属院 on the web
        _person, name, phone = _contact(home[0])
        actions.book(
            actor=resident, channel="web", items=[ItemSpec(entry=entries["three_seat_sofa"]), ItemSpec(entry=entries["mattress"])],
            address=actions.address_of_unit(home[0]), preferred_days=[day], window="morning",
            contact_name=resident.person.name, contact_phone=resident.person.phone, now=now,
        )  # fmt: skip
        count += 1
    for unit in _units(fuhua, rng, 70):
        _book(ctx, unit, rng, entries, day=day, now=now, actor=operator, channel="hotline")
        count += 1
    for unit in _units(areas["人和路街道"], rng, 8):
        _book(ctx, unit, rng, entries, day=day, now=now, actor=operator, channel="hotline")
        count += 1
    daxue = areas["大学路街道"]
    for unit in _units(daxue, rng, 8, exclude="正商蔚蓝港湾"):
        _book(ctx, unit, rng, entries, day=day, now=now, actor=operator, channel="hotline")
        count += 1
    weilan = ctx.compound("正商蔚蓝港湾")
    actions.book(
        actor=ctx.user("property_manager"), channel="property",
        items=[ItemSpec(entry=entries["wardrobe"], quantity=20), ItemSpec(entry=entries["three_seat_sofa"], quantity=8),
               ItemSpec(entry=entries["mattress"], quantity=6)],
        address=actions.address_of_compound(weilan), preferred_days=[actions.serving_days(daxue, now)[0]],
        window="morning", contact_name="蔚蓝港湾物业服务中心", contact_phone="0371-68810003",
        notes="小区集中清理楼道和地下室，物品已集中在3号楼北侧空地", now=now,
    )  # fmt: skip
    return day, count + 1


def _dumping(ctx) -> None:
    hanghai = ctx.compound("航海小区二院")
    actions.report_dumping(
        actor=None, description="院门口堆放旧沙发两个、床垫一个，已堆了三天", node=hanghai, address="航海中路66号院门口",
        latitude=hanghai.profile.latitude, longitude=hanghai.profile.longitude,
    )  # fmt: skip
    actions.report_dumping(
        actor=ctx.user("resident"), description="楼道里有人丢了旧衣柜，堵住了通道", node=ctx.compound("油漆厂家属院"),
        address="油漆厂家属院2号楼2单元楼道", reporter_phone=ctx.user("resident").phone or "",
    )  # fmt: skip
