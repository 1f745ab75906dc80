"""The vectorised index and compliance report give exactly the pure functions' results:
boundaries, gaps, capture rules, the hours before the year, DST days, several limit sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from cetate.domains.environment import eaqi
from cetate.domains.environment.compliance import compliance_report
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.fast import (
    DenseSeries,
    PeriodValues,
    YearFrame,
    compliance_report_fast,
    dense,
    hourly_index,
)
from cetate.domains.environment.limits import custom_limit_set, limit_set
from cetate.domains.environment.series import year_bounds

H = timedelta(hours=1)
YEAR = 2026
BUCHAREST = ZoneInfo("Europe/Bucharest")


def station(seed: int, tz: ZoneInfo | None = None) -> dict[str, dict[datetime, float]]:
    """A year of hourly data (from a day before it) with gaps and values on the boundaries."""
    rng = np.random.default_rng(seed)
    start, end = year_bounds(YEAR, tz or UTC)
    first = start - 24 * H
    n = int((end - first) // H)
    series: dict[str, dict[datetime, float]] = {}
    scales = {"pm25": 14.0, "pm10": 30.0, "no2": 35.0, "o3": 70.0, "so2": 9.0}
    for p, scale in scales.items():
        values = np.round(rng.lognormal(np.log(scale), 0.6, n), 1)
        values[rng.random(n) < 0.06] = np.nan
        values[2000:2200] = np.nan  # a long gap: some days and windows invalid
        series[p] = {first + k * H: float(v) for k, v in enumerate(values) if not np.isnan(v)}
    day = start + 40 * 24 * H
    for k in range(24):  # a day exactly at the PM10 daily limit, and one just above
        series["pm10"][day + k * H] = 50.0
        series["pm10"][day + (24 + k) * H] = 50.1
        series["o3"][day + k * H] = 120.0  # 8-hour means exactly at the target value
    for k, value in enumerate((5.0, 15.0, 10.0, 25.0, 60.0, 100.0)):  # index breakpoints
        hour = day + (48 + k) * H
        series["pm25"][hour] = value
        series["no2"][hour] = value
    for k in range(7):  # a day with 17 valid hours of 24: no daily mean
        series["pm10"].pop(day + (72 + k) * H, None)
    return series


def _dense(series: dict[str, dict[datetime, float]], tz: ZoneInfo | None = None) -> DenseSeries:
    start, end = year_bounds(YEAR, tz or UTC)
    return dense(series, start - 24 * H, end)


@pytest.mark.parametrize("kind", ["background", "traffic"])
def test_hourly_index_is_the_pure_one(kind: eaqi.StationKind) -> None:
    series = station(1)
    data = _dense(series)
    got = hourly_index(data, kind=kind)
    hours = [data.start + k * H for k in range(data.length)]
    pure = eaqi.hourly_indices(series, hours, kind=kind)
    assert [p.band or 0 for p in pure.values()] == got.bands.tolist()
    assert all(pure[h].drivers == got.drivers_at(k) for k, h in enumerate(hours))
    assert 0 in got.bands.tolist()
    assert 6 in got.bands.tolist()
    old = hourly_index(data, version="eea-2021")
    pure_old = eaqi.hourly_indices(series, hours, version="eea-2021")
    assert [p.band or 0 for p in pure_old.values()] == old.bands.tolist()


def test_negative_values_are_refused() -> None:
    data = DenseSeries(datetime(2026, 1, 1, tzinfo=UTC), {"pm25": np.array([1.0, -2.0])})
    with pytest.raises(EnvironmentInputError, match="negative concentration of pm25"):
        hourly_index(data)


@pytest.mark.parametrize("tz", [None, BUCHAREST], ids=["utc", "bucharest"])
def test_compliance_is_the_pure_one(tz: ZoneInfo | None) -> None:
    series = station(2, tz)
    data = _dense(series, tz)
    frame = YearFrame.of(data.start, YEAR, tz or UTC)
    custom = custom_limit_set(
        "who-2021",
        [
            {"pollutant": "pm10", "period": "day", "value": 50, "allowed": 0},
            {"pollutant": "o3", "period": "max-daily-8h", "value": 120, "allowed": 0},
            {"pollutant": "pm25", "period": "year", "value": 5},
            {"pollutant": "co", "period": "day", "value": 4000, "allowed": 3},
        ],
    )
    shared: dict[tuple[str, str], PeriodValues] = {}
    for chosen in (limit_set("eu-2008-50"), limit_set("eu-2024-2881"), custom):
        expected = compliance_report("s", YEAR, series, chosen, tz=tz or UTC)
        got = compliance_report_fast("s", data, frame, chosen, shared=shared)
        assert got == expected, chosen.key
    statuses = {r.status for r in got.results}
    assert {"exceeded", "not measured"} <= statuses


def test_a_frame_needs_the_year_inside_the_series() -> None:
    start, _ = year_bounds(YEAR)
    with pytest.raises(EnvironmentInputError, match="starts after the year"):
        YearFrame.of(start + H, YEAR)
    short = DenseSeries(start, {"pm10": np.full(100, 20.0)})
    with pytest.raises(EnvironmentInputError, match="ends before the year"):
        compliance_report_fast("s", short, YearFrame.of(start, YEAR), limit_set("eu-2008-50"))
