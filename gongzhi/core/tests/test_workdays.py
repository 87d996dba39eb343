"""Working days and legal periods: Civil Code Arts. 201–203 and the official holiday / 调休 calendar."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongzhi.core.workdays import DEFAULT_CALENDAR as CAL
from gongzhi.core.workdays import Calendar

# 2026 National Day: 1–7 October off; Sunday 20 September and Saturday 10 October are worked (调休).


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 9, 18), True),  # Friday
        (date(2026, 9, 19), False),  # Saturday
        (date(2026, 9, 20), True),  # Sunday worked for National Day
        (date(2026, 10, 1), False),
        (date(2026, 10, 5), False),  # Monday inside the holiday
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday worked
        (date(2026, 10, 11), False),  # ordinary Sunday
        (date(2026, 2, 17), False),  # Spring Festival
        (date(2026, 2, 14), True),  # Saturday worked for the Spring Festival
    ],
)
def test_official_calendar(day, working):
    assert CAL.is_workday(day) is working
    assert CAL.is_public_holiday(day) is (not working)


def test_the_first_day_is_not_counted():
    # An act on Monday 2 November 2026: a 1-day period ends on Tuesday, a 3-day period on Thursday.
    assert CAL.period_end(date(2026, 11, 2), 1) == date(2026, 11, 3)
    assert CAL.period_end(date(2026, 11, 2), 3) == date(2026, 11, 5)


def test_a_period_ending_on_a_weekend_ends_on_the_next_working_day():
    assert CAL.period_end(date(2026, 11, 2), 5) == date(2026, 11, 9)  # Sat 7 Nov → Mon 9 Nov


def test_a_period_ending_in_the_national_day_holiday_ends_after_it():
    assert CAL.period_end(date(2026, 9, 21), 10) == date(2026, 10, 8)  # 1 Oct is a holiday → Thu 8 Oct


def test_a_period_ending_on_a_worked_saturday_ends_that_day():
    assert CAL.period_end(date(2026, 9, 30), 10) == date(2026, 10, 10)


def test_a_fifteen_day_notice_before_an_owners_assembly():
    meeting = date(2026, 11, 20)
    notice = CAL.notice_start_for(meeting, 15)
    assert notice == date(2026, 11, 5)
    assert (meeting - notice).days == 15


def test_add_workdays_skips_the_national_day_holiday():
    assert CAL.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert CAL.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)  # 8, 9, and the worked Saturday 10
    assert CAL.add_workdays(date(2026, 9, 30), 4) == date(2026, 10, 12)
    assert CAL.add_workdays(date(2026, 9, 18), 1) == date(2026, 9, 20)  # the worked Sunday counts
    assert CAL.add_workdays(date(2026, 9, 30), 0) == date(2026, 9, 30)


def test_workdays_between_counts_the_half_open_interval():
    assert CAL.workdays_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert CAL.workdays_between(date(2026, 11, 2), date(2026, 11, 2)) == 0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        CAL.add_workdays(date(2026, 1, 5), -1)
    with pytest.raises(ValueError):
        CAL.period_end(date(2026, 1, 5), 0)


def test_a_district_can_override_the_calendar():
    local = Calendar.with_overrides(holidays=[date(2026, 11, 3)], workdays=[date(2026, 11, 7)])
    assert not local.is_workday(date(2026, 11, 3))
    assert local.is_workday(date(2026, 11, 7))
    assert local.add_workdays(date(2026, 11, 2), 1) == date(2026, 11, 4)
    assert CAL.is_workday(date(2026, 11, 3))  # the default is untouched


days = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 1))


@settings(max_examples=200, deadline=None)
@given(days, st.integers(1, 60))
def test_a_period_ends_on_a_working_day_no_earlier_than_its_calendar_end(start, n):
    end = CAL.period_end(start, n)
    assert CAL.is_workday(end)
    assert end >= start + timedelta(days=n)
    # Every day between the calendar end and the actual end is a rest day.
    d = start + timedelta(days=n)
    while d < end:
        assert not CAL.is_workday(d)
        d += timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(days, st.integers(0, 40))
def test_add_workdays_lands_on_a_working_day_with_exactly_n_working_days(start, n):
    end = CAL.add_workdays(start, n)
    assert CAL.workdays_between(start, end) == n
    if n:
        assert CAL.is_workday(end)
