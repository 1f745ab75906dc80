"""Bins and sites on the road graph: snapping to the nearest road node and many-to-many shortest
paths (:func:`scipy.sparse.csgraph.dijkstra`) in metres and seconds.

Distances are shortest paths, durations fastest paths (two searches); both start and end at
the road node nearest to each point (the walk from the kerb to the bin is in its service
time). A point farther than ``max_snap_m`` from every road node is **not covered** by the
network: :class:`NotCovered` names every such point with its distance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.sparse.csgraph import dijkstra  # type: ignore[import-untyped]
from scipy.spatial import cKDTree  # type: ignore[import-untyped]

from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.geo import EARTH_RADIUS_M, check_point
from cetate.domains.waste.network.graph import RoadGraph
from cetate.domains.waste.routing.problem import TravelMatrix

DEFAULT_MAX_SNAP_M: Final = 150.0
"""a bin farther than this from every road node is not covered by the network"""
_BLOCK: Final = 64
"""sources per Dijkstra call (bounds memory: block × graph nodes floats)"""


class NotCovered(WasteInputError):
    """Points the road network does not cover."""


@dataclass(frozen=True, slots=True)
class Snap:
    node: int
    """index in the graph"""
    offset_m: float
    """straight-line distance from the point to that node"""


def _xy(graph_lat0: float, lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Local equirectangular projection in metres (fine within a city)."""
    k = np.radians(1.0) * EARTH_RADIUS_M
    x = np.asarray(lon, dtype=np.float64) * k * np.cos(np.radians(graph_lat0))
    y = np.asarray(lat, dtype=np.float64) * k
    return np.column_stack([x, y])


def snap(
    graph: RoadGraph,
    points: Sequence[tuple[str, float, float]],
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> list[Snap]:
    """The nearest road node of each ``(id, lat, lon)``; :class:`NotCovered` lists those
    farther than ``max_snap_m``."""
    if not max_snap_m > 0:
        raise WasteInputError(f"max snap distance must be > 0 m (got {max_snap_m})")
    for name, lat, lon in points:
        check_point(lat, lon, name)
    if not points:
        return []
    lat0 = float(np.mean(graph.lat))
    tree = cKDTree(_xy(lat0, graph.lat, graph.lon))
    offsets, nodes = tree.query(_xy(lat0, [p[1] for p in points], [p[2] for p in points]))
    far = [
        f"{name} ({offset:.0f} m)"
        for (name, _, _), offset in zip(points, offsets, strict=True)
        if offset > max_snap_m
    ]
    if far:
        shown = ", ".join(far[:10]) + (f" and {len(far) - 10} more" if len(far) > 10 else "")
        raise NotCovered(
            f"the road network ({graph.source}) does not cover {len(far)} point(s) — farther "
            f"than {max_snap_m:.0f} m from any road: {shown}"
        )
    return [Snap(int(n), float(o)) for n, o in zip(nodes, offsets, strict=True)]


def network_matrix(
    graph: RoadGraph,
    points: Sequence[tuple[str, float, float]],
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> TravelMatrix:
    """Distance (m, shortest path) and duration (s, fastest path) between every pair of
    ``(id, lat, lon)`` points on the road graph, rounded to integers; not an estimate."""
    snaps = snap(graph, points, max_snap_m=max_snap_m)
    n = len(snaps)
    if n == 0:
        empty = np.zeros((0, 0), dtype=np.int64)
        return TravelMatrix(empty, empty.copy(), estimate=False)
    nodes = np.asarray([s.node for s in snaps], dtype=np.int64)
    unique, inverse = np.unique(nodes, return_inverse=True)
    dist = _many_to_many(graph.distance_m, unique)
    time = _many_to_many(graph.duration_s, unique)
    if not (np.isfinite(dist).all() and np.isfinite(time).all()):
        raise NotCovered(f"the road network ({graph.source}) does not connect all points")
    distance = np.rint(dist[np.ix_(inverse, inverse)]).astype(np.int64)
    duration = np.rint(time[np.ix_(inverse, inverse)]).astype(np.int64)
    np.fill_diagonal(distance, 0)
    np.fill_diagonal(duration, 0)
    return TravelMatrix(distance, duration, estimate=False)


def _many_to_many(weights: object, nodes: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    out = np.empty((len(nodes), len(nodes)), dtype=np.float64)
    for start in range(0, len(nodes), _BLOCK):
        block = nodes[start : start + _BLOCK]
        found = dijkstra(weights, directed=True, indices=block)
        out[start : start + len(block)] = np.asarray(found)[:, nodes]
    return out


def road_path(
    graph: RoadGraph,
    points: Sequence[tuple[str, float, float]],
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> list[tuple[float, float]]:
    """``(lat, lon)`` along the shortest roads through the points in order (for drawing a
    route): each point, then the road nodes to the next point."""
    snaps = snap(graph, points, max_snap_m=max_snap_m)
    out: list[tuple[float, float]] = []
    sources = sorted({s.node for s in snaps[:-1]})
    trees: dict[int, npt.NDArray[np.int32]] = {}
    if sources:
        _, pred = dijkstra(
            graph.distance_m, directed=True, indices=sources, return_predecessors=True
        )
        trees = {node: np.asarray(pred[i]) for i, node in enumerate(sources)}
    for index, (here, (_, lat, lon)) in enumerate(zip(snaps, points, strict=True)):
        out.append((lat, lon))
        if index + 1 == len(snaps):
            break
        target = snaps[index + 1].node
        nodes = _walk(trees[here.node], here.node, target)
        out.extend((float(graph.lat[n]), float(graph.lon[n])) for n in nodes)
    return out


def _walk(pred: npt.NDArray[np.int32], source: int, target: int) -> list[int]:
    """Nodes source … target from a predecessor array (both ends included)."""
    if source == target:
        return [source]
    path = [target]
    while path[-1] != source:
        previous = int(pred[path[-1]])
        if previous < 0:
            return [source, target]  # unreachable (cannot happen in a strongly connected graph)
        path.append(previous)
    return path[::-1]
