"""Builders for bulky-waste tests: a service area on the mini district, vehicles, items, a fixed clock."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from gongzhi.bulkywaste import actions
from gongzhi.bulkywaste.actions import ItemSpec
from gongzhi.bulkywaste.models import CatalogueEntry, CostRates, ServiceArea, Vehicle
from testkit.world import make_user

# Monday 23 November 2026, 10:00 in Zhengzhou: Tue 24th is the first bookable day (before the 18:00 cut-off).
NOW = timezone.make_aware(datetime(2026, 11, 23, 10, 0))


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    return timezone.make_aware(datetime(2026, month, day, hour, minute))


def service_area(node, **kw) -> ServiceArea:
    defaults = {"name": node.name, "daily_stops": 10, "daily_volume_litres": 20_000, "solver_iterations": 200}
    defaults.update(kw)
    area = ServiceArea(node=node, **defaults)
    actions.save_config(area, actor=None)
    return area


def vehicle(
    area, name="1号车", *, volume=12_000, weight=3_000, crew=(), lat="34.7400", lon="113.6300", **kw
) -> Vehicle:
    v = Vehicle(
        area=area,
        name=name,
        plate=kw.pop("plate", "豫A·12345"),
        volume_litres=volume,
        weight_kg=weight,
        depot_latitude=Decimal(lat),
        depot_longitude=Decimal(lon),
        **kw,
    )
    actions.save_config(v, actor=None)
    for member in crew:
        v.crew.add(member)
    return v


def crew_member(username: str, node) -> object:
    return make_user(username, "crew", node)


def rates(day, km="3.50", hour="40.00", kg="0.2000") -> CostRates:
    r = CostRates(vehicle_km=Decimal(km), crew_hour=Decimal(hour), disposal_kg=Decimal(kg), effective_from=day)
    actions.save_config(r, actor=None)
    return r


def item(code: str, quantity: int = 1) -> ItemSpec:
    return ItemSpec(entry=CatalogueEntry.objects.get(code=code), quantity=quantity)


def book_for(unit, *, actor, items=None, now=None, **kw):
    """A hotline booking for the mini district's unit."""
    kw.setdefault("channel", "hotline")
    kw.setdefault("contact_name", "张建国")
    kw.setdefault("contact_phone", "13812345678")
    return actions.book(
        actor=actor,
        items=items or [item("three_seat_sofa")],
        address=actions.address_of_unit(unit),
        now=now or NOW,
        **kw,
    )
