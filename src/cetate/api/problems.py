"""Every error as an RFC 7807 ``application/problem+json`` body (NGSI-LD ProblemDetails).

Cetate's own errors carry their status and problem type; FastAPI's request validation errors
and Starlette's HTTP errors (404 for unknown paths, 405 …) are mapped onto the same shape, so
a client never sees FastAPI's default ``{"detail": [...]}`` 422 body.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from cetate.errors import (
    NGSI_LD_ERRORS,
    BadRequestData,
    CetateError,
    InvalidRequest,
)

PROBLEM_JSON = "application/problem+json"

logger = logging.getLogger(__name__)


def problem_response(error: CetateError, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=orjson.dumps(error.problem()),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _location(loc: Sequence[Any]) -> tuple[str, str]:
    """(where, name) from a pydantic error location such as ``("query", "limit")``."""
    where = str(loc[0]) if loc else "request"
    name = ".".join(str(part) for part in loc[1:])
    return where, name


def validation_error(exc: RequestValidationError) -> CetateError:
    """FastAPI's validation errors as one InvalidRequest (bad parameters or headers) or
    BadRequestData (bad body content) naming every offending parameter."""
    messages: list[str] = []
    body_error = False
    for item in exc.errors():
        where, name = _location(item.get("loc", ()))
        message = str(item.get("msg", "invalid"))
        if where == "body":
            body_error = True
            messages.append(f"request body{(' ' + name) if name else ''}: {message}")
        else:
            messages.append(f"{where} parameter {name!r}: {message}")
    detail = "; ".join(messages) or "invalid request"
    if body_error:
        return BadRequestData(detail)
    return InvalidRequest(detail)


_HTTP_PROBLEMS: dict[int, tuple[str, str]] = {
    404: (NGSI_LD_ERRORS + "ResourceNotFound", "Resource not found"),
    405: ("urn:cetate:errors:MethodNotAllowed", "Method not allowed"),
}


async def _cetate_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CetateError)
    if exc.status >= 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc.detail)
    return problem_response(exc)


async def _validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_error(exc))


async def _http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    problem_type, title = _HTTP_PROBLEMS.get(
        exc.status_code, ("urn:cetate:errors:HTTPError", "HTTP error")
    )
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    body = {"type": problem_type, "title": title, "status": exc.status_code, "detail": detail}
    return Response(
        content=orjson.dumps(body),
        status_code=exc.status_code,
        media_type=PROBLEM_JSON,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _unexpected_error_handler(request: Request, exc: Exception) -> Response:
    logger.exception("%s %s failed", request.method, request.url.path)
    return problem_response(CetateError("an unexpected error occurred; see the server log"))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CetateError, _cetate_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
