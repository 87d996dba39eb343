"""A large day planned region by region (decomposition) — pure, no Django.

On a day of a thousand pickups one iteration of PyVRP's search costs about 2 ms (it copies
and evaluates the whole solution), so a minute gives the search ~25,000 steps for the whole
district. Most of a step's work is on one neighbourhood of the city, and the rest of the day
does not change. :func:`improve` therefore takes a good whole-day solution and improves it
region by region, as the large-instance methods of the vehicle-routing literature do (e.g.
Vidal et al.'s HGS on 1,000-customer instances, POPMUSIC): pick a few routes lying close
together (about :data:`REGION_SIZE` stops), solve only their stops with their vehicles,
starting from how they are served now, and keep the result if it costs less. A region of
150 stops runs ~1,600 steps a second instead of ~420. As in POPMUSIC (Taillard & Voß), a
route whose region found nothing better does not seed another region until every route has
(or it has changed): the budget goes where the day changed last.

A pass of regions that found nothing is followed by one search of the whole day with one truck
fewer (:func:`without_one`, route elimination as fleet-minimising heuristics do it): the route of
fewest stops is emptied into the others and PyVRP's penalties repair what that breaks, for
:data:`DROP_SHARE` of the budget; the day is kept if it costs less, and the next truck is tried at
once. On a day of long rounds every truck's day is nearly full, so no region of a few routes can
empty one, while the whole day, every round shifting a little, can (measured on Gehring &
Homberger's C2_10_1: from 31 routes to the best-known 30, 17,190 to 16,865).

Regions being disjoint, several can be solved at once: with ``workers`` > 1 they run in
separate processes and are merged in the order they were started, so for a given seed, number
of workers and iteration budget the plan is the same on any machine. Everything a region
keeps from the day — every depot and unloading site (their indices do not change), each
vehicle type of its routes (with one spare truck of that type if the fleet has one), the
stops' windows, prizes and whether they are required, reloads inside a route — is as in the
whole problem, so a region's solution is a valid piece of the whole day's solution. When not
everything fits (optional stops left out), a region also takes in the left-out stops lying
within its routes' bounding box (up to a third of its size): a stop the first search dropped
can still be served.

This module imports only the standard library, numpy and PyVRP.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvrp
from pyvrp import Activity, ActivityType, Client, CostEvaluator, Depot, ProblemData
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.solve import SolveParams
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

__all__ = [
    "DECOMPOSE_FROM",
    "DROP_SHARE",
    "FIRST_SHARE",
    "REGION_ITERATIONS",
    "REGION_SECONDS",
    "REGION_SIZE",
    "absorb",
    "improve",
    "solve_day",
    "without_one",
]

DECOMPOSE_FROM = 500
"""From this many stops a day is improved region by region after a first whole-day search."""

FIRST_SHARE = 0.1
"""Share of the budget (time or iterations) the first whole-day search gets."""

REGION_SIZE = 150
"""About this many stops per region: whole routes, nearest first, until the region holds as many."""

REGION_ROUTES = 10
"""… and at least this many routes (on a day of long rounds a region of few routes has little to exchange)."""

REGION_SECONDS = 0.5
"""Longest search per region when the budget is in seconds."""

REGION_ITERATIONS = 800
"""Iterations per region when the budget is in iterations (tests: same plan on any machine)."""

DROP_SHARE = 0.1
"""Share of the budget for one whole-day attempt to do with one truck fewer, made when a pass of regions found nothing."""

ABSORB_TRIES = 200
"""Cheapest insertion positions checked for a stop's window and load before the cheapest is taken regardless."""


@dataclass(frozen=True, slots=True)
class Piece:
    """One route, independent of a ProblemData: its vehicle type and its visits in order.

    A visit is ``(True, client index)`` or ``(False, depot index)`` (an unloading stop between trips).
    """

    vehicle_type: int
    visits: tuple[tuple[bool, int], ...]

    def clients(self) -> list[int]:
        return [i for is_client, i in self.visits if is_client]


def pieces(solution: pyvrp.Solution) -> list[Piece]:
    """The solution's routes as pieces."""
    out = []
    for route in solution.routes():
        visits = tuple((a.is_client(), a.idx) for a in list(route.schedule())[1:-1])
        out.append(Piece(route.vehicle_type(), visits))
    return out


def to_solution(data: ProblemData, routes: Sequence[Piece]) -> pyvrp.Solution:
    """A PyVRP solution of ``data`` holding these routes."""
    return pyvrp.Solution(
        data,
        [
            pyvrp.Route(
                data,
                [Activity(ActivityType.CLIENT if c else ActivityType.DEPOT, i) for c, i in p.visits],
                p.vehicle_type,
            )
            for p in routes
            if p.clients()
        ],
    )


def objective(data: ProblemData, solution: pyvrp.Solution) -> float:
    """What the planner minimises (distance, fixed truck costs, prizes of stops left out); infinite if infeasible."""
    if not solution.is_feasible():
        return math.inf
    return float(CostEvaluator([0.0] * data.num_load_dimensions, 0.0, 0.0).cost(solution))


@dataclass(frozen=True, slots=True)
class Region:
    """A sub-problem: its data, which whole-day client and vehicle type each of its own is, and its routes now.

    ``spare`` are the trucks it was lent beyond those of its routes.
    """

    data: ProblemData
    clients: tuple[int, ...]
    types: tuple[int, ...]
    routes: tuple[Piece, ...]
    spare: Counter[int]
    extra: int = 0
    """The last ``extra`` of ``clients`` are stops left out of the day, taken in by this region."""

    def back(self, routes: Sequence[Piece]) -> list[Piece]:
        """Routes of this region in the whole day's numbering."""
        return [
            Piece(self.types[p.vehicle_type], tuple((c, self.clients[i] if c else i) for c, i in p.visits))
            for p in routes
            if p.clients()
        ]


class _Day:
    """The whole problem's parts a region is cut from (matrices read once)."""

    def __init__(self, data: ProblemData) -> None:
        if data.num_shipments or data.num_groups:
            raise ValueError("decomposition does not handle shipments or client groups")
        self.data = data
        # Any: PyVRP's stubs type a matrix as ndarray[int], which numpy's own typing does not accept.
        self.distances: list[Any] = list(data.distance_matrices())
        self.durations: list[Any] = list(data.duration_matrices())
        self.xy = np.array([(loc.x, loc.y) for loc in data.locations()], dtype=float)
        self.client_location = np.array([c.location for c in data.clients()], dtype=np.int64)

    def centre(self, piece: Piece) -> np.ndarray:
        return self.xy[self.client_location[piece.clients()]].mean(axis=0)

    def left_out_near(self, routes: Sequence[Piece], left_out: set[int], limit: int) -> list[int]:
        """Stops served by no route that lie within the routes' bounding box, nearest the routes' centre first."""
        if not left_out:
            return []
        served = self.xy[self.client_location[[c for p in routes for c in p.clients()]]]
        low, high, centre = served.min(axis=0), served.max(axis=0), served.mean(axis=0)
        inside = [
            c for c in sorted(left_out) if np.all(self.xy[self.client_location[c]] >= low)
            and np.all(self.xy[self.client_location[c]] <= high)
        ]  # fmt: skip
        inside.sort(key=lambda c: (float(((self.xy[self.client_location[c]] - centre) ** 2).sum()), c))
        return inside[:limit]

    def region(self, routes: Sequence[Piece], spare: Counter[int], extra: Sequence[int] = ()) -> Region:
        data = self.data
        clients = [c for p in routes for c in p.clients()] + list(extra)
        position = {c: i for i, c in enumerate(clients)}
        used = Counter(p.vehicle_type for p in routes)
        types = sorted(used)
        lent = Counter({t: min(spare[t], 1) for t in types if spare[t] > 0})
        type_position = {t: i for i, t in enumerate(types)}
        depots = data.depots()
        locations = list(dict.fromkeys([d.location for d in depots] + [int(self.client_location[c]) for c in clients]))
        where = {loc: i for i, loc in enumerate(locations)}
        cut = np.ix_(locations, locations)
        sub = ProblemData(
            locations=[data.location(loc) for loc in locations],
            clients=[_moved_client(data.client(c), where) for c in clients],
            depots=[Depot(where[d.location], d.tw_early, d.tw_late, d.service_duration, name=d.name) for d in depots],
            vehicle_types=[data.vehicle_type(t).replace(num_available=used[t] + lent[t]) for t in types],
            distance_matrices=[m[cut] for m in self.distances],
            duration_matrices=[m[cut] for m in self.durations],
        )
        local = tuple(
            Piece(type_position[p.vehicle_type], tuple((c, position[i] if c else i) for c, i in p.visits))
            for p in routes
        )
        return Region(sub, tuple(clients), tuple(types), local, lent, len(extra))


def _moved_client(c: Client, where: dict[int, int]) -> Client:
    return Client(
        location=where[c.location],
        delivery=list(c.delivery),
        pickup=list(c.pickup),
        service_duration=c.service_duration,
        tw_early=c.tw_early,
        tw_late=c.tw_late,
        release_time=c.release_time,
        prize=c.prize,
        required=c.required,
        name=c.name,
    )


_worker_params: SolveParams | None = None
"""A worker process's search parameters (PyVRP's cannot be pickled: a forked worker inherits them)."""


def _set_worker_params(params: SolveParams) -> None:
    global _worker_params
    _worker_params = params


def solve_region(
    region: Region, seed: int, iterations: int | None, seconds: float | None, params: SolveParams | None = None
) -> list[Piece] | None:
    """Search one region from its current routes; its better routes (own numbering), or ``None``."""
    params = params or _worker_params or SolveParams()
    start = to_solution(region.data, region.routes)
    stop = stop_after(iterations, seconds)
    best = pyvrp.solve(region.data, stop, seed=seed, collect_stats=False, params=params, initial_solution=start).best
    if objective(region.data, best) < objective(region.data, start):
        return pieces(best)
    return None


def absorb(data: ProblemData, routes: Sequence[Piece], stops: Sequence[int]) -> list[Piece]:
    """``routes`` with ``stops`` inserted one by one, each where it adds least distance (Solomon's insertion).

    A position where the stop is served within its window, the next visits can still keep theirs and the trip's
    load fits is preferred; a stop that fits nowhere goes where it adds least distance, and the search repairs it.
    """
    dist = [data.distance_matrix(k) for k in range(data.num_profiles)]
    dur = [data.duration_matrix(k) for k in range(data.num_profiles)]
    clients = data.clients()
    depots = data.depots()
    dims = range(data.num_load_dimensions)
    out = [list(p.visits) for p in routes]

    def place(visit: tuple[bool, int]) -> tuple[int, int, int, int]:
        """Location, window and service time of a visit."""
        c = clients[visit[1]] if visit[0] else depots[visit[1]]
        return c.location, c.tw_early, c.tw_late, c.service_duration

    def fits(piece_type: int, visits: list[tuple[bool, int]], at: int, stop: int) -> bool:
        vt = data.vehicle_type(piece_type)
        start, end = depots[vt.start_depot], depots[vt.end_depot]
        seq = (
            [(start.location, max(vt.tw_early, start.tw_early), min(vt.tw_late, start.tw_late), 0)]
            + [place(v) for v in visits[:at]]
            + [place((True, stop))]
            + [place(v) for v in visits[at:]]
            + [(end.location, end.tw_early, min(vt.tw_late, end.tw_late), 0)]
        )
        t = seq[0][1]
        for (loc, _, _, service), (nxt, early, late, _) in zip(seq, seq[1:], strict=False):
            t = max(early, t + service + int(dur[vt.profile][loc, nxt]))
            if t > late:
                return False
        load = [0] * len(dims)  # per trip: an unloading stop empties the truck
        for is_client, i in visits[:at] + [(True, stop)] + visits[at:] + [(False, -1)]:
            if not is_client:
                if any(load[d] > vt.capacity[d] for d in dims):
                    return False
                load = [0] * len(dims)
                continue
            c = clients[i]
            load = [load[d] + max(c.delivery[d], c.pickup[d]) for d in dims]
        return True

    for stop in stops:
        loc = clients[stop].location
        options = []  # (added distance, route, position)
        for r, piece in enumerate(routes):
            vt = data.vehicle_type(piece.vehicle_type)
            d = dist[vt.profile]
            locs = [depots[vt.start_depot].location] + [place(v)[0] for v in out[r]] + [depots[vt.end_depot].location]
            for at in range(len(locs) - 1):
                added = int(d[locs[at], loc]) + int(d[loc, locs[at + 1]]) - int(d[locs[at], locs[at + 1]])
                options.append((added, r, at))
        options.sort()
        _, r, at = next(
            (o for o in options[:ABSORB_TRIES] if fits(routes[o[1]].vehicle_type, out[o[1]], o[2], stop)), options[0]
        )
        out[r].insert(at, (True, stop))
    return [Piece(p.vehicle_type, tuple(v)) for p, v in zip(routes, out, strict=True)]


def without_one(
    data: ProblemData,
    routes: Sequence[Piece],
    seed: int,
    iterations: int | None,
    seconds: float | None,
    params: SolveParams | None = None,
) -> list[Piece] | None:
    """The whole day with one truck fewer, if that is found and costs less: the routes, else ``None``.

    The route of fewest stops is emptied into the others (:func:`absorb`) and the whole day is searched with
    as many trucks of each type as the routes use, one fewer of that route's type (PyVRP's penalties repair
    what the insertion broke). On a day of long rounds (~30 stops a truck) a region of a few routes cannot
    empty one — every truck's day is full — while the whole day, every round shifting a little, can.
    """
    params = params or _worker_params or SolveParams()
    now = objective(data, to_solution(data, routes))
    gone = min(range(len(routes)), key=lambda i: (len(routes[i].clients()), i))
    used = Counter(p.vehicle_type for i, p in enumerate(routes) if i != gone)
    types = sorted(used)  # a type left with no truck is left out (PyVRP wants at least one of each)
    if not types:
        return None
    position = {t: i for i, t in enumerate(types)}
    fewer = data.replace(vehicle_types=[data.vehicle_type(t).replace(num_available=used[t]) for t in types])
    kept = [Piece(position[p.vehicle_type], p.visits) for i, p in enumerate(routes) if i != gone]
    start = to_solution(fewer, absorb(fewer, kept, routes[gone].clients()))
    stop = stop_after(iterations, seconds)
    with warnings.catch_warnings():
        # Finding no feasible day with one truck fewer is an answer here, not a fault to warn of.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        best = pyvrp.solve(fewer, stop, seed=seed, collect_stats=False, params=params, initial_solution=start).best
    if objective(fewer, best) >= now:
        return None
    return [Piece(types[p.vehicle_type], p.visits) for p in pieces(best)]


def improve(
    data: ProblemData,
    solution: pyvrp.Solution,
    *,
    seed: int = 0,
    iterations: int | None = None,
    seconds: float | None = None,
    params: SolveParams | None = None,
    workers: int = 1,
    region_size: int | None = None,
    on_region: Callable[[int, bool], None] | None = None,
) -> pyvrp.Solution:
    """Improve a feasible ``solution`` region by region within ``iterations`` (summed over regions) and/or ``seconds``.

    Returns a solution of ``data`` costing no more than ``solution`` (the same one if no region improved).
    ``on_region(number, improved)`` is told of each region as it is merged (for tests and benchmarks), and
    ``(0, True)`` when a whole day with one truck fewer is kept (:func:`without_one`).
    """
    params = params or SolveParams()
    with _workers(workers, params) as pool:
        return _improve(data, solution, seed, iterations, seconds, params, pool, workers, region_size, on_region)


def solve_day(
    data: ProblemData,
    *,
    seed: int = 0,
    iterations: int | None = None,
    seconds: float | None = None,
    params: SolveParams | None = None,
    initial: pyvrp.Solution | None = None,
    workers: int = 1,
) -> pyvrp.Solution:
    """Search the whole day for :data:`FIRST_SHARE` of the budget, then improve it region by region.

    With ``workers`` > 1 the first search runs once per worker (seeds ``seed``, ``seed + 1`` …), the
    cheapest feasible result going on. If none is feasible the rest of the budget goes on searching the
    whole day from it (regions need a feasible day to start from).
    """
    if iterations is None and seconds is None:
        raise ValueError("give iterations or seconds")
    params = params or SolveParams()
    started = time.perf_counter()
    first_iterations = rest_iterations = None
    if iterations is not None:
        first_iterations = max(1, round(iterations * FIRST_SHARE))
        rest_iterations = iterations - first_iterations
    first_seconds = None if seconds is None else seconds * FIRST_SHARE
    start = None if initial is None else pieces(initial)
    with _workers(workers, params) as pool:
        if pool is None:
            found = [_whole_day(data, seed, first_iterations, first_seconds, start, params)]
        else:
            jobs = [
                pool.submit(_whole_day, data, seed + k, first_iterations, first_seconds, start) for k in range(workers)
            ]
            found = [job.result() for job in jobs]
        results = [to_solution(data, routes) for routes in found]
        best = min(results, key=lambda sol: objective(data, sol))  # the first of equals: the lowest seed
        rest_seconds = None if seconds is None else max(0.0, seconds - (time.perf_counter() - started))
        if not best.is_feasible():
            stop = stop_after(rest_iterations, rest_seconds)
            return pyvrp.solve(data, stop, seed=seed, collect_stats=False, params=params, initial_solution=best).best
        return _improve(data, best, seed, rest_iterations, rest_seconds, params, pool, workers, None, None)


def _whole_day(
    data: ProblemData,
    seed: int,
    iterations: int | None,
    seconds: float | None,
    start: list[Piece] | None,
    params: SolveParams | None = None,
) -> list[Piece]:
    """One search of the whole day (in a worker, or in this process); its best routes."""
    params = params or _worker_params or SolveParams()
    initial = None if start is None else to_solution(data, start)
    stop = stop_after(iterations, seconds)
    return pieces(pyvrp.solve(data, stop, seed=seed, collect_stats=False, params=params, initial_solution=initial).best)


def stop_after(
    iterations: int | None, seconds: float | None, also: StoppingCriterion | None = None
) -> StoppingCriterion:
    """Stop after ``iterations`` and/or ``seconds`` of wall-clock time, or when ``also`` says so (one must be given)."""
    criteria: list[StoppingCriterion] = [also] if also is not None else []
    if iterations is not None:
        criteria.append(MaxIterations(max(0, iterations)))
    if seconds is not None:
        criteria.append(MaxRuntime(max(0.0, seconds)))
    return criteria[0] if len(criteria) == 1 else MultipleCriteria(criteria)


@contextmanager
def _workers(workers: int, params: SolveParams) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``workers`` processes (none for one), forked so that they inherit ``params`` unpickled."""
    if workers <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_set_worker_params,
        initargs=(params,),
    )
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


def _improve(
    data: ProblemData,
    solution: pyvrp.Solution,
    seed: int,
    iterations: int | None,
    seconds: float | None,
    params: SolveParams,
    pool: ProcessPoolExecutor | None,
    workers: int,
    region_size: int | None,
    on_region: Callable[[int, bool], None] | None,
) -> pyvrp.Solution:
    if iterations is None and seconds is None:
        raise ValueError("give iterations or seconds")
    if not solution.is_feasible():
        return solution
    region_size = region_size or REGION_SIZE
    day = _Day(data)
    rng = random.Random(seed)
    started = time.perf_counter()
    routes: dict[int, Piece] = {}
    centres: dict[int, np.ndarray] = {}
    next_id = 0

    def add(piece: Piece) -> None:
        nonlocal next_id
        routes[next_id] = piece
        centres[next_id] = day.centre(piece)
        next_id += 1

    for piece in pieces(solution):
        add(piece)
    # Optional stops the day leaves out (when not everything fits): a region may take in those lying within it.
    left_out = set(range(data.num_clients)) - {c for p in routes.values() for c in p.clients()}
    fleet = Counter({t: data.vehicle_type(t).num_available for t in range(data.num_vehicle_types)})
    spent = 0
    number = 0
    in_flight: list[tuple[Future[list[Piece] | None] | list[Piece] | None, list[int], Region]] = []
    busy: set[int] = set()
    # Routes whose region (seeded by them) found nothing better, as POPMUSIC keeps them: not seeds again until
    # every route is, so the budget goes where the day changed last. A route that changes gets a new id.
    settled: set[int] = set()
    lent: Counter[int] = Counter()  # spare trucks handed to regions in flight
    tried: set[int] = set()  # route counts at which a day with one truck fewer was sought
    dropped = False  # the last such search found one: try the next truck straight away

    def stalled() -> bool:
        """A pass of regions found nothing (or a truck was just saved): try the whole day with one truck fewer."""
        return len(routes) > 1 and len(routes) not in tried and (dropped or settled.issuperset(routes))

    def budget() -> tuple[int | None, float | None] | None:
        """The next region's share, or None when the budget is spent."""
        its = None if iterations is None else min(REGION_ITERATIONS, iterations - spent)
        left = None if seconds is None else seconds - (time.perf_counter() - started)
        if (its is not None and its <= 0) or (left is not None and left <= 0.02):
            return None
        return its, None if left is None else min(REGION_SECONDS, left)

    def pick() -> list[int] | None:
        free = [k for k in routes if k not in busy]
        if not free:
            return None
        if settled.issuperset(routes):
            settled.clear()  # every route has seeded a region that found nothing: a new pass over the day
        seeds = [k for k in free if k not in settled] or free
        first = seeds[rng.randrange(len(seeds))]
        near = [first] + sorted(
            (k for k in free if k != first), key=lambda k: (float(((centres[k] - centres[first]) ** 2).sum()), k)
        )
        chosen, size = [], 0
        for k in near:
            chosen.append(k)
            size += len(routes[k].clients())
            if size >= region_size and len(chosen) >= REGION_ROUTES:
                break
        return chosen

    def merge(result: list[Piece] | None, chosen: list[int], region: Region) -> None:
        nonlocal number
        number += 1
        held = set(region.clients[len(region.clients) - region.extra :])
        if result is None:
            settled.add(chosen[0])
        else:
            settled.difference_update(chosen)
            for k in chosen:
                del routes[k]
                del centres[k]
            for piece in region.back(result):
                add(piece)
                held.difference_update(piece.clients())
        left_out.update(held)
        busy.difference_update(chosen)
        lent.subtract(region.spare)
        if on_region is not None:
            on_region(number, result is not None)

    def drop_once() -> None:
        """Search the whole day with one truck fewer (one search per worker); keep the cheapest if it costs less."""
        nonlocal spent, dropped
        count = len(routes)
        tried.add(count)
        dropped = False
        its = None if iterations is None else min(max(1, round(iterations * DROP_SHARE)), iterations - spent)
        left = None if seconds is None else seconds - (time.perf_counter() - started)
        if (its is not None and its <= 0) or (left is not None and left <= 0.02):
            return
        secs = None if left is None or seconds is None else min(seconds * DROP_SHARE, left)
        spent += its or 0
        now = list(routes.values())
        seeds = [rng.randrange(2**31) for _ in range(max(1, workers))]
        if pool is None:
            found = [without_one(data, now, seeds[0], its, secs, params)]
        else:
            found = [job.result() for job in [pool.submit(without_one, data, now, s, its, secs) for s in seeds]]
        options = [to_solution(data, f) for f in found if f is not None]
        if not options:
            return
        best = min(options, key=lambda sol: objective(data, sol))
        if objective(data, best) >= objective(data, to_solution(data, now)):
            return
        routes.clear()
        centres.clear()
        settled.clear()
        for piece in pieces(best):
            add(piece)
        left_out.clear()
        left_out.update(set(range(data.num_clients)) - {c for p in routes.values() for c in p.clients()})
        dropped = True
        if on_region is not None:
            on_region(0, True)

    while True:
        if stalled() and not in_flight:
            drop_once()
        while len(in_flight) < workers and not stalled():
            share = budget()
            chosen = pick() if share is not None else None
            if share is None or chosen is None:
                break
            its, secs = share
            spent += its or 0
            used = Counter(routes[k].vehicle_type for k in routes)
            extra = day.left_out_near([routes[k] for k in chosen], left_out, max(1, region_size // 3))
            left_out.difference_update(extra)  # held by this region until it is merged
            region = day.region([routes[k] for k in chosen], fleet - used - lent, extra)
            lent.update(region.spare)
            busy.update(chosen)
            region_seed = rng.randrange(2**31)
            if pool is None:
                in_flight.append((solve_region(region, region_seed, its, secs, params), chosen, region))
            else:
                future = pool.submit(solve_region, region, region_seed, its, secs)
                in_flight.append((future, chosen, region))
        if not in_flight:
            if stalled():
                continue
            break
        outcome, chosen, region = in_flight.pop(0)
        merge(outcome.result() if isinstance(outcome, Future) else outcome, chosen, region)
    better = to_solution(data, list(routes.values()))
    return better if objective(data, better) <= objective(data, solution) else solution
