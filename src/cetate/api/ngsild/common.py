"""Helpers shared by the NGSI-LD routers: path ids, rendering, GeoJSON, pagination links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

from starlette.requests import Request

from cetate.api.params import check_entity_id
from cetate.errors import CetateError
from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.model import LOCATION, EntityDoc
from cetate.ngsi.representation import Representation, render_entity

API_PREFIX: Final = "/ngsi-ld/v1"


def entity_path_id(entity_id: str) -> str:
    """An entity id from a URL path, checked to be a URI (BadRequestData otherwise)."""
    return check_entity_id(entity_id, "entity id")


def problem_of(error: CetateError) -> dict[str, Any]:
    """A ProblemDetails object for a 207 body."""
    return error.problem()


def render(
    entity: EntityDoc,
    context: LdContext,
    *,
    representation: Representation,
    sys_attrs: bool,
    attrs: frozenset[str] | None,
    lang: str | None,
) -> dict[str, Any]:
    return render_entity(
        entity,
        context,
        representation=representation,
        sys_attrs=sys_attrs,
        attrs=attrs,
        lang=lang,
    )


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
