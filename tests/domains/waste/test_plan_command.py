"""``cetate waste plan`` end to end through typer's CliRunner on a real SQLite file: entities
and fill readings stored, plan solved, files written, routes stored; infeasible plans exit 1
with their reason, bad input exits 2 with a clear message."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cetate.cli import app
from cetate.domains.waste.entities import (
    FILLING_LEVEL,
    Truck,
    WasteContainer,
    WasteSite,
    save,
)
from cetate.domains.waste.outputs.entities import ROUTE_TYPE
from cetate.domains.waste.outputs.model import ADDRESS
from cetate.entities import EntityService
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.timestamps import format_datetime
from cetate.store.base import EntityQuery, Tenant, open_store
from tests.domains.waste.helsinki import helsinki, helsinki_pbf, node_point

runner = CliRunner()
TENANT = "cluj"
DEPOT = WasteSite("urn:ngsi-ld:WasteSite:cluj:depot", "depot", 46.78, 23.61, open_s=5 * 3600)
TRUCK = Truck("urn:ngsi-ld:Vehicle:cluj:t1", 16000, 8000, DEPOT.id)


def seed(url: str, bins: list[WasteContainer], trucks: list[Truck], sites: list[WasteSite]) -> None:
    """Entities and six days of rising fill readings (up to now) per bin."""
    store = open_store(url)
    try:
        store.migrate()
        store.put_tenant(Tenant(name=TENANT, title=TENANT))
        service = EntityService(store)
        assert not save(service, TENANT, [*bins, *trucks, *sites]).errors
        if bins:  # the first bin has a FIWARE PostalAddress
            address = {"streetAddress": "Str. Memorandumului 28", "addressLocality": "Cluj-Napoca"}
            service.append_attributes(
                TENANT, bins[0].id, {ADDRESS: [{"type": "Property", "value": address}]}
            )
        now = datetime.now(UTC)
        for step in range(12):
            at = now - timedelta(hours=12 * (12 - step))
            for bin_ in bins:
                level = round(0.3 + 0.05 * step, 3)  # 0.85 at the end: required tomorrow
                attrs = {
                    FILLING_LEVEL: [
                        {"type": "Property", "value": level, "observedAt": format_datetime(at)}
                    ]
                }
                service.append_attributes(TENANT, bin_.id, attrs)
    finally:
        store.close()


def plan(url: str, out: Path, *extra: str) -> Result:
    args = ["waste", "plan", "--tenant", TENANT, "--date", "tomorrow", "--seconds", "0.5"]
    return runner.invoke(app, [*args, "--out", str(out), "--database-url", url, *extra])


def cluj_bins(n: int = 4, capacity: int = 1100) -> list[WasteContainer]:
    return [
        WasteContainer(f"urn:ngsi-ld:WasteContainer:cluj:b{i}", 46.77 + i * 0.001, 23.59, capacity)
        for i in range(n)
    ]


def test_plan_writes_sheets_tracks_and_stores_routes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cetate.db'}"
    seed(url, cluj_bins(), [TRUCK], [DEPOT])
    result = plan(url, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "4 required" in result.output
    assert "4 chosen" in result.output
    assert "distances: estimate" in result.output
    assert "1 route(s) written" in result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["route-01.geojson", "route-01.gpx", "route-01.html", "stops.csv"]
    sheet = (tmp_path / "out" / "route-01.html").read_text(encoding="utf-8")
    assert "Str. Memorandumului 28, Cluj-Napoca" in sheet
    store = open_store(url)
    try:
        found = store.query_entities(TENANT, EntityQuery(types=TypeName(ROUTE_TYPE))).entities
    finally:
        store.close()
    assert len(found) == 1


def test_plan_on_the_helsinki_network(tmp_path: Path) -> None:
    graph = helsinki()
    url = f"sqlite:///{tmp_path / 'cetate.db'}"
    depot = WasteSite("urn:ngsi-ld:WasteSite:cluj:depot", "depot", *node_point(graph, 3))
    bins = [
        WasteContainer(f"urn:ngsi-ld:WasteContainer:cluj:h{i}", *node_point(graph, i * 131), 1100)
        for i in range(1, 6)
    ]
    seed(url, bins, [TRUCK], [depot])
    result = plan(url, tmp_path / "out", "--network", str(helsinki_pbf()))
    assert result.exit_code == 0, result.output
    assert "distances: road network" in result.output
    track = json.loads((tmp_path / "out" / "route-01.geojson").read_text(encoding="utf-8"))
    line, *stops = track["features"]
    assert line["properties"]["distances"] == "road network"
    # the line follows the roads: it passes through road nodes between the stops
    assert len(line["geometry"]["coordinates"]) > len(stops)
    index = {
        (round(float(x), 7), round(float(y), 7)): i
        for i, (x, y) in enumerate(zip(graph.lon, graph.lat, strict=True))
    }
    path = [index[(round(x, 7), round(y, 7))] for x, y in line["geometry"]["coordinates"]]
    steps = [(a, b) for a, b in itertools.pairwise(path) if a != b]
    assert steps
    assert all(graph.distance_m[a, b] > 0 for a, b in steps)  # each step is a road arc
    # a bin in Cluj is not on the Helsinki network: a clear error, no plan
    seed(url, [WasteContainer("urn:ngsi-ld:WasteContainer:cluj:far", 46.77, 23.59, 1100)], [], [])
    result = plan(url, tmp_path / "out2", "--network", str(helsinki_pbf()))
    assert result.exit_code == 2
    assert "does not cover 1 point(s)" in result.output
    assert "urn:ngsi-ld:WasteContainer:cluj:far" in result.output
    assert not (tmp_path / "out2").exists()


@pytest.mark.parametrize(
    ("bins", "truck", "reason"),
    [
        (cluj_bins(2, capacity=30000), TRUCK, "capacity: bin urn:ngsi-ld:WasteContainer:cluj:b"),
        (
            cluj_bins(2),
            Truck("urn:ngsi-ld:Vehicle:cluj:t1", 16000, 8000, DEPOT.id, max_shift_s=300),
            "shift: bin urn:ngsi-ld:WasteContainer:cluj:b0: every shift is shorter",
        ),
    ],
)
def test_infeasible_plans_exit_1_with_the_reason(
    tmp_path: Path, bins: list[WasteContainer], truck: Truck, reason: str
) -> None:
    url = f"sqlite:///{tmp_path / 'cetate.db'}"
    seed(url, bins, [truck], [DEPOT])
    result = plan(url, tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert "INFEASIBLE" in result.output
    assert reason in result.output
    assert not (tmp_path / "out").exists()


def test_bad_input(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cetate.db'}"
    seed(url, cluj_bins(1), [], [DEPOT])
    result = plan(url, tmp_path / "out")
    assert result.exit_code == 2
    assert "no truck (Vehicle) to plan with" in result.output
    result = runner.invoke(
        app, ["waste", "plan", "--tenant", TENANT, "--date", "24.11.2026", "--database-url", url]
    )
    assert result.exit_code == 2
    assert "use tomorrow, today or YYYY-MM-DD" in result.output
    result = plan(url, tmp_path / "out", "--network", str(tmp_path / "missing.osm.pbf"))
    assert result.exit_code == 2
    assert "no such file" in result.output
