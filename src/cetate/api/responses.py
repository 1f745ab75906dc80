"""JSON responses of the NGSI-LD API, serialised with orjson, with the @context either in a
Link header (application/json) or in the body (application/ld+json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson
from starlette.responses import Response

from cetate.api.deps import GEO_JSON, JSONLD_CONTEXT_REL, LD_JSON, ResponseMedia
from cetate.ngsi.jsonld import CORE_CONTEXT_URL, LdContext

RESULTS_COUNT_HEADER: Final = "NGSILD-Results-Count"


def context_url(context: LdContext) -> str:
    """The URL to name in a Link header: the client's own context URL when it sent one,
    else the core context."""
    source = context.source
    if source and isinstance(source[0], str):
        return source[0]
    return CORE_CONTEXT_URL


def context_link(context: LdContext) -> str:
    return f'<{context_url(context)}>; rel="{JSONLD_CONTEXT_REL}"; type="application/ld+json"'


def body_context(context: LdContext) -> Any:
    """The value of ``@context`` in a JSON-LD body."""
    source = list(context.source)
    return source[0] if len(source) == 1 else source


def json_response(
    content: Any,
    *,
    status_code: int = 200,
    media: ResponseMedia = "application/json",
    context: LdContext | None = None,
    headers: Mapping[str, str] | None = None,
    links: list[str] | None = None,
) -> Response:
    """``content`` as JSON. With a context: for JSON-LD it is added to every object of the
    body, for JSON (and GeoJSON) a Link header names it."""
    link_values = list(links or [])
    if context is not None:
        if media == LD_JSON:
            content = _with_context(content, body_context(context))
        else:
            link_values.insert(0, context_link(context))
    response = Response(
        content=orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS),
        status_code=status_code,
        media_type=media if media != GEO_JSON else GEO_JSON,
        headers=dict(headers or {}),
    )
    for value in link_values:
        response.headers.append("Link", value)
    return response


def _with_context(content: Any, context_value: Any) -> Any:
    if isinstance(content, dict):
        return {**content, "@context": context_value}
    if isinstance(content, list):
        return [_with_context(item, context_value) for item in content]
    return content


def no_content(headers: Mapping[str, str] | None = None) -> Response:
    return Response(status_code=204, headers=dict(headers or {}))
