"""The waste console pages, for the users of the selected tenant (any role):

* ``/waste/bins`` — every bin on a map (Leaflet, no tiles unless ``map_tile_url`` is set)
  coloured by fill level or by forecast days to full (``?colour=fill|forecast``), with the same
  data as a table (phone layout: the table scrolls, the map shrinks);
* ``/waste/kpi`` — the tenant's stored plans per day (km, hours, trucks, bins planned, from the
  ``WasteCollectionRoute`` entities of ``cetate waste plan``), and km, hours, bins emptied,
  average fill at emptying and overflows of the fixed schedule and the sensor-driven policy from
  the tenant's latest stored simulation run, with the day-by-day series.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from cetate.domains.waste import entities, fill_model, simulator
from cetate.domains.waste.entities import CETATE_WASTE
from cetate.domains.waste.outputs.entities import ROUTE_TYPE
from cetate.ngsi.model import EntityDoc
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.timestamps import utc_now
from cetate.store.base import ContextStore, EntityQuery
from cetate.web.actions import message_page, no_tenant
from cetate.web.rendering import render
from cetate.web.session import ConsoleContextDep

router = APIRouter()

ASSETS: Final = Path(__file__).parent / "static"
HISTORY: Final = timedelta(days=14)
COLOURS: Final = ("#2a7f3f", "#c08a00", "#b5262a")
"""green, amber, red"""
COLOUR_MODES: Final = ("fill", "forecast")


def fill_band(level: float | None) -> int | None:
    """0 under 60 %, 1 from 60 % to 80 %, 2 from 80 % (the selection's default thresholds)."""
    if level is None:
        return None
    return 0 if level < 0.6 else 1 if level < 0.8 else 2


def forecast_band(days: float | None, level: float | None) -> int | None:
    """0 more than 3 days to full, 1 one to three days, 2 under a day."""
    if days is None:
        return None if level is None else 0
    return 0 if days > 3 else 1 if days >= 1 else 2


@router.get("/waste-assets/waste.js", include_in_schema=False)
def waste_script() -> FileResponse:
    return FileResponse(ASSETS / "waste.js", media_type="text/javascript")


@router.get("/waste/bins", response_class=HTMLResponse)
def bins_page(context: ConsoleContextDep, colour: str = "fill") -> Response:
    if context.tenant is None:
        return no_tenant(context)
    if colour not in COLOUR_MODES:
        return message_page(
            context,
            400,
            "waste.bins.title",
            f"colour must be one of {', '.join(COLOUR_MODES)} (got {colour!r})",
        )
    tenant = context.tenant.name
    now = utc_now()
    bins, invalid = entities.load_containers(context.store, tenant)
    histories = fill_model.fill_histories(
        context.store, tenant, [b.id for b in bins], now - HISTORY, now
    )
    rows: list[dict[str, Any]] = []
    features: list[dict[str, Any]] = []
    for bin_ in bins:
        found = fill_model.estimate(bin_.id, histories.get(bin_.id, []), now)
        level = found.level if found is not None else bin_.filling_level
        days = found.days_to_full() if found is not None else None
        bands = {"fill": fill_band(level), "forecast": forecast_band(days, level)}
        band = bands[colour]
        row = {
            "id": bin_.id,
            "name": bin_.id.rsplit(":", 1)[-1],
            "level": level,
            "days": days,
            "filling": found is not None and found.rate > 0,
            "status": bin_.status,
            "flags": sorted({f.kind for f in found.flags}) if found is not None else [],
            "band": band,
            "colour": COLOURS[band] if band is not None else "#888888",
        }
        rows.append(row)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [bin_.lon, bin_.lat]},
                "properties": {
                    "name": row["name"],
                    "colour": row["colour"],
                    "label": _label(context.t.text, level, days),
                },
            }
        )
    rows.sort(key=lambda r: (r["days"] is None, r["days"] or 0.0, r["name"]))
    return render(
        context.request,
        "waste/bins.html",
        context,
        rows=rows,
        invalid=invalid,
        colour=colour,
        colours=COLOURS,
        geojson={"type": "FeatureCollection", "features": features},
        tile_url=context.settings.map_tile_url,
    )


def _label(t: Any, level: float | None, days: float | None) -> str:
    fill = f"{level:.0%}" if level is not None else t("waste.no_reading")
    if days is None:
        return fill
    return f"{fill} · {t('waste.col.days')}: {days:.1f}"


@router.get("/waste/kpi", response_class=HTMLResponse)
def kpi_page(context: ConsoleContextDep) -> Response:
    if context.tenant is None:
        return no_tenant(context)
    run = simulator.latest_run(context.store, context.tenant.name)
    policies: list[dict[str, Any]] = []
    trend: list[dict[str, Any]] = []
    if run is not None:
        for name in simulator.POLICIES:
            totals = run["policies"][name]["totals"]
            policies.append({"name": name, **totals})
        fixed = run["policies"]["fixed"]["daily"]
        sensor = run["policies"]["sensor"]["daily"]
        trend = [
            {"day": f["day"], "fixed": f, "sensor": s} for f, s in zip(fixed, sensor, strict=True)
        ]
    return render(
        context.request,
        "waste/kpi.html",
        context,
        run=run,
        policies=policies,
        trend=trend,
        plans=planned_days(context.store, context.tenant.name),
    )


def _value(entity: EntityDoc, term: str) -> Any:
    for instance in entity.get(CETATE_WASTE + term, []):
        if isinstance(instance, dict):
            return instance.get("value")
    return None


def planned_days(store: ContextStore, tenant: str, limit: int = 60) -> list[dict[str, Any]]:
    """Per collection date (newest first, at most ``limit``): km, hours, trucks and bins of the
    tenant's stored routes (``WasteCollectionRoute`` entities written by ``cetate waste plan``)."""
    days: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        page = store.query_entities(
            tenant, EntityQuery(types=TypeName(ROUTE_TYPE), limit=500, offset=offset)
        ).entities
        for entity in page:
            day = str(_value(entity, "collectionDate") or "?")
            row = days.setdefault(
                day,
                {"day": day, "km": 0.0, "hours": 0.0, "trucks": 0, "bins": 0, "estimate": False},
            )
            distance, duration = _value(entity, "totalDistance"), _value(entity, "totalDuration")
            stops = _value(entity, "routeStops")
            row["km"] += distance / 1000 if isinstance(distance, int | float) else 0.0
            row["hours"] += duration / 3600 if isinstance(duration, int | float) else 0.0
            row["trucks"] += 1
            row["bins"] += len(stops) if isinstance(stops, list) else 0
            row["estimate"] = row["estimate"] or _value(entity, "distanceEstimate") is True
        if len(page) < 500:
            break
        offset += 500
    return sorted(days.values(), key=lambda r: r["day"], reverse=True)[:limit]
