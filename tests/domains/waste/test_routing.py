"""The PyVRP RoutingSolver on small problems with a known optimum or checked properties."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from cetate.domains.waste.errors import RoutingInfeasible, WasteInputError
from cetate.domains.waste.geo import estimate_matrix, haversine_m
from cetate.domains.waste.routing.problem import RoutingProblem, Site, Stop, TruckType
from cetate.domains.waste.routing.pyvrp_solver import PyVRPSolver
from cetate.domains.waste.routing.solver import StopSignal, precheck
from cetate.domains.waste.routing.vrplib import read_vrp, to_problem

from .support import plane_matrix, problem, route_length, trip_loads

DATA = Path(__file__).parent / "data"
SOLVER = PyVRPSolver()


def test_known_optimum_e_n22_k4() -> None:
    p = to_problem(read_vrp(DATA / "E-n22-k4.vrp"))
    solution = SOLVER.solve(p, seconds=2, seed=1)
    assert solution.feasible
    assert solution.distance_m == 375  # proven optimum, round convention
    assert sum(route_length(p, r) for r in solution.routes) == 375
    assert sorted(s for r in solution.routes for s in r.stop_ids) == sorted(s.id for s in p.stops)
    assert not solution.estimate


def test_two_load_dimensions_are_respected() -> None:
    rng = random.Random(7)
    stops = [
        (
            Stop(f"b{i}", (rng.randint(50, 240), rng.randint(5, 90))),
            (rng.uniform(-2000, 2000), rng.uniform(-2000, 2000)),
        )
        for i in range(30)
    ]
    trucks = [TruckType("t", count=6, capacity=(1000, 300), depot="depot")]
    p = problem(stops=stops, trucks=trucks)
    solution = SOLVER.solve(p, seconds=1, seed=1)
    assert solution.feasible
    for route in solution.routes:
        for volume, weight in trip_loads(p, route):
            assert volume <= 1000
            assert weight <= 300
    visited = sorted(s for r in solution.routes for s in r.stop_ids)
    assert visited == sorted(f"b{i}" for i in range(30))
    # weight binds: 30 bins of up to 90 kg need at least ceil(total / 300) trucks
    total_weight = sum(s.load[1] for s, _ in stops)
    assert len(solution.routes) >= -(-total_weight // 300)


def test_time_windows_are_respected() -> None:
    # a school street: b1 may only be emptied after 08:30; b2 only before 07:30
    stops = [
        (Stop("b1", (10, 1), service_s=60, earliest_s=8 * 3600 + 1800), (1000.0, 0.0)),
        (Stop("b2", (10, 1), service_s=60, latest_s=7 * 3600 + 1800), (1000.0, 100.0)),
        (Stop("b3", (10, 1), service_s=60), (500.0, 500.0)),
    ]
    trucks = [TruckType("t", count=1, capacity=(100, 100), depot="depot", shift_start_s=7 * 3600)]
    p = problem(stops=stops, trucks=trucks)
    solution = SOLVER.solve(p, seconds=0.5, seed=1)
    assert solution.feasible
    [route] = solution.routes
    starts = {v.id: v.start_s for v in route.visits if v.kind == "stop"}
    assert starts["b1"] >= 8 * 3600 + 1800
    assert starts["b2"] <= 7 * 3600 + 1800
    assert route.stop_ids.index("b2") < route.stop_ids.index("b1")


def test_reload_at_a_facility_when_the_truck_fills() -> None:
    stops = [(Stop(f"b{i}", (400, 40), service_s=30), (1000.0 + 50 * i, 0.0)) for i in range(6)]
    trucks = [TruckType("t", count=1, capacity=(1000, 500), depot="depot", reload_at=("landfill",))]
    p = problem(facilities=[("landfill", (1200.0, 300.0))], stops=stops, trucks=trucks)
    solution = SOLVER.solve(p, seconds=0.5, seed=1)
    assert solution.feasible
    [route] = solution.routes
    assert route.trips >= 3  # 2400 l with 1000 l per trip
    assert [v.kind for v in route.visits].count("facility") == route.trips - 1
    for volume, _ in trip_loads(p, route):
        assert volume <= 1000
    assert len(route.stop_ids) == 6


def test_without_reloads_the_same_bins_are_not_enough_trucks() -> None:
    stops = [(Stop(f"b{i}", (400, 40)), (1000.0 + 50 * i, 0.0)) for i in range(6)]
    trucks = [TruckType("t", count=1, capacity=(1000, 500), depot="depot")]
    solution = SOLVER.solve(problem(stops=stops, trucks=trucks), seconds=0.5)
    assert not solution.feasible
    assert [i.reason for i in solution.infeasibilities] == ["fleet"]
    assert "not enough trucks" in solution.infeasibilities[0].detail
    with pytest.raises(RoutingInfeasible, match="not enough trucks"):
        solution.raise_if_infeasible()


def test_prize_trades_distance_against_risk() -> None:
    def solve_with(prize: int) -> list[str]:
        stops = [
            (Stop("near", (10, 1)), (100.0, 0.0)),
            (Stop("far", (10, 1), required=False, prize=prize), (5000.0, 0.0)),
        ]
        trucks = [TruckType("t", count=1, capacity=(100, 100), depot="depot")]
        solution = SOLVER.solve(problem(stops=stops, trucks=trucks), seconds=0.3, seed=1)
        assert solution.feasible
        return solution.skipped

    # the detour to "far" costs 2 × 4900 = 9800 m
    assert solve_with(2000) == ["far"]
    assert solve_with(20000) == []


def test_objective_counts_uncollected_prizes() -> None:
    stops = [(Stop("far", (10, 1), required=False, prize=500), (5000.0, 0.0))]
    trucks = [TruckType("t", count=1, capacity=(100, 100), depot="depot")]
    solution = SOLVER.solve(problem(stops=stops, trucks=trucks), seconds=0.2)
    assert solution.skipped == ["far"]
    assert solution.objective == 500
    assert solution.routes == []


@pytest.mark.parametrize(
    ("stop", "truck", "reason", "words"),
    [
        (
            Stop("big", (5000, 10)),
            TruckType("t", 1, (1000, 500), "depot"),
            "capacity",
            "larger than every truck",
        ),
        (
            Stop("late", (10, 1), latest_s=6 * 3600),
            TruckType("t", 1, (1000, 500), "depot", shift_start_s=7 * 3600),
            "window",
            "time window",
        ),
        (
            Stop("away", (10, 1)),
            TruckType("t", 1, (1000, 500), "depot", max_shift_s=600),
            "shift",
            "shorter than the trip",
        ),
    ],
)
def test_infeasibility_reasons(stop: Stop, truck: TruckType, reason: str, words: str) -> None:
    p = problem(stops=[(stop, (20000.0, 0.0))], trucks=[truck])  # 2000 s each way at 10 m/s
    found = precheck(p)[0]
    assert found.reason == reason
    assert found.stop_id == stop.id
    assert words in found.detail
    solution = SOLVER.solve(p, seconds=0.2)
    assert not solution.feasible
    assert solution.routes == []
    with pytest.raises(RoutingInfeasible, match=stop.id):
        solution.raise_if_infeasible()


def test_an_unreachable_optional_bin_does_not_block_the_plan() -> None:
    stops = [
        (Stop("near", (10, 1)), (100.0, 0.0)),
        (Stop("late", (10, 1), latest_s=3600, required=False, prize=10**6), (20000.0, 0.0)),
    ]
    trucks = [TruckType("t", 1, (1000, 500), "depot", shift_start_s=7 * 3600)]
    solution = SOLVER.solve(problem(stops=stops, trucks=trucks), seconds=0.2)
    assert solution.feasible
    assert solution.skipped == ["late"]


def test_stop_signal_ends_the_solve_early() -> None:
    p = to_problem(read_vrp(DATA / "E-n22-k4.vrp"))
    signal = StopSignal()
    signal.stop()
    solution = SOLVER.solve(p, seconds=60, stop=signal)
    assert solution.stopped_early
    assert solution.iterations <= 1
    assert solution.routes  # the best plan so far (the initial one) is returned


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"trucks": (TruckType("t", 1, (10, 10), "nowhere"),)}, "unknown depot 'nowhere'"),
        ({"trucks": (TruckType("t", 1, (10,), "depot"),)}, "must have 2 positive values"),
        ({"trucks": (TruckType("t", 1, (0, 10), "depot"),)}, "must have 2 positive values"),
        ({"trucks": (TruckType("t", 1, (9, 9), "depot", reload_at=("x",)),)}, "unknown facility"),
        ({"stops": (Stop("b", (-1, 1)),)}, "negative load"),
        ({"stops": (Stop("b", (1, 1), earliest_s=100, latest_s=50),)}, r"ends \(50 s\) before"),
        ({"stops": (Stop("depot", (1, 1)),)}, "duplicate id 'depot'"),
        ({"depots": ()}, "at least one depot"),
    ],
)
def test_bad_problems_are_rejected(change: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "depots": (Site("depot"),),
        "stops": (Stop("b", (1, 1)),),
        "trucks": (TruckType("t", 1, (10, 10), "depot"),),
    }
    fields.update(change)
    size = len(fields["depots"]) + len(fields["stops"])  # type: ignore[arg-type]
    matrix = estimate_matrix([(46.77, 23.59)] * size)
    with pytest.raises(WasteInputError, match=message):
        RoutingProblem(matrix=matrix, **fields)  # type: ignore[arg-type]


def test_matrix_of_the_wrong_size_is_rejected() -> None:
    with pytest.raises(WasteInputError, match=r"expected 2×2"):
        RoutingProblem(
            depots=(Site("depot"),),
            stops=(Stop("b", (1, 1)),),
            trucks=(TruckType("t", 1, (10, 10), "depot"),),
            matrix=estimate_matrix([(46.77, 23.59)] * 3),
        )


def test_time_budget_must_be_positive() -> None:
    p = to_problem(read_vrp(DATA / "E-n22-k4.vrp"))
    with pytest.raises(WasteInputError, match="time budget"):
        SOLVER.solve(p, seconds=0)


def test_estimated_distances_are_haversine_times_detour() -> None:
    # Piața Unirii → Piața Mihai Viteazu, Cluj-Napoca
    a, b = (46.7694, 23.5899), (46.7740, 23.5941)
    straight = haversine_m(*a, *b)
    assert 590 < straight < 610
    m = estimate_matrix([a, b], detour=1.3, speed_kmh=18)
    assert m.estimate
    assert int(m.distance_m[0, 1]) == round(straight * 1.3)
    assert int(m.duration_s[0, 1]) == round(straight * 1.3 / 5.0)
    assert np.array_equal(m.distance_m, m.distance_m.T)
    with pytest.raises(WasteInputError, match="detour factor"):
        estimate_matrix([a, b], detour=0.9)
    with pytest.raises(WasteInputError, match="out of range"):
        estimate_matrix([(123.0, 23.0)])


def test_two_depots_and_shift_length() -> None:
    west = [
        (Stop(f"w{i}", (10, 1), service_s=120), (-3000.0 - 100 * i, 50.0 * i)) for i in range(5)
    ]
    east = [(Stop(f"e{i}", (10, 1), service_s=120), (3000.0 + 100 * i, 50.0 * i)) for i in range(5)]
    points = [(-3000.0, 0.0), (3000.0, 0.0), *(p for _, p in west + east)]
    p = RoutingProblem(
        depots=(Site("west"), Site("east")),
        stops=tuple(s for s, _ in west + east),
        trucks=(
            TruckType("tw", 1, (100, 100), "west", max_shift_s=3600),
            TruckType("te", 1, (100, 100), "east", max_shift_s=3600),
        ),
        matrix=plane_matrix(points),
    )
    solution = SOLVER.solve(p, seconds=0.5, seed=1)
    assert solution.feasible
    by_truck = {r.truck_type: r for r in solution.routes}
    assert sorted(by_truck["tw"].stop_ids) == [f"w{i}" for i in range(5)]
    assert sorted(by_truck["te"].stop_ids) == [f"e{i}" for i in range(5)]
    for name, route in by_truck.items():
        depot = "west" if name == "tw" else "east"
        assert route.visits[0].id == route.visits[-1].id == depot
        assert route.duration_s <= 3600
        assert route.visits[-1].start_s - route.visits[0].end_s <= 3600


def test_the_domain_is_declared_as_an_entry_point() -> None:
    from importlib.metadata import entry_points

    [ep] = [e for e in entry_points(group="cetate.domains") if e.name == "waste"]
    assert ep.value == "cetate.domains.waste"
    assert ep.load().__name__ == "cetate.domains.waste"


def test_no_bins_gives_an_empty_feasible_plan() -> None:
    p = RoutingProblem(
        depots=(Site("depot"),),
        stops=(),
        trucks=(TruckType("t", 1, (10, 10), "depot"),),
        matrix=estimate_matrix([(46.77, 23.59)]),
    )
    solution = SOLVER.solve(p, seconds=0.1)
    assert solution.feasible
    assert solution.routes == []
    assert solution.distance_m == 0
