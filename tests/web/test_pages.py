"""The console's pages over HTTP, without a browser (src/cetate/web/pages.py)."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.auth.sessions import SESSION_COOKIE_NAME
from tests.web.conftest import ADMIN, PM25, VIEWER, WASTE, log_in


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.mark.parametrize(
    "path", ["/", "/entities", "/map", "/entities/urn:ngsi-ld:X:1", "/entities?type=A&q=b"]
)
def test_logged_out_pages_redirect_to_login(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/login")
    if path != "/":
        assert "next=" in location


def test_logged_out_htmx_request_redirects_the_whole_page(client: httpx.Client) -> None:
    response = client.get("/entities", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith("/login")


def test_logged_out_json_is_401(client: httpx.Client) -> None:
    assert client.get("/console/api/geojson").status_code == 401


def test_login_page_is_romanian_by_default(client: httpx.Client) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="ro">' in page.text
    assert '<label for="username">Nume de utilizator</label>' in page.text
    assert '<label for="password">Parolă</label>' in page.text


def test_login_failure_says_what_is_wrong(client: httpx.Client) -> None:
    response = client.post("/login", data={"username": "admin", "password": "wrong-password"})
    assert response.status_code == 401
    assert "Nume de utilizator sau parolă greșite" in response.text
    assert 'role="alert"' in response.text
    assert 'value="admin"' in response.text  # the username is kept
    assert SESSION_COOKIE_NAME not in response.cookies
    client.cookies.set("cetate_lang", "en")
    response = client.post("/login", data={"username": "nobody", "password": "whatever12345"})
    assert response.status_code == 401
    assert "Wrong username or password" in response.text


def test_login_goes_to_next_but_never_off_site(client: httpx.Client) -> None:
    response = client.post(
        "/login", data={"username": ADMIN[0], "password": ADMIN[1], "next": "/map"}
    )
    assert response.headers["location"] == "/map"
    cookie = response.cookies[SESSION_COOKIE_NAME]
    assert cookie
    client.cookies.clear()
    response = client.post(
        "/login",
        data={"username": ADMIN[0], "password": ADMIN[1], "next": "//evil.example/"},
    )
    assert response.headers["location"] == "/"


def test_home_lists_types_with_counts(client: httpx.Client) -> None:
    log_in(client)
    page = client.get("/")
    assert page.status_code == 200
    assert "Tipuri de entități" in page.text
    assert "WasteContainer" in page.text
    assert "5 entități în total" in page.text
    assert re.search(r"WasteContainer</span>\s*<span class=\"type-count\">.*3</span>", page.text)
    assert "Autentificat ca Ana Pop · administrator" in page.text


def test_entity_browser_filters_and_paginates(client: httpx.Client) -> None:
    log_in(client)
    page = client.get("/entities", params={"type": WASTE})
    assert page.text.count('class="id-cell"') == 3
    assert "1–3 din 3" in page.text
    page = client.get("/entities", params={"q": "0002"})
    assert page.text.count('class="id-cell"') == 1
    assert "WasteContainer:cluj:0002" in page.text
    page = client.get("/entities", params={"q": "MĂRĂȘTI"})  # case-insensitive, diacritics
    assert "AirQualityObserved:cluj:mărăști" in page.text
    page = client.get("/entities", params={"q": "no-such-thing"})
    assert "Nicio entitate nu corespunde" in page.text


def test_entity_browser_htmx_partial(client: httpx.Client) -> None:
    log_in(client)
    partial = client.get(
        "/entities",
        params={"q": "0001"},
        headers={"HX-Request": "true", "HX-Target": "entity-results"},
    )
    assert partial.text.lstrip().startswith('<div id="entity-results"')
    assert "<html" not in partial.text
    assert "WasteContainer:cluj:0001" in partial.text


def test_pagination(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cetate.web.pages.PAGE_SIZE", 2)
    log_in(client)
    first = client.get("/entities")
    assert "1–2 din 5" in first.text
    assert 'rel="next" href="/entities?page=2"' in first.text
    third = client.get("/entities", params={"page": 3})
    assert "5–5 din 5" in third.text
    assert 'rel="prev" href="/entities?page=2"' in third.text
    assert 'rel="next"' not in third.text


def test_geojson_of_entities_with_location(client: httpx.Client) -> None:
    log_in(client)
    data = client.get("/console/api/geojson").json()
    assert data["type"] == "FeatureCollection"
    ids = {f["id"] for f in data["features"]}
    assert len(ids) == 4  # the building has no location
    feature = next(f for f in data["features"] if f["id"].endswith(":0001"))
    assert feature["geometry"] == {"type": "Point", "coordinates": [23.5899, 46.7712]}
    assert feature["properties"]["url"] == "/entities/urn:ngsi-ld:WasteContainer:cluj:0001"
    only_waste = client.get("/console/api/geojson", params={"type": WASTE}).json()
    assert len(only_waste["features"]) == 3


def test_map_page(client: httpx.Client) -> None:
    log_in(client)
    page = client.get("/map")
    assert 'id="entity-map"' in page.text
    assert "/static/vendor/leaflet/leaflet.js" in page.text
    assert 'data-tile-url=""' in page.text  # no tiles by default: works offline


def test_entity_detail_shows_attributes_and_chart_data(client: httpx.Client) -> None:
    log_in(client)
    page = client.get("/entities/urn:ngsi-ld:WasteContainer:cluj:0001")
    assert page.status_code == 200
    assert ">fillingLevel<" in page.text
    assert "<td>P1</td>" in page.text
    assert "Piața Unirii 1" in page.text
    assert 'href="/entities/urn:ngsi-ld:Device:cluj:sensor-1"' in page.text
    assert 'class="chart-plot"' in page.text
    assert "24 citiri" in page.text  # hourly readings in the last 24 h
    week = client.get(
        "/entities/urn:ngsi-ld:WasteContainer:cluj:0001",
        params={"range": "7d"},
        headers={"HX-Request": "true", "HX-Target": "charts"},
    )
    assert week.text.lstrip().startswith('<div id="charts"')
    assert "73 citiri" in week.text  # 72 h of history, all within a week


def test_entity_detail_with_non_ascii_id(client: httpx.Client) -> None:
    log_in(client)
    entity_id = "urn:ngsi-ld:AirQualityObserved:cluj:mărăști"
    page = client.get("/entities/" + quote(entity_id, safe=":"))
    assert page.status_code == 200
    assert ">pm25<" in page.text


def test_history_json(client: httpx.Client) -> None:
    log_in(client)
    data = client.get(
        "/console/api/history",
        params={"id": "urn:ngsi-ld:AirQualityObserved:cluj:mărăști", "range": "7d"},
    ).json()
    (series,) = data["series"]
    assert series["attr"] == PM25
    assert series["unit"] == "GQ"
    assert len(series["times"]) == len(series["values"]) > 100
    assert series["times"] == sorted(series["times"])


def test_unknown_entity_is_404_with_a_message(client: httpx.Client) -> None:
    log_in(client)
    page = client.get("/entities/urn:ngsi-ld:Nothing:here")
    assert page.status_code == 404
    assert "Nu există nicio entitate cu identificatorul urn:ngsi-ld:Nothing:here" in page.text


def test_language_switch_is_remembered(client: httpx.Client) -> None:
    log_in(client)
    response = client.post("/lang", data={"lang": "en", "next": "/entities"})
    assert response.status_code == 303
    assert response.headers["location"] == "/entities"
    page = client.get("/entities")
    assert '<html lang="en">' in page.text
    assert "<h1>Entities</h1>" in page.text
    client.post("/lang", data={"lang": "ro", "next": "/"})
    assert "<h1>Entități</h1>" in client.get("/entities").text
    client.post("/lang", data={"lang": "xx", "next": "https://evil.example/"})
    assert client.cookies.get("cetate_lang") == "ro"


def test_tenant_switch(client: httpx.Client) -> None:
    log_in(client)
    home = client.get("/")
    assert '<option value="iasi">Iași</option>' in home.text
    response = client.post(
        "/tenant", data={"tenant": "iasi", "csrf": _csrf(home.text), "next": "/"}
    )
    assert response.status_code == 303
    page = client.get("/")
    assert "Streetlight" in page.text
    assert "WasteContainer" not in page.text
    assert len(client.get("/console/api/geojson").json()["features"]) == 1


def test_tenant_switch_only_to_own_tenants(client: httpx.Client) -> None:
    log_in(client, VIEWER)
    home = client.get("/")
    assert "cititor" in home.text  # role shown in Romanian
    response = client.post("/tenant", data={"tenant": "iasi", "csrf": _csrf(home.text)})
    assert response.status_code == 403
    assert "Nu aveți niciun rol" in response.text


def test_forms_need_the_session_csrf_token(client: httpx.Client) -> None:
    log_in(client)
    response = client.post("/tenant", data={"tenant": "iasi", "csrf": "forged"})
    assert response.status_code == 403
    assert client.post("/logout", data={"csrf": ""}).status_code == 403


def test_logout(client: httpx.Client) -> None:
    log_in(client)
    token = _csrf(client.get("/").text)
    response = client.post("/logout", data={"csrf": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?bye=1"
    assert SESSION_COOKIE_NAME not in client.cookies
    assert "Ați ieșit din cont." in client.get("/login?bye=1").text
    assert client.get("/").status_code == 303


def test_static_files_and_vendored_licences(client: httpx.Client) -> None:
    for path in (
        "/static/console.css",
        "/static/console.js",
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/LICENSE.txt",
        "/static/vendor/uplot/uPlot.iife.min.js",
        "/static/vendor/uplot/LICENSE.txt",
        "/static/vendor/htmx/LICENSE.txt",
    ):
        assert client.get(path).status_code == 200, path


def test_bad_page_number_falls_back_to_the_first_page(client: httpx.Client) -> None:
    log_in(client)
    for page in ("0", "abc", "-3"):
        response = client.get("/entities", params={"page": page})
        assert response.status_code == 200
        assert "1–5 din 5" in response.text


def test_open_access_needs_no_login(console_app: FastAPI) -> None:
    console_app.state.settings = console_app.state.settings.model_copy(update={"open_access": True})
    with TestClient(console_app, follow_redirects=False) as open_client:
        assert open_client.get("/login").status_code == 303
        page = open_client.get("/")
        assert page.status_code == 200
        assert "WasteContainer" in page.text
        assert '<option value="iasi">Iași</option>' in page.text
