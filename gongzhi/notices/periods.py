"""Notice periods and the assembly notice rule (pure; dates in, dates out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from gongzhi.core.workdays import DEFAULT_CALENDAR, Calendar

# 物业管理条例 Art. 14: "应当于会议召开15日以前通知全体业主".
ASSEMBLY_NOTICE_DAYS = 15


@dataclass(frozen=True)
class Period:
    posted_on: date
    start: date  # the first counted day: the day after posting (Civil Code Art. 201)
    end: date  # the last day; a rest day or holiday moves it to the next working day (Art. 203)
    days: int


def notice_period(posted_on: date, days: int, calendar: Calendar = DEFAULT_CALENDAR) -> Period:
    return Period(posted_on, posted_on + timedelta(days=1), calendar.period_end(posted_on, days), days)


def latest_assembly_notice_day(meeting_on: date, days: int = ASSEMBLY_NOTICE_DAYS) -> date:
    """The last day the notice may be posted so that `days` full days lie between it and the meeting."""
    return DEFAULT_CALENDAR.notice_start_for(meeting_on, days)


def earliest_assembly_day(posted_on: date, days: int = ASSEMBLY_NOTICE_DAYS) -> date:
    return posted_on + timedelta(days=days)


def assembly_notice_in_time(posted_on: date, meeting_on: date, days: int = ASSEMBLY_NOTICE_DAYS) -> bool:
    return posted_on <= latest_assembly_notice_day(meeting_on, days)
