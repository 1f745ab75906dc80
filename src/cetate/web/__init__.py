"""The operations console: a server-rendered web shell (Jinja2 + htmx, Leaflet, uPlot).

:func:`mount_console` adds it to the FastAPI application, which must keep its store at
``app.state.store`` and its settings at ``app.state.settings``, and route with
:class:`cetate.api.paths.PathSegments` (as :func:`cetate.api.app.create_app` does). Routes:

========================  ======================================================
``/login``                sign-in form (GET) and sign-in (POST)
``/logout``               sign out (POST)
``/tenant``               switch the selected tenant (POST)
``/lang``                 switch the language, ``ro`` or ``en`` (POST; cookie)
``/``                     entity types of the tenant with counts
``/entities``             searchable, paginated table (htmx partial updates)
``/entities/{id}``        attributes and history charts (24 h / 7 d); ``/`` in the id
                          is encoded (``%2F``)
``/map``                  entities with a location on a Leaflet map
``/console/api/geojson``  those entities as GeoJSON (what the map reads)
``/console/api/history``  numeric history of one entity (JSON)
``/devices``              devices, the "new device" form (:mod:`~cetate.web.devices_pages`);
                          ``/devices/{id}``: credentials, commands, rejected messages
``/dead-letters``         rejected device messages, replay (:mod:`~.dead_letters_pages`)
``/rules``                rules, JSON editor, enable/disable, delete (:mod:`~.rules_pages`)
``/alerts``               alerts by status, acknowledge, resolve (:mod:`~.alerts_pages`)
``/static/…``             CSS, JS and the vendored libraries (offline)
========================  ======================================================

Errors on console pages (unknown paths, bad parameters) are HTML pages in the user's
language (:mod:`cetate.web.errors`). Domains add their own pages through
:mod:`cetate.web.registry`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from cetate.web.errors import install_error_pages
from cetate.web.registry import DomainRegistry, default_registry
from cetate.web.session import LoginRequired, login_url
from cetate.web.state import STATIC_DIR, ConsoleState, make_environment

__all__ = ["mount_console"]


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = login_url(exc.next_path)
    if request.headers.get("hx-request") == "true":
        # an htmx swap must not put the login page inside the current page
        return Response(status_code=204, headers={"HX-Redirect": target})
    if request.method != "GET" or request.url.path.startswith("/console/api/"):
        return Response(status_code=401, headers={"Location": target})
    return RedirectResponse(target, status_code=303)


def mount_console(app: FastAPI, *, registry: DomainRegistry | None = None) -> None:
    """Mount the console (pages at ``/``, static files at ``/static``) and every registered
    domain's pages. Domains declared as ``cetate.domains`` entry points are discovered when
    the default registry is used."""
    from cetate.web import alerts_pages, dead_letters_pages, devices_pages, rules_pages
    from cetate.web.pages import router

    if registry is None:
        registry = default_registry
        registry.discover()
    app.state.console = ConsoleState(registry=registry, env=make_environment(registry))
    app.add_exception_handler(LoginRequired, _login_required)
    install_error_pages(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
    for pages in (devices_pages, dead_letters_pages, rules_pages, alerts_pages):
        app.include_router(pages.router)
    for domain in registry.domains():
        if domain.router is not None:
            app.include_router(domain.router)
