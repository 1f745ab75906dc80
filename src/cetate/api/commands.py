"""Commands to devices over HTTP, for operators (any role of the tenant reads; operators and
admins send).

* ``POST /api/v1/{tenant}/devices/{device}/commands`` with ``{"name": "dim", "value": 40,
  "expiresIn": "PT5M"}`` (``value`` any JSON up to 16 KiB, default null; ``expiresIn`` an ISO
  8601 duration from PT1S to P7D, default PT5M) → 201 with the command, ``Location`` its URL;
* ``GET /api/v1/{tenant}/devices/{device}/commands`` — the device's commands, newest first
  (``limit`` 1-1000, default 100);
* ``GET /api/v1/{tenant}/commands/{command_id}`` — one command.

Commands are JSON in camelCase: ``id``, ``device``, ``name``, ``value``, ``status``
(pending, delivered, succeeded, failed, expired), ``source``, ``delivery`` (mqtt, http),
``createdAt``, ``expiresAt``, ``updatedAt``, ``deliveredAt``, ``completedAt``, ``result``,
``error``. Every error is a ProblemDetails.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cetate.api.deps import PrincipalDep, StoreDep, read_body
from cetate.api.platform import path_tenant, tenant_to_write
from cetate.api.responses import json_response
from cetate.auth.principal import Principal
from cetate.errors import (
    BadRequestData,
    Forbidden,
    InvalidRequest,
    ResourceNotFound,
    Unauthenticated,
    UnsupportedMediaType,
)
from cetate.ingest.devices.service import DEVICE_KIND
from cetate.ngsi.timestamps import parse_duration
from cetate.reactions.commands.model import command_json
from cetate.reactions.commands.service import DEFAULT_EXPIRY, CommandService

router = APIRouter(tags=["commands"])

_MEMBERS: Final = frozenset({"name", "value", "expiresIn"})


def _require_role(principal: Principal, tenant: str) -> None:
    """Any role in the tenant (viewer, operator, admin) may read commands."""
    if principal.role_in(tenant) is None:
        if not principal.is_authenticated:
            raise Unauthenticated(f"reading commands in tenant {tenant!r} needs credentials")
        raise Forbidden(f"{principal.name} may not read commands in tenant {tenant!r}")


def _service(request: Request) -> CommandService:
    service: CommandService = request.app.state.commands
    return service


CommandsDep = Annotated[CommandService, Depends(_service)]


def _source(principal: Principal) -> str:
    return "api" if principal.kind == "open" else f"api:{principal.name}"


def _parse_request(body: bytes) -> tuple[str, Any, timedelta]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BadRequestData(
            'the request body must be a JSON object {"name", "value", "expiresIn"}'
        )
    unknown = sorted(set(document) - _MEMBERS)
    if unknown:
        raise BadRequestData(
            f"unknown member(s) {', '.join(unknown)}: a command has name, value and expiresIn"
        )
    if "name" not in document:
        raise BadRequestData("the command has no name (member 'name', e.g. \"dim\")")
    expires = document.get("expiresIn")
    if expires is None:
        expires_in = DEFAULT_EXPIRY
    elif isinstance(expires, str):
        try:
            expires_in = parse_duration(expires)
        except InvalidRequest as exc:
            raise BadRequestData(f"expiresIn: {exc.detail}") from None
    else:
        raise BadRequestData(
            f'expiresIn must be an ISO 8601 duration such as "PT5M", not {expires!r}'
        )
    return document["name"], document.get("value"), expires_in


@router.post(
    "/api/v1/{tenant}/devices/{device}/commands",
    summary="Send a command to a device",
    status_code=201,
)
async def send_command(
    tenant: str,
    device: str,
    request: Request,
    principal: PrincipalDep,
    service: CommandsDep,
    body: Annotated[bytes, Depends(read_body)],
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media.lower() not in ("application/json", ""):
        raise UnsupportedMediaType(f"send application/json, not {media!r}")
    command_name, value, expires_in = _parse_request(body)
    command = await run_in_threadpool(
        lambda: service.send(
            name,
            device,
            command_name,
            value,
            expires_in=expires_in,
            source=_source(principal),
        )
    )
    response = json_response(command_json(command), status_code=201)
    response.headers["Location"] = f"/api/v1/{name}/commands/{command.id}"
    return response


@router.get("/api/v1/{tenant}/devices/{device}/commands", summary="A device's commands")
def list_commands(
    tenant: str,
    device: str,
    principal: PrincipalDep,
    service: CommandsDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    name = path_tenant(tenant, explain=False)
    _require_role(principal, name)
    if store.get_record(name, DEVICE_KIND, device) is None:
        raise ResourceNotFound(f"tenant {name!r} has no device {device!r}")
    commands = service.list(name, device=device, limit=limit)
    return json_response([command_json(c) for c in commands])


@router.get("/api/v1/{tenant}/commands/{command_id}", summary="One command")
def get_command(
    tenant: str, command_id: str, principal: PrincipalDep, service: CommandsDep
) -> Response:
    name = path_tenant(tenant, explain=False)
    _require_role(principal, name)
    command = service.get(name, command_id)
    if command is None:
        raise ResourceNotFound(f"tenant {name!r} has no command {command_id!r}")
    return json_response(command_json(command))
