"""The working-day calendar in force: the official holiday/调休 calendar plus the district's overrides.

`workdays.Calendar` is pure; this module adds the `CalendarOverride` rows (e.g. next year's holidays, announced
by the State Council after the `chinese_calendar` release a deployment runs) for the window an action needs.
"""

from __future__ import annotations

from datetime import date, timedelta

from gongzhi.core.models import CalendarOverride
from gongzhi.core.workdays import Calendar

WINDOW_DAYS = 400  # longer than any notice or voting period counted from one day


def calendar_from(start: date, days: int = WINDOW_DAYS) -> Calendar:
    """The calendar with overrides from `start` on (one query)."""
    rows = CalendarOverride.objects.filter(day__gte=start, day__lte=start + timedelta(days=days)).values_list(
        "day", "is_workday"
    )
    rows = list(rows)
    return Calendar.with_overrides(holidays=[d for d, w in rows if not w], workdays=[d for d, w in rows if w])
