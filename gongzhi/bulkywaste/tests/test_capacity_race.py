"""Real concurrent bookings on PostgreSQL: ten writers race for the last three slots of a day.

Each thread has its own connection and all start together at a barrier, so the conditional UPDATEs on the
DayCapacity row genuinely race. Exactly three bookings get the day; the others are moved to the next free
day (or, with exact_day, refused); the row never goes below zero.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from gongzhi.bulkywaste import actions
from gongzhi.bulkywaste.actions import BookingError
from gongzhi.bulkywaste.models import Booking, DayCapacity
from testkit import bulkywaste as bw
from testkit.race import race

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

TUE, WED = date(2026, 11, 24), date(2026, 11, 25)


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")


def _setup(mini, persona, stops_left):
    area = bw.service_area(mini.subdistrict, daily_stops=10)
    operator = persona("hotline_operator", mini.district)
    actions.ensure_capacity_rows(area, [TUE])
    DayCapacity.objects.filter(area=area, day=TUE).update(stops_left=stops_left)
    return area, operator


def _book_desk(operator, address, **kw):
    """A desk for Tuesday, booked by hotline; one address on purpose: these tests are about capacity."""
    return actions.book(
        actor=operator,
        channel="hotline",
        items=[bw.item("desk")],
        address=address,
        preferred_days=[TUE],
        contact_name="张",
        contact_phone="13812345678",
        now=bw.NOW,
        **kw,
    )


def test_ten_writers_for_the_last_three_slots_make_exactly_three_bookings(mini, persona):
    area, operator = _setup(mini, persona, 3)
    address = actions.address_of_compound(mini.courtyard)

    def work(i):
        return _book_desk(operator, address, exact_day=True, on_duplicate="continue")

    results, errors = race(10, work)
    assert sum(r is not None for r in results) == 3, errors
    assert all(isinstance(e, BookingError) and e.field == "preferred_days" for e in errors if e is not None), errors
    assert Booking.objects.filter(day=TUE).count() == 3
    cap = DayCapacity.objects.get(area=area, day=TUE)
    assert cap.stops_left == 0 and cap.volume_left == 20_000 - 3 * 600


def test_moved_bookings_land_on_the_next_day_and_cancellations_give_back(mini, persona):
    area, operator = _setup(mini, persona, 3)
    address = actions.address_of_compound(mini.courtyard)

    def work(i):
        return _book_desk(operator, address, idempotency_key=f"k{i}", on_duplicate="continue")

    results, errors = race(10, work)
    assert errors == [None] * 10
    days = sorted(r.day for r in results)
    assert days == [TUE] * 3 + [WED] * 7
    assert DayCapacity.objects.get(day=WED).stops_left == 3

    tue = [r for r in results if r.day == TUE]

    def cancel(i):
        return actions.cancel_booking(Booking.objects.get(pk=tue[i % 3].pk), actor=operator, now=bw.NOW)

    _results, errors = race(6, cancel)  # each booking cancelled by two racing writers: given back once
    assert sum(e is None for e in errors) == 3
    assert DayCapacity.objects.get(day=TUE).stops_left == 3


def test_new_limits_saved_while_bookings_race_lose_no_stop(mini, persona):
    """Seven bookings race a change of the area's limits (10 → 4 stops a day): whichever order the database takes
    them in, the day ends with exactly the stops its bookings hold taken from the new limit (never below zero) —
    a booking that took from the old row while the limits were counted would otherwise be lost."""
    area, operator = _setup(mini, persona, 10)
    address = actions.address_of_compound(mini.courtyard)

    def work(i):
        if i == 0:
            area.daily_stops = 4
            return actions.save_config(area, actor=None, today=TUE)
        return _book_desk(operator, address, exact_day=True, idempotency_key=f"k{i}", on_duplicate="continue")

    _results, errors = race(8, work)
    assert errors[0] is None
    assert all(e is None or (isinstance(e, BookingError) and e.field == "preferred_days") for e in errors), errors
    booked = Booking.objects.filter(day=TUE).count()
    assert booked == sum(e is None for e in errors[1:])
    cap = DayCapacity.objects.get(area=area, day=TUE)
    assert cap.stops_left == max(0, 4 - booked) and cap.volume_left == max(0, 20_000 - booked * 600)
