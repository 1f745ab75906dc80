"""``/ngsi-ld/v1/types`` and ``/ngsi-ld/v1/attributes``: what types and attributes exist
(§5.7.5-§5.7.10, §6.25-§6.28)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from cetate.api.deps import (
    JsonMediaDep,
    ReadAccess,
    ReadAccessDep,
    RequestContextDep,
    StoreDep,
)
from cetate.api.ngsild.common import API_PREFIX
from cetate.api.params import parse_bool
from cetate.api.responses import json_response
from cetate.errors import ResourceNotFound
from cetate.ngsi.jsonld import LdContext
from cetate.store.base import AttributeSummary, ContextStore, TypeSummary

SummaryT = TypeVar("SummaryT", TypeSummary, AttributeSummary)

router = APIRouter(prefix=API_PREFIX, tags=["NGSI-LD types and attributes"])

DetailsQuery = Annotated[
    str | None, Query(description="true: full descriptions instead of a list of names")
]


def _listing(
    summaries: Sequence[SummaryT],
    details: str | None,
    context: LdContext,
    *,
    describe: Callable[[SummaryT], dict[str, Any]],
    iri: Callable[[SummaryT], str],
    kind: str,
    member: str,
) -> Any:
    """The body of ``GET /types`` or ``GET /attributes``: with ``details=true`` the description
    of every summary, else an EntityTypeList or AttributeList (``kind``) of their compacted
    names under ``member``."""
    if parse_bool(details, "details"):
        return [describe(summary) for summary in summaries]
    names = [context.compact_iri(iri(summary)) for summary in summaries]
    return {"id": f"urn:ngsi-ld:{kind}:{uuid.uuid4().hex}", "type": kind, member: names}


def _readable_types(access: ReadAccess, store: ContextStore) -> list[TypeSummary]:
    readable = access.readable_types()
    if readable is not None and not readable:
        access.check(None)
    summaries = store.entity_types(access.name)
    if readable is not None:
        summaries = [summary for summary in summaries if summary.type in readable]
    return sorted(summaries, key=lambda summary: summary.type)


def _readable_attributes(access: ReadAccess, store: ContextStore) -> list[AttributeSummary]:
    if access.readable_types() is not None:
        # attributes are counted over every type: only principals with a role see them
        access.check(None)
    return sorted(store.attributes(access.name), key=lambda summary: summary.attribute)


@router.get("/types", summary="List entity types")
def list_types(
    access: ReadAccessDep,
    store: StoreDep,
    context: RequestContextDep,
    media: JsonMediaDep,
    details: DetailsQuery = None,
) -> Response:
    content = _listing(
        _readable_types(access, store),
        details,
        context,
        describe=lambda summary: _entity_type(summary, context),
        iri=lambda summary: summary.type,
        kind="EntityTypeList",
        member="typeList",
    )
    return json_response(content, media=media, context=context)


@router.get("/types/{type_name:segment}", summary="Describe one entity type")
def describe_type(
    type_name: Annotated[str, Path(description="The type name (encode '/' as %2F)")],
    access: ReadAccessDep,
    store: StoreDep,
    context: RequestContextDep,
    media: JsonMediaDep,
) -> Response:
    iri = context.expand_term(type_name)
    access.check([iri])
    summary = next((s for s in store.entity_types(access.name) if s.type == iri), None)
    if summary is None:
        raise ResourceNotFound(f"no entity has type {type_name!r}", typeName=type_name)
    attribute_types: dict[str, frozenset[str]] = {
        a.attribute: a.attribute_types for a in store.attributes(access.name)
    }
    content = {
        "id": summary.type,
        "type": "EntityTypeInfo",
        "typeName": context.compact_iri(summary.type),
        "entityCount": summary.entity_count,
        "attributeDetails": [
            {
                "id": name,
                "type": "Attribute",
                "attributeName": context.compact_iri(name),
                "attributeTypes": sorted(attribute_types.get(name, frozenset())),
            }
            for name in sorted(summary.attributes)
        ],
    }
    return json_response(content, media=media, context=context)


@router.get("/attributes", summary="List attributes")
def list_attributes(
    access: ReadAccessDep,
    store: StoreDep,
    context: RequestContextDep,
    media: JsonMediaDep,
    details: DetailsQuery = None,
) -> Response:
    content = _listing(
        _readable_attributes(access, store),
        details,
        context,
        describe=lambda summary: _attribute(summary, context, with_counts=False),
        iri=lambda summary: summary.attribute,
        kind="AttributeList",
        member="attributeList",
    )
    return json_response(content, media=media, context=context)


@router.get("/attributes/{attr_name:segment}", summary="Describe one attribute")
def describe_attribute(
    attr_name: Annotated[str, Path(description="The attribute name (encode '/' as %2F)")],
    access: ReadAccessDep,
    store: StoreDep,
    context: RequestContextDep,
    media: JsonMediaDep,
) -> Response:
    iri = context.expand_term(attr_name)
    summary = next((a for a in _readable_attributes(access, store) if a.attribute == iri), None)
    if summary is None:
        raise ResourceNotFound(f"no entity has attribute {attr_name!r}", attributeName=attr_name)
    return json_response(
        _attribute(summary, context, with_counts=True), media=media, context=context
    )


def _entity_type(summary: TypeSummary, context: LdContext) -> dict[str, Any]:
    """An EntityType: the type and the names of its attributes, compacted."""
    return {
        "id": summary.type,
        "type": "EntityType",
        "typeName": context.compact_iri(summary.type),
        "attributeNames": sorted(context.compact_iri(name) for name in summary.attributes),
    }


def _attribute(
    summary: AttributeSummary, context: LdContext, *, with_counts: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": summary.attribute,
        "type": "Attribute",
        "attributeName": context.compact_iri(summary.attribute),
    }
    if with_counts:
        body["attributeCount"] = summary.attribute_count
        body["attributeTypes"] = sorted(summary.attribute_types)
    body["typeNames"] = sorted(context.compact_iri(name) for name in summary.types)
    return body
