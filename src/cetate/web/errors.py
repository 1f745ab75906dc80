"""Errors of console pages as HTML pages in the user's language; the NGSI-LD API, the
console's own JSON (``/console/api/…``) and the platform endpoints keep ProblemDetails.

:func:`install_error_pages` wraps the application's handlers (those of
:mod:`cetate.api.problems`): a request for a console page gets the message page, any other
request goes to the handler that was there before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from cetate.api.problems import validation_error
from cetate.errors import CetateError
from cetate.web.i18n import Catalog
from cetate.web.rendering import render
from cetate.web.session import ConsoleContext, console_context, request_language

log = logging.getLogger(__name__)

Handler = Callable[[Request, Exception], Awaitable[Response]]

NOT_CONSOLE_PREFIXES: Final = ("/ngsi-ld/", "/console/api/", "/static/", "/api/", "/devices/v1/")
NOT_CONSOLE_PATHS: Final = frozenset(
    {"/ngsi-ld", "/health", "/openapi.json", "/docs", "/docs/oauth2-redirect"}
)


def is_console_page(path: str) -> bool:
    """Whether ``path`` is (or would be) a console page, answered in HTML."""
    return path not in NOT_CONSOLE_PATHS and not path.startswith(NOT_CONSOLE_PREFIXES)


def _status_and_detail(exc: Exception) -> tuple[int, str | None, dict[str, str] | None]:
    if isinstance(exc, RequestValidationError):
        problem = validation_error(exc)
        return problem.status, problem.detail, None
    if isinstance(exc, CetateError):
        return exc.status, exc.detail, None
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return exc.status_code, None, headers


def _message_key(status: int) -> str:
    if status == 404:
        return "error.not_found"
    if status >= 500:
        return "error.server"
    return "error.bad_request"


def _signed_in_context(request: Request) -> ConsoleContext | None:
    """The console context when the request has a valid session (the page then shows the
    navigation), else None."""
    try:
        return console_context(request)
    except Exception:
        return None


async def error_page(request: Request, exc: Exception) -> Response:
    """The message page for an error on a console page."""
    status, detail, headers = _status_and_detail(exc)
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, detail)
    context = await run_in_threadpool(_signed_in_context, request)
    t = context.t if context is not None else Catalog(request_language(request))
    return render(
        request,
        "console/message.html",
        context,
        status_code=status,
        headers=headers,
        title=t("error.title"),
        message=t(_message_key(status)),
        detail=detail,
        back_url="/",
        back_label=t("error.home"),
    )


def _console_or(previous: Handler | None) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if previous is None or is_console_page(request.url.path):
            return await error_page(request, exc)
        return await previous(request, exc)

    return handle


def install_error_pages(app: FastAPI) -> None:
    """Console pages answer unknown paths, bad parameters and errors with an HTML page."""
    for exc_class in (StarletteHTTPException, RequestValidationError, CetateError):
        previous = app.exception_handlers.get(exc_class)
        app.add_exception_handler(exc_class, _console_or(previous))  # type: ignore[arg-type]
