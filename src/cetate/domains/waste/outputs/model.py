"""One truck's route as the crew sees it: ordered stops with place, time and expected fill."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from cetate.domains.waste.entities import WasteContainer, WasteSite
from cetate.domains.waste.network.graph import RoadGraph
from cetate.domains.waste.network.matrix import DEFAULT_MAX_SNAP_M, road_path
from cetate.domains.waste.routing.solver import RoutingSolution
from cetate.domains.waste.selection import Selection

ADDRESS: Final = "https://smartdatamodels.org/address"
"""the Smart Data Models ``address`` (a PostalAddress object or a text)"""


def address_text(value: object) -> str | None:
    """One line from a PostalAddress (``streetAddress, addressLocality``) or a plain text."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        parts = [value.get(k) for k in ("streetAddress", "addressLocality")]
        text = ", ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
        return text or None
    return None


@dataclass(frozen=True, slots=True)
class RouteStop:
    seq: int
    kind: Literal["depot", "stop", "facility"]
    id: str
    lat: float
    lon: float
    trip: int
    start_s: int
    end_s: int
    expected_fill: float | None = None
    """level expected at collection (bins only)"""
    required: bool | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    number: int
    """1-based, in plan order"""
    truck: str
    day: date
    stops: tuple[RouteStop, ...]
    distance_m: int
    duration_s: int
    trips: int
    load: tuple[int, ...]
    estimate: bool
    """distances are the haversine estimate, not measured on roads"""
    path: tuple[tuple[float, float], ...] = ()
    """(lat, lon) along the roads when planned on a road network; empty: straight lines"""

    @property
    def line(self) -> list[tuple[float, float]]:
        """(lat, lon) of the route's line: along the roads if known, else stop to stop."""
        return list(self.path) if self.path else [(s.lat, s.lon) for s in self.stops]

    @property
    def name(self) -> str:
        return f"route-{self.number:02d}"

    @property
    def bins(self) -> list[RouteStop]:
        return [s for s in self.stops if s.kind == "stop"]


def planned_routes(
    solution: RoutingSolution,
    day: date,
    bins: Sequence[WasteContainer],
    sites: Sequence[WasteSite],
    selection: Selection,
    addresses: Mapping[str, str] | None = None,
    *,
    network: RoadGraph | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> list[PlannedRoute]:
    """The routes of ``solution`` with coordinates, expected fill and addresses filled in;
    with ``network``, also the line along the roads (:func:`.network.matrix.road_path`)."""
    places = {b.id: (b.lat, b.lon) for b in bins} | {s.id: (s.lat, s.lon) for s in sites}
    choices = {c.bin_id: c for c in selection.chosen}
    known = addresses or {}
    out: list[PlannedRoute] = []
    for number, route in enumerate(solution.routes, start=1):
        stops: list[RouteStop] = []
        for seq, visit in enumerate(route.visits):
            lat, lon = places[visit.id]
            choice = choices.get(visit.id) if visit.kind == "stop" else None
            stops.append(
                RouteStop(
                    seq=seq,
                    kind=visit.kind,
                    id=visit.id,
                    lat=lat,
                    lon=lon,
                    trip=visit.trip,
                    start_s=visit.start_s,
                    end_s=visit.end_s,
                    expected_fill=None if choice is None else choice.level,
                    required=None if choice is None else choice.required,
                    address=known.get(visit.id),
                )
            )
        out.append(
            PlannedRoute(
                number=number,
                truck=route.truck_type,
                day=day,
                stops=tuple(stops),
                distance_m=route.distance_m,
                duration_s=route.duration_s,
                trips=route.trips,
                load=route.load,
                estimate=solution.estimate,
                path=()
                if network is None
                else tuple(
                    road_path(
                        network,
                        [(s.id, s.lat, s.lon) for s in stops],
                        max_snap_m=max_snap_m,
                    )
                ),
            )
        )
    return out
