"""Commands over HTTP on a real store (both backends): the operator API (send, list, get;
roles and tenants; every bad input) and the device routes (poll, results; device tokens)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.config import Settings
from cetate.store.base import ContextStore, Tenant
from tests.api.support import problem, role_headers
from tests.ingest.conftest import make_world
from tests.reactions.commands.conftest import provision_devices

Secrets = dict[str, tuple[str | None, str | None]]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        mqtt_builtin=False,
        notification_worker=False,
        scheduler=False,
        device_max_payload_bytes=4096,
    )


@pytest.fixture
def secrets(store: ContextStore) -> Secrets:
    for tenant in ("cluj", "iasi"):
        store.put_tenant(Tenant(name=tenant, title=tenant))
    return provision_devices(make_world(store))


def device_auth(secrets: Secrets, name: str) -> dict[str, str]:
    token = secrets[name][0]
    assert token is not None
    return {"Authorization": f"Bearer {token}"}


def send(
    client: TestClient, headers: dict[str, str], device: str = "meter-1", **body: Any
) -> dict[str, Any]:
    r = client.post(
        f"/api/v1/cluj/devices/{device}/commands",
        json={"name": "reset", **body},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    command: dict[str, Any] = r.json()
    return command


def test_send_list_get(client: TestClient, store: ContextStore, secrets: Secrets) -> None:
    operator = role_headers(store, "cluj", "operator")
    r = client.post(
        "/api/v1/cluj/devices/lamp-1/commands",
        json={"name": "dim", "value": {"level": 40}, "expiresIn": "PT2M"},
        headers=operator,
    )
    assert r.status_code == 201, r.text
    command = r.json()
    assert r.headers["location"] == f"/api/v1/cluj/commands/{command['id']}"
    assert command["status"] == "pending"
    assert command["value"] == {"level": 40}
    assert command["source"].startswith("api:token:")
    assert command["device"] == "lamp-1"
    assert command["delivery"] == "mqtt"
    for key in ("createdAt", "expiresAt", "updatedAt", "deliveredAt", "completedAt", "result"):
        assert key in command
    second = send(client, operator, device="lamp-1", name="blink")
    viewer = role_headers(store, "cluj", "viewer")
    listed = client.get("/api/v1/cluj/devices/lamp-1/commands", headers=viewer)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [second["id"], command["id"]]
    limited = client.get("/api/v1/cluj/devices/lamp-1/commands?limit=1", headers=viewer)
    assert [c["id"] for c in limited.json()] == [second["id"]]
    one = client.get(f"/api/v1/cluj/commands/{command['id']}", headers=viewer)
    assert one.json() == command


SEND_CASES: list[tuple[bytes, int, str]] = [
    (b"{nope", 400, "not JSON"),
    (b"[]", 400, "JSON object"),
    (b'{"value": 1}', 400, "no name"),
    (b'{"name": "dim", "colour": 1}', 400, "unknown member(s) colour"),
    (b'{"name": "dim it"}', 400, "invalid command name"),
    (b'{"name": 5}', 400, "invalid command name"),
    (b'{"name": "' + b"x" * 65 + b'"}', 400, "1-64"),
    (b'{"name": "dim", "value": "' + b"x" * 17000 + b'"}', 400, "16384"),
    (b'{"name": "dim", "expiresIn": "PT0.5S"}', 400, "out of range"),
    (b'{"name": "dim", "expiresIn": "P8D"}', 400, "out of range"),
    (b'{"name": "dim", "expiresIn": "-PT5M"}', 400, "out of range"),
    (b'{"name": "dim", "expiresIn": "soon"}', 400, "ISO 8601 duration"),
    (b'{"name": "dim", "expiresIn": 300}', 400, "ISO 8601 duration"),
]


def test_send_bad_input(client: TestClient, store: ContextStore, secrets: Secrets) -> None:
    headers = {**role_headers(store, "cluj", "operator"), "Content-Type": "application/json"}
    for body, status, words in SEND_CASES:
        r = client.post("/api/v1/cluj/devices/lamp-1/commands", content=body, headers=headers)
        problem(r, status, words)
    assert client.get("/api/v1/cluj/devices/lamp-1/commands", headers=headers).json() == []


def test_not_found_and_media_type(
    client: TestClient, store: ContextStore, secrets: Secrets
) -> None:
    operator = role_headers(store, "cluj", "operator")
    for r in (
        client.post("/api/v1/cluj/devices/ghost/commands", json={"name": "x"}, headers=operator),
        client.get("/api/v1/cluj/devices/ghost/commands", headers=operator),
        client.get("/api/v1/cluj/commands/0000nope", headers=operator),
    ):
        problem(r, 404)
    r = client.post(
        "/api/v1/cluj/devices/lamp-1/commands",
        content=b"name=x",
        headers={**operator, "Content-Type": "text/plain"},
    )
    assert r.status_code == 415
    r = client.get("/api/v1/Cluj!/commands/x", headers=operator)
    problem(r, 400)


def test_roles_and_tenants(client: TestClient, store: ContextStore, secrets: Secrets) -> None:
    command = send(client, role_headers(store, "cluj", "admin"), device="lamp-1")
    routes = [
        ("post", "/api/v1/cluj/devices/lamp-1/commands"),
        ("get", "/api/v1/cluj/devices/lamp-1/commands"),
        ("get", f"/api/v1/cluj/commands/{command['id']}"),
    ]
    iasi = role_headers(store, "iasi", "admin")
    for method, url in routes:
        r = client.request(method, url, json={"name": "x"}, headers=iasi)
        problem(r, 403)
        assert client.request(method, url, json={"name": "x"}).status_code == 401
    viewer = role_headers(store, "cluj", "viewer")
    r = client.post(routes[0][1], json={"name": "x"}, headers=viewer)
    assert r.status_code == 403
    assert client.get(routes[2][1], headers=viewer).status_code == 200
    # a device token is no API token
    r = client.get(routes[1][1], headers=device_auth(secrets, "cluj/lamp-1"))
    assert r.status_code == 401


def test_http_poll_and_results(client: TestClient, store: ContextStore, secrets: Secrets) -> None:
    operator = role_headers(store, "cluj", "operator")
    reset = send(client, operator)
    read = send(client, operator, name="read", value={"register": 3})
    assert reset["delivery"] == "http"
    device = device_auth(secrets, "cluj/meter-1")
    polled = client.get("/devices/v1/cluj/meter-1/commands", headers=device)
    assert polled.status_code == 200, polled.text
    assert polled.json() == [
        {"id": c["id"], "name": c["name"], "value": c["value"], "expiresAt": c["expiresAt"]}
        for c in (reset, read)
    ]
    assert client.get("/devices/v1/cluj/meter-1/commands", headers=device).json() == []
    get = client.get(f"/api/v1/cluj/commands/{reset['id']}", headers=operator).json()
    assert get["status"] == "delivered"
    url = "/devices/v1/cluj/meter-1/cmdexe"
    r = client.post(url, json={"id": reset["id"], "status": "OK", "result": True}, headers=device)
    assert r.status_code == 200, r.text
    assert r.json() == {"id": reset["id"], "status": "succeeded"}
    again = client.post(
        url, json={"id": reset["id"], "status": "OK", "result": True}, headers=device
    )
    assert again.status_code == 200
    batch = client.post(
        url,
        json=[
            {"id": read["id"], "status": "ERROR", "error": "no such register"},
            {"id": "0000nope", "status": "OK"},
            {"id": reset["id"], "status": "failed"},
        ],
        headers=device,
    )
    assert batch.status_code == 200, batch.text
    entries = batch.json()
    assert entries[0] == {"id": read["id"], "status": "failed"}
    assert entries[1]["error"]["reason"] == "unknown_command"
    assert entries[2]["error"]["reason"] == "already_completed"
    final = client.get(f"/api/v1/cluj/commands/{read['id']}", headers=operator).json()
    assert (final["status"], final["error"]) == ("failed", "no such register")


RESULT_CASES: list[tuple[bytes, int, str]] = [
    (b"{nope", 400, "malformed_json"),
    (b'"OK"', 400, "invalid_result"),
    (b'{"status": "OK"}', 400, "invalid_result"),
    (b'{"id": "ID", "status": "done"}', 400, "invalid_result"),
    (b'{"id": "0000nope", "status": "OK"}', 404, "unknown_command"),
    (b'{"id": "LAMP", "status": "OK"}', 404, "not_your_command"),
]


def test_bad_results(client: TestClient, store: ContextStore, secrets: Secrets) -> None:
    operator = role_headers(store, "cluj", "operator")
    mine = send(client, operator)
    lamps = send(client, operator, device="lamp-1")
    headers = {**device_auth(secrets, "cluj/meter-1"), "Content-Type": "application/json"}
    for template, status, reason in RESULT_CASES:
        body = template.replace(b"ID", mine["id"].encode()).replace(b"LAMP", lamps["id"].encode())
        r = client.post("/devices/v1/cluj/meter-1/cmdexe", content=body, headers=headers)
        answer = problem(r, status)
        assert (answer["reason"], answer["status"]) == (reason, status), body
    viewer = role_headers(store, "cluj", "viewer")
    for command in (mine, lamps):
        r = client.get(f"/api/v1/cluj/commands/{command['id']}", headers=viewer)
        assert r.json()["status"] == "pending"


def test_device_routes_refuse_other_credentials(
    client: TestClient, store: ContextStore, secrets: Secrets
) -> None:
    command = send(client, role_headers(store, "cluj", "operator"))
    other = device_auth(secrets, "cluj/lamp-1")
    foreign = device_auth(secrets, "iasi/lamp-1")
    result = {"id": command["id"], "status": "OK"}
    for headers in (other, foreign):
        assert client.get("/devices/v1/cluj/meter-1/commands", headers=headers).status_code == 403
        r = client.post("/devices/v1/cluj/meter-1/cmdexe", json=result, headers=headers)
        problem(r, 403)
    for headers in ({}, {"Authorization": "Bearer cdev_nope.nope"}):
        r = client.get("/devices/v1/cluj/meter-1/commands", headers=headers)
        assert r.status_code == 401
        assert "WWW-Authenticate" in r.headers
    api_token = role_headers(store, "cluj", "admin")
    assert client.get("/devices/v1/cluj/meter-1/commands", headers=api_token).status_code == 401
    big = client.post(
        "/devices/v1/cluj/meter-1/cmdexe",
        content=b"[" + b" " * 5000 + b"]",
        headers=device_auth(secrets, "cluj/meter-1"),
    )
    assert big.status_code == 413
    final = client.get(
        f"/api/v1/cluj/commands/{command['id']}", headers=role_headers(store, "cluj", "viewer")
    )
    assert final.json()["status"] == "pending"


def test_expiry_job_registered(app: FastAPI) -> None:
    assert "commands.expire" in app.state.scheduler.jobs
