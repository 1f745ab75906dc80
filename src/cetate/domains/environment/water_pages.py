"""The public water pages: water-quality monitoring points and bathing sites (no login).

=============================================  =================================================
``/water/{tenant}``                            the monitoring points and the bathing sites
``/water/{tenant}/point/{id}``                 latest values against a threshold set
                                               (``?set=``), and the breaches (unresolved Alerts
                                               of the rules engine for this point)
``/water/{tenant}/beach/{id}/season/{year}``   the season's samples and the bathing-water class
                                               over the assessment period, with P90/P95 and the
                                               sample-count rule
=============================================  =================================================

A visitor without credentials sees the points when the tenant lists ``WaterQualityObserved``
in its public types, and the beaches when it lists ``BathingWater`` (401/403 otherwise).
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cetate.api.deps import get_principal, get_settings, get_store
from cetate.domains.environment import beach, stored, water_point
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.water import threshold_set, threshold_set_keys
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.rules.service import AlertService
from cetate.web.rendering import render
from cetate.web.session import request_language

FIRST_YEAR: Final = 1990
router = APIRouter(tags=["environment"])


def point_url(tenant: str, point_id: str) -> str:
    return f"/water/{tenant}/point/{point_id}"


def season_url(tenant: str, site_id: str, year: int) -> str:
    return f"/water/{tenant}/beach/{site_id}/season/{year}"


@router.get("/water/{tenant}", response_class=HTMLResponse)
def water_home(request: Request, tenant: str) -> HTMLResponse:
    store = get_store(request)
    found = store.get_tenant(tenant)
    if found is None:  # 404 for a tenant that does not exist
        found = stored.readable_tenant(request, tenant, (water_point.POINT_TYPE,))
    principal = get_principal(request, get_settings(request), store)
    readable = {
        term
        for term in (water_point.POINT_TYPE, beach.SITE_TYPE)
        if principal.can_read(found, [stored.iri(term)])
    }
    if not readable:  # neither list may be read: 401/403 as the API answers
        stored.readable_tenant(request, tenant, (water_point.POINT_TYPE, beach.SITE_TYPE))
    year = utc_now().year
    points = (
        [
            (stored.name_of(e), point_url(found.name, str(e["id"])))
            for e in stored.of_type(store, found.name, water_point.POINT_TYPE)
        ]
        if water_point.POINT_TYPE in readable
        else []
    )
    sites = (
        [(s, season_url(found.name, s.id, year)) for s in beach.sites(store, found.name)]
        if beach.SITE_TYPE in readable
        else []
    )
    return render(
        request, "environment/water_home.html", tenant=found, points=sorted(points), sites=sites
    )


@router.get("/water/{tenant}/point/{point_id}", response_class=HTMLResponse)
def water_point_page(request: Request, tenant: str, point_id: str, set: str = "") -> HTMLResponse:
    found = stored.readable_tenant(request, tenant, (water_point.POINT_TYPE,))
    store = get_store(request)
    entity = stored.one(
        store, found.name, point_id, water_point.POINT_TYPE, "water-quality monitoring point"
    )
    chosen = threshold_set(water_point.chosen_set(entity, set))
    alerts: AlertService = request.app.state.alerts
    lang = request_language(request)
    return render(
        request,
        "environment/water_point.html",
        tenant=found,
        name=stored.name_of(entity),
        point_id=str(entity["id"]),
        chosen=chosen,
        title=chosen.title.get(lang, chosen.key),
        sets=threshold_set_keys(),
        judged=water_point.judge(entity, chosen.thresholds),
        breaches=water_point.breaches(alerts, found.name, str(entity["id"])),
        point_url=point_url(found.name, str(entity["id"])),
        home=f"/water/{found.name}",
    )


@router.get("/water/{tenant}/beach/{site_id}/season/{year}", response_class=HTMLResponse)
def beach_season(request: Request, tenant: str, site_id: str, year: int) -> HTMLResponse:
    found = stored.readable_tenant(request, tenant, (beach.SITE_TYPE,))
    store = get_store(request)
    entity = stored.one(store, found.name, site_id, beach.SITE_TYPE, "bathing site")
    this_year = utc_now().year
    if not FIRST_YEAR <= year <= this_year:
        raise EnvironmentInputError(
            f"season must be a year between {FIRST_YEAR} and {this_year}, got {year}"
        )
    result = beach.season(store, found.name, entity, year)
    return render(
        request,
        "environment/beach_season.html",
        tenant=found,
        season=result,
        previous=season_url(found.name, result.site.id, year - 1) if year > FIRST_YEAR else None,
        following=season_url(found.name, result.site.id, year + 1) if year < this_year else None,
        home=f"/water/{found.name}",
    )
