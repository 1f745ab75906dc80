"""The HTTP device endpoint on a real store (both backends)."""

from __future__ import annotations

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.config import Settings
from cetate.ingest.devices.model import DeviceSpec
from cetate.ingest.devices.service import DeviceService
from cetate.store.base import ContextStore
from tests.api.support import bearer
from tests.ingest.conftest import BIN_PROFILE

TS = 1795427940
URL = "/devices/v1/cluj/bin-1/attrs"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        open_access=True,
        mqtt_builtin=False,
        notification_worker=False,
        device_rate_per_second=0.5,
        device_rate_burst=5,
        device_max_payload_bytes=10_000,
    )


@pytest.fixture
def tokens(app: FastAPI) -> dict[str, str]:
    devices: DeviceService = app.state.devices
    found: dict[str, str] = {}
    for tenant in ("cluj", "iasi"):
        devices.put_profile(tenant, BIN_PROFILE)
    for tenant, device in (("cluj", "bin-1"), ("cluj", "bin-2"), ("iasi", "bin-1")):
        spec = DeviceSpec.model_validate(
            {"deviceId": device, "profile": "bin-v1", "transport": "http"}
        )
        token = devices.provision(tenant, spec).http_token
        assert token is not None
        found[f"{tenant}/{device}"] = token
    return found


def test_a_reading_and_a_batch_are_stored(
    client: TestClient, tokens: dict[str, str], store: ContextStore
) -> None:
    r = client.post(
        URL, content=orjson.dumps({"f": 63, "ts": TS}), headers=bearer(tokens["cluj/bin-1"])
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "stored",
        "entityId": "urn:ngsi-ld:WasteContainer:bin-1",
        "readings": 1,
        "values": 1,
        "duplicates": 0,
    }
    batch = [{"f": i, "t": 20, "ts": TS + i} for i in range(1, 4)]
    r = client.post(URL, json=batch, headers=bearer(tokens["cluj/bin-1"]))
    assert r.status_code == 200
    assert (r.json()["readings"], r.json()["values"]) == (3, 6)
    r = client.post(URL, json=batch, headers=bearer(tokens["cluj/bin-1"]))
    assert r.json()["status"] == "duplicate"
    got = client.get(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:WasteContainer:bin-1",
        headers={"NGSILD-Tenant": "cluj"},
        params={"options": "keyValues"},
    )
    assert got.status_code == 200
    assert got.json()["fillingLevel"] == 0.03
    assert store.get_entity("iasi", "urn:ngsi-ld:WasteContainer:bin-1") is None


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer nonsense", "Bearer cdev_0123456789abcdef_" + "A" * 40, "Basic abc"],
)
def test_bad_credentials_are_refused_and_counted_only(
    client: TestClient, tokens: dict[str, str], store: ContextStore, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    r = client.post(URL, json={"f": 1, "ts": TS}, headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert store.list_dead_letters("cluj") == []
    assert sum(client.app.state.http_device_counters.refused.values()) == 1  # type: ignore[attr-defined]


def test_a_token_only_sends_for_its_own_device(
    client: TestClient, tokens: dict[str, str], store: ContextStore
) -> None:
    for url in ("/devices/v1/cluj/bin-2/attrs", "/devices/v1/iasi/bin-1/attrs"):
        r = client.post(url, json={"f": 1, "ts": TS}, headers=bearer(tokens["cluj/bin-1"]))
        assert r.status_code == 403
    assert store.get_entity("cluj", "urn:ngsi-ld:WasteContainer:bin-2") is None
    assert store.get_entity("iasi", "urn:ngsi-ld:WasteContainer:bin-1") is None


def test_revoked_and_rotated_tokens_stop_at_once(
    client: TestClient, tokens: dict[str, str], app: FastAPI
) -> None:
    devices: DeviceService = app.state.devices
    token = tokens["cluj/bin-1"]
    assert client.post(URL, json={"f": 1, "ts": TS}, headers=bearer(token)).status_code == 200
    new = devices.rotate("cluj", "bin-1").http_token
    assert new is not None
    assert client.post(URL, json={"f": 2, "ts": TS}, headers=bearer(token)).status_code == 401
    assert client.post(URL, json={"f": 2, "ts": TS}, headers=bearer(new)).status_code == 200
    devices.revoke("cluj", "bin-1")
    assert client.post(URL, json={"f": 3, "ts": TS}, headers=bearer(new)).status_code == 401


def test_rejected_messages_are_dead_lettered_with_their_reason(
    client: TestClient, tokens: dict[str, str], store: ContextStore
) -> None:
    headers = bearer(tokens["cluj/bin-1"])
    r = client.post(URL, content=b"{broken", headers=headers)
    assert r.status_code == 400
    body = r.json()
    assert body["reason"] == "malformed_json"
    assert isinstance(body["deadLetterId"], int)
    r = client.post(URL, json={"f": 500, "ts": TS}, headers=headers)
    assert (r.status_code, r.json()["reason"]) == (400, "out_of_range")
    assert store.count_dead_letters("cluj") == {"malformed_json": 1, "out_of_range": 1}
    # other devices are unaffected
    ok = client.post(
        "/devices/v1/cluj/bin-2/attrs",
        json={"f": 1, "ts": TS},
        headers=bearer(tokens["cluj/bin-2"]),
    )
    assert ok.status_code == 200


def test_oversized_and_wrong_media_type(
    client: TestClient, tokens: dict[str, str], store: ContextStore
) -> None:
    headers = bearer(tokens["cluj/bin-1"])
    r = client.post(URL, content=b"[" + b"1," * 6000 + b"1]", headers=headers)
    assert r.status_code == 413
    r = client.post(
        URL,
        content=b"f=1",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415
    assert store.list_dead_letters("cluj") == []


def test_rate_limit_answers_429(
    client: TestClient, tokens: dict[str, str], store: ContextStore
) -> None:
    headers = bearer(tokens["cluj/bin-1"])
    codes = [
        client.post(URL, json={"f": 1, "ts": TS + i}, headers=headers).status_code for i in range(8)
    ]
    assert codes.count(429) >= 1
    assert codes[:5] == [200] * 5
    assert store.count_dead_letters("cluj").get("rate_limited", 0) == codes.count(429)
