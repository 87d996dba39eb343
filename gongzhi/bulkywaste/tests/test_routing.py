"""Routing: small instances solved with a fixed seed and iteration count (never a clock)."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from gongzhi.bulkywaste.routing import (
    DATUM,
    EuclideanMatrix,
    Location,
    OsrmMatrix,
    Plan,
    PlanePoint,
    Stop,
    StraightLineMatrix,
    UnassignedReason,
    VehicleSpec,
    haversine_m,
    solve,
    split_oversized,
)

ITERS = 300
DEPOT = PlanePoint(0, 0)


def truck(vid: str, capacity: tuple[int, ...] = (10,), shift: tuple[int, int] = (0, 1000), **kw: int) -> VehicleSpec:
    return VehicleSpec(vid, DEPOT, capacity, shift[0], shift[1], **kw)


def grid_stops(n: int, seed: int = 1) -> list[Stop]:
    rng = np.random.default_rng(seed)
    stops = []
    for i in range(n):
        x, y = (float(v) for v in rng.uniform(-50, 50, size=2))
        start = int(rng.integers(0, 400))
        stops.append(Stop(f"S{i}", PlanePoint(x, y), (int(rng.integers(1, 5)),), start, start + 200, 10))
    return stops


def check_plan(plan: Plan, stops: list[Stop], vehicles: list[VehicleSpec]) -> None:
    """Recompute every route with the unrounded Euclidean times and check it."""
    by_id = {s.id: s for s in stops}
    vehicles_by_id = {v.id: v for v in vehicles}
    matrix = EuclideanMatrix()
    seen: list[str] = []
    for route in plan.routes:
        v = vehicles_by_id[route.vehicle_id]
        time = route.start_time
        assert time >= v.shift_start
        here = v.depot
        load = [0] * len(v.capacity)
        distance = 0.0
        for visit in route.stops:
            s = by_id[visit.stop_id]
            d = matrix.matrices([here, s.location])[0][0, 1]
            arrival = time + d
            assert visit.arrival == pytest.approx(arrival)
            start = max(arrival, s.tw_start)
            assert start <= s.tw_end + 1e-9, f"{s.id} starts at {start}, window ends {s.tw_end}"
            assert visit.start == pytest.approx(start)
            time = start + s.service_seconds
            load = [a + b for a, b in zip(load, s.demand, strict=True)]
            distance += d
            here = s.location
            seen.append(s.id)
        back = matrix.matrices([here, v.depot])[0][0, 1]
        assert time + back <= v.shift_end + 1e-9
        assert route.end_time == pytest.approx(time + back)
        assert all(a <= c for a, c in zip(load, v.capacity, strict=True)), (load, v.capacity)
        assert tuple(load) == route.load
        assert route.distance == pytest.approx(distance + back)
        if v.max_duration is not None:
            assert route.duration <= v.max_duration + 1e-9
    assert len({r.vehicle_id for r in plan.routes}) == len(plan.routes)
    unassigned = [u.stop_id for u in plan.unassigned]
    assert sorted(seen + unassigned) == sorted(by_id)


def test_capacity_and_windows_respected() -> None:
    stops = grid_stops(25)
    vehicles = [truck(f"T{i}", (15,), (0, 1200)) for i in range(6)]
    plan = solve(stops, vehicles, EuclideanMatrix(), max_iterations=ITERS, seed=3)
    check_plan(plan, stops, vehicles)
    assert plan.unassigned == ()
    assert plan.total_distance == pytest.approx(sum(r.distance for r in plan.routes))


def test_tight_windows_hold_with_unrounded_times() -> None:
    # Legs of length √2·k are irrational: the integer model rounds them up, so the
    # schedule it accepts must still hold when recomputed exactly.
    stops = [Stop(f"D{k}", PlanePoint(k, k), (1,), 0, math.floor(k * math.sqrt(2) + 0.01 * k), 0) for k in range(1, 8)]
    vehicles = [truck("T1", (10,), (0, 100))]
    plan = solve(stops, vehicles, EuclideanMatrix(), max_iterations=ITERS, seed=0)
    check_plan(plan, stops, vehicles)


def test_two_dimensions_and_max_duration() -> None:
    stops = [
        Stop(f"P{i}", PlanePoint(10 * (i % 4), 10 * (i // 4)), (300, 40 if i % 2 else 5), 0, 2000, 15)
        for i in range(12)
    ]
    vehicles = [
        VehicleSpec("small", DEPOT, (1000, 100), 0, 2000, max_duration=250),
        VehicleSpec("big-1", DEPOT, (2000, 150), 0, 2000),
        VehicleSpec("big-2", DEPOT, (2000, 150), 0, 2000),
    ]
    plan = solve(stops, vehicles, EuclideanMatrix(), max_iterations=ITERS, seed=1)
    check_plan(plan, stops, vehicles)
    assert plan.unassigned == ()


def test_oversized_stop_split_across_three_trucks() -> None:
    compound = Stop("B123", PlanePoint(30, 40), (25_000, 2_600), 3600, 7200, 900)
    vehicles = [VehicleSpec(f"T{i}", DEPOT, (10_000, 3_000), 0, 36_000) for i in range(4)]
    parts = split_oversized([compound, Stop("B7", PlanePoint(5, 5), (100, 10), 0, 36_000, 60)], vehicles)
    assert [p.id for p in parts] == ["B123#1", "B123#2", "B123#3", "B7"]
    assert sum(p.demand[0] for p in parts[:3]) == 25_000
    assert sum(p.demand[1] for p in parts[:3]) == 2_600
    assert all(p.demand[0] <= 10_000 and p.service_seconds == 300 for p in parts[:3])

    plan = solve(parts, vehicles, EuclideanMatrix(), max_iterations=ITERS, seed=0)
    check_plan(plan, parts, vehicles)
    assert plan.unassigned == ()
    trucks = {r.vehicle_id for r in plan.routes for v in r.stops if v.stop_id.startswith("B123#")}
    assert len(trucks) == 3


def test_split_uses_the_vehicle_needing_fewest_parts() -> None:
    big = Stop("X", DEPOT, (9,), 0, 10)
    vehicles = [truck("small", (2,)), truck("large", (5,))]
    assert [p.demand for p in split_oversized([big], vehicles)] == [(5,), (4,)]
    assert split_oversized([big], []) == [big]
    # A dimension no vehicle has room for cannot be fixed by splitting.
    assert split_oversized([Stop("Y", DEPOT, (1, 5), 0, 10)], [truck("t", (3, 0))])[0].id == "Y"


def test_unassigned_with_reasons() -> None:
    stops = [
        Stop("ok", PlanePoint(10, 0), (1,), 0, 500, 10),
        Stop("far", PlanePoint(400, 0), (1,), 0, 300, 10),  # 400 away, window closes at 300
        Stop("late", PlanePoint(20, 0), (1,), 990, 995, 30),  # cannot be home by 1000
        Stop("heavy", PlanePoint(5, 5), (50,), 0, 500, 10),
    ]
    plan = solve(stops, [truck("T1")], EuclideanMatrix(), max_iterations=ITERS)
    reasons = dict(plan.unassigned)
    assert reasons == {
        "far": UnassignedReason.TIME_WINDOW,
        "late": UnassignedReason.TIME_WINDOW,
        "heavy": UnassignedReason.CAPACITY,
    }
    assert str(reasons["far"]) == "时间窗无法到达 / time window unreachable"
    assert [r.stop_ids for r in plan.routes] == [["ok"]]


def test_not_everything_fits_drops_optional_first() -> None:
    # One truck, capacity 3: six unit stops, two optional. Required ones win.
    stops = [Stop(f"R{i}", PlanePoint(10 + i, 0), (1,), 0, 1000, 0, required=i < 4) for i in range(6)]
    plan = solve(stops, [truck("T1", (3,))], EuclideanMatrix(), max_iterations=ITERS)
    check_plan(plan, stops, [truck("T1", (3,))])
    reasons = dict(plan.unassigned)
    assert len(plan.routes) == 1 and len(plan.routes[0].stops) == 3
    assert sum(1 for r in reasons.values() if r is UnassignedReason.NO_VEHICLE) == 1
    assert sum(1 for r in reasons.values() if r is UnassignedReason.OPTIONAL) == 2
    assert all(
        sid.startswith("R") and int(sid[1:]) >= 4 for sid, r in reasons.items() if r is UnassignedReason.OPTIONAL
    )


def test_too_little_capacity_drops_as_little_as_possible() -> None:
    stops = grid_stops(25)
    vehicles = [truck(f"T{i}", (12,), (0, 1200)) for i in range(6)]
    assert sum(s.demand[0] for s in stops) == 76  # > 6 × 12
    plan = solve(stops, vehicles, EuclideanMatrix(), max_iterations=ITERS, seed=3)
    check_plan(plan, stops, vehicles)
    assert len(plan.unassigned) == 1 and plan.unassigned[0].reason is UnassignedReason.NO_VEHICLE


def test_no_vehicles() -> None:
    plan = solve([Stop("a", DEPOT, (1,), 0, 10)], [], EuclideanMatrix(), max_iterations=10)
    assert list(plan.unassigned) == [("a", UnassignedReason.NO_VEHICLE)]


def test_deterministic_for_seed_and_iterations() -> None:
    stops = grid_stops(30, seed=7)
    vehicles = [truck(f"T{i}", (15,), (0, 1500)) for i in range(7)]
    first = solve(stops, vehicles, EuclideanMatrix(), max_iterations=ITERS, seed=11)
    again = solve(stops, vehicles, EuclideanMatrix(), max_iterations=ITERS, seed=11)
    assert first == again
    check_plan(first, stops, vehicles)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="max_iterations, seconds or stopping"):
        solve([], [], EuclideanMatrix())
    with pytest.raises(ValueError, match="dimensions"):
        solve([Stop("a", DEPOT, (1, 2), 0, 1)], [truck("t", (3,))], EuclideanMatrix(), max_iterations=1)
    with pytest.raises(ValueError, match="unique"):
        solve([Stop("a", DEPOT, (1,), 0, 1)] * 2, [truck("t")], EuclideanMatrix(), max_iterations=1)
    with pytest.raises(ValueError, match="tw_start"):
        Stop("a", DEPOT, (1,), 10, 5)
    with pytest.raises(ValueError, match="negative"):
        Stop("a", DEPOT, (-1,), 0, 5)
    with pytest.raises(ValueError, match="WGS-84"):
        Location(91, 0)


# ------------------------------------------------------------------- travel matrices

ERQI = Location(34.7306, 113.6400)  # 二七广场, Zhengzhou
ZZ_STATION = Location(34.7461, 113.6582)  # 郑州站 (approximate)


def test_straight_line_matrix() -> None:
    assert DATUM == "WGS-84"
    # One degree of latitude is about 111.2 km on the mean sphere.
    assert haversine_m(Location(34, 113), Location(35, 113)) == pytest.approx(111_195, rel=1e-3)
    dist, dur = StraightLineMatrix(road_factor=1.3, speed_kmh=25).matrices([ERQI, ZZ_STATION, ERQI])
    straight = haversine_m(ERQI, ZZ_STATION)
    assert 2000 < straight < 3000
    assert dist[0, 1] == pytest.approx(1.3 * straight)
    assert dur[0, 1] == pytest.approx(1.3 * straight / (25 / 3.6))
    assert dist[0, 2] == 0 and np.allclose(dist, dist.T)
    with pytest.raises(TypeError):
        StraightLineMatrix().matrices([DEPOT])


def test_straight_line_plan_in_zhengzhou() -> None:
    stops = [
        Stop(f"B{i}", Location(34.73 + 0.004 * i, 113.64 + 0.003 * (i % 3)), (2000, 150), 8 * 3600, 12 * 3600, 600)
        for i in range(6)
    ]
    vehicles = [VehicleSpec(f"豫A-{i}", ERQI, (8000, 1500), 7 * 3600, 17 * 3600) for i in range(2)]
    plan = solve(stops, vehicles, StraightLineMatrix(), max_iterations=ITERS)
    assert plan.unassigned == ()
    assert sum(len(r.stops) for r in plan.routes) == 6
    for r in plan.routes:
        assert all(8 * 3600 <= v.start <= 12 * 3600 for v in r.stops)
        assert r.end_time <= 17 * 3600


def test_euclidean_matrix() -> None:
    dist, dur = EuclideanMatrix().matrices([PlanePoint(0, 0), PlanePoint(3, 4)])
    assert dist[0, 1] == 5 and dur[1, 0] == 5
    with pytest.raises(TypeError):
        EuclideanMatrix().matrices([ERQI])


class FakeResponse(io.BytesIO):
    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def test_osrm_request_and_response() -> None:
    calls: list[tuple[str, float]] = []
    body = {
        "code": "Ok",
        "distances": [[0, 2500.5], [2610.2, 0]],
        "durations": [[0, 300.1], [None, 0]],
    }

    def opener(url: str, timeout: float) -> FakeResponse:
        calls.append((url, timeout))
        return FakeResponse(json.dumps(body).encode())

    osrm = OsrmMatrix("http://osrm.internal:5000/", opener=opener, timeout=5)
    dist, dur = osrm.matrices([ERQI, ZZ_STATION])
    assert calls == [
        (
            "http://osrm.internal:5000/table/v1/driving/113.640000,34.730600;113.658200,34.746100"
            "?annotations=distance,duration",
            5,
        )
    ]
    assert dist[0, 1] == 2500.5 and dur[0, 1] == 300.1 and math.isinf(dur[1, 0])
    with pytest.raises(ValueError, match="NoRoute"):
        OsrmMatrix.parse(json.dumps({"code": "NoRoute", "message": "x"}), 2)
    with pytest.raises(ValueError, match="durations"):
        OsrmMatrix.parse(json.dumps({"code": "Ok", "distances": [[0]]}), 1)


def test_unreachable_leg_is_never_used() -> None:
    class OneWay:
        def matrices(self, places):  # noqa: ANN001, ANN202
            dist, dur = EuclideanMatrix().matrices(places)
            dur[0, 2] = dist[0, 2] = math.inf  # no road from the depot to the second stop's place
            return dist, dur

    stops = [Stop("a", PlanePoint(1, 0), (1,), 0, 100), Stop("b", PlanePoint(2, 0), (1,), 0, 100)]
    plan = solve(stops, [truck("T1")], OneWay(), max_iterations=ITERS)
    assert plan.unassigned == ()
    assert plan.routes[0].stop_ids == ["a", "b"]
