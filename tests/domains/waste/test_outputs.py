"""Route sheets (HTML + SVG), GeoJSON, GPX and CSV from a solved plan, and routes stored as
entities on both store backends."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cetate.domains.waste.entities import Truck, WasteContainer, WasteSite
from cetate.domains.waste.fill_model import FillEstimate
from cetate.domains.waste.outputs.entities import ROUTE_TYPE, route_id, save_routes
from cetate.domains.waste.outputs.files import write_outputs
from cetate.domains.waste.outputs.model import PlannedRoute, planned_routes
from cetate.domains.waste.outputs.sheet import route_sheet
from cetate.domains.waste.outputs.tracks import geojson, gpx, stops_csv
from cetate.domains.waste.plan import build_problem
from cetate.domains.waste.routing.pyvrp_solver import PyVRPSolver
from cetate.domains.waste.selection import select
from cetate.entities import EntityService
from cetate.ngsi.model import LOCATION
from cetate.store.base import ContextStore

NOW = datetime(2026, 11, 23, 18, tzinfo=UTC)
DAY = date(2026, 11, 24)
GPX_NS = {"g": "http://www.topografix.com/GPX/1/1"}


def planned() -> list[PlannedRoute]:
    depot = WasteSite("urn:ngsi-ld:WasteSite:cluj:depot", "depot", 46.78, 23.61)
    landfill = WasteSite("urn:ngsi-ld:WasteSite:cluj:tsr", "facility", 46.79, 23.65, service_s=600)
    bins = [
        WasteContainer(
            f"urn:ngsi-ld:WasteContainer:cluj:b{i}", 46.76 + i * 0.002, 23.58 + i * 0.001, 1100
        )
        for i in range(6)
    ]
    estimates = {
        b.id: FillEstimate(b.id, 0.95 if i < 4 else 0.5, NOW, 0.05, 0.01)
        for i, b in enumerate(bins)
    }
    chosen = select(bins, estimates, NOW + timedelta(hours=12), NOW + timedelta(days=1))
    truck = Truck(
        "urn:ngsi-ld:Vehicle:cluj:t1", 2500, 8000, depot.id, reload_at=(landfill.id,)
    )  # 2 bins per trip: reloads needed
    problem = build_problem(bins, chosen, [truck], [depot, landfill])
    solution = PyVRPSolver().solve(problem, seconds=0.3, seed=1)
    assert solution.feasible
    addresses = {bins[0].id: 'Str. Memorandumului 28 <"&">'}
    return planned_routes(solution, DAY, bins, [depot, landfill], chosen, addresses)


def test_route_sheet_geojson_gpx_csv(tmp_path: Path) -> None:
    [route] = planned()
    assert route.trips >= 2
    assert route.estimate
    kinds = [s.kind for s in route.stops]
    assert kinds[0] == kinds[-1] == "depot"
    assert "facility" in kinds
    sheet = route_sheet(route)
    assert "<svg" in sheet
    assert "<polyline" in sheet
    assert "@media print" in sheet
    assert "Distances are an estimate" in sheet
    assert "Str. Memorandumului 28 &lt;&#34;&amp;&#34;&gt;" in sheet  # escaped
    assert "http" not in sheet.replace("http://www.w3.org/2000/svg", "")  # no tiles, no fetch
    for stop in route.bins:
        assert stop.id in sheet
    doc = geojson(route)
    line = doc["features"][0]
    assert line["geometry"]["type"] == "LineString"
    assert len(line["geometry"]["coordinates"]) == len(route.stops)
    assert line["properties"]["distances"] == "estimate"
    assert [f["properties"]["id"] for f in doc["features"][1:]] == [s.id for s in route.stops]
    tree = ET.fromstring(gpx(route).encode())
    assert len(tree.findall("g:rte/g:rtept", GPX_NS)) == len(route.stops)
    assert len(tree.findall("g:trk/g:trkseg/g:trkpt", GPX_NS)) == len(route.stops)
    assert "estimate" in (tree.findtext("g:metadata/g:name", namespaces=GPX_NS) or "")
    rows = list(csv.DictReader(io.StringIO(stops_csv([route]))))
    assert len(rows) == len(route.stops)
    bins = [r for r in rows if r["kind"] == "stop"]
    assert {r["required"] for r in bins} <= {"yes", "no"}
    assert all(r["distances"] == "estimate" for r in rows)
    assert float(bins[0]["expected_fill"]) > 0
    written = write_outputs(tmp_path / "out", [route])
    assert sorted(p.name for p in written) == [
        "route-01.geojson",
        "route-01.gpx",
        "route-01.html",
        "stops.csv",
    ]
    json.loads((tmp_path / "out" / "route-01.geojson").read_text(encoding="utf-8"))


def test_routes_are_stored_as_entities(store: ContextStore) -> None:
    routes = planned()
    result = save_routes(EntityService(store), "cluj", routes)
    assert not result.errors
    stored = store.get_entity("cluj", route_id("cluj", routes[0]))
    assert stored is not None
    assert ROUTE_TYPE in stored["type"]
    stops = next(v for k, v in stored.items() if k.endswith("routeStops"))
    assert stops[0]["value"] == [s.id for s in routes[0].bins]
    geometry = stored[LOCATION][0]["value"]
    assert geometry["type"] == "LineString"
    assert next(v for k, v in stored.items() if k.endswith("distanceEstimate"))[0]["value"] is True
    # a second plan for the same truck and day replaces the first
    assert not save_routes(EntityService(store), "cluj", routes).errors
