"""The public health pages (Timișoara's health stations; no login).

* ``/health-stations/{tenant}`` — dashboard: the city's trend (daily index distribution over
  the last 30 days), stations online/stale/faulty, every health station with band and status;
* ``/health-stations/{tenant}/station/{id}`` — one health station: band, health advice,
  members with their status, index and noise levels.

A visitor without credentials sees a tenant's pages when the tenant lists ``HealthStation``
and ``AirQualityObserved`` in its public types (401/403 otherwise, as the NGSI-LD API).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cetate.api.deps import get_store
from cetate.domains.environment import eaqi, health, public_data, stored
from cetate.domains.environment.advice import advice
from cetate.domains.environment.pages import station_url
from cetate.domains.environment.station_status import station_status
from cetate.ngsi.timestamps import utc_now
from cetate.web.rendering import render
from cetate.web.session import request_language

TREND_DAYS: Final = 30
TYPES: Final = (health.HEALTH_TYPE, health.AIR_TYPE)
router = APIRouter(tags=["environment"])


def health_url(tenant: str, station_id: str) -> str:
    return f"/health-stations/{tenant}/station/{station_id}"


def _band(name: str | None, lang: str) -> dict[str, Any]:
    return {
        "key": name or "none",
        "label": advice(name, lang).label if name else None,
        "colour": public_data.BAND_COLOURS.get(name or "", public_data.NO_INDEX_COLOUR),
        "text_colour": public_data.TEXT_ON_BAND.get(name or "", "#111111"),
    }


@router.get("/health-stations/{tenant}", response_class=HTMLResponse)
def health_dashboard(request: Request, tenant: str) -> HTMLResponse:
    found = stored.readable_tenant(request, tenant, TYPES)
    store = get_store(request)
    lang = request_language(request)
    now = utc_now()
    stations = health.stations(store, found.name, now, stored.reader(request, found))
    air = [
        station_status(store, found.name, s.id, now=now).status
        for s in public_data.stations(store, found.name)
    ]
    trend = health.city_trend(store, found.name, now, TREND_DAYS)
    bands = [(b, _band(b, lang)) for b in eaqi.scale().bands]
    return render(
        request,
        "environment/health_dashboard.html",
        tenant=found,
        rows=[
            {"station": s, "band": _band(s.band, lang), "url": health_url(found.name, s.id)}
            for s in stations
        ],
        health_counts=health.status_counts([s.status for s in stations]),
        air_counts=health.status_counts(air),
        trend=trend,
        bands=bands,
        no_index=health.NO_INDEX,
        no_index_colour=public_data.NO_INDEX_COLOUR,
        days=TREND_DAYS,
    )


@router.get("/health-stations/{tenant}/station/{station_id}", response_class=HTMLResponse)
def health_station(request: Request, tenant: str, station_id: str) -> HTMLResponse:
    found = stored.readable_tenant(request, tenant, TYPES)
    store = get_store(request)
    entity = stored.one(store, found.name, station_id, health.HEALTH_TYPE, "health station")
    lang = request_language(request)
    item = health.overview(store, found.name, entity, utc_now(), stored.reader(request, found))
    return render(
        request,
        "environment/health_station.html",
        tenant=found,
        station=item,
        band=_band(item.band, lang),
        advice=advice(item.band, lang) if item.band else None,
        air_url=lambda member_id: station_url(found.name, member_id),
        dashboard_url=f"/health-stations/{found.name}",
    )
