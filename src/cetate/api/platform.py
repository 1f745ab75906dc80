"""Checks shared by the tenant-scoped platform APIs under ``/api/v1/{tenant}/…`` (devices,
commands, rules and alerts, dead letters, the citizens staff API): names taken from the path,
who may read, write or administer the tenant, and JSON-object request bodies. Every refusal
is a ProblemDetails error from :mod:`cetate.errors`."""

from __future__ import annotations

import re
from typing import Any, Final

import orjson
from fastapi import Request

from cetate.api.deps import TENANT_NAME_RE, read_body
from cetate.auth.principal import Principal, require_admin, require_write
from cetate.config import Settings
from cetate.errors import (
    BadRequestData,
    Forbidden,
    InvalidRequest,
    Unauthenticated,
    UnsupportedMediaType,
)

TENANT_NAME_RULE: Final = (
    "use 1-63 lowercase letters, digits, '-' and '_', starting with a letter or digit"
)


def path_name(value: str, pattern: re.Pattern[str], kind: str, rule: str | None = None) -> str:
    """``value`` when ``pattern`` matches all of it; else BadRequestData
    ``'<value>' is not a <kind>``, followed by ``: <rule>`` when a rule is given."""
    if not pattern.fullmatch(value):
        detail = f"{value!r} is not a {kind}"
        raise BadRequestData(detail if rule is None else f"{detail}: {rule}")
    return value


def path_tenant(tenant: str, *, explain: bool = True) -> str:
    """The tenant name of the path; ``explain``: the refusal says what a name looks like."""
    return path_name(tenant, TENANT_NAME_RE, "tenant name", TENANT_NAME_RULE if explain else None)


def tenant_to_read(principal: Principal, tenant: str, *, reading: str) -> str:
    """The path's tenant when the principal has any role in it (viewer, operator, admin).
    ``reading`` names what is read, for the 401 answer: ``"devices in tenant"`` gives
    ``reading devices in tenant 'x' needs credentials``."""
    name = path_tenant(tenant)
    if principal.role_in(name) is None:
        if not principal.is_authenticated:
            raise Unauthenticated(f"reading {reading} {name!r} needs credentials")
        raise Forbidden(f"{principal.name} has no role in tenant {name!r}")
    return name


def tenant_to_write(principal: Principal, tenant: str, *, explain: bool = True) -> str:
    """The path's tenant when the principal may write there (operator, admin)."""
    name = path_tenant(tenant, explain=explain)
    require_write(principal, name)
    return name


def tenant_to_administer(principal: Principal, tenant: str, *, explain: bool = True) -> str:
    """The path's tenant when the principal administers it."""
    name = path_tenant(tenant, explain=explain)
    require_admin(principal, name)
    return name


async def json_object(
    request: Request, *, optional: bool = False, kind: str | None = None
) -> dict[str, Any]:
    """The request body as a JSON object sent as ``application/json`` (within the payload
    limit). ``optional``: an empty body is ``{}``. ``kind`` names what the object is, in the
    refusals (``"rule"``: ``a rule (JSON object) is required``)."""
    settings: Settings = request.app.state.settings
    body = await read_body(request, settings)
    if optional and not body.strip():
        return {}
    media_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type {media_type or '(none)'!r} is not supported: send application/json"
        )
    if not body.strip():
        wanted = "a JSON object" if kind is None else f"a {kind} (JSON object)"
        raise InvalidRequest(f"the request body is empty; {wanted} is required")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        must = "a JSON object" if kind is None else f"a JSON object (a {kind})"
        raise BadRequestData(f"the request body must be {must}")
    return data
