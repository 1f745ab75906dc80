"""The staff API of the citizens domain (JSON, ProblemDetails errors), per tenant:

* ``GET /api/v1/{tenant}/citizens/requests/{id}`` — a report with its workflow status and the
  reporter's contact data (operators and admins);
* ``POST /api/v1/{tenant}/citizens/requests/{id}/status`` — move it through the workflow:
  ``{"status": "acknowledged" | "in_progress" | "resolved" | "closed" | "rejected" | "reopen",
  "note": "public note", "reason": "why (required to reject)"}``; an illegal move is 409;
* ``GET /api/v1/{tenant}/citizens/requests`` — reports for staff, with ``status`` (workflow
  statuses, comma list), ``department``, ``assignee``, ``overdue=true|false``,
  ``moderation=pending|approved|rejected``, ``page``,
  ``page_size``; total in ``X-Total-Count``;
* ``POST …/requests/{id}/department`` ``{"department": "roads"}`` — route to a department;
* ``POST …/requests/{id}/assign`` ``{"assignee": "maria"}`` (``null`` unassigns);
* ``POST …/requests/{id}/comments`` ``{"text": "…"}`` — internal comment;
* ``POST …/requests/{id}/updates`` ``{"note": "…"}`` — public update;
* ``POST …/requests/{id}/merge`` ``{"into": "12"}`` (default: the likely original) and
  ``POST …/requests/{id}/split`` — duplicates;
* ``POST …/requests/{id}/moderation`` ``{"decision": "approve" | "reject", "reason": "…",
  "description": "redacted text"}`` — a moderator's decision (see
  :mod:`~cetate.domains.citizens.moderation`);
* ``GET /api/v1/{tenant}/citizens/departments`` — the tenant's departments;
* ``GET /api/v1/{tenant}/citizens/track/{token}`` — the public tracking data (no
  credentials: the token is the secret);
* ``GET|POST /api/v1/{tenant}/citizens/api-keys`` and
  ``DELETE /api/v1/{tenant}/citizens/api-keys/{key_id}`` — the tenant's Open311 app keys
  (admins; the key itself is shown once, in the POST answer).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from cetate.api.deps import PayloadDep, PrincipalDep
from cetate.api.platform import path_tenant, tenant_to_administer, tenant_to_write
from cetate.api.responses import json_response
from cetate.auth.principal import Principal
from cetate.domains.citizens import desk, duplicates
from cetate.domains.citizens.api_keys import issue_key, list_keys, revoke_key
from cetate.domains.citizens.audit import record_action
from cetate.domains.citizens.config import pick
from cetate.domains.citizens.runtime import get_runtime
from cetate.domains.citizens.tracking import track
from cetate.errors import BadRequestData

router = APIRouter(tags=["citizens"])


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
    name = tenant_to_write(principal, tenant, explain=False)
    runtime = get_runtime(request)
    view = await run_in_threadpool(runtime.reports.staff_view, name, request_id)
    await _audit(request, principal, name, "view", request_id)
    return json_response(view)


@router.post(
    "/api/v1/{tenant}/citizens/requests/{request_id}/status",
    summary="Move a report through the workflow",
)
async def change_status(
    tenant: str, request_id: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
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
            author=principal.name,
            tracking_base=_tracking_base(request, name),
        )
    )
    await _audit(request, principal, name, "status", request_id, {"status": status.strip()})
    return json_response(view)


async def _audit(
    request: Request,
    principal: Principal,
    tenant: str,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Log a staff action in the audit log (:mod:`.audit`)."""
    runtime = get_runtime(request)
    await run_in_threadpool(
        lambda: record_action(
            runtime.store,
            tenant,
            actor=principal.name,
            action=action,
            target=target,
            at=runtime.reports.clock(),
            details=details,
        )
    )


def _tracking_base(request: Request, tenant: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/v1/{tenant}/citizens/track"


def _required_text(body: dict[str, Any], name: str, what: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequestData(f"{name} is required: {what}")
    return value


def _query_bool(request: Request, name: str) -> bool | None:
    text = request.query_params.get(name)
    if text is None or not text.strip():
        return None
    if text.strip().lower() in ("true", "1", "yes"):
        return True
    if text.strip().lower() in ("false", "0", "no"):
        return False
    raise BadRequestData(f"{name} {text!r} must be true or false")


def _query_int(request: Request, name: str, default: int, maximum: int) -> int:
    text = request.query_params.get(name)
    if text is None or not text.strip():
        return default
    if not text.strip().isdigit() or not 1 <= int(text) <= maximum:
        raise BadRequestData(f"{name} {text!r} must be a whole number from 1 to {maximum}")
    return int(text)


@router.get("/api/v1/{tenant}/citizens/requests", summary="Reports, for staff")
async def staff_requests(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    runtime = get_runtime(request)
    where = desk.StaffFilter(
        statuses=desk.parse_statuses(request.query_params.get("status")),
        department=request.query_params.get("department") or None,
        assignee=request.query_params.get("assignee") or None,
        overdue=_query_bool(request, "overdue"),
        moderation=request.query_params.get("moderation") or None,
        page=_query_int(request, "page", 1, 1_000_000),
        page_size=_query_int(request, "page_size", 100, runtime.config.limits.max_page_size),
    )
    rows, total = await run_in_threadpool(desk.list_reports, runtime.reports, name, where)
    response = json_response(rows)
    response.headers["X-Total-Count"] = str(total)
    return response


@router.post(
    "/api/v1/{tenant}/citizens/requests/{request_id}/department",
    summary="Route a report to a department",
)
async def reroute(
    tenant: str, request_id: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    department = _required_text(payload.object(), "department", "the department's id").strip()
    runtime = get_runtime(request)
    view = await run_in_threadpool(
        desk.reroute, runtime.reports, name, request_id, department, principal.name
    )
    await _audit(request, principal, name, "department", request_id, {"department": department})
    return json_response(view)


@router.post(
    "/api/v1/{tenant}/citizens/requests/{request_id}/assign",
    summary="Assign a report to a staff member",
)
async def assign(
    tenant: str, request_id: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    body = payload.object()
    if "assignee" not in body:
        raise BadRequestData("assignee is required: a user name, or null to unassign")
    assignee = body["assignee"]
    if assignee is not None and (not isinstance(assignee, str) or not assignee.strip()):
        raise BadRequestData("assignee must be a user name or null")
    runtime = get_runtime(request)
    view = await run_in_threadpool(
        desk.assign,
        runtime.reports,
        name,
        request_id,
        assignee.strip() if isinstance(assignee, str) else None,
        principal.name,
    )
    await _audit(request, principal, name, "assign", request_id, {"assignee": assignee})
    return json_response(view)


@router.post(
    "/api/v1/{tenant}/citizens/requests/{request_id}/comments",
    summary="Add an internal comment (staff only)",
)
async def add_comment(
    tenant: str, request_id: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    text = _required_text(payload.object(), "text", "the comment")
    runtime = get_runtime(request)
    view = await run_in_threadpool(
        desk.comment, runtime.reports, name, request_id, text, principal.name
    )
    await _audit(request, principal, name, "comment", request_id)
    return json_response(view, status_code=201)


@router.post(
    "/api/v1/{tenant}/citizens/requests/{request_id}/updates",
    summary="Post a public update",
)
async def add_update(
    tenant: str, request_id: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    note = _required_text(payload.object(), "note", "the public note")
    runtime = get_runtime(request)
    view = await run_in_threadpool(
        desk.public_update, runtime.reports, name, request_id, note, principal.name
    )
    await _audit(request, principal, name, "update", request_id)
    return json_response(view, status_code=201)


@router.post(
    "/api/v1/{tenant}/citizens/requests/{request_id}/merge",
    summary="Merge a duplicate into the original report",
)
async def merge(
    tenant: str, request_id: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    into = payload.object().get("into")
    if into is not None and (not isinstance(into, str | int) or isinstance(into, bool)):
        raise BadRequestData("into must be a service request id")
    runtime = get_runtime(request)
    view = await run_in_threadpool(
        lambda: duplicates.merge(
            runtime.reports,
            name,
            request_id,
            None if into is None else str(into).strip(),
            author=principal.name,
            tracking_base=_tracking_base(request, name),
        )
    )
    await _audit(request, principal, name, "merge", request_id, {"into": into})
    return json_response(view)


@router.post(
    "/api/v1/{tenant}/citizens/requests/{request_id}/split",
    summary="Split a duplicate off (undo the link or the merge)",
)
async def split(
    tenant: str, request_id: str, principal: PrincipalDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    runtime = get_runtime(request)
    view = await run_in_threadpool(
        lambda: duplicates.split(
            runtime.reports,
            name,
            request_id,
            author=principal.name,
            tracking_base=_tracking_base(request, name),
        )
    )
    await _audit(request, principal, name, "split", request_id)
    return json_response(view)


@router.get("/api/v1/{tenant}/citizens/departments", summary="The tenant's departments")
async def departments(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    runtime = get_runtime(request)
    lang = runtime.config.default_language
    return json_response(
        [
            {
                "id": d.id,
                "name": dict(d.name),
                "label": pick(d.name, lang),
                "email": d.email,
                "categories": sorted(d.categories),
                "area": d.area,
            }
            for d in runtime.config.departments_for(name)
        ]
    )


@router.get("/api/v1/{tenant}/citizens/track/{token}", summary="Track a report (public)")
async def tracking(tenant: str, token: str, request: Request) -> Response:
    name = path_tenant(tenant, explain=False)
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:
        # a person following the e-mail's link in a browser gets the tracking page
        return RedirectResponse(f"/city/{quote(name)}/track/{quote(token)}", status_code=303)
    runtime = get_runtime(request)
    return json_response(await run_in_threadpool(track, runtime.reports, name, token))


@router.get("/api/v1/{tenant}/citizens/api-keys", summary="The tenant's Open311 app keys")
async def api_keys(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = tenant_to_administer(principal, tenant, explain=False)
    runtime = get_runtime(request)
    keys = await run_in_threadpool(list_keys, runtime.store, name)
    return json_response([key.as_json() for key in keys])


@router.post("/api/v1/{tenant}/citizens/api-keys", summary="Issue an Open311 app key")
async def new_api_key(
    tenant: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = tenant_to_administer(principal, tenant, explain=False)
    label = payload.object().get("label")
    if not isinstance(label, str):
        raise BadRequestData("label is required: who uses the key")
    runtime = get_runtime(request)
    key, secret = await run_in_threadpool(issue_key, runtime.store, name, label)
    await _audit(request, principal, name, "api-key.issue", key.key_id)
    return json_response({**key.as_json(), "apiKey": secret}, status_code=201)


@router.delete("/api/v1/{tenant}/citizens/api-keys/{key_id}", summary="Revoke an app key")
async def delete_api_key(
    tenant: str, key_id: str, principal: PrincipalDep, request: Request
) -> Response:
    name = tenant_to_administer(principal, tenant, explain=False)
    runtime = get_runtime(request)
    key = await run_in_threadpool(revoke_key, runtime.store, name, key_id)
    await _audit(request, principal, name, "api-key.revoke", key_id)
    return json_response(key.as_json())


@router.post(
    "/api/v1/{tenant}/citizens/requests/{request_id}/moderation",
    summary="Approve or reject a report waiting for a moderator",
)
async def moderate(
    tenant: str, request_id: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    body = payload.object()
    decision = _required_text(body, "decision", "approve or reject").strip()
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise BadRequestData("description must be a string (the text to publish)")
    runtime = get_runtime(request)
    view = await run_in_threadpool(
        lambda: desk.moderate(
            runtime.reports,
            name,
            request_id,
            decision,
            principal.name,
            reason=_optional_text(body, "reason"),
            description=description,
            tracking_base=_tracking_base(request, name),
        )
    )
    await _audit(request, principal, name, "moderation", request_id, {"decision": decision})
    return json_response(view)
