"""Backend-neutral helpers shared by the SQL stores (SQLite, PostgreSQL).

Nothing here talks to a database: it turns stored-form documents into the rows that side
tables index (types, scalar attribute values, geometries), converts times, and decides the
time bounds and buckets of temporal answers. (What ``q`` compilation shares is in
:mod:`cetate.store.q_compilation`.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from cetate.errors import InvalidRequest
from cetate.ngsi.model import ENTITY_KEYWORDS, AttributeInstance, EntityDoc
from cetate.ngsi.query_language import temporal_index_key
from cetate.store.base import TemporalQuery, Timerel

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)
_US: Final = timedelta(microseconds=1)

SCALAR_ATTRIBUTE_FIELDS: Final = {
    "Property": "value",
    "Relationship": "object",
    "VocabProperty": "vocab",
}
"""Where the comparable value of an instance lives, per attribute type."""

_INT64_MAX: Final = 2**63 - 1


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


# -- time --------------------------------------------------------------------------------------


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def iso_from_ms(ms: int) -> str:
    """``2026-11-23T10:00:00.000Z``, the platform's timestamp format."""
    moment = from_ms(ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso(moment: datetime) -> str:
    return iso_from_ms(to_ms(moment))


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch (exact for any datetime); a naive one is taken as
    UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // _US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def period_ms(period: timedelta) -> int:
    return max(1, period // _MS)


# -- what side tables index ---------------------------------------------------------------


def attribute_names(doc: EntityDoc) -> list[str]:
    return [key for key in doc if key not in ENTITY_KEYWORDS]


ScalarValue = str | int | float | bytes | None
"""What the side index keeps as the comparable value of one instance."""


def scalar_value(instance: Mapping[str, Any]) -> ScalarValue:
    """The value ``q`` compares for one instance: a string or a number (bool excluded:
    booleans are compared in Python); for a Property whose value is a typed date-time, date or
    time (``{"@type": "DateTime", "@value": …}``) its temporal key as bytes (see
    :func:`temporal_index_value`); else None."""
    where = SCALAR_ATTRIBUTE_FIELDS.get(instance.get("type", ""))
    if where is None:
        return None
    value = instance.get(where)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -_INT64_MAX <= value <= _INT64_MAX else float(value)
    if isinstance(value, float | str):
        return value
    if isinstance(value, dict) and where == "value":
        return temporal_index_value(value)
    return None


def temporal_index_value(value: Any) -> bytes | None:
    """A typed date-time, date or time value as the side index keeps it: its temporal key
    (:func:`cetate.ngsi.query_language.temporal_index_key`, e.g.
    ``dt:2026-01-01T00:00:00.000Z``) in ASCII bytes, so that SQLite stores a BLOB. BLOBs sort
    after every number and text and compare byte-wise, so the keys of one kind keep their
    temporal order and never mix with plain strings; None for any other value."""
    key = temporal_index_key(value)
    return None if key is None else key.encode("ascii")


def number_value(instance: Mapping[str, Any]) -> float | None:
    """The numeric value of a Property instance (bool excluded), for history."""
    value = instance.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


AttrKey = tuple[str, int]
"""(attribute IRI, position of the instance in the attribute's list)"""


@dataclass(slots=True)
class IndexedForm:
    """What the side tables hold about one entity; compared old vs new to write only changes."""

    types: tuple[str, ...]
    attrs: dict[AttrKey, tuple[str, ScalarValue]] = field(default_factory=dict)
    """(attr, instance position) → (attribute type, scalar value or None)"""
    geos: list[tuple[str, str]] = field(default_factory=list)
    """(attr, geometry as JSON text) for every GeoProperty instance"""


def entity_types_of(doc: EntityDoc) -> tuple[str, ...]:
    """The entity's types as :attr:`IndexedForm.types` holds them."""
    types = doc.get("type") or ()
    return tuple(types) if isinstance(types, list | tuple) else (str(types),)


def indexed_form(doc: EntityDoc) -> IndexedForm:
    form = IndexedForm(types=entity_types_of(doc))
    attrs = form.attrs
    for attr, instances in doc.items():
        if attr in ENTITY_KEYWORDS:
            continue
        if isinstance(instances, dict):
            instances = [instances]
        if not isinstance(instances, list):
            continue
        for position, instance in enumerate(instances):
            if not isinstance(instance, dict):
                continue
            kind = str(instance.get("type", "Property"))
            attrs[(attr, position)] = (kind, scalar_value(instance))
            if kind == "GeoProperty" and isinstance(instance.get("value"), dict):
                form.geos.append((attr, dumps(instance["value"])))
    return form


# -- temporal queries ---------------------------------------------------------------------


def time_bounds(
    timerel: Timerel, time_at: datetime, end_time_at: datetime | None
) -> list[tuple[str, datetime]]:
    """(operator, moment) conditions on the time property: before: t < timeAt; after:
    t >= timeAt; between: timeAt <= t < endTimeAt."""
    if timerel == "before":
        return [("<", time_at)]
    if timerel == "after":
        return [(">=", time_at)]
    if end_time_at is None:
        raise InvalidRequest("timerel=between needs endTimeAt")
    return [(">=", time_at), ("<", end_time_at)]


def bucket_origin(query: TemporalQuery) -> datetime | None:
    """Where aggregation buckets start: ``timeAt`` for after/between, else None (the first
    instance of each attribute)."""
    if query.time_at is not None and query.timerel in ("after", "between"):
        return query.time_at
    return None


def single_bucket_end(query: TemporalQuery) -> datetime | None:
    """The end of the one bucket of an aggregation without a period: ``endTimeAt`` (between)
    or ``timeAt`` (before), else None (the last instance)."""
    if query.timerel == "between" and query.end_time_at is not None:
        return query.end_time_at
    if query.timerel == "before" and query.time_at is not None:
        return query.time_at
    return None


# -- aggregation --------------------------------------------------------------------------


def population_stddev(count: int, total: float | None, squares: float | None) -> float | None:
    """σ = sqrt(Σx²/n − (Σx/n)²): the *population* standard deviation (divide by n), computed
    from sums so that the database does the work. Both backends return this."""
    if not count or total is None or squares is None:
        return None
    mean = total / count
    return math.sqrt(max(0.0, squares / count - mean * mean))


def with_timestamps(
    instance: AttributeInstance, observed_ms: int, dataset_id: str | None
) -> AttributeInstance:
    """A history instance as the temporal API returns it: with ``observedAt`` (the write time
    when the instance had none) and ``datasetId`` when it has one."""
    if "observedAt" not in instance:
        instance["observedAt"] = iso_from_ms(observed_ms)
    if dataset_id:
        instance["datasetId"] = dataset_id
    return instance
