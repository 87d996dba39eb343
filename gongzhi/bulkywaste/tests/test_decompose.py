"""A large day improved region by region (decompose): regions cut right, never worse, repeatable.

Small days with ``decompose_from`` lowered stand in for a district's thousand pickups; budgets are iterations.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest
import pyvrp
from pyvrp.stop import MaxIterations

from gongzhi.bulkywaste import decompose, routing
from gongzhi.bulkywaste.plancheck import check_plan
from gongzhi.bulkywaste.routing import (
    EuclideanMatrix,
    PlanePoint,
    Stop,
    UnloadSite,
    VehicleSpec,
    _problem_data,
    solve,
)

M = EuclideanMatrix()
DEPOTS = (PlanePoint(0, 0), PlanePoint(100, 100))
STATION = PlanePoint(50, 50)


def a_day(n: int = 90, seed: int = 7) -> tuple[list[Stop], list[VehicleSpec], list[UnloadSite]]:
    """Stops scattered over a 100 × 100 district, two depots, two truck sizes, one transfer station."""
    rnd = random.Random(seed)
    stops = []
    for i in range(n):
        start = rnd.choice((0, 0, 200, 400))
        stops.append(
            Stop(
                f"S{i}",
                PlanePoint(rnd.uniform(0, 100), rnd.uniform(0, 100)),
                (rnd.randint(1, 4) * 1000, rnd.randint(50, 300)),
                start,
                start + rnd.choice((300, 600, 1000)),
                5,
            )
        )
    vehicles = [VehicleSpec(f"B{i}", DEPOTS[i % 2], (10_000, 1000), 0, 1200, unload_seconds=20) for i in range(6)] + [
        VehicleSpec(f"S{i}", DEPOTS[i % 2], (5_000, 600), 0, 1200, unload_seconds=10) for i in range(6)
    ]
    return stops, vehicles, [UnloadSite("ZZ", STATION, unload_seconds=30)]


def whole_day_data(stops, vehicles, sites):
    """The PyVRP model routing.solve builds, and a first whole-day solution of it (200 iterations)."""
    built = []

    def capture(*args, **kwargs):
        built.append(_problem_data(*args, **kwargs))
        return built[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(routing, "_problem_data", capture)
        solve(stops, vehicles, M, max_iterations=1, seed=0, sites=sites, decompose_from=None)
    data = built[0]
    first = pyvrp.solve(data, MaxIterations(200), seed=0, collect_stats=False).best
    assert first.is_feasible()
    return data, first


def test_a_region_is_a_true_piece_of_the_day():
    stops, vehicles, sites = a_day()
    data, first = whole_day_data(stops, vehicles, sites)
    day = decompose._Day(data)
    routes = decompose.pieces(first)
    assert any(not c for p in routes for c, _ in p.visits), "the day should hold an unloading stop between trips"
    chosen = routes[: len(routes) // 2]
    fleet = Counter({t: data.vehicle_type(t).num_available for t in range(data.num_vehicle_types)})
    region = day.region(chosen, fleet - Counter(p.vehicle_type for p in routes))
    assert region.data.num_clients == sum(len(p.clients()) for p in chosen)
    assert region.data.num_depots == data.num_depots  # depots and sites keep their numbers
    as_region = decompose.to_solution(region.data, region.routes)
    # The same routes cost the same in the region as in the whole day, and are as feasible.
    whole_cost = sum(r.distance() for r, p in zip(first.routes(), routes, strict=True) if p in chosen)
    assert as_region.distance() == whole_cost
    assert as_region.is_feasible()
    assert region.back(list(region.routes)) == [p for p in chosen if p.clients()]
    # A region's trucks are those of its routes plus at most one spare of each of their types.
    for t, vt in enumerate(region.data.vehicle_types()):
        mine = sum(1 for p in chosen if p.vehicle_type == region.types[t])
        assert mine <= vt.num_available <= mine + 1


def test_improving_by_regions_never_costs_more_and_keeps_every_stop():
    stops, vehicles, sites = a_day()
    data, first = whole_day_data(stops, vehicles, sites)
    merged = []
    better = decompose.improve(
        data, first, seed=3, iterations=3000, region_size=30, on_region=lambda n, ok: merged.append(ok)
    )
    assert len(merged) >= 3 and any(merged)
    assert better.is_feasible()
    assert decompose.objective(data, better) < decompose.objective(data, first)
    served = sorted(i for r in better.routes() for i in (a.idx for a in r.schedule() if a.is_client()))
    assert served == sorted(i for r in first.routes() for i in (a.idx for a in r.schedule() if a.is_client()))
    assert Counter(r.vehicle_type() for r in better.routes()) <= Counter(
        {t: data.vehicle_type(t).num_available for t in range(data.num_vehicle_types)}
    )


def test_a_region_takes_in_a_stop_the_day_left_out():
    stops, vehicles, sites = a_day()
    stops = [replace(s, required=False) for s in stops]  # prizes: serve what fits
    data, first = whole_day_data(stops, vehicles, sites)
    routes = decompose.pieces(first)
    # Leave one stop out of a one-trip route of several stops (still feasible: the others only get earlier).
    k = next(i for i, p in enumerate(routes) if all(c for c, _ in p.visits) and len(p.visits) >= 3)
    dropped = routes[k].visits[1][1]
    routes[k] = decompose.Piece(routes[k].vehicle_type, routes[k].visits[:1] + routes[k].visits[2:])
    start = decompose.to_solution(data, routes)
    assert start.is_feasible() and start.num_clients() == first.num_clients() - 1
    better = decompose.improve(data, start, seed=2, iterations=4000, region_size=30)
    assert dropped in {a.idx for r in better.routes() for a in r.schedule() if a.is_client()}
    assert decompose.objective(data, better) < decompose.objective(data, start)


def test_the_same_seed_gives_the_same_plan_with_one_worker_or_two():
    stops, vehicles, sites = a_day()
    data, first = whole_day_data(stops, vehicles, sites)
    for workers in (1, 2):
        runs = [
            decompose.pieces(decompose.improve(data, first, seed=5, iterations=1600, region_size=30, workers=workers))
            for _ in range(2)
        ]
        assert runs[0] == runs[1]


def test_a_budget_is_required_and_an_infeasible_start_is_returned_as_it_is():
    stops, vehicles, sites = a_day(30)
    data, first = whole_day_data(stops, vehicles, sites)
    with pytest.raises(ValueError, match="iterations or seconds"):
        decompose.improve(data, first)
    empty = pyvrp.Solution(data, [])  # required stops left out: infeasible
    assert not empty.is_feasible()
    assert decompose.improve(data, empty, iterations=100) is empty


def test_solve_decomposes_a_large_day_and_the_plan_passes_the_independent_check():
    stops, vehicles, _ = a_day(120)
    vehicles = vehicles * 2  # one trip per truck: twice the trucks, and still not enough for every stop
    vehicles = [replace(v, id=f"{v.id}-{i}") for i, v in enumerate(vehicles)]
    whole = solve(stops, vehicles, M, max_iterations=2000, seed=1, decompose_from=None)
    split = solve(stops, vehicles, M, max_iterations=2000, seed=1, decompose_from=100)
    again = solve(stops, vehicles, M, max_iterations=2000, seed=1, decompose_from=100)
    assert split == again
    for plan in (whole, split):
        assert check_plan(plan, stops, vehicles, M) == []
    assert split != whole  # the regions ran (a different search from the same start)
    # Not everything fits in 24 single trips: both plans leave stops out (the all-optional search), and the
    # regions, taking in the left-out stops near them, serve at least as many.
    assert 0 < len(split.unassigned) <= len(whole.unassigned)


def test_regions_only_for_a_large_day_of_single_trips_with_a_budget_to_split(monkeypatch):
    stops, vehicles, sites = a_day(40)
    calls = []
    original = decompose._improve

    def spy(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(decompose, "_improve", spy)
    solve(stops, vehicles, M, stopping=lambda: MaxIterations(300), seed=0, decompose_from=10)
    assert calls == []
    solve(stops, vehicles, M, max_iterations=300, seed=0, decompose_from=10)
    assert len(calls) == 1 and calls[0][3] == 270  # a tenth for the whole day first, the rest by regions
    solve(stops, vehicles, M, max_iterations=300, seed=0, decompose_from=41)
    assert len(calls) == 1  # below the threshold: the whole day only
    solve(stops, vehicles, M, max_iterations=300, seed=0, sites=sites, decompose_from=10)
    assert len(calls) == 1  # several trips a day: a round lies in no one region, the whole day is searched


def test_a_route_whose_region_found_nothing_seeds_again_only_after_every_other(monkeypatch):
    """POPMUSIC's rule: the budget goes where the day can still change; a pass ends when every route was a seed."""
    stops, vehicles, sites = a_day()
    data, first = whole_day_data(stops, vehicles, sites)
    n = first.num_routes()
    seeds = []

    def nothing_better(region, seed, iterations, seconds, params=None):
        seeds.append(region.back([region.routes[0]])[0])  # the region's first route is its seed
        return None

    monkeypatch.setattr(decompose, "solve_region", nothing_better)
    same = decompose.improve(data, first, seed=4, iterations=decompose.REGION_ITERATIONS * 2 * n, region_size=30)
    assert decompose.pieces(same) == decompose.pieces(first)
    assert len(seeds) == 2 * n
    assert sorted(map(str, seeds[:n])) == sorted(map(str, decompose.pieces(first)))  # each route once …
    assert sorted(map(str, seeds[n:])) == sorted(map(str, decompose.pieces(first)))  # … then a new pass
