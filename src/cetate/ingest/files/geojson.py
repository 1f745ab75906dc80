"""GeoJSON files: a FeatureCollection (or one Feature) becomes one entity per feature.

Two kinds of file are understood:

* NGSI-LD's own GeoJSON representation (§4.5.16, what ``cetate export --format geojson``
  writes): the feature ``id`` is the entity id, ``properties.type`` the entity type and the
  other properties are attributes in normalized or concise form; ``@context`` at the top.
* plain GeoJSON from a GIS: properties are plain values and become Properties; the entity type
  comes from ``--type``; the id from the feature ``id`` or an ``id`` property, prefixed with
  ``urn:ngsi-ld:<type>:`` when it is not already a URI.

The feature's geometry becomes the ``location`` GeoProperty unless the properties already have a
``location``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cetate.errors import InvalidRequest
from cetate.ingest.files import FileItem, ParsedFile, RowError
from cetate.ingest.files.ngsild_json import expand_record, load_json
from cetate.ngsi.jsonld import ContextResolver


def entity_id_for(raw: Any, entity_type: str) -> str | None:
    """An entity id from a feature or CSV id: URIs as they are, anything else as
    ``urn:ngsi-ld:<type>:<id>``."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    if ":" in text:
        return text
    local_type = entity_type.rsplit("/", 1)[-1].rsplit("#", 1)[-1].rsplit(":", 1)[-1]
    return f"urn:ngsi-ld:{local_type}:{text}"


def read_geojson(
    path: Path,
    resolver: ContextResolver,
    *,
    entity_type: str | None = None,
    default_context: Any | None = None,
) -> ParsedFile:
    data = load_json(path)
    if not isinstance(data, dict) or data.get("type") not in ("FeatureCollection", "Feature"):
        raise InvalidRequest(f"{path}: expected a GeoJSON FeatureCollection or Feature")
    context = data.get("@context", default_context)
    if data["type"] == "Feature":
        features: list[Any] = [data]
    else:
        found = data.get("features")
        if not isinstance(found, list):
            raise InvalidRequest(f"{path}: the FeatureCollection has no 'features' array")
        features = found
    return ParsedFile(len(features), _items(features, resolver, entity_type, context))


def _items(
    features: list[Any], resolver: ContextResolver, entity_type: str | None, context: Any
) -> Iterator[FileItem]:
    for row, feature in enumerate(features, start=1):
        record = feature_to_entity(row, feature, entity_type)
        if isinstance(record, RowError):
            yield record
            continue
        yield expand_record(row, record, resolver, feature.get("@context", context))


def feature_to_entity(row: int, feature: Any, entity_type: str | None) -> dict[str, Any] | RowError:
    """A GeoJSON feature as an NGSI-LD entity payload (compact terms), or why not."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return RowError(row, None, 'not a GeoJSON Feature (an object with "type": "Feature")')
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        return RowError(row, None, "the feature's 'properties' is not an object")
    attributes = dict(properties)
    type_value = attributes.pop("type", None)
    chosen_type = entity_type or type_value
    if not isinstance(chosen_type, str | list) or not chosen_type:
        return RowError(
            row,
            None,
            "no entity type: give the feature a 'type' property or pass --type",
        )
    raw_id = feature.get("id")
    property_id = attributes.pop("id", None)
    if raw_id is None:
        raw_id = property_id
    first_type = chosen_type if isinstance(chosen_type, str) else str(chosen_type[0])
    entity_id = entity_id_for(raw_id, first_type)
    if entity_id is None:
        return RowError(
            row, None, "no entity id: give the feature an 'id' member or an 'id' property"
        )
    attributes.pop("@context", None)
    payload: dict[str, Any] = {"id": entity_id, "type": chosen_type}
    geometry = feature.get("geometry")
    if "location" not in attributes and geometry is not None:
        payload["location"] = {"type": "GeoProperty", "value": geometry}
    payload.update(attributes)
    return payload
