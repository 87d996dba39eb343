"""Several trips a day, the independent plan check, and stable re-planning (fixed seed and iterations)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gongzhi.bulkywaste.plancheck import check_plan
from gongzhi.bulkywaste.routing import (
    EuclideanMatrix,
    Location,
    PlanePoint,
    Stop,
    StraightLineMatrix,
    UnassignedReason,
    Unload,
    UnloadSite,
    VehicleSpec,
    insert_stable,
    moved_stops,
    solve,
)

ITERS = 400
DEPOT = PlanePoint(0, 0)
STATION = PlanePoint(30, 0)
M = EuclideanMatrix()


def line_of_stops(n: int, demand: tuple[int, int]) -> list[Stop]:
    return [Stop(f"S{i}", PlanePoint(10 + 3 * i, 5), demand, 0, 5000, 10) for i in range(n)]


def test_a_full_truck_unloads_and_goes_out_again():
    # One truck of 10 m³ / 1,000 kg, six pickups of 3 m³ / 200 kg: volume forces at least two trips.
    stops = line_of_stops(6, (3000, 200))
    truck = VehicleSpec("T1", DEPOT, (10_000, 1000), 0, 5000, unload_seconds=50)
    site = UnloadSite("ZZ", STATION, unload_seconds=60)
    plan = solve(stops, [truck], M, max_iterations=ITERS, seed=0, sites=[site])
    assert plan.unassigned == ()
    (route,) = plan.routes
    assert route.num_trips == 2
    assert route.unloads[0].site_id == "ZZ"
    assert sorted(len(t) for t in route.trips) == [3, 3]  # 3 × 3 m³ fit a 10 m³ truck, 4 do not
    assert all(trip[-1].load == (9000, 600) for trip in route.trips)
    assert route.unloads[0].departure - route.unloads[0].start == pytest.approx(60)
    assert route.end_time >= route.stops[-1].departure + 50  # the last unloading at home is in the round
    assert check_plan(plan, stops, [truck], M, sites=[site]) == []


def test_weight_alone_can_force_a_second_trip():
    stops = line_of_stops(4, (100, 400))  # small but heavy: 4 × 400 kg on a 1,000 kg truck
    truck = VehicleSpec("T1", DEPOT, (10_000, 1000), 0, 5000)
    site = UnloadSite("D", DEPOT, unload_seconds=30)
    plan = solve(stops, [truck], M, max_iterations=ITERS, seed=0, sites=[site])
    assert plan.unassigned == ()
    assert plan.routes[0].num_trips == 2
    assert all(max(v.load[1] for v in t) <= 1000 for t in plan.routes[0].trips)
    assert check_plan(plan, stops, [truck], M, sites=[site]) == []


def test_without_sites_one_trip_per_truck_leaves_the_rest_out():
    stops = line_of_stops(6, (3000, 200))
    truck = VehicleSpec("T1", DEPOT, (10_000, 1000), 0, 5000)
    plan = solve(stops, [truck], M, max_iterations=ITERS, seed=0)
    assert plan.routes[0].num_trips == 1
    assert len(plan.unassigned) == 3
    assert {u.reason for u in plan.unassigned} == {UnassignedReason.NO_VEHICLE}
    assert check_plan(plan, stops, [truck], M) == []


def test_max_trips_and_the_shift_bound_the_round():
    stops = line_of_stops(9, (3000, 200))  # three full trips' worth
    site = UnloadSite("ZZ", STATION, unload_seconds=60)
    two = VehicleSpec("T1", DEPOT, (10_000, 1000), 0, 5000, max_trips=2)
    plan = solve(stops, [two], M, max_iterations=ITERS, seed=0, sites=[site])
    assert plan.routes[0].num_trips == 2 and len(plan.unassigned) == 3
    assert check_plan(plan, stops, [two], M, sites=[site]) == []
    # A shift too short for the third trip and its unloading: same outcome, decided by time.
    short = VehicleSpec("T1", DEPOT, (10_000, 1000), 0, 250)
    plan = solve(stops, [short], M, max_iterations=ITERS, seed=0, sites=[site])
    assert plan.unassigned and plan.routes[0].end_time <= 250
    assert check_plan(plan, stops, [short], M, sites=[site]) == []


def test_an_unloading_site_that_closes_early_is_not_used_late():
    stops = line_of_stops(6, (3000, 200))
    closed = UnloadSite("ZZ", STATION, unload_seconds=60, opens=0, closes=20)
    truck = VehicleSpec("T1", DEPOT, (10_000, 1000), 0, 5000)
    plan = solve(stops, [truck], M, max_iterations=ITERS, seed=0, sites=[closed])
    assert plan.routes[0].num_trips == 1 and len(plan.unassigned) == 3


def _district(n: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    stops = []
    for i in range(n):
        lat, lon = 34.72 + rng.uniform(-0.03, 0.03), 113.62 + rng.uniform(-0.03, 0.03)
        start = int(rng.choice([8 * 3600, 14 * 3600]))
        stops.append(
            Stop(
                f"B{i}",
                Location(lat, lon),
                (int(rng.integers(300, 2500)), int(rng.integers(20, 200))),
                start,
                start + 4 * 3600,
                420,
            )
        )
    depot = Location(34.70, 113.60)
    vehicles = [VehicleSpec(f"V{i}", depot, (8000, 1500), 7 * 3600, 18 * 3600, unload_seconds=600) for i in range(3)]
    sites = [UnloadSite("home", depot, unload_seconds=600), UnloadSite("zz", Location(34.74, 113.64), 900)]
    return stops, vehicles, sites


def test_the_checker_finds_what_a_broken_plan_breaks():
    stops, vehicles, sites = _district(20)
    m = StraightLineMatrix()
    plan = solve(stops, vehicles, m, max_iterations=ITERS, seed=0, sites=sites)
    assert check_plan(plan, stops, vehicles, m, sites=sites) == []
    route = plan.routes[0]
    # Too much on one trip: all stops with a capacity of 1 litre.
    tiny = [replace(v, capacity=(1, 1)) for v in vehicles]
    assert any("capacity" in p for p in check_plan(plan, stops, tiny, m, sites=sites))
    # A window that closed before the truck got there.
    first = route.stops[0]
    early = [replace(s, tw_start=0, tw_end=0) if s.id == first.stop_id else s for s in stops]
    assert any(first.stop_id in p and "window" in p for p in check_plan(plan, early, vehicles, m, sites=sites))
    # A shift that ends before the round does.
    short = [replace(v, shift_end=int(route.end_time) - 1) if v.id == route.vehicle_id else v for v in vehicles]
    assert any("shift" in p for p in check_plan(plan, stops, short, m, sites=sites))
    # A stop dropped silently, and an unloading stop at a site nobody knows.
    dropped = replace(plan, routes=(replace(route, stops=route.stops[1:]),) + plan.routes[1:])
    assert any("neither served" in p for p in check_plan(dropped, stops, vehicles, m, sites=sites))
    bogus = replace(route, unloads=(Unload("nowhere", 0, 0, 0, 0, (0, 0)),))
    assert any("unknown site" in p for p in check_plan(replace(plan, routes=(bogus,)), stops, vehicles, m, sites=sites))


def test_adding_a_booking_moves_no_other_stop():
    stops, vehicles, sites = _district(30)
    m = StraightLineMatrix()
    plan = solve(stops[:-3], vehicles, m, max_iterations=ITERS, seed=0, sites=sites)
    assert check_plan(plan, stops[:-3], vehicles, m, sites=sites) == []
    moved_total = 0
    for k in range(27, 30):
        added = insert_stable(plan, stops[: k + 1], vehicles, m, [stops[k].id], sites=sites)
        assert added is not None
        assert check_plan(added, stops[: k + 1], vehicles, m, sites=sites) == []
        assert stops[k].id in {v.stop_id for r in added.routes for v in r.stops}
        moved_total += len(moved_stops(plan, added))
        plan = added
    assert moved_total == 0
    # A full re-solve of the same day, for contrast, moves stops (the figure the benchmark reports).
    again = solve(stops, vehicles, m, max_iterations=ITERS, seed=1, sites=sites)
    assert check_plan(again, stops, vehicles, m, sites=sites) == []


def test_a_booking_that_fits_nowhere_asks_for_a_full_solve_warm_started():
    stops, vehicles, sites = _district(12)
    m = StraightLineMatrix()
    plan = solve(stops[:-1], vehicles[:1], m, max_iterations=ITERS, seed=0, sites=sites)
    late = replace(stops[-1], tw_start=23 * 3600, tw_end=23 * 3600)  # after every shift
    assert insert_stable(plan, [*stops[:-1], late], vehicles[:1], m, [late.id], sites=sites) is None
    warm = solve(stops, vehicles, m, max_iterations=50, seed=0, sites=sites, initial=plan)
    assert check_plan(warm, stops, vehicles, m, sites=sites) == []
    assert len(moved_stops(plan, warm)) <= len(stops)


def test_a_fixed_cost_per_truck_trades_kilometres_for_fewer_trucks():
    # Two depots 100 apart, two stops beside each: two trucks drive least, one truck is cheaper if trucks cost.
    stops = [
        Stop("A1", PlanePoint(1, 1), (1, 1), 0, 5000, 0),
        Stop("A2", PlanePoint(1, -1), (1, 1), 0, 5000, 0),
        Stop("B1", PlanePoint(101, 1), (1, 1), 0, 5000, 0),
        Stop("B2", PlanePoint(101, -1), (1, 1), 0, 5000, 0),
    ]

    def fleet(cost: int) -> list[VehicleSpec]:
        return [
            VehicleSpec("X", PlanePoint(0, 0), (10, 10), 0, 5000, fixed_cost=cost),
            VehicleSpec("Y", PlanePoint(100, 0), (10, 10), 0, 5000, fixed_cost=cost),
        ]

    free = solve(stops, fleet(0), M, max_iterations=ITERS, seed=0)
    costly = solve(stops, fleet(1000), M, max_iterations=ITERS, seed=0)
    assert free.num_vehicles == 2 and costly.num_vehicles == 1
    assert costly.total_distance > free.total_distance
    assert check_plan(costly, stops, fleet(1000), M) == []
    with pytest.raises(ValueError, match="fixed_cost"):
        VehicleSpec("Z", DEPOT, (1,), 0, 10, fixed_cost=-1)


def test_a_warm_solve_keeps_each_round_on_its_truck():
    stops, vehicles, sites = _district(24)
    m = StraightLineMatrix()
    plan = solve(stops[:-1], vehicles, m, max_iterations=ITERS, seed=0, sites=sites)
    # Three identical trucks: the solver cannot tell them apart, the plan must.
    ids = [r.vehicle_id for r in plan.routes]
    assert len(ids) >= 2
    rotated = ids[1:] + ids[:1]  # the same rounds, each on another truck than the solver would name
    renamed = replace(plan, routes=tuple(replace(r, vehicle_id=v) for r, v in zip(plan.routes, rotated, strict=True)))
    warm = solve(stops, vehicles, m, max_iterations=20, seed=3, sites=sites, initial=renamed)
    assert check_plan(warm, stops, vehicles, m, sites=sites) == []
    trucks = {v.stop_id: r.vehicle_id for r in warm.routes for v in r.stops}
    kept = sum(trucks.get(v.stop_id) == r.vehicle_id for r in renamed.routes for v in r.stops)
    assert kept >= 0.8 * sum(len(r.stops) for r in renamed.routes)
