"""Travel distances and times without a road network: great-circle (haversine) distance times a
detour factor, at a fixed average speed. Every matrix built here is marked as an **estimate**
(``TravelMatrix.estimate``), and plans built on it say so.

Defaults: detour factor 1.3 (typical ratio of road to straight-line distance in a European
city centre), 20 km/h average speed for a refuse truck in town (stops, turns, traffic)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np

from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.routing.problem import TravelMatrix

EARTH_RADIUS_M: Final = 6_371_008.8
"""mean Earth radius (IUGG)"""
DEFAULT_DETOUR: Final = 1.3
DEFAULT_SPEED_KMH: Final = 20.0


def check_point(lat: float, lon: float, what: str) -> None:
    """A WGS84 point, or an error naming ``what``."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise WasteInputError(f"{what}: coordinates must be finite numbers")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise WasteInputError(f"{what}: latitude {lat} / longitude {lon} out of range")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def estimate_matrix(
    points: Sequence[tuple[float, float]],
    *,
    detour: float = DEFAULT_DETOUR,
    speed_kmh: float = DEFAULT_SPEED_KMH,
) -> TravelMatrix:
    """Distance (m) and duration (s) between every pair of ``(lat, lon)`` points, rounded to
    whole metres and seconds: haversine × ``detour`` at ``speed_kmh``. Marked as an estimate."""
    if not detour >= 1.0 or not math.isfinite(detour):
        raise WasteInputError(f"detour factor must be ≥ 1 (got {detour})")
    if not speed_kmh > 0 or not math.isfinite(speed_kmh):
        raise WasteInputError(f"speed must be > 0 km/h (got {speed_kmh})")
    for index, (lat, lon) in enumerate(points):
        check_point(lat, lon, f"point {index}")
    if not points:
        empty = np.zeros((0, 0), dtype=np.int64)
        return TravelMatrix(empty, empty.copy(), estimate=True)
    coords = np.radians(np.asarray(points, dtype=np.float64))
    phi, lam = coords[:, 0:1], coords[:, 1:2]
    a = (
        np.sin((phi - phi.T) / 2) ** 2
        + np.cos(phi) * np.cos(phi.T) * np.sin((lam - lam.T) / 2) ** 2
    )
    metres = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a))) * detour
    distance = np.rint(metres).astype(np.int64)
    duration = np.rint(metres / (speed_kmh / 3.6)).astype(np.int64)
    return TravelMatrix(distance, duration, estimate=True)
