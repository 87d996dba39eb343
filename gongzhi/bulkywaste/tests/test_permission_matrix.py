"""Role × booking-status matrix (adhocracy4 style): who may see and who may change a booking, in every status,
in scope and out of it, asked through the one gate. The expected answers are written out here as a table, not
derived from `core.roles`, so a change of the capabilities that changes who may shows up as a failing row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from gongzhi.bulkywaste.models import Booking, DayPlan, Round, RoundStop
from gongzhi.core.gate import allows
from gongzhi.core.roles import ROLES
from testkit import bulkywaste as bw
from testkit.world import make_user

STATUSES = [s.value for s in Booking.Status]
OPEN = {"booked", "planned"}

# Roles that see every booking of their scope (booking staff) and roles that may change an open one there.
SEES = {"dispatcher", "district_admin", "subdistrict_staff", "community_worker", "hotline_operator", "property_manager"}
CHANGES = {
    "dispatcher",
    "district_admin",
    "subdistrict_staff",
    "community_worker",
    "registry_officer",
    "hotline_operator",
    "party_liaison",
    "property_manager",
}


@pytest.fixture
def world(mini, area, operator):
    """A hotline booking for 张建国's unit, on a round of a vehicle whose crew is `crew_on`."""
    booker = make_user("booker", "resident", mini.courtyard)
    booking = bw.book_for(mini.units[0], actor=operator)
    Booking.objects.filter(pk=booking.pk).update(booked_by=booker)
    crew_on = bw.crew_member("crew-on", mini.district)
    crew_off = bw.crew_member("crew-off", mini.district)
    vehicle = bw.vehicle(area, crew=[crew_on])
    bw.vehicle(area, "2号车", plate="豫A·54321", crew=[crew_off])
    plan = DayPlan.objects.create(area=area, day=booking.day, status="done")
    start = timezone.make_aware(timezone.datetime.combine(booking.day, timezone.datetime.min.time()))
    rnd = Round.objects.create(
        plan=plan, vehicle=vehicle, day=booking.day, start_at=start, end_at=start + timedelta(hours=4)
    )
    RoundStop.objects.create(round=rnd, booking=booking, order=1, eta=start, departure=start)
    users = {"anonymous": AnonymousUser(), "booker": booker, "crew_on_round": crew_on, "crew_not_on_round": crew_off}
    for role in ROLES:
        if role == "crew":
            continue
        users[f"{role}@scope"] = make_user(f"in-{role}", role, mini.community)
        users[f"{role}@elsewhere"] = make_user(f"out-{role}", role, mini.other_subdistrict)
    return booking, users


def expected(who: str, status: str) -> tuple[bool, bool]:
    """(may view, may change) from the table above."""
    role, _, where = who.partition("@")
    if who == "booker":
        return True, status in OPEN
    if who == "crew_on_round":
        return True, False
    if where != "scope":
        return False, False
    return role in SEES, role in CHANGES and status in OPEN


def test_every_role_in_every_booking_status(world):
    booking, users = world
    # the table covers every role the platform knows
    assert {w.partition("@")[0] for w in users} >= set(ROLES) - {"crew"}
    wrong = []
    for status in STATUSES:
        Booking.objects.filter(pk=booking.pk).update(status=status)
        booking.refresh_from_db()
        for who, user in users.items():
            got = (allows(user, "bulkywaste.view_booking", booking), allows(user, "bulkywaste.change_booking", booking))
            if got != expected(who, status):
                wrong.append((status, who, got, expected(who, status)))
    assert wrong == []


def test_round_work_by_role(world, mini):
    """Working a round: its own crew and the dispatchers of the area (the subdistrict); nobody else — not another
    vehicle's crew, not a dispatcher whose scope is one community inside the area."""
    _booking, users = world
    users["dispatcher@area"] = make_user("area-dispatcher", "dispatcher", mini.subdistrict)
    users["district_admin@district"] = make_user("district-admin", "district_admin", mini.district)
    rnd = Round.objects.get()
    may = {who for who, user in users.items() if allows(user, "bulkywaste.work_round", rnd)}
    assert may == {"crew_on_round", "dispatcher@area", "district_admin@district"}
