"""Daily bulky-waste rounds as a vehicle-routing problem (车辆路径规划) — pure, no Django.

The dispatcher's day is a capacitated VRP with time windows: each booking is a
:class:`Stop` (where, how much in each load dimension, when the resident is home, how
long loading takes); each truck is a :class:`VehicleSpec` (depot, capacity per dimension,
shift).  :func:`solve` turns them into a PyVRP model, solves it and returns a
:class:`Plan`: routes with recomputed arrival/start/departure times, and the stops that
could not be served, each with a reason a dispatcher can act on.

Travel distances and times come from a pluggable :class:`TravelMatrix`:
:class:`StraightLineMatrix` (great-circle distance on WGS-84 times a road factor, at a
fixed speed) needs no network; :class:`OsrmMatrix` asks an OSRM ``/table`` service when
one is configured; :class:`EuclideanMatrix` is for plane benchmarks such as Solomon's.

Loads larger than any one truck are split first with :func:`split_oversized` (the
seed's story: one compound that needed three trucks).

A truck that is full need not end its day: given :class:`UnloadSite` s (its own depot, a
transfer station 中转站), it drives to one, unloads and goes out again within its shift —
a round then holds several trips (:attr:`Route.trips`), each within the capacity in every
dimension.  :func:`insert_stable` adds bookings to a planned day moving as few of the
stops residents were already told about as it can.

This module imports only the standard library, numpy and PyVRP.
"""

from __future__ import annotations

import json
import math
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple, Protocol, TypeAlias

import numpy as np
import pyvrp
from pyvrp import Client, Depot, ProblemData, VehicleType
from pyvrp.constants import MAX_VALUE
from pyvrp.solve import SolveParams
from pyvrp.stop import StoppingCriterion

from gongzhi.bulkywaste import decompose
from gongzhi.core.enums import CodedEnum

__all__ = [
    "DATUM",
    "EARTH_RADIUS_M",
    "SCALE",
    "EuclideanMatrix",
    "Location",
    "OsrmMatrix",
    "Place",
    "Plan",
    "PlanePoint",
    "Route",
    "StraightLineMatrix",
    "Stop",
    "TravelMatrix",
    "Unassigned",
    "UnloadSite",
    "Unload",
    "UnassignedReason",
    "VehicleSpec",
    "Visit",
    "haversine_m",
    "insert_stable",
    "moved_stops",
    "solve",
    "split_oversized",
]

DATUM = "WGS-84"
"""Geodetic datum of :class:`Location` coordinates (GPS; not China's GCJ-02 or BD-09)."""

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius of the WGS-84 ellipsoid, in metres, for the haversine formula."""

SCALE = 1000
"""PyVRP works in integers: distances and times are multiplied by this before rounding."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Location:
    """A point on the Earth: WGS-84 latitude and longitude in degrees."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ValueError(f"not a WGS-84 coordinate: lat={self.lat}, lon={self.lon}")


@dataclass(frozen=True, slots=True)
class PlanePoint:
    """A point on a plane (x, y) — benchmark instances, not the Earth."""

    x: float
    y: float


Place: TypeAlias = Location | PlanePoint


@dataclass(frozen=True, slots=True)
class Stop:
    """One pickup (上门收运点): a booking, or one part of a split booking.

    ``demand`` has one integer per load dimension, in the same order as every
    vehicle's ``capacity`` (e.g. ``(volume_litres, weight_kg)``).  ``tw_start`` and
    ``tw_end`` (seconds from the start of the day) bound when loading may *start*;
    a truck that arrives early waits.  A stop that is not ``required`` is served when
    it fits, and is the first to be left out when not everything does.
    """

    id: str
    location: Place
    demand: tuple[int, ...]
    tw_start: int
    tw_end: int
    service_seconds: int = 0
    required: bool = True

    def __post_init__(self) -> None:
        if any(d < 0 for d in self.demand):
            raise ValueError(f"stop {self.id}: demand must not be negative")
        if self.service_seconds < 0:
            raise ValueError(f"stop {self.id}: service_seconds must not be negative")
        if not 0 <= self.tw_start <= self.tw_end:
            raise ValueError(f"stop {self.id}: need 0 <= tw_start <= tw_end")


@dataclass(frozen=True, slots=True)
class VehicleSpec:
    """One truck (收运车辆): where it starts and ends, what it carries, its shift.

    It leaves its depot no earlier than ``shift_start`` and is back by ``shift_end``
    (seconds from the start of the day); ``max_duration`` optionally caps the time
    between leaving and returning.  When :func:`solve` is given unloading sites, the
    truck may unload at any of them between trips, at most ``max_trips`` trips in all
    (``None``: as many as the shift allows); ``unload_seconds`` is the time to unload at
    its own depot at the end of the day, which must also end by ``shift_end``.
    ``fixed_cost`` is what using the truck at all costs, in distance units (metres):
    the solver then uses fewer trucks unless that saves more than this in driving.
    """

    id: str
    depot: Place
    capacity: tuple[int, ...]
    shift_start: int
    shift_end: int
    max_duration: int | None = None
    max_trips: int | None = None
    unload_seconds: int = 0
    fixed_cost: int = 0

    def __post_init__(self) -> None:
        if any(c < 0 for c in self.capacity):
            raise ValueError(f"vehicle {self.id}: capacity must not be negative")
        if not 0 <= self.shift_start <= self.shift_end:
            raise ValueError(f"vehicle {self.id}: need 0 <= shift_start <= shift_end")
        if self.max_duration is not None and self.max_duration < 0:
            raise ValueError(f"vehicle {self.id}: max_duration must not be negative")
        if self.max_trips is not None and self.max_trips < 1:
            raise ValueError(f"vehicle {self.id}: max_trips must be at least 1")
        if self.unload_seconds < 0 or self.unload_seconds > self.shift_end - self.shift_start:
            raise ValueError(f"vehicle {self.id}: unload_seconds must fit in the shift")
        if self.fixed_cost < 0:
            raise ValueError(f"vehicle {self.id}: fixed_cost must not be negative")


@dataclass(frozen=True, slots=True)
class UnloadSite:
    """Where a full truck unloads between trips: a depot (车场) or a transfer station (中转站).

    Unloading takes ``unload_seconds`` and must start within ``opens``..``closes``
    (seconds from the start of the day).
    """

    id: str
    location: Place
    unload_seconds: int = 0
    opens: int = 0
    closes: int = 86_400 * 2

    def __post_init__(self) -> None:
        if self.unload_seconds < 0:
            raise ValueError(f"site {self.id}: unload_seconds must not be negative")
        if not 0 <= self.opens <= self.closes:
            raise ValueError(f"site {self.id}: need 0 <= opens <= closes")


@dataclass(frozen=True, slots=True)
class Visit:
    """A stop on a route, with times in seconds from the start of the day.

    ``load`` is what the truck carries after loading here, per dimension (since it
    last unloaded); ``trip`` counts the truck's trips from 0.
    """

    stop_id: str
    arrival: float
    start: float
    departure: float
    load: tuple[int, ...]
    trip: int = 0

    @property
    def wait(self) -> float:
        """Seconds spent waiting for the time window to open."""
        return self.start - self.arrival


@dataclass(frozen=True, slots=True)
class Unload:
    """An unloading stop between two trips: the truck empties at ``site_id``.

    ``after_trip`` is the trip it ends (the next trip is ``after_trip + 1``);
    ``load`` is what it unloads, per dimension.
    """

    site_id: str
    after_trip: int
    arrival: float
    start: float
    departure: float
    load: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Route:
    """One truck's round: depot → stops in order (with unloading stops between trips) → depot.

    ``distance`` (metres, or plane units) and all times are recomputed from the
    unrounded travel matrix; ``load`` is the total collected per dimension over all
    trips; ``unloads`` are the unloading stops between trips, in order (none for a
    single trip); ``end_time`` is when the truck is back and unloaded at its depot.
    """

    vehicle_id: str
    stops: tuple[Visit, ...]
    start_time: float
    end_time: float
    load: tuple[int, ...]
    distance: float
    unloads: tuple[Unload, ...] = ()

    @property
    def num_trips(self) -> int:
        """How many trips the round makes (unloading stops + 1)."""
        return len(self.unloads) + 1

    @property
    def trips(self) -> list[tuple[Visit, ...]]:
        """The visits of each trip, in order."""
        out: list[list[Visit]] = [[] for _ in range(self.num_trips)]
        for v in self.stops:
            out[v.trip].append(v)
        return [tuple(t) for t in out]

    @property
    def duration(self) -> float:
        """Seconds from leaving the depot to coming back."""
        return self.end_time - self.start_time

    @property
    def stop_ids(self) -> list[str]:
        """The stop ids in visiting order."""
        return [v.stop_id for v in self.stops]


class UnassignedReason(CodedEnum):
    """Why a stop is not on any route (未排入原因)."""

    CAPACITY = ("capacity", "超出车辆容量", "demand exceeds every vehicle's capacity")
    TIME_WINDOW = ("time_window", "时间窗无法到达", "time window unreachable")
    NO_VEHICLE = ("no_vehicle", "车辆或班次不足", "not enough vehicles or shift time")
    OPTIONAL = ("optional", "非必收站点，本次未排入", "optional stop left out")

    label_zh: str
    label_en: str

    def __str__(self) -> str:
        return f"{self.label_zh} / {self.label_en}"


class Unassigned(NamedTuple):
    """A stop left out of the plan, and why: unpacks as ``(stop_id, reason)``."""

    stop_id: str
    reason: UnassignedReason


@dataclass(frozen=True, slots=True)
class Plan:
    """The day's plan: routes (only trucks that are used) and unserved stops."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...] = field(default=())

    @property
    def total_distance(self) -> float:
        """Sum of the routes' unrounded distances."""
        return sum(r.distance for r in self.routes)

    @property
    def num_vehicles(self) -> int:
        """Number of trucks used."""
        return len(self.routes)


# ------------------------------------------------------------------ travel matrices


class TravelMatrix(Protocol):
    """Travel between places: distances (metres) and durations (seconds), n × n."""

    def matrices(self, places: Sequence[Place]) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(distances, durations)`` as float arrays; ``inf`` = unreachable."""
        ...


def _latlon(places: Sequence[Place]) -> np.ndarray:
    coords = []
    for p in places:
        if not isinstance(p, Location):
            raise TypeError(f"expected a WGS-84 Location, got {p!r}")
        coords.append((p.lat, p.lon))
    return np.radians(np.array(coords, dtype=float).reshape(-1, 2))


def haversine_m(a: Location, b: Location) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    return float(_haversine(_latlon([a]), _latlon([b]))[0, 0])


def _haversine(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    lat1, lon1 = p[:, 0:1], p[:, 1:2]
    lat2, lon2 = q[:, 0], q[:, 1]
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@dataclass(frozen=True, slots=True)
class StraightLineMatrix:
    """Great-circle distance times ``road_factor``, driven at ``speed_kmh``.

    A network-free estimate: city streets are typically 1.2–1.4 times the straight
    line, and a loaded truck in a residential district averages about 25 km/h.
    """

    road_factor: float = 1.3
    speed_kmh: float = 25.0

    def matrices(self, places: Sequence[Place]) -> tuple[np.ndarray, np.ndarray]:
        """See :class:`TravelMatrix`."""
        pts = _latlon(places)
        distances = _haversine(pts, pts) * self.road_factor
        np.fill_diagonal(distances, 0.0)
        return distances, distances / (self.speed_kmh / 3.6)


@dataclass(frozen=True, slots=True)
class EuclideanMatrix:
    """Plane distances; durations equal distances (the Solomon convention)."""

    def matrices(self, places: Sequence[Place]) -> tuple[np.ndarray, np.ndarray]:
        """See :class:`TravelMatrix`."""
        coords = []
        for p in places:
            if not isinstance(p, PlanePoint):
                raise TypeError(f"expected a PlanePoint, got {p!r}")
            coords.append((p.x, p.y))
        xy = np.array(coords, dtype=float).reshape(-1, 2)
        distances = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        return distances, distances.copy()


Opener: TypeAlias = Callable[..., object]


@dataclass(frozen=True, slots=True)
class OsrmMatrix:
    """Road distances and times from an OSRM ``/table`` service.

    Only used when a deployment configures ``base_url`` (e.g. its own OSRM built from
    OpenStreetMap data); the network is touched only by :meth:`matrices`.  ``opener``
    is ``urllib.request.urlopen`` unless a test passes a fake.  One request covers the
    whole day, so the server's ``--max-table-size`` (100 by default) must be at least
    the number of distinct places (depots and stops).
    """

    base_url: str
    profile: str = "driving"
    timeout: float = 30.0
    opener: Opener = urllib.request.urlopen

    def request_url(self, places: Sequence[Place]) -> str:
        """The ``/table`` URL for these places (OSRM wants ``lon,lat``)."""
        coords = []
        for p in places:
            if not isinstance(p, Location):
                raise TypeError(f"expected a WGS-84 Location, got {p!r}")
            coords.append(f"{p.lon:.6f},{p.lat:.6f}")
        base = self.base_url.rstrip("/")
        return f"{base}/table/v1/{self.profile}/{';'.join(coords)}?annotations=distance,duration"

    @staticmethod
    def parse(payload: bytes | str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Turn an OSRM ``/table`` response into ``(distances, durations)``.

        ``null`` entries (no route) become ``inf``.  Raises ``ValueError`` when OSRM
        reports an error or the shape is wrong.
        """
        body = json.loads(payload)
        if body.get("code") != "Ok":
            raise ValueError(f"OSRM error: {body.get('code')}: {body.get('message', '')}")
        out = []
        for key in ("distances", "durations"):
            rows = body.get(key)
            if rows is None or len(rows) != n or any(len(r) != n for r in rows):
                raise ValueError(f"OSRM response has no {n}×{n} {key!r} table")
            out.append(np.array([[math.inf if v is None else float(v) for v in r] for r in rows]))
        return out[0], out[1]

    def matrices(self, places: Sequence[Place]) -> tuple[np.ndarray, np.ndarray]:
        """See :class:`TravelMatrix`."""
        with self.opener(self.request_url(places), timeout=self.timeout) as resp:  # type: ignore[attr-defined]
            return self.parse(resp.read(), len(places))


# ------------------------------------------------------------------------ splitting


def split_oversized(stops: Sequence[Stop], vehicles: Sequence[VehicleSpec]) -> list[Stop]:
    """Split each stop that no single vehicle can carry into parts that each fit one.

    The parts are ``B123#1``, ``B123#2``, … with the demand shared out as evenly as
    possible in every dimension, the same place and window, and the loading time
    shared in proportion (rounded up).  The number of parts is the fewest that fit
    the vehicle needing fewest parts.  Stops that fit some vehicle are kept as they
    are; so is a stop that no vehicle can carry any of (it is reported unassigned).
    """
    result: list[Stop] = []
    for stop in stops:
        if not vehicles or any(_fits(stop.demand, v.capacity) for v in vehicles):
            result.append(stop)
            continue
        parts = min((_parts_needed(stop.demand, v.capacity) for v in vehicles), default=None)
        if parts is None or parts == math.inf:
            result.append(stop)
            continue
        k = int(parts)
        for i in range(k):
            demand = tuple(d // k + (1 if i < d % k else 0) for d in stop.demand)
            result.append(
                Stop(
                    id=f"{stop.id}#{i + 1}",
                    location=stop.location,
                    demand=demand,
                    tw_start=stop.tw_start,
                    tw_end=stop.tw_end,
                    service_seconds=-(-stop.service_seconds // k),
                    required=stop.required,
                )
            )
    return result


def _fits(demand: Sequence[int], capacity: Sequence[int]) -> bool:
    return len(demand) == len(capacity) and all(d <= c for d, c in zip(demand, capacity, strict=True))


def _parts_needed(demand: Sequence[int], capacity: Sequence[int]) -> float:
    if len(demand) != len(capacity):
        return math.inf
    needed = 1.0
    for d, c in zip(demand, capacity, strict=True):
        if d > 0:
            needed = max(needed, math.inf if c == 0 else -(-d // c))
    return needed


# --------------------------------------------------------------------------- solving


@dataclass(frozen=True, slots=True)
class _VehicleGroup:
    """Identical vehicles share one PyVRP vehicle type (fewer symmetric solutions)."""

    depot: Place
    capacity: tuple[int, ...]
    shift_start: int
    shift_end: int
    max_duration: int | None
    max_trips: int | None = 1
    unload_seconds: int = 0
    fixed_cost: int = 0


def solve(
    stops: Sequence[Stop],
    vehicles: Sequence[VehicleSpec],
    matrix: TravelMatrix,
    *,
    max_iterations: int | None = None,
    seconds: float | None = None,
    stopping: Callable[[], StoppingCriterion] | None = None,
    seed: int = 0,
    scale: int = SCALE,
    params: SolveParams | None = None,
    sites: Sequence[UnloadSite] = (),
    initial: Plan | None = None,
    workers: int = 1,
    decompose_from: int | None = decompose.DECOMPOSE_FROM,
) -> Plan:
    """Plan the rounds: minimise total distance, serving as many stops as possible.

    Stop after ``max_iterations`` and/or ``seconds`` of wall-clock time, or when a
    criterion made by ``stopping`` says so (a factory, because PyVRP's criteria keep
    state and each solver run needs a fresh one).  At least one is required; tests use
    iterations so that a fixed ``seed`` gives the same plan on any machine.

    Stops that no vehicle can carry, or whose window no vehicle can reach from its
    depot within its shift even on a trip of its own, are reported before solving.
    The rest are solved as a VRP with time windows; if that leaves the plan
    infeasible (too few trucks or too short shifts for everything), it is solved again
    with every stop optional but carrying a prize (see :func:`_prizes`), so the solver
    drops as few stops as it must, optional ones first; that second solve gets the same
    budget again.  Call :func:`split_oversized` first for loads larger than a truck.

    With ``sites`` (depots and transfer stations that take a full truck's load), each
    truck may make several trips, unloading at a site between them (PyVRP's reload
    depots); without, every truck makes one trip.  ``initial`` (a plan of the same
    stops and vehicles, e.g. yesterday's evening plan) warm-starts the search.

    A day of ``decompose_from`` stops or more (``None``: never) with one trip per truck is
    searched whole for a tenth of the budget (``seconds`` and/or ``max_iterations``) and then
    improved region by region for the rest (:mod:`.decompose`), ``workers`` regions at a time
    in separate processes. With unloading sites the whole day is searched for the whole
    budget: a truck making several trips covers much of the district, so its round lies in
    no one region (measured: on bench/district.py's 1,000-pickup day regions gave 6 % fewer
    km but two more trucks). A budget given only by ``stopping`` is always spent on the whole day.
    """
    if max_iterations is None and seconds is None and stopping is None:
        raise ValueError("give max_iterations, seconds or stopping")
    dims = {len(s.demand) for s in stops} | {len(v.capacity) for v in vehicles}
    if len(dims) > 1:
        raise ValueError(f"stops and vehicles disagree on the load dimensions: {sorted(dims)}")
    if len({s.id for s in stops}) != len(stops):
        raise ValueError("stop ids must be unique")
    if len({s.id for s in sites}) != len(sites):
        raise ValueError("site ids must be unique")
    if not stops:
        return Plan(routes=())
    if not vehicles:
        return Plan(routes=(), unassigned=tuple(Unassigned(s.id, UnassignedReason.NO_VEHICLE) for s in stops))

    groups: dict[_VehicleGroup, list[str]] = {}
    for v in vehicles:
        trips = v.max_trips if sites else 1
        key = _VehicleGroup(
            v.depot, v.capacity, v.shift_start, v.shift_end, v.max_duration, trips, v.unload_seconds, v.fixed_cost
        )
        groups.setdefault(key, []).append(v.id)

    # One PyVRP location per distinct place: depots first, then unloading sites, then stop places.
    places: list[Place] = []
    index: dict[Place, int] = {}
    for place in [g.depot for g in groups] + [u.location for u in sites] + [s.location for s in stops]:
        if place not in index:
            index[place] = len(places)
            places.append(place)
    distances, durations = matrix.matrices(places)
    dist_int = _to_int(distances * scale, np.rint)
    # Travel times are rounded UP: a route whose every leg is at least as long as the
    # real one arrives no earlier than the real truck would, so a schedule that is
    # feasible in the integer model stays feasible with the unrounded times (the truck
    # only arrives earlier and, at worst, waits).  Rounding to nearest could hide up
    # to half a unit of lateness per leg.
    dur_int = _to_int(durations * scale, np.ceil)

    unassigned: list[Unassigned] = []
    candidates: list[Stop] = []
    for stop in stops:
        reason = _precheck(stop, groups, index, dur_int, scale)
        if reason is None:
            candidates.append(stop)
        else:
            unassigned.append(Unassigned(stop.id, reason))

    if not candidates:
        return Plan(routes=(), unassigned=tuple(unassigned))

    prizes = _prizes(dist_int, reloads=bool(sites), truck_cost=max(g.fixed_cost for g in groups) * scale)
    base = params or SolveParams()

    def run(all_optional: bool) -> pyvrp.Solution:
        data = _problem_data(candidates, groups, sites, places, index, dist_int, dur_int, scale, prizes, all_optional)
        warm = _initial_solution(data, initial, candidates, groups, sites) if initial is not None else None
        run_params = base
        if all_optional or not all(s.required for s in candidates):
            # A unit of overload or lateness must cost more than any prize at the top
            # penalty, or the solver would rather break a constraint than drop a stop.
            penalty = replace(base.penalty, max_penalty=max(base.penalty.max_penalty, 4.0 * prizes[1]))
            run_params = SolveParams(
                base.ils, penalty, base.neighbourhood, base.operators, base.display_interval, base.perturbation
            )
        split = (
            decompose_from is not None
            and len(candidates) >= decompose_from
            and not sites
            and (max_iterations is not None or seconds is not None)
        )
        if not split:
            stop = decompose.stop_after(max_iterations, seconds, stopping() if stopping is not None else None)
            return pyvrp.solve(
                data, stop, seed=seed, collect_stats=False, params=run_params, initial_solution=warm
            ).best
        return decompose.solve_day(
            data,
            seed=seed,
            iterations=max_iterations,
            seconds=seconds,
            params=run_params,
            initial=warm,
            workers=workers,
        )

    solution = run(all_optional=False)
    if not solution.is_feasible():
        solution = run(all_optional=True)

    routes, served = _routes(solution, candidates, groups, sites, index, distances, durations, scale)
    if initial is not None:
        routes = _keep_vehicles(routes, groups, initial)
    for stop in candidates:
        if stop.id not in served:
            reason = UnassignedReason.NO_VEHICLE if stop.required else UnassignedReason.OPTIONAL
            unassigned.append(Unassigned(stop.id, reason))
    order = {s.id: i for i, s in enumerate(stops)}
    unassigned.sort(key=lambda u: order[u.stop_id])
    return Plan(routes=tuple(routes), unassigned=tuple(unassigned))


def _to_int(values: np.ndarray, rounding: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Scaled floats to PyVRP integers; unreachable (inf) becomes PyVRP's 'missing'."""
    out = np.full(values.shape, MAX_VALUE, dtype=np.int64)
    finite = np.isfinite(values)
    out[finite] = np.minimum(rounding(values[finite]), MAX_VALUE).astype(np.int64)
    np.fill_diagonal(out, 0)
    return out


def _precheck(
    stop: Stop,
    groups: dict[_VehicleGroup, list[str]],
    index: dict[Place, int],
    dur: np.ndarray,
    scale: int,
) -> UnassignedReason | None:
    """Why no vehicle could serve this stop even on a trip of its own, or ``None``."""
    carriers = [g for g in groups if _fits(stop.demand, g.capacity)]
    if not carriers:
        return UnassignedReason.CAPACITY
    here = index[stop.location]
    for g in carriers:
        depot = index[g.depot]
        there, back = int(dur[depot, here]), int(dur[here, depot])
        if there >= MAX_VALUE or back >= MAX_VALUE:
            return None  # no direct road: only the solver can tell whether a detour works
        start = max(g.shift_start * scale + there, stop.tw_start * scale)
        trip = there + stop.service_seconds * scale + back + g.unload_seconds * scale
        if (
            start <= stop.tw_end * scale
            and start + stop.service_seconds * scale + back + g.unload_seconds * scale <= g.shift_end * scale
            and (g.max_duration is None or trip <= g.max_duration * scale)
        ):
            return None
    return UnassignedReason.TIME_WINDOW


def _prizes(dist: np.ndarray, *, reloads: bool = False, truck_cost: int = 0) -> tuple[int, int]:
    """Prizes for optional and for required stops when not everything fits.

    Adding a stop to a route (or on a new trip from the depot) lengthens it by at most
    twice the longest leg (three times when it needs an unloading stop of its own), so
    a prize above that — plus the cost of taking out another truck — makes every stop
    that fits somewhere worth serving.  Required stops get four times as much, so they are kept in
    preference to optional ones.  The prizes stay small enough that the penalty
    needed to outweigh them (see :func:`solve`) cannot overflow PyVRP's integers.
    """
    longest = int(dist[dist < MAX_VALUE].max(initial=0))
    optional = (3 if reloads else 2) * longest + truck_cost + 1
    return optional, 4 * optional


def _problem_data(
    stops: Sequence[Stop],
    groups: dict[_VehicleGroup, list[str]],
    sites: Sequence[UnloadSite],
    places: Sequence[Place],
    index: dict[Place, int],
    dist: np.ndarray,
    dur: np.ndarray,
    scale: int,
    prizes: tuple[int, int],
    all_optional: bool,
) -> ProblemData:
    # PyVRP depots: each home depot (no service time: a truck leaves at once), then each
    # unloading site as a depot of its own whose service time is the unloading.
    depot_places = list(dict.fromkeys(g.depot for g in groups))
    depot_index = {p: i for i, p in enumerate(depot_places)}
    reload_depots = list(range(len(depot_places), len(depot_places) + len(sites)))
    unbounded = np.iinfo(np.uint64).max
    optional_prize, required_prize = prizes
    clients = [
        Client(
            location=index[s.location],
            pickup=list(s.demand),
            service_duration=s.service_seconds * scale,
            tw_early=s.tw_start * scale,
            tw_late=s.tw_end * scale,
            required=s.required and not all_optional,
            prize=required_prize if s.required else optional_prize,
            name=s.id,
        )
        for s in stops
    ]
    vehicle_types = [
        VehicleType(
            num_available=len(ids),
            capacity=list(g.capacity),
            start_depot=depot_index[g.depot],
            end_depot=depot_index[g.depot],
            tw_early=g.shift_start * scale,
            # The last unloading, at the home depot, must also end within the shift.
            tw_late=(g.shift_end - g.unload_seconds) * scale,
            shift_duration=(
                (g.max_duration - g.unload_seconds) * scale if g.max_duration is not None else np.iinfo(np.int64).max
            ),
            fixed_cost=g.fixed_cost * scale,
            reload_depots=reload_depots if g.max_trips != 1 else [],
            max_reloads=(g.max_trips - 1) if g.max_trips is not None else unbounded,
        )
        for g, ids in groups.items()
    ]
    depots = [Depot(location=index[p]) for p in depot_places] + [
        Depot(
            location=index[u.location],
            tw_early=u.opens * scale,
            tw_late=u.closes * scale,
            service_duration=u.unload_seconds * scale,
            name=u.id,
        )
        for u in sites
    ]
    return ProblemData(
        locations=[_pyvrp_location(p) for p in places],
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=[dist],
        duration_matrices=[dur],
    )


def _pyvrp_location(place: Place) -> pyvrp.Location:
    if isinstance(place, Location):
        return pyvrp.Location(x=place.lon, y=place.lat)
    return pyvrp.Location(x=place.x, y=place.y)


def _routes(
    solution: pyvrp.Solution,
    stops: Sequence[Stop],
    groups: dict[_VehicleGroup, list[str]],
    sites: Sequence[UnloadSite],
    index: dict[Place, int],
    distances: np.ndarray,
    durations: np.ndarray,
    scale: int,
) -> tuple[list[Route], set[str]]:
    """Read the solver's routes back, recomputing times and distance unrounded."""
    group_list = list(groups)
    num_homes = len(dict.fromkeys(g.depot for g in groups))
    taken = [0] * len(group_list)
    routes: list[Route] = []
    served: set[str] = set()
    solver_routes = [r for r in solution.routes() if r.is_feasible()]
    solver_routes.sort(key=lambda r: (r.vehicle_type(), r.start_time()))
    for r in solver_routes:
        g = group_list[r.vehicle_type()]
        vehicle_id = groups[g][taken[r.vehicle_type()]]
        taken[r.vehicle_type()] += 1
        # Leave when the solver says (it delays departure to avoid waiting), then
        # drive the real, unrounded legs: every arrival is then no later than in the
        # integer model, so every window that held there holds here.
        time = r.start_time() / scale
        at = index[g.depot]
        dims = len(g.capacity)
        load = [0] * dims
        total = [0] * dims
        trip = 0
        distance = 0.0
        out: list[Visit] = []
        unloads: list[Unload] = []
        schedule = list(r.schedule())
        for a in schedule[1:-1]:
            if a.is_client():
                s = stops[a.idx]
                here = index[s.location]
                arrival = time + float(durations[at, here])
                start = max(arrival, float(s.tw_start))
                time = start + s.service_seconds
                load = [x + y for x, y in zip(load, s.demand, strict=True)]
                distance += float(distances[at, here])
                out.append(Visit(s.id, arrival, start, time, tuple(load), trip))
                served.add(s.id)
            else:  # an unloading stop between trips
                site = sites[a.idx - num_homes]
                here = index[site.location]
                arrival = time + float(durations[at, here])
                start = max(arrival, float(site.opens))
                time = start + site.unload_seconds
                distance += float(distances[at, here])
                unloads.append(Unload(site.id, trip, arrival, start, time, tuple(load)))
                total = [x + y for x, y in zip(total, load, strict=True)]
                load = [0] * dims
                trip += 1
            at = here
        home = index[g.depot]
        distance += float(distances[at, home])
        total = [x + y for x, y in zip(total, load, strict=True)]
        routes.append(
            Route(
                vehicle_id=vehicle_id,
                stops=tuple(out),
                start_time=r.start_time() / scale,
                end_time=time + float(durations[at, home]) + g.unload_seconds,
                load=tuple(total),
                distance=distance,
                unloads=tuple(unloads),
            )
        )
    return routes, served


def _keep_vehicles(routes: list[Route], groups: dict[_VehicleGroup, list[str]], initial: Plan) -> list[Route]:
    """Give each round the truck (of its identical group) that had most of its stops in ``initial``.

    The solver does not tell identical trucks apart; without this a warm-started plan could hand a
    round that barely changed to another truck, and its residents would be told of a change.
    """
    before = {v.stop_id: r.vehicle_id for r in initial.routes for v in r.stops}
    group_of = {vid: n for n, ids in enumerate(groups.values()) for vid in ids}
    out = list(routes)
    for n, ids in enumerate(groups.values()):
        mine = [i for i, r in enumerate(routes) if group_of[r.vehicle_id] == n]
        overlap = []
        for i in mine:
            counts: dict[str, int] = {}
            for v in routes[i].stops:
                was = before.get(v.stop_id)
                if was is not None and group_of.get(was) == n:
                    counts[was] = counts.get(was, 0) + 1
            overlap.extend((c, i, vid) for vid, c in counts.items())
        given: dict[int, str] = {}
        taken: set[str] = set()
        for _, i, vid in sorted(overlap, key=lambda t: (-t[0], t[1], t[2])):
            if i not in given and vid not in taken:
                given[i] = vid
                taken.add(vid)
        free = [vid for vid in ids if vid not in taken]
        for i in mine:
            out[i] = replace(routes[i], vehicle_id=given[i] if i in given else free.pop(0))
    return out


def _initial_solution(
    data: ProblemData,
    plan: Plan,
    stops: Sequence[Stop],
    groups: dict[_VehicleGroup, list[str]],
    sites: Sequence[UnloadSite],
) -> pyvrp.Solution | None:
    """A PyVRP solution holding ``plan``'s routes (stops it does not know are left out)."""
    client = {s.id: i for i, s in enumerate(stops)}
    vehicle_type = {vid: t for t, ids in enumerate(groups.values()) for vid in ids}
    num_homes = len(dict.fromkeys(g.depot for g in groups))
    site_depot = {u.id: num_homes + i for i, u in enumerate(sites)}
    routes = []
    used: dict[int, int] = {}
    for route in plan.routes:
        t = vehicle_type.get(route.vehicle_id)
        if t is None or used.get(t, 0) >= data.vehicle_type(t).num_available:
            continue
        visits: list[pyvrp.Activity] = []
        by_trip = route.trips
        for n, trip in enumerate(by_trip):
            if n > 0:
                depot = site_depot.get(route.unloads[n - 1].site_id)
                if depot is None:
                    continue
                visits.append(pyvrp.Activity(pyvrp.ActivityType.DEPOT, depot))
            visits.extend(
                pyvrp.Activity(pyvrp.ActivityType.CLIENT, client[v.stop_id]) for v in trip if v.stop_id in client
            )
        if not any(v.is_client() for v in visits):
            continue
        # Leading, trailing or doubled unloading stops would be empty trips.
        while visits and visits[0].is_depot():
            visits.pop(0)
        while visits and visits[-1].is_depot():
            visits.pop()
        cleaned = [v for i, v in enumerate(visits) if not (v.is_depot() and visits[i - 1].is_depot())]
        routes.append(pyvrp.Route(data, cleaned, t))
        used[t] = used.get(t, 0) + 1
    try:
        return pyvrp.Solution(data, routes)
    except (ValueError, IndexError, RuntimeError):
        return None


# ------------------------------------------------------------------- stable re-planning


@dataclass(frozen=True, slots=True)
class _Leg:
    """An element of a round's sequence: a stop, or an unloading site."""

    stop: Stop | None = None
    site: UnloadSite | None = None

    @property
    def location(self) -> Place:
        return self.stop.location if self.stop is not None else self.site.location  # type: ignore[union-attr]


def _simulate(
    vehicle: VehicleSpec,
    legs: Sequence[_Leg],
    leave: float,
    where: dict[Place, int],
    distances: np.ndarray,
    durations: np.ndarray,
) -> Route | None:
    """Drive ``legs`` in order leaving at ``leave``; the round, or ``None`` if it breaks a rule."""
    if leave < vehicle.shift_start:
        return None
    time, at = leave, where[vehicle.depot]
    dims = len(vehicle.capacity)
    load, total = [0] * dims, [0] * dims
    trip, distance = 0, 0.0
    visits: list[Visit] = []
    unloads: list[Unload] = []
    for leg in legs:
        here = where[leg.location]
        if not math.isfinite(durations[at, here]):
            return None
        arrival = time + float(durations[at, here])
        distance += float(distances[at, here])
        if leg.stop is not None:
            s = leg.stop
            start = max(arrival, float(s.tw_start))
            if start > s.tw_end:
                return None
            time = start + s.service_seconds
            load = [x + y for x, y in zip(load, s.demand, strict=True)]
            if any(x > c for x, c in zip(load, vehicle.capacity, strict=True)):
                return None
            visits.append(Visit(s.id, arrival, start, time, tuple(load), trip))
        else:
            u = leg.site
            assert u is not None
            start = max(arrival, float(u.opens))
            if start > u.closes or not any(load):
                return None
            time = start + u.unload_seconds
            unloads.append(Unload(u.id, trip, arrival, start, time, tuple(load)))
            total = [x + y for x, y in zip(total, load, strict=True)]
            load = [0] * dims
            trip += 1
        at = here
    home = where[vehicle.depot]
    if not math.isfinite(durations[at, home]):
        return None
    end = time + float(durations[at, home]) + vehicle.unload_seconds
    distance += float(distances[at, home])
    if end > vehicle.shift_end or (vehicle.max_duration is not None and end - leave > vehicle.max_duration):
        return None
    if vehicle.max_trips is not None and trip + 1 > vehicle.max_trips:
        return None
    total = [x + y for x, y in zip(total, load, strict=True)]
    return Route(vehicle.id, tuple(visits), leave, end, tuple(total), distance, tuple(unloads))


def insert_stable(
    plan: Plan,
    stops: Sequence[Stop],
    vehicles: Sequence[VehicleSpec],
    matrix: TravelMatrix,
    new_stop_ids: Sequence[str],
    *,
    sites: Sequence[UnloadSite] = (),
    tolerance_seconds: float = 1800,
) -> Plan | None:
    """Add stops to a planned day without moving any other stop to another truck or trip.

    Each new stop (in the order given) goes where it moves fewest other stops (see
    :func:`moved_stops`) and then lengthens the day least: between two stops of a
    round, before or after an unloading stop, on a new trip of its own after an extra
    unloading stop, or on a truck not yet used.  Every other stop keeps its truck and
    order; its time moves only by the new stop's detour.  Returns
    ``None`` when some new stop fits nowhere that way (then solve the day again, with
    the old plan as ``initial``).  ``stops`` holds every stop of the day, old and new;
    stops of ``plan`` that are not among them (cancelled bookings) are taken out.
    """
    by_id = {s.id: s for s in stops}
    sites_by_id = {u.id: u for u in sites}
    vehicles_by_id = {v.id: v for v in vehicles}
    places = list(
        dict.fromkeys([v.depot for v in vehicles] + [u.location for u in sites] + [s.location for s in stops])
    )
    where = {p: i for i, p in enumerate(places)}
    distances, durations = matrix.matrices(places)

    rounds: dict[str, tuple[list[_Leg], float]] = {}
    routes: dict[str, Route] = {}
    for route in plan.routes:
        v = vehicles_by_id.get(route.vehicle_id)
        if v is None or any(u.site_id not in sites_by_id for u in route.unloads):
            return None
        legs: list[_Leg] = []
        for n, trip in enumerate(route.trips):
            kept = [_Leg(stop=by_id[x.stop_id]) for x in trip if x.stop_id in by_id]  # cancelled ones go
            if kept and legs:
                legs.append(_Leg(site=sites_by_id[route.unloads[n - 1].site_id]))
            legs.extend(kept)
        if not legs:
            continue
        # Driven again with today's stops (times may have moved a little if a stop was cancelled).
        again = _simulate(v, legs, route.start_time, where, distances, durations) or _simulate(
            v, legs, float(v.shift_start), where, distances, durations
        )
        if again is None:
            return None
        rounds[v.id] = (legs, again.start_time)
        routes[v.id] = again
    unassigned = [u for u in plan.unassigned if u.stop_id not in set(new_stop_ids) and u.stop_id in by_id]

    for sid in new_stop_ids:
        new = _Leg(stop=by_id[sid])
        best: tuple[tuple[int, float], str, list[_Leg], Route] | None = None
        for v in vehicles:
            legs, leave = rounds.get(v.id, ([], float(v.shift_start)))
            before = routes[v.id].distance if v.id in routes else 0.0
            options: list[list[_Leg]] = []
            for i in range(len(legs) + 1):
                options.append(legs[:i] + [new] + legs[i:])
                for u in sites:  # the new stop on a trip of its own, after unloading at u
                    if i > 0:
                        options.append(legs[:i] + [_Leg(site=u), new] + legs[i:])
            old = Plan(routes=(routes[v.id],)) if v.id in routes else Plan(routes=())
            for option in options:
                for start in dict.fromkeys((leave, float(v.shift_start))):
                    route = _simulate(v, option, start, where, distances, durations)
                    if route is None:
                        continue
                    # Moving a stop residents were told about costs more than any detour.
                    moved = len(moved_stops(old, Plan(routes=(route,)), tolerance_seconds=tolerance_seconds))
                    cost = (moved, route.distance - before)
                    if best is None or cost < best[0]:
                        best = (cost, v.id, option, route)
                    break
        if best is None:
            return None
        _, vid, legs, route = best
        rounds[vid] = (legs, route.start_time)
        routes[vid] = route
    ordered = [routes[v.id] for v in vehicles if v.id in routes]
    return Plan(routes=tuple(ordered), unassigned=tuple(unassigned))


def moved_stops(before: Plan, after: Plan, *, tolerance_seconds: float = 1800) -> set[str]:
    """Stops planned in both whose truck or trip changed, or whose start moved by more than the tolerance.

    This is what residents would be told again: the default tolerance is the half hour
    around the estimated time that the reminder message gives.
    """
    old = {v.stop_id: (r.vehicle_id, v.trip, v.start) for r in before.routes for v in r.stops}
    moved: set[str] = set()
    for r in after.routes:
        for v in r.stops:
            was = old.get(v.stop_id)
            if was is None:
                continue
            if was[0] != r.vehicle_id or was[1] != v.trip or abs(was[2] - v.start) > tolerance_seconds:
                moved.add(v.stop_id)
    return moved
