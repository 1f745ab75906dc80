"""The residents' pages (no login; phone first): the "report a problem" form, the tracking
page of a report, and the public map of open reports.

=======================================  ===================================================
``GET /city/{tenant}/report``            the form: category (and its details), a pin on a
                                         Leaflet map or the phone's location, address,
                                         photo, description, optional e-mail
``POST /city/{tenant}/report``           stores the report through the same code as Open311
                                         ``POST requests`` (:mod:`.intake`), then goes to
                                         the tracking page (303)
``GET /city/{tenant}/track/{token}``     status, public updates, photo (never the reporter)
``GET /city/{tenant}/map``               open, published reports on a map and in a list
``GET /city/{tenant}/map.geojson``       those reports as GeoJSON (what the map reads)
``GET /citizens/static/{name}``          the pages' script and style
=======================================  ===================================================

The form's fields for a category's details are named ``attr.{service_code}.{code}``; only
those of the chosen category are passed on (as ``attribute[code]``).
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cetate.domains.citizens import entity as model
from cetate.domains.citizens.config import pick
from cetate.domains.citizens.errors import Open311Error
from cetate.domains.citizens.intake import accept_report
from cetate.domains.citizens.moderation import ATTRIBUTE as MODERATION
from cetate.domains.citizens.open311_api import FORM_OVERHEAD, read_form
from cetate.domains.citizens.page_support import (
    STATIC_DIR,
    STATIC_FILES,
    page_language,
    public_message,
    public_tenant,
    render_public,
    service_label,
)
from cetate.domains.citizens.runtime import CitizensRuntime, get_runtime
from cetate.domains.citizens.tracking import track
from cetate.errors import ResourceNotFound
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.query_language import map_attribute_names, parse_q
from cetate.store.base import EntityQuery
from cetate.web.present import format_timestamp

router = APIRouter(include_in_schema=False)

MAP_LIMIT: Final = 1000
FORM_FIELDS: Final = ("service_code", "lat", "long", "address_string", "description", "email")


def _unknown_tenant(request: Request) -> Response:
    t = _t(request)
    return public_message(request, 404, t("error.title"), t("error.not_found"))


def _t(request: Request) -> Any:
    from cetate.web.rendering import translator

    return translator(request, page_language(request))


def _services(runtime: CitizensRuntime, tenant: str, lang: str) -> list[dict[str, Any]]:
    return [
        {
            "code": s.service_code,
            "name": pick(s.service_name, lang),
            "description": pick(s.description, lang),
            "attributes": [
                {
                    "field": f"attr.{s.service_code}.{a.code}",
                    "label": pick(a.description, lang),
                    "required": a.required,
                    "datatype": a.datatype,
                    "options": [(v.key, pick(v.name, lang)) for v in a.values],
                }
                for a in sorted(s.attributes, key=lambda a: a.order)
            ],
        }
        for s in runtime.config.services_for(tenant)
    ]


def _form_page(
    request: Request,
    runtime: CitizensRuntime,
    tenant: str,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    lang = page_language(request)
    return render_public(
        request,
        "citizens/report.html",
        status_code=status_code,
        tenant=tenant,
        services=_services(runtime, tenant, lang),
        values=values or {},
        error=error,
        tile_url=request.app.state.settings.map_tile_url,
        limits=runtime.config.limits,
    )


@router.get("/city/{tenant}", response_class=Response)
def portal_home(tenant: str) -> Response:
    return RedirectResponse(f"/city/{quote(tenant)}/report", status_code=303)


@router.get("/city/{tenant}/report", response_class=Response)
def report_form(tenant: str, request: Request) -> Response:
    runtime = get_runtime(request)
    name = public_tenant(runtime, tenant)
    if name is None:
        return _unknown_tenant(request)
    return _form_page(request, runtime, name)


def _chosen_pairs(pairs: list[tuple[str, str]], code: str) -> list[tuple[str, str]]:
    """The form's pairs with the chosen category's details as ``attribute[code]`` (the other
    categories' detail fields and any raw ``attribute[…]`` field dropped)."""
    prefix = f"attr.{code}."
    out: list[tuple[str, str]] = []
    for key, value in pairs:
        if key.startswith(prefix):
            out.append((f"attribute[{key[len(prefix) :]}]", value))
        elif not key.startswith(("attr.", "attribute[")):
            out.append((key, value))
    return out


@router.post("/city/{tenant}/report", response_class=Response)
async def submit_report(tenant: str, request: Request) -> Response:
    runtime = get_runtime(request)
    name = await run_in_threadpool(public_tenant, runtime, tenant)
    if name is None:
        return _unknown_tenant(request)
    values: dict[str, str] = {}
    try:
        form = await read_form(request, runtime.config.limits.max_photo_bytes + FORM_OVERHEAD)
        fields: dict[str, str] = {}
        pairs: list[tuple[str, str]] = []
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, value)
                pairs.append((key, value))
        values = {k: fields[k] for k in FORM_FIELDS if k in fields}
        values.update({k: v for k, v in fields.items() if k.startswith("attr.")})
        upload = form.get("media")
        # a browser sends an empty, nameless part when no photo was chosen
        chosen = isinstance(upload, UploadFile) and bool(upload.filename)
        media = await upload.read() if isinstance(upload, UploadFile) and chosen else None
        await form.close()
        code = fields.get("service_code", "").strip()
        clean = {k: v for k, v in fields.items() if not k.startswith(("attr.", "attribute["))}
        created = await accept_report(
            runtime,
            name,
            clean,
            _chosen_pairs(pairs, code),
            media,
            jurisdiction_id=name,
            base_url=str(request.base_url),
            language=page_language(request),
            client=f"ip:{request.client.host if request.client else '-'}",
        )
    except Open311Error as error:
        return _form_page(
            request,
            runtime,
            name,
            values=values,
            error=_t(request)("citizens.report.error", detail=error.description),
            status_code=error.status,
        )
    return RedirectResponse(
        f"/city/{quote(name)}/track/{quote(created.token)}?new=1", status_code=303
    )


def _history(
    request: Request, runtime: CitizensRuntime, tenant: str, data: dict[str, Any]
) -> dict[str, Any]:
    view = data["request"]
    lang = page_language(request)
    updates = [
        {
            "at": format_timestamp(u.get("at")),
            "status": u.get("status"),
            "note": u.get("note"),
        }
        for u in data.get("updates") or []
    ]
    workflow_status = view.get("workflow_status") or "new"
    return {
        "view": view,
        "category": service_label(runtime, tenant, view.get("service_code"), lang),
        "received": format_timestamp(view.get("requested_datetime")),
        "updates": updates,
        "status": workflow_status,
    }


@router.get("/city/{tenant}/track/{token}", response_class=Response)
def tracking_page(tenant: str, token: str, request: Request, new: str = "") -> Response:
    runtime = get_runtime(request)
    name = public_tenant(runtime, tenant)
    t = _t(request)
    if name is None:
        return _unknown_tenant(request)
    try:
        data = track(runtime.reports, name, token)
    except (ResourceNotFound, Open311Error):
        return public_message(request, 404, t("error.title"), t("citizens.track.not_found"))
    merged = data.get("merged_into")
    return render_public(
        request,
        "citizens/track.html",
        tenant=name,
        report=_history(request, runtime, name, data),
        merged=None if merged is None else _history(request, runtime, name, merged),
        new=new == "1",
        link=str(request.url.replace(query="")),
    )


def _open_reports(runtime: CitizensRuntime, tenant: str, lang: str) -> list[dict[str, Any]]:
    reports = runtime.reports
    q = map_attribute_names(
        parse_q(f'status=="open";{MODERATION}=="approved"'), reports.context.expand_term
    )
    result = reports.store.query_entities(
        tenant, EntityQuery(types=TypeName(model.ENTITY_TYPE_IRI), q=q, limit=MAP_LIMIT)
    )
    rows: list[dict[str, Any]] = []
    for found in result.entities:
        key_values = reports.key_values(found)
        view = model.to_open311(key_values)
        rows.append(
            {
                "id": view["service_request_id"],
                "category": service_label(runtime, tenant, view.get("service_code"), lang),
                "description": view.get("description") or "",
                "address": view.get("address") or "",
                "status": model.workflow_status(key_values),
                "received": format_timestamp(view.get("requested_datetime")),
                "lat": view.get("lat"),
                "long": view.get("long"),
            }
        )
    return rows


@router.get("/city/{tenant}/map", response_class=Response)
async def public_map(tenant: str, request: Request) -> Response:
    runtime = get_runtime(request)
    name = await run_in_threadpool(public_tenant, runtime, tenant)
    if name is None:
        return _unknown_tenant(request)
    rows = await run_in_threadpool(_open_reports, runtime, name, page_language(request))
    return render_public(
        request,
        "citizens/map.html",
        tenant=name,
        rows=rows,
        tile_url=request.app.state.settings.map_tile_url,
    )


@router.get("/city/{tenant}/map.geojson", response_class=Response)
async def public_map_data(tenant: str, request: Request) -> Response:
    runtime = get_runtime(request)
    name = await run_in_threadpool(public_tenant, runtime, tenant)
    if name is None:
        return JSONResponse({"detail": f"no city {tenant!r} here"}, status_code=404)
    lang = page_language(request)
    rows = await run_in_threadpool(_open_reports, runtime, name, lang)
    t = _t(request)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [row["long"], row["lat"]]},
            "properties": {
                "id": row["id"],
                "category": row["category"],
                "description": row["description"],
                "status": t("citizens.status." + row["status"]),
                "received": row["received"],
            },
        }
        for row in rows
        if row["lat"] is not None and row["long"] is not None
    ]
    return JSONResponse(
        {"type": "FeatureCollection", "features": features},
        media_type="application/geo+json",
    )


@router.get("/citizens/static/{name}", response_class=Response)
def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        raise ResourceNotFound(f"no file {name!r}")
    media = "text/javascript" if name.endswith(".js") else "text/css"
    return FileResponse(STATIC_DIR / name, media_type=media, headers={"Cache-Control": "no-cache"})
