"""Changes to platform-wide data (the working-day calendar), each checked, in a transaction, audited."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction

from gongzhi.core import audit
from gongzhi.core.models import CalendarOverride
from gongzhi.core.rules import has_role


def _require_district_admin(actor) -> None:
    if actor is not None and not has_role(actor, {"district_admin"}):
        raise PermissionDenied("core.change_calendaroverride")


@transaction.atomic
def set_calendar_override(*, actor, day: date, is_workday: bool, note: str = "") -> CalendarOverride:
    """Record an official holiday or 调休 working day the calendar package does not know yet."""
    _require_district_admin(actor)
    override, created = CalendarOverride.objects.update_or_create(
        day=day, defaults={"is_workday": is_workday, "note": note}
    )
    audit.record(
        "core.set_calendar_override",
        override,
        actor=actor,
        changes={"day": day.isoformat(), "is_workday": is_workday, "note": note, "created": created},
    )
    return override


@transaction.atomic
def remove_calendar_override(override: CalendarOverride, *, actor) -> None:
    _require_district_admin(actor)
    audit.record("core.remove_calendar_override", override, actor=actor, changes={"day": override.day.isoformat()})
    override.delete()
