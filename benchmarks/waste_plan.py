"""A day's waste collection plan for a synthetic city: 1,000 bins around Cluj-Napoca's centre,
10 trucks with volume and weight capacity, mid-shift reloads at two transfer stations, time
windows (bins on school streets not before 08:30, market bins 06:00–10:00), service time per
bin. Selection (fill model estimates → required / optional with prizes) and routing through
Cetate's ``RoutingSolver`` (PyVRP), as ``cetate waste plan`` does, timed together.

Target (issue 5): plan built in ≤ 60 s. Distances are the haversine estimate (no road network
in this benchmark).

Usage::

    .venv/bin/python benchmarks/waste_plan.py [--bins 1000] [--trucks 10] [--seconds 45] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import random
import time
from datetime import UTC, datetime, timedelta

from _common import machine

from cetate.domains.waste.entities import Truck, WasteContainer, WasteSite
from cetate.domains.waste.fill_model import FillEstimate
from cetate.domains.waste.plan import build_problem
from cetate.domains.waste.routing.pyvrp_solver import PyVRPSolver
from cetate.domains.waste.selection import select

CENTRE = (46.7694, 23.5899)
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
COLLECT = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 06:00 in Cluj


def city(
    n_bins: int, n_trucks: int, seed: int
) -> tuple[list[WasteContainer], dict[str, FillEstimate], list[Truck], list[WasteSite]]:
    rng = random.Random(seed)
    bins: list[WasteContainer] = []
    estimates: dict[str, FillEstimate] = {}
    for i in range(n_bins):
        r = 6000 * math.sqrt(rng.random())  # metres, denser in the centre
        a = rng.uniform(0, 2 * math.pi)
        lat = CENTRE[0] + r * math.sin(a) / 111_320
        lon = CENTRE[1] + r * math.cos(a) / (111_320 * math.cos(math.radians(CENTRE[0])))
        kind = rng.choices(["mixed", "paper", "plastic", "organic"], [6, 2, 2, 1])[0]
        u = rng.random()
        window = (
            (8 * 3600 + 1800, 14 * 3600) if u < 0.1 else (6 * 3600, 10 * 3600) if u < 0.15 else None
        )
        bin_id = f"urn:ngsi-ld:WasteContainer:bench:{i:04d}"
        bins.append(
            WasteContainer(
                bin_id,
                lat,
                lon,
                rng.choice([240, 1100, 1100, 1100]),
                waste_type=kind,
                service_s=rng.choice([45, 60, 90]),
                window=window,
            )
        )
        rate = rng.lognormvariate(math.log(0.18), 0.5)
        level = min(0.98, rng.uniform(0.0, 1.0) * 0.9)
        estimates[bin_id] = FillEstimate(bin_id, level, NOW, rate, 0.35 * rate)
    depot = WasteSite(
        "urn:ngsi-ld:WasteSite:bench:depot", "depot", 46.7920, 23.6350, open_s=5 * 3600
    )
    stations = [
        WasteSite(
            "urn:ngsi-ld:WasteSite:bench:tsr-east", "facility", 46.7800, 23.6700, service_s=900
        ),
        WasteSite(
            "urn:ngsi-ld:WasteSite:bench:tsr-west", "facility", 46.7600, 23.5200, service_s=900
        ),
    ]
    trucks = [
        Truck(
            f"urn:ngsi-ld:Vehicle:bench:t{k:02d}",
            volume_l=20_000,
            weight_kg=6_000,
            depot=depot.id,
            shift_start_s=6 * 3600,
            shift_end_s=14 * 3600,
            reload_at=tuple(s.id for s in stations),
        )
        for k in range(n_trucks)
    ]
    return bins, estimates, trucks, [depot, *stations]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bins", type=int, default=1000)
    parser.add_argument("--trucks", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=45.0, help="solver budget")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(machine())
    bins, estimates, trucks, sites = city(args.bins, args.trucks, args.seed)
    started = time.perf_counter()
    chosen = select(bins, estimates, COLLECT, COLLECT + timedelta(days=1))
    problem = build_problem(bins, chosen, trucks, sites)
    built = time.perf_counter()
    solution = PyVRPSolver().solve(problem, seconds=args.seconds, seed=args.seed)
    total = time.perf_counter() - started
    visited = sum(len(r.stop_ids) for r in solution.routes)
    print(
        f"city: {len(bins)} bins, {len(trucks)} trucks, {len(sites) - 1} transfer stations, "
        f"{sum(b.window is not None for b in bins)} bins with time windows"
    )
    print(
        f"selection: {len(chosen.required)} required, {len(chosen.optional)} optional, "
        f"{len(chosen.left)} left; problem built in {built - started:.2f} s"
    )
    print(
        f"plan: feasible={solution.feasible}, {visited} bins on {len(solution.routes)} routes, "
        f"{len(solution.skipped)} optional skipped, {sum(r.trips for r in solution.routes)} trips, "
        f"{solution.distance_m / 1000:.1f} km (estimate), "
        f"{sum(r.duration_s for r in solution.routes) / 3600:.1f} truck-hours, "
        f"{solution.iterations} solver iterations"
    )
    for reason in solution.infeasibilities:
        print(f"  infeasible: {reason.reason}: {reason.detail}")
    verdict = "OK" if total <= 60 and solution.feasible else "MISSED"
    print(f"plan built (selection + routing) in {total:.1f} s — target ≤ 60 s: {verdict}")


if __name__ == "__main__":
    main()
