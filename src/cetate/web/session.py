"""Who uses the console: the session cookie, the selected tenant and language.

Pages depend on :func:`console_context`; without a valid session it raises
:class:`LoginRequired`, which the console turns into a redirect to ``/login`` (or, for htmx
requests, an ``HX-Redirect`` header so the whole page goes there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import Depends, Request

from cetate.api.deps import get_settings, get_store
from cetate.auth.principal import OPEN_ACCESS, Principal
from cetate.auth.sessions import (
    SESSION_COOKIE_NAME,
    SESSION_MAX_AGE,
    SessionCodec,
    authenticate_session,
)
from cetate.config import Settings
from cetate.errors import Unauthenticated
from cetate.store.base import ContextStore, Role, Tenant
from cetate.web.i18n import Catalog, pick_language
from cetate.web.state import ConsoleState, console_state

LANGUAGE_COOKIE: Final = "cetate_lang"
LANGUAGE_MAX_AGE: Final = 365 * 24 * 60 * 60


class LoginRequired(Exception):
    """No valid console session; ``next_path`` is where to come back after login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True, slots=True)
class ConsoleContext:
    """The signed-in user, their tenants and language, for one console request."""

    request: Request
    store: ContextStore
    settings: Settings
    state: ConsoleState
    principal: Principal
    display_name: str
    tenant: Tenant | None
    """the selected tenant; None when the user has a role in none"""
    tenants: list[Tenant]
    """the tenants the user may switch to"""
    lang: str
    t: Catalog
    csrf_token: str

    @property
    def role(self) -> Role | None:
        return None if self.tenant is None else self.principal.role_in(self.tenant.name)

    @property
    def can_write(self) -> bool:
        return self.tenant is not None and self.principal.can_write(self.tenant.name)


def request_language(request: Request) -> str:
    return pick_language(request.cookies.get(LANGUAGE_COOKIE))


def safe_next(path: str | None, default: str = "/") -> str:
    """A local path to redirect to (never another site: no scheme, no ``//``, no ``\\``)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path


def login_url(next_path: str) -> str:
    return "/login" if next_path == "/" else f"/login?next={quote(next_path, safe='/')}"


def current_path(request: Request) -> str:
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


def _tenants(store: ContextStore, names: list[str]) -> list[Tenant]:
    found: list[Tenant] = []
    for name in names:
        tenant = store.get_tenant(name)
        found.append(tenant if tenant is not None else Tenant(name=name, title=name))
    return found


def _open_context(
    request: Request, store: ContextStore, settings: Settings, state: ConsoleState, lang: str
) -> ConsoleContext:
    """``cetate serve --open``: no login; every tenant, the selected one kept in the cookie."""
    codec = state.codec(store, settings)
    cookie = request.cookies.get(SESSION_COOKIE_NAME, "")
    selected: str | None = None
    if cookie:
        try:
            selected = codec.decode(cookie).tenant
        except Unauthenticated:
            selected = None
    tenants = store.list_tenants() or [
        Tenant(name=settings.default_tenant, title=settings.default_tenant)
    ]
    by_name = {t.name: t for t in tenants}
    tenant = by_name.get(selected or "") or by_name.get(settings.default_tenant) or tenants[0]
    return ConsoleContext(
        request=request,
        store=store,
        settings=settings,
        state=state,
        principal=OPEN_ACCESS,
        display_name=OPEN_ACCESS.name,
        tenant=tenant,
        tenants=tenants,
        lang=lang,
        t=Catalog(lang),
        csrf_token=codec.csrf_token(cookie),
    )


def console_context(request: Request) -> ConsoleContext:
    """The context of a console page; :class:`LoginRequired` without a valid session."""
    store = get_store(request)
    settings = get_settings(request)
    state = console_state(request)
    lang = request_language(request)
    if settings.open_access:
        return _open_context(request, store, settings, state, lang)
    cookie = request.cookies.get(SESSION_COOKIE_NAME)
    if not cookie:
        raise LoginRequired(current_path(request))
    codec = state.codec(store, settings)
    try:
        session = authenticate_session(store, codec, cookie)
    except Unauthenticated:
        raise LoginRequired(current_path(request)) from None
    principal = session.principal
    tenants = _tenants(store, principal.tenants())
    names = principal.tenants()
    selected = session.tenant or (names[0] if names else None)
    tenant = next((t for t in tenants if t.name == selected), None)
    user = store.get_user(principal.name)
    return ConsoleContext(
        request=request,
        store=store,
        settings=settings,
        state=state,
        principal=principal,
        display_name=user.display_name if user is not None else principal.name,
        tenant=tenant,
        tenants=tenants,
        lang=lang,
        t=Catalog(lang),
        csrf_token=codec.csrf_token(cookie),
    )


ConsoleContextDep = Annotated[ConsoleContext, Depends(console_context)]


def csrf_ok(context: ConsoleContext, token: str) -> bool:
    """Whether a state-changing form's token belongs to this session."""
    cookie = context.request.cookies.get(SESSION_COOKIE_NAME, "")
    codec = context.state.codec(context.store, context.settings)
    return bool(token) and codec.check_csrf(cookie, token)


def session_cookie_options(request: Request) -> dict[str, object]:
    return {
        "max_age": SESSION_MAX_AGE,
        "httponly": True,
        "samesite": "lax",
        "secure": request.url.scheme == "https",
        "path": "/",
    }


def new_session_cookie(codec: SessionCodec, username: str, tenant: str | None) -> str:
    return codec.encode(username, tenant)
