"""A plan's outputs written to a directory: per route ``route-NN.html`` (sheet),
``route-NN.geojson`` and ``route-NN.gpx``; ``stops.csv`` for all routes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cetate.domains.waste.outputs.model import PlannedRoute
from cetate.domains.waste.outputs.sheet import route_sheet
from cetate.domains.waste.outputs.tracks import geojson_text, gpx, stops_csv


def write_outputs(directory: Path, routes: Sequence[PlannedRoute]) -> list[Path]:
    """Write every file and return their paths (the directory is created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for route in routes:
        for suffix, text in (
            ("html", route_sheet(route)),
            ("geojson", geojson_text(route)),
            ("gpx", gpx(route)),
        ):
            path = directory / f"{route.name}.{suffix}"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    path = directory / "stops.csv"
    path.write_text(stops_csv(routes), encoding="utf-8")
    written.append(path)
    return written
