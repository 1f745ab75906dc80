"""The waste console pages with the TestClient: the bins map coloured by fill and by forecast,
the KPI page from the tenant's stored simulation run, both languages, tenant isolation and bad
input."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cetate.store.base import ContextStore
from tests.domains.waste.pages_support import (
    OPERATOR,
    STRANGER,
    VIEWER,
    application,
    seeded_store,
)


@pytest.fixture(scope="module")
def app_store(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, ContextStore]]:
    path: Path = tmp_path_factory.mktemp("waste-pages") / "cetate.db"
    store = seeded_store(path)  # the console finds the domain through its entry point
    try:
        with TestClient(application(store, path), follow_redirects=False) as client:
            yield client, store
    finally:
        store.close()


@pytest.fixture
def client(app_store: tuple[TestClient, ContextStore]) -> Iterator[TestClient]:
    client = app_store[0]
    client.cookies.clear()
    yield client
    client.cookies.clear()


def _log_in(client: TestClient, user: tuple[str, str], lang: str = "en") -> None:
    response = client.post("/login", data={"username": user[0], "password": user[1]})
    assert response.status_code == 303, response.text
    client.cookies.set("cetate_lang", lang)


def _geojson(html: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="waste-map-data">(.*?)</script>', html, re.S
    )
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def _colours(html: str) -> dict[str, str]:
    return {f["properties"]["name"]: f["properties"]["colour"] for f in _geojson(html)["features"]}


def test_logged_out_goes_to_login(client: TestClient) -> None:
    response = client.get("/waste/bins")
    assert response.status_code in (302, 303, 307)
    assert "/login" in response.headers["location"]


def test_bins_map_coloured_by_fill(client: TestClient) -> None:
    _log_in(client, OPERATOR)
    response = client.get("/waste/bins")
    assert response.status_code == 200
    html = response.text
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert 'data-tile-url=""' in html  # no tiles unless configured
    colours = _colours(html)
    assert set(colours) == {"b1", "b2", "b3"}
    assert colours["b1"] == "#b5262a"  # 95 %: red
    assert colours["b2"] == "#2a7f3f"  # 20 %: green
    assert colours["b3"] == "#888888"  # no reading
    assert "Days to full" in html
    assert 'href="/waste/bins"' in html  # the nav entry


def test_bins_map_coloured_by_forecast(client: TestClient) -> None:
    _log_in(client, VIEWER, "ro")
    response = client.get("/waste/bins?colour=forecast")
    assert response.status_code == 200
    assert "Zile până la umplere" in response.text
    colours = _colours(response.text)
    assert colours["b1"] == "#b5262a"  # full within a day
    assert colours["b2"] == "#2a7f3f"  # weeks away


def test_bad_colour_mode_is_a_clear_error(client: TestClient) -> None:
    _log_in(client, OPERATOR)
    response = client.get("/waste/bins?colour=rainbow")
    assert response.status_code == 400
    assert "colour must be one of fill, forecast" in response.text


def test_kpi_page_shows_both_policies(client: TestClient) -> None:
    _log_in(client, VIEWER)
    response = client.get("/waste/kpi")
    assert response.status_code == 200
    html = response.text
    assert 'data-policy="fixed"' in html
    assert 'data-policy="sensor"' in html
    assert "Average fill at emptying" in html
    assert "Simulation of 30 bins" in html
    plan = re.search(r'<tr data-day="2026-11-24">(.*?)</tr>', html, re.S)
    assert plan is not None  # the stored plan: 2 trucks, 20.0 km, 3 bins
    cells = re.findall(r"<td>(.*?)</td>", plan.group(1))
    assert cells == ["20.0 *", "2.0", "2", "3"]
    _log_in(client, VIEWER, "ro")
    assert "Umplerea medie la golire" in client.get("/waste/kpi").text


def test_another_tenants_user_sees_nothing_of_cluj(client: TestClient) -> None:
    _log_in(client, STRANGER)
    bins = client.get("/waste/bins")
    assert bins.status_code == 200
    assert set(_colours(bins.text)) == {"x9"}
    assert "cluj:b1" not in bins.text
    kpi = client.get("/waste/kpi")
    assert kpi.status_code == 200
    assert 'data-policy="fixed"' not in kpi.text
    assert "data-day=" not in kpi.text
    assert "cetate waste simulate --tenant iasi" in kpi.text
