"""NoiseLevelObserved: the latest sound levels of a station (FIWARE Smart Data Models).

A ``NoiseLevelObserved`` entity is stored as any NGSI-LD entity (POST /ngsi-ld/v1/entities or a
device mapping). It belongs to an air-quality station when its Relationship ``refStation``
names the station's id (or when a health station groups both, :mod:`.health`).

**Attributes and units.** ``LAeq`` (A-weighted equivalent continuous level over the
observation period) and ``LAmax`` (maximum A-weighted level, fast time weighting), both in
decibels, dB(A): ``unitCode`` ``2N`` (UN/CEFACT *decibel*) or absent. Another unit, a
non-number, a value outside 0…194 dB (194 dB is the loudest undistorted sound in air at sea
level) or an ``observedAt`` in the future is **rejected** with its reason, never shown. The
period is the entity's ``dateObservedFrom`` / ``dateObservedTo`` when given (shown as is).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from cetate.domains.environment import stored
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.store.base import ContextStore

NOISE_TYPE: Final = "NoiseLevelObserved"
LEVELS: Final = ("LAeq", "LAmax")
DECIBEL: Final = "2N"
RANGE: Final = (0.0, 194.0)


@dataclass(frozen=True, slots=True)
class NoiseLevel:
    attribute: str
    value: float
    """dB(A)"""
    observed_at: datetime | None


@dataclass(frozen=True, slots=True)
class NoiseReading:
    id: str
    name: str
    levels: tuple[NoiseLevel, ...]
    period: tuple[str | None, str | None]
    rejected: tuple[str, ...] = field(default=())


def check_level(attribute: str, value: Any, unit: Any) -> float:
    """A level in dB(A), or :class:`EnvironmentInputError` saying what is wrong."""
    if unit not in (None, DECIBEL):
        raise EnvironmentInputError(
            f"{attribute}: unit {unit!r} is not decibel (unitCode {DECIBEL!r})"
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EnvironmentInputError(f"{attribute}: {value!r} is not a number")
    if not RANGE[0] <= value <= RANGE[1]:
        raise EnvironmentInputError(
            f"{attribute}: {value:g} dB(A) is outside {RANGE[0]:g}…{RANGE[1]:g}"
        )
    return float(value)


def reading(entity: dict[str, Any], now: datetime) -> NoiseReading:
    """The accepted levels of a NoiseLevelObserved entity and the reasons for the others."""
    levels: list[NoiseLevel] = []
    rejected: list[str] = []
    for attribute in LEVELS:
        found = [i for i in stored.instances(entity, attribute) if "datasetId" not in i]
        if not found:
            continue
        instance = found[0]
        moment = stored.observed_at(entity, attribute)
        try:
            level = check_level(attribute, instance.get("value"), instance.get("unitCode"))
        except EnvironmentInputError as error:
            rejected.append(error.detail)
            continue
        if moment is not None and moment > now:
            rejected.append(f"{attribute}: observedAt is in the future")
            continue
        levels.append(NoiseLevel(attribute, level, moment))
    start, end = stored.value(entity, "dateObservedFrom"), stored.value(entity, "dateObservedTo")
    return NoiseReading(
        str(entity["id"]),
        stored.name_of(entity),
        tuple(levels),
        (str(start) if start else None, str(end) if end else None),
        tuple(rejected),
    )


def station_noise(
    store: ContextStore, tenant: str, station_id: str, now: datetime
) -> list[NoiseReading]:
    """The NoiseLevelObserved entities whose ``refStation`` is ``station_id``."""
    return [
        reading(entity, now)
        for entity in stored.of_type(store, tenant, NOISE_TYPE)
        if station_id in stored.objects(entity, "refStation")
    ]
