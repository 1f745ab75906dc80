"""The application as a whole: health, OpenAPI, body limits, error shapes, authorisation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.auth.tokens import issue_token
from cetate.config import Settings
from cetate.store.base import ContextStore, Tenant
from tests.api.ngsild.helpers import DEFAULT_VOCAB, sensor

ENTITIES = "/ngsi-ld/v1/entities"


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_openapi_documents_the_ngsi_ld_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/ngsi-ld/v1/entities",
        "/ngsi-ld/v1/entities/{entity_id}/attrs/{attr_id}",
        "/ngsi-ld/v1/entityOperations/upsert",
        "/ngsi-ld/v1/types/{type_name}",
        "/ngsi-ld/v1/temporal/entities",
    ):
        assert path in spec["paths"], path
    assert client.get("/docs").status_code == 200


def test_oversized_payload_is_413(database_url: str, store: ContextStore) -> None:
    settings = Settings(database_url=database_url, open_access=True, max_payload_bytes=200)
    with TestClient(create_app(settings, store)) as client:
        big = sensor(1)
        big["note"] = {"type": "Property", "value": "x" * 500}
        response = client.post(ENTITIES, json=big)
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "CETATE_MAX_PAYLOAD_BYTES" in response.json()["detail"]
        assert client.post(ENTITIES, json=sensor(1)).status_code == 413
        small = {"id": "urn:ngsi-ld:S:1", "type": "S"}
        assert client.post(ENTITIES, json=small).status_code == 201


def test_validation_errors_never_use_fastapi_422_shape(client: TestClient) -> None:
    response = client.get(ENTITIES, params={"limit": "lots"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"}
    assert "limit" in body["detail"]


def test_method_not_allowed_is_problem_json(client: TestClient) -> None:
    response = client.delete(ENTITIES)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")


def test_app_opens_and_closes_its_own_store(database_url: str) -> None:
    settings = Settings(database_url=database_url, open_access=True)
    with TestClient(create_app(settings)) as client:
        assert client.post(ENTITIES, json=sensor(1)).status_code == 201
        assert client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:0001").status_code == 200


# -- authorisation (the auth module has its own tests; these check the API wiring) ----------

PUBLIC_TYPE = "AirQualityObserved"


@pytest.fixture
def secured(database_url: str, store: ContextStore) -> Iterator[TestClient]:
    store.put_tenant(
        Tenant(name="cluj", title="Cluj", public_types=frozenset({DEFAULT_VOCAB + PUBLIC_TYPE}))
    )
    settings = Settings(database_url=database_url, open_access=False)
    with TestClient(create_app(settings, store)) as client:
        client.headers["NGSILD-Tenant"] = "cluj"
        yield client


def bearer(store: ContextStore, role: str) -> dict[str, str]:
    _, token = issue_token(store, "cluj", role, f"{role} token")  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {token}"}


def test_writes_without_a_token_are_401(secured: TestClient) -> None:
    response = secured.post(ENTITIES, json=sensor(1))
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert secured.get(ENTITIES, params={"type": "Sensor"}).status_code == 401


def test_a_bad_token_is_401(secured: TestClient) -> None:
    headers = {"Authorization": "Bearer cetate_0000000000000000_nope"}
    assert secured.get(ENTITIES, params={"type": "Sensor"}, headers=headers).status_code == 401


def test_viewer_reads_but_cannot_write(secured: TestClient, store: ContextStore) -> None:
    operator = bearer(store, "operator")
    viewer = bearer(store, "viewer")
    assert secured.post(ENTITIES, json=sensor(1), headers=operator).status_code == 201
    assert secured.post(ENTITIES, json=sensor(2), headers=viewer).status_code == 403
    assert secured.delete(f"{ENTITIES}/urn:ngsi-ld:Sensor:0001", headers=viewer).status_code == 403
    listed = secured.get(ENTITIES, params={"type": "Sensor"}, headers=viewer)
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()] == ["urn:ngsi-ld:Sensor:0001"]


def test_anonymous_reads_public_types_only(secured: TestClient, store: ContextStore) -> None:
    operator = bearer(store, "operator")
    public = {"id": "urn:ngsi-ld:AirQualityObserved:1", "type": PUBLIC_TYPE, "pm10": 12}
    assert secured.post(ENTITIES, json=public, headers=operator).status_code == 201
    assert secured.post(ENTITIES, json=sensor(1), headers=operator).status_code == 201
    assert secured.get(ENTITIES, params={"type": PUBLIC_TYPE}).status_code == 200
    assert secured.get(f"{ENTITIES}/{public['id']}").status_code == 200
    assert secured.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:0001").status_code == 401
    everything = secured.get(ENTITIES)
    assert everything.status_code == 200
    assert [e["id"] for e in everything.json()] == [public["id"]]


def test_a_token_of_another_tenant_cannot_write_here(
    secured: TestClient, store: ContextStore
) -> None:
    store.put_tenant(Tenant(name="iasi", title="Iași"))
    _, token = issue_token(store, "iasi", "admin", "iasi admin")
    response = secured.post(ENTITIES, json=sensor(1), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
