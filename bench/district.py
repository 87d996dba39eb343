"""A district's day of bulky-waste pickups: our planner against three baselines, checked independently.

    python bench/district.py --pickups 300 --vehicles 20 --seconds 30
    python bench/district.py --pickups 1000 --vehicles 60 --seconds 60 --no-ortools
    python bench/district.py --growth 100,300,1000 --seconds 30          # planning time as the day grows
    python bench/district.py --replan 20 --pickups 300 --vehicles 20     # stops moved per added booking

The day (seeded, so every run plans the same day): pickups spread over 二七区's subdistricts (街道) around
their approximate centres, the demo's windows (上午 8:00–12:00 for two bookings in three, 下午 13:00–17:00) and
service times (5 min a stop + 2 min an item), items drawn from the demo's catalogue (typical volume and weight);
vehicles of two sizes (16 m³ / 4 t and 10 m³ / 2.5 t, shift 7:30–17:30) from two depots, with the district's
transfer station (中转站) and both depots as unloading sites; travel from the straight-line matrix with its road
factor (1.3 × great-circle distance at 25 km/h).

Planners, all in this process, on the same day:

- ``gongzhi``: ``routing.solve`` with unloading sites (several trips a day), stopped after ``--seconds``.
- ``one-trip``: the same solver without unloading sites — today's model, one trip per truck. From
  ``decompose.DECOMPOSE_FROM`` pickups such a day is improved region by region; ``one-trip whole-day`` is the
  same without regions (the whole day searched for the whole budget), to show what they add.
- ``greedy``: nearest feasible neighbour, truck by truck; a truck that cannot take the next stop unloads at
  the nearest site when that helps and goes on, and goes home when nothing fits.
- ``ortools``: OR-Tools routing (guided local search) with the same time limit, several trips modelled the
  usual way (optional reload nodes that empty the truck, per-vehicle capacity dimensions with slack).

Every plan is re-driven by ``gongzhi.bulkywaste.plancheck.check_plan`` (not the solver): windows, capacity
per trip in both dimensions, shifts, unloading sites.  Printed: stops served, vehicles, km, planning seconds,
feasibility, and ratios against each baseline.  Never run by CI.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gongzhi.bulkywaste import decompose, routing  # noqa: E402
from gongzhi.bulkywaste.plancheck import check_plan  # noqa: E402

# Approximate centres (WGS-84) of 二七区's urban subdistricts; pickups fall around them.
STREETS = {
    "淮河路街道": (34.7410, 113.6530),
    "解放路街道": (34.7560, 113.6560),
    "铭功路街道": (34.7560, 113.6470),
    "一马路街道": (34.7480, 113.6440),
    "蜜蜂张街道": (34.7330, 113.6600),
    "五里堡街道": (34.7390, 113.6360),
    "大学路街道": (34.7250, 113.6400),
    "建中街街道": (34.7460, 113.6300),
    "福华街街道": (34.7300, 113.6250),
    "德化街街道": (34.7520, 113.6620),
    "人和路街道": (34.7350, 113.6300),
    "长江路街道": (34.7150, 113.6320),
    "京广路街道": (34.7200, 113.6520),
    "嵩山路街道": (34.7320, 113.6120),
    "樱桃沟管理区": (34.6700, 113.6050),
    "马寨镇": (34.6900, 113.5600),
}
# The demo catalogue's common items: (typical volume m³, typical weight kg).
ITEMS = {
    "double_bed": (1.8, 60), "mattress": (0.72, 25), "three_seat_sofa": (1.6, 50), "armchair": (0.69, 20),
    "wardrobe": (1.44, 80), "bookcase": (0.6, 40), "dining_table": (0.84, 30), "desk": (0.6, 25),
    "office_chair": (0.46, 12), "kitchen_cabinet": (0.5, 45), "old_bicycle": (0.5, 15), "metal_rack": (0.5, 20),
    "wooden_board": (0.05, 15),
}  # fmt: skip
DEPOTS = {"福华街车场": (34.7300, 113.6250), "京广路车场": (34.7200, 113.6520)}
TRANSFER = ("二七区中转站", (34.7000, 113.6150))
MORNING, AFTERNOON = (8 * 3600, 12 * 3600), (13 * 3600, 17 * 3600)
SHIFT = (7 * 3600 + 1800, 17 * 3600 + 1800)
SIZES = {"large": (16_000, 4_000), "small": (10_000, 2_500)}
VEHICLE_COST_KM = 100.0
"""A truck used at all costs its crew's day: at the demo's rates (40 元 a crew hour, 3.50 元 a km) two crew for a
10-hour shift are 800 元, the price of ~230 km; 100 km is a conservative weight that still prefers fewer trucks."""


@dataclass(frozen=True, slots=True)
class Day:
    stops: list[routing.Stop]
    vehicles: list[routing.VehicleSpec]
    sites: list[routing.UnloadSite]


def make_day(pickups: int, vehicles: int, seed: int = 7, vehicle_cost_km: float = 0) -> Day:
    rng = np.random.default_rng(seed)
    names = list(STREETS)
    codes = list(ITEMS)
    stops = []
    for i in range(pickups):
        lat, lon = STREETS[names[int(rng.integers(len(names)))]]
        # ~700 m spread around the centre (1° latitude ≈ 111 km).
        here = routing.Location(lat + rng.normal(0, 0.0063), lon + rng.normal(0, 0.0077))
        count = 0
        volume = weight = 0.0
        for code in rng.choice(codes, size=int(rng.choice([1, 1, 1, 2])), replace=False):
            qty = int(rng.choice([1, 1, 1, 2]))
            v, w = ITEMS[str(code)]
            volume += v * qty
            weight += w * qty
            count += qty
        window = MORNING if rng.random() < 2 / 3 else AFTERNOON
        stops.append(
            routing.Stop(
                f"B{i}", here, (math.ceil(volume * 1000), math.ceil(weight)), window[0], window[1], 300 + 120 * count
            )
        )
    depots = list(DEPOTS.values())
    fleet = []
    for i in range(vehicles):
        size = "large" if i % 5 < 3 else "small"  # 60 % large, 40 % small
        lat, lon = depots[i % len(depots)]
        fleet.append(
            routing.VehicleSpec(
                f"V{i:02d}",
                routing.Location(lat, lon),
                SIZES[size],
                SHIFT[0],
                SHIFT[1],
                unload_seconds=900,
                fixed_cost=round(vehicle_cost_km * 1000),
            )
        )
    sites = [routing.UnloadSite(name, routing.Location(*at), 900) for name, at in DEPOTS.items()]
    sites.append(routing.UnloadSite(TRANSFER[0], routing.Location(*TRANSFER[1]), 1200))
    return Day(stops, fleet, sites)


# ------------------------------------------------------------------------------------------ greedy


def greedy(day: Day, matrix: routing.TravelMatrix) -> routing.Plan:
    """Nearest feasible neighbour, one truck after another, unloading at the nearest site when full."""
    places = list(
        dict.fromkeys(
            [v.depot for v in day.vehicles] + [u.location for u in day.sites] + [s.location for s in day.stops]
        )
    )
    where = {p: i for i, p in enumerate(places)}
    dist, dur = matrix.matrices(places)
    left = {s.id: s for s in day.stops}
    routes = []
    for v in day.vehicles:
        legs: list[routing._Leg] = []
        load = [0, 0]
        route = None
        while True:
            at = where[legs[-1].location] if legs else where[v.depot]
            best = None
            for s in left.values():
                if not all(x + d <= c for x, d, c in zip(load, s.demand, v.capacity, strict=True)):
                    continue
                d = dist[at, where[s.location]]
                if best is None or d < best[0]:
                    trial = routing._simulate(v, [*legs, routing._Leg(stop=s)], v.shift_start, where, dist, dur)
                    if trial is not None:
                        best = (d, s, trial)
            if best is None and any(load):
                # Full (or nothing fits the rest of the truck): unload at the nearest site and try again.
                site = min(day.sites, key=lambda u: dist[at, where[u.location]])
                trial_legs = [*legs, routing._Leg(site=site)]
                if routing._simulate(v, trial_legs, v.shift_start, where, dist, dur) is not None:
                    legs, load = trial_legs, [0, 0]
                    continue
            if best is None:
                break
            _, s, route = best
            legs.append(routing._Leg(stop=s))
            load = [x + d for x, d in zip(load, s.demand, strict=True)]
            del left[s.id]
        if route is not None:
            routes.append(routing._simulate(v, legs, v.shift_start, where, dist, dur))
    unassigned = tuple(routing.Unassigned(sid, routing.UnassignedReason.NO_VEHICLE) for sid in left)
    return routing.Plan(routes=tuple(r for r in routes if r is not None), unassigned=unassigned)


# ------------------------------------------------------------------------------------------ OR-Tools


def ortools_plan(
    day: Day, matrix: routing.TravelMatrix, seconds: float, strategy: str = "PARALLEL_CHEAPEST_INSERTION"
) -> routing.Plan:
    """OR-Tools with several trips: optional reload nodes (copies of each site) that empty the truck."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    scale = routing.SCALE
    trips_max = 4  # reload copies per site and vehicle pool: enough for every truck's possible reloads here
    depots = list(dict.fromkeys(v.depot for v in day.vehicles))
    nodes: list[tuple[str, object]] = [("depot", d) for d in depots]
    nodes += [("stop", s) for s in day.stops]
    for _ in range(trips_max * max(1, len(day.vehicles) // 2)):
        nodes += [("site", u) for u in day.sites]
    places = list(dict.fromkeys(n[1].location if n[0] != "depot" else n[1] for n in nodes))
    where = {p: i for i, p in enumerate(places)}
    dist, dur = matrix.matrices(places)
    loc = [where[n[1].location if n[0] != "depot" else n[1]] for n in nodes]
    dist_i = np.rint(dist * scale).astype(np.int64)[np.ix_(loc, loc)]
    dur_i = np.ceil(dur * scale).astype(np.int64)[np.ix_(loc, loc)]
    service = [
        (n[1].service_seconds if n[0] == "stop" else n[1].unload_seconds if n[0] == "site" else 0) * scale
        for n in nodes
    ]
    n = len(nodes)
    starts = [depots.index(v.depot) for v in day.vehicles]
    manager = pywrapcp.RoutingIndexManager(n, len(day.vehicles), starts, starts)
    model = pywrapcp.RoutingModel(manager)
    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(dist_i.tolist()))
    for k, v in enumerate(day.vehicles):
        model.SetFixedCostOfVehicle(v.fixed_cost * scale, k)
    time_matrix = (dur_i + np.array(service, dtype=np.int64)[:, None]).tolist()
    horizon = 24 * 3600 * scale
    model.AddDimension(model.RegisterTransitMatrix(time_matrix), horizon, horizon, False, "Time")
    time_dim = model.GetDimensionOrDie("Time")
    for i, (kind, obj) in enumerate(nodes):
        if kind == "stop":
            time_dim.CumulVar(manager.NodeToIndex(i)).SetRange(obj.tw_start * scale, obj.tw_end * scale)
        elif kind == "site":
            time_dim.CumulVar(manager.NodeToIndex(i)).SetRange(obj.opens * scale, obj.closes * scale)
    for k, v in enumerate(day.vehicles):
        time_dim.CumulVar(model.Start(k)).SetRange(v.shift_start * scale, v.shift_end * scale)
        time_dim.CumulVar(model.End(k)).SetRange(v.shift_start * scale, (v.shift_end - v.unload_seconds) * scale)
    # Load per dimension: a stop adds its demand; a reload node removes up to the truck's capacity (slack).
    for dim in range(2):
        caps = [v.capacity[dim] for v in day.vehicles]
        callbacks = []
        for v in day.vehicles:
            demand = [
                obj.demand[dim] if kind == "stop" else -v.capacity[dim] if kind == "site" else 0 for kind, obj in nodes
            ]
            callbacks.append(model.RegisterUnaryTransitVector(demand))
        model.AddDimensionWithVehicleTransitAndCapacity(callbacks, max(caps), caps, True, f"Load{dim}")
        load = model.GetDimensionOrDie(f"Load{dim}")
        for i, (kind, _obj) in enumerate(nodes):
            index = manager.NodeToIndex(i)
            if kind == "stop":
                load.SlackVar(index).SetValue(0)
            elif kind == "site":
                load.SlackVar(index).SetRange(0, max(caps))
    for i, (kind, _obj) in enumerate(nodes):
        if kind == "site":
            model.AddDisjunction([manager.NodeToIndex(i)], 0)
        elif kind == "stop":
            model.AddDisjunction([manager.NodeToIndex(i)], int(dist_i.max()) * 10)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, strategy)
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = model.SolveWithParameters(params)
    if solution is None:
        return routing.Plan(
            routes=(),
            unassigned=tuple(routing.Unassigned(s.id, routing.UnassignedReason.NO_VEHICLE) for s in day.stops),
        )
    where_p = where
    routes = []
    served = set()
    for k, v in enumerate(day.vehicles):
        index = solution.Value(model.NextVar(model.Start(k)))
        legs = []
        while not model.IsEnd(index):
            kind, obj = nodes[manager.IndexToNode(index)]
            if kind == "stop":
                legs.append(routing._Leg(stop=obj))
                served.add(obj.id)
            elif kind == "site" and legs and legs[-1].stop is not None:
                legs.append(routing._Leg(site=obj))
            index = solution.Value(model.NextVar(index))
        while legs and legs[-1].site is not None:
            legs.pop()
        if not legs:
            continue
        leave = solution.Min(time_dim.CumulVar(model.Start(k))) / scale
        route = routing._simulate(v, legs, leave, where_p, dist, dur) or routing._simulate(
            v, legs, float(v.shift_start), where_p, dist, dur
        )
        if route is None:  # report it as it stands so that the checker says what is wrong
            route = _unchecked(v, legs, leave, where_p, dist, dur)
        routes.append(route)
    unassigned = tuple(
        routing.Unassigned(s.id, routing.UnassignedReason.NO_VEHICLE) for s in day.stops if s.id not in served
    )
    return routing.Plan(routes=tuple(routes), unassigned=unassigned)


def _unchecked(v, legs, leave, where, dist, dur) -> routing.Route:
    """Drive legs without refusing anything (the checker then lists what the route breaks)."""
    relaxed = routing.VehicleSpec(v.id, v.depot, (10**12, 10**12), 0, 10**9)
    free = [
        routing._Leg(stop=routing.Stop(x.stop.id, x.stop.location, x.stop.demand, 0, 10**9, x.stop.service_seconds))
        if x.stop is not None
        else routing._Leg(site=routing.UnloadSite(x.site.id, x.site.location, x.site.unload_seconds, 0, 10**9))
        for x in legs
    ]
    return routing._simulate(relaxed, free, leave, where, dist, dur)


# ------------------------------------------------------------------------------------------ running


def summarise(name: str, plan: routing.Plan, seconds: float, day: Day, matrix, sites) -> dict[str, object]:
    problems = check_plan(plan, day.stops, day.vehicles, matrix, sites=sites)
    for p in problems[:10]:
        print(f"FAIL {name}: {p}", file=sys.stderr)
    return {
        "planner": name,
        "served": sum(len(r.stops) for r in plan.routes),
        "unserved": len(plan.unassigned),
        "vehicles": plan.num_vehicles,
        "trips": sum(r.num_trips for r in plan.routes),
        "km": round(plan.total_distance / 1000, 1),
        "seconds": round(seconds, 2),
        "feasible": not problems,
        "problems": len(problems),
    }


def run_day(
    pickups: int, vehicles: int, seconds: float, *, ortools: bool, seed: int, vehicle_cost_km: float
) -> list[dict[str, object]]:
    day = make_day(pickups, vehicles, seed, vehicle_cost_km)
    matrix = routing.StraightLineMatrix()
    rows = []
    load = os.getloadavg()[0]

    t = time.perf_counter()
    ours = routing.solve(day.stops, day.vehicles, matrix, seconds=seconds, seed=0, sites=day.sites)
    rows.append(summarise("gongzhi", ours, time.perf_counter() - t, day, matrix, day.sites))

    t = time.perf_counter()
    one = routing.solve(day.stops, day.vehicles, matrix, seconds=seconds, seed=0)
    rows.append(summarise("one-trip", one, time.perf_counter() - t, day, matrix, ()))

    if len(day.stops) >= decompose.DECOMPOSE_FROM:
        # One trip per truck is a day the planner improves region by region: the same without regions.
        t = time.perf_counter()
        whole = routing.solve(day.stops, day.vehicles, matrix, seconds=seconds, seed=0, decompose_from=None)
        rows.append(summarise("one-trip whole-day", whole, time.perf_counter() - t, day, matrix, ()))

    t = time.perf_counter()
    g = greedy(day, matrix)
    rows.append(summarise("greedy", g, time.perf_counter() - t, day, matrix, day.sites))

    if ortools:
        t = time.perf_counter()
        o = ortools_plan(day, matrix, seconds)
        rows.append(summarise("ortools", o, time.perf_counter() - t, day, matrix, day.sites))
    for row in rows:
        row.update(pickups=pickups, fleet=vehicles, budget=seconds, load_avg=round(load, 1))
        print(json.dumps(row, ensure_ascii=False), flush=True)
    print_table(rows)
    return rows


def print_table(rows: list[dict[str, object]]) -> None:
    ours = rows[0]
    print(f"\n{'planner':<20}{'served':>8}{'unserved':>9}{'veh':>5}{'trips':>6}{'km':>8}{'s':>7}{'ok':>4}"
          f"{'km/km_ours':>11}{'veh/veh_ours':>13}")  # fmt: skip
    for r in rows:
        km_ratio = float(r["km"]) / float(ours["km"]) if ours["km"] else float("nan")
        veh_ratio = int(r["vehicles"]) / int(ours["vehicles"]) if ours["vehicles"] else float("nan")
        print(
            f"{r['planner']:<20}{r['served']:>8}{r['unserved']:>9}{r['vehicles']:>5}{r['trips']:>6}{r['km']:>8}"
            f"{r['seconds']:>7}{'yes' if r['feasible'] else 'NO':>4}{km_ratio:>11.2f}{veh_ratio:>13.2f}"
        )
    print()


def replan(pickups: int, vehicles: int, additions: int, seconds: float, seed: int, vehicle_cost_km: float) -> None:
    """Plan the day without its last ``additions`` bookings, then add them one at a time."""
    day = make_day(pickups, vehicles, seed, vehicle_cost_km)
    matrix = routing.StraightLineMatrix()
    base = day.stops[: pickups - additions]
    plan = routing.solve(base, day.vehicles, matrix, seconds=seconds, seed=0, sites=day.sites)
    stable_moved, resolve_moved, inserted, times = [], [], 0, []
    for k in range(pickups - additions, pickups):
        stops = day.stops[: k + 1]
        t = time.perf_counter()
        new = routing.insert_stable(plan, stops, day.vehicles, matrix, [day.stops[k].id], sites=day.sites)
        times.append(time.perf_counter() - t)
        fresh = routing.solve(stops, day.vehicles, matrix, seconds=seconds, seed=0, sites=day.sites, initial=plan)
        resolve_moved.append(len(routing.moved_stops(plan, fresh)))
        if new is None:
            new = fresh
        else:
            inserted += 1
        problems = check_plan(new, stops, day.vehicles, matrix, sites=day.sites)
        stable_moved.append(len(routing.moved_stops(plan, new)))
        if problems:
            print(f"FAIL replan {k}: {problems[:3]}", file=sys.stderr)
        plan = new
    print(
        json.dumps(
            {
                "replan_additions": additions,
                "inserted_without_solving": inserted,
                "moved_per_addition_stable": round(sum(stable_moved) / additions, 2),
                "moved_max_stable": max(stable_moved),
                "moved_per_addition_warm_resolve": round(sum(resolve_moved) / additions, 2),
                "moved_max_warm_resolve": max(resolve_moved),
                "insert_seconds_mean": round(sum(times) / len(times), 3),
                "resolve_budget_seconds": seconds,
            },
            ensure_ascii=False,
        ),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pickups", type=int, default=300)
    parser.add_argument("--vehicles", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="time limit for each solver (wall clock)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated day")
    parser.add_argument("--no-ortools", action="store_true")
    parser.add_argument("--growth", help="comma-separated pickup counts; vehicles grow in proportion (1 per 15)")
    parser.add_argument("--replan", type=int, help="add this many bookings one at a time and count moved stops")
    parser.add_argument(
        "--vehicle-cost-km",
        type=float,
        default=VEHICLE_COST_KM,
        help=f"what using a truck at all costs, in km of driving, for every planner that can weigh it "
        f"(default {VEHICLE_COST_KM:g}: see VEHICLE_COST_KM)",
    )
    args = parser.parse_args(argv)
    if args.replan:
        replan(args.pickups, args.vehicles, args.replan, args.seconds, args.seed, args.vehicle_cost_km)
        return 0
    if args.growth:
        for n in (int(x) for x in args.growth.split(",")):
            run_day(
                n,
                max(2, round(n / 15)),
                args.seconds,
                ortools=not args.no_ortools,
                seed=args.seed,
                vehicle_cost_km=args.vehicle_cost_km,
            )
        return 0
    rows = run_day(
        args.pickups,
        args.vehicles,
        args.seconds,
        ortools=not args.no_ortools,
        seed=args.seed,
        vehicle_cost_km=args.vehicle_cost_km,
    )
    return 0 if rows[0]["feasible"] else 1


if __name__ == "__main__":
    sys.exit(main())
