"""An independent check of a day's rounds (排线校验) — pure, no Django, no solver.

:func:`check_plan` re-drives every round of a :class:`~gongzhi.bulkywaste.routing.Plan`
from the stops, vehicles, unloading sites and travel matrix alone — it does not use the
solver, its integer model, or the routes' own times — and lists every rule a round
breaks: a stop served twice or never (and not reported), a loading start outside the
resident's window, a trip loaded beyond the truck's capacity in any dimension, an
unloading stop at an unknown site or outside its opening hours, more trips than the
truck may make, a round outside the shift or longer than allowed, and times or a
distance that differ from what the round reports.  Tests and the benchmarks use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gongzhi.bulkywaste.routing import Place, Plan, Stop, TravelMatrix, Unload, UnloadSite, VehicleSpec, Visit

__all__ = ["check_plan"]


def check_plan(
    plan: Plan,
    stops: Sequence[Stop],
    vehicles: Sequence[VehicleSpec],
    matrix: TravelMatrix,
    *,
    sites: Sequence[UnloadSite] = (),
    tolerance: float = 1e-6,
) -> list[str]:
    """Every rule the plan breaks, as readable lines; an empty list means feasible.

    ``tolerance`` (seconds, and relative for distance) absorbs float rounding only.
    """
    problems: list[str] = []
    stop_by_id = {s.id: s for s in stops}
    vehicle_by_id = {v.id: v for v in vehicles}
    site_by_id = {u.id: u for u in sites}
    places: list[Place] = list(
        dict.fromkeys([v.depot for v in vehicles] + [u.location for u in sites] + [s.location for s in stops])
    )
    where = {p: i for i, p in enumerate(places)}
    dist, dur = matrix.matrices(places) if places else (None, None)

    seen: dict[str, str] = {}
    used_vehicles: set[str] = set()
    for route in plan.routes:
        v = vehicle_by_id.get(route.vehicle_id)
        if v is None:
            problems.append(f"round of unknown vehicle {route.vehicle_id}")
            continue
        if route.vehicle_id in used_vehicles:
            problems.append(f"vehicle {v.id} has two rounds")
        used_vehicles.add(route.vehicle_id)
        # The round's elements in driving order: visits grouped by trip, an unloading stop between trips.
        trips: dict[int, list[Visit]] = {}
        for visit in route.stops:
            trips.setdefault(visit.trip, []).append(visit)
        if route.stops and (min(trips) < 0 or max(trips) > len(route.unloads)):
            problems.append(f"vehicle {v.id}: trip numbers do not match its {len(route.unloads)} unloading stops")
            continue
        sequence: list[Visit | Unload] = []
        for n in range(len(route.unloads) + 1):
            sequence.extend(trips.get(n, []))
            if n < len(route.unloads):
                sequence.append(route.unloads[n])
        if v.max_trips is not None and len(route.unloads) + 1 > v.max_trips:
            problems.append(f"vehicle {v.id}: {len(route.unloads) + 1} trips, at most {v.max_trips} allowed")
        if route.unloads and not sites:
            problems.append(f"vehicle {v.id}: unloads between trips but no unloading site was given")

        time = route.start_time
        if time < v.shift_start - tolerance:
            problems.append(f"vehicle {v.id}: leaves at {time:.0f}, before its shift starts at {v.shift_start}")
        at = where[v.depot]
        dims = len(v.capacity)
        load = [0] * dims
        distance = 0.0
        trip = 0
        for element in sequence:
            if isinstance(element, Visit):
                stop = stop_by_id.get(element.stop_id)
                if stop is None:
                    problems.append(f"vehicle {v.id}: unknown stop {element.stop_id}")
                    continue
                if stop.id in seen:
                    problems.append(f"stop {stop.id} served twice (vehicles {seen[stop.id]} and {v.id})")
                seen[stop.id] = v.id
                if element.trip != trip:
                    problems.append(f"stop {stop.id}: reported on trip {element.trip}, driven on trip {trip}")
                here = where[stop.location]
                leg = float(dur[at, here])
                if not math.isfinite(leg):
                    problems.append(f"vehicle {v.id}: no road to stop {stop.id}")
                    break
                arrival = time + leg
                distance += float(dist[at, here])
                start = max(arrival, float(stop.tw_start))
                if start > stop.tw_end + tolerance:
                    problems.append(
                        f"stop {stop.id}: loading starts at {start:.0f}, after its window closes at {stop.tw_end}"
                    )
                if abs(start - element.start) > tolerance:
                    problems.append(f"stop {stop.id}: reported start {element.start:.0f}, driven {start:.0f}")
                time = start + stop.service_seconds
                load = [a + b for a, b in zip(load, stop.demand, strict=True)]
                for d, (x, c) in enumerate(zip(load, v.capacity, strict=True)):
                    if x > c:
                        problems.append(f"vehicle {v.id} trip {trip}: load {x} > capacity {c} in dimension {d}")
                at = here
            else:
                site = site_by_id.get(element.site_id)
                if site is None:
                    problems.append(f"vehicle {v.id}: unloads at unknown site {element.site_id}")
                    continue
                here = where[site.location]
                leg = float(dur[at, here])
                if not math.isfinite(leg):
                    problems.append(f"vehicle {v.id}: no road to site {site.id}")
                    break
                arrival = time + leg
                distance += float(dist[at, here])
                start = max(arrival, float(site.opens))
                if start > site.closes + tolerance:
                    problems.append(f"vehicle {v.id}: unloads at {site.id} at {start:.0f}, after it closes")
                if abs(start - element.start) > tolerance:
                    problems.append(f"vehicle {v.id}: unloading reported at {element.start:.0f}, driven {start:.0f}")
                if tuple(load) != tuple(element.load):
                    problems.append(f"vehicle {v.id}: unloads {element.load}, carries {tuple(load)}")
                time = start + site.unload_seconds
                load = [0] * dims
                trip += 1
                at = here
        home = where[v.depot]
        back = float(dur[at, home])
        end = time + back + v.unload_seconds
        distance += float(dist[at, home])
        if end > v.shift_end + tolerance:
            problems.append(f"vehicle {v.id}: back and unloaded at {end:.0f}, after its shift ends at {v.shift_end}")
        if v.max_duration is not None and end - route.start_time > v.max_duration + tolerance:
            problems.append(f"vehicle {v.id}: round lasts {end - route.start_time:.0f} s > {v.max_duration}")
        if abs(end - route.end_time) > tolerance:
            problems.append(f"vehicle {v.id}: reported end {route.end_time:.0f}, driven {end:.0f}")
        if abs(distance - route.distance) > tolerance * max(1.0, distance):
            problems.append(f"vehicle {v.id}: reported distance {route.distance:.1f}, driven {distance:.1f}")

    unassigned = {u.stop_id for u in plan.unassigned}
    for s in stops:
        if s.id in seen and s.id in unassigned:
            problems.append(f"stop {s.id} is both served and reported unassigned")
        elif s.id not in seen and s.id not in unassigned:
            problems.append(f"stop {s.id} is neither served nor reported unassigned")
    return problems
