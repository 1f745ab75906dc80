"""Small routing problems on a plane: points in metres, durations at 10 m/s."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from cetate.domains.waste.routing.problem import (
    RoutingProblem,
    Site,
    Stop,
    TravelMatrix,
    TruckType,
)
from cetate.domains.waste.routing.solver import Route


def plane_matrix(points: Sequence[tuple[float, float]], speed: float = 10.0) -> TravelMatrix:
    n = len(points)
    dist = np.zeros((n, n), dtype=np.int64)
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            dist[i, j] = round(math.hypot(a[0] - b[0], a[1] - b[1]))
    return TravelMatrix(dist, np.rint(dist / speed).astype(np.int64), estimate=False)


def problem(
    *,
    depot: tuple[float, float] = (0.0, 0.0),
    facilities: Sequence[tuple[str, tuple[float, float]]] = (),
    stops: Sequence[tuple[Stop, tuple[float, float]]],
    trucks: Sequence[TruckType],
) -> RoutingProblem:
    points = [depot, *(p for _, p in facilities), *(p for _, p in stops)]
    return RoutingProblem(
        depots=(Site("depot"),),
        facilities=tuple(Site(name, service_s=300) for name, _ in facilities),
        stops=tuple(s for s, _ in stops),
        trucks=tuple(trucks),
        matrix=plane_matrix(points),
    )


def trip_loads(p: RoutingProblem, route: Route) -> list[list[int]]:
    """Load per trip and dimension, from the visits."""
    by_id = {s.id: s for s in p.stops}
    loads: dict[int, list[int]] = {}
    for visit in route.visits:
        if visit.kind == "stop":
            acc = loads.setdefault(visit.trip, [0] * len(p.load_dimensions))
            for d, amount in enumerate(by_id[visit.id].load):
                acc[d] += amount
    return [loads[k] for k in sorted(loads)]


def route_length(p: RoutingProblem, route: Route) -> int:
    path = [p.location(v.id) for v in route.visits]
    return sum(int(p.matrix.distance_m[a, b]) for a, b in pairwise(path))
