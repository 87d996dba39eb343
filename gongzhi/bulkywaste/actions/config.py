"""Configuration: catalogue entries, fee schedules, cost rates, service areas and vehicles (admin and demo)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Model, Sum
from django.utils import timezone

from gongzhi.bulkywaste.models import Booking, DayCapacity, ServiceArea, UnloadSite, Vehicle
from gongzhi.core import audit

if TYPE_CHECKING:
    from gongzhi.core.models import User


@transaction.atomic
def save_config(obj: Model, *, actor: User | None, today: date | None = None) -> None:
    """Catalogue entries, fee schedules, cost rates, service areas, vehicles and unloading sites (admin and demo).

    A service area's new daily limits (stops, volume) apply to every day from `today` on, those already booked
    included: what is left of each such day is counted again from its bookings (`_recount_days`)."""
    perm = "bulkywaste.dispatch" if isinstance(obj, Vehicle | UnloadSite) else "bulkywaste.configure"
    scope = obj.area if isinstance(obj, UnloadSite) else obj if isinstance(obj, Vehicle | ServiceArea) else None
    if actor is not None and not actor.has_perm(perm, scope):
        raise PermissionDenied(perm)
    created = obj.pk is None
    obj.full_clean(exclude=["path"] if isinstance(obj, ServiceArea) else None)
    limits = None
    if isinstance(obj, ServiceArea) and not created:
        limits = ServiceArea.objects.filter(pk=obj.pk).values_list("daily_stops", "daily_volume_litres").first()
    obj.save()
    changes = {}
    if isinstance(obj, ServiceArea) and limits is not None and limits != (obj.daily_stops, obj.daily_volume_litres):
        changes = {
            "daily_stops": [limits[0], obj.daily_stops],
            "daily_volume_litres": [limits[1], obj.daily_volume_litres],
            "days_recounted": _recount_days(obj, today or timezone.localdate()),
        }
    audit.record(f"bulky.{'create' if created else 'change'}_{obj._meta.model_name}", obj, actor=actor, changes=changes)


def _recount_days(area: ServiceArea, today: date) -> int:
    """What is left of each of the area's days from `today` on, counted again from its bookings under the new
    limits; a day already booked beyond them keeps its bookings and takes no more (never below zero). The rows are
    locked first, so a booking racing this either took from the old row before (and is counted here) or takes from
    the new one after. Returns how many days changed."""
    rows = list(DayCapacity.objects.select_for_update().filter(area=area, day__gte=today).order_by("day"))
    if not rows:
        return 0
    held = {
        r["day"]: (r["stops"], r["volume"] or 0)
        for r in Booking.objects.filter(area=area, day__in=[r.day for r in rows], capacity_taken=True)
        .exclude(status=Booking.Status.CANCELLED)
        .order_by()
        .values("day")
        .annotate(stops=Count("pk"), volume=Sum("volume_litres"))
    }
    changed = 0
    for row in rows:
        stops, volume = held.get(row.day, (0, 0))
        left = (max(0, area.daily_stops - stops), max(0, area.daily_volume_litres - volume))
        if left != (row.stops_left, row.volume_left):
            DayCapacity.objects.filter(pk=row.pk).update(stops_left=left[0], volume_left=left[1])
            changed += 1
    return changed
