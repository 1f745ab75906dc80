"""The feedback dashboard over HTTP: ``GET /api/v1/{tenant}/citizens/dashboard?cell=0.005``
(JSON, operators and admins) and the console page ``GET /citizens/dashboard`` (tables and a
Leaflet heat map of grid cells; no tiles unless ``CETATE_MAP_TILE_URL`` is set)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from cetate.api.deps import PrincipalDep
from cetate.api.platform import tenant_to_write
from cetate.api.responses import json_response
from cetate.domains.citizens.config import pick
from cetate.domains.citizens.dashboard import DEFAULT_CELL, dashboard
from cetate.domains.citizens.page_support import service_label
from cetate.domains.citizens.runtime import get_runtime, runtime_of
from cetate.errors import BadRequestData
from cetate.web.actions import no_tenant, tenant_name
from cetate.web.rendering import render
from cetate.web.session import ConsoleContextDep

router = APIRouter(tags=["citizens"])
pages = APIRouter(include_in_schema=False)


def _cell(text: str | None) -> float:
    if text is None or not text.strip():
        return DEFAULT_CELL
    try:
        return float(text)
    except ValueError:
        raise BadRequestData(f"cell {text!r} is not a number (degrees)") from None


@router.get("/api/v1/{tenant}/citizens/dashboard", summary="Report figures for staff")
async def dashboard_api(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    runtime = get_runtime(request)
    cell = _cell(request.query_params.get("cell"))
    return json_response(
        await run_in_threadpool(lambda: dashboard(runtime.reports, name, cell=cell))
    )


@pages.get("/citizens/dashboard", response_class=HTMLResponse)
def dashboard_page(context: ConsoleContextDep) -> Response:
    if context.tenant is None:
        return no_tenant(context)
    runtime = runtime_of(context.request.app)
    tenant = tenant_name(context)
    figures = dashboard(runtime.reports, tenant)
    names = {d.id: pick(d.name, context.lang) for d in runtime.config.departments_for(tenant)}
    return render(
        context.request,
        "citizens/dashboard.html",
        context,
        figures=figures,
        categories=[
            (service_label(runtime, tenant, code, context.lang), n)
            for code, n in figures["byCategory"].items()
        ],
        departments=[
            (names.get(d, d) if d else None, n) for d, n in figures["byDepartment"].items()
        ],
        grid_json=json.dumps(figures["grid"]["cells"]),
        tile_url=context.request.app.state.settings.map_tile_url,
    )
