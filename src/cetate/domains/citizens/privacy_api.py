"""The reporters' rights and the audit log, in the staff API (admins of the tenant only):

* ``GET /api/v1/{tenant}/citizens/gdpr/export?email=…`` (or ``?service_request_id=…``) —
  the reporter's personal data and reports as JSON;
* ``POST /api/v1/{tenant}/citizens/gdpr/erase`` ``{"email": "…"}`` or
  ``{"service_request_id": "17"}`` — erase it (the reports stay; see :mod:`.gdpr`);
* ``GET /api/v1/{tenant}/citizens/audit?page=1&page_size=100`` — the audit log of staff
  actions, oldest first (:mod:`.audit`).

Exports and erasures are logged in the audit log themselves (by request id, never the
address).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from cetate.api.deps import PayloadDep, PrincipalDep
from cetate.api.platform import tenant_to_administer
from cetate.api.responses import json_response
from cetate.domains.citizens import gdpr
from cetate.domains.citizens.audit import list_actions
from cetate.domains.citizens.runtime import get_runtime
from cetate.domains.citizens.staff_api import _audit, _query_int
from cetate.errors import BadRequestData

router = APIRouter(tags=["citizens"])


def _who(values: Any) -> tuple[str | None, str | None]:
    email, request_id = values.get("email"), values.get("service_request_id")
    if email is not None and not isinstance(email, str):
        raise BadRequestData("email must be a string")
    if request_id is not None and not isinstance(request_id, str | int):
        raise BadRequestData("service_request_id must be a service request id")
    if not email and not request_id:
        raise BadRequestData("give the reporter's email or a service_request_id")
    return (email or None), (None if request_id in (None, "") else str(request_id).strip())


@router.get("/api/v1/{tenant}/citizens/gdpr/export", summary="Export a reporter's data")
async def export(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = tenant_to_administer(principal, tenant, explain=False)
    email, request_id = _who(request.query_params)
    runtime = get_runtime(request)
    data = await run_in_threadpool(
        lambda: gdpr.export_personal_data(runtime.reports, name, email=email, request_id=request_id)
    )
    ids = [r["service_request_id"] for r in data["reports"]]
    await _audit(request, principal, name, "gdpr.export", ",".join(ids))
    return json_response(data)


@router.post("/api/v1/{tenant}/citizens/gdpr/erase", summary="Erase a reporter's data")
async def erase(
    tenant: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = tenant_to_administer(principal, tenant, explain=False)
    email, request_id = _who(payload.object())
    runtime = get_runtime(request)
    done = await run_in_threadpool(
        lambda: gdpr.erase_personal_data(runtime.reports, name, email=email, request_id=request_id)
    )
    ids = [str(r["service_request_id"]) for r in done]
    await _audit(request, principal, name, "gdpr.erase", ",".join(ids))
    return json_response({"erased": done})


@router.get("/api/v1/{tenant}/citizens/audit", summary="The audit log of staff actions")
async def audit_log(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = tenant_to_administer(principal, tenant, explain=False)
    page = _query_int(request, "page", 1, 1_000_000)
    size = _query_int(request, "page_size", 100, 1000)
    runtime = get_runtime(request)
    rows = await run_in_threadpool(
        lambda: list_actions(runtime.store, name, limit=size, offset=(page - 1) * size)
    )
    return json_response(rows)
