"""Drivable OpenStreetMap road classes and the speed a refuse truck keeps on each (km/h).

Defaults are deliberately below the legal limits: a 26 t collection truck in town stops,
turns and waits. A ``maxspeed`` tag lower than the class default wins; a higher one does not
(the truck does not drive faster because the street allows it)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

SPEED_KMH: Final[Mapping[str, float]] = {
    "motorway": 70.0,
    "motorway_link": 40.0,
    "trunk": 50.0,
    "trunk_link": 35.0,
    "primary": 35.0,
    "primary_link": 30.0,
    "secondary": 30.0,
    "secondary_link": 25.0,
    "tertiary": 25.0,
    "tertiary_link": 20.0,
    "unclassified": 20.0,
    "residential": 20.0,
    "living_street": 8.0,
    "service": 10.0,
    "road": 20.0,
}
"""default truck speed per ``highway`` class; classes not listed are not driven on"""


def edge_speed_kmh(
    highway: object, maxspeed: object, table: Mapping[str, float] = SPEED_KMH
) -> float | None:
    """The speed on one road segment, or None when its class is not drivable by a truck."""
    if not isinstance(highway, str) or highway not in table:
        return None
    speed = table[highway]
    limit = parse_maxspeed(maxspeed)
    if limit is not None:
        speed = min(speed, limit)
    return speed


def parse_maxspeed(value: object) -> float | None:
    """An OSM ``maxspeed`` in km/h ("50", "30 mph", "50;30" → the lowest), None if unusable."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    found: list[float] = []
    for part in str(value).split(";"):
        text = part.strip().lower()
        factor = 1.609344 if text.endswith("mph") else 1.0
        text = text.removesuffix("mph").removesuffix("km/h").strip()
        try:
            number = float(text) * factor
        except ValueError:
            continue
        if math.isfinite(number) and number > 0:
            found.append(number)
    return min(found) if found else None
