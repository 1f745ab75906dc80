"""The console's plug-in point for domains.

A domain (waste, lighting, …) adds pages to the console without touching core files: it
describes itself as a :class:`ConsoleDomain` — navigation entries with a label per language, a
FastAPI :class:`~fastapi.APIRouter` with its pages, and the directory of its Jinja2 templates —
and either

* declares a Python entry point in the group ``cetate.domains`` (``pyproject.toml``)::

      [project.entry-points."cetate.domains"]
      waste = "cetate.domains.waste.console:console_domain"

  The entry point may name a :class:`ConsoleDomain`, a callable returning one, or an object
  (a module, a domain manifest) whose ``console`` attribute is either of those; or
* is registered explicitly (tests, embedding applications)::

      registry.register(ConsoleDomain(name="demo", nav=[...], router=router))

:func:`cetate.web.mount_console` includes every registered router and renders every nav entry
in the shell layout. A domain's templates extend the shell with
``{% extends "console/base.html" %}`` and should live in a sub-folder named after the domain
(``templates/waste/route_sheet.html``) so names never collide; pages render them with
:func:`cetate.web.rendering.render` and get the signed-in user, tenant and language with the
:data:`cetate.web.session.ConsoleContextDep` dependency::

    @router.get("/waste/bins", response_class=HTMLResponse)
    def bins(context: ConsoleContextDep) -> HTMLResponse:
        rows = context.store.query_entities(context.tenant.name, ...)
        return render(context.request, "waste/bins.html", context, rows=rows)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Final

from fastapi import APIRouter

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP: Final = "cetate.domains"


@dataclass(frozen=True, slots=True)
class NavEntry:
    """One link in the console's navigation."""

    path: str
    """where it goes, e.g. ``/waste/bins``"""
    labels: Mapping[str, str]
    """language code → label; English (``en``) is the fallback for a missing language"""
    icon: str = ""
    """a short text or emoji shown before the label (decorative, hidden from screen readers)"""

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or next(iter(self.labels.values()))


@dataclass(frozen=True, slots=True)
class ConsoleDomain:
    """What a domain adds to the console."""

    name: str
    """short unique name, e.g. ``waste``"""
    nav: Sequence[NavEntry] = ()
    router: APIRouter | None = None
    """its pages (and any JSON endpoints they use), included in the app as they are"""
    templates_dir: Path | None = None
    """searched after the core templates; put templates in a sub-folder named after the domain"""
    messages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """optional extra messages per language, available to all templates through ``t(key)``"""


DomainSource = ConsoleDomain | Callable[[], ConsoleDomain]


class DomainRegistry:
    """Console domains by name, in registration order."""

    def __init__(self) -> None:
        self._domains: dict[str, ConsoleDomain] = {}
        self._discovered = False

    def register(self, domain: ConsoleDomain) -> None:
        """Add (or replace, by name) a domain."""
        self._domains[domain.name] = domain

    def unregister(self, name: str) -> None:
        self._domains.pop(name, None)

    def domains(self) -> list[ConsoleDomain]:
        return list(self._domains.values())

    def nav_entries(self) -> list[NavEntry]:
        return [entry for domain in self._domains.values() for entry in domain.nav]

    def templates_dirs(self) -> list[Path]:
        return [d.templates_dir for d in self._domains.values() if d.templates_dir is not None]

    def messages(self, lang: str) -> dict[str, str]:
        merged: dict[str, str] = {}
        for domain in self._domains.values():
            merged.update(domain.messages.get(lang, {}))
        return merged

    def discover(self, eps: Iterable[EntryPoint] | None = None) -> list[str]:
        """Load the domains declared in the ``cetate.domains`` entry-point group (once).

        A domain that fails to load is logged and skipped: one broken plug-in must not take the
        console down. Returns the names of the domains loaded."""
        if eps is None:
            if self._discovered:
                return []
            self._discovered = True
            eps = entry_points(group=ENTRY_POINT_GROUP)
        loaded: list[str] = []
        for ep in eps:
            try:
                domain = resolve_domain(ep.load())
            except Exception:
                log.exception("console domain %r (%s) could not be loaded", ep.name, ep.value)
                continue
            if domain is None:
                log.debug("entry point %r declares no console part", ep.name)
                continue
            if domain.name not in self._domains:
                self.register(domain)
                loaded.append(domain.name)
        return loaded


def resolve_domain(obj: object) -> ConsoleDomain | None:
    """A :class:`ConsoleDomain` from what an entry point names (see the module docstring)."""
    if isinstance(obj, ConsoleDomain):
        return obj
    console = getattr(obj, "console", None)
    if console is not None:
        return resolve_domain(console)
    if callable(obj):
        result = obj()
        if isinstance(result, ConsoleDomain) or getattr(result, "console", None) is not None:
            return resolve_domain(result)
        log.debug("%r returned %s, which has no console part", obj, type(result).__name__)
    return None


default_registry: Final = DomainRegistry()
"""The registry :func:`cetate.web.mount_console` uses unless given another."""


def register_domain(domain: ConsoleDomain) -> None:
    """Register a domain in :data:`default_registry` (explicit registration)."""
    default_registry.register(domain)
