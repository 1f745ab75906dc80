"""Exporting a tenant's entities as NGSI-LD JSON or GeoJSON (what ``cetate import`` reads back).

* ``ngsi-ld``: a JSON array of entities in normalized form, each with its ``@context``.
* ``geojson``: a FeatureCollection in NGSI-LD's GeoJSON representation (§4.5.16): the
  feature id is the entity id, the geometry is its ``location``, the properties are the
  entity type and its attributes in normalized form; ``@context`` at the top.

Entities are streamed from the store, so an export of a large tenant needs little memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal, TextIO

from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.model import LOCATION, EntityDoc
from cetate.ngsi.representation import render_entity
from cetate.store.base import ContextStore

ExportFormat = Literal["ngsi-ld", "geojson"]


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _geometry(entity: EntityDoc) -> Any:
    instances = entity.get(LOCATION)
    if isinstance(instances, list) and instances:
        return instances[0].get("value")
    return None


def export_tenant(
    store: ContextStore,
    tenant: str,
    context: LdContext,
    out: TextIO,
    *,
    file_format: ExportFormat = "ngsi-ld",
    on_entity: Callable[[], None] | None = None,
) -> int:
    """Write every entity of the tenant to ``out``; the number of entities written."""
    count = 0
    source = context.source
    if file_format == "ngsi-ld":
        out.write("[")
    else:
        out.write('{"type":"FeatureCollection","@context":' + _dump(source) + ',"features":[')
    for entity in store.iter_entities(tenant):
        rendered = render_entity(entity, context, representation="normalized")
        if file_format == "ngsi-ld":
            rendered["@context"] = source
            record = rendered
        else:
            properties = {key: value for key, value in rendered.items() if key != "id"}
            record = {
                "id": rendered["id"],
                "type": "Feature",
                "geometry": _geometry(entity),
                "properties": properties,
            }
        out.write(("\n" if count == 0 else ",\n") + _dump(record))
        count += 1
        if on_entity is not None:
            on_entity()
    out.write("\n]" if file_format == "ngsi-ld" else "\n]}")
    out.write("\n")
    return count
