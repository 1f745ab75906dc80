"""The public air pages and open-data downloads with the TestClient: no login, both languages,
public and non-public tenants, bad parameters (HTML error pages and ProblemDetails)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cetate.auth.tokens import issue_token
from cetate.domains.environment.simulator import Simulation, simulate_city
from cetate.entities import EntityService
from cetate.ngsi.timestamps import utc_now
from cetate.store.base import ContextStore, open_store
from tests.domains.environment.support import PRIVATE, TENANT, application, public_tenants

PROBLEM = "application/problem+json"


@dataclass
class Site:
    client: TestClient
    sim: Simulation
    store: ContextStore


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    path: Path = tmp_path_factory.mktemp("air") / "cetate.db"
    store = open_store(f"sqlite:///{path}")
    store.migrate()
    public_tenants(store)
    sim = simulate_city(EntityService(store), TENANT, stations=4, hours=48, faulty=2, gap_rate=0)
    simulate_city(EntityService(store), PRIVATE, city="brasov", stations=1, hours=2)
    with TestClient(application(store)) as client:
        yield Site(client, sim, store)
    store.close()


def _lang(client: TestClient, lang: str) -> None:
    client.cookies.set("cetate_lang", lang)


def _problem(response: Any, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    for word in words:
        assert word in body["detail"], body
    return body


def _station_url(site: Site, number: int) -> str:
    return f"/air/{TENANT}/station/{site.sim.stations[number]}"


@pytest.mark.parametrize(
    ("lang", "title", "good_words"),
    [
        ("ro", "Calitatea aerului în Constanța", "determinat de"),
        ("en", "Air quality in Constanța", "driven by"),
    ],
)
def test_map_page_in_both_languages(site: Site, lang: str, title: str, good_words: str) -> None:
    _lang(site.client, lang)
    r = site.client.get(f"/air/{TENANT}")
    assert r.status_code == 200, r.text
    assert f'<html lang="{lang}">' in r.text
    assert title in r.text
    assert r.text.count('<li data-band="') == 4
    assert good_words in r.text
    data = json.loads(re.search(r'id="air-map-data">(.*?)</script>', r.text).group(1))  # type: ignore[union-attr]
    assert len(data["features"]) == 4
    assert {f["properties"]["url"] for f in data["features"]} == {
        _station_url(site, k) for k in range(4)
    }
    colours = {f["properties"]["colour"] for f in data["features"]}
    bands = {"#50f0e6", "#50ccaa", "#f0e641", "#ff5050", "#960032", "#7d2181"}
    assert colours <= bands | {"#9aa0a6"}  # grey: insufficient data
    assert colours & bands
    assert 'action="/logout"' not in r.text  # no signed-in shell


def test_faulty_sensor_does_not_colour_the_map(site: Site) -> None:
    """The NO2 sensor reporting 5000 µg/m³ would make the index 'extremely poor'; it is left
    out — and without NO2 the EEA rule gives no index — and the page says the sensor is
    faulty."""
    _lang(site.client, "en")
    [spike] = site.sim.out_of_range
    number = site.sim.stations.index(spike)
    r = site.client.get(_station_url(site, number))
    assert r.status_code == 200, r.text
    assert "faulty sensor" in r.text
    assert "no2: latest reading" in r.text
    band = re.search(r'id="air-index" data-band="([a-z-]+)"', r.text).group(1)  # type: ignore[union-attr]
    assert band == "none"
    assert "insufficient data" in r.text
    assert "missing NO2" in r.text


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("ro", ("Populația generală", "Grupuri sensibile", "Ultimele 48 de ore", "funcționează")),
        ("en", ("General public", "Sensitive groups", "The last 48 hours", "online")),
    ],
)
def test_station_page(site: Site, lang: str, words: tuple[str, ...]) -> None:
    _lang(site.client, lang)
    healthy = next(s for s in site.sim.stations if s not in site.sim.faulty)
    r = site.client.get(f"/air/{TENANT}/station/{healthy}")
    assert r.status_code == 200, r.text
    for word in words:
        assert word in r.text
    chart = json.loads(re.search(r'id="air-chart-data">(.*?)</script>', r.text).group(1))  # type: ignore[union-attr]
    assert len(chart["times"]) == 48
    assert [s["label"] for s in chart["series"]] == ["PM2.5", "PM10", "NO2", "O3", "SO2"]
    assert chart["series"][2]["values"][-1] is None  # the current hour has no data yet
    assert sum(v is not None for v in chart["series"][2]["values"]) in (46, 47)  # hour change
    assert "/api/environment/constanta/hourly.csv?station=" in r.text
    assert f"/compliance/{utc_now().year}" in r.text


def test_compliance_report_page_and_csv(site: Site) -> None:
    _lang(site.client, "ro")
    url = f"{_station_url(site, 1)}/compliance/{utc_now().year}"
    r = site.client.get(url)
    assert r.status_code == 200, r.text
    assert "Raport de conformitate" in r.text
    assert "date insuficiente" in r.text
    assert "Captura datelor orare" in r.text
    _lang(site.client, "en")
    r = site.client.get(url, params={"set": "eu-2024-2881"})
    assert "Compliance report" in r.text
    assert "2024/2881" in r.text
    r = site.client.get(url, params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["station"] for row in rows} == {site.sim.stations[1]}
    statuses = {row["status"] for row in rows}
    assert "insufficient data" in statuses  # two days of data in a year
    assert statuses <= {"insufficient data", "exceeded", "not measured"}


def test_hourly_open_data(site: Site) -> None:
    now = utc_now()
    params = {
        "station": site.sim.stations[2],
        "start": (now - timedelta(days=3)).date().isoformat(),
        "end": (now + timedelta(days=1)).date().isoformat(),
    }
    r = site.client.get(f"/api/environment/{TENANT}/hourly.csv", params=params)
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 48
    assert list(rows[0]) == [
        "station",
        "hour_start_utc",
        "pm25",
        "pm10",
        "no2",
        "o3",
        "so2",
        "co",
        "eaqi_2024",
    ]
    assert all(row["co"] == "" and float(row["no2"]) >= 0 for row in rows)
    assert r.headers["x-rejected-readings"] == "0"
    r = site.client.get(f"/api/environment/{TENANT}/hourly.geojson", params=params)
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 48
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"]["hourStart"] == rows[0]["hour_start_utc"]
    assert feature["properties"]["no2"] == float(rows[0]["no2"])


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({}, 400, ("station is required",)),
        (
            {"station": "urn:x:none", "start": "2026-01-01", "end": "2026-01-02"},
            404,
            ("no air-quality station",),
        ),
        (
            {"start": "yesterday", "end": "2026-01-02"},
            400,
            ("start 'yesterday' is not an ISO 8601",),
        ),
        ({"start": "2026-01-02", "end": "2026-01-01"}, 400, ("end must be after start",)),
        ({"start": "2024-01-01", "end": "2026-01-01"}, 400, ("longer than 366 days",)),
        ({"start": "2099-01-01", "end": "2099-01-02"}, 400, ("in the future",)),
        ({"end": "2026-01-02"}, 400, ("start is required",)),
    ],
)
def test_bad_download_parameters(
    site: Site, params: dict[str, str], status: int, words: tuple[str, ...]
) -> None:
    query = (
        {"station": site.sim.stations[0], **params}
        if "station" not in params and params
        else params
    )
    _problem(site.client.get(f"/api/environment/{TENANT}/hourly.csv", params=query), status, *words)


def test_bad_page_parameters_get_error_pages(site: Site) -> None:
    _lang(site.client, "en")
    base = _station_url(site, 0)
    for url, status, words in [
        (f"{base}/compliance/1800", 400, "year must be between 1990"),
        (f"{base}/compliance/2999", 400, "year must be between"),
        (f"{base}/compliance/{utc_now().year}?set=who", 400, "unknown limit set"),
        (f"{base}/compliance/{utc_now().year}?format=pdf", 400, "format must be html or csv"),
        (f"{base}/compliance/last", 400, ""),
        (
            f"/air/{TENANT}/station/urn:ngsi-ld:AirQualityObserved:nope",
            404,
            "no air-quality station",
        ),
        (f"/air/{TENANT}/station/urn:ngsi-ld:Rule:x", 404, ""),
        ("/air/atlantis", 404, "does not exist"),
    ]:
        r = site.client.get(url)
        assert r.status_code in (status, 422), (url, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), url
        assert words in r.text, (url, r.text[-800:])
    _lang(site.client, "ro")
    r = site.client.get(f"{base}/compliance/1800")
    assert r.status_code == 400
    assert '<html lang="ro">' in r.text


def test_only_public_data_without_login(site: Site) -> None:
    """Brașov does not publish its stations: anonymous visitors are refused, its own viewers
    are let in; the download API answers with ProblemDetails."""
    r = site.client.get(f"/air/{PRIVATE}")
    assert r.status_code == 401
    _problem(
        site.client.get(
            f"/api/environment/{PRIVATE}/hourly.csv",
            params={"station": "x", "start": "2026-01-01", "end": "2026-01-02"},
        ),
        401,
        "needs credentials",
    )
    _, secret = issue_token(site.store, PRIVATE, "viewer", "viewer of brasov")
    r = site.client.get(f"/air/{PRIVATE}", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200, r.text
    assert "Brașov" in r.text
    # a token of another tenant reads only what is public: Constanța yes, Brașov no
    _, other = issue_token(site.store, TENANT, "viewer", "viewer of constanta")
    assert (
        site.client.get(f"/air/{PRIVATE}", headers={"Authorization": f"Bearer {other}"}).status_code
        == 403
    )


def test_nav_entry_and_redirect(site: Site) -> None:
    r = site.client.get("/air", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/air/{TENANT}"
    r = site.client.get("/environment-assets/air.js")
    assert r.status_code == 200
    assert "uPlot" in r.text


def test_a_station_is_found_only_in_its_own_tenant(site: Site) -> None:
    """Constanța's station asked for under Brașov (by Brașov's own viewer) is not there, in
    the pages or the downloads; the core's route census names this test for these routes."""
    _, secret = issue_token(site.store, PRIVATE, "viewer", "viewer of brasov, again")
    brasov = {"Authorization": f"Bearer {secret}"}
    station = site.sim.stations[0]
    page = site.client.get(f"/air/{PRIVATE}/station/{station}", headers=brasov)
    assert page.status_code == 404
    report = site.client.get(f"/air/{PRIVATE}/station/{station}/compliance/2026", headers=brasov)
    assert report.status_code == 404
    now = utc_now()
    params = {
        "station": station,
        "start": (now - timedelta(days=3)).date().isoformat(),
        "end": (now + timedelta(days=1)).date().isoformat(),
    }
    for fmt in ("csv", "geojson"):
        download = site.client.get(
            f"/api/environment/{PRIVATE}/hourly.{fmt}", params=params, headers=brasov
        )
        assert download.status_code == 404, (fmt, download.text[:300])
    # and Brașov's own map lists only its own station
    assert station not in site.client.get(f"/air/{PRIVATE}", headers=brasov).text
