"""/ngsi-ld/v1/temporal/entities: history, raw and aggregated."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.ngsild.helpers import sensor

V1 = "/ngsi-ld/v1"
TEMPORAL = f"{V1}/temporal/entities"
SENSOR_1 = "urn:ngsi-ld:Sensor:0001"


def observe(client: TestClient, entity_id: str, value: float, moment: str) -> None:
    fragment = {"temperature": {"type": "Property", "value": value, "observedAt": moment}}
    response = client.patch(f"{V1}/entities/{entity_id}/attrs", json=fragment)
    assert response.status_code == 204, response.text


@pytest.fixture
def history(client: TestClient) -> None:
    """Sensor 1: 21.5 at 10:00, 10 at 11:00, 20 at 11:30, 30 at 12:00 (2026-11-23).
    Sensor 2: 5 at 10:00."""
    assert client.post(f"{V1}/entities", json=sensor(1)).status_code == 201
    assert client.post(f"{V1}/entities", json=sensor(2, temperature=5.0)).status_code == 201
    observe(client, SENSOR_1, 10.0, "2026-11-23T11:00:00Z")
    observe(client, SENSOR_1, 20.0, "2026-11-23T11:30:00Z")
    observe(client, SENSOR_1, 30.0, "2026-11-23T12:00:00Z")


def get(client: TestClient, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.usefixtures("history")
def test_entity_history_normalized(client: TestClient) -> None:
    body = get(client, f"{TEMPORAL}/{SENSOR_1}", attrs="temperature")
    assert body["id"] == SENSOR_1
    assert body["type"] == "Sensor"
    instances = body["temperature"]
    assert [instance["value"] for instance in instances] == [21.5, 10.0, 20.0, 30.0]
    assert instances[1]["observedAt"] == "2026-11-23T11:00:00.000Z"
    assert instances[0]["type"] == "Property"


@pytest.mark.usefixtures("history")
def test_temporal_values_and_time_filters(client: TestClient) -> None:
    body = get(
        client,
        f"{TEMPORAL}/{SENSOR_1}",
        attrs="temperature",
        options="temporalValues",
        timerel="after",
        timeAt="2026-11-23T10:30:00Z",
    )
    assert body["temperature"]["type"] == "Property"
    assert body["temperature"]["values"] == [
        [10.0, "2026-11-23T11:00:00.000Z"],
        [20.0, "2026-11-23T11:30:00.000Z"],
        [30.0, "2026-11-23T12:00:00.000Z"],
    ]
    between = get(
        client,
        f"{TEMPORAL}/{SENSOR_1}",
        attrs="temperature",
        options="temporalValues",
        timerel="between",
        timeAt="2026-11-23T10:30:00Z",
        endTimeAt="2026-11-23T11:45:00Z",
    )
    assert [v for v, _ in between["temperature"]["values"]] == [10.0, 20.0]
    before = get(
        client,
        f"{TEMPORAL}/{SENSOR_1}",
        attrs="temperature",
        options="temporalValues",
        timerel="before",
        timeAt="2026-11-23T10:30:00Z",
    )
    assert [v for v, _ in before["temperature"]["values"]] == [21.5]


@pytest.mark.usefixtures("history")
def test_last_n(client: TestClient) -> None:
    body = get(
        client, f"{TEMPORAL}/{SENSOR_1}", attrs="temperature", options="temporalValues", lastN=2
    )
    assert [v for v, _ in body["temperature"]["values"]] == [20.0, 30.0]


@pytest.mark.usefixtures("history")
def test_aggregated_values(client: TestClient) -> None:
    body = get(
        client,
        f"{TEMPORAL}/{SENSOR_1}",
        attrs="temperature",
        options="aggregatedValues",
        aggrMethods="max,avg,totalCount",
        aggrPeriodDuration="PT1H",
        timerel="between",
        timeAt="2026-11-23T10:00:00Z",
        endTimeAt="2026-11-23T13:00:00Z",
    )
    temperature = body["temperature"]
    assert temperature["type"] == "Property"
    maxima = {start: value for value, start, _ in temperature["max"]}
    assert maxima["2026-11-23T11:00:00.000Z"] == 20.0
    assert maxima["2026-11-23T12:00:00.000Z"] == 30.0
    averages = {start: value for value, start, _ in temperature["avg"]}
    assert averages["2026-11-23T11:00:00.000Z"] == pytest.approx(15.0)
    counts = {start: value for value, start, _ in temperature["totalCount"]}
    assert counts["2026-11-23T10:00:00.000Z"] == 1


@pytest.mark.usefixtures("history")
def test_query_temporal_entities(client: TestClient) -> None:
    body = get(client, TEMPORAL, type="Sensor", attrs="temperature", options="temporalValues")
    by_id = {entity["id"]: entity for entity in body}
    assert len(by_id[SENSOR_1]["temperature"]["values"]) == 4
    assert by_id["urn:ngsi-ld:Sensor:0002"]["temperature"]["values"] == [
        [5.0, "2026-11-23T10:00:00.000Z"]
    ]
    counted = client.get(TEMPORAL, params={"type": "Sensor", "count": "true", "limit": 1})
    assert counted.headers["NGSILD-Results-Count"] == "2"
    assert len(counted.json()) == 1
    assert any('rel="next"' in value for value in counted.headers.get_list("link"))


def problem(client: TestClient, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.usefixtures("history")
def test_bad_temporal_parameters(client: TestClient) -> None:
    url = f"{TEMPORAL}/{SENSOR_1}"
    assert "timeAt" in problem(client, url, timerel="after")["detail"]
    assert (
        "endTimeAt"
        in problem(client, url, timerel="between", timeAt="2026-11-23T10:00:00Z")["detail"]
    )
    assert (
        "timerel" in problem(client, url, timerel="during", timeAt="2026-11-23T10:00:00Z")["detail"]
    )
    assert "timeAt" in problem(client, url, timerel="after", timeAt="yesterday")["detail"]
    assert "aggrMethods" in problem(client, url, options="aggregatedValues")["detail"]
    assert (
        "median" in problem(client, url, options="aggregatedValues", aggrMethods="median")["detail"]
    )
    assert (
        "aggrPeriodDuration"
        in problem(
            client, url, options="aggregatedValues", aggrMethods="avg", aggrPeriodDuration="P1M"
        )["detail"]
    )
    assert "lastN" in problem(client, url, lastN=0)["detail"]
    assert "timeproperty" in problem(client, url, timeproperty="seenAt")["detail"]


def test_history_of_a_missing_entity_is_404(client: TestClient) -> None:
    response = client.get(f"{TEMPORAL}/urn:ngsi-ld:Sensor:0404")
    assert response.status_code == 404
