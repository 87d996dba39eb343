"""Working days and legal periods in China (no Django import).

The official holiday and 调休 (make-up working day) calendar comes from the `chinese_calendar` package, which
follows the State Council's yearly notice; a district can add overrides (a newly announced year, a local
day) through `Calendar(extra_holidays=..., extra_workdays=...)`.

Periods follow the Civil Code Arts. 201–203: the day an act happens is not counted, the period starts the
next day, and a period whose last day is a public holiday ends on the next working day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar


@dataclass(frozen=True)
class Calendar:
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def with_overrides(cls, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> Calendar:
        return cls(frozenset(holidays), frozenset(workdays))

    def is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        if day in chinese_calendar.workdays:  # 调休: a weekend day worked
            return True
        if day in chinese_calendar.holidays:
            return False
        return day.weekday() < 5

    def is_public_holiday(self, day: date) -> bool:
        """A statutory holiday or rest day (weekends included), the sense of Civil Code Art. 203."""
        return not self.is_workday(day)

    def next_workday(self, day: date) -> date:
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after `start` (start itself not counted)."""
        if n < 0:
            raise ValueError("n must be non-negative")
        day = start
        while n:
            day += timedelta(days=1)
            if self.is_workday(day):
                n -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count

    def period_end(self, start: date, days: int) -> date:
        """Last day of a period of `days` calendar days counted from an act on `start` (Arts. 201, 203)."""
        if days < 1:
            raise ValueError("a period is at least one day")
        end = start + timedelta(days=days)
        return self.next_workday(end)

    def notice_start_for(self, meeting: date, days: int) -> date:
        """Latest day a notice may go out so that `days` full days lie between it and the meeting.

        物业管理条例 Art. 14: notify all owners 15 days before the assembly; the notice day is not counted.
        """
        return meeting - timedelta(days=days)


DEFAULT_CALENDAR = Calendar()
