"""The :class:`RoutingSolver` protocol, what it returns, and the checks that find an infeasible
problem before (and after) solving, each with a reason a planner can act on."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal, Protocol

from cetate.domains.waste.errors import RoutingInfeasible
from cetate.domains.waste.routing.problem import RoutingProblem, Stop, TruckType

Reason = Literal[
    "capacity",  # a bin larger than every truck
    "window",  # a bin's time window cannot be reached in any shift
    "shift",  # a shift shorter than the trip depot → bin → depot
    "fleet",  # not enough trucks (or time) for the required bins
    "unsolved",  # the solver found no feasible plan in its budget
]


@dataclass(frozen=True, slots=True)
class Infeasibility:
    reason: Reason
    detail: str
    stop_id: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """One step of a route: a bin emptied, a facility visit (unloading) or a depot."""

    kind: Literal["depot", "stop", "facility"]
    id: str
    trip: int
    start_s: int
    """start of service (after any wait)"""
    end_s: int


@dataclass(frozen=True, slots=True)
class Route:
    truck_type: str
    visits: tuple[Visit, ...]
    distance_m: int
    duration_s: int
    trips: int
    load: tuple[int, ...]
    """total collected per load dimension"""

    @property
    def stop_ids(self) -> list[str]:
        return [v.id for v in self.visits if v.kind == "stop"]


@dataclass(slots=True)
class RoutingSolution:
    routes: list[Route] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """optional bins left out"""
    feasible: bool = False
    infeasibilities: list[Infeasibility] = field(default_factory=list)
    distance_m: int = 0
    objective: int = 0
    """metres driven (+ duration cost) + prizes of the skipped optional bins"""
    estimate: bool = True
    """distances are estimates (no road network)"""
    runtime_s: float = 0.0
    iterations: int = 0
    stopped_early: bool = False

    def raise_if_infeasible(self) -> None:
        if not self.feasible:
            reasons = "; ".join(i.detail for i in self.infeasibilities) or "no feasible plan"
            raise RoutingInfeasible(f"no feasible route plan: {reasons}")


class StopSignal:
    """Ask a running solve to stop early and return the best plan found so far."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def stop(self) -> None:
        self._event.set()

    @property
    def stopped(self) -> bool:
        return self._event.is_set()


class RoutingSolver(Protocol):
    """Solves a :class:`RoutingProblem` within ``seconds`` (a budget; ``stop`` ends it early)."""

    def solve(
        self,
        problem: RoutingProblem,
        *,
        seconds: float,
        seed: int = 0,
        stop: StopSignal | None = None,
    ) -> RoutingSolution: ...


def precheck(problem: RoutingProblem) -> list[Infeasibility]:
    """Reasons the problem cannot be solved, found without solving (required bins only block
    the plan; an optional bin that cannot be served is simply never chosen)."""
    found: list[Infeasibility] = []
    for stop in problem.stops:
        reason = _stop_reason(problem, stop)
        if reason is not None and stop.required:
            found.append(reason)
    found.extend(_fleet_reasons(problem))
    return found


def _shift(truck: TruckType) -> tuple[int, int]:
    """Usable [start, end] of one truck's shift."""
    end = truck.shift_end_s
    if truck.max_shift_s is not None:
        end = min(end, truck.shift_start_s + truck.max_shift_s)
    return truck.shift_start_s, end


def _stop_reason(problem: RoutingProblem, stop: Stop) -> Infeasibility | None:
    dims = problem.load_dimensions
    fits = [
        t for t in problem.trucks if all(a <= c for a, c in zip(stop.load, t.capacity, strict=True))
    ]
    if not fits:
        over = [
            f"{dims[d]} {stop.load[d]} > {max(t.capacity[d] for t in problem.trucks)}"
            for d in range(len(dims))
            if stop.load[d] > max(t.capacity[d] for t in problem.trucks)
        ]
        return Infeasibility(
            "capacity", f"bin {stop.id} is larger than every truck ({', '.join(over)})", stop.id
        )
    duration = problem.matrix.duration_s
    here = problem.location(stop.id)
    trip_fits = window_fits = False
    for truck in fits:
        start, end = _shift(truck)
        out = int(duration[problem.location(truck.depot), here])
        back = int(duration[here, problem.location(truck.end_depot or truck.depot)])
        if out + stop.service_s + back <= end - start:
            trip_fits = True
        begin = max(start + out, stop.earliest_s)
        if begin <= stop.latest_s and begin + stop.service_s + back <= end:
            window_fits = True
    if not trip_fits:
        return Infeasibility(
            "shift",
            f"bin {stop.id}: every shift is shorter than the trip depot → bin → depot",
            stop.id,
        )
    if not window_fits:
        return Infeasibility(
            "window",
            f"bin {stop.id}: its time window ({_clock(stop.earliest_s)}–"
            f"{_clock(stop.latest_s)}) cannot be met within any truck's shift",
            stop.id,
        )
    return None


def _fleet_reasons(problem: RoutingProblem) -> list[Infeasibility]:
    required = [s for s in problem.stops if s.required]
    found: list[Infeasibility] = []
    service = sum(s.service_s for s in required)
    shifts = sum(t.count * (_shift(t)[1] - _shift(t)[0]) for t in problem.trucks)
    if service > shifts:
        found.append(
            Infeasibility(
                "fleet",
                f"not enough trucks: the required bins need {service} s of service, the "
                f"shifts give {shifts} s",
            )
        )
    for d, name in enumerate(problem.load_dimensions):
        load = sum(s.load[d] for s in required)
        bounded = [t for t in problem.trucks if not t.reload_at]
        if len(bounded) < len(problem.trucks):
            continue  # trucks that reload have no fixed capacity per shift
        cap = sum(t.count * t.capacity[d] for t in bounded)
        if load > cap:
            found.append(
                Infeasibility(
                    "fleet",
                    f"not enough trucks: the required bins hold {load} {name}, the trucks "
                    f"carry {cap} without reloads",
                )
            )
    return found


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
