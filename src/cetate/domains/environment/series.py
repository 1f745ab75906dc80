"""Hourly series and the averages the EU directives use.

A series is a mapping from the **start** of an hour (an aware UTC datetime on the hour) to the
hourly mean concentration of that hour; an hour that is absent is missing (never
interpolated). Calendar periods (days, years) are those of a time zone (``tz``, UTC by
default): an hour belongs to the local day in which it starts, so days have 23 or 25 hours at
daylight-saving changes and the expected counts follow.

Averages (Directive 2008/50/EC Annex VII and XI, Directive (EU) 2024/2881 Annex I):

* daily mean — valid when at least 75 % of the day's hours are valid (18 of 24);
* 8-hour running mean — the mean of the eight hours ending with a given hour (hours h−7 … h),
  valid when at least 6 of the 8 hours (75 %) are valid; it belongs to the day in which its
  last hour starts, so a day's first window runs 17:00 the day before to 01:00 and its last
  16:00–24:00;
* maximum daily 8-hour mean — the highest valid 8-hour mean of a day, valid when at least
  75 % of the day's 8-hour means are valid (18 of 24).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

from cetate.domains.environment.errors import EnvironmentInputError

HourlySeries = Mapping[datetime, float]
HOUR: Final = timedelta(hours=1)


def hour_start(moment: datetime) -> datetime:
    """The UTC start of the hour holding ``moment`` (which must be time-zone aware)."""
    if moment.tzinfo is None:
        raise EnvironmentInputError(f"timestamp {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hours_between(start: datetime, end: datetime) -> Iterator[datetime]:
    """UTC hour starts from ``start`` (inclusive) to ``end`` (exclusive)."""
    current = hour_start(start)
    if current < start.astimezone(UTC):
        current += HOUR
    stop = end.astimezone(UTC)
    while current < stop:
        yield current
        current += HOUR


def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def year_bounds(year: int, tz: tzinfo = UTC) -> tuple[datetime, datetime]:
    """UTC instants of the start of the local calendar year and of the next one."""
    return local_midnight(date(year, 1, 1), tz), local_midnight(date(year + 1, 1, 1), tz)


def local_day(hour: datetime, tz: tzinfo = UTC) -> date:
    return hour.astimezone(tz).date()


def days_by_hours(start: datetime, end: datetime, tz: tzinfo = UTC) -> dict[date, list[datetime]]:
    """The hours of [start, end) grouped by local day, in order."""
    days: dict[date, list[datetime]] = {}
    for hour in hours_between(start, end):
        days.setdefault(local_day(hour, tz), []).append(hour)
    return days


def needed(fraction: float, total: int) -> int:
    """How many of ``total`` must be valid for a capture of at least ``fraction``."""
    return math.ceil(fraction * total - 1e-9)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A mean (or maximum) over a period with how much data it rests on."""

    value: float | None
    """None when the data capture rule is not met"""
    valid: int
    expected: int


def mean_of(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def daily_means(
    series: HourlySeries,
    days: Mapping[date, list[datetime]],
    min_fraction: float = 0.75,
) -> dict[date, Aggregate]:
    """The daily mean of each day (valid with ``min_fraction`` of the day's hours)."""
    result: dict[date, Aggregate] = {}
    for day, hours in days.items():
        values = [series[h] for h in hours if h in series]
        ok = len(values) >= needed(min_fraction, len(hours)) and values
        result[day] = Aggregate(mean_of(values) if ok else None, len(values), len(hours))
    return result


def eight_hour_mean(series: HourlySeries, last_hour: datetime, min_hours: int = 6) -> float | None:
    """The mean of the eight hours ending with ``last_hour`` (an hour start), or None."""
    values = [series[h] for k in range(8) if (h := last_hour - k * HOUR) in series]
    return mean_of(values) if len(values) >= min_hours else None


def max_daily_8h_means(
    series: HourlySeries,
    days: Mapping[date, list[datetime]],
    *,
    min_hours: int = 6,
    min_fraction: float = 0.75,
) -> dict[date, Aggregate]:
    """The maximum daily 8-hour mean of each day (windows ending in the day)."""
    result: dict[date, Aggregate] = {}
    for day, hours in days.items():
        means = [m for h in hours if (m := eight_hour_mean(series, h, min_hours)) is not None]
        ok = len(means) >= needed(min_fraction, len(hours)) and means
        result[day] = Aggregate(max(means) if ok else None, len(means), len(hours))
    return result
