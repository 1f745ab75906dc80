"""Console edges: entity ids with ``/``, a numeric attribute with a single reading, and HTML
error pages for console paths (while the APIs keep ProblemDetails)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

import httpx
import pytest

from cetate.store.base import ContextStore, HistoryRow
from tests.web.conftest import log_in

ROAD: Final = "urn:ngsi-ld:Road:cluj/centru"
ROAD_URL: Final = "/entities/urn:ngsi-ld:Road:cluj%2Fcentru"
ROAD_TYPE: Final = "https://example.org/city/Road"
LANES: Final = "https://example.org/city/lanes"
WIDTH: Final = "https://example.org/city/width"
NOISE: Final = "https://example.org/city/noise"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _reading(value: float, moment: datetime) -> dict[str, object]:
    return {"type": "Property", "value": value, "observedAt": _stamp(moment)}


@pytest.fixture
def road(console_store: ContextStore) -> datetime:
    """A road in cluj whose id has a '/': ``lanes`` read once in the last day, ``width`` read
    twice, ``noise`` never (its only reading is older than a week)."""
    now = datetime.now(UTC).replace(microsecond=0)
    once, old = now - timedelta(hours=2), now - timedelta(days=30)
    twice = [now - timedelta(hours=3), now - timedelta(hours=1)]
    with console_store.transaction("cluj") as tx:
        tx.insert(
            {
                "id": ROAD,
                "type": [ROAD_TYPE],
                "createdAt": _stamp(now),
                "modifiedAt": _stamp(now),
                LANES: [_reading(3, once)],
                WIDTH: [_reading(8.5, twice[1])],
                NOISE: [_reading(61.0, old)],
            }
        )
        rows = [(LANES, 3.0, once), (NOISE, 61.0, old)]
        rows += [(WIDTH, value, moment) for value, moment in zip((8.0, 8.5), twice, strict=True)]
        tx.append_history(
            [
                HistoryRow(
                    entity_id=ROAD,
                    attr=attr,
                    instance=_reading(value, moment),
                    observed_at=moment,
                    number=value,
                    entity_type=ROAD_TYPE,
                )
                for attr, value, moment in rows
            ]
        )
    return once


def test_an_entity_id_with_a_slash_has_its_page(client: httpx.Client, road: datetime) -> None:
    log_in(client)
    page = client.get(ROAD_URL)
    assert page.status_code == 200, page.text
    assert f"<code>{ROAD}</code>" in page.text
    listing = client.get("/entities", params={"q": "cluj/centru"})
    assert f'href="{ROAD_URL}"' in listing.text
    # the range links keep the encoded id
    assert f'href="{ROAD_URL}?range=7d"' in page.text
    charts = client.get(
        f"{ROAD_URL}?range=7d", headers={"HX-Request": "true", "HX-Target": "charts"}
    )
    assert charts.status_code == 200
    assert charts.text.startswith('<div id="charts"')


def test_a_single_reading_is_text_not_a_chart(client: httpx.Client, road: datetime) -> None:
    log_in(client)
    client.cookies.set("cetate_lang", "en")
    page = client.get(ROAD_URL).text
    charts = page[page.index('<div id="charts"') :]
    figures = charts.split('<figure class="chart">')[1:]
    by_name = {figure.split("<figcaption>")[1].split(" ")[0]: figure for figure in figures}
    assert set(by_name) == {"lanes", "noise", "width"}
    when = road.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"One reading in this range: 3 at {when}." in by_name["lanes"]
    assert "chart-plot" not in by_name["lanes"]
    assert "chart-plot" in by_name["width"]  # two readings make a line
    assert "No readings in this time range." in by_name["noise"]
    assert "chart-plot" not in by_name["noise"]


def test_a_single_reading_in_romanian(client: httpx.Client, road: datetime) -> None:
    log_in(client)
    page = client.get(ROAD_URL).text
    assert "O singură citire în acest interval: 3 la " in page


@pytest.mark.parametrize("signed_in", [True, False])
def test_an_unknown_console_path_is_an_html_page(client: httpx.Client, signed_in: bool) -> None:
    if signed_in:
        log_in(client)
    response = client.get("/nowhere/at/all")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="ro">' in response.text
    assert "Pagina nu a fost găsită." in response.text
    assert ('action="/logout"' in response.text) == signed_in  # the shell of a session
    client.cookies.set("cetate_lang", "en")
    english = client.get("/entities/urn:ngsi-ld:X:1/more")
    assert english.status_code == 404
    assert '<html lang="en">' in english.text
    assert "Page not found." in english.text


def test_bad_parameters_of_a_console_page_are_an_html_page(client: httpx.Client) -> None:
    response = client.get("/login", params={"bye": "maybe"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "Adresa conține o valoare pe care consola nu o înțelege." in response.text
    assert "bye" in response.text
    log_in(client)
    form = client.post("/lang", data={"next": "/"})  # no language
    assert form.status_code == 400
    assert form.headers["content-type"].startswith("text/html")


def test_the_apis_keep_problem_details(client: httpx.Client) -> None:
    log_in(client)
    for path in ("/ngsi-ld/v1/nowhere", "/ngsi-ld", "/console/api/nowhere"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json", path
    history = client.get("/console/api/history")  # no id
    assert history.status_code == 400
    assert history.headers["content-type"] == "application/problem+json"
    bad_limit = client.get("/ngsi-ld/v1/entities", params={"limit": "many"})
    assert bad_limit.status_code == 400
    assert bad_limit.headers["content-type"] == "application/problem+json"
