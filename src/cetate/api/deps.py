"""Annotated FastAPI dependencies of the NGSI-LD API: store, services, tenant, principal,
request body and JSON-LD @context, response media type."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

import orjson
from fastapi import Depends, Request

from cetate.auth.principal import ANONYMOUS, OPEN_ACCESS, Principal, require_read, require_write
from cetate.config import Settings
from cetate.entities import EntityService
from cetate.errors import (
    BadRequestData,
    InvalidRequest,
    NonexistentTenant,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from cetate.ngsi.jsonld import CORE_CONTEXT_URL, ContextResolver, LdContext
from cetate.store.base import ContextStore, Tenant

TENANT_HEADER: Final = "NGSILD-Tenant"
JSONLD_CONTEXT_REL: Final = "http://www.w3.org/ns/json-ld#context"
TENANT_NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
MAX_JSON_DEPTH: Final = 100
"""Deepest nesting of arrays and objects accepted in a request body (the body itself is level
1). NGSI-LD payloads need a handful of levels; far deeper documents would exhaust the recursion
of the code that copies, stores and renders them."""

JSON: Final = "application/json"
LD_JSON: Final = "application/ld+json"
GEO_JSON: Final = "application/geo+json"
MERGE_PATCH_JSON: Final = "application/merge-patch+json"

# -- application state ------------------------------------------------------------------------


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> ContextStore:
    store: ContextStore = request.app.state.store
    return store


def get_service(request: Request) -> EntityService:
    service: EntityService = request.app.state.entity_service
    return service


def get_resolver(request: Request) -> ContextResolver:
    resolver: ContextResolver = request.app.state.context_resolver
    return resolver


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ContextStore, Depends(get_store)]
ServiceDep = Annotated[EntityService, Depends(get_service)]
ResolverDep = Annotated[ContextResolver, Depends(get_resolver)]

# -- principal --------------------------------------------------------------------------------


def _session_principal(request: Request, store: ContextStore) -> Principal | None:
    """The principal of a console session cookie, when :mod:`cetate.auth.sessions` offers
    ``principal_from_request(request, store)``."""
    try:
        sessions = importlib.import_module("cetate.auth.sessions")
    except ImportError:
        return None
    finder = getattr(sessions, "principal_from_request", None)
    if finder is None:
        return None
    principal = finder(request, store)
    return principal if isinstance(principal, Principal) else None


def get_principal(request: Request, settings: SettingsDep, store: StoreDep) -> Principal:
    """Open mode: everything allowed. Otherwise a bearer token, else a console session
    cookie, else anonymous (reads public types only)."""
    if settings.open_access:
        return OPEN_ACCESS
    authorization = request.headers.get("authorization")
    if authorization:
        from cetate.auth.tokens import authenticate_token

        return authenticate_token(store, authorization)
    principal = _session_principal(request, store)
    return principal if principal is not None else ANONYMOUS


PrincipalDep = Annotated[Principal, Depends(get_principal)]

# -- tenant -----------------------------------------------------------------------------------


def tenant_name(request: Request, settings: SettingsDep) -> str:
    """The NGSILD-Tenant header, or the default tenant."""
    name = request.headers.get(TENANT_HEADER)
    if name is None or name == "":
        return settings.default_tenant
    if not TENANT_NAME_RE.fullmatch(name):
        raise BadRequestData(
            f"{TENANT_HEADER} {name!r} is not a tenant name: use 1-63 lowercase letters, "
            "digits, '-' and '_', starting with a letter or digit"
        )
    return name


TenantNameDep = Annotated[str, Depends(tenant_name)]


@dataclass(frozen=True, slots=True)
class ReadAccess:
    """An existing tenant and the principal that reads it; :meth:`check` once the entity
    types are known."""

    tenant: Tenant
    principal: Principal

    @property
    def name(self) -> str:
        return self.tenant.name

    def check(self, entity_types: Iterable[str] | None = None) -> None:
        require_read(self.principal, self.tenant, entity_types)

    def readable_types(self) -> frozenset[str] | None:
        """None: every type; a set: only these (anonymous callers see public types only)."""
        if self.principal.role_in(self.tenant.name) is not None:
            return None
        return self.tenant.public_types


def read_access(
    name: TenantNameDep, principal: PrincipalDep, store: StoreDep, settings: SettingsDep
) -> ReadAccess:
    """The tenant to read; 404 NonexistentTenant for an unknown one (the default tenant
    always exists, even before its first write)."""
    tenant = store.get_tenant(name)
    if tenant is None:
        if name != settings.default_tenant:
            raise NonexistentTenant(f"tenant {name!r} does not exist", tenant=name)
        tenant = Tenant(name=name, title=name)
    return ReadAccess(tenant, principal)


ReadAccessDep = Annotated[ReadAccess, Depends(read_access)]


def write_tenant(name: TenantNameDep, principal: PrincipalDep, store: StoreDep) -> str:
    """The tenant to write to, after checking the principal may write there. A tenant the
    principal may write to but which does not exist yet is created (in open mode: on first
    write, as NGSI-LD says)."""
    require_write(principal, name)
    if store.get_tenant(name) is None:
        store.put_tenant(Tenant(name=name, title=name))
    return name


WriteTenantDep = Annotated[str, Depends(write_tenant)]

# -- request body and @context ------------------------------------------------------------------


def _media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def link_context(request: Request) -> str | None:
    """The URL of the JSON-LD context Link header, if any."""
    found: list[str] = []
    for header in request.headers.getlist("link"):
        for part in _split_links(header):
            url, params = _parse_link(part)
            if params.get("rel") == JSONLD_CONTEXT_REL:
                found.append(url)
    if len(found) > 1:
        raise BadRequestData("more than one JSON-LD context Link header")
    return found[0] if found else None


def _split_links(header: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            depth += 1
        elif char == ">" and not quoted:
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _parse_link(text: str) -> tuple[str, dict[str, str]]:
    match = re.match(r"\s*<([^>]*)>\s*(.*)", text)
    if match is None:
        raise BadRequestData(f'malformed Link header {text!r}: expected <url>; rel="..."')
    params: dict[str, str] = {}
    for param in match.group(2).split(";"):
        key, _, value = param.strip().partition("=")
        if key:
            params[key.strip().lower()] = value.strip().strip('"')
    return match.group(1).strip(), params


def get_request_context(request: Request, resolver: ResolverDep) -> LdContext:
    """The @context of a request without a body: the Link header, or the core context."""
    return resolver.resolve(link_context(request))


RequestContextDep = Annotated[LdContext, Depends(get_request_context)]


@dataclass(frozen=True, slots=True)
class Payload:
    """A parsed JSON request body and where its @context comes from."""

    data: Any
    ld_json: bool
    """Content-Type application/ld+json: every object carries its own ``@context``"""
    link: str | None
    """the Link header context (application/json bodies)"""
    resolver: ContextResolver

    def link_context(self) -> LdContext:
        """The resolved @context of the Link header (the core context without one). It
        belongs to the whole request: when it is not available, the request fails."""
        return self.resolver.resolve(self.link)

    def context_for(self, item: Mapping[str, Any]) -> LdContext:
        """The resolved @context of one object of the body."""
        if self.ld_json:
            if "@context" not in item:
                raise BadRequestData(
                    "Content-Type is application/ld+json but the body has no @context: "
                    "add one, or send application/json with a Link header"
                )
            return self.resolver.resolve(item["@context"])
        if "@context" in item:
            raise BadRequestData(
                "@context in a body needs Content-Type application/ld+json; with "
                "application/json send the context in a Link header"
            )
        return self.link_context()

    def object(self) -> dict[str, Any]:
        if not isinstance(self.data, dict):
            raise BadRequestData("the request body must be a JSON object")
        return self.data

    def array(self) -> list[Any]:
        if not isinstance(self.data, list):
            raise BadRequestData("the request body must be a JSON array")
        return self.data


async def read_body(request: Request, settings: SettingsDep) -> bytes:
    """The raw body, refused with 413 past ``settings.max_payload_bytes`` (checked on the
    Content-Length header and again while streaming)."""
    limit = settings.max_payload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"the request body has {declared} bytes; the limit is {limit} "
            "(setting CETATE_MAX_PAYLOAD_BYTES)"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"the request body exceeds {limit} bytes (setting CETATE_MAX_PAYLOAD_BYTES)"
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def get_payload(request: Request, settings: SettingsDep, resolver: ResolverDep) -> Payload:
    media_type = _media_type(request.headers.get("content-type"))
    if media_type not in (JSON, LD_JSON, MERGE_PATCH_JSON):
        raise UnsupportedMediaType(
            f"Content-Type {media_type or '(none)'!r} is not supported: send "
            "application/json (with the @context in a Link header) or application/ld+json "
            "(with the @context in the body)"
        )
    link = link_context(request)
    ld_json = media_type == LD_JSON
    if ld_json and link is not None:
        raise BadRequestData(
            "a JSON-LD context Link header is not allowed with Content-Type "
            "application/ld+json: put the @context in the body"
        )
    body = await read_body(request, settings)
    if not body.strip():
        raise InvalidRequest("the request body is empty; a JSON document is required")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None
    if _nested_deeper_than(data, MAX_JSON_DEPTH):
        raise InvalidRequest(
            f"the request body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels"
        )
    return Payload(data=data, ld_json=ld_json, link=link, resolver=resolver)


def _nested_deeper_than(data: Any, limit: int) -> bool:
    """Whether arrays and objects in ``data`` nest more than ``limit`` levels (iteratively, so
    any depth orjson accepts is measured without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


PayloadDep = Annotated[Payload, Depends(get_payload)]

# -- response media type -----------------------------------------------------------------------

ResponseMedia = Literal["application/json", "application/ld+json", "application/geo+json"]


def _accepted(header: str | None, offered: tuple[ResponseMedia, ...]) -> ResponseMedia:
    if not header or not header.strip():
        return offered[0]
    ranges: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((-quality, index, media.lower()))
    for negative_quality, _, media in sorted(ranges):
        if negative_quality >= 0:
            continue
        if media in ("*/*", "application/*"):
            return offered[0]
        for candidate in offered:
            if media == candidate:
                return candidate
    raise NotAcceptable(
        f"cannot produce any of {header!r}; this resource offers {', '.join(offered)}"
    )


def entity_media(request: Request) -> ResponseMedia:
    """Accept negotiation for entity resources (JSON, JSON-LD, GeoJSON)."""
    return _accepted(request.headers.get("accept"), (JSON, LD_JSON, GEO_JSON))


def json_media(request: Request) -> ResponseMedia:
    """Accept negotiation for other resources (JSON, JSON-LD)."""
    return _accepted(request.headers.get("accept"), (JSON, LD_JSON))


EntityMediaDep = Annotated[ResponseMedia, Depends(entity_media)]
JsonMediaDep = Annotated[ResponseMedia, Depends(json_media)]

__all__ = [
    "CORE_CONTEXT_URL",
    "EntityMediaDep",
    "JsonMediaDep",
    "PayloadDep",
    "PrincipalDep",
    "ReadAccessDep",
    "RequestContextDep",
    "ResolverDep",
    "ServiceDep",
    "SettingsDep",
    "StoreDep",
    "WriteTenantDep",
]
