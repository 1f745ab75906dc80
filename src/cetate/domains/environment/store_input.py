"""Hourly series of a station read from a tenant's AirQualityObserved history.

:func:`station_series` asks the store's temporal API (``query_temporal``) for the history of
the pollutant attributes (``pm25``, ``pm10``, ``no2``, ``o3``, ``so2``, ``co`` of the FIWARE
Smart Data Models Environment context) of one entity between ``start`` (inclusive) and ``end``
(exclusive), and turns it into the hourly series that :mod:`.eaqi` and :mod:`.compliance` use.

**Hours.** A reading belongs to the hour in which its ``observedAt`` falls (hour start, UTC).
**Sub-hourly data**: the hour's value is the mean of its readings; an hour with fewer than
``min_readings`` readings (default 1) is left out. **Gaps**: a missing hour is absent from the
series, never interpolated; data capture rules downstream decide what it supports.
**Duplicates**: several readings with the same ``observedAt`` count once (the last written),
and are reported.

**Units** (``unitCode``, UN/CEFACT): ``GQ`` µg/m³ (also the default when absent, as in the
data model), ``GP`` mg/m³, ``61`` ppb and ``59`` ppm for the gases (converted at 293.15 K,
101.3 kPa). Any other unit is rejected. **Rejected readings** — not a number, negative,
unknown unit, a timestamp in the future — are left out and listed with their reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Final

from cetate.domains.environment.eaqi import INDEX_POLLUTANTS
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.pollutants import POLLUTANTS, check_pollutant, ppb_to_ugm3
from cetate.domains.environment.series import hour_start
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.timestamps import parse_datetime, utc_now
from cetate.store.base import ContextStore, EntityQuery, TemporalQuery

ENVIRONMENT_CONTEXT: Final = (
    "https://smart-data-models.github.io/dataModel.Environment/context.jsonld"
)

UNIT_FACTORS: Final = {"GQ": 1.0, "GP": 1000.0}
"""mass-concentration units → factor to µg/m³"""
GAS_UNITS: Final = {"61": 1.0, "59": 1000.0}
"""volume-ratio units → factor to ppb"""


@dataclass(frozen=True, slots=True)
class Rejected:
    pollutant: str
    observed_at: str
    value: Any
    reason: str


@dataclass(slots=True)
class StationSeries:
    station_id: str
    series: dict[str, dict[datetime, float]] = field(default_factory=dict)
    """pollutant → hour start (UTC) → hourly mean µg/m³"""
    readings: dict[str, int] = field(default_factory=dict)
    """pollutant → readings used"""
    rejected: list[Rejected] = field(default_factory=list)

    def hour(self, hour: datetime) -> dict[str, float | None]:
        """The concentrations of one hour, for :func:`.eaqi.station_index`."""
        return {p: s.get(hour) for p, s in self.series.items() if p in INDEX_POLLUTANTS}


@cache
def attribute_iris(context: str = ENVIRONMENT_CONTEXT) -> dict[str, str]:
    """pollutant → expanded attribute IRI in ``context``."""
    resolved = ContextResolver().resolve(context)
    return {p: resolved.expand_term(p) for p in POLLUTANTS}


def to_ugm3(pollutant: str, value: float, unit: str | None) -> float:
    """``value`` in ``unit`` as µg/m³, or an error naming the unit."""
    code = unit or "GQ"
    if code in UNIT_FACTORS:
        return value * UNIT_FACTORS[code]
    if code in GAS_UNITS and pollutant in ("no2", "o3", "so2", "co"):
        return ppb_to_ugm3(pollutant, value * GAS_UNITS[code])
    raise EnvironmentInputError(f"unknown or unsupported unit {code!r} for {pollutant}")


def station_series(
    store: ContextStore,
    tenant: str,
    station_id: str,
    start: datetime,
    end: datetime,
    *,
    pollutants: Iterable[str] = POLLUTANTS,
    context: str = ENVIRONMENT_CONTEXT,
    min_readings: int = 1,
    now: datetime | None = None,
) -> StationSeries:
    """The hourly series of ``station_id`` over [start, end) (see the module docstring)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise EnvironmentInputError("start and end need a time zone")
    if end <= start:
        raise EnvironmentInputError("the period is empty: end must be after start")
    wanted = [check_pollutant(p) for p in pollutants]
    iris = attribute_iris(context)
    by_iri = {iris[p]: p for p in wanted}
    query = TemporalQuery(
        entities=EntityQuery(ids=(station_id,)),
        timerel="between",
        time_at=start,
        end_time_at=end,
        attrs=frozenset(by_iri),
    )
    found = store.query_temporal(tenant, query)
    result = StationSeries(station_id)
    latest = now or utc_now()
    for entity in found:
        for iri, instances in entity.history.items():
            pollutant = by_iri.get(iri)
            if pollutant is not None:
                _collect(result, pollutant, instances, latest, min_readings)
    return result


def _collect(
    result: StationSeries,
    pollutant: str,
    instances: list[dict[str, Any]],
    now: datetime,
    min_readings: int,
) -> None:
    by_time: dict[datetime, float] = {}
    for instance in instances:
        stamp = str(instance.get("observedAt", ""))
        value = instance.get("value")

        def reject(reason: str, stamp: str = stamp, value: Any = value) -> None:
            result.rejected.append(Rejected(pollutant, stamp, value, reason))

        try:
            moment = parse_datetime(stamp)
        except Exception:
            reject("no valid observedAt")
            continue
        if moment > now:
            reject("timestamp in the future")
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            reject("not a number")
            continue
        if value < 0:
            reject("negative concentration")
            continue
        try:
            concentration = to_ugm3(pollutant, float(value), instance.get("unitCode"))
        except EnvironmentInputError as error:
            reject(error.detail)
            continue
        if moment in by_time:
            reject("duplicate timestamp (the later reading is kept)")
        by_time[moment] = concentration
    hours: dict[datetime, list[float]] = {}
    for moment, concentration in by_time.items():
        hours.setdefault(hour_start(moment), []).append(concentration)
    series = {
        hour: math.fsum(values) / len(values)
        for hour, values in sorted(hours.items())
        if len(values) >= min_readings
    }
    if series:
        result.series[pollutant] = series
        result.readings[pollutant] = len(by_time)
