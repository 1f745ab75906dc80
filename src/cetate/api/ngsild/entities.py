"""``/ngsi-ld/v1/entities``: create, retrieve, query, replace, merge, delete entities and their
attributes (ETSI GS CIM 009 §6.4-§6.7)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from cetate.api.deps import (
    EntityMediaDep,
    Payload,
    PayloadDep,
    ReadAccessDep,
    RequestContextDep,
    ServiceDep,
    SettingsDep,
    StoreDep,
    WriteTenantDep,
)
from cetate.api.ngsild.common import (
    API_PREFIX,
    ENTITY_PATH,
    EntityIdPath,
    EntitySelectionDep,
    entity_url,
    geojson_feature,
    page_links,
    readable_entity,
    readable_query,
)
from cetate.api.params import (
    ENTITY_OPTIONS,
    parse_attrs,
    parse_bool,
    parse_limit,
    parse_offset,
    parse_options,
    representation,
)
from cetate.api.responses import RESULTS_COUNT_HEADER, json_response, no_content
from cetate.errors import BadRequestData, ResourceNotFound
from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.model import LOCATION, AttributeInstance
from cetate.ngsi.representation import (
    expand_attribute,
    expand_attributes,
    expand_entity,
    render_entity,
)
from cetate.ngsi.updates import ChangeSet

router = APIRouter(prefix=API_PREFIX, tags=["NGSI-LD entities"])

OptionsQuery = Annotated[
    str | None,
    Query(description="Comma-separated: keyValues (or simplified), concise, sysAttrs"),
]
FormatQuery = Annotated[
    str | None, Query(alias="format", description="normalized, concise or keyValues")
]
AttrsQuery = Annotated[
    str | None, Query(description="Comma-separated attribute names to select and project")
]
LangQuery = Annotated[str | None, Query(description="Language for LanguageProperty values")]
GeometryPropertyQuery = Annotated[
    str | None,
    Query(alias="geometryProperty", description="GeoProperty used as GeoJSON geometry"),
]
ATTRS_PATH: Final = ENTITY_PATH + "/attrs"
ATTR_PATH: Final = ATTRS_PATH + "/{attr_id:segment}"


def _geometry_property(context: LdContext, geometry_property: str | None) -> str:
    """The GeoProperty that is a GeoJSON Feature's geometry (``location`` by default)."""
    return context.expand_term(geometry_property) if geometry_property else LOCATION


def _update_result(change: ChangeSet, context: LdContext) -> Response:
    """204 when every attribute was written, else 207 with an UpdateResult."""
    if not change.not_updated:
        return no_content()
    body = {
        "updated": [context.compact_iri(name) for name in change.updated],
        "notUpdated": [
            {"attributeName": context.compact_iri(item.attribute), "reason": item.reason}
            for item in change.not_updated
        ],
    }
    return json_response(body, status_code=207)


def _one_attribute(
    payload: Payload, attr_id: str, *, allow_null: bool
) -> tuple[LdContext, str, AttributeInstance]:
    """The body of PATCH and PUT on one attribute, expanded: (its @context, the attribute's
    IRI, the instance)."""
    item = payload.object()
    context = payload.context_for(item)
    fragment = {key: value for key, value in item.items() if key != "@context"}
    attr_iri, instance = expand_attribute(attr_id, fragment, context, allow_null=allow_null)
    return context, attr_iri, instance


@router.post("/entities", status_code=201, summary="Create an entity")
def create_entity(payload: PayloadDep, tenant: WriteTenantDep, service: ServiceDep) -> Response:
    item = payload.object()
    context = payload.context_for(item)
    entity = expand_entity(item, context)
    service.create(tenant, entity)
    return Response(
        status_code=201,
        headers={"Location": entity_url(entity["id"])},
    )


@router.get("/entities", summary="Query entities")
def query_entities(
    request: Request,
    access: ReadAccessDep,
    context: RequestContextDep,
    store: StoreDep,
    settings: SettingsDep,
    media: EntityMediaDep,
    selection: EntitySelectionDep,
    options: OptionsQuery = None,
    format_: FormatQuery = None,
    limit: Annotated[int | None, Query(description="page size (0 with count=true)")] = None,
    offset: Annotated[int | None, Query(description="entities to skip")] = None,
    count: Annotated[str | None, Query(description="true: NGSILD-Results-Count header")] = None,
    lang: LangQuery = None,
    geometry_property: GeometryPropertyQuery = None,
) -> Response:
    option_set = parse_options(options, ENTITY_OPTIONS | {"count"})
    rep = representation(option_set, format_)
    want_count = parse_bool(count, "count") or "count" in option_set
    page_size = parse_limit(limit, want_count, settings)
    skip = parse_offset(offset)
    query = readable_query(
        selection, context, access, limit=page_size + 1, offset=skip, count=want_count
    )
    if page_size == 0:
        result = store.query_entities(access.name, dataclasses.replace(query, limit=0))
        entities: list[Any] = []
        has_more = False
    else:
        result = store.query_entities(access.name, query)
        entities = result.entities[:page_size]
        has_more = len(result.entities) > page_size
    if result.total is not None:
        has_more = skip + len(entities) < result.total
    sys_attrs = "sysAttrs" in option_set
    geo_property = _geometry_property(context, geometry_property)
    rendered: list[dict[str, Any]] = []
    for entity in entities:
        item = render_entity(
            entity,
            context,
            representation=rep,
            sys_attrs=sys_attrs,
            attrs=query.attrs,
            lang=lang,
        )
        if media == "application/geo+json":
            item = geojson_feature(entity, item, geo_property)
        rendered.append(item)
    headers: dict[str, str] = {}
    if result.total is not None:
        headers[RESULTS_COUNT_HEADER] = str(result.total)
    links = page_links(
        request, limit=page_size, offset=skip, returned=len(entities), has_more=has_more
    )
    content: Any = rendered
    if media == "application/geo+json":
        content = {"type": "FeatureCollection", "features": rendered}
    return json_response(content, media=media, context=context, headers=headers, links=links)


@router.get(ENTITY_PATH, summary="Retrieve an entity")
def retrieve_entity(
    entity_id: EntityIdPath,
    access: ReadAccessDep,
    context: RequestContextDep,
    store: StoreDep,
    media: EntityMediaDep,
    attrs: AttrsQuery = None,
    options: OptionsQuery = None,
    format_: FormatQuery = None,
    lang: LangQuery = None,
    geometry_property: GeometryPropertyQuery = None,
) -> Response:
    option_set = parse_options(options, ENTITY_OPTIONS)
    rep = representation(option_set, format_)
    projection = parse_attrs(attrs, context)
    entity = readable_entity(store, access, entity_id)
    item = render_entity(
        entity,
        context,
        representation=rep,
        sys_attrs="sysAttrs" in option_set,
        attrs=projection,
        lang=lang,
    )
    if media == "application/geo+json":
        item = geojson_feature(entity, item, _geometry_property(context, geometry_property))
    return json_response(item, media=media, context=context)


@router.put(ENTITY_PATH, status_code=204, summary="Replace an entity")
def replace_entity(
    entity_id: EntityIdPath, payload: PayloadDep, tenant: WriteTenantDep, service: ServiceDep
) -> Response:
    item = dict(payload.object())
    body_id = item.get("id")
    if body_id is not None and body_id != entity_id:
        raise BadRequestData(f"the body's id {body_id!r} differs from the URL's {entity_id!r}")
    item["id"] = entity_id
    context = payload.context_for(item)
    service.replace(tenant, expand_entity(item, context))
    return no_content()


@router.patch(ENTITY_PATH, status_code=204, summary="Merge into an entity")
def merge_entity(
    entity_id: EntityIdPath, payload: PayloadDep, tenant: WriteTenantDep, service: ServiceDep
) -> Response:
    item = payload.object()
    body_id = item.get("id")
    if body_id is not None and body_id != entity_id:
        raise BadRequestData(f"the body's id {body_id!r} differs from the URL's {entity_id!r}")
    context = payload.context_for(item)
    service.merge(tenant, entity_id, expand_attributes(item, context))
    return no_content()


@router.delete(ENTITY_PATH, status_code=204, summary="Delete an entity")
def delete_entity(entity_id: EntityIdPath, tenant: WriteTenantDep, service: ServiceDep) -> Response:
    service.delete(tenant, entity_id)
    return no_content()


@router.post(ATTRS_PATH, status_code=204, summary="Append attributes to an entity")
def append_attributes(
    entity_id: EntityIdPath,
    payload: PayloadDep,
    tenant: WriteTenantDep,
    service: ServiceDep,
    options: Annotated[str | None, Query(description="noOverwrite")] = None,
) -> Response:
    option_set = parse_options(options, {"noOverwrite"})
    item = payload.object()
    context = payload.context_for(item)
    change = service.append_attributes(
        tenant,
        entity_id,
        expand_attributes(item, context),
        overwrite="noOverwrite" not in option_set,
    )
    return _update_result(change, context)


@router.patch(ATTRS_PATH, status_code=204, summary="Update attributes")
def update_attributes(
    entity_id: EntityIdPath, payload: PayloadDep, tenant: WriteTenantDep, service: ServiceDep
) -> Response:
    item = payload.object()
    context = payload.context_for(item)
    change = service.update_attributes(tenant, entity_id, expand_attributes(item, context))
    return _update_result(change, context)


@router.patch(
    ATTR_PATH,
    status_code=204,
    summary="Partially update one attribute",
)
def patch_attribute(
    entity_id: EntityIdPath,
    attr_id: Annotated[str, Path(description="The attribute name")],
    payload: PayloadDep,
    tenant: WriteTenantDep,
    service: ServiceDep,
) -> Response:
    context, attr_iri, instance = _one_attribute(payload, attr_id, allow_null=True)
    change = service.patch_attribute(tenant, entity_id, attr_iri, instance)
    return _update_result(change, context)


@router.put(ATTR_PATH, status_code=204, summary="Replace one attribute")
def replace_attribute(
    entity_id: EntityIdPath,
    attr_id: Annotated[str, Path(description="The attribute name")],
    payload: PayloadDep,
    tenant: WriteTenantDep,
    service: ServiceDep,
) -> Response:
    _, attr_iri, instance = _one_attribute(payload, attr_id, allow_null=False)
    change = service.update_attributes(tenant, entity_id, {attr_iri: [instance]})
    if change.not_updated:
        raise ResourceNotFound(
            f"entity {entity_id} has no attribute {attr_id!r}"
            + (f" with datasetId {instance['datasetId']}" if "datasetId" in instance else ""),
            entityId=entity_id,
            attributeName=attr_id,
        )
    return no_content()


@router.delete(ATTR_PATH, status_code=204, summary="Delete an attribute")
def delete_attribute(
    entity_id: EntityIdPath,
    attr_id: Annotated[str, Path(description="The attribute name")],
    tenant: WriteTenantDep,
    service: ServiceDep,
    context: RequestContextDep,
    dataset_id: Annotated[
        str | None, Query(alias="datasetId", description="the instance to delete")
    ] = None,
    delete_all: Annotated[
        str | None, Query(alias="deleteAll", description="true: every instance")
    ] = None,
) -> Response:
    service.delete_attribute(
        tenant,
        entity_id,
        context.expand_term(attr_id),
        dataset_id=dataset_id,
        delete_all=parse_bool(delete_all, "deleteAll"),
    )
    return no_content()
