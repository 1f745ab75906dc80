"""The console's own pages: login and logout, tenant and language switches, entity types,
the entity browser, the map and entity details, and the JSON the map and charts read."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from cetate.api.deps import get_settings, get_store
from cetate.api.paths import path_segment
from cetate.auth.sessions import SESSION_COOKIE_NAME, SessionCodec, login
from cetate.errors import CetateError, Unauthenticated
from cetate.ngsi.model import LOCATION
from cetate.ngsi.query_ast import TypeName
from cetate.store.base import EntityQuery, TemporalQuery, Tenant
from cetate.web.actions import message_page, no_tenant, redirect
from cetate.web.i18n import LANGUAGES, Catalog
from cetate.web.present import (
    Series,
    attribute_count,
    attribute_rows,
    entity_geometry,
    format_timestamp,
    history_series,
    numeric_attributes,
    readable_term,
    short_id,
)
from cetate.web.rendering import is_htmx, render
from cetate.web.session import (
    LANGUAGE_COOKIE,
    LANGUAGE_MAX_AGE,
    ConsoleContext,
    ConsoleContextDep,
    console_context,
    csrf_ok,
    request_language,
    safe_next,
    session_cookie_options,
)
from cetate.web.state import console_state

log = logging.getLogger(__name__)

PAGE_SIZE: Final = 20
MAP_BATCH: Final = 500
MAP_MAX_FEATURES: Final = 5000
RANGES: Final[dict[str, timedelta]] = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
RangeName = Literal["24h", "7d"]

router = APIRouter(include_in_schema=False)


def entity_url(entity_id: str) -> str:
    """The console page of an entity (a ``/`` in the id is encoded: ``%2F``)."""
    return "/entities/" + path_segment(entity_id)


def _signed_in(
    request: Request, codec: SessionCodec, username: str, tenant: str, target: str
) -> RedirectResponse:
    """A redirect to ``target`` that sets the session cookie of ``username`` in ``tenant``."""
    response = redirect(target)
    response.set_cookie(
        SESSION_COOKIE_NAME,
        codec.encode(username, tenant),
        **session_cookie_options(request),  # type: ignore[arg-type]
    )
    return response


def _filter_params(entity_type: str, q: str) -> dict[str, str]:
    """The entity filters (type, id search) as query parameters, the empty ones left out."""
    return {key: value for key, value in (("type", entity_type), ("q", q.strip())) if value}


def _filter_query(entity_type: str, q: str, **page: Any) -> EntityQuery:
    """The store query of the entity filters: the type, and ``q`` anywhere in the id."""
    text = q.strip()
    return EntityQuery(
        types=TypeName(entity_type) if entity_type else None,
        id_pattern=f"(?i){re.escape(text)}" if text else None,
        **page,
    )


# -- login, logout, switches ------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/", bye: bool = False) -> Response:
    settings = get_settings(request)
    if settings.open_access:
        return redirect(safe_next(next))
    if request.cookies.get(SESSION_COOKIE_NAME) and not bye:
        try:
            console_context(request)
        except Exception:
            log.debug("stale session cookie on the login page", exc_info=True)
        else:
            return redirect(safe_next(next))
    notice = Catalog(request_language(request))("logout.done") if bye else None
    return render(request, "console/login.html", next=safe_next(next), notice=notice)


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    store = get_store(request)
    settings = get_settings(request)
    t = Catalog(request_language(request))
    target = safe_next(next)
    try:
        principal = login(store, username, password)
    except Unauthenticated:
        return render(
            request,
            "console/login.html",
            status_code=401,
            next=target,
            error=t("login.failed"),
            username=username,
        )
    tenants = principal.tenants()
    if not tenants:
        return render(
            request,
            "console/login.html",
            status_code=403,
            next=target,
            error=t("login.no_tenant"),
            username=username,
        )
    tenant = settings.default_tenant if settings.default_tenant in tenants else tenants[0]
    codec = console_state(request).codec(store, settings)
    return _signed_in(request, codec, principal.name, tenant, target)


@router.post("/logout")
def logout(context: ConsoleContextDep, csrf: Annotated[str, Form()] = "") -> Response:
    if not csrf_ok(context, csrf):
        return _expired_form(context)
    response = redirect("/login?bye=1")
    response.delete_cookie(SESSION_COOKIE_NAME, path="/")
    return response


def _expired_form(context: ConsoleContext) -> HTMLResponse:
    return message_page(context, 403, "error.title", context.t("form.expired"))


@router.post("/tenant")
def switch_tenant(
    context: ConsoleContextDep,
    tenant: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not csrf_ok(context, csrf):
        return _expired_form(context)
    if tenant not in {t.name for t in context.tenants}:
        return message_page(context, 403, "tenant.label", context.t("tenant.forbidden"))
    codec = context.state.codec(context.store, context.settings)
    # entity pages of one tenant mean nothing in another: go home unless it is a list page
    target = safe_next(next)
    if target.startswith("/entities/"):
        target = "/"
    return _signed_in(context.request, codec, context.principal.name, tenant, target)


@router.post("/lang")
def switch_language(
    request: Request,
    lang: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    response = redirect(safe_next(next))
    if lang in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=LANGUAGE_MAX_AGE,
            httponly=True,
            samesite="lax",
            path="/",
        )
    return response


# -- pages --------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(context: ConsoleContextDep) -> Response:
    if context.tenant is None:
        return no_tenant(context)
    summaries = context.store.entity_types(context.tenant.name)
    types = sorted(
        (
            {
                "iri": s.type,
                "name": readable_term(s.type),
                "count": s.entity_count,
                "url": "/entities?" + urlencode({"type": s.type}),
            }
            for s in summaries
        ),
        key=lambda item: str(item["name"]).lower(),
    )
    total = sum(s.entity_count for s in summaries)
    return render(context.request, "console/home.html", context, types=types, total=total)


def _type_options(context: ConsoleContext, tenant: Tenant) -> list[dict[str, str]]:
    return sorted(
        (
            {"iri": s.type, "name": readable_term(s.type)}
            for s in context.store.entity_types(tenant.name)
        ),
        key=lambda item: item["name"].lower(),
    )


@router.get("/entities", response_class=HTMLResponse)
def entities(
    context: ConsoleContextDep,
    entity_type: Annotated[str, Query(alias="type")] = "",
    q: str = "",
    page_text: Annotated[str, Query(alias="page")] = "1",
) -> Response:
    if context.tenant is None:
        return no_tenant(context)
    page = max(1, int(page_text)) if page_text.isdigit() else 1
    error: str | None = None
    rows: list[dict[str, Any]] = []
    total = 0
    try:
        result = context.store.query_entities(
            context.tenant.name,
            _filter_query(
                entity_type, q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, count=True
            ),
        )
    except CetateError as exc:
        error = exc.detail
    else:
        total = result.total if result.total is not None else len(result.entities)
        rows = [
            {
                "id": e["id"],
                "short_id": short_id(e["id"]),
                "url": entity_url(e["id"]),
                "types": ", ".join(readable_term(t) for t in e.get("type", [])),
                "attributes": attribute_count(e),
                "modified": format_timestamp(e.get("modifiedAt")),
            }
            for e in result.entities
        ]
    first = (page - 1) * PAGE_SIZE + 1 if rows else 0
    last = (page - 1) * PAGE_SIZE + len(rows)

    def page_url(number: int) -> str:
        params = _filter_params(entity_type, q)
        if number > 1:
            params["page"] = str(number)
        return "/entities" + ("?" + urlencode(params) if params else "")

    values: dict[str, Any] = {
        "rows": rows,
        "total": total,
        "first": first,
        "last": last,
        "previous_url": page_url(page - 1) if page > 1 else None,
        "next_url": page_url(page + 1) if last < total else None,
        "selected_type": entity_type,
        "q": q,
        "error": error,
        "map_url": "/map" + ("?" + urlencode({"type": entity_type}) if entity_type else ""),
    }
    request = context.request
    if is_htmx(request) and request.headers.get("hx-target") == "entity-results":
        return render(request, "console/_entity_results.html", context, **values)
    return render(
        request,
        "console/entities.html",
        context,
        type_options=_type_options(context, context.tenant),
        **values,
    )


@router.get("/map", response_class=HTMLResponse)
def map_page(
    context: ConsoleContextDep,
    entity_type: Annotated[str, Query(alias="type")] = "",
    q: str = "",
) -> Response:
    if context.tenant is None:
        return no_tenant(context)
    params = _filter_params(entity_type, q)
    return render(
        context.request,
        "console/map.html",
        context,
        type_options=_type_options(context, context.tenant),
        selected_type=entity_type,
        q=q,
        geojson_url="/console/api/geojson" + ("?" + urlencode(params) if params else ""),
        tile_url=context.settings.map_tile_url,
    )


@router.get("/console/api/geojson")
def entities_geojson(
    context: ConsoleContextDep,
    entity_type: Annotated[str, Query(alias="type")] = "",
    q: str = "",
) -> Response:
    """Entities with a location as a GeoJSON FeatureCollection (for the console map)."""
    if context.tenant is None:
        return JSONResponse({"type": "FeatureCollection", "features": []}, status_code=403)
    features: list[dict[str, Any]] = []
    offset = 0
    truncated = False
    while True:
        result = context.store.query_entities(
            context.tenant.name,
            _filter_query(
                entity_type, q, attrs=frozenset({LOCATION}), limit=MAP_BATCH, offset=offset
            ),
        )
        for entity in result.entities:
            geometry = entity_geometry(entity)
            if geometry is None:
                continue
            features.append(
                {
                    "type": "Feature",
                    "id": entity["id"],
                    "geometry": geometry,
                    "properties": {
                        "id": entity["id"],
                        "name": short_id(entity["id"]),
                        "type": ", ".join(readable_term(t) for t in entity.get("type", [])),
                        "url": entity_url(entity["id"]),
                    },
                }
            )
        offset += len(result.entities)
        if len(result.entities) < MAP_BATCH:
            break
        if offset >= MAP_MAX_FEATURES:
            truncated = True
            break
    return JSONResponse(
        {"type": "FeatureCollection", "features": features, "truncated": truncated},
        media_type="application/geo+json",
    )


def _history(
    context: ConsoleContext, tenant: Tenant, entity: dict[str, Any], range_name: str
) -> list[Series]:
    numeric = numeric_attributes(entity)
    if not numeric:
        return []
    now = datetime.now(UTC)
    temporal = context.store.query_temporal(
        tenant.name,
        TemporalQuery(
            entities=EntityQuery(ids=(entity["id"],), limit=1),
            timerel="after",
            time_at=now - RANGES.get(range_name, RANGES["24h"]),
            attrs=frozenset(numeric),
        ),
    )
    units = {
        attr: str(next((i.get("unitCode", "") for i in entity[attr] if "unitCode" in i), ""))
        for attr in numeric
    }
    return history_series(temporal, numeric, units)


@router.get("/console/api/history")
def entity_history(
    context: ConsoleContextDep,
    entity_id: Annotated[str, Query(alias="id")],
    range_name: Annotated[RangeName, Query(alias="range")] = "24h",
) -> Response:
    """Numeric attribute history of one entity (epoch seconds and values per attribute)."""
    if context.tenant is None:
        return JSONResponse({"detail": context.t("tenant.none")}, status_code=403)
    entity = context.store.get_entity(context.tenant.name, entity_id)
    if entity is None:
        return JSONResponse(
            {"detail": context.t("entity.not_found", id=entity_id)}, status_code=404
        )
    return JSONResponse(
        {
            "id": entity_id,
            "range": range_name,
            "series": [s.as_json() for s in _history(context, context.tenant, entity, range_name)],
        }
    )


@router.get("/entities/{entity_id:segment}", response_class=HTMLResponse)
def entity_detail(
    context: ConsoleContextDep,
    entity_id: str,
    range_name: Annotated[str, Query(alias="range")] = "24h",
) -> Response:
    if context.tenant is None:
        return no_tenant(context)
    if range_name not in RANGES:
        range_name = "24h"
    request = context.request
    entity = context.store.get_entity(context.tenant.name, entity_id)
    if entity is None:
        return message_page(
            context,
            404,
            "entity.title",
            context.t("entity.not_found", id=entity_id),
            back_url="/entities",
            back_label=context.t("entity.back"),
        )
    series = _history(context, context.tenant, entity, range_name)
    values: dict[str, Any] = {
        "entity_id": entity_id,
        "entity_url": entity_url(entity_id),
        "series": series,
        "chart_data": [s.as_json() for s in series],
        "range_name": range_name,
        "ranges": [(name, context.t(f"entity.range_{name}")) for name in RANGES],
        "has_numeric": bool(series),
    }
    if is_htmx(request) and request.headers.get("hx-target") == "charts":
        return render(request, "console/_charts.html", context, **values)
    geometry = entity_geometry(entity)
    return render(
        request,
        "console/entity.html",
        context,
        entity=entity,
        short_id=short_id(entity_id),
        types=[readable_term(t) for t in entity.get("type", [])],
        rows=attribute_rows(entity, context.lang),
        entity_link=entity_url,
        created=format_timestamp(entity.get("createdAt")),
        modified=format_timestamp(entity.get("modifiedAt")),
        has_location=geometry is not None,
        **values,
    )
