"""Several trips a day through the dispatcher's plan, the crew's and dispatcher's pages, and stable re-planning.
The solver stops on an iteration count with a fixed seed (never a clock)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gongzhi.bulkywaste import actions, routing
from gongzhi.bulkywaste.actions import planning
from gongzhi.bulkywaste.models import Booking, DayPlan, Round, RoundStop, RoundUnload, UnloadSite
from gongzhi.bulkywaste.plancheck import check_plan
from gongzhi.core import maps
from gongzhi.core.models import AuditEntry
from testkit import bulkywaste as bw

TUE = date(2026, 11, 24)


@pytest.fixture
def big_area(mini):
    return bw.service_area(mini.subdistrict, daily_stops=20, daily_volume_litres=100_000)


def site(area, name="中转站", kind=UnloadSite.Kind.TRANSFER, lat="34.7350", lon="113.6350", minutes=20):
    s = UnloadSite(
        area=area, name=name, kind=kind, latitude=Decimal(lat), longitude=Decimal(lon), unload_minutes=minutes
    )
    actions.save_config(s, actor=None)
    return s


def book_wardrobe(operator, mini, n: int, window="morning"):
    address = actions.free_address(f"福华街{n}号", f"34.73{n}", f"113.64{n}", mini.community)
    return actions.book(
        actor=operator,
        channel="hotline",
        items=[bw.item("wardrobe")],  # 1.44 m³, 80 kg
        address=address,
        preferred_days=[TUE],
        window=window,
        contact_name="刘",
        contact_phone=f"1391234567{n}",
        now=bw.NOW,
    )


def plan(area):
    p, _ = DayPlan.objects.get_or_create(area=area, day=TUE)
    return planning.plan_day(p.pk, iterations=200, now=bw.NOW)


def independent_check(plan_obj):
    """Rebuild the day from the database and check it with plancheck, not with the solver."""
    problem = planning._problem(plan_obj, bw.NOW)
    stored = planning._previous(plan_obj)
    unplanned = [
        routing.Unassigned(f"B{u['booking']}", routing.UnassignedReason.NO_VEHICLE) for u in plan_obj.unassigned
    ]
    stored = routing.Plan(routes=stored.routes if stored else (), unassigned=tuple(unplanned))
    # The stored times are whole seconds: allow one second per leg of rounding.
    return check_plan(
        stored, problem.stops, problem.vehicles, planning.travel_matrix()[0], sites=problem.sites, tolerance=60
    )


def test_a_full_truck_unloads_at_the_transfer_station_and_goes_again(big_area, mini, operator, dispatcher, client):
    truck = bw.vehicle(big_area, "1号车", volume=3_000, weight=1_000)  # two wardrobes a trip
    station = site(big_area)
    for n in range(1, 5):
        book_wardrobe(operator, mini, n)
    p = plan(big_area)
    assert p.status == "done" and p.unassigned == []
    (rnd,) = Round.objects.filter(plan=p)
    unloads = list(RoundUnload.objects.filter(round=rnd))
    assert len(unloads) == 1 and unloads[0].site == station and unloads[0].after_trip == 0
    trips = sorted(RoundStop.objects.filter(round=rnd).values_list("trip", flat=True))
    assert trips == [0, 0, 1, 1]
    assert unloads[0].volume_litres == 2880 and unloads[0].weight_kg == 160
    assert rnd.volume_litres == 4 * 1440 and rnd.vehicle == truck
    first_trip_last = RoundStop.objects.filter(round=rnd, trip=0).order_by("-order").first()
    second_trip_first = RoundStop.objects.filter(round=rnd, trip=1).order_by("order").first()
    assert first_trip_last.departure <= unloads[0].eta < unloads[0].departure <= second_trip_first.eta
    assert independent_check(p) == []
    entry = AuditEntry.objects.filter(action="bulky.plan").latest("id")
    assert entry.changes["trips"] == 2 and entry.changes["how"] == "solved"

    # The round's map passes the transfer station between the two trips: depot → 2 stops → 卸 → 2 stops → depot.
    stops = list(RoundStop.objects.filter(round=rnd).select_related("booking").order_by("order"))
    drawn = maps.rounds_map([rnd], {rnd.pk: stops}, unloads_by_round={rnd.pk: unloads})
    (_, line) = drawn.lines[0]
    station_at = (float(station.latitude), float(station.longitude))
    assert len(line) == 7 and line[3] == station_at
    assert [p.label for p in drawn.points if p.label == "卸"] == ["卸"]

    # Pages: the dispatcher's table counts trips; the round page and the crew's page show the unloading stop.
    client.force_login(dispatcher)
    page = client.get(f"/bulky/dispatch/?area={big_area.pk}&day={TUE.isoformat()}").content.decode()
    assert "车次" in page
    page = client.get(f"/bulky/rounds/{rnd.pk}/").content.decode()
    assert "第 2 车次" in page and "卸车" in page and "中转站" in page
    crew = bw.crew_member("crew1", mini.subdistrict)
    truck.crew.add(crew)
    client.force_login(crew)
    page = client.get(f"/bulky/crew/?day={TUE.isoformat()}").content.decode()
    assert page.count("第 1 车次") == 1 and "卸车" in page and "再出车" in page


def test_without_a_site_the_truck_makes_one_trip(big_area, mini, operator):
    bw.vehicle(big_area, "1号车", volume=3_000, weight=1_000)
    for n in range(1, 5):
        book_wardrobe(operator, mini, n)
    p = plan(big_area)
    assert len(p.unassigned) == 2 and RoundUnload.objects.count() == 0
    assert independent_check(p) == []


def test_a_booking_added_to_a_planned_day_moves_no_other_stop(big_area, mini, operator):
    for n in range(3):
        bw.vehicle(big_area, f"{n + 1}号车", volume=6_000, weight=2_000)
    site(big_area)
    for n in range(1, 7):
        book_wardrobe(operator, mini, n, window="morning" if n % 2 else "afternoon")
    p = plan(big_area)
    before = {s.booking_id: (s.round.vehicle_id, s.trip, s.eta) for s in RoundStop.objects.select_related("round")}
    added = book_wardrobe(operator, mini, 7, window="afternoon")
    p = plan(big_area)
    entry = AuditEntry.objects.filter(action="bulky.plan").latest("id")
    assert entry.changes["how"] == "inserted" and entry.changes["moved"] == 0
    after = {s.booking_id: (s.round.vehicle_id, s.trip, s.eta) for s in RoundStop.objects.select_related("round")}
    assert set(after) == set(before) | {added.pk}
    for bid, (vehicle, trip, eta) in before.items():
        assert after[bid][:2] == (vehicle, trip)
        assert abs((after[bid][2] - eta).total_seconds()) <= 1800
    assert Booking.objects.get(pk=added.pk).status == "planned"
    assert independent_check(p) == []


def test_a_cancelled_vehicle_makes_the_day_solved_again_warm(big_area, mini, operator):
    trucks = [bw.vehicle(big_area, f"{n + 1}号车", volume=6_000, weight=2_000) for n in range(2)]
    for n in range(1, 5):
        book_wardrobe(operator, mini, n)
    plan(big_area)
    used = Round.objects.values_list("vehicle_id", flat=True).first()
    gone = next(t for t in trucks if t.pk == used)
    gone.active = False
    actions.save_config(gone, actor=None)
    p = plan(big_area)
    entry = AuditEntry.objects.filter(action="bulky.plan").latest("id")
    assert entry.changes["how"] == "warm"
    assert not Round.objects.filter(plan=p, vehicle=gone).exists()
    assert independent_check(p) == []
