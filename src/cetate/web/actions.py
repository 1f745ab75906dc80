"""What the console pages (entities, and the operations pages: devices, dead letters, rules,
alerts) share: the message page, the checks every state-changing form passes (a tenant, the
operator or admin role, the CSRF token), the services kept on ``app.state`` and the "not
available" answer for a service this server does not provide yet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from fastapi.responses import HTMLResponse, RedirectResponse

from cetate.web.rendering import render
from cetate.web.session import ConsoleContext, csrf_ok

T = TypeVar("T")

NO_STORE: Final = {"Cache-Control": "no-store"}
"""Pages that show a secret must not be kept by the browser or a proxy."""


class Unavailable(Exception):
    """A service of this server is not implemented (it raised NotImplementedError)."""


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def message_page(
    context: ConsoleContext,
    status_code: int,
    title_key: str,
    message: str,
    **values: Any,
) -> HTMLResponse:
    """The message page: a title (a catalog key) and one message."""
    return render(
        context.request,
        "console/message.html",
        context,
        status_code=status_code,
        title=context.t(title_key),
        message=message,
        **values,
    )


def no_tenant(context: ConsoleContext) -> HTMLResponse:
    return message_page(context, 403, "tenant.label", context.t("tenant.none"))


def unavailable_page(context: ConsoleContext, title_key: str) -> HTMLResponse:
    return message_page(context, 503, title_key, context.t("ops.unavailable"))


def read_only(context: ConsoleContext) -> HTMLResponse:
    return message_page(context, 403, "error.title", context.t("ops.read_only"))


def cannot_write(context: ConsoleContext) -> HTMLResponse | None:
    """Why this session may not open a form that changes data (an HTML answer), or None when
    it may: the user has a tenant and is an operator or admin there."""
    if context.tenant is None:
        return no_tenant(context)
    if not context.can_write:
        return read_only(context)
    return None


def refused(context: ConsoleContext, csrf: str) -> HTMLResponse | None:
    """Why a state-changing form of this session may not run (an HTML answer), or None when
    it may: the user has a tenant, is an operator or admin there, and the CSRF token is this
    session's."""
    if context.tenant is None:
        return no_tenant(context)
    if not csrf_ok(context, csrf):
        return message_page(context, 403, "error.title", context.t("form.expired"))
    if not context.can_write:
        return read_only(context)
    return None


def confirm_page(
    context: ConsoleContext,
    *,
    title: str,
    question: str,
    action: str,
    submit: str,
    cancel_url: str,
) -> HTMLResponse:
    """The page that asks before a change that cannot be undone: ``question``, a form that
    posts ``confirm=yes`` to ``action`` (button ``submit``) and a link back to
    ``cancel_url``."""
    return render(
        context.request,
        "console/confirm.html",
        context,
        title=title,
        question=question,
        action=action,
        submit=submit,
        cancel_url=cancel_url,
    )


def service(context: ConsoleContext, name: str) -> Any:
    """A service the application keeps at ``app.state.<name>``."""
    return getattr(context.request.app.state, name)


def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, with NotImplementedError turned into
    :class:`Unavailable`."""
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise Unavailable(getattr(function, "__qualname__", repr(function))) from None


def tenant_name(context: ConsoleContext) -> str:
    """The selected tenant's name (callers have checked there is one)."""
    assert context.tenant is not None
    return context.tenant.name
