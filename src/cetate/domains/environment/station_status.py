"""The status of a health (monitoring) station from its stored history.

A station is an entity (AirQualityObserved, or a health station grouping sensors and kiosk
readings) whose numeric attributes are its sensors. :func:`station_status` reads the history
of the last ``window`` hours through the temporal API and answers:

* ``stale`` — no reading at all for ``stale_after`` (default 2 h) before ``now``, or none ever;
* ``faulty`` — the station reports, but at least one sensor is faulty:

  - **flat line**: its last ``flat_count`` readings (default 6) are all equal (within
    ``flat_tolerance``), which a working sensor of a varying quantity does not produce;
  - **out of range**: its latest reading is outside the plausible range of the quantity
    (:data:`PLAUSIBLE_RANGES`, e.g. PM2.5 0–1000 µg/m³), a sign of a broken sensor rather than
    of the air;

* ``online`` — reporting, and no faulty sensor.

Each sensor's finding is returned with the reason, so a dashboard can say what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.store_input import ENVIRONMENT_CONTEXT
from cetate.errors import CetateError
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.timestamps import parse_datetime, utc_now
from cetate.store.base import ContextStore, EntityQuery, TemporalQuery

Status = Literal["online", "stale", "faulty"]
SensorProblem = Literal["flat-line", "out-of-range"]

PLAUSIBLE_RANGES: Final[Mapping[str, tuple[float, float]]] = {
    "pm25": (0.0, 1000.0),
    "pm10": (0.0, 2000.0),
    "no2": (0.0, 2000.0),
    "o3": (0.0, 1000.0),
    "so2": (0.0, 3000.0),
    "co": (0.0, 100000.0),
    "temperature": (-40.0, 60.0),
    "relativeHumidity": (0.0, 100.0),
    "noise": (20.0, 140.0),
}
"""term → (lowest, highest) plausible reading, in the units the station reports"""


@dataclass(frozen=True, slots=True)
class SensorFinding:
    sensor: str
    problem: SensorProblem
    detail: str


@dataclass(frozen=True, slots=True)
class StationStatus:
    station_id: str
    status: Status
    last_seen: datetime | None
    findings: tuple[SensorFinding, ...] = ()
    sensors: tuple[str, ...] = ()
    """the sensors (attribute terms) with readings in the window, sorted"""


@dataclass(frozen=True, slots=True)
class StatusRules:
    stale_after: timedelta = timedelta(hours=2)
    window: timedelta = timedelta(hours=24)
    flat_count: int = 6
    flat_tolerance: float = 1e-9
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=lambda: PLAUSIBLE_RANGES)

    def __post_init__(self) -> None:
        if self.flat_count < 2:
            raise EnvironmentInputError("flat_count must be at least 2")
        if self.stale_after <= timedelta(0) or self.window <= timedelta(0):
            raise EnvironmentInputError("stale_after and window must be positive durations")
        if self.flat_tolerance < 0:
            raise EnvironmentInputError("flat_tolerance must not be negative")


def assess(
    station_id: str,
    readings: Mapping[str, Iterable[tuple[datetime, float]]],
    now: datetime,
    rules: StatusRules | None = None,
) -> StationStatus:
    """The status from readings per sensor (``(observedAt, value)``, any order)."""
    rules = rules or StatusRules()
    findings: list[SensorFinding] = []
    last_seen: datetime | None = None
    sensors: list[str] = []
    for sensor, items in readings.items():
        ordered = sorted(items, key=lambda item: item[0])
        if not ordered:
            continue
        sensors.append(sensor)
        newest, latest = ordered[-1]
        last_seen = newest if last_seen is None or newest > last_seen else last_seen
        tail = [value for _, value in ordered[-rules.flat_count :]]
        if len(tail) == rules.flat_count and max(tail) - min(tail) <= rules.flat_tolerance:
            findings.append(
                SensorFinding(
                    sensor,
                    "flat-line",
                    f"the last {rules.flat_count} readings are all {latest:g}",
                )
            )
        bounds = rules.ranges.get(sensor)
        if bounds is not None and not bounds[0] <= latest <= bounds[1]:
            findings.append(
                SensorFinding(
                    sensor,
                    "out-of-range",
                    f"latest reading {latest:g} is outside {bounds[0]:g}…{bounds[1]:g}",
                )
            )
    status: Status
    if last_seen is None or now - last_seen > rules.stale_after:
        status = "stale"
    elif findings:
        status = "faulty"
    else:
        status = "online"
    return StationStatus(station_id, status, last_seen, tuple(findings), tuple(sorted(sensors)))


def station_status(
    store: ContextStore,
    tenant: str,
    station_id: str,
    *,
    now: datetime | None = None,
    rules: StatusRules | None = None,
    context: str = ENVIRONMENT_CONTEXT,
) -> StationStatus:
    """The status of a stored station from the history of its numeric attributes."""
    rules = rules or StatusRules()
    moment = now or utc_now()
    resolved = ContextResolver().resolve(context)
    query = TemporalQuery(
        entities=EntityQuery(ids=(station_id,)),
        timerel="between",
        time_at=moment - rules.window,
        end_time_at=moment + timedelta(microseconds=1),
    )
    readings: dict[str, list[tuple[datetime, float]]] = {}
    for entity in store.query_temporal(tenant, query):
        for iri, instances in entity.history.items():
            values = _numeric(instances, moment)
            if values:
                readings[resolved.compact_iri(iri)] = values
    return assess(station_id, readings, moment, rules)


def _numeric(instances: list[dict[str, Any]], now: datetime) -> list[tuple[datetime, float]]:
    found: list[tuple[datetime, float]] = []
    for instance in instances:
        value = instance.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not math.isfinite(value):
            continue
        try:
            moment = parse_datetime(str(instance.get("observedAt", "")))
        except CetateError:  # no valid observedAt: not a reading to judge by
            continue
        if moment <= now:
            found.append((moment, float(value)))
    return found
