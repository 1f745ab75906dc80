"""The European index and the compliance report vectorised with numpy, for many stations.

Same rules and same results as the pure functions (:func:`.eaqi.station_index`,
:func:`.compliance.compliance_report`) — the tests compare them value for value — but on
dense arrays: a :class:`DenseSeries` holds, per pollutant, one float64 array over consecutive
UTC hours with NaN for a missing hour.

* sub-indices by ``numpy.searchsorted`` on the band's upper bounds (side ``left``: a value on a
  breakpoint is in the better band, as in :meth:`.eaqi.IndexScale.band_of`);
* counts, validity and exceedances as array operations;
* every **mean** is still ``math.fsum(values) / n`` over exactly the values the pure code
  uses (correctly rounded, so order does not matter), which keeps statistics bit-identical;
  only the means that can matter are summed (valid days and valid 8-hour windows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

import numpy as np
import numpy.typing as npt

from cetate.domains.environment import eaqi
from cetate.domains.environment.compliance import (
    CaptureRules,
    ComplianceReport,
    LimitResult,
    Status,
)
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.limits import LimitSet, LimitValue
from cetate.domains.environment.series import (
    HOUR,
    HourlySeries,
    days_by_hours,
    hour_start,
    needed,
    year_bounds,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class DenseSeries:
    """Hourly values of one station from ``start`` (a UTC hour start), NaN where missing."""

    start: datetime
    values: Mapping[str, FloatArray]

    @property
    def length(self) -> int:
        return max((len(v) for v in self.values.values()), default=0)

    def offset(self, hour: datetime) -> int:
        return int((hour - self.start) // HOUR)


def dense(series: Mapping[str, HourlySeries], start: datetime, end: datetime) -> DenseSeries:
    """The hours [start, end) of a mapping series as arrays."""
    first = hour_start(start)
    count = int((end - first) // HOUR)
    values: dict[str, FloatArray] = {}
    for pollutant, points in series.items():
        array = np.full(count, np.nan)
        for hour, value in points.items():
            k = int((hour - first) // HOUR)
            if 0 <= k < count:
                array[k] = value
        values[pollutant] = array
    return DenseSeries(first, values)


# -- the index ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HourlyIndex:
    bands: npt.NDArray[np.int8]
    """per hour: the band number (1 = good), 0 for insufficient data"""
    drivers: npt.NDArray[np.int8]
    """per hour: bit i set when pollutant i of :data:`.eaqi.INDEX_POLLUTANTS` drives it"""

    def drivers_at(self, k: int) -> tuple[str, ...]:
        bits = int(self.drivers[k])
        return tuple(p for i, p in enumerate(eaqi.INDEX_POLLUTANTS) if bits >> i & 1)


def hourly_index(
    data: DenseSeries,
    *,
    kind: eaqi.StationKind = "background",
    version: str = eaqi.DEFAULT_VERSION,
) -> HourlyIndex:
    """The station index of every hour of ``data``."""
    scale = eaqi.scale(version)
    n = data.length
    sub = np.zeros((len(eaqi.INDEX_POLLUTANTS), n), dtype=np.int8)
    for row, pollutant in enumerate(eaqi.INDEX_POLLUTANTS):
        array = data.values.get(pollutant)
        if array is None:
            continue
        measured = ~np.isnan(array)
        if np.any(array[measured] < 0):
            raise EnvironmentInputError(f"negative concentration of {pollutant}")
        bounds = np.asarray(scale.upper_bounds[pollutant])
        bands = np.searchsorted(bounds, np.where(measured, array, 0.0), side="left") + 1
        sub[row] = np.where(measured, bands, 0)
    present = sub > 0
    sufficient = np.ones(n, dtype=bool)
    for group in eaqi.required_pollutants(kind):
        rows = [eaqi.INDEX_POLLUTANTS.index(p) for p in group]
        sufficient &= present[rows].any(axis=0)
    worst = sub.max(axis=0) if n else np.zeros(0, dtype=np.int8)
    bits = np.zeros(n, dtype=np.int8)
    for row in range(len(eaqi.INDEX_POLLUTANTS)):
        bits |= ((sub[row] == worst) & present[row]).astype(np.int8) << row
    bands_out = np.where(sufficient, worst, 0).astype(np.int8)
    return HourlyIndex(bands_out, np.where(sufficient, bits, 0).astype(np.int8))


# -- compliance ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class YearFrame:
    """What every station of one year shares: hour offsets and the days' boundaries."""

    year: int
    tz: tzinfo
    first: int
    """offset of the year's first hour in the dense arrays"""
    hours: int
    day_keys: tuple[date, ...]
    day_starts: IntArray
    """offsets (in the dense arrays) of each day's first hour; plus the end"""

    @classmethod
    def of(cls, data_start: datetime, year: int, tz: tzinfo = UTC) -> YearFrame:
        start, end = year_bounds(year, tz)
        days = days_by_hours(start, end, tz)
        first = int((start - data_start) // HOUR)
        if first < 0:
            raise EnvironmentInputError("the dense series starts after the year")
        starts = [first]
        for hours in days.values():
            starts.append(starts[-1] + len(hours))
        return cls(year, tz, first, starts[-1] - first, tuple(days), np.asarray(starts))


def compliance_report_fast(
    station_id: str,
    data: DenseSeries,
    frame: YearFrame,
    limits: LimitSet,
    *,
    rules: CaptureRules | None = None,
    shared: dict[tuple[str, str], PeriodValues] | None = None,
) -> ComplianceReport:
    """:func:`.compliance.compliance_report` on a dense series (same result). ``shared`` may
    be passed to the reports of the *same* series, frame and rules under several limit sets,
    so that their daily and 8-hour statistics are computed once."""
    rules = rules or CaptureRules()
    lo, hi = frame.first, frame.first + frame.hours
    if data.length < hi:
        raise EnvironmentInputError("the dense series ends before the year")
    capture: dict[str, float] = {}
    for pollutant, array in data.values.items():
        valid = int(np.count_nonzero(~np.isnan(array[lo:hi])))
        if valid:
            capture[pollutant] = valid / frame.hours
    cache = shared if shared is not None else {}
    results = tuple(
        _evaluate(limit, data.values.get(limit.pollutant), frame, rules, cache)
        for limit in limits.values
    )
    return ComplianceReport(station_id, frame.year, limits, capture, results, str(frame.tz), rules)


@dataclass(frozen=True, slots=True)
class PeriodValues:
    """The valid values of a day-based statistic (daily means, MDA8) of one pollutant:
    ``approx`` computed with numpy, and :meth:`exact` giving the pure code's value of any of
    them (``math.fsum``), used only where rounding could change an answer."""

    approx: FloatArray
    parts: list[FloatArray]
    """per valid period, the candidate groups of values whose mean may be its value"""

    def exact(self, k: int) -> float:
        best = -math.inf
        for row in self.parts[k]:
            values = row[~np.isnan(row)].tolist()
            best = max(best, math.fsum(values) / len(values))
        return best

    def __len__(self) -> int:
        return len(self.approx)


def _tolerance(value: float) -> float:
    return 1e-9 * max(1.0, abs(value))


def _day_sizes(frame: YearFrame) -> IntArray:
    return np.diff(frame.day_starts)


def _daily(array: FloatArray, frame: YearFrame, rules: CaptureRules) -> PeriodValues:
    starts = frame.day_starts[:-1]
    valid = ~np.isnan(array)
    counts = np.add.reduceat(valid.astype(np.int64), starts)
    sums = np.add.reduceat(np.where(valid, array, 0.0), starts)
    sizes = _day_sizes(frame)
    need = np.asarray([needed(rules.daily_min_fraction, int(n)) for n in sizes])
    keep = np.flatnonzero((counts >= need) & (counts > 0))
    approx = sums[keep] / counts[keep]
    parts = [
        array[int(frame.day_starts[k]) : int(frame.day_starts[k + 1])][np.newaxis, :] for k in keep
    ]
    return PeriodValues(approx, parts)


def _mda8(array: FloatArray, frame: YearFrame, rules: CaptureRules) -> PeriodValues:
    """Valid maximum daily 8-hour means: window means taken with numpy; per day, the windows
    within rounding distance of its maximum are kept as candidates for :meth:`exact`."""
    lo, hi = frame.first, frame.first + frame.hours
    start = max(lo - 7, 0)
    padded = np.concatenate((np.full(7 - (lo - start), np.nan), array[start:hi]))
    windows = np.lib.stride_tricks.sliding_window_view(padded, 8)  # one row per year hour
    valid = ~np.isnan(windows)
    counts = valid.sum(axis=1)
    ok = counts >= rules.eight_hour_min_hours
    means = np.where(ok, np.where(valid, windows, 0.0).sum(axis=1) / np.maximum(counts, 1), -np.inf)
    starts = frame.day_starts[:-1] - lo
    sizes = _day_sizes(frame)
    ok_per_day = np.add.reduceat(ok.astype(np.int64), starts)
    need = np.asarray([needed(rules.mda8_min_fraction, int(n)) for n in sizes])
    day_max = np.maximum.reduceat(means, starts)
    keep = np.flatnonzero((ok_per_day >= need) & (ok_per_day > 0))
    near = means >= np.repeat(day_max - 1e-9 * np.maximum(1.0, np.abs(day_max)), sizes)
    near &= ok
    parts = []
    for k in keep:
        a, b = int(starts[k]), int(starts[k] + sizes[k])
        parts.append(windows[a:b][near[a:b]])
    return PeriodValues(day_max[keep], parts)


def _count_above(values: PeriodValues, limit: float) -> int:
    tolerance = _tolerance(limit)
    clear = int(np.count_nonzero(values.approx > limit + tolerance))
    close = np.flatnonzero(np.abs(values.approx - limit) <= tolerance)
    return clear + sum(1 for k in close if values.exact(int(k)) > limit)


def _highest(values: PeriodValues) -> float | None:
    if not len(values):
        return None
    top = float(values.approx.max())
    close = np.flatnonzero(values.approx >= top - 2 * _tolerance(top))
    return max(values.exact(int(k)) for k in close)


def _evaluate(
    limit: LimitValue,
    array: FloatArray | None,
    frame: YearFrame,
    rules: CaptureRules,
    cache: dict[tuple[str, str], PeriodValues],
) -> LimitResult:
    lo, hi = frame.first, frame.first + frame.hours
    days = len(frame.day_keys)
    expected_all = frame.hours if limit.period in ("hour", "year") else days
    if array is None:
        return LimitResult(limit, "not measured", None, None, 0, expected_all)
    year = array[lo:hi]
    in_year = year[~np.isnan(year)]
    if not len(in_year):
        return LimitResult(limit, "not measured", None, None, 0, expected_all)
    status: Status
    if limit.period == "year":
        mean = math.fsum(in_year.tolist()) / len(in_year)
        if mean > limit.value:
            status = "exceeded"
        elif len(in_year) >= rules.annual_min_fraction * frame.hours:
            status = "compliant"
        else:
            status = "insufficient data"
        return LimitResult(limit, status, mean, None, len(in_year), frame.hours)
    if limit.period == "hour":
        exceedances = int(np.count_nonzero(in_year > limit.value))
        return _counted(limit, exceedances, len(in_year), frame.hours, float(in_year.max()), rules)
    key = (limit.pollutant, limit.period)
    if key not in cache:
        chosen = _daily if limit.period == "day" else _mda8
        cache[key] = chosen(array, frame, rules)
    values: PeriodValues = cache[key]
    return _counted(
        limit, _count_above(values, limit.value), len(values), days, _highest(values), rules
    )


def _counted(
    limit: LimitValue,
    exceedances: int,
    valid: int,
    expected: int,
    highest: float | None,
    rules: CaptureRules,
) -> LimitResult:
    status: Status
    if exceedances > (limit.allowed or 0):
        status = "exceeded"
    elif valid >= rules.annual_min_fraction * expected:
        status = "compliant"
    else:
        status = "insufficient data"
    return LimitResult(limit, status, highest, exceedances, valid, expected)
