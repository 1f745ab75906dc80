"""A directed road graph from an OpenStreetMap extract (``.osm.pbf``), read with pyrosm.

Each drivable way segment (``highway`` class in :data:`.speeds.SPEED_KMH`) becomes one arc, or
two when it may be driven both ways: ``oneway=yes|true|1``, ``junction=roundabout`` and
motorways are one-way forward, ``oneway=-1|reverse`` one-way backward. Arc weights are the
segment length (m) and its length at the class speed (s). Parallel arcs keep the shortest
weight. The graph keeps only its largest strongly connected part, so that every node can reach
every other (bins snapped to a road that cannot be left would make the plan infeasible)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix, csr_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped]

from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.network.speeds import SPEED_KMH, edge_speed_kmh

_FORWARD = frozenset({"yes", "true", "1"})
_BACKWARD = frozenset({"-1", "reverse"})
_MIN_WEIGHT = 0.01
"""arcs of zero length still count as arcs"""


@dataclass(frozen=True, slots=True)
class RoadGraph:
    """Nodes (OSM id, lat, lon) and two weighted adjacency matrices over them."""

    osm_ids: npt.NDArray[np.int64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    distance_m: csr_matrix
    duration_s: csr_matrix
    source: str
    """where the graph came from (file name), for labels"""

    @property
    def size(self) -> int:
        return int(self.osm_ids.shape[0])

    @property
    def arcs(self) -> int:
        return int(self.distance_m.nnz)


def _direction(oneway: object, highway: str, tags: object) -> tuple[bool, bool]:
    """(forward allowed, backward allowed) of a segment."""
    value = oneway.strip().lower() if isinstance(oneway, str) else ""
    if value in _FORWARD:
        return True, False
    if value in _BACKWARD:
        return False, True
    if value == "no":
        return True, True
    if highway == "motorway" or _roundabout(tags):
        return True, False
    return True, True


def _roundabout(tags: object) -> bool:
    parsed: Any = tags
    if isinstance(tags, str):
        try:
            parsed = json.loads(tags)
        except ValueError:
            return False
    return isinstance(parsed, dict) and parsed.get("junction") == "roundabout"


def read_osm(path: str | Path, speeds: Mapping[str, float] = SPEED_KMH) -> RoadGraph:
    """The drivable road graph of an ``.osm.pbf`` extract (no network access: pyrosm reads the
    file only). A missing file or an extract without drivable roads is a
    :class:`WasteInputError`."""
    from pyrosm import OSM  # type: ignore[import-untyped]  # deferred: heavy (geopandas)

    file = Path(path)
    if not file.is_file():
        raise WasteInputError(f"road network: no such file {str(file)!r}")
    try:
        nodes, edges = OSM(str(file)).get_network(network_type="driving", nodes=True)
    except Exception as exc:  # pyrosm raises assorted errors on corrupt input
        raise WasteInputError(f"road network: cannot read {file.name}: {exc}") from exc
    if nodes is None or edges is None or len(edges) == 0:
        raise WasteInputError(f"road network: {file.name} has no drivable roads")
    return build_graph(
        osm_ids=nodes["id"].to_numpy(dtype=np.int64),
        lat=nodes["lat"].to_numpy(dtype=np.float64),
        lon=nodes["lon"].to_numpy(dtype=np.float64),
        segments=zip(
            edges["u"].tolist(),
            edges["v"].tolist(),
            edges["length"].tolist(),
            edges["highway"].tolist(),
            edges["oneway"].tolist() if "oneway" in edges else [None] * len(edges),
            edges["maxspeed"].tolist() if "maxspeed" in edges else [None] * len(edges),
            edges["tags"].tolist() if "tags" in edges else [None] * len(edges),
            strict=True,
        ),
        source=file.name,
        speeds=speeds,
    )


def build_graph(
    *,
    osm_ids: npt.NDArray[np.int64],
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    segments: Any,
    source: str,
    speeds: Mapping[str, float] = SPEED_KMH,
) -> RoadGraph:
    """The graph from node arrays and segments ``(u, v, length_m, highway, oneway, maxspeed,
    tags)`` (u, v: OSM node ids)."""
    index = {int(node): i for i, node in enumerate(osm_ids)}
    rows: list[int] = []
    cols: list[int] = []
    metres: list[float] = []
    seconds: list[float] = []
    for u, v, length, highway, oneway, maxspeed, tags in segments:
        speed = edge_speed_kmh(highway, maxspeed, speeds)
        a, b = index.get(int(u)), index.get(int(v))
        if speed is None or a is None or b is None or a == b:
            continue
        if not (isinstance(length, int | float) and math.isfinite(length) and length >= 0):
            continue
        forward, backward = _direction(oneway, str(highway), tags)
        dist = max(float(length), _MIN_WEIGHT)
        time = max(dist / (speed / 3.6), _MIN_WEIGHT)
        for ok, x, y in ((forward, a, b), (backward, b, a)):
            if ok:
                rows.append(x)
                cols.append(y)
                metres.append(dist)
                seconds.append(time)
    if not rows:
        raise WasteInputError(f"road network: {source} has no drivable roads")
    n = len(osm_ids)
    distance = _min_matrix(rows, cols, metres, n)
    duration = _min_matrix(rows, cols, seconds, n)
    count, labels = connected_components(distance, directed=True, connection="strong")
    keep = np.flatnonzero(labels == np.bincount(labels).argmax()) if count > 1 else np.arange(n)
    return RoadGraph(
        osm_ids=np.asarray(osm_ids, dtype=np.int64)[keep],
        lat=np.asarray(lat, dtype=np.float64)[keep],
        lon=np.asarray(lon, dtype=np.float64)[keep],
        distance_m=distance[keep][:, keep].tocsr(),
        duration_s=duration[keep][:, keep].tocsr(),
        source=source,
    )


def _min_matrix(rows: list[int], cols: list[int], weights: list[float], n: int) -> csr_matrix:
    """A sparse matrix keeping the smallest weight of parallel arcs (coo would add them)."""
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    order = np.lexsort((w, c, r))
    r, c, w = r[order], c[order], w[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    return csr_matrix(coo_matrix((w[first], (r[first], c[first])), shape=(n, n)))
