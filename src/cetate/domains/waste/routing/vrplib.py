"""A small reader of CVRPLIB text files (``.vrp`` instance with EUC_2D coordinates, ``.sol``
best-known solution), turned into a :class:`~.problem.RoutingProblem` with the ``round``
convention: every Euclidean distance rounded to the nearest integer. One load dimension
(``demand``), one depot, an unbounded fleet (one truck per client available), no time limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.routing.problem import (
    RoutingProblem,
    Site,
    Stop,
    TravelMatrix,
    TruckType,
)

_UNLIMITED = 1 << 40


@dataclass(frozen=True, slots=True)
class CvrpInstance:
    name: str
    capacity: int
    coords: list[tuple[float, float]]
    """node 1 (the depot) first"""
    demands: list[int]
    depot: int
    """index in ``coords`` (0-based)"""


def read_vrp(path: Path) -> CvrpInstance:
    """Parse a CVRPLIB ``.vrp`` file (EUC_2D only)."""
    header: dict[str, str] = {}
    coords: dict[int, tuple[float, float]] = {}
    demands: dict[int, int] = {}
    depots: list[int] = []
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        if line.endswith("SECTION"):
            section = line
            continue
        if ":" in line and not section:
            key, value = line.split(":", 1)
            header[key.strip()] = value.strip()
            continue
        fields = line.split()
        if section == "NODE_COORD_SECTION":
            coords[int(fields[0])] = (float(fields[1]), float(fields[2]))
        elif section == "DEMAND_SECTION":
            demands[int(fields[0])] = int(fields[1])
        elif section == "DEPOT_SECTION" and int(fields[0]) > 0:
            depots.append(int(fields[0]))
    if header.get("EDGE_WEIGHT_TYPE") != "EUC_2D":
        raise WasteInputError(f"{path.name}: only EUC_2D instances are supported")
    nodes = sorted(coords)
    if nodes != sorted(demands) or len(depots) != 1:
        raise WasteInputError(f"{path.name}: coordinates, demands or depot section malformed")
    return CvrpInstance(
        name=header.get("NAME", path.stem),
        capacity=int(header["CAPACITY"]),
        coords=[coords[n] for n in nodes],
        demands=[demands[n] for n in nodes],
        depot=nodes.index(depots[0]),
    )


def read_sol_cost(path: Path) -> int:
    """The ``Cost`` line of a ``.sol`` file."""
    match = re.search(r"^Cost\s+(\d+)", path.read_text(), re.MULTILINE)
    if match is None:
        raise WasteInputError(f"{path.name}: no Cost line")
    return int(match.group(1))


def rounded_matrix(coords: list[tuple[float, float]]) -> npt.NDArray[np.int64]:
    """Euclidean distances rounded to the nearest integer (CVRPLIB ``round``)."""
    xy = np.asarray(coords, dtype=np.float64)
    diff = xy[:, None, :] - xy[None, :, :]
    rounded: npt.NDArray[np.int64] = np.rint(np.sqrt((diff**2).sum(axis=2))).astype(np.int64)
    return rounded


def to_problem(instance: CvrpInstance) -> RoutingProblem:
    """The instance as a routing problem (depot first, then clients in file order)."""
    order = [instance.depot] + [i for i in range(len(instance.coords)) if i != instance.depot]
    matrix = rounded_matrix([instance.coords[i] for i in order])
    stops = tuple(
        Stop(id=f"c{k}", load=(instance.demands[i],), latest_s=_UNLIMITED)
        for k, i in enumerate(order[1:], start=1)
    )
    truck = TruckType(
        id="truck",
        count=max(1, len(stops)),
        capacity=(instance.capacity,),
        depot="depot",
        shift_end_s=_UNLIMITED,
    )
    return RoutingProblem(
        depots=(Site("depot", close_s=_UNLIMITED),),
        stops=stops,
        trucks=(truck,),
        matrix=TravelMatrix(matrix, np.zeros_like(matrix), estimate=False),
        load_dimensions=("demand",),
    )
