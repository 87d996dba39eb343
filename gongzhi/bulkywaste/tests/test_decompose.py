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
    """POPMUSIC's rule: the budget goes where the day can still change; a pass ends when every route was a seed.

    A pass that found nothing is followed by one whole-day search for a day with one truck fewer.
    """
    stops, vehicles, sites = a_day()
    data, first = whole_day_data(stops, vehicles, sites)
    n = first.num_routes()
    events = []

    def nothing_better(region, seed, iterations, seconds, params=None):
        events.append(region.back([region.routes[0]])[0])  # the region's first route is its seed
        return None

    def no_truck_fewer(data, routes, seed, iterations, seconds, params=None):
        events.append(("one truck fewer?", sorted(map(str, routes)), iterations))
        return None

    monkeypatch.setattr(decompose, "solve_region", nothing_better)
    monkeypatch.setattr(decompose, "without_one", no_truck_fewer)
    monkeypatch.setattr(decompose, "DROP_SHARE", 0.0)  # one iteration, so that the regions' budget stays whole
    same = decompose.improve(data, first, seed=4, iterations=decompose.REGION_ITERATIONS * 2 * n, region_size=30)
    assert decompose.pieces(same) == decompose.pieces(first)
    day = sorted(map(str, decompose.pieces(first)))
    assert len(events) == 2 * n + 1
    assert sorted(map(str, events[:n])) == day  # each route once …
    assert events[n] == ("one truck fewer?", day, 1)  # … then the whole day with one truck fewer, once …
    assert sorted(map(str, events[n + 1 :])) == day  # … then a new pass (no second try at the same count)


def a_line() -> tuple[pyvrp.Model, dict[str, pyvrp.Location]]:
    """A depot at 0 on a street; distance and travel time are the gap between house numbers."""
    m = pyvrp.Model()
    where = {name: m.add_location(x, 0) for name, x in (("depot", 0), ("A", 10), ("B", 20), ("C", 15), ("D", -10))}
    for a in where.values():
        for b in where.values():
            gap = round(abs(a.x - b.x))
            m.add_edge(a, b, gap, gap)
    return m, where


def test_absorb_puts_a_stop_where_it_keeps_its_window_rather_than_where_it_adds_least():
    m, where = a_line()
    depot = m.add_depot(where["depot"])
    m.add_vehicle_type(3, capacity=10, start_depot=depot, end_depot=depot)
    a = m.add_client(where["A"], pickup=1, service_duration=10, tw_late=100)
    m.add_client(where["B"], pickup=1, tw_late=100)
    m.add_client(where["D"], pickup=1, tw_late=1000)
    m.add_client(where["C"], pickup=1, tw_late=16)
    assert a.tw_late == 100
    data = m.data()
    routes = [decompose.Piece(0, ((True, 0), (True, 1))), decompose.Piece(0, ((True, 2),))]
    # Between A and B the stop C adds nothing, but it would be reached at 10 + 10 + 5 = 25, after its window
    # closes at 16; first in the same round it adds 10 and is reached at 15.
    placed = decompose.absorb(data, routes, [3])
    assert placed == [decompose.Piece(0, ((True, 3), (True, 0), (True, 1))), routes[1]]
    assert decompose.to_solution(data, placed).is_feasible()


def test_absorb_puts_a_stop_that_fits_nowhere_where_it_adds_least_and_keeps_the_rest_in_order():
    m, where = a_line()
    depot = m.add_depot(where["depot"])
    m.add_vehicle_type(3, capacity=10, start_depot=depot, end_depot=depot)
    m.add_client(where["A"], pickup=1, service_duration=10, tw_late=100)
    m.add_client(where["B"], pickup=1, tw_late=100)
    m.add_client(where["D"], pickup=1, tw_late=1000)
    m.add_client(where["C"], pickup=1, tw_late=5)  # 15 away: no truck can be there by 5
    data = m.data()
    routes = [decompose.Piece(0, ((True, 0), (True, 1))), decompose.Piece(0, ((True, 2),))]
    placed = decompose.absorb(data, routes, [3])
    assert placed == [decompose.Piece(0, ((True, 0), (True, 3), (True, 1))), routes[1]]
    assert not decompose.to_solution(data, placed).is_feasible()  # the search is left to repair it


def test_absorb_keeps_a_trip_within_its_load():
    m, where = a_line()
    depot = m.add_depot(where["depot"])
    m.add_vehicle_type(3, capacity=2, start_depot=depot, end_depot=depot)
    m.add_client(where["A"], pickup=1, tw_late=100)
    m.add_client(where["B"], pickup=1, tw_late=100)
    m.add_client(where["D"], pickup=1, tw_late=1000)
    m.add_client(where["C"], pickup=1, tw_late=1000)
    data = m.data()
    routes = [decompose.Piece(0, ((True, 0), (True, 1))), decompose.Piece(0, ((True, 2),))]
    # The first round is full (2 of 2): C goes to the second, though it adds 30 there against 0 between A and B.
    placed = decompose.absorb(data, routes, [3])
    assert placed[0] == routes[0] and sorted(placed[1].clients()) == [2, 3]
    assert decompose.to_solution(data, placed).is_feasible()


def test_a_day_with_a_truck_too_many_loses_it_when_the_regions_find_nothing(monkeypatch):
    stops, vehicles, sites = a_day(40)
    data, first = whole_day_data(stops, vehicles, sites)
    routes = decompose.pieces(first)
    fleet = Counter({t: data.vehicle_type(t).num_available for t in range(data.num_vehicle_types)})
    spare = fleet - Counter(p.vehicle_type for p in routes)
    # Take one stop out of a single-trip round and give it a truck of its own (first in the list, so that it is
    # the route of fewest stops tried first): a depot round trip more, as feasible.
    start = None
    for k, p in enumerate(routes):
        if not all(c for c, _ in p.visits) or len(p.visits) < 2:
            continue
        for t in sorted(spare):
            alone = decompose.Piece(t, p.visits[:1])
            candidate = [alone] + routes[:k] + [decompose.Piece(p.vehicle_type, p.visits[1:])] + routes[k + 1 :]
            if decompose.to_solution(data, candidate).is_feasible():
                start = decompose.to_solution(data, candidate)
                break
        if start is not None:
            break
    assert start is not None and start.num_routes() == first.num_routes() + 1
    tries = []
    original = decompose.without_one

    def spy(*args, **kwargs):
        tries.append(len(args[1]))
        return original(*args, **kwargs)

    monkeypatch.setattr(decompose, "solve_region", lambda *args, **kwargs: None)  # no region ever finds anything
    monkeypatch.setattr(decompose, "without_one", spy)
    better = decompose.improve(data, start, seed=1, iterations=40_000, region_size=30)
    assert tries[0] == start.num_routes()  # after a pass of regions that found nothing
    assert better.is_feasible() and better.num_routes() < start.num_routes()
    assert decompose.objective(data, better) < decompose.objective(data, start)
    served = sorted(a.idx for r in better.routes() for a in r.schedule() if a.is_client())
    assert served == sorted(a.idx for r in start.routes() for a in r.schedule() if a.is_client())
    # Found: the next truck is tried at once (at the new count), and no count is tried twice.
    assert len(tries) >= 2 and tries == sorted(set(tries), reverse=True)
    assert better.num_routes() <= tries[-1]


def test_without_one_says_none_when_every_truck_is_needed():
    m, where = a_line()
    depot = m.add_depot(where["depot"])
    m.add_vehicle_type(2, capacity=1, start_depot=depot, end_depot=depot)
    m.add_client(where["A"], pickup=1)
    m.add_client(where["B"], pickup=1)
    data = m.data()
    routes = [decompose.Piece(0, ((True, 0),)), decompose.Piece(0, ((True, 1),))]
    assert decompose.without_one(data, routes, seed=0, iterations=200, seconds=None) is None
