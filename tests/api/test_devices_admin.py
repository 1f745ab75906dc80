"""Device provisioning API: every route, its bad inputs, roles and tenant isolation, secrets
shown only once, and rotation/revocation refused at once on the HTTP device endpoint. On both
store backends."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from cetate.config import Settings
from cetate.store.base import ContextStore, Tenant
from tests.api.support import problem, role_headers
from tests.ingest.conftest import BIN_PROFILE

TS = 1795427940
DEVICES = "/api/v1/cluj/devices"
PROFILES = "/api/v1/cluj/profiles"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, notification_worker=False, scheduler=False)


def auth(store: ContextStore, tenant: str, role: str) -> dict[str, str]:
    if store.get_tenant(tenant) is None:
        store.put_tenant(Tenant(name=tenant, title=tenant))
    return role_headers(store, tenant, role)


@pytest.fixture
def admin(store: ContextStore) -> dict[str, str]:
    return auth(store, "cluj", "admin")


@pytest.fixture
def with_profile(client: TestClient, admin: dict[str, str]) -> None:
    r = client.put(f"{PROFILES}/bin-v1", json=BIN_PROFILE, headers=admin)
    assert r.status_code == 201, r.text


def provision(client: TestClient, headers: dict[str, str], **spec: Any) -> dict[str, Any]:
    body = {"deviceId": "bin-1", "profile": "bin-v1", "transport": "both", **spec}
    r = client.post(DEVICES, json=body, headers=headers)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def send(client: TestClient, token: str, f: int, device: str = "bin-1") -> int:
    r = client.post(
        f"/devices/v1/cluj/{device}/attrs",
        content=orjson.dumps({"f": f, "ts": TS + f}),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    status: int = r.status_code
    return status


def no_secrets(body: Any) -> None:
    text = orjson.dumps(body).decode()
    for word in ("httpToken", "mqttPassword", "cdev_", "hash", "$7$"):
        assert word not in text, text


# -- devices --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("with_profile")
def test_provision_shows_secrets_once_and_they_work(
    client: TestClient, admin: dict[str, str], store: ContextStore
) -> None:
    body = provision(client, admin, name="Coș Piața Unirii", lon=23.59, lat=46.77)
    assert body["deviceId"] == "bin-1"
    assert body["credentials"] == "active"
    assert body["transport"] == "both"
    assert body["mqttUsername"] == "cluj/bin-1"
    assert body["httpToken"].startswith("cdev_")
    assert len(body["mqttPassword"]) == 40
    assert body["deviceEntityId"] == "urn:ngsi-ld:Device:cluj:bin-1"
    assert send(client, body["httpToken"], 42) == 200
    assert store.get_entity("cluj", "urn:ngsi-ld:Device:cluj:bin-1") is not None
    # never again: not in the list, not in the device
    listed = client.get(DEVICES, headers=admin)
    assert listed.status_code == 200
    assert [d["deviceId"] for d in listed.json()["items"]] == ["bin-1"]
    no_secrets(listed.json())
    one = client.get(f"{DEVICES}/bin-1", headers=admin)
    assert one.status_code == 200
    assert one.json()["profile"] == "bin-v1"
    no_secrets(one.json())


@pytest.mark.usefixtures("with_profile")
def test_rotate_and_revoke_act_at_once_on_the_http_endpoint(
    client: TestClient, admin: dict[str, str]
) -> None:
    old = provision(client, admin)["httpToken"]
    assert send(client, old, 1) == 200
    r = client.post(f"{DEVICES}/bin-1/rotate", headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    rotated = r.json()
    new = rotated["httpToken"]
    assert new != old
    assert rotated["rotatedAt"] is not None
    assert send(client, old, 2) == 401
    assert send(client, new, 3) == 200
    r = client.post(f"{DEVICES}/bin-1/revoke", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["credentials"] == "revoked"
    no_secrets(r.json())
    assert send(client, new, 4) == 401
    # revoking again is harmless; rotating a revoked device is refused
    assert client.post(f"{DEVICES}/bin-1/revoke", headers=admin).status_code == 200
    problem(client.post(f"{DEVICES}/bin-1/rotate", headers=admin), 400, "revoked")


@pytest.mark.usefixtures("with_profile")
def test_rotate_can_change_the_transport(client: TestClient, admin: dict[str, str]) -> None:
    provision(client, admin, transport="mqtt")
    r = client.post(f"{DEVICES}/bin-1/rotate", json={"transport": "http"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["transport"] == "http"
    assert r.json()["mqttPassword"] is None
    assert send(client, r.json()["httpToken"], 5) == 200
    problem(
        client.post(f"{DEVICES}/bin-1/rotate", json={"transport": "pigeon"}, headers=admin),
        400,
        "pigeon",
    )
    problem(
        client.post(f"{DEVICES}/bin-1/rotate", json={"transports": "http"}, headers=admin),
        400,
        "transports",
    )
    problem(client.post(f"{DEVICES}/nope/rotate", headers=admin), 404, "nope")
    problem(client.post(f"{DEVICES}/nope/revoke", headers=admin), 404, "nope")


@pytest.mark.usefixtures("with_profile")
def test_provision_bad_inputs(client: TestClient, admin: dict[str, str]) -> None:
    provision(client, admin)
    problem(
        client.post(DEVICES, json={"deviceId": "bin-1", "profile": "bin-v1"}, headers=admin),
        409,
        "already exists",
    )
    problem(
        client.post(DEVICES, json={"deviceId": "bin-2", "profile": "nope"}, headers=admin),
        400,
        "no device profile 'nope'",
    )
    bad_id = problem(
        client.post(DEVICES, json={"deviceId": "bin 2!", "profile": "bin-v1"}, headers=admin),
        400,
        "not valid",
    )
    assert any("deviceId" in p for p in bad_id["problems"])
    unknown = problem(
        client.post(
            DEVICES, json={"deviceId": "bin-2", "profile": "bin-v1", "colour": 1}, headers=admin
        ),
        400,
    )
    assert any("colour" in p and "unknown field" in p for p in unknown["problems"])
    problem(
        client.post(
            DEVICES,
            content=b'{"deviceId": "bin-2",',
            headers={**admin, "Content-Type": "application/json"},
        ),
        400,
        "not valid JSON",
    )
    problem(client.post(DEVICES, json=["bin-2"], headers=admin), 400, "must be a JSON object")
    problem(
        client.post(
            DEVICES, content=b"deviceId=bin-2", headers={**admin, "Content-Type": "text/plain"}
        ),
        415,
        "application/json",
    )
    problem(
        client.post(DEVICES, content=b"", headers={**admin, "Content-Type": "application/json"}),
        400,
        "empty",
    )
    missing = problem(client.post(DEVICES, json={"deviceId": "bin-3"}, headers=admin), 400)
    assert any(p.startswith("profile") for p in missing["problems"])
    problem(
        client.post(
            DEVICES,
            json={"deviceId": "bin-3", "profile": "bin-v1", "lat": 46.7},
            headers=admin,
        ),
        400,
        "longitude",
    )
    assert [d["deviceId"] for d in client.get(DEVICES, headers=admin).json()["items"]] == ["bin-1"]


@pytest.mark.usefixtures("with_profile")
def test_get_assign_and_delete(
    client: TestClient, admin: dict[str, str], store: ContextStore
) -> None:
    token = provision(client, admin)["httpToken"]
    problem(client.get(f"{DEVICES}/nope", headers=admin), 404, "nope")
    problem(client.get(f"{DEVICES}/bad%20id", headers=admin), 400, "not a device id")
    second = {**BIN_PROFILE, "name": "bin-v2", "ignoredKeys": ["rssi", "hum"]}
    assert client.put(f"{PROFILES}/bin-v2", json=second, headers=admin).status_code == 201
    r = client.put(f"{DEVICES}/bin-1/profile", json={"profile": "bin-v2"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["profile"] == "bin-v2"
    problem(
        client.put(f"{DEVICES}/bin-1/profile", json={"profile": "nope"}, headers=admin),
        400,
        "nope",
    )
    problem(
        client.put(f"{DEVICES}/ghost/profile", json={"profile": "bin-v1"}, headers=admin),
        404,
        "ghost",
    )
    problem(client.put(f"{DEVICES}/bin-1/profile", json={"profil": "x"}, headers=admin), 400)
    problem(client.put(f"{DEVICES}/bin-1/profile", json={"profile": 3}, headers=admin), 400)
    problem(
        client.put(f"{DEVICES}/bin-1/profile", json={"profile": "bad name!"}, headers=admin),
        400,
        "not a profile name",
    )
    assert client.delete(f"{DEVICES}/bin-1", headers=admin).status_code == 204
    assert send(client, token, 6) == 401
    assert store.get_entity("cluj", "urn:ngsi-ld:Device:cluj:bin-1") is None
    problem(client.delete(f"{DEVICES}/bin-1", headers=admin), 404, "bin-1")
    assert client.get(DEVICES, headers=admin).json() == {"items": []}


# -- profiles -------------------------------------------------------------------------------------


def test_profiles(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get(PROFILES, headers=admin).json() == {"items": []}
    r = client.put(f"{PROFILES}/bin-v1", json=BIN_PROFILE, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["profile"]["name"] == "bin-v1"
    assert isinstance(r.json()["warnings"], list)
    # the name may be left out of the body: the path gives it; replacing answers 200
    without_name = {k: v for k, v in BIN_PROFILE.items() if k != "name"}
    assert client.put(f"{PROFILES}/bin-v1", json=without_name, headers=admin).status_code == 200
    one = client.get(f"{PROFILES}/bin-v1", headers=admin)
    assert one.status_code == 200
    assert one.json()["entityType"] == "WasteContainer"
    assert [p["name"] for p in client.get(PROFILES, headers=admin).json()["items"]] == ["bin-v1"]
    problem(client.get(f"{PROFILES}/nope", headers=admin), 404, "nope")
    problem(client.put(f"{PROFILES}/other", json=BIN_PROFILE, headers=admin), 400, "differs")
    invalid = problem(
        client.put(f"{PROFILES}/broken", json={"entityType": "X", "bogus": 1}, headers=admin),
        400,
        "not valid",
    )
    assert invalid["problems"]
    problem(
        client.put(
            f"{PROFILES}/broken",
            content=b"{",
            headers={**admin, "Content-Type": "application/json"},
        ),
        400,
        "not valid JSON",
    )
    problem(client.put(f"{PROFILES}/bad%20name", json=BIN_PROFILE, headers=admin), 400)
    # in use: refused with the devices named; unused: deleted
    provision(client, admin)
    in_use = problem(client.delete(f"{PROFILES}/bin-v1", headers=admin), 409, "bin-1")
    assert in_use["devices"] == ["bin-1"]
    assert client.delete(f"{DEVICES}/bin-1", headers=admin).status_code == 204
    assert client.delete(f"{PROFILES}/bin-v1", headers=admin).status_code == 204
    problem(client.delete(f"{PROFILES}/bin-v1", headers=admin), 404, "bin-v1")


def test_profile_warnings_are_returned(client: TestClient, admin: dict[str, str]) -> None:
    noisy = {**BIN_PROFILE, "name": "noisy"}
    noisy["measurements"] = [
        *BIN_PROFILE["measurements"],
        {"key": "x", "attribute": "madeUpThing"},
    ]
    r = client.put(f"{PROFILES}/noisy", json=noisy, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["warnings"], r.json()


# -- who may do what ------------------------------------------------------------------------------


@pytest.mark.usefixtures("with_profile")
def test_roles(client: TestClient, admin: dict[str, str], store: ContextStore) -> None:
    provision(client, admin)
    viewer = auth(store, "cluj", "viewer")
    operator = auth(store, "cluj", "operator")
    # viewers (and operators) read
    for headers in (viewer, operator):
        assert client.get(DEVICES, headers=headers).status_code == 200
        assert client.get(f"{DEVICES}/bin-1", headers=headers).status_code == 200
        assert client.get(PROFILES, headers=headers).status_code == 200
        assert client.get(f"{PROFILES}/bin-v1", headers=headers).status_code == 200
    # credentials: admins only
    spec = {"deviceId": "bin-9", "profile": "bin-v1"}
    for headers in (viewer, operator):
        problem(client.post(DEVICES, json=spec, headers=headers), 403)
        problem(client.post(f"{DEVICES}/bin-1/rotate", headers=headers), 403)
        problem(client.post(f"{DEVICES}/bin-1/revoke", headers=headers), 403)
        problem(client.delete(f"{DEVICES}/bin-1", headers=headers), 403)
    # profiles and assignments: operators too, viewers not
    assign = {"profile": "bin-v1"}
    problem(client.put(f"{DEVICES}/bin-1/profile", json=assign, headers=viewer), 403)
    assert client.put(f"{DEVICES}/bin-1/profile", json=assign, headers=operator).status_code == 200
    problem(client.put(f"{PROFILES}/bin-v1", json=BIN_PROFILE, headers=viewer), 403)
    assert client.put(f"{PROFILES}/bin-v1", json=BIN_PROFILE, headers=operator).status_code == 200
    problem(client.delete(f"{PROFILES}/bin-v1", headers=viewer), 403)
    # anonymous: 401 everywhere
    problem(client.get(DEVICES), 401)
    problem(client.get(PROFILES), 401)
    problem(client.post(DEVICES, json=spec), 401)
    problem(client.get("/api/v1/Bad_Tenant/devices", headers=admin), 400, "not a tenant name")


@pytest.mark.usefixtures("with_profile")
def test_another_tenants_token_gets_403(
    client: TestClient, admin: dict[str, str], store: ContextStore
) -> None:
    provision(client, admin)
    iasi_admin = auth(store, "iasi", "admin")
    spec = {"deviceId": "bin-9", "profile": "bin-v1"}
    for method, url, body in (
        ("GET", DEVICES, None),
        ("GET", f"{DEVICES}/bin-1", None),
        ("POST", DEVICES, spec),
        ("POST", f"{DEVICES}/bin-1/rotate", None),
        ("POST", f"{DEVICES}/bin-1/revoke", None),
        ("PUT", f"{DEVICES}/bin-1/profile", {"profile": "bin-v1"}),
        ("DELETE", f"{DEVICES}/bin-1", None),
        ("GET", PROFILES, None),
        ("GET", f"{PROFILES}/bin-v1", None),
        ("PUT", f"{PROFILES}/bin-v1", BIN_PROFILE),
        ("DELETE", f"{PROFILES}/bin-v1", None),
    ):
        r = client.request(method, url, json=body, headers=iasi_admin)
        problem(r, 403)
    # iasi sees none of cluj's devices in its own tenant
    assert client.get("/api/v1/iasi/devices", headers=iasi_admin).json() == {"items": []}
    problem(client.get("/api/v1/iasi/devices/bin-1", headers=iasi_admin), 404)
