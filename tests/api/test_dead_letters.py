"""Dead letters API: listing with filters and counts, replay, and tenant isolation."""

from __future__ import annotations

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.config import Settings
from cetate.ingest.devices.model import DeviceSpec
from cetate.ingest.devices.service import DeviceService
from cetate.ingest.pipeline import IngestPipeline
from cetate.ngsi.timestamps import utc_now
from cetate.store.base import ContextStore, Tenant
from tests.api.support import role_headers
from tests.ingest.conftest import BIN_PROFILE

TS = 1795427940


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, mqtt_builtin=False, notification_worker=False)


@pytest.fixture
def letters(app: FastAPI, store: ContextStore) -> dict[str, int]:
    """Dead letters in cluj (two reasons) and iasi; returns their ids."""
    devices: DeviceService = app.state.devices
    pipeline: IngestPipeline = app.state.ingest
    ids: dict[str, int] = {}
    for tenant in ("cluj", "iasi"):
        store.put_tenant(Tenant(name=tenant, title=tenant))
        devices.put_profile(tenant, BIN_PROFILE)
        devices.provision(
            tenant, DeviceSpec.model_validate({"deviceId": "bin-1", "profile": "bin-v1"})
        )
    for name, tenant, payload in (
        ("cluj-key", "cluj", orjson.dumps({"f": 5, "hum": 3, "ts": TS})),
        ("cluj-json", "cluj", b"{oops"),
        ("iasi-json", "iasi", b"{oops"),
    ):
        outcome = pipeline.ingest(tenant, "bin-1", payload, utc_now(), "mqtt")
        assert outcome.dead_letter_id is not None
        ids[name] = outcome.dead_letter_id
    return ids


def test_list_filter_and_count(
    client: TestClient, store: ContextStore, letters: dict[str, int]
) -> None:
    headers = role_headers(store, "cluj", "operator")
    r = client.get("/api/v1/cluj/dead-letters", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["counts"] == {"unknown_key": 1, "malformed_json": 1}
    assert {item["id"] for item in body["items"]} == {letters["cluj-key"], letters["cluj-json"]}
    only = client.get(
        "/api/v1/cluj/dead-letters", params={"reason": "malformed_json"}, headers=headers
    )
    assert [item["payloadText"] for item in only.json()["items"]] == ["{oops"]


def test_tenant_isolation_and_roles(
    client: TestClient, store: ContextStore, letters: dict[str, int]
) -> None:
    cluj_operator = role_headers(store, "cluj", "operator")
    assert client.get("/api/v1/iasi/dead-letters", headers=cluj_operator).status_code == 403
    replay = f"/api/v1/iasi/dead-letters/{letters['iasi-json']}/replay"
    assert client.post(replay, headers=cluj_operator).status_code == 403
    # a cluj operator cannot reach iasi's letter through cluj's path either
    cross = f"/api/v1/cluj/dead-letters/{letters['iasi-json']}/replay"
    assert client.post(cross, headers=cluj_operator).status_code == 404
    viewer = role_headers(store, "cluj", "viewer")
    assert client.get("/api/v1/cluj/dead-letters", headers=viewer).status_code == 403
    assert client.get("/api/v1/cluj/dead-letters").status_code == 401
    assert client.get("/api/v1/Not_A_Tenant/dead-letters", headers=cluj_operator).status_code == 400
    iasi = client.get(
        "/api/v1/iasi/dead-letters", headers=role_headers(store, "iasi", "admin")
    ).json()
    assert [item["id"] for item in iasi["items"]] == [letters["iasi-json"]]


def test_replay_after_fixing_the_profile(
    client: TestClient, store: ContextStore, app: FastAPI, letters: dict[str, int]
) -> None:
    headers = role_headers(store, "cluj", "admin")
    url = f"/api/v1/cluj/dead-letters/{letters['cluj-key']}/replay"
    r = client.post(url, headers=headers)
    assert r.status_code == 422
    assert r.json()["reason"] == "unknown_key"
    devices: DeviceService = app.state.devices
    devices.put_profile("cluj", {**BIN_PROFILE, "ignoredKeys": ["hum"]})
    r = client.post(url, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "stored"
    assert store.get_entity("cluj", "urn:ngsi-ld:WasteContainer:bin-1") is not None
    listed = client.get("/api/v1/cluj/dead-letters", headers=headers).json()
    assert listed["counts"] == {"malformed_json": 1}
    assert client.post(url, headers=headers).status_code == 400
    everything = client.get(
        "/api/v1/cluj/dead-letters", params={"includeReplayed": "true"}, headers=headers
    )
    assert len(everything.json()["items"]) == 2
