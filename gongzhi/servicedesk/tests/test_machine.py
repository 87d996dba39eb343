"""The state machine and the time-limit arithmetic, without a database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongzhi.core.workdays import Calendar
from gongzhi.servicedesk import machine
from gongzhi.servicedesk.machine import State, TransitionError
from gongzhi.servicedesk.rates import Counts, rates

TZ = ZoneInfo("Asia/Shanghai")
S = State

# Every allowed (transition, state) pair, written out by hand from the issue: everything else is refused.
ALLOWED = {
    ("dispatch", S.ACCEPTED): S.DISPATCHED,
    ("object", S.DISPATCHED): S.DISPATCHED,
    ("take", S.DISPATCHED): S.TAKEN,
    ("contact", S.TAKEN): S.TAKEN,
    ("contact", S.IN_PROGRESS): S.IN_PROGRESS,
    ("start", S.TAKEN): S.IN_PROGRESS,
    ("extend", S.TAKEN): S.TAKEN,
    ("extend", S.IN_PROGRESS): S.IN_PROGRESS,
    ("complete", S.IN_PROGRESS): S.COMPLETED,
    ("follow_up", S.COMPLETED): S.FOLLOWED_UP,
    ("follow_up_rated", S.RATED): S.RATED,
    ("rate", S.COMPLETED): S.RATED,
    ("rate", S.FOLLOWED_UP): S.RATED,
    ("return", S.FOLLOWED_UP): S.IN_PROGRESS,
    ("return", S.RATED): S.IN_PROGRESS,
    ("archive", S.FOLLOWED_UP): S.ARCHIVED,
    ("archive", S.RATED): S.ARCHIVED,
    ("escalate", S.DISPATCHED): S.DISPATCHED,
    ("escalate", S.TAKEN): S.TAKEN,
    ("escalate", S.IN_PROGRESS): S.IN_PROGRESS,
    ("merge", S.ACCEPTED): S.MERGED,
    ("merge", S.DISPATCHED): S.MERGED,
}
# Deciding an objection needs one pending.
ALLOWED_PENDING = {
    ("uphold_objection", S.DISPATCHED): S.ACCEPTED,
    ("reject_objection", S.DISPATCHED): S.DISPATCHED,
    ("escalate", S.DISPATCHED): S.DISPATCHED,
    ("merge", S.DISPATCHED): S.MERGED,
}

CASES = [(name, state) for name in machine.TRANSITIONS for state in State]


@pytest.mark.parametrize(("name", "state"), CASES)
def test_every_transition_in_every_state(name, state):
    expected = ALLOWED.get((name, state))
    if expected is None:
        assert not machine.allowed(name, state)
        with pytest.raises(TransitionError):
            machine.advance(name, state)
    else:
        assert machine.advance(name, state) == expected


@pytest.mark.parametrize(("name", "state"), CASES)
def test_every_transition_with_an_objection_pending(name, state):
    expected = ALLOWED_PENDING.get((name, state))
    if expected is None:
        assert not machine.allowed(name, state, objection_pending=True)
        with pytest.raises(TransitionError):
            machine.advance(name, state, objection_pending=True)
    else:
        assert machine.advance(name, state, objection_pending=True) == expected


def test_open311_status():
    assert [machine.open311_status(s) for s in State] == [
        "open", "open", "open", "open", "closed", "closed", "closed", "closed", "closed"
    ]  # fmt: skip


def test_refusal_names_the_state_in_chinese():
    with pytest.raises(TransitionError) as e:
        machine.advance("take", S.ACCEPTED)
    assert "受理" in e.value.zh and "接单" in e.value.zh


CAL = Calendar()


def at(y, m, d, h=10):
    return datetime(y, m, d, h, 0, tzinfo=TZ)


def test_working_days_skip_the_national_day_holiday_and_count_the_make_up_saturday():
    # Accepted on Tue 30 Sep 2025; 1–8 Oct are holidays; Thu 9, Fri 10 and the 调休 Sat 11 Oct are working days.
    assert machine.due_at(at(2025, 9, 30), 3, "workdays", CAL) == datetime(2025, 10, 11, 23, 59, 59, tzinfo=TZ)


def test_a_make_up_sunday_is_a_working_day():
    # Accepted Fri 26 Sep 2025: Sat 27 rests, Sun 28 Sep is a 调休 working day.
    assert machine.due_at(at(2025, 9, 26), 1, "workdays", CAL).date() == date(2025, 9, 28)


def test_ordinary_weekend_is_skipped():
    assert machine.due_at(at(2025, 11, 14), 1, "workdays", CAL).date() == date(2025, 11, 17)


def test_district_override_holiday_counts():
    cal = Calendar.with_overrides(holidays=[date(2025, 11, 17)])
    assert machine.due_at(at(2025, 11, 14), 1, "workdays", cal).date() == date(2025, 11, 18)


def test_hours_run_round_the_clock_over_holidays():
    assert machine.due_at(at(2025, 10, 1, 23), 2, "hours", CAL) == datetime(2025, 10, 2, 1, 0, tzinfo=TZ)


def test_calendar_days_ending_on_a_holiday_run_to_the_next_working_day():
    # 7 days from 24 Sep 2025 ends on 1 Oct, a holiday: the limit ends on Thu 9 Oct.
    assert machine.due_at(at(2025, 9, 24), 7, "days", CAL).date() == date(2025, 10, 9)
    assert machine.due_at(at(2025, 11, 3), 7, "days", CAL).date() == date(2025, 11, 10)


def test_extension_from_the_current_end():
    due = datetime(2025, 9, 30, 23, 59, 59, tzinfo=TZ)
    assert machine.extended_due(due, 2, "workdays", CAL).date() == date(2025, 10, 10)
    assert machine.extended_due(due, 3, "hours", CAL) == due + timedelta(hours=3)


def test_limit_must_be_positive():
    with pytest.raises(ValueError):
        machine.due_at(at(2025, 9, 30), 0, "workdays", CAL)


@settings(deadline=None)  # a busy shared machine must not fail the property
@given(st.integers(min_value=1, max_value=40), st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 9, 1)))
def test_working_day_limit_ends_on_a_working_day_with_exactly_n_working_days(n, start):
    due = machine.due_at(datetime(start.year, start.month, start.day, 9, tzinfo=TZ), n, "workdays", CAL)
    assert CAL.is_workday(due.date())
    assert CAL.workdays_between(start, due.date()) == n


def test_escalation_levels():
    start = at(2025, 11, 3, 0)
    due = start + timedelta(hours=10)
    assert machine.escalation_due(start + timedelta(hours=7), due, start, 0) == 0
    assert machine.escalation_due(start + timedelta(hours=8), due, start, 0) == 1
    assert machine.escalation_due(start + timedelta(hours=11), due, start, 0) == 2
    assert machine.escalation_due(start + timedelta(hours=20), due, start, 0) == 3
    assert machine.escalation_due(start, due, start, 2) == 2  # never lowered


def test_rates_show_numerator_denominator_and_exact_percent():
    r = {x.code: x for x in rates(Counts(dispatched=3, responded_in_time=2, followed_up=0, completed=1, rated=8,
                                           satisfied=7, solved=0))}  # fmt: skip
    assert (r["response"].numerator, r["response"].denominator, r["response"].percent) == (2, 3, "66.7%")
    assert r["resolution"].percent == "—" and r["resolution"].value is None
    assert r["satisfaction"].percent == "87.5%"
    assert r["closure"].percent == "33.3%"
    with pytest.raises(ValueError):
        rates(Counts(dispatched=1, completed=2))


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=10_000))
def test_rate_percent_is_the_exact_fraction_rounded_half_up(num, den):
    num = min(num, den)
    (rate,) = [r for r in rates(Counts(dispatched=den, completed=num)) if r.code == "closure"]
    shown = rate.percent.rstrip("%")
    assert abs(float(shown) - 100 * num / den) <= 0.05 + 1e-9
