"""Routing quality on Solomon's VRPTW instances against published best-known solutions.

    python bench/solomon.py --seconds 10 /work/shared/benchmarks/solomon/*.txt
    python bench/solomon.py --seconds 10 --no-baseline /work/shared/benchmarks/solomon/C101.txt
    python bench/solomon.py --summarize part1.jsonl part2.jsonl   # summary of saved output
    python bench/solomon.py --seconds 60 --no-baseline /data/gh/GH400/*.vrp   # Gehring & Homberger

Files are Solomon's text format (also that of the Gehring & Homberger 200–1,000-customer sets as SINTEF
publishes them) or the VRPLIB ``.vrp`` format (``NODE_COORD_SECTION`` …, as in CVRPLIB and PyVRP's
instance collection); the format is recognised from the content.

Each instance is solved with the platform's own routing code
(:mod:`gongzhi.bulkywaste.routing`, the same ``solve`` the dispatcher uses) and, unless
``--no-baseline``, with OR-Tools (guided local search, same wall-clock budget).  One JSON
line per instance and solver goes to stdout::

    {"instance": "C101", "solver": "gongzhi", "vehicles": 10, "distance": 828.94, "seconds": 10.0,
     "routes": [[5, 3, 7, ...], ...], "feasible": true, "gap_pct": 0.0}

Customer numbers are those of the file.  Every solution is re-checked here, independently
of either solver, with unrounded Euclidean distances and times: each customer exactly once,
capacity, service starting within the window (waiting allowed), return to the depot by its
due date, at most the file's number of vehicles.  The distance printed is recomputed the
same way.  A failed check is printed on stderr and marks the line ``"feasible": false``.

The summary compares the mean gap to ``<name>_distance`` in ``BKS.json`` (found next to
each instance file), or else to the ``Cost`` line of ``<name>.sol`` beside it (CVRPLIB's
solution files), per class, for both solvers.  Where the ``.sol`` file lists its routes, they
are checked and measured here with the same ruler as ours (``--convention``), and a second gap,
``gap_same_ruler_pct``, compares the two lengths: CVRPLIB's printed costs follow the DIMACS
convention (each leg truncated to one decimal), which makes them 0.1–0.2 % shorter than the
same routes measured exactly, so the first gap errs high by that much.  Both solvers use every core: the
machine's cores run independent searches (different seeds for PyVRP, different
first-solution strategies for OR-Tools) and the best verified solution counts — except that
an instance of ``decompose.DECOMPOSE_FROM`` customers or more (Gehring & Homberger's 600 to
1,000) is one search by the platform's planner, whose regions use every core (wall clock only).

Never run by CI: it takes ``seconds`` × instances × solvers of wall-clock time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams  # noqa: E402
from pyvrp.search import NeighbourhoodParams, PerturbationParams  # noqa: E402
from pyvrp.solve import SolveParams  # noqa: E402

from gongzhi.bulkywaste import decompose, routing  # noqa: E402

CLASSES = ("C1", "C2", "R1", "R2", "RC1", "RC2")
"""Solomon's classes; Gehring & Homberger's are these with the size, e.g. ``R1_4`` (400 customers)."""
DEFAULT_RESTARTS = "default,5000"
"""Worker 0 runs PyVRP's defaults, worker 1 restarts from its best after 5,000 idle iterations."""
OVERHEAD_SECONDS = 0.15
"""Held back from each solver's budget for building the model and checking the result."""


@dataclass(frozen=True, slots=True)
class Customer:
    """One row of the customer table; number 0 is the depot."""

    number: int
    x: float
    y: float
    demand: int
    ready: int
    due: int
    service: int


@dataclass(frozen=True, slots=True)
class Instance:
    """A Solomon instance as read from its file."""

    name: str
    num_vehicles: int
    capacity: int
    depot: Customer
    customers: tuple[Customer, ...]
    convention: str = "exact"
    """How a leg is measured: ``exact`` (unrounded) or ``dimacs`` (truncated to one decimal, as published)."""

    @property
    def klass(self) -> str:
        """Benchmark class, e.g. ``RC1`` for RC101."""
        match = re.fullmatch(r"(RC|R|C)(\d)\d\d", self.name.upper())
        if match:
            return f"{match.group(1)}{match.group(2)}"
        match = re.fullmatch(r"(RC|R|C)(\d)_(\d+)_\d+", self.name.upper())  # Gehring & Homberger
        return f"{match.group(1)}{match.group(2)}_{match.group(3)}" if match else "?"


@dataclass(frozen=True, slots=True)
class Checked:
    """A solution checked against the file: distance and what is wrong, if anything."""

    distance: float
    errors: tuple[str, ...]


def read_instance(path: Path) -> Instance:
    """Parse a Solomon file (name, VEHICLE block, CUSTOMER table, row 0 = depot) or a VRPLIB ``.vrp`` file."""
    text = path.read_text()
    if "NODE_COORD_SECTION" in text:
        return read_vrplib(text, path)
    lines = [line.strip() for line in text.splitlines()]
    name = lines[0]
    vehicle_at = next(i for i, line in enumerate(lines) if line.upper().startswith("VEHICLE"))
    number_row = next(line for line in lines[vehicle_at + 1 :] if line and line[0].isdigit())
    num_vehicles, capacity = (int(v) for v in number_row.split())
    customer_at = next(i for i, line in enumerate(lines) if line.upper().startswith("CUSTOMER"))
    rows = []
    for line in lines[customer_at + 1 :]:
        if line and line[0].isdigit():
            no, x, y, demand, ready, due, service = line.split()
            rows.append(Customer(int(no), float(x), float(y), int(demand), int(ready), int(due), int(service)))
    if rows[0].number != 0:
        raise ValueError(f"{path}: the first customer row must be the depot (number 0)")
    return Instance(name, num_vehicles, capacity, rows[0], tuple(rows[1:]))


def read_vrplib(text: str, path: Path) -> Instance:
    """A VRPLIB VRPTW file: header (NAME, VEHICLES, CAPACITY, SERVICE_TIME), coordinates, demands, windows.

    Node 1 (or the DEPOT_SECTION's node) is the depot; customers keep their Solomon numbers (node − 1).
    """
    header: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if ":" in line and current is None or re.match(r"^[A-Z_]+\s*:", line):
            key, _, value = line.partition(":")
            header[key.strip().upper()] = value.strip()
            current = None
        elif line.endswith("_SECTION"):
            current = line
            sections[current] = []
        elif current is not None:
            sections[current].append(line.split())
    coords = {int(r[0]): (float(r[1]), float(r[2])) for r in sections["NODE_COORD_SECTION"]}
    demand = {int(r[0]): int(r[1]) for r in sections.get("DEMAND_SECTION", [])}
    windows = {int(r[0]): (int(float(r[1])), int(float(r[2]))) for r in sections["TIME_WINDOW_SECTION"]}
    service = {int(r[0]): int(float(r[1])) for r in sections.get("SERVICE_TIME_SECTION", [])}
    depot_rows = [int(r[0]) for r in sections.get("DEPOT_SECTION", []) if int(r[0]) > 0]
    depot_node = depot_rows[0] if depot_rows else 1
    default_service = int(float(header.get("SERVICE_TIME", "0")))
    rows = []
    for node in sorted(coords):
        x, y = coords[node]
        ready, due = windows[node]
        rows.append(
            Customer(
                node - depot_node if node >= depot_node else node,
                x,
                y,
                demand.get(node, 0),
                ready,
                due,
                0 if node == depot_node else service.get(node, default_service),
            )
        )
    depot = next(c for c in rows if c.number == 0)
    customers = tuple(c for c in rows if c.number != 0)
    name = header.get("NAME", path.stem)
    return Instance(name, int(header.get("VEHICLES", len(customers))), int(header["CAPACITY"]), depot, customers)


def euclid(a: Customer, b: Customer) -> float:
    """Unrounded Euclidean distance, which is also the travel time."""
    return math.hypot(a.x - b.x, a.y - b.y)


def leg(instance: Instance, a: Customer, b: Customer) -> float:
    """A leg's distance and travel time in the instance's convention: exact, or (DIMACS, the convention of
    CVRPLIB's Gehring & Homberger best-known values and of PyVRP's own benchmark) truncated to one decimal."""
    d = euclid(a, b)
    return math.floor(d * 10) / 10 if instance.convention == "dimacs" else d


class DimacsMatrix:
    """Plane distances truncated to one decimal; durations equal distances (the DIMACS convention)."""

    def matrices(self, places):
        distances, _ = routing.EuclideanMatrix().matrices(places)
        truncated = np.floor(distances * 10) / 10
        return truncated, truncated.copy()


def check(instance: Instance, routes: Sequence[Sequence[int]]) -> Checked:
    """Recompute distance and check feasibility with the instance's distances and times (unrounded, or
    truncated to one decimal under the DIMACS convention)."""
    by_number = {c.number: c for c in instance.customers}
    errors: list[str] = []
    seen: list[int] = []
    total = 0.0
    eps = 1e-6  # float noise only; the solver's integer model is strictly tighter
    if len(routes) > instance.num_vehicles:
        errors.append(f"{len(routes)} routes but only {instance.num_vehicles} vehicles")
    for r, route in enumerate(routes, start=1):
        here, clock, load = instance.depot, float(instance.depot.ready), 0
        for number in route:
            c = by_number.get(number)
            if c is None:
                errors.append(f"route {r}: unknown customer {number}")
                continue
            step = leg(instance, here, c)
            total += step
            clock = max(clock + step, c.ready)
            if clock > c.due + eps:
                errors.append(f"route {r}: customer {number} starts at {clock:.4f}, after its due time {c.due}")
            clock += c.service
            load += c.demand
            here = c
            seen.append(number)
        step = leg(instance, here, instance.depot)
        total += step
        clock += step
        if clock > instance.depot.due + eps:
            errors.append(f"route {r}: back at the depot at {clock:.4f}, after {instance.depot.due}")
        if load > instance.capacity:
            errors.append(f"route {r}: load {load} exceeds capacity {instance.capacity}")
    missing = sorted(set(by_number) - set(seen))
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if missing:
        errors.append(f"customers not visited: {missing}")
    if twice:
        errors.append(f"customers visited more than once: {twice}")
    return Checked(total, tuple(errors))


# ------------------------------------------------------------------------ gongzhi


class CpuTime:
    """PyVRP stopping criterion on this process's CPU time (``--clock cpu``)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start: float | None = None

    def __call__(self, best_cost: float) -> bool:
        if self.start is None:
            self.start = time.process_time()
        return time.process_time() - self.start > self.seconds


def _gongzhi_one(
    instance: Instance,
    seconds: float,
    seed: int,
    clock: str,
    restart_after: int | None,
    neighbours: int | None = None,
    max_perturbations: int | None = None,
    workers: int = 1,
) -> list[list[int]]:
    """One PyVRP search through the platform's routing module.

    ``restart_after`` is PyVRP's ``num_iters_no_improvement``: after that many iterations
    without a new best the search restarts from the best (``None``: PyVRP's default).
    ``neighbours`` (granular neighbourhood size) and ``max_perturbations``: PyVRP's defaults when ``None``.
    ``workers``: regions solved at once when the instance is large enough to be decomposed.
    """
    stops = [
        routing.Stop(
            id=str(c.number),
            location=routing.PlanePoint(c.x, c.y),
            demand=(c.demand,),
            tw_start=c.ready,
            tw_end=c.due,
            service_seconds=c.service,
        )
        for c in instance.customers
    ]
    depot = routing.PlanePoint(instance.depot.x, instance.depot.y)
    vehicles = [
        routing.VehicleSpec(f"V{i + 1}", depot, (instance.capacity,), instance.depot.ready, instance.depot.due)
        for i in range(instance.num_vehicles)
    ]
    params = None
    if restart_after is not None or neighbours is not None or max_perturbations is not None:
        base = SolveParams()
        ils = base.ils
        if restart_after is not None:
            ils = IteratedLocalSearchParams(num_iters_no_improvement=restart_after)
        hood = base.neighbourhood if neighbours is None else NeighbourhoodParams(num_neighbours=neighbours)
        shake = base.perturbation if max_perturbations is None else PerturbationParams(1, max_perturbations)
        params = SolveParams(ils=ils, neighbourhood=hood, perturbation=shake)
    matrix = DimacsMatrix() if instance.convention == "dimacs" else routing.EuclideanMatrix()
    if clock == "cpu":
        plan = routing.solve(stops, vehicles, matrix, stopping=lambda: CpuTime(seconds), seed=seed, params=params)
    else:
        plan = routing.solve(stops, vehicles, matrix, seconds=seconds, seed=seed, params=params, workers=workers)
    if plan.unassigned:
        print(f"FAIL: {instance.name} gongzhi left stops unassigned: {list(plan.unassigned)}", file=sys.stderr)
    return [[int(sid) for sid in route.stop_ids] for route in plan.routes]


# ------------------------------------------------------------------------ OR-Tools


def _ortools_one(instance: Instance, seconds: float, strategy: str, clock: str) -> list[list[int]]:
    """OR-Tools routing with guided local search, in the same integer units as ours."""
    try:
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    except ImportError:  # pragma: no cover - depends on the optional extra
        sys.exit("OR-Tools is not installed: pip install -r requirements-bench.txt (or use --no-baseline)")

    scale = routing.SCALE
    nodes = [instance.depot, *instance.customers]
    n = len(nodes)
    dist = [[round(leg(instance, a, b) * scale) for b in nodes] for a in nodes]
    # Same convention as gongzhi: travel times rounded up, so integer feasibility implies real feasibility.
    travel = [[math.ceil(leg(instance, a, b) * scale) for b in nodes] for a in nodes]
    manager = pywrapcp.RoutingIndexManager(n, instance.num_vehicles, 0)
    model = pywrapcp.RoutingModel(manager)

    # Matrices registered in C++ (not Python callbacks), so OR-Tools runs at full speed.
    service_then_travel = [[a.service * scale + travel[i][j] for j in range(n)] for i, a in enumerate(nodes)]
    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(dist))
    horizon = instance.depot.due * scale
    model.AddDimension(model.RegisterTransitMatrix(service_then_travel), horizon, horizon, False, "Time")
    time_dim = model.GetDimensionOrDie("Time")
    for node in range(1, n):
        time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(nodes[node].ready * scale, nodes[node].due * scale)
    for v in range(instance.num_vehicles):
        time_dim.CumulVar(model.Start(v)).SetRange(instance.depot.ready * scale, horizon)
        time_dim.CumulVar(model.End(v)).SetRange(instance.depot.ready * scale, horizon)
    model.AddDimensionWithVehicleCapacity(
        model.RegisterUnaryTransitVector([c.demand for c in nodes]),
        0,
        [instance.capacity] * instance.num_vehicles,
        True,
        "Load",
    )

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, strategy)
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    if clock == "cpu":
        started = time.process_time()
        model.AddSearchMonitor(model.solver().CustomLimit(lambda: time.process_time() - started > seconds))
        params.time_limit.FromMilliseconds(int(seconds * 20_000))  # a backstop only
    else:
        params.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = model.SolveWithParameters(params)
    if solution is None:
        return []  # this strategy found nothing in time; another worker may have
    routes = []
    for v in range(instance.num_vehicles):
        index, route = solution.Value(model.NextVar(model.Start(v))), []
        while not model.IsEnd(index):
            route.append(nodes[manager.IndexToNode(index)].number)
            index = solution.Value(model.NextVar(index))
        if route:
            routes.append(route)
    return routes


ORTOOLS_STRATEGIES = ("PATH_CHEAPEST_ARC", "PARALLEL_CHEAPEST_INSERTION", "LOCAL_CHEAPEST_INSERTION", "SAVINGS")


# ------------------------------------------------------------------------ running


def best_of(instance: Instance, results: Sequence[list[list[int]]]) -> tuple[list[list[int]], Checked]:
    """The shortest solution that passes the check (or the shortest at all if none does)."""
    checked = [(routes, check(instance, routes)) for routes in results]
    return min(checked, key=lambda rc: (bool(rc[1].errors), rc[1].distance))


def run_solver(
    pool: ProcessPoolExecutor,
    solver: str,
    instance: Instance,
    seconds: float,
    workers: int,
    clock: str,
    restarts: Sequence[int | None] = (None,),
    neighbours: int | None = None,
    max_perturbations: int | None = None,
) -> tuple[list[list[int]], Checked, float]:
    """Run ``workers`` independent searches in parallel; return the best and the wall time."""
    budget = max(0.1, seconds - OVERHEAD_SECONDS)
    started = time.perf_counter()
    if solver == "gongzhi" and clock == "wall" and len(instance.customers) >= decompose.DECOMPOSE_FROM:
        # A large instance: one search whose regions use every core (routing.solve decomposes it).
        restart = restarts[0]
        results = [_gongzhi_one(instance, budget, 0, clock, restart, neighbours, max_perturbations, workers)]
        routes, checked = best_of(instance, results)
        return routes, checked, time.perf_counter() - started
    if solver == "gongzhi":
        futures = [
            pool.submit(
                _gongzhi_one,
                instance,
                budget,
                seed,
                clock,
                restarts[seed % len(restarts)],
                neighbours,
                max_perturbations,
            )  # fmt: skip
            for seed in range(workers)
        ]
    else:
        strategies = [ORTOOLS_STRATEGIES[i % len(ORTOOLS_STRATEGIES)] for i in range(workers)]
        futures = [pool.submit(_ortools_one, instance, budget, s, clock) for s in strategies]
    results = [f.result() for f in futures]
    routes, checked = best_of(instance, results)
    return routes, checked, time.perf_counter() - started


def load_bks(instance_path: Path) -> dict[str, dict[str, object]]:
    """``BKS.json`` from the instance file's directory, else the ``Cost`` of ``<name>.sol`` beside the file.

    CVRPLIB's Gehring & Homberger solutions follow the DIMACS convention (distances truncated to one decimal),
    so their costs are slightly below the same routes' unrounded length: a gap measured here errs on the high side.
    """
    path = instance_path.parent / "BKS.json"
    if path.exists():
        return json.loads(path.read_text())
    sol = instance_path.with_suffix(".sol")
    if sol.exists():
        for line in sol.read_text().splitlines():
            if line.lower().startswith("cost"):
                name = read_instance(instance_path).name
                return {f"{name}_distance": {"best_known_cost": float(line.split()[1])}}
    return {}


def load_reference_routes(instance_path: Path) -> list[list[int]] | None:
    """The routes of ``<name>.sol`` beside the file (``Route #1: 5 3 7 …``, customers by their file numbers), if any."""
    sol = instance_path.with_suffix(".sol")
    if not sol.exists():
        return None
    routes = [
        [int(n) for n in line.partition(":")[2].split()]
        for line in sol.read_text().splitlines()
        if line.lower().startswith("route")
    ]
    return routes or None


def summary(rows: list[dict[str, object]], solvers: Sequence[str]) -> str:
    """Mean gap per class and overall, solvers side by side, with feasible counts."""
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    same: dict[tuple[str, str], list[float]] = defaultdict(list)
    feasible: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        solver, klass = str(row["solver"]), str(row["class"])
        for key in ((klass, solver), ("all", solver)):
            feasible[key] += bool(row["feasible"])
            if row.get("gap_pct") is not None:
                gaps[key].append(float(row["gap_pct"]))  # type: ignore[arg-type]
            if row.get("gap_same_ruler_pct") is not None:
                same[key].append(float(row["gap_same_ruler_pct"]))  # type: ignore[arg-type]
    seen = list(dict.fromkeys(str(row["class"]) for row in rows))
    ordered = [c for c in CLASSES if c in seen] + sorted(c for c in seen if c not in CLASSES)

    def table(title: str, means: dict[tuple[str, str], list[float]], count: str) -> list[str]:
        lines = ["", title, f"{'class':<6}{'n':>4}" + "".join(f"{s + ' gap %':>16}{count:>10}" for s in solvers)]
        for klass in (*ordered, "all"):
            n = max((len(means[(klass, s)]) for s in solvers), default=0)
            if n == 0:
                continue
            cells = "".join(
                (f"{sum(g) / len(g):>16.3f}" if (g := means[(klass, s)]) else f"{'-':>16}")
                + (f"{f'{feasible[(klass, s)]}/{len(g)}':>10}" if count == "feasible" else f"{len(g):>10}")
                for s in solvers
            )
            lines.append(f"{klass:<6}{n:>4}{cells}")
        return lines

    published = "as published (BKS.json <name>_distance, or .sol Cost)" if same else "(BKS.json <name>_distance)"
    lines = table(f"Mean gap to the distance-first best-known cost {published}:", gaps, "feasible")
    if same:
        lines += table(
            "Mean gap to the best-known routes of the .sol files measured here (same ruler as ours):", same, "n"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="Solomon instance files (.txt), or saved JSON lines")
    parser.add_argument("--seconds", type=float, help="seconds per instance and solver (required unless --summarize)")
    parser.add_argument(
        "--summarize", action="store_true", help="FILES are saved JSON-lines outputs: print their summary only"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the OR-Tools baseline")
    parser.add_argument(
        "--convention",
        choices=("exact", "dimacs"),
        default="exact",
        help="measure legs exactly (default) or truncated to one decimal, the DIMACS convention of the published "
        "Gehring & Homberger values (and of PyVRP's benchmark protocol): solved, checked and costed that way",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="parallel searches per solver (default: all cores)"
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="budget each search in wall-clock time (default) or in its own CPU time, which is what an "
        "otherwise idle machine gives in wall-clock time; use cpu when others share the machine",
    )
    parser.add_argument(
        "--restart-after",
        default=DEFAULT_RESTARTS,
        help="PyVRP num_iters_no_improvement per worker, comma-separated and cycled; 'default' keeps "
        f"PyVRP's (default: {DEFAULT_RESTARTS})",
    )
    parser.add_argument(
        "--neighbours", type=int, default=None, help="PyVRP's granular neighbourhood size (default: PyVRP's, 50)"
    )
    parser.add_argument(
        "--max-perturbations", type=int, default=None, help="PyVRP's perturbation size bound (default: PyVRP's, 25)"
    )
    parser.add_argument(
        "--region",
        default=None,
        help="decomposition settings for large instances, e.g. 'size=150,routes=10,seconds=0.5,first=0.1,drop=0.1' "
        "(decompose.REGION_SIZE, REGION_ROUTES, REGION_SECONDS, FIRST_SHARE, DROP_SHARE; default: the planner's)",
    )
    args = parser.parse_args(argv)
    for item in filter(None, (args.region or "").split(",")):
        key, _, value = item.partition("=")
        name = {
            "size": "REGION_SIZE",
            "routes": "REGION_ROUTES",
            "seconds": "REGION_SECONDS",
            "first": "FIRST_SHARE",
            "drop": "DROP_SHARE",
        }[key.strip()]
        setattr(decompose, name, type(getattr(decompose, name))(value))
    restarts = [None if r == "default" else int(r) for r in args.restart_after.split(",")]
    if args.summarize:
        latest: dict[tuple[str, str], dict[str, object]] = {}
        for f in args.files:
            for line in f.read_text().splitlines():
                if line.startswith("{"):
                    row = json.loads(line)
                    if "solver" in row:  # (not the reference lines)
                        latest[(row["instance"], row["solver"])] = row  # a re-run replaces an earlier line
        saved = list(latest.values())
        print(summary(saved, list(dict.fromkeys(str(row["solver"]) for row in saved))))
        return 0
    if args.seconds is None:
        parser.error("--seconds is required")
    solvers = ["gongzhi"] if args.no_baseline else ["gongzhi", "ortools"]
    if not args.no_baseline:
        try:
            import ortools  # noqa: F401
        except ImportError:
            parser.exit(2, "OR-Tools is not installed: pip install -r requirements-bench.txt (or use --no-baseline)\n")

    rows: list[dict[str, object]] = []
    failures = 0
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for path in args.files:
            instance = dataclasses.replace(read_instance(path), convention=args.convention)
            bks_entry = load_bks(path).get(f"{instance.name}_distance")
            bks = float(bks_entry["best_known_cost"]) if bks_entry else None  # type: ignore[arg-type]
            reference = None  # the published routes, measured and checked with our ruler
            if (ref_routes := load_reference_routes(path)) is not None:
                ref = check(instance, ref_routes)
                for error in ref.errors:
                    print(
                        f"NOTE: {instance.name} best-known routes, checked with {instance.convention} legs: {error}",
                        file=sys.stderr,
                    )
                reference = round(ref.distance, 2)
                print(
                    json.dumps(
                        {
                            "instance": instance.name,
                            "reference_routes": len(ref_routes),
                            "reference_distance": reference,
                            "reference_feasible": not ref.errors,
                            "published_cost": bks,
                        }
                    ),
                    flush=True,
                )
            for solver in solvers:
                load = os.getloadavg()[0]
                routes, checked, wall = run_solver(
                    pool, solver, instance, args.seconds, args.workers, args.clock, restarts,
                    args.neighbours, args.max_perturbations,
                )  # fmt: skip
                for error in checked.errors:
                    print(f"FAIL: {instance.name} {solver}: {error}", file=sys.stderr)
                failures += bool(checked.errors)
                row: dict[str, object] = {
                    "instance": instance.name,
                    "solver": solver,
                    "vehicles": len(routes),
                    "distance": round(checked.distance, 2),
                    "seconds": round(wall, 1),
                    "clock": args.clock,
                    "convention": args.convention,
                    "load_avg": round(load, 1),
                    "routes": routes,
                    "feasible": not checked.errors,
                    "class": instance.klass,
                    "bks": bks,
                    "gap_pct": round(100 * (checked.distance - bks) / bks, 3) if bks else None,
                    "reference_distance": reference,
                    "gap_same_ruler_pct": round(100 * (checked.distance - reference) / reference, 3)
                    if reference
                    else None,
                }
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
    print(summary(rows, solvers), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
