"""The staff API of the citizens domain (JSON, ProblemDetails errors), per tenant:

* ``GET /api/v1/{tenant}/citizens/requests/{id}`` — a report with its workflow status and the
  reporter's contact data (operators and admins);
* ``POST /api/v1/{tenant}/citizens/requests/{id}/status`` — move it through the workflow:
  ``{"status": "acknowledged" | "in_progress" | "resolved" | "closed" | "rejected" | "reopen",
  "note": "public note", "reason": "why (required to reject)"}``; an illegal move is 409;
* ``GET|POST /api/v1/{tenant}/citizens/api-keys`` and
  ``DELETE /api/v1/{tenant}/citizens/api-keys/{key_id}`` — the tenant's Open311 app keys
  (admins; the key itself is shown once, in the POST answer).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cetate.api.deps import TENANT_NAME_RE, PayloadDep, PrincipalDep
from cetate.api.responses import json_response
from cetate.auth.principal import Principal, require_admin, require_write
from cetate.domains.citizens.api_keys import issue_key, list_keys, revoke_key
from cetate.domains.citizens.runtime import get_runtime
from cetate.errors import BadRequestData

router = APIRouter(tags=["citizens"])


def _tenant(tenant: str) -> str:
    if not TENANT_NAME_RE.fullmatch(tenant):
        raise BadRequestData(f"{tenant!r} is not a tenant name")
    return tenant


def _writer(principal: Principal, tenant: str) -> str:
    name = _tenant(tenant)
    require_write(principal, name)
    return name


def _admin(principal: Principal, tenant: str) -> str:
    name = _tenant(tenant)
    require_admin(principal, name)
    return name


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequestData(f"{name} must be a string")
    return value.strip() or None


@router.get("/api/v1/{tenant}/citizens/requests/{request_id}", summary="A report, for staff")
async def staff_request(
    tenant: str, request_id: str, principal: PrincipalDep, request: Request
) -> Response:
    name = _writer(principal, tenant)
    runtime = get_runtime(request)
    return json_response(await run_in_threadpool(runtime.reports.staff_view, name, request_id))


@router.post(
    "/api/v1/{tenant}/citizens/requests/{request_id}/status",
    summary="Move a report through the workflow",
)
async def change_status(
    tenant: str, request_id: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = _writer(principal, tenant)
    body = payload.object()
    status = body.get("status")
    if not isinstance(status, str) or not status.strip():
        raise BadRequestData("status is required: the status the report moves to")
    runtime = get_runtime(request)
    view = await run_in_threadpool(
        lambda: runtime.reports.change_status(
            name,
            request_id,
            status.strip(),
            note=_optional_text(body, "note"),
            reason=_optional_text(body, "reason"),
        )
    )
    return json_response(view)


@router.get("/api/v1/{tenant}/citizens/api-keys", summary="The tenant's Open311 app keys")
async def api_keys(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = _admin(principal, tenant)
    runtime = get_runtime(request)
    keys = await run_in_threadpool(list_keys, runtime.store, name)
    return json_response([key.as_json() for key in keys])


@router.post("/api/v1/{tenant}/citizens/api-keys", summary="Issue an Open311 app key")
async def new_api_key(
    tenant: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = _admin(principal, tenant)
    label = payload.object().get("label")
    if not isinstance(label, str):
        raise BadRequestData("label is required: who uses the key")
    runtime = get_runtime(request)
    key, secret = await run_in_threadpool(issue_key, runtime.store, name, label)
    return json_response({**key.as_json(), "apiKey": secret}, status_code=201)


@router.delete("/api/v1/{tenant}/citizens/api-keys/{key_id}", summary="Revoke an app key")
async def delete_api_key(
    tenant: str, key_id: str, principal: PrincipalDep, request: Request
) -> Response:
    name = _admin(principal, tenant)
    runtime = get_runtime(request)
    key = await run_in_threadpool(revoke_key, runtime.store, name, key_id)
    return json_response(key.as_json())
