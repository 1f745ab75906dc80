"""Solver quality on the CVRPLIB X instances with 100–199 clients (22 instances, Uchoa et al.
2017), solved through Cetate's own ``RoutingSolver`` interface (the PyVRP implementation), one
seed, a fixed time budget per instance, distances with the ``round`` convention (each Euclidean
distance rounded to the nearest integer, as the best-known solutions are computed).

Prints per instance the cost found, the best-known cost (BKS) and the % gap, then the mean and
worst gap. Data: benchmarks/data/cvrp (MIT, see LICENSE and README.md there).

Usage::

    .venv/bin/python benchmarks/vrp_cvrplib.py [--seconds 20] [--seed 1] [--only X-n101-k25]
"""

from __future__ import annotations

import argparse
import statistics
from itertools import pairwise
from pathlib import Path

from _common import machine

from cetate.domains.waste.routing.problem import RoutingProblem
from cetate.domains.waste.routing.pyvrp_solver import PyVRPSolver
from cetate.domains.waste.routing.solver import RoutingSolution, RoutingSolver
from cetate.domains.waste.routing.vrplib import read_sol_cost, read_vrp, to_problem

DATA = Path(__file__).parent / "data" / "cvrp"


def recomputed(problem: RoutingProblem, solution: RoutingSolution) -> int:
    """The plan's length summed again from its visits and the matrix (a check on the solver)."""
    total = 0
    for route in solution.routes:
        path = [problem.location(v.id) for v in route.visits]
        total += sum(int(problem.matrix.distance_m[a, b]) for a, b in pairwise(path))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="budget per instance")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", action="append", default=[], help="instance name(s)")
    args = parser.parse_args()
    solver: RoutingSolver = PyVRPSolver()
    paths = sorted(DATA.glob("X-n*.vrp"), key=lambda p: int(p.stem.split("-")[1][1:]))
    if args.only:
        paths = [p for p in paths if p.stem in args.only]
    print(f"CVRPLIB X, {len(paths)} instances, {args.seconds:g} s each, seed {args.seed}")
    print(f"machine: {machine()}")
    print(f"{'instance':<12} {'clients':>7} {'cost':>8} {'BKS':>8} {'gap %':>7} {'routes':>6}")
    gaps: list[float] = []
    for path in paths:
        instance = read_vrp(path)
        bks = read_sol_cost(path.with_suffix(".sol"))
        problem = to_problem(instance)
        solution = solver.solve(problem, seconds=args.seconds, seed=args.seed)
        if not solution.feasible:
            print(f"{instance.name:<12} infeasible: {solution.infeasibilities}")
            gaps.append(float("inf"))
            continue
        checked = recomputed(problem, solution)
        if checked != solution.distance_m:
            raise SystemExit(
                f"{instance.name}: solver says {solution.distance_m}, routes {checked}"
            )
        gap = 100.0 * (solution.distance_m - bks) / bks
        gaps.append(gap)
        print(
            f"{instance.name:<12} {len(problem.stops):>7} {solution.distance_m:>8} {bks:>8} "
            f"{gap:>7.2f} {len(solution.routes):>6}"
        )
    if gaps:
        print(f"mean gap {statistics.fmean(gaps):.2f} %, worst gap {max(gaps):.2f} %")


if __name__ == "__main__":
    main()
