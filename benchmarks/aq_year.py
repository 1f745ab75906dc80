"""Air quality for a national network: the European index of every hour and the full compliance
report (both limit sets) for 150 stations × one calendar year of hourly data.

Romania's national network has 148 automatic stations. Synthetic data: diurnal NO2 / O3 / PM
cycles with noise and 3 % missing hours (plus a two-week outage at every tenth station), five
pollutants per station. Runs the vectorised path (:mod:`cetate.domains.environment.fast`),
checks it against the pure functions on a sample of stations (identical results), and prints
the figures. Target: ≤ 10 s on one core.

    .venv/bin/python benchmarks/aq_year.py [--stations 150] [--year 2025] [--check 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine

from cetate.domains.environment import eaqi
from cetate.domains.environment.compliance import compliance_report
from cetate.domains.environment.fast import (
    DenseSeries,
    PeriodValues,
    YearFrame,
    compliance_report_fast,
    hourly_index,
)
from cetate.domains.environment.limits import limit_set
from cetate.domains.environment.series import HOUR, year_bounds

KINDS = ("traffic", "background", "background", "industrial")


def synthetic(stations: int, year: int, seed: int = 7) -> tuple[datetime, list[DenseSeries]]:
    """Dense hourly series from 8 hours before the year to its end, per station."""
    rng = np.random.default_rng(seed)
    start, end = year_bounds(year, UTC)
    first = start - 8 * HOUR
    n = int((end - first) // HOUR)
    hours = np.arange(n)
    local = (hours - 8 + 2) % 24
    day = (hours - 8) / 24.0
    winter = 0.5 + 0.5 * np.cos(2 * np.pi * (day - 15) / 365)

    def bump(centre: float, width: float) -> np.ndarray:
        d = np.minimum(np.abs(local - centre), 24 - np.abs(local - centre))
        return np.exp(-((d / width) ** 2))

    rush = bump(8, 2.0) + 0.8 * bump(19, 2.5)
    sun = bump(15, 4.0) * (0.6 + 0.4 * (1 - winter))
    night = bump(22, 4.0)
    result: list[DenseSeries] = []
    for s in range(stations):
        traffic = 1.6 if s % 4 == 0 else 1.0
        noise = rng.lognormal(0, 0.25, size=(5, n))
        no2 = (12 + 45 * rush) * traffic * noise[0]
        o3 = np.maximum(5, 25 + 95 * sun - 0.4 * no2) * noise[1]
        pm25 = (6 + 12 * winter + 14 * night * (0.5 + winter)) * noise[2]
        pm10 = (pm25 * 1.6 + 4) * noise[3]
        so2 = (3 + (25 * rush if s % 4 == 3 else 2)) * noise[4]
        values = {}
        for name, array in (("pm25", pm25), ("pm10", pm10), ("no2", no2), ("o3", o3), ("so2", so2)):
            array = np.round(array, 1)
            array[rng.random(n) < 0.03] = np.nan
            if s % 10 == 9:
                array[3000:3336] = np.nan
            values[name] = array
        result.append(DenseSeries(first, values))
    return first, result


def as_mapping(data: DenseSeries) -> dict[str, dict[datetime, float]]:
    return {
        p: {data.start + k * HOUR: float(v) for k, v in enumerate(a) if not np.isnan(v)}
        for p, a in data.values.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=150)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--check", type=int, default=3, help="stations compared with pure code")
    args = parser.parse_args()
    first, network = synthetic(args.stations, args.year)
    sets = [limit_set("eu-2008-50"), limit_set("eu-2024-2881")]
    hours = network[0].length

    began = time.perf_counter()
    frame = YearFrame.of(first, args.year)
    indices = [
        hourly_index(data, kind="traffic" if s % 4 == 0 else "background")
        for s, data in enumerate(network)
    ]
    index_seconds = time.perf_counter() - began
    began = time.perf_counter()
    reports = []
    for s, data in enumerate(network):
        shared: dict[tuple[str, str], PeriodValues] = {}  # statistics shared by both sets
        for chosen in sets:
            reports.append(
                compliance_report_fast(f"station-{s:03d}", data, frame, chosen, shared=shared)
            )
    report_seconds = time.perf_counter() - began
    total = index_seconds + report_seconds

    # the pure functions on a sample: identical results, and their time for comparison
    began = time.perf_counter()
    for s in range(min(args.check, args.stations)):
        data = network[s]
        mapping = as_mapping(data)
        kind: eaqi.StationKind = "traffic" if s % 4 == 0 else "background"
        pure_hours = [data.start + k * HOUR for k in range(hours)]
        pure = eaqi.hourly_indices(mapping, pure_hours, kind=kind)
        for k, hour in enumerate(pure_hours):
            got = pure[hour]
            assert (got.band or 0) == int(indices[s].bands[k]), (s, hour)
            assert got.drivers == indices[s].drivers_at(k), (s, hour)
        for j, chosen in enumerate(sets):
            expected = compliance_report(f"station-{s:03d}", args.year, mapping, chosen)
            assert expected == reports[s * len(sets) + j], (s, chosen.key)
    pure_seconds = time.perf_counter() - began
    checked = min(args.check, args.stations)

    exceeded = sum(1 for r in reports for x in r.results if x.status == "exceeded")
    bands = np.bincount(np.concatenate([i.bands for i in indices]), minlength=7)
    print(f"aq_year: {args.stations} stations × {hours} hours ({args.year}, 5 pollutants)")
    print(f"  machine: {machine()}")
    print(f"  hourly European index (eea-2024): {index_seconds:.2f} s")
    print(f"  compliance reports (eu-2008-50 + eu-2024-2881): {report_seconds:.2f} s")
    print(f"  total: {total:.2f} s (target ≤ 10 s)")
    print(f"  hours per band (insufficient, good … extremely poor): {bands.tolist()}")
    print(f"  limit values exceeded: {exceeded} of {sum(len(r.results) for r in reports)}")
    if checked:
        per_station = pure_seconds / checked
        print(
            f"  pure functions on {checked} stations: identical; {per_station:.2f} s per station "
            f"(≈ {per_station * args.stations:.0f} s for the network)"
        )


if __name__ == "__main__":
    main()
