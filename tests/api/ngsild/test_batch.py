"""/ngsi-ld/v1/entityOperations: batch create, upsert, update, delete."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.config import Settings
from cetate.store.base import ContextStore
from tests.api.ngsild.helpers import CORE_CONTEXT, LD_JSON, sensor

OPS = "/ngsi-ld/v1/entityOperations"
ENTITIES = "/ngsi-ld/v1/entities"


def key_values(client: TestClient, entity_id: str) -> dict[str, Any]:
    response = client.get(f"{ENTITIES}/{entity_id}", params={"options": "keyValues"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_batch_create_all_good_is_201_with_ids(client: TestClient) -> None:
    response = client.post(f"{OPS}/create", json=[sensor(1), sensor(2)])
    assert response.status_code == 201, response.text
    assert response.json() == ["urn:ngsi-ld:Sensor:0001", "urn:ngsi-ld:Sensor:0002"]
    assert key_values(client, "urn:ngsi-ld:Sensor:0002")["name"] == "sensor 2"


def test_batch_create_stores_the_good_and_reports_the_bad(client: TestClient) -> None:
    client.post(f"{OPS}/create", json=[sensor(1)])
    bad_geometry = sensor(3)
    bad_geometry["location"]["value"] = {"type": "Point", "coordinates": ["x", 1]}
    batch = [sensor(1), sensor(2), {**sensor(4), "id": "no uri"}, bad_geometry, "oops"]
    response = client.post(f"{OPS}/create", json=batch)
    assert response.status_code == 207
    result = response.json()
    assert result["success"] == ["urn:ngsi-ld:Sensor:0002"]
    errors = {error["entityId"]: error["error"] for error in result["errors"]}
    assert errors["urn:ngsi-ld:Sensor:0001"]["type"].endswith("AlreadyExists")
    assert errors["urn:ngsi-ld:Sensor:0003"]["type"].endswith("BadRequestData")
    assert errors["no uri"]["status"] == 400
    assert len(result["errors"]) == 4
    assert key_values(client, "urn:ngsi-ld:Sensor:0002")["name"] == "sensor 2"
    missing = client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:0003")
    assert missing.status_code == 404


def test_batch_create_with_duplicate_ids_in_one_batch(client: TestClient) -> None:
    response = client.post(f"{OPS}/create", json=[sensor(1), sensor(1)])
    assert response.status_code == 207
    assert response.json()["success"] == ["urn:ngsi-ld:Sensor:0001"]
    assert response.json()["errors"][0]["entityId"] == "urn:ngsi-ld:Sensor:0001"


def test_batch_with_ld_json_contexts_per_entity(client: TestClient) -> None:
    batch = [{**sensor(1), "@context": CORE_CONTEXT}, {**sensor(2), "@context": CORE_CONTEXT}]
    response = client.post(
        f"{OPS}/create", content=orjson.dumps(batch), headers={"Content-Type": LD_JSON}
    )
    assert response.status_code == 201, response.text


def test_batch_upsert_replace_and_update(client: TestClient) -> None:
    created = client.post(f"{OPS}/upsert", json=[sensor(1), sensor(2)])
    assert created.status_code == 201, created.text
    assert created.json() == ["urn:ngsi-ld:Sensor:0001", "urn:ngsi-ld:Sensor:0002"]

    replacement = {"id": "urn:ngsi-ld:Sensor:0001", "type": "Sensor", "status": "ok"}
    replaced = client.post(f"{OPS}/upsert", json=[replacement])
    assert replaced.status_code == 204, replaced.text
    assert set(key_values(client, "urn:ngsi-ld:Sensor:0001")) == {"id", "type", "status"}

    update = {"id": "urn:ngsi-ld:Sensor:0002", "type": "Sensor", "status": "low battery"}
    mixed = client.post(f"{OPS}/upsert", params={"options": "update"}, json=[update, sensor(3)])
    assert mixed.status_code == 201
    assert mixed.json() == ["urn:ngsi-ld:Sensor:0003"]
    second = key_values(client, "urn:ngsi-ld:Sensor:0002")
    assert second["status"] == "low battery"
    assert second["name"] == "sensor 2"


def test_batch_upsert_same_id_twice_applies_both(client: TestClient) -> None:
    first = sensor(1)
    second = {"id": first["id"], "type": "Sensor", "status": "ok"}
    response = client.post(f"{OPS}/upsert", params={"options": "update"}, json=[first, second])
    assert response.status_code == 201, response.text
    got = key_values(client, first["id"])
    assert got["status"] == "ok"
    assert got["name"] == "sensor 1"


def test_batch_upsert_bad_options(client: TestClient) -> None:
    response = client.post(f"{OPS}/upsert", params={"options": "merge"}, json=[sensor(1)])
    assert response.status_code == 400
    assert response.json()["type"].endswith("InvalidRequest")


def test_batch_update(client: TestClient) -> None:
    client.post(f"{OPS}/create", json=[sensor(1), sensor(2)])
    updates = [
        {"id": "urn:ngsi-ld:Sensor:0001", "temperature": {"type": "Property", "value": 1.0}},
        {"id": "urn:ngsi-ld:Sensor:0002", "type": "Sensor", "battery": 3.3},
        {"id": "urn:ngsi-ld:Sensor:0404", "battery": 3.3},
    ]
    response = client.post(f"{OPS}/update", json=updates)
    assert response.status_code == 207
    result = response.json()
    assert result["success"] == ["urn:ngsi-ld:Sensor:0001", "urn:ngsi-ld:Sensor:0002"]
    assert result["errors"][0]["entityId"] == "urn:ngsi-ld:Sensor:0404"
    assert result["errors"][0]["error"]["status"] == 404
    assert key_values(client, "urn:ngsi-ld:Sensor:0001")["temperature"] == 1.0
    assert key_values(client, "urn:ngsi-ld:Sensor:0002")["battery"] == 3.3

    no_overwrite = client.post(
        f"{OPS}/update",
        params={"options": "noOverwrite"},
        json=[{"id": "urn:ngsi-ld:Sensor:0001", "temperature": 99.0, "extra": 1}],
    )
    assert no_overwrite.status_code == 204, no_overwrite.text
    got = key_values(client, "urn:ngsi-ld:Sensor:0001")
    assert got["temperature"] == 1.0
    assert got["extra"] == 1


def test_batch_delete(client: TestClient) -> None:
    client.post(f"{OPS}/create", json=[sensor(1), sensor(2)])
    response = client.post(f"{OPS}/delete", json=["urn:ngsi-ld:Sensor:0001"])
    assert response.status_code == 204, response.text
    partial = client.post(
        f"{OPS}/delete", json=["urn:ngsi-ld:Sensor:0002", "urn:ngsi-ld:Sensor:0001", 7]
    )
    assert partial.status_code == 207
    assert partial.json()["success"] == ["urn:ngsi-ld:Sensor:0002"]
    assert len(partial.json()["errors"]) == 2
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:0002").status_code == 404


def test_batch_must_be_a_non_empty_array(client: TestClient) -> None:
    assert client.post(f"{OPS}/create", json=sensor(1)).status_code == 400
    assert client.post(f"{OPS}/create", json=[]).status_code == 400


def test_batch_larger_than_the_limit_is_413(database_url: str, store: ContextStore) -> None:
    settings = Settings(database_url=database_url, open_access=True, max_batch_entities=2)
    app: FastAPI = create_app(settings, store)
    with TestClient(app) as client:
        response = client.post(f"{OPS}/create", json=[sensor(1), sensor(2), sensor(3)])
    assert response.status_code == 413
    assert "CETATE_MAX_BATCH_ENTITIES" in response.json()["detail"]
