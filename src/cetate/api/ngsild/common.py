"""Helpers shared by the NGSI-LD routers: path parameters, what a caller may read, GeoJSON,
pagination links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import Depends, Path, Query
from starlette.requests import Request

from cetate.api.deps import ReadAccess
from cetate.api.params import EntitySelection, check_entity_id
from cetate.api.paths import path_segment
from cetate.errors import ResourceNotFound
from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.model import LOCATION, EntityDoc
from cetate.ngsi.type_expr import type_names
from cetate.store.base import ContextStore, EntityQuery

API_PREFIX: Final = "/ngsi-ld/v1"
ENTITY_PATH: Final = "/entities/{entity_id:segment}"
"""An entity's path; the id may contain ``/`` (sent as ``%2F``, see :mod:`cetate.api.paths`)."""


def entity_url(entity_id: str) -> str:
    """The NGSI-LD URL path of an entity (the ``Location`` of a created one)."""
    return f"{API_PREFIX}/entities/{path_segment(entity_id)}"


def entity_path_id(
    entity_id: Annotated[str, Path(description="The entity id (a URI; encode '/' as %2F)")],
) -> str:
    """The entity id of the URL path, checked to be a URI (BadRequestData otherwise)."""
    return check_entity_id(entity_id, "entity id")


EntityIdPath = Annotated[str, Depends(entity_path_id)]


def entity_selection(
    type: Annotated[
        str | None, Query(description="Entity type or type expression: A,B  (A;B)|C")
    ] = None,
    id: Annotated[str | None, Query(description="Comma-separated entity ids")] = None,
    id_pattern: Annotated[
        str | None, Query(alias="idPattern", description="Regular expression on entity ids")
    ] = None,
    attrs: Annotated[
        str | None, Query(description="Comma-separated attribute names to select and project")
    ] = None,
    q: Annotated[str | None, Query(description="NGSI-LD query language expression")] = None,
    georel: Annotated[str | None, Query(description="near;maxDistance==1000, within …")] = None,
    geometry: Annotated[str | None, Query(description="Point, Polygon …")] = None,
    coordinates: Annotated[str | None, Query(description="GeoJSON coordinates")] = None,
    geoproperty: Annotated[str | None, Query(description="default: location")] = None,
) -> EntitySelection:
    """The entity-selecting query parameters of GET /entities and GET /temporal/entities."""
    return EntitySelection(
        type=type,
        id=id,
        id_pattern=id_pattern,
        attrs=attrs,
        q=q,
        georel=georel,
        geometry=geometry,
        coordinates=coordinates,
        geoproperty=geoproperty,
    )


EntitySelectionDep = Annotated[EntitySelection, Depends(entity_selection)]


def readable_query(
    selection: EntitySelection,
    context: LdContext,
    access: ReadAccess,
    *,
    limit: int,
    offset: int,
    count: bool,
) -> EntityQuery:
    """The store query of ``selection``, checked against what the caller may read: a caller
    without a role in the tenant reads public types only, so asking for no type means asking
    for every public type."""
    query = selection.to_query(context, limit=limit, offset=offset, count=count)
    readable = access.readable_types()
    if readable and query.types is None:
        return selection.to_query(
            context, limit=limit, offset=offset, count=count, readable_types=readable
        )
    access.check(None if query.types is None else type_names(query.types))
    return query


def readable_entity(store: ContextStore, access: ReadAccess, entity_id: str) -> EntityDoc:
    """The stored entity, if the caller may read it; ResourceNotFound when there is none."""
    readable = access.readable_types()
    if readable is not None and not readable:
        access.check(None)
    entity = store.get_entity(access.name, entity_id)
    if entity is None:
        if readable is not None:
            # without a role, a missing entity is refused like a non-public one: the answer
            # must not tell which ids exist in a tenant
            access.check(None)
        raise ResourceNotFound(f"entity {entity_id} does not exist", entityId=entity_id)
    access.check(entity.get("type", []))
    return entity


def geometry_of(entity: EntityDoc, geometry_property: str) -> Any:
    """The GeoJSON geometry of an entity's geometry property (first instance), or None."""
    instances = entity.get(geometry_property)
    if isinstance(instances, list) and instances:
        first = instances[0]
        if isinstance(first, Mapping) and first.get("type") == "GeoProperty":
            return first.get("value")
    return None


def geojson_feature(
    entity: EntityDoc, rendered: Mapping[str, Any], geometry_property: str = LOCATION
) -> dict[str, Any]:
    """An entity as a GeoJSON Feature (§4.5.16): the rendered entity's attributes become
    ``properties``, the geometry property the ``geometry``."""
    properties = {key: value for key, value in rendered.items() if key != "id"}
    return {
        "id": rendered.get("id", entity.get("id")),
        "type": "Feature",
        "geometry": geometry_of(entity, geometry_property),
        "properties": properties,
    }


def page_links(
    request: Request, *, limit: int, offset: int, returned: int, has_more: bool
) -> list[str]:
    """``Link`` header values with rel="prev" / rel="next" for an offset-paginated list."""
    links: list[str] = []
    if limit <= 0:
        return links
    params = [(key, value) for key, value in request.query_params.multi_items()]
    base = [(key, value) for key, value in params if key not in ("limit", "offset")]

    def link(new_offset: int, rel: str) -> str:
        query = urlencode([*base, ("limit", str(limit)), ("offset", str(new_offset))])
        return f'<{request.url.path}?{query}>; rel="{rel}"'

    if offset > 0:
        links.append(link(max(0, offset - limit), "prev"))
    if has_more and returned > 0:
        links.append(link(offset + limit, "next"))
    return links
