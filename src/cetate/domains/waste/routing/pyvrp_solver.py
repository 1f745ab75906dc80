"""The :class:`~.solver.RoutingSolver` on PyVRP (iterated local search, pinned minor version).

Mapping: depots and facilities become PyVRP depots (facilities are the trucks' reload depots,
where the load is emptied mid-shift); bins become clients whose load is a *pickup* in every load
dimension (volume, weight), with service time, time window and — for optional bins — a prize
and ``required=False``; each truck type becomes a vehicle type with its capacities, shift window,
maximum shift length and reload depots. The objective is metres driven (plus the optional
duration cost) plus the prizes of the optional bins left out. The travel matrix is passed as is
(no rounding happens here: the problem is already integer)."""

from __future__ import annotations

import time
from typing import Any, Final, Literal

import numpy as np
from pyvrp import Client, Depot, Location, ProblemData, Solution, VehicleType
from pyvrp import Route as PyvrpRoute
from pyvrp import solve as pyvrp_solve
from pyvrp.constants import MAX_SIZE

from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.routing.problem import RoutingProblem
from cetate.domains.waste.routing.solver import (
    Infeasibility,
    Route,
    RoutingSolution,
    StopSignal,
    Visit,
    precheck,
)

UNBOUNDED: Final = 1 << 44
"""PyVRP's 'no limit' for durations and times (its MAX_VALUE)"""


class _Budget:
    """Stopping criterion: the time budget is spent or the caller asked to stop."""

    def __init__(self, seconds: float, signal: StopSignal | None) -> None:
        self.deadline = time.monotonic() + seconds
        self.signal = signal
        self.stopped_early = False

    def __call__(self, best_cost: float) -> bool:
        if self.signal is not None and self.signal.stopped:
            self.stopped_early = True
            return True
        return time.monotonic() >= self.deadline


def to_problem_data(problem: RoutingProblem) -> ProblemData:
    """The PyVRP instance of ``problem``."""
    sites = problem.sites
    site_index = {s.id: i for i, s in enumerate(sites)}
    count = len(sites) + len(problem.stops)
    locations = [Location(x=float(i), y=0.0) for i in range(count)]
    depots = [
        Depot(i, tw_early=s.open_s, tw_late=s.close_s, service_duration=s.service_s, name=s.id)
        for i, s in enumerate(sites)
    ]
    clients = [
        Client(
            len(sites) + i,
            pickup=list(stop.load),
            service_duration=stop.service_s,
            tw_early=stop.earliest_s,
            tw_late=stop.latest_s,
            prize=stop.prize,
            required=stop.required,
            name=stop.id,
        )
        for i, stop in enumerate(problem.stops)
    ]
    vehicle_types = []
    for truck in problem.trucks:
        vehicle_types.append(
            VehicleType(
                num_available=truck.count,
                capacity=list(truck.capacity),
                start_depot=site_index[truck.depot],
                end_depot=site_index[truck.end_depot or truck.depot],
                fixed_cost=truck.fixed_cost,
                tw_early=truck.shift_start_s,
                tw_late=truck.shift_end_s,
                shift_duration=truck.max_shift_s if truck.max_shift_s is not None else UNBOUNDED,
                unit_distance_cost=1,
                unit_duration_cost=problem.duration_cost,
                reload_depots=[site_index[f] for f in truck.reload_at],
                max_reloads=MAX_SIZE if truck.max_reloads is None else truck.max_reloads,
                name=truck.id,
            )
        )
    distance: Any = np.ascontiguousarray(problem.matrix.distance_m, dtype=np.int64)
    duration: Any = np.ascontiguousarray(problem.matrix.duration_s, dtype=np.int64)
    try:
        return ProblemData(locations, clients, depots, vehicle_types, [distance], [duration])
    except (ValueError, IndexError) as error:
        raise WasteInputError(f"the routing problem is not valid for PyVRP: {error}") from error


class PyVRPSolver:
    """:class:`~.solver.RoutingSolver` backed by PyVRP."""

    def solve(
        self,
        problem: RoutingProblem,
        *,
        seconds: float,
        seed: int = 0,
        stop: StopSignal | None = None,
    ) -> RoutingSolution:
        if not seconds > 0:
            raise WasteInputError(f"the time budget must be > 0 s (got {seconds})")
        blocked = precheck(problem)
        if blocked:
            return RoutingSolution(
                feasible=False, infeasibilities=blocked, estimate=problem.matrix.estimate
            )
        data = to_problem_data(problem)
        budget = _Budget(seconds, stop)
        result = pyvrp_solve(data, budget, seed=seed, collect_stats=False, display=False)
        solution = _convert(problem, result.best)
        solution.runtime_s = result.runtime
        solution.iterations = result.num_iterations
        solution.stopped_early = budget.stopped_early
        return solution


def _convert(problem: RoutingProblem, best: Solution) -> RoutingSolution:
    depots = len(problem.depots)
    routes = [_route(problem, route, depots) for route in best.routes()]
    visited = {stop_id for route in routes for stop_id in route.stop_ids}
    skipped = [s.id for s in problem.stops if not s.required and s.id not in visited]
    missing = [s.id for s in problem.stops if s.required and s.id not in visited]
    reasons: list[Infeasibility] = []
    if best.has_excess_load():
        reasons.append(
            Infeasibility("fleet", "not enough trucks: the best plan found overloads a truck")
        )
    if best.has_time_warp():
        reasons.append(
            Infeasibility(
                "unsolved",
                "the best plan found misses time windows or shift ends; add trucks, lengthen "
                "shifts or widen windows",
            )
        )
    if missing:
        reasons.append(
            Infeasibility(
                "fleet",
                f"not enough trucks: {len(missing)} required bins are not on any route "
                f"(first: {missing[0]})",
            )
        )
    feasible = best.is_feasible() and not missing
    distance = sum(r.distance_m for r in routes)
    left_out = set(skipped)
    prize_lost = sum(s.prize for s in problem.stops if s.id in left_out)
    duration = sum(r.duration_s for r in routes)
    fixed = sum(problem.trucks[route.vehicle_type()].fixed_cost for route in best.routes())
    return RoutingSolution(
        routes=routes,
        skipped=skipped,
        feasible=feasible,
        infeasibilities=reasons,
        distance_m=distance,
        objective=distance + problem.duration_cost * duration + prize_lost + fixed,
        estimate=problem.matrix.estimate,
    )


def _route(problem: RoutingProblem, route: PyvrpRoute, depots: int) -> Route:
    sites = problem.sites
    visits: list[Visit] = []
    for activity in route.schedule():
        if activity.is_client():
            stop = problem.stops[activity.idx]
            visits.append(
                Visit("stop", stop.id, activity.trip, activity.start_time, activity.end_time)
            )
        elif activity.is_depot():
            kind: Literal["depot", "facility"] = "depot" if activity.idx < depots else "facility"
            visits.append(
                Visit(
                    kind,
                    sites[activity.idx].id,
                    activity.trip,
                    activity.start_time,
                    activity.end_time,
                )
            )
    return Route(
        truck_type=problem.trucks[route.vehicle_type()].id,
        visits=tuple(visits),
        distance_m=route.distance(),
        duration_s=route.duration(),
        trips=route.num_trips(),
        load=tuple(route.pickup()),
    )
