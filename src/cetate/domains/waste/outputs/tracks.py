"""GeoJSON and GPX per route, CSV of every stop. Lines follow the roads when the plan was made
on a road network, else they join the stops with straight segments; an estimated plan says so
in its properties."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from cetate.domains.waste.entities import clock
from cetate.domains.waste.outputs.model import PlannedRoute

CSV_COLUMNS = (
    "route",
    "truck",
    "seq",
    "kind",
    "id",
    "address",
    "lat",
    "lon",
    "trip",
    "arrive",
    "leave",
    "expected_fill",
    "required",
    "distances",
)


def _distances(route: PlannedRoute) -> str:
    return "estimate" if route.estimate else "road network"


def geojson(route: PlannedRoute) -> dict[str, Any]:
    """A FeatureCollection: the route line, then one Point per stop (in order)."""
    line = {
        "type": "Feature",
        "geometry": {
            "type": "LineString",
            "coordinates": [[lon, lat] for lat, lon in route.line],
        },
        "properties": {
            "route": route.name,
            "truck": route.truck,
            "date": route.day.isoformat(),
            "distance_m": route.distance_m,
            "duration_s": route.duration_s,
            "trips": route.trips,
            "bins": len(route.bins),
            "distances": _distances(route),
            "estimate": route.estimate,
        },
    }
    points = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
            "properties": {
                "seq": s.seq,
                "kind": s.kind,
                "id": s.id,
                "address": s.address,
                "arrive": clock(s.start_s),
                "expected_fill": None if s.expected_fill is None else round(s.expected_fill, 3),
            },
        }
        for s in route.stops
    ]
    return {"type": "FeatureCollection", "features": [line, *points]}


def geojson_text(route: PlannedRoute) -> str:
    return json.dumps(geojson(route), ensure_ascii=False, indent=1)


def gpx(route: PlannedRoute) -> str:
    """GPX 1.1: the stops as an ordered route (``rte``) and the same line as a track."""
    label = f"{route.name} {route.truck} {route.day.isoformat()}"
    if route.estimate:
        label += " (distances: estimate)"
    points = []
    for s in route.stops:
        name = f"{s.seq:03d} {s.kind} {s.id}"
        desc = s.address or ""
        points.append(
            f'  <rtept lat="{s.lat:.7f}" lon="{s.lon:.7f}"><name>{escape(name)}</name>'
            f"<desc>{escape(desc)}</desc></rtept>"
        )
    track = "\n".join(f'   <trkpt lat="{lat:.7f}" lon="{lon:.7f}"/>' for lat, lon in route.line)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="Cetate" xmlns="http://www.topografix.com/GPX/1/1">\n'
        f" <metadata><name>{escape(label)}</name></metadata>\n"
        f" <rte><name>{escape(label)}</name>\n" + "\n".join(points) + "\n </rte>\n"
        f" <trk><name>{escape(label)}</name><desc>{escape(_distances(route))}</desc>"
        f"<type>{quoteattr('collection')[1:-1]}</type>\n  <trkseg>\n{track}\n  </trkseg>\n </trk>\n"
        "</gpx>\n"
    )


def stops_csv(routes: Sequence[PlannedRoute]) -> str:
    """Every stop of every route, one row each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for route in routes:
        for s in route.stops:
            writer.writerow(
                [
                    route.name,
                    route.truck,
                    s.seq,
                    s.kind,
                    s.id,
                    s.address or "",
                    f"{s.lat:.7f}",
                    f"{s.lon:.7f}",
                    s.trip,
                    clock(s.start_s),
                    clock(s.end_s),
                    "" if s.expected_fill is None else f"{s.expected_fill:.3f}",
                    "" if s.required is None else ("yes" if s.required else "no"),
                    _distances(route),
                ]
            )
    return buffer.getvalue()
