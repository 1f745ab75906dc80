"""Ids and names with ``/`` in URL paths (sent as ``%2F``), and the NGSILD-Tenant header
echoed in responses."""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

V1: Final = "/ngsi-ld/v1"
ENTITIES: Final = f"{V1}/entities"
ROAD: Final = "urn:ngsi-ld:Road:a/b"
ROAD_TYPE: Final = "https://example.org/city/Road"
LANES: Final = "https://example.org/city/lanes"


def segment(value: str) -> str:
    """One URL path segment, ``/`` encoded as ``%2F``."""
    return quote(value, safe=":")


def road(entity_id: str = ROAD, lanes: int = 2) -> dict[str, object]:
    return {
        "id": entity_id,
        "type": ROAD_TYPE,
        LANES: {"type": "Property", "value": lanes, "observedAt": "2026-11-23T10:00:00Z"},
        "name": {"type": "Property", "value": "Strada Memorandumului"},
    }


def key_values(client: TestClient, entity_id: str) -> dict[str, object]:
    response = client.get(f"{ENTITIES}/{segment(entity_id)}", params={"options": "keyValues"})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_an_id_with_a_slash_works_on_every_entity_route(client: TestClient) -> None:
    url = f"{ENTITIES}/{segment(ROAD)}"
    assert url.endswith("Road:a%2Fb")
    created = client.post(ENTITIES, json=road())
    assert created.status_code == 201, created.text
    assert created.headers["location"] == url
    assert key_values(client, ROAD)["id"] == ROAD

    patch = {LANES: {"type": "Property", "value": 3, "observedAt": "2026-11-23T11:00:00Z"}}
    assert client.patch(f"{url}/attrs", json=patch).status_code == 204
    assert client.post(f"{url}/attrs", json={"width": 7.5}).status_code == 204
    # a full IRI as the attribute name: its slashes are encoded too
    lanes_url = f"{url}/attrs/{segment(LANES)}"
    assert client.patch(lanes_url, json={"value": 4}).status_code == 204
    assert client.put(f"{url}/attrs/width", json={"value": 8.0}).status_code == 204
    got = key_values(client, ROAD)
    assert (got[LANES], got["width"]) == (4, 8.0)
    assert client.patch(url, json={"name": "Memorandumului"}).status_code == 204
    assert client.delete(f"{url}/attrs/width").status_code == 204
    assert "width" not in key_values(client, ROAD)
    replaced = client.put(url, json={"type": ROAD_TYPE, "name": "Memorandumului"})
    assert replaced.status_code == 204, replaced.text
    assert key_values(client, ROAD)["name"] == "Memorandumului"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_temporal_types_and_attributes_take_names_with_slashes(client: TestClient) -> None:
    assert client.post(ENTITIES, json=road()).status_code == 201
    history = client.get(f"{V1}/temporal/entities/{segment(ROAD)}")
    assert history.status_code == 200, history.text
    assert history.json()["id"] == ROAD
    assert [i["value"] for i in history.json()[LANES]] == [2]

    described = client.get(f"{V1}/types/{segment(ROAD_TYPE)}")
    assert described.status_code == 200, described.text
    assert described.json()["id"] == ROAD_TYPE
    assert described.json()["entityCount"] == 1

    attribute = client.get(f"{V1}/attributes/{segment(LANES)}")
    assert attribute.status_code == 200, attribute.text
    assert attribute.json()["id"] == LANES
    assert attribute.json()["attributeCount"] == 1


def test_a_slash_in_an_id_is_not_a_path_separator(client: TestClient) -> None:
    """``urn:x:a`` with its /attrs resource and an entity whose id is ``urn:x:a/attrs``
    are told apart."""
    plain, tricky = "urn:ngsi-ld:Road:a", "urn:ngsi-ld:Road:a/attrs"
    for entity_id, lanes in ((plain, 1), (tricky, 5)):
        assert client.post(ENTITIES, json=road(entity_id, lanes)).status_code == 201
    assert key_values(client, tricky)[LANES] == 5
    assert key_values(client, plain)[LANES] == 1
    # /entities/urn:…:a/attrs is the attributes resource of urn:…:a, not the other entity
    response = client.patch(
        f"{ENTITIES}/{segment(plain)}/attrs", json={LANES: {"type": "Property", "value": 9}}
    )
    assert response.status_code == 204
    assert key_values(client, plain)[LANES] == 9
    assert key_values(client, tricky)[LANES] == 5
    # an unencoded slash is a separator: there is no such route
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Road:a/b").status_code == 404


def test_percent_signs_in_ids_are_decoded_once(client: TestClient) -> None:
    literal = "urn:ngsi-ld:Road:100%2Fsure"  # the id really contains '%2F'
    assert client.post(ENTITIES, json=road(literal)).status_code == 201
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Road:100%252Fsure").status_code == 200
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Road:100%2Fsure").status_code == 404


# -- NGSILD-Tenant echoed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", ENTITIES, 201),
        ("GET", ENTITIES, 200),
        ("GET", f"{ENTITIES}/{segment(ROAD)}", 200),
        ("GET", f"{V1}/types", 200),
        ("GET", f"{V1}/temporal/entities/{segment(ROAD)}", 200),
        ("GET", f"{ENTITIES}/urn:ngsi-ld:Road:none", 404),
        ("DELETE", f"{ENTITIES}/{segment(ROAD)}", 204),
    ],
)
def test_a_named_tenant_is_echoed(client: TestClient, method: str, path: str, status: int) -> None:
    headers = {"NGSILD-Tenant": "cluj"}
    if method != "POST":
        assert client.post(ENTITIES, json=road(), headers=headers).status_code == 201
    body = road() if method == "POST" else None
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["NGSILD-Tenant"] == "cluj"


def test_the_tenant_is_echoed_on_errors_too(client: TestClient) -> None:
    response = client.get(ENTITIES, headers={"NGSILD-Tenant": "nowhere"})
    assert response.status_code == 404
    assert response.headers["NGSILD-Tenant"] == "nowhere"


def test_no_tenant_named_no_tenant_header(client: TestClient) -> None:
    assert client.post(ENTITIES, json=road()).status_code == 201
    for response in (
        client.get(ENTITIES, params={"type": ROAD_TYPE}),
        client.get(ENTITIES, params={"type": ROAD_TYPE}, headers={"NGSILD-Tenant": ""}),
    ):
        assert response.status_code == 200
        assert "NGSILD-Tenant" not in response.headers
    assert "NGSILD-Tenant" not in client.get("/health", headers={"NGSILD-Tenant": "cluj"}).headers
