"""Maps, served by the platform: no outside host at run time. Used by bulky waste (rounds, stops, the place of a
pickup or a dumping report) and the service desk (the place of a request).

Always a plain vector drawing (SVG, drawn on the server, readable without JavaScript) of the stops and the routes.
When a tile source is configured, Leaflet (vendored under core/static/gongzhi/vendor/leaflet-1.9.4) draws the same
points over the tiles and lets people pick a point (templates core/_place_pick.html and core/_map_assets.html,
script core/static/gongzhi/map.js; a form takes the point with `PointFields`). Settings:

GONGZHI_MAP_TILES        tile URL template, e.g. "https://tiles.district.example/{z}/{x}/{y}.png" or a local
                         "/static/..." path; "" (the default) = no tiles, the vector drawing only
GONGZHI_MAP_TILES_DATUM  "gcj02" (AMap-style Chinese tiles, the default) or "wgs84" (天地图/CGCS2000, OSM-style)
GONGZHI_MAP_ATTRIBUTION  the tile source's attribution text
GONGZHI_MAP_MAX_ZOOM     default 18

Coordinates are stored in WGS-84; they are converted to the tile datum here, at the edge, and a point picked on a
GCJ-02 map is converted back (`to_storage`) before anything is stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import timezone

from gongzhi.core import geo

PALETTE = ["#1d70b8", "#d4351c", "#00703c", "#6f72af", "#b58840", "#912b88", "#28a197", "#f47738"]


@dataclass
class Point:
    lat: float
    lon: float
    label: str = ""  # drawn in the marker (a stop's number)
    title: str = ""  # the address, for the legend and the tooltip
    group: int = 0  # which round (colour)
    depot: bool = False
    href: str = ""


@dataclass
class Map:
    points: list[Point]
    lines: list[tuple[int, list[tuple[float, float]]]] = field(default_factory=list)  # (group, [(lat, lon)])
    width: int = 360
    height: int = 300

    # -------------------------------------------------------------------------------------------- vector
    def _project(self):
        pts = [(p.lat, p.lon) for p in self.points] + [pt for _g, line in self.lines for pt in line]
        if not pts:
            return None
        lats, lons = [a for a, _ in pts], [b for _, b in pts]
        mid = math.cos(math.radians((min(lats) + max(lats)) / 2))
        span_x = max((max(lons) - min(lons)) * mid, 1e-6)
        span_y = max(max(lats) - min(lats), 1e-6)
        pad = 24
        k = min((self.width - 2 * pad) / span_x, (self.height - 2 * pad) / span_y)
        off_x = (self.width - span_x * k) / 2
        off_y = (self.height - span_y * k) / 2

        def xy(lat: float, lon: float) -> tuple[float, float]:
            return round(off_x + (lon - min(lons)) * mid * k, 1), round(off_y + (max(lats) - lat) * k, 1)

        return xy

    def svg(self) -> dict:
        """What the template draws: markers and route polylines in a `width` × `height` viewBox."""
        xy = self._project()
        if xy is None:
            return {"empty": True, "width": self.width, "height": self.height}
        marks = []
        for p in self.points:
            x, y = xy(p.lat, p.lon)
            marks.append({"x": x, "y": y, "label": p.label, "title": p.title, "depot": p.depot, "colour": colour(p)})
        lines = [
            {
                "colour": PALETTE[g % len(PALETTE)],
                "points": " ".join(f"{x},{y}" for x, y in (xy(a, b) for a, b in line)),
            }
            for g, line in self.lines
            if len(line) > 1
        ]
        return {"empty": False, "width": self.width, "height": self.height, "marks": marks, "lines": lines}

    # ------------------------------------------------------------------------------------------- leaflet
    def leaflet(self) -> dict | None:
        """The same points for Leaflet, in the tile source's datum; None when no tile source is configured."""
        source = tiles()
        if source is None:
            return None

        def edge(lat: float, lon: float) -> list[float]:
            a, b = to_tiles(lat, lon)
            return [round(a, 6), round(b, 6)]

        return {
            **source,
            "points": [
                {
                    "at": edge(p.lat, p.lon),
                    "label": p.label,
                    "title": p.title,
                    "colour": colour(p),
                    "depot": p.depot,
                    "href": p.href,
                }
                for p in self.points
            ],
            "lines": [
                {"colour": PALETTE[g % len(PALETTE)], "at": [edge(a, b) for a, b in line]}
                for g, line in self.lines
                if len(line) > 1
            ],
        }


def colour(p: Point) -> str:
    return "#0b0c0c" if p.depot else PALETTE[p.group % len(PALETTE)]


def tiles() -> dict | None:
    url = getattr(settings, "GONGZHI_MAP_TILES", "") or ""
    if not url:
        return None
    return {
        "url": url,
        "datum": datum(),
        "attribution": getattr(settings, "GONGZHI_MAP_ATTRIBUTION", ""),
        "max_zoom": int(getattr(settings, "GONGZHI_MAP_MAX_ZOOM", 18)),
    }


def datum() -> str:
    return "wgs84" if str(getattr(settings, "GONGZHI_MAP_TILES_DATUM", "gcj02")).lower() == "wgs84" else "gcj02"


def pick_context(centre: Callable[[], tuple[float, float] | None]) -> dict:
    """The context of core/_place_pick.html: a map to pick a point on, only when a tile source is configured,
    centred on `centre()` (WGS-84; asked only then, as it may cost a query), else on the default view."""
    data = Map([]).leaflet()
    if data is not None:
        at = centre()
        if at is not None:
            data["center"] = list(to_tiles(*at))
    return {"pick_map": data, "map_tiles": data is not None}


def to_tiles(lat: float, lon: float) -> tuple[float, float]:
    return geo.wgs84_to_gcj02(lat, lon) if datum() == "gcj02" else (lat, lon)


def to_storage(lat, lon, source: str) -> tuple[Decimal, Decimal]:
    """A point from the page (picked on the map in the tiles' datum, or the phone's WGS-84 location) in WGS-84."""
    a, b = float(lat), float(lon)
    if source == "map" and datum() == "gcj02":
        a, b = geo.gcj02_to_wgs84(a, b)
    return Decimal(f"{a:.6f}"), Decimal(f"{b:.6f}")


# ----------------------------------------------------------------------------------------------- rounds


def rounds_map(
    rounds,
    stops_by_round: dict[int, list],
    *,
    unloads_by_round: dict[int, list] | None = None,
    width: int = 360,
    height: int = 320,
) -> Map:
    """The day's rounds: each vehicle's depot, its stops in order and the line depot → stops → depot; a round of
    several trips passes its unloading stops (卸, at a depot or transfer station) between them."""
    points, lines = [], []
    for g, rnd in enumerate(rounds):
        depot = (float(rnd.vehicle.depot_latitude), float(rnd.vehicle.depot_longitude))
        points.append(Point(*depot, label="", title=str(rnd.vehicle), group=g, depot=True))
        line = [depot]
        unloads = {u.after_trip: u for u in (unloads_by_round or {}).get(rnd.pk, [])}
        stops = stops_by_round.get(rnd.pk, [])
        for n, s in enumerate(stops):
            at = (float(s.booking.latitude), float(s.booking.longitude))
            points.append(Point(*at, label=str(s.order), title=s.booking.address, group=g, href=getattr(s, "href", "")))
            line.append(at)
            trip = getattr(s, "trip", 0)
            last_of_trip = n + 1 == len(stops) or getattr(stops[n + 1], "trip", 0) != trip
            u = unloads.get(trip) if last_of_trip else None
            if u is not None:
                site = (float(u.site.latitude), float(u.site.longitude))
                points.append(Point(*site, label="卸", title=str(u.site), group=g, depot=True))
                line.append(site)
        line.append(depot)
        lines.append((g, line))
    return Map(points, lines, width=width, height=height)


def timeline(rounds, stops_by_round: dict[int, list], *, width: int = 360) -> dict:
    """A day's timeline: one row per round from leaving the depot to coming back, a tick at each stop's ETA."""
    first, last = time(7), time(19)
    for r in rounds:
        a, b = timezone.localtime(r.start_at).time(), timezone.localtime(r.end_at).time()
        first, last = min(first, a), max(last, b)
    start_h, end_h = first.hour, min(24, last.hour + (1 if last.minute or last.second else 0))
    left, right = 110, width - 10
    per_h = (right - left) / max(1, end_h - start_h)

    def x(dt: datetime) -> float:
        t = timezone.localtime(dt)
        return round(left + (t.hour + t.minute / 60 - start_h) * per_h, 1)

    rows = []
    for g, r in enumerate(rounds):
        y = 34 + 34 * g
        rows.append(
            {
                "y": y,
                "label": str(r.vehicle)[:6],
                "x1": x(r.start_at),
                "x2": x(r.end_at),
                "colour": PALETTE[g % len(PALETTE)],
                "ticks": [x(s.eta) for s in stops_by_round.get(r.pk, [])],
            }
        )
    hours = [{"x": round(left + (h - start_h) * per_h, 1), "label": f"{h}"} for h in range(start_h, end_h + 1, 2)]
    return {"width": width, "height": 34 * len(rounds) + 50, "rows": rows, "hours": hours, "left": left}


class PointFields(forms.Form):
    """A point never typed by people: picked on the map (in the tiles' datum) or given by the phone (WGS-84), in
    hidden fields, converted to WGS-84 for storage by `point()`. Rendered with core/_place_pick.html. Optional:
    without it a place is known by its address or compound."""

    latitude = forms.DecimalField(max_digits=9, decimal_places=6, required=False, widget=forms.HiddenInput)
    longitude = forms.DecimalField(max_digits=9, decimal_places=6, required=False, widget=forms.HiddenInput)
    source = forms.ChoiceField(
        choices=[("", ""), ("map", "map"), ("device", "device")], required=False, widget=forms.HiddenInput
    )

    def point(self) -> tuple:
        """(latitude, longitude) in WGS-84, or (None, None) when no point was picked."""
        d = self.cleaned_data
        if d.get("latitude") is None or d.get("longitude") is None:
            return None, None
        return to_storage(d["latitude"], d["longitude"], d.get("source") or "device")
