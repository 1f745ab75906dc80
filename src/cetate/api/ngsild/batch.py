"""``/ngsi-ld/v1/entityOperations``: batch create, upsert, update and delete (§6.14-§6.17).

Each entity is handled on its own: the good ones are stored, the bad ones are reported in a
207 BatchOperationResult ``{"success": [ids], "errors": [{"entityId", "error"}]}``. What is
wrong with the request as a whole (its body, options, tenant, or the @context of its Link
header) fails it with one ProblemDetails, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from cetate.api.deps import PayloadDep, ServiceDep, SettingsDep, WriteTenantDep
from cetate.api.ngsild.common import API_PREFIX
from cetate.api.params import check_entity_id, parse_options
from cetate.api.responses import json_response, no_content
from cetate.config import Settings
from cetate.entities import BatchError, BatchResult
from cetate.errors import BadRequestData, CetateError, PayloadTooLarge
from cetate.ngsi.model import EntityDoc
from cetate.ngsi.representation import expand_attributes, expand_entity

router = APIRouter(prefix=f"{API_PREFIX}/entityOperations", tags=["NGSI-LD batch operations"])


def _items(payload: PayloadDep, settings: Settings) -> list[Any]:
    items = payload.array()
    if not items:
        raise BadRequestData("the batch is empty: send a JSON array of entities")
    if len(items) > settings.max_batch_entities:
        raise PayloadTooLarge(
            f"the batch has {len(items)} entities; at most {settings.max_batch_entities} are "
            "accepted in one request (setting CETATE_MAX_BATCH_ENTITIES)"
        )
    return items


def _raw_id(item: Any) -> str:
    if isinstance(item, dict):
        value = item.get("id")
        if isinstance(value, str):
            return value
    return ""


def _expand_all(
    payload: PayloadDep, items: list[Any], expand: Callable[[dict[str, Any]], EntityDoc]
) -> tuple[list[EntityDoc], list[BatchError]]:
    if not payload.ld_json:
        payload.link_context()  # the request's own @context: unavailable fails the request
    good: list[EntityDoc] = []
    bad: list[BatchError] = []
    for item in items:
        try:
            if not isinstance(item, dict):
                raise BadRequestData("every element of the batch must be a JSON object")
            good.append(expand(item))
        except CetateError as error:
            bad.append(BatchError(_raw_id(item), error))
    return good, bad


def _expand_entity(payload: PayloadDep) -> Callable[[dict[str, Any]], EntityDoc]:
    def expand(item: dict[str, Any]) -> EntityDoc:
        return expand_entity(item, payload.context_for(item))

    return expand


def _expand_fragment(payload: PayloadDep) -> Callable[[dict[str, Any]], EntityDoc]:
    """For batch update: an id and attributes (the type may be left out)."""

    def expand(item: dict[str, Any]) -> EntityDoc:
        entity_id = item.get("id")
        if not isinstance(entity_id, str):
            raise BadRequestData("the entity has no id")
        check_entity_id(entity_id)
        context = payload.context_for(item)
        entity: EntityDoc = {"id": entity_id}
        if "type" in item:
            entity = expand_entity(item, context)
            return entity
        entity.update(expand_attributes(item, context))
        return entity

    return expand


def _result_body(result: BatchResult, rejected: list[BatchError]) -> dict[str, Any]:
    return {
        "success": result.success,
        "errors": [
            {"entityId": error.entity_id, "error": error.error.problem()}
            for error in [*rejected, *result.errors]
        ],
    }


@router.post("/create", status_code=201, summary="Create entities in a batch")
def batch_create(
    payload: PayloadDep, tenant: WriteTenantDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    good, rejected = _expand_all(payload, _items(payload, settings), _expand_entity(payload))
    result = service.batch_create(tenant, good) if good else BatchResult()
    if rejected or result.errors:
        return json_response(_result_body(result, rejected), status_code=207)
    return json_response(result.success, status_code=201)


@router.post("/upsert", status_code=201, summary="Create or replace/update entities in a batch")
def batch_upsert(
    payload: PayloadDep,
    tenant: WriteTenantDep,
    service: ServiceDep,
    settings: SettingsDep,
    options: Annotated[str | None, Query(description="replace (default) or update")] = None,
) -> Response:
    option_set = parse_options(options, {"replace", "update"})
    if option_set == {"replace", "update"}:
        raise BadRequestData("options replace and update exclude each other")
    mode: Literal["replace", "update"] = "update" if "update" in option_set else "replace"
    good, rejected = _expand_all(payload, _items(payload, settings), _expand_entity(payload))
    result = service.batch_upsert(tenant, good, mode=mode) if good else BatchResult()
    if rejected or result.errors:
        return json_response(_result_body(result, rejected), status_code=207)
    if result.created:
        return json_response(result.created, status_code=201)
    return no_content()


@router.post("/update", status_code=204, summary="Update attributes of entities in a batch")
def batch_update(
    payload: PayloadDep,
    tenant: WriteTenantDep,
    service: ServiceDep,
    settings: SettingsDep,
    options: Annotated[str | None, Query(description="noOverwrite")] = None,
) -> Response:
    option_set = parse_options(options, {"noOverwrite"})
    good, rejected = _expand_all(payload, _items(payload, settings), _expand_fragment(payload))
    result = (
        service.batch_update(tenant, good, overwrite="noOverwrite" not in option_set)
        if good
        else BatchResult()
    )
    if rejected or result.errors:
        return json_response(_result_body(result, rejected), status_code=207)
    return no_content()


@router.post("/delete", status_code=204, summary="Delete entities in a batch")
def batch_delete(
    payload: PayloadDep, tenant: WriteTenantDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    ids: list[str] = []
    rejected: list[BatchError] = []
    for item in _items(payload, settings):
        try:
            if not isinstance(item, str):
                raise BadRequestData("the delete batch is a JSON array of entity ids (strings)")
            ids.append(check_entity_id(item))
        except CetateError as error:
            rejected.append(BatchError(item if isinstance(item, str) else "", error))
    result = service.batch_delete(tenant, ids) if ids else BatchResult()
    if rejected or result.errors:
        return json_response(_result_body(result, rejected), status_code=207)
    return no_content()
