"""From bins, trucks and sites (entity views) and a selection to a :class:`RoutingProblem`.

Loads: volume = level at collection × capacity (litres); weight = volume × the bulk density of
the waste type (kg/l, :data:`DENSITY_KG_L`). Each truck is its own truck type (its own shift
and depot). Travel uses :func:`.geo.estimate_matrix` (haversine × detour factor at a given
speed): the plan is marked as an estimate. With a road network (``network``, a
:class:`~.network.graph.RoadGraph`) travel is measured on the roads instead
(:func:`.network.matrix.network_matrix`); a bin the network does not cover is an error."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from cetate.domains.waste.entities import Truck, WasteContainer, WasteSite
from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.geo import DEFAULT_DETOUR, DEFAULT_SPEED_KMH, estimate_matrix
from cetate.domains.waste.network.graph import RoadGraph
from cetate.domains.waste.network.matrix import DEFAULT_MAX_SNAP_M, network_matrix
from cetate.domains.waste.routing.problem import RoutingProblem, Site, Stop, TruckType
from cetate.domains.waste.selection import Selection

DENSITY_KG_L: Final = {
    "mixed": 0.15,
    "organic": 0.45,
    "paper": 0.08,
    "plastic": 0.04,
    "glass": 0.30,
}
"""loose bulk density in a bin, kg per litre (order of magnitude, tune per city)"""


def build_problem(
    bins: Sequence[WasteContainer],
    selection: Selection,
    trucks: Sequence[Truck],
    sites: Sequence[WasteSite],
    *,
    detour: float = DEFAULT_DETOUR,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    network: RoadGraph | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> RoutingProblem:
    by_id = {b.id: b for b in bins}
    depots = [s for s in sites if s.kind == "depot"]
    facilities = [s for s in sites if s.kind == "facility"]
    stops: list[Stop] = []
    points = [(s.id, s.lat, s.lon) for s in (*depots, *facilities)]
    for choice in selection.chosen:
        bin_ = by_id.get(choice.bin_id)
        if bin_ is None:
            raise WasteInputError(f"selected bin {choice.bin_id} is not among the bins")
        volume = math.ceil(choice.level * bin_.capacity_l)
        density = DENSITY_KG_L.get(bin_.waste_type, DENSITY_KG_L["mixed"])
        earliest, latest = bin_.window if bin_.window is not None else (0, 24 * 3600)
        stops.append(
            Stop(
                id=bin_.id,
                load=(volume, math.ceil(volume * density)),
                service_s=bin_.service_s,
                earliest_s=earliest,
                latest_s=latest,
                required=choice.required,
                prize=choice.prize,
            )
        )
        points.append((bin_.id, bin_.lat, bin_.lon))
    types = tuple(
        TruckType(
            id=t.id,
            count=1,
            capacity=(t.volume_l, t.weight_kg),
            depot=t.depot,
            shift_start_s=t.shift_start_s,
            shift_end_s=t.shift_end_s,
            max_shift_s=t.max_shift_s,
            reload_at=t.reload_at,
        )
        for t in trucks
    )
    return RoutingProblem(
        depots=tuple(Site(s.id, s.open_s, s.close_s, s.service_s) for s in depots),
        facilities=tuple(Site(s.id, s.open_s, s.close_s, s.service_s) for s in facilities),
        stops=tuple(stops),
        trucks=types,
        matrix=estimate_matrix(
            [(lat, lon) for _, lat, lon in points], detour=detour, speed_kmh=speed_kmh
        )
        if network is None
        else network_matrix(network, points, max_snap_m=max_snap_m),
    )
