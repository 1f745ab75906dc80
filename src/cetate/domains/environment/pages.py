"""The public air pages (no login; only the tenant's public AirQualityObserved data).

=====================================================  =========================================
``/air/{tenant}``                                      map and list of stations in their index
                                                       colour, with the driving pollutant
``/air/{tenant}/station/{id}``                         index now, health advice, 48-hour chart,
                                                       latest values, noise levels (LAeq,
                                                       LAmax) when present, status, downloads
``/air/{tenant}/station/{id}/compliance/{year}``       the compliance report (``?set=``,
                                                       ``?format=csv``)
``/api/environment/{tenant}/hourly.csv`` / ``.geojson``  open data: ``station``, ``start``, ``end``
=====================================================  =========================================

Pages are in the shell layout without the signed-in navigation, in the visitor's language
(the ``cetate_lang`` cookie the language buttons set). Bad parameters get a 400 page (HTML) or a
ProblemDetails answer (``/api/…``) saying what is wrong.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from cetate.api.deps import get_settings, get_store
from cetate.domains.environment import public_data, stored
from cetate.domains.environment.advice import advice
from cetate.domains.environment.compliance import compliance_report
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.limits import LIMIT_SET_FILES, limit_set
from cetate.domains.environment.noise import NOISE_TYPE, station_noise
from cetate.domains.environment.open_data import hourly_csv, hourly_geojson
from cetate.domains.environment.pollutants import LABELS, POLLUTANTS
from cetate.domains.environment.report_render import TEXTS, to_csv
from cetate.domains.environment.series import HOUR, year_bounds
from cetate.domains.environment.station_status import station_status
from cetate.domains.environment.store_input import station_series
from cetate.ngsi.timestamps import format_datetime, utc_now
from cetate.web.rendering import render
from cetate.web.session import request_language

ASSETS: Final = Path(__file__).parent / "static"
FIRST_YEAR: Final = 1990
router = APIRouter(tags=["environment"], include_in_schema=True)


def station_url(tenant: str, station_id: str) -> str:
    return f"/air/{tenant}/station/{quote(station_id, safe=':')}"


def _pollutants(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(LABELS.get(p, p) for p in names)


def _card(current: public_data.CurrentIndex, lang: str) -> dict[str, Any]:
    """What a page shows of a station's current index."""
    index = current.index
    card: dict[str, Any] = {
        "band": current.band,
        "colour": current.colour,
        "text_colour": current.text_colour,
        "hour": format_datetime(current.hour)[:16].replace("T", " ") if current.hour else None,
        "label": None,
        "drivers": "",
        "missing": "",
        "advice": None,
    }
    if index is not None and index.name is not None:
        given = advice(index.name, lang)
        card.update(label=given.label, drivers=_pollutants(index.drivers), advice=given)
    elif index is not None:
        card["missing"] = ", ".join(
            " / ".join(LABELS.get(p, p) for p in group.split("|")) for group in index.missing
        )
    return card


@router.get("/environment-assets/air.js", include_in_schema=False)
def air_script() -> FileResponse:
    return FileResponse(ASSETS / "air.js", media_type="text/javascript")


@router.get("/air/{tenant}", response_class=HTMLResponse)
def air_map(request: Request, tenant: str) -> HTMLResponse:
    found = public_data.public_tenant(request, tenant)
    store = get_store(request)
    lang = request_language(request)
    now = utc_now()
    rows: list[dict[str, Any]] = []
    features: list[dict[str, Any]] = []
    for item in public_data.stations(store, found.name):
        got = public_data.recent_series(store, found.name, item.id, now, hours=4)
        status = station_status(store, found.name, item.id, now=now)
        faulty = [f.sensor for f in status.findings]
        card = _card(public_data.current_index(got, item.kind, now, exclude=faulty), lang)
        url = station_url(found.name, item.id)
        rows.append({"station": item, "card": card, "url": url})
        if item.longitude is not None and item.latitude is not None:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [item.longitude, item.latitude]},
                    "properties": {
                        "name": item.name,
                        "url": url,
                        "colour": card["colour"],
                        "label": card["label"] or "",
                        "drivers": card["drivers"],
                    },
                }
            )
    return render(
        request,
        "environment/air_map.html",
        tenant=found,
        rows=rows,
        geojson={"type": "FeatureCollection", "features": features},
        tile_url=get_settings(request).map_tile_url,
    )


@router.get("/air/{tenant}/station/{station_id}", response_class=HTMLResponse)
def air_station(request: Request, tenant: str, station_id: str) -> HTMLResponse:
    found = public_data.public_tenant(request, tenant)
    store = get_store(request)
    item = public_data.station(store, found.name, station_id)
    lang = request_language(request)
    now = utc_now()
    got = public_data.recent_series(store, found.name, item.id, now, hours=48)
    status = station_status(store, found.name, item.id, now=now)
    faulty = [f.sensor for f in status.findings]
    card = _card(public_data.current_index(got, item.kind, now, exclude=faulty), lang)
    may_read = stored.reader(request, found)
    end = now.replace(minute=0, second=0, microsecond=0) + HOUR
    start = end - 48 * HOUR
    hours = [start + k * HOUR for k in range(48)]
    chart = {
        "times": [int(h.timestamp()) for h in hours],
        "series": [
            {"label": LABELS[p], "values": [got.series[p].get(h) for h in hours]}
            for p in POLLUTANTS
            if p in got.series
        ],
    }
    latest = [
        (LABELS[p], got.series[p][max(got.series[p])], format_datetime(max(got.series[p])))
        for p in POLLUTANTS
        if p in got.series
    ]
    period = {"station": item.id, "start": format_datetime(start), "end": format_datetime(end)}
    base = f"/api/environment/{found.name}/hourly"
    this_year = now.year
    return render(
        request,
        "environment/air_station.html",
        tenant=found,
        station=item,
        card=card,
        chart=chart,
        latest=latest,
        status=status,
        noise=[
            n
            for n in station_noise(store, found.name, item.id, now)
            if (n.levels or n.rejected) and may_read([stored.iri(NOISE_TYPE)])
        ],
        csv_url=f"{base}.csv?{urlencode(period)}",
        geojson_url=f"{base}.geojson?{urlencode(period)}",
        download_base=base,
        default_start=(now - timedelta(days=7)).date().isoformat(),
        default_end=(now + timedelta(days=1)).date().isoformat(),
        compliance=[
            (y, f"{station_url(found.name, item.id)}/compliance/{y}")
            for y in (this_year, this_year - 1)
        ],
        map_url=f"/air/{found.name}",
    )


@router.get("/air/{tenant}/station/{station_id}/compliance/{year}", response_model=None)
def air_compliance(
    request: Request,
    tenant: str,
    station_id: str,
    year: int,
    limits: Annotated[str, Query(alias="set")] = "eu-2008-50",
    format: str = "html",
) -> Response:
    found = public_data.public_tenant(request, tenant)
    store = get_store(request)
    item = public_data.station(store, found.name, station_id)
    now = utc_now()
    if not FIRST_YEAR <= year <= now.year:
        raise EnvironmentInputError(f"year must be between {FIRST_YEAR} and {now.year}, got {year}")
    if format not in ("html", "csv"):
        raise EnvironmentInputError(f"format must be html or csv, got {format!r}")
    chosen = limit_set(limits)
    start, end = year_bounds(year, UTC)
    got = station_series(store, found.name, item.id, start - 8 * HOUR, min(end, now), now=now)
    report = compliance_report(item.id, year, got.series, chosen)
    if format == "csv":
        name = f"compliance-{item.id.rsplit(':', 1)[-1]}-{year}-{chosen.key}.csv"
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    lang = request_language(request)
    here = f"{station_url(found.name, item.id)}/compliance/{year}"
    return render(
        request,
        "environment/air_compliance.html",
        tenant=found,
        station=item,
        report=report,
        texts=TEXTS[lang],
        labels=LABELS,
        sets=list(LIMIT_SET_FILES),
        chosen=chosen.key,
        csv_url=f"{here}?{urlencode({'set': chosen.key, 'format': 'csv'})}",
        here_path=here,
        station_url=station_url(found.name, item.id),
    )


def _download(
    request: Request, tenant: str, station: str, start: str, end: str
) -> tuple[public_data.Station, Any]:
    found = public_data.public_tenant(request, tenant)
    if not station:
        raise EnvironmentInputError("station is required (the station's entity id)")
    store = get_store(request)
    item = public_data.station(store, found.name, station)
    first, last = public_data.parse_period(start, end)
    now = utc_now()
    if first >= now:
        raise EnvironmentInputError("start is in the future; there is no data yet")
    got = station_series(store, found.name, item.id, first, min(last, now + HOUR), now=now)
    return item, got


@router.get("/api/environment/{tenant}/hourly.csv")
def hourly_values_csv(
    request: Request, tenant: str, station: str = "", start: str = "", end: str = ""
) -> Response:
    """A station's hourly values over [start, end) as CSV (µg/m³)."""
    item, got = _download(request, tenant, station, start, end)
    name = f"{item.id.rsplit(':', 1)[-1]}-hourly.csv"
    return Response(
        hourly_csv(item, got),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-rejected-readings": str(len(got.rejected)),
        },
    )


@router.get("/api/environment/{tenant}/hourly.geojson")
def hourly_values_geojson(
    request: Request, tenant: str, station: str = "", start: str = "", end: str = ""
) -> Response:
    """A station's hourly values over [start, end) as a GeoJSON FeatureCollection."""
    item, got = _download(request, tenant, station, start, end)
    return JSONResponse(hourly_geojson(item, got), media_type="application/geo+json")
