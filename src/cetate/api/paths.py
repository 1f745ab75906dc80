"""URL paths whose parameters may contain ``/``, and the NGSILD-Tenant header echoed back.

Entity ids, type names and attribute names are URIs, and a URI may contain ``/``
(``urn:ngsi-ld:Road:a/b``, ``https://example.org/Road``). Clients send it percent-encoded
(``urn:ngsi-ld:Road:a%2Fb``), but ASGI servers decode the path before routing, so a route
would see an extra segment. :class:`PathSegments` routes on the raw path instead: each segment
is decoded with its ``/`` and ``%`` kept escaped, so a ``{name:segment}`` parameter matches
one segment exactly and :class:`SegmentConvertor` decodes it. ``/entities/{id}/attrs/{attr}``
still routes: only a literal ``/`` separates segments.

Every route parameter of the NGSI-LD API and the console must use ``{name:segment}``; a plain
``{name}`` would receive the escaped form.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote, unquote

from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cetate.api.deps import TENANT_HEADER

_PCHAR_SAFE: Final = ":@!$&'()*+,;="
"""Characters RFC 3986 allows unescaped in a path segment besides the unreserved ones."""

NGSI_LD_PATH: Final = "/ngsi-ld/"


def path_segment(value: str) -> str:
    """``value`` as one percent-encoded URL path segment (``/`` becomes ``%2F``)."""
    return quote(value, safe=_PCHAR_SAFE)


def _escaped_segment(raw: str) -> str:
    return unquote(raw).replace("%", "%25").replace("/", "%2F")


def routing_path(scope: Scope) -> str:
    """The request path decoded segment by segment, with ``%`` and ``/`` inside a segment left
    escaped (what the routes match against)."""
    raw_path = scope.get("raw_path")
    if not raw_path:
        # no raw path to go by: the decoded path, its slashes taken as separators
        return str(scope["path"]).replace("%", "%25")
    return "/".join(_escaped_segment(part) for part in raw_path.decode("latin-1").split("/"))


class SegmentConvertor(Convertor[str]):
    """``{name:segment}``: one path segment of :func:`routing_path`, decoded."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return unquote(value)

    def to_string(self, value: str) -> str:
        return path_segment(value)


register_url_convertor("segment", SegmentConvertor())


class PathSegments:
    """ASGI middleware: routes HTTP requests on :func:`routing_path`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "path": routing_path(scope)}
        await self.app(scope, receive, send)


class EchoTenant:
    """ASGI middleware: an NGSI-LD response carries the ``NGSILD-Tenant`` header of its
    request, when the request named a tenant, as the NGSI-LD standard asks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tenant = _named_tenant(scope)
        if tenant is None:
            await self.app(scope, receive, send)
            return

        async def send_with_tenant(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if TENANT_HEADER not in headers:
                    headers[TENANT_HEADER] = tenant
            await send(message)

        await self.app(scope, receive, send_with_tenant)


def _named_tenant(scope: Scope) -> str | None:
    if scope["type"] != "http" or not str(scope["path"]).startswith(NGSI_LD_PATH):
        return None
    wanted = TENANT_HEADER.lower().encode("latin-1")
    for key, value in scope["headers"]:
        if key.lower() == wanted and value.strip():
            return str(value.decode("latin-1"))
    return None
