"""A routing problem in integer units: metres, seconds, and integer loads per load dimension
(by default ``volume_l`` litres and ``weight_kg`` kilograms).

Locations are numbered in one order, which the travel matrix follows: first the depots, then
the facilities (landfills / transfer stations where a truck unloads mid-shift), then the stops
(bins). Times are seconds from the start of the planning day (e.g. 07:30 is 27000)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from cetate.domains.waste.errors import WasteInputError

DAY_S: Final = 24 * 3600
LOAD_DIMENSIONS: Final = ("volume_l", "weight_kg")


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Distances (m) and durations (s) between all locations, row = from, column = to."""

    distance_m: npt.NDArray[np.int64]
    duration_s: npt.NDArray[np.int64]
    estimate: bool = True
    """True when not measured on a road network (haversine × detour factor)"""


@dataclass(frozen=True, slots=True)
class Site:
    """A depot (trucks start and end there) or a facility (trucks unload there)."""

    id: str
    open_s: int = 0
    close_s: int = DAY_S
    service_s: int = 0
    """time spent at each visit (unloading at a facility)"""


@dataclass(frozen=True, slots=True)
class Stop:
    """A bin to empty: its load per dimension, service time, time window and, for an optional
    stop, the prize (in metres of driving it is worth)."""

    id: str
    load: tuple[int, ...]
    service_s: int = 0
    earliest_s: int = 0
    latest_s: int = DAY_S
    """latest start of service"""
    required: bool = True
    prize: int = 0


@dataclass(frozen=True, slots=True)
class TruckType:
    """``count`` identical trucks. Capacity per load dimension; the shift is the window
    [shift_start_s, shift_end_s] and at most ``max_shift_s`` long. ``reload_at`` names the
    facilities where the truck may unload mid-shift (empty: no reloads)."""

    id: str
    count: int
    capacity: tuple[int, ...]
    depot: str
    end_depot: str | None = None
    shift_start_s: int = 0
    shift_end_s: int = DAY_S
    max_shift_s: int | None = None
    reload_at: tuple[str, ...] = ()
    max_reloads: int | None = None
    fixed_cost: int = 0


@dataclass(frozen=True, slots=True)
class RoutingProblem:
    depots: tuple[Site, ...]
    stops: tuple[Stop, ...]
    trucks: tuple[TruckType, ...]
    matrix: TravelMatrix
    facilities: tuple[Site, ...] = ()
    load_dimensions: tuple[str, ...] = LOAD_DIMENSIONS
    duration_cost: int = 0
    """cost per second of route duration, added to the metres driven (0: distance only)"""
    names: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", {})
        self.validate()
        items: tuple[Site | Stop, ...] = (*self.depots, *self.facilities, *self.stops)
        for index, item in enumerate(items):
            self.names[item.id] = index

    @property
    def sites(self) -> tuple[Site, ...]:
        """Depots then facilities: the PyVRP depots, in location order."""
        return (*self.depots, *self.facilities)

    def location(self, item_id: str) -> int:
        """The matrix index of a depot, facility or stop."""
        return self.names[item_id]

    def validate(self) -> None:
        """Raise :class:`WasteInputError` naming the first thing that is wrong."""
        dims = len(self.load_dimensions)
        if not self.depots:
            raise WasteInputError("a routing problem needs at least one depot")
        if not self.trucks:
            raise WasteInputError("a routing problem needs at least one truck type")
        items: tuple[Site | Stop, ...] = (*self.depots, *self.facilities, *self.stops)
        ids = [x.id for x in items]
        seen: set[str] = set()
        for item_id in ids:
            if item_id in seen:
                raise WasteInputError(f"duplicate id {item_id!r} in the routing problem")
            seen.add(item_id)
        size = len(ids)
        for name, matrix in (
            ("distance", self.matrix.distance_m),
            ("duration", self.matrix.duration_s),
        ):
            if matrix.shape != (size, size):
                raise WasteInputError(
                    f"{name} matrix is {matrix.shape}, expected {size}×{size} "
                    "(depots, facilities, stops)"
                )
            if size and int(matrix.min()) < 0:
                raise WasteInputError(f"{name} matrix has negative entries")
        for site in self.sites:
            if site.close_s < site.open_s or site.service_s < 0:
                raise WasteInputError(f"site {site.id}: closes before it opens")
        for stop in self.stops:
            _check_stop(stop, dims)
        depot_ids = {d.id for d in self.depots}
        facility_ids = {f.id for f in self.facilities}
        for truck in self.trucks:
            _check_truck(truck, dims, depot_ids, facility_ids)


def _check_stop(stop: Stop, dims: int) -> None:
    if len(stop.load) != dims:
        raise WasteInputError(f"bin {stop.id}: load has {len(stop.load)} values, expected {dims}")
    if any(v < 0 for v in stop.load):
        raise WasteInputError(f"bin {stop.id}: negative load {stop.load}")
    if stop.service_s < 0:
        raise WasteInputError(f"bin {stop.id}: negative service time")
    if stop.latest_s < stop.earliest_s:
        raise WasteInputError(
            f"bin {stop.id}: time window ends ({stop.latest_s} s) before it starts "
            f"({stop.earliest_s} s)"
        )
    if stop.prize < 0:
        raise WasteInputError(f"bin {stop.id}: negative prize")


def _check_truck(truck: TruckType, dims: int, depots: set[str], facilities: set[str]) -> None:
    if truck.count < 1:
        raise WasteInputError(f"truck type {truck.id}: count must be ≥ 1")
    if len(truck.capacity) != dims or any(c <= 0 for c in truck.capacity):
        raise WasteInputError(
            f"truck type {truck.id}: capacity {truck.capacity} must have {dims} positive values"
        )
    for depot in (truck.depot, truck.end_depot or truck.depot):
        if depot not in depots:
            raise WasteInputError(f"truck type {truck.id}: unknown depot {depot!r}")
    for facility in truck.reload_at:
        if facility not in facilities:
            raise WasteInputError(f"truck type {truck.id}: unknown facility {facility!r}")
    if truck.shift_end_s <= truck.shift_start_s:
        raise WasteInputError(f"truck type {truck.id}: the shift ends before it starts")
    if truck.max_shift_s is not None and truck.max_shift_s <= 0:
        raise WasteInputError(f"truck type {truck.id}: shift length must be > 0")
