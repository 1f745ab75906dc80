"""Rendering console pages inside the shell layout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from cetate.web.i18n import LANGUAGE_NAMES, LANGUAGES, Catalog, load_catalog
from cetate.web.registry import NavEntry
from cetate.web.session import ConsoleContext, current_path, request_language
from cetate.web.state import console_state


def _core_entry(path: str, key: str, icon: str) -> NavEntry:
    return NavEntry(path=path, labels={c: load_catalog(c)[key] for c in LANGUAGES}, icon=icon)


CORE_NAV = (
    _core_entry("/", "nav.home", "⌂"),
    _core_entry("/entities", "nav.entities", "☰"),
    _core_entry("/map", "nav.map", "◉"),
    _core_entry("/devices", "nav.devices", "⌁"),
    _core_entry("/dead-letters", "nav.dead_letters", "✉"),
    _core_entry("/rules", "nav.rules", "⚙"),
    _core_entry("/alerts", "nav.alerts", "⚠"),
)


@dataclass(frozen=True, slots=True)
class NavLink:
    path: str
    label: str
    icon: str
    current: bool


def _is_current(entry_path: str, path: str) -> bool:
    if entry_path == "/":
        return path == "/"
    return path == entry_path or path.startswith(entry_path.rstrip("/") + "/")


def nav_links(request: Request, lang: str) -> list[NavLink]:
    entries = list(CORE_NAV) + console_state(request).registry.nav_entries()
    path = request.url.path
    return [
        NavLink(path=e.path, label=e.label(lang), icon=e.icon, current=_is_current(e.path, path))
        for e in entries
    ]


def translator(request: Request, lang: str) -> Any:
    """``t(key, **values)`` for templates: domain messages, then the console catalog."""
    catalog = Catalog(lang)
    extra = console_state(request).registry.messages(lang)
    extra_en = console_state(request).registry.messages("en") if lang != "en" else {}

    def t(key: str, **values: object) -> str:
        message = extra.get(key) or extra_en.get(key)
        if message is None:
            return catalog.text(key, **values)
        return message.format(**values) if values else message

    return t


def render(
    request: Request,
    template: str,
    context: ConsoleContext | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """A template rendered with the shell's variables: ``t``, ``lang``, ``console`` (the
    :class:`ConsoleContext`, None on the login page), ``nav``, ``languages``, ``here``."""
    lang = context.lang if context is not None else request_language(request)
    env = console_state(request).env
    html = env.get_template(template).render(
        request=request,
        console=context,
        lang=lang,
        t=translator(request, lang),
        nav=nav_links(request, lang) if context is not None else [],
        languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        here=current_path(request),
        **values,
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
