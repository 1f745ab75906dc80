"""Backend-neutral helpers shared by the SQL stores (SQLite, PostgreSQL).

Nothing here talks to a database: it turns stored-form documents into the rows that side
tables index (types, scalar attribute values, geometries), converts times, decides which
``q`` comparisons a backend can run on a scalar-value column, and assembles temporal answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from cetate.ngsi.model import ENTITY_KEYWORDS, AttributeInstance, EntityDoc
from cetate.ngsi.query_ast import Comparison, Scalar, ValueList, ValueRange

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)

SCALAR_ATTRIBUTE_FIELDS: Final = {
    "Property": "value",
    "Relationship": "object",
    "VocabProperty": "vocab",
}
"""Where the comparable value of an instance lives, per attribute type."""

TIME_KEYWORDS: Final = frozenset({"observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId"})

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


def period_ms(period: timedelta) -> int:
    return max(1, period // _MS)


# -- what side tables index ---------------------------------------------------------------


def attribute_names(doc: EntityDoc) -> list[str]:
    return [key for key in doc if key not in ENTITY_KEYWORDS]


def scalar_value(instance: Mapping[str, Any]) -> str | int | float | None:
    """The value ``q`` compares for one instance when it is a string or a number (bool
    excluded: booleans are compared in Python), else None."""
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
    return None


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
    attrs: dict[AttrKey, tuple[str, str | int | float | None]] = field(default_factory=dict)
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


# -- q compilation support ----------------------------------------------------------------


def is_simple_path(comparison_path: Any) -> bool:
    """An attribute with no sub-attribute and no member path: comparable on the scalar column."""
    return not comparison_path.sub and not comparison_path.member


def _scalar_kind(value: Scalar) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return None


def comparison_kind(node: Comparison) -> str | None:
    """``"number"`` or ``"text"`` when a backend can run the comparison on the scalar-value
    column (a simple path; literals all numbers or all strings, no booleans), else None."""
    if not is_simple_path(node.path) or node.path.attr in TIME_KEYWORDS:
        return None
    value = node.value
    if node.op in ("~=", "!~="):
        return "text" if isinstance(value, str) else None
    if isinstance(value, ValueRange):
        if node.op not in ("==", "!="):
            return None
        low, high = _scalar_kind(value.low), _scalar_kind(value.high)
        return low if low is not None and low == high else None
    if isinstance(value, ValueList):
        if node.op not in ("==", "!=") or not value.items:
            return None
        kinds = {_scalar_kind(item) for item in value.items}
        return kinds.pop() if len(kinds) == 1 and None not in kinds else None
    return _scalar_kind(value)


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
