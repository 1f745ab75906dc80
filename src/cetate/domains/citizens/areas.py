"""Plane geometry the routing and duplicate rules need, without a GIS dependency: whether a
point lies in a department's area (a GeoJSON Polygon or MultiPolygon with holes, lon/lat,
even-odd rule; a point on the boundary counts as inside) and the great-circle distance
between two points."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

EARTH_RADIUS_M: Final = 6_371_008.8
Ring = Sequence[Sequence[float]]


class AreaError(ValueError):
    """Not a usable GeoJSON Polygon or MultiPolygon; the message says why."""


def _ring(raw: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(raw, list) or len(raw) < 4:
        raise AreaError(f"{where}: a linear ring needs at least 4 positions")
    points: list[tuple[float, float]] = []
    for position in raw:
        if (
            not isinstance(position, list)
            or len(position) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position)
        ):
            raise AreaError(f"{where}: every position must be [longitude, latitude]")
        lon, lat = float(position[0]), float(position[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise AreaError(f"{where}: position {position} is out of range")
        points.append((lon, lat))
    if points[0] != points[-1]:
        raise AreaError(f"{where}: a linear ring must end where it starts")
    return points


def check_area(raw: Any) -> dict[str, Any]:
    """The area as a checked GeoJSON geometry (Polygon or MultiPolygon)."""
    if not isinstance(raw, Mapping):
        raise AreaError("expected a GeoJSON Polygon or MultiPolygon object")
    kind, coordinates = raw.get("type"), raw.get("coordinates")
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise AreaError("a MultiPolygon needs a list of polygons")
        polygons = coordinates
    else:
        raise AreaError(f"type {kind!r} is not Polygon or MultiPolygon")
    for index, polygon in enumerate(polygons):
        if not isinstance(polygon, list) or not polygon:
            raise AreaError(f"polygon {index}: expected a list of linear rings")
        for ring_index, ring in enumerate(polygon):
            _ring(ring, f"polygon {index}, ring {ring_index}")
    return {"type": kind, "coordinates": coordinates}


def _on_segment(x: float, y: float, a: Sequence[float], b: Sequence[float]) -> bool:
    cross = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])
    if abs(cross) > 1e-12:
        return False
    return min(a[0], b[0]) <= x <= max(a[0], b[0]) and min(a[1], b[1]) <= y <= max(a[1], b[1])


def _in_ring(x: float, y: float, ring: Ring) -> bool | None:
    """True inside, False outside, None on the boundary."""
    inside = False
    for a, b in itertools.pairwise(ring):
        if _on_segment(x, y, a, b):
            return None
        if (a[1] > y) != (b[1] > y):
            crossing = a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
            if x < crossing:
                inside = not inside
    return inside


def _in_polygon(x: float, y: float, polygon: Sequence[Ring]) -> bool:
    outer = _in_ring(x, y, polygon[0])
    if outer is False:
        return False
    if outer is None:
        return True
    return all(_in_ring(x, y, hole) is False for hole in polygon[1:])


def contains(area: Mapping[str, Any], lon: float, lat: float) -> bool:
    """Whether the point lies in the (checked) area."""
    coordinates = area["coordinates"]
    polygons = [coordinates] if area["type"] == "Polygon" else coordinates
    return any(_in_polygon(lon, lat, polygon) for polygon in polygons)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
