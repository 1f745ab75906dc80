"""Entities in stored form made readable for people: short names, formatted values, series.

Pure functions, no I/O: the pages give them stored documents and history and render the result.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from cetate.ngsi.model import ATTRIBUTE_KEYWORDS, ENTITY_KEYWORDS, LOCATION, AttributeInstance
from cetate.store.base import TemporalEntity


@cache
def _core_context_compactor() -> Any:
    """The core @context's compactor, when the JSON-LD module provides one (None otherwise)."""
    try:
        from cetate.ngsi.jsonld import ContextResolver

        return ContextResolver().resolve(None)
    except Exception:
        return None


def readable_term(iri: str) -> str:
    """A short, readable name for an expanded IRI: the core @context's term when it has one,
    else the last path segment or fragment (``…/WasteManagement/fillingLevel`` →
    ``fillingLevel``). A name that is not an IRI is returned unchanged."""
    context = _core_context_compactor()
    if context is not None:
        try:
            term = str(context.compact_iri(iri))
        except Exception:
            term = iri
        if "/" not in term and "#" not in term:
            # a compact IRI (``ngsi-ld:name``) reads best as its suffix
            return term.rsplit(":", 1)[-1] if ":" in term else term
    if "://" not in iri and not iri.startswith("urn:"):
        return iri
    tail = iri.rstrip("/#")
    for sep in ("#", "/"):
        if sep in tail:
            tail = tail.rsplit(sep, 1)[1]
            break
    return tail or iri


def short_id(entity_id: str) -> str:
    """``urn:ngsi-ld:WasteContainer:cluj:0001`` → ``WasteContainer:cluj:0001``."""
    prefix = "urn:ngsi-ld:"
    return entity_id[len(prefix) :] if entity_id.startswith(prefix) else entity_id


def _moment(value: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (UTC when it names no zone), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _format_moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_timestamp(value: object) -> str:
    """``2026-11-23T10:04:59.000Z`` → ``2026-11-23 10:04:59 UTC``; other text unchanged."""
    if not isinstance(value, str) or not value:
        return ""
    moment = _moment(value)
    return value if moment is None else _format_moment(moment)


def is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def format_number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    text = f"{value:.6g}"
    return text


def _json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def format_value(instance: Mapping[str, Any], lang: str) -> str:
    """The value of an attribute instance as one line of text."""
    kind = instance.get("type", "Property")
    if kind == "Relationship":
        return str(instance.get("object", ""))
    if kind == "ListRelationship":
        return ", ".join(str(o) for o in instance.get("objectList", []) or [])
    if kind == "LanguageProperty":
        lang_map = instance.get("languageMap") or {}
        if isinstance(lang_map, Mapping):
            for key in (lang, "en", "@none"):
                if key in lang_map:
                    return str(lang_map[key])
            return _json_text(lang_map)
        return str(lang_map)
    if kind == "ListProperty":
        return _json_text(instance.get("valueList", []))
    if kind == "VocabProperty":
        vocab = instance.get("vocab")
        if isinstance(vocab, list):
            return ", ".join(readable_term(str(v)) for v in vocab)
        return readable_term(str(vocab))
    value = instance.get("value")
    if kind == "GeoProperty" and isinstance(value, Mapping):
        return geometry_summary(value)
    if isinstance(value, int | float) and is_number(value):
        return format_number(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"@type", "@value"}:
        return str(value["@value"])
    return _json_text(value)


def geometry_summary(geometry: Mapping[str, Any]) -> str:
    kind = str(geometry.get("type", "Geometry"))
    coordinates = geometry.get("coordinates")
    if kind == "Point" and isinstance(coordinates, list) and len(coordinates) >= 2:
        lon, lat = coordinates[0], coordinates[1]
        if is_number(lon) and is_number(lat):
            return f"Point {float(lat):.5f}, {float(lon):.5f}"
    return kind


@dataclass(frozen=True, slots=True)
class AttributeRow:
    """One attribute instance as the detail page shows it."""

    iri: str
    name: str
    kind: str
    value: str
    unit: str
    observed_at: str
    dataset_id: str | None
    link_entity: str | None
    """for a Relationship: the target entity id (the page links to it)"""
    numeric: bool


def attribute_rows(entity: Mapping[str, Any], lang: str) -> list[AttributeRow]:
    """The attributes of a stored entity, sorted by readable name, one row per instance."""
    rows: list[AttributeRow] = []
    for key, instances in entity.items():
        if key in ENTITY_KEYWORDS or not isinstance(instances, list):
            continue
        for instance in instances:
            if not isinstance(instance, Mapping):
                continue
            kind = str(instance.get("type", "Property"))
            target = instance.get("object") if kind == "Relationship" else None
            rows.append(
                AttributeRow(
                    iri=key,
                    name=readable_term(key),
                    kind=kind,
                    value=format_value(instance, lang),
                    unit=str(instance.get("unitCode", "")),
                    observed_at=format_timestamp(instance.get("observedAt")),
                    dataset_id=instance.get("datasetId"),
                    link_entity=str(target) if isinstance(target, str) else None,
                    numeric=kind == "Property" and is_number(instance.get("value")),
                )
            )
    rows.sort(key=lambda r: (r.name.lower(), r.dataset_id or ""))
    return rows


def numeric_attributes(entity: Mapping[str, Any]) -> list[str]:
    """Expanded names of the attributes whose current value is a number (charted)."""
    found = {
        key
        for key, instances in entity.items()
        if key not in ENTITY_KEYWORDS
        and isinstance(instances, list)
        and any(
            isinstance(i, Mapping) and i.get("type") == "Property" and is_number(i.get("value"))
            for i in instances
        )
    }
    return sorted(found, key=lambda iri: readable_term(iri).lower())


def entity_geometry(entity: Mapping[str, Any]) -> dict[str, Any] | None:
    """The GeoJSON geometry of the entity's ``location`` (default instance first)."""
    instances = entity.get(LOCATION)
    if not isinstance(instances, list):
        return None
    ordered = sorted(
        (i for i in instances if isinstance(i, Mapping)), key=lambda i: "datasetId" in i
    )
    for instance in ordered:
        value = instance.get("value")
        if isinstance(value, Mapping) and "type" in value:
            return dict(value)
    return None


def attribute_count(entity: Mapping[str, Any]) -> int:
    return sum(1 for key in entity if key not in ENTITY_KEYWORDS)


def sub_attribute_names(instance: AttributeInstance) -> list[str]:
    return [readable_term(k) for k in instance if k not in ATTRIBUTE_KEYWORDS]


@dataclass(frozen=True, slots=True)
class Series:
    """One numeric attribute's readings, for a chart: epoch seconds and values, oldest first."""

    attr: str
    name: str
    label: str
    unit: str
    times: list[float]
    values: list[float]

    def chartable(self) -> bool:
        """A line needs two readings at least."""
        return len(self.times) >= 2

    def only_reading(self) -> tuple[str, str] | None:
        """(value, time) as text when the range holds exactly one reading."""
        if len(self.times) != 1:
            return None
        return format_number(self.values[0]), _format_moment(
            datetime.fromtimestamp(self.times[0], UTC)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "attr": self.attr,
            "name": self.name,
            "label": self.label,
            "unit": self.unit,
            "times": self.times,
            "values": self.values,
        }


def _epoch(value: object) -> float | None:
    moment = _moment(value)
    return None if moment is None else moment.timestamp()


def history_series(
    temporal: Iterable[TemporalEntity], attrs: Iterable[str], units: Mapping[str, str]
) -> list[Series]:
    """A series per numeric attribute (and per datasetId) from a temporal query's answer."""
    wanted = list(attrs)
    series: list[Series] = []
    history: dict[str, list[AttributeInstance]] = {}
    for entity in temporal:
        for attr, instances in entity.history.items():
            history.setdefault(attr, []).extend(instances)
    for attr in wanted:
        by_dataset: dict[str | None, list[tuple[float, float]]] = {}
        for instance in history.get(attr, []):
            value = instance.get("value")
            moment = _epoch(instance.get("observedAt"))
            if moment is None or not isinstance(value, int | float) or not is_number(value):
                continue
            by_dataset.setdefault(instance.get("datasetId"), []).append((moment, float(value)))
        name = readable_term(attr)
        for dataset_id in sorted(by_dataset, key=lambda d: (d is not None, d or "")):
            points = sorted(by_dataset[dataset_id])
            label = name if dataset_id is None else f"{name} ({readable_term(dataset_id)})"
            series.append(
                Series(
                    attr=attr,
                    name=name,
                    label=label,
                    unit=units.get(attr, ""),
                    times=[p[0] for p in points],
                    values=[p[1] for p in points],
                )
            )
        if not by_dataset:
            series.append(
                Series(
                    attr=attr, name=name, label=name, unit=units.get(attr, ""), times=[], values=[]
                )
            )
    return series
