"""Planning: queue a day's (re-)plan, solve it in the background and store its rounds.

Solving runs outside any transaction (it may take seconds); the result is written in one transaction only if
nobody planned the day meanwhile. The background task is defined here, beside what it runs; `tasks.py`
re-exports it for the worker, so no module imports back up into the actions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

import gongzhi.bulkywaste.actions.messages as messages  # the module itself, not the package (no cycle)
from gongzhi.bulkywaste import routing
from gongzhi.bulkywaste.models import (
    Booking,
    DayPlan,
    Round,
    RoundStop,
    RoundUnload,
    ServiceArea,
    UnloadSite,
    Vehicle,
)
from gongzhi.core import audit, jobs
from gongzhi.core.gate import require

if TYPE_CHECKING:
    from gongzhi.core.models import User


def queue_plan(area: ServiceArea, day: date, now: datetime | None = None) -> DayPlan:
    """Queue a (re-)plan; `now` is the moment of the change that asked for it (the plan starts no earlier)."""
    plan, _ = DayPlan.objects.get_or_create(area=area, day=day)
    DayPlan.objects.filter(pk=plan.pk).update(status=DayPlan.Status.QUEUED, requested_at=timezone.now())
    as_of = now.isoformat() if now is not None else None

    transaction.on_commit(lambda: plan_day_task.enqueue(plan.pk, as_of))
    return plan


def replan_if_planned(area: ServiceArea, day: date, now: datetime) -> None:
    """Automatic re-plan when bookings change on a day already planned and not yet under way."""
    if DayPlan.objects.filter(area=area, day=day).exists() and day >= timezone.localdate(now):
        queue_plan(area, day, now)


@transaction.atomic
def request_plan(area: ServiceArea, day: date, *, actor: User | None) -> DayPlan:
    """The dispatcher's 'plan / re-plan' button: solving runs as a background task."""
    require(actor, "bulkywaste.dispatch", area)
    plan = queue_plan(area, day)
    audit.record("bulky.request_plan", plan, actor=actor, changes={"area": area.pk, "day": day})
    return plan


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _at(day: date, seconds: float) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(0))) + timedelta(seconds=round(seconds))


def travel_matrix() -> tuple[routing.TravelMatrix, str]:
    url = getattr(settings, "GONGZHI_OSRM_URL", "")
    if url:
        return routing.OsrmMatrix(url), "osrm"
    return routing.StraightLineMatrix(), "straight_line"


@dataclass
class _Problem:
    stops: list[routing.Stop] = field(default_factory=list)
    vehicles: list[routing.VehicleSpec] = field(default_factory=list)
    bookings: dict[int, Booking] = field(default_factory=dict)
    sites: list[routing.UnloadSite] = field(default_factory=list)


def _problem(plan: DayPlan, now: datetime) -> _Problem:
    area, day = plan.area, plan.day
    # Subqueries, not exclude() across the relation: exclude(rounds__day=…, rounds__status=…) would also drop
    # a vehicle that has a completed round on ANOTHER day and a planned round on this one.
    under_way = Round.objects.filter(day=day, status__in=[Round.Status.STARTED, Round.Status.COMPLETED])
    bookings = list(
        Booking.objects.filter(area=area, day=day, status__in=Booking.OPEN)
        .exclude(pk__in=RoundStop.objects.filter(round__in=under_way).values("booking_id"))
        .order_by("id")
    )
    vehicles = list(
        Vehicle.objects.filter(area=area, active=True).exclude(pk__in=under_way.values("vehicle_id")).order_by("id")
    )
    today = timezone.localdate(now)
    earliest = _seconds(timezone.localtime(now).time()) if day == today else 0
    p = _Problem(bookings={b.pk: b for b in bookings})
    # With unloading sites (depots, transfer stations) a truck makes as many trips as its shift allows.
    home_unload: dict[routing.Location, int] = {}
    for site in UnloadSite.objects.filter(area=area, active=True).order_by("id"):
        where = routing.Location(float(site.latitude), float(site.longitude))
        p.sites.append(
            routing.UnloadSite(
                id=str(site.pk),
                location=where,
                unload_seconds=site.unload_minutes * 60,
                opens=_seconds(site.opens),
                closes=_seconds(site.closes),
            )
        )
        if site.kind == UnloadSite.Kind.DEPOT:
            home_unload.setdefault(where, site.unload_minutes * 60)
    for v in vehicles:
        start = max(_seconds(v.shift_start), earliest)
        end = max(_seconds(v.shift_end), start)
        depot = routing.Location(float(v.depot_latitude), float(v.depot_longitude))
        p.vehicles.append(
            routing.VehicleSpec(
                id=str(v.pk),
                depot=depot,
                capacity=(v.volume_litres, v.weight_kg),
                shift_start=start,
                shift_end=end,
                # Unloading at its own depot at the end of the day is part of the shift when the depot is a site.
                unload_seconds=min(home_unload.get(depot, 0), end - start),
                fixed_cost=settings.GONGZHI_BULKY_TRUCK_COST_KM * 1000,  # metres of driving
            )
        )
    for b in bookings:
        tw_start = max(_seconds(b.window_start), earliest)
        tw_end = max(_seconds(b.window_end), tw_start)
        p.stops.append(
            routing.Stop(
                id=f"B{b.pk}",
                location=routing.Location(float(b.latitude), float(b.longitude)),
                demand=(b.volume_litres, int(math.ceil(b.weight_kg))),
                tw_start=tw_start,
                tw_end=tw_end,
                service_seconds=area.service_seconds_base + area.service_seconds_per_item * b.item_count,
            )
        )
    return p


def _parse_stop_id(stop_id: str) -> tuple[int, int]:
    head, _, part = stop_id.partition("#")
    return int(head[1:]), int(part or 0)


def _stop_id(booking_id: int, part: int) -> str:
    return f"B{booking_id}#{part}" if part else f"B{booking_id}"


def _day_seconds(day: date, at: datetime) -> float:
    return (at - _at(day, 0)).total_seconds()


def _previous(plan: DayPlan) -> routing.Plan | None:
    """The day's planned (not yet started) rounds as a routing plan, to re-plan from; None if there are none."""
    rounds = list(Round.objects.filter(plan=plan, status=Round.Status.PLANNED).prefetch_related("stops", "unloads"))
    if not rounds:
        return None
    routes = []
    for r in rounds:
        visits = tuple(
            routing.Visit(
                _stop_id(st.booking_id, st.part),
                _day_seconds(plan.day, st.eta),
                _day_seconds(plan.day, st.eta),
                _day_seconds(plan.day, st.departure),
                (st.volume_litres, st.weight_kg),
                st.trip,
            )
            for st in r.stops.all()
        )
        unloads = tuple(
            routing.Unload(
                str(u.site_id),
                u.after_trip,
                _day_seconds(plan.day, u.eta),
                _day_seconds(plan.day, u.eta),
                _day_seconds(plan.day, u.departure),
                (u.volume_litres, u.weight_kg),
            )
            for u in r.unloads.all()
        )
        routes.append(
            routing.Route(
                vehicle_id=str(r.vehicle_id),
                stops=visits,
                start_time=_day_seconds(plan.day, r.start_at),
                end_time=_day_seconds(plan.day, r.end_at),
                load=(r.volume_litres, r.weight_kg),
                distance=float(r.distance_m),
                unloads=unloads,
            )
        )
    return routing.Plan(routes=tuple(routes))


def _solve(
    previous: routing.Plan | None,
    stops: list[routing.Stop],
    problem: _Problem,
    matrix: routing.TravelMatrix,
    iterations: int,
    seed: int,
) -> tuple[routing.Plan, str]:
    """Re-plan moving as few stops residents were told about as possible, else solve afresh.

    With a previous plan, bookings added since are first fitted in without moving any other stop to another
    truck or trip (``routing.insert_stable``); only when that fails is the day solved again, warm-started from
    the previous plan. Returns the plan and how it was made ("inserted", "warm" or "solved").
    """
    if previous is not None:
        planned = {v.stop_id for r in previous.routes for v in r.stops}
        new = [s.id for s in stops if s.id not in planned]
        kept = routing.insert_stable(previous, stops, problem.vehicles, matrix, new, sites=problem.sites)
        if kept is not None:
            served = {v.stop_id for r in kept.routes for v in r.stops}
            if all(s.id in served for s in stops):
                return kept, "inserted"
    result = routing.solve(
        stops, problem.vehicles, matrix, max_iterations=iterations, seed=seed, sites=problem.sites, initial=previous
    )
    return result, "warm" if previous is not None else "solved"


def plan_day(plan_id: int, *, iterations: int | None = None, seed: int = 0, now: datetime | None = None) -> DayPlan:
    """Solve the day's rounds (called by the background task) and store them.

    Reads and solves outside any transaction (the solver may take seconds), then writes in one transaction
    only if nobody planned the day meanwhile (the plan's version is bumped by a conditional UPDATE).
    Rounds already started are kept as they are; their vehicles and bookings are left out.
    """
    now = now or timezone.now()
    plan = DayPlan.objects.select_related("area").get(pk=plan_id)
    version = plan.version
    problem = _problem(plan, now)
    iterations = iterations or plan.area.solver_iterations
    matrix, source = travel_matrix()
    stops = routing.split_oversized(problem.stops, problem.vehicles)
    previous = _previous(plan)
    try:
        result, how = _solve(previous, stops, problem, matrix, iterations, seed)
    except (OSError, ValueError):
        if source != "osrm":
            raise
        matrix, source = routing.StraightLineMatrix(), "straight_line (osrm failed)"
        result, how = _solve(previous, stops, problem, matrix, iterations, seed)
    parts: dict[int, int] = defaultdict(int)
    for s in stops:
        bid, part = _parse_stop_id(s.id)
        parts[bid] = max(parts[bid], part)
    demand = {s.id: s.demand for s in stops}
    with transaction.atomic():
        if DayPlan.objects.filter(pk=plan.pk, version=version).update(version=F("version") + 1) != 1:
            return DayPlan.objects.get(pk=plan.pk)  # someone else planned it meanwhile; theirs stands
        eta = _store_rounds(plan, result, parts, demand, problem)
        unassigned = []
        for u in result.unassigned:
            bid, part = _parse_stop_id(u.stop_id)
            b = problem.bookings[bid]
            unassigned.append(
                {
                    "booking": bid,
                    "reference": b.reference,
                    "part": part,
                    "reason": u.reason.value,
                    "reason_zh": u.reason.label_zh,
                    "reason_en": u.reason.label_en,
                }
            )
        partly = {u["booking"] for u in unassigned}
        for bid, b in problem.bookings.items():
            new_eta = eta.get(bid) if bid not in partly else None
            status = Booking.Status.PLANNED if new_eta else Booking.Status.BOOKED
            Booking.objects.filter(pk=bid, status__in=Booking.OPEN).update(status=status, planned_eta=new_eta)
            b.area = plan.area
            messages.after_plan(b, new_eta, now)  # nothing before the cut-off; once when fixed; then real moves
        DayPlan.objects.filter(pk=plan.pk).update(
            status=DayPlan.Status.DONE,
            planned_at=timezone.now(),
            matrix=source,
            iterations=iterations,
            seed=seed,
            unassigned=unassigned,
            error="",
        )
        audit.record(
            "bulky.plan",
            plan,
            actor=None,
            changes={
                "version": version + 1,
                "rounds": len(result.routes),
                "trips": sum(r.num_trips for r in result.routes),
                "stops": sum(len(route.stops) for route in result.routes),
                "how": how,
                "moved": len(routing.moved_stops(previous, result)) if previous is not None else 0,
                "unassigned": [(u["reference"], u["part"], u["reason"]) for u in unassigned],
                "distance_m": int(result.total_distance),
                "matrix": source,
                "iterations": iterations,
                "seed": seed,
            },
        )
    return DayPlan.objects.get(pk=plan.pk)


def _store_rounds(
    plan: DayPlan, result: routing.Plan, parts: dict[int, int], demand: dict, problem: _Problem
) -> dict[int, datetime]:
    """Write the solved routes over the day's planned rounds, keeping their ids (and so their addresses): the
    k-th route of a vehicle reuses that vehicle's k-th planned round, and a booking's stop (booking, part) keeps
    its row wherever it moves. Rounds and stops no longer needed are deleted. Returns each booking's first ETA."""
    old_rounds: dict[int, list[Round]] = defaultdict(list)
    for rnd in Round.objects.filter(plan=plan, status=Round.Status.PLANNED).order_by("start_at", "id"):
        old_rounds[rnd.vehicle_id].append(rnd)
    old_stops = {
        (s.booking_id, s.part): s
        for s in RoundStop.objects.filter(round__plan=plan, round__status=Round.Status.PLANNED).order_by("id")
    }
    vehicles = {str(v.pk): v for v in Vehicle.objects.filter(pk__in=[int(v.id) for v in problem.vehicles])}
    eta: dict[int, datetime] = {}
    kept_rounds: set[int] = set()
    new_stops, changed_stops, unloads = [], [], []
    RoundUnload.objects.filter(round__plan=plan, round__status=Round.Status.PLANNED).delete()
    for route in result.routes:
        vehicle = vehicles[route.vehicle_id]
        values = {
            "start_at": _at(plan.day, route.start_time),
            "end_at": _at(plan.day, route.end_time),
            "distance_m": int(round(route.distance)),
            "volume_litres": route.load[0],
            "weight_kg": route.load[1],
        }
        mine = old_rounds.get(vehicle.pk) or []
        if mine:
            rnd = mine.pop(0)
            Round.objects.filter(pk=rnd.pk).update(**values)
        else:
            rnd = Round.objects.create(plan=plan, vehicle=vehicle, day=plan.day, **values)
        kept_rounds.add(rnd.pk)
        for order, visit in enumerate(route.stops, 1):
            bid, part = _parse_stop_id(visit.stop_id)
            at = _at(plan.day, visit.start)
            eta[bid] = min(eta.get(bid, at), at)
            fields = {
                "round_id": rnd.pk,
                "parts": parts[bid] or 1,
                "order": order,
                "eta": at,
                "departure": _at(plan.day, visit.departure),
                "volume_litres": demand[visit.stop_id][0],
                "weight_kg": demand[visit.stop_id][1],
                "trip": visit.trip,
            }
            stop = old_stops.pop((bid, part), None)
            if stop is None:
                new_stops.append(RoundStop(booking_id=bid, part=part, **fields))
            else:
                for k, v in fields.items():
                    setattr(stop, k, v)
                changed_stops.append(stop)
        for u in route.unloads:  # the unloading stops between its trips
            unloads.append(
                RoundUnload(
                    round_id=rnd.pk,
                    site_id=int(u.site_id),
                    after_trip=u.after_trip,
                    eta=_at(plan.day, u.start),
                    departure=_at(plan.day, u.departure),
                    volume_litres=u.load[0],
                    weight_kg=u.load[1],
                )
            )
    RoundStop.objects.filter(pk__in=[s.pk for s in old_stops.values()]).delete()
    if changed_stops:
        # Orders are not unique, so stops can be moved between rounds and reordered in one statement.
        RoundStop.objects.bulk_update(changed_stops, ["round", *_STOP_FIELDS[1:]])
    RoundStop.objects.bulk_create(new_stops)
    RoundUnload.objects.bulk_create(unloads)
    Round.objects.filter(plan=plan, status=Round.Status.PLANNED).exclude(pk__in=kept_rounds).delete()
    return eta


_STOP_FIELDS = ("round_id", "parts", "order", "eta", "departure", "volume_litres", "weight_kg", "trip")


@task()
def plan_day_task(plan_id: int, as_of: str | None = None) -> int:
    """Solve and store one area's day as of `as_of` (ISO time of the change; now if None); returns the rounds."""
    try:
        with jobs.tracked("day_plan", plan_id):  # held while planning: a dead worker is found by jobs.reap
            plan = plan_day(plan_id, now=datetime.fromisoformat(as_of) if as_of else None)
    except Exception as e:
        # Keep the dispatcher informed: the page shows the plan as failed with the error.
        DayPlan.objects.filter(pk=plan_id).update(status=DayPlan.Status.FAILED, error=str(e)[:2000])
        raise
    return plan.rounds.count()


@jobs.on_dead("day_plan")
def _plan_worker_died(plan_id: int, attempts: int, gave_up: bool) -> None:
    """A plan whose worker died: planned again, or after the last try shown as failed."""
    if gave_up:
        DayPlan.objects.filter(pk=plan_id).update(status=DayPlan.Status.FAILED, error=jobs.DIED)
    else:
        plan_day_task.enqueue(plan_id, None)
