"""A compliance report per station and calendar year against a limit set.

For each limit value of the set:

* ``hour`` — every valid hour above the value is an exceedance;
* ``day`` — daily means (valid with ≥ 75 % of the day's hours) above the value;
* ``max-daily-8h`` — maximum daily 8-hour means (O3) above the value;
* ``year`` — the annual mean of the valid hours against the value.

**Status.** ``exceeded`` when the exceedances are more than the allowed number (or the annual
mean is above the value) — more data could only add exceedances, so this holds at any data
capture; ``compliant`` when not exceeded *and* the data capture of the periods reaches the
minimum (90 % by default, Directive 2008/50/EC Annex I); ``insufficient data`` otherwise;
``not measured`` when the station has no value of the pollutant in the year. Counting covers
the periods of the calendar year only (in ``tz``), but 8-hour means at the start of January
use the hours of 31 December, so pass the series with the hours before the year.

The O3 target value is averaged over three years by the directives; this report counts one
year (the three-year average is left to the caller).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Literal

from cetate.domains.environment.limits import LimitSet, LimitValue
from cetate.domains.environment.series import (
    Aggregate,
    HourlySeries,
    daily_means,
    days_by_hours,
    hours_between,
    max_daily_8h_means,
    mean_of,
    year_bounds,
)

Status = Literal["compliant", "exceeded", "insufficient data", "not measured"]


@dataclass(frozen=True, slots=True)
class CaptureRules:
    daily_min_fraction: float = 0.75
    eight_hour_min_hours: int = 6
    mda8_min_fraction: float = 0.75
    annual_min_fraction: float = 0.90
    """minimum data capture for an annual mean, and for declaring a count compliant"""


@dataclass(frozen=True, slots=True)
class LimitResult:
    limit: LimitValue
    status: Status
    statistic: float | None
    """annual mean, or the highest valid period value for counted limits"""
    exceedances: int | None
    valid_periods: int
    expected_periods: int

    @property
    def data_capture(self) -> float:
        return self.valid_periods / self.expected_periods if self.expected_periods else 0.0


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    station_id: str
    year: int
    limit_set: LimitSet
    hourly_capture: dict[str, float]
    """pollutant → share of the year's hours with a valid hourly value"""
    results: tuple[LimitResult, ...]
    time_zone: str = "UTC"
    rules: CaptureRules = field(default_factory=CaptureRules)


def compliance_report(
    station_id: str,
    year: int,
    series: Mapping[str, HourlySeries],
    limits: LimitSet,
    *,
    tz: tzinfo = UTC,
    rules: CaptureRules | None = None,
) -> ComplianceReport:
    """The report of ``station_id`` for calendar ``year`` from its hourly series (µg/m³)."""
    rules = rules or CaptureRules()
    start, end = year_bounds(year, tz)
    hours = list(hours_between(start, end))
    days = days_by_hours(start, end, tz)
    capture = {
        p: sum(1 for h in hours if h in s) / len(hours)
        for p, s in series.items()
        if any(h in s for h in hours)
    }
    results = tuple(
        _evaluate(limit, series.get(limit.pollutant, {}), hours, days, rules)
        for limit in limits.values
    )
    return ComplianceReport(station_id, year, limits, capture, results, str(tz), rules)


def _evaluate(
    limit: LimitValue,
    series: HourlySeries,
    hours: list[datetime],
    days: Mapping[date, list[datetime]],
    rules: CaptureRules,
) -> LimitResult:
    in_year = [series[h] for h in hours if h in series]
    if not in_year:
        return LimitResult(limit, "not measured", None, None, 0, _expected(limit, hours, days))
    if limit.period == "year":
        mean = mean_of(in_year)
        status: Status
        if mean > limit.value:
            status = "exceeded"
        elif len(in_year) >= rules.annual_min_fraction * len(hours):
            status = "compliant"
        else:
            status = "insufficient data"
        return LimitResult(limit, status, mean, None, len(in_year), len(hours))
    values: list[float]
    if limit.period == "hour":
        values = in_year
        expected = len(hours)
    else:
        aggregates: dict[date, Aggregate]
        if limit.period == "day":
            aggregates = dict(daily_means(series, days, rules.daily_min_fraction))
        else:
            aggregates = dict(
                max_daily_8h_means(
                    series,
                    days,
                    min_hours=rules.eight_hour_min_hours,
                    min_fraction=rules.mda8_min_fraction,
                )
            )
        values = [a.value for a in aggregates.values() if a.value is not None]
        expected = len(days)
    exceedances = sum(1 for v in values if v > limit.value)
    allowed = limit.allowed or 0
    if exceedances > allowed:
        status = "exceeded"
    elif len(values) >= rules.annual_min_fraction * expected:
        status = "compliant"
    else:
        status = "insufficient data"
    return LimitResult(
        limit, status, max(values) if values else None, exceedances, len(values), expected
    )


def _expected(limit: LimitValue, hours: list[datetime], days: Mapping[date, list[datetime]]) -> int:
    return len(hours) if limit.period in ("hour", "year") else len(days)
