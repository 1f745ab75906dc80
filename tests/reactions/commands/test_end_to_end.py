"""Commands end to end over MQTT: the application with its broker (built-in, or a real
Mosquitto as external broker), devices provisioned in the store logging in with their own
credentials over aiomqtt. A command sent through the API reaches the device's cmd topic, the
device's answer on cmdexe completes it (succeeded, failed), an unanswered command expires,
and bad answers become dead letters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiomqtt
import orjson
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.config import Settings
from cetate.ingest.mqtt.broker import SERVICE_USERNAME
from cetate.ingest.mqtt.topics import mosquitto_acl
from cetate.reactions.commands.service import CommandService
from cetate.store.base import ContextStore
from tests.ingest.conftest import make_world
from tests.ingest.mqtt.conftest import SERVICE_PASSWORD, free_port, run
from tests.reactions.commands.conftest import provision_devices
from tests.support.mosquitto_server import MosquittoFactory

Secrets = dict[str, tuple[str | None, str | None]]


async def until(check: Callable[[], Any], timeout: float = 8.0) -> Any:
    """``check()`` (run in a thread) once it is truthy; its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await asyncio.to_thread(check)
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.05)


def status_of(client: TestClient, command_id: str) -> str:
    r = client.get(f"/api/v1/cluj/commands/{command_id}")
    assert r.status_code == 200, r.text
    status: str = r.json()["status"]
    return status


async def send(client: TestClient, device: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await asyncio.to_thread(client.post, f"/api/v1/cluj/devices/{device}/commands", json=body)
    assert r.status_code == 201, r.text
    command: dict[str, Any] = r.json()
    return command


async def received(device: aiomqtt.Client) -> aiomqtt.Message:
    async with asyncio.timeout(8):
        return await anext(aiter(device.messages))


def letters(client: TestClient) -> list[str]:
    items = client.get("/api/v1/cluj/dead-letters").json()["items"]
    return sorted(item["reason"] for item in items)


async def scenario(client: TestClient, app: FastAPI, port: int, secrets: Secrets) -> None:
    results = app.state.mqtt.results_subscriber
    assert results is not None
    assert await until(results.subscribed.is_set)
    service: CommandService = app.state.commands
    password_1, password_2 = secrets["cluj/lamp-1"][1], secrets["cluj/lamp-2"][1]
    async with (
        aiomqtt.Client(
            "127.0.0.1", port, username="cluj/lamp-1", password=password_1, timeout=5
        ) as lamp,
        aiomqtt.Client(
            "127.0.0.1", port, username="cluj/lamp-2", password=password_2, timeout=5
        ) as other,
    ):
        await lamp.subscribe("cetate/cluj/lamp-1/cmd", qos=1)
        answers = "cetate/cluj/lamp-1/cmdexe"

        # succeeded
        dim = await send(client, "lamp-1", {"name": "dim", "value": 40})
        message = await received(lamp)
        assert str(message.topic) == "cetate/cluj/lamp-1/cmd"
        assert (message.qos, message.retain) == (1, False)
        assert orjson.loads(message.payload) == {
            "id": dim["id"],
            "name": "dim",
            "value": 40,
            "expiresAt": dim["expiresAt"],
        }
        assert await until(lambda: status_of(client, dim["id"]) == "delivered")
        ok = {"id": dim["id"], "status": "OK", "result": {"level": 40}}
        await lamp.publish(answers, orjson.dumps(ok), qos=1)
        assert await until(lambda: status_of(client, dim["id"]) == "succeeded")
        assert client.get(f"/api/v1/cluj/commands/{dim['id']}").json()["result"] == {"level": 40}

        # failed, then the same answer again (idempotent: no dead letter)
        reboot = await send(client, "lamp-1", {"name": "reboot", "expiresIn": "PT1M"})
        assert orjson.loads((await received(lamp)).payload)["id"] == reboot["id"]
        failed = {"id": reboot["id"], "status": "failed", "error": "relay stuck"}
        await lamp.publish(answers, orjson.dumps(failed), qos=1)
        assert await until(lambda: status_of(client, reboot["id"]) == "failed")
        await lamp.publish(answers, orjson.dumps(failed), qos=1)

        # bad answers: dead letters, never dropped
        await lamp.publish(answers, b"{not json", qos=1)
        await lamp.publish(answers, orjson.dumps({"id": "0000nope", "status": "OK"}), qos=1)
        stolen = {"id": dim["id"], "status": "failed"}
        await other.publish("cetate/cluj/lamp-2/cmdexe", orjson.dumps(stolen), qos=1)
        expected = ["malformed_json", "not_your_command", "unknown_command"]
        assert await until(lambda: letters(client) == expected), letters(client)
        assert status_of(client, reboot["id"]) == "failed"
        assert status_of(client, dim["id"]) == "succeeded"

        # no answer: expired by the expiry job
        short = await send(client, "lamp-1", {"name": "blink", "expiresIn": "PT1S"})
        assert orjson.loads((await received(lamp)).payload)["id"] == short["id"]
        assert await until(lambda: service.expire_due() == 1)
        assert status_of(client, short["id"]) == "expired"

    listed = client.get("/api/v1/cluj/devices/lamp-1/commands").json()
    assert [c["id"] for c in listed] == [short["id"], reboot["id"], dim["id"]]


def test_builtin_broker(database_url: str, store: ContextStore) -> None:
    secrets = provision_devices(make_world(store))
    port = free_port()
    settings = Settings(
        database_url=database_url,
        open_access=True,
        mqtt_builtin=True,
        mqtt_port=port,
        notification_worker=False,
        scheduler=False,
    )
    app = create_app(settings, store)
    with TestClient(app) as client:
        run(scenario(client, app, port, secrets), timeout=40)


def _mosquitto_settings(database_url: str, port: int) -> Settings:
    """The application with Mosquitto at ``port`` as its external broker (service account)."""
    return Settings(
        database_url=database_url,
        open_access=True,
        mqtt_builtin=False,
        mqtt_external_url=f"mqtt://{SERVICE_USERNAME}:{SERVICE_PASSWORD}@127.0.0.1:{port}",
        notification_worker=False,
        scheduler=False,
    )


def test_mosquitto(
    database_url: str, store: ContextStore, mosquitto_factory: MosquittoFactory
) -> None:
    secrets = provision_devices(make_world(store))
    passwords = {name: pair[1] for name, pair in secrets.items() if pair[1] is not None}
    server = mosquitto_factory(
        passwords={SERVICE_USERNAME: SERVICE_PASSWORD, **passwords},
        acl=mosquitto_acl(SERVICE_USERNAME),
    )
    app = create_app(_mosquitto_settings(database_url, server.port), store)
    with TestClient(app) as client:
        run(scenario(client, app, server.port, secrets), timeout=40)


def test_queued_command_survives_restart(
    database_url: str, store: ContextStore, mosquitto_factory: MosquittoFactory
) -> None:
    """A command sent while no server runs waits in the store queue; the next server start
    publishes it, Mosquitto keeps it in the offline device's persistent session, and the
    device gets it when it comes back."""
    secrets = provision_devices(make_world(store))
    password = secrets["cluj/lamp-1"][1]
    server = mosquitto_factory(
        passwords={SERVICE_USERNAME: SERVICE_PASSWORD, "cluj/lamp-1": str(password)},
        acl=mosquitto_acl(SERVICE_USERNAME),
    )

    def lamp() -> aiomqtt.Client:
        return aiomqtt.Client(
            "127.0.0.1",
            server.port,
            username="cluj/lamp-1",
            password=password,
            identifier="lamp-1-session",
            clean_session=False,
            timeout=5,
        )

    async def subscribe_and_leave() -> None:
        async with lamp() as device:
            await device.subscribe("cetate/cluj/lamp-1/cmd", qos=1)

    run(subscribe_and_leave())
    queued = CommandService(store).send("cluj", "lamp-1", "dim", 7)
    app = create_app(_mosquitto_settings(database_url, server.port), store)
    with TestClient(app) as client:

        async def come_back() -> None:
            assert await until(lambda: status_of(client, queued.id) == "delivered")
            async with lamp() as device:
                message = await received(device)
                assert orjson.loads(message.payload)["value"] == 7
                answer = {"id": queued.id, "status": "succeeded"}
                await device.publish("cetate/cluj/lamp-1/cmdexe", orjson.dumps(answer), qos=1)
            assert await until(lambda: status_of(client, queued.id) == "succeeded")

        run(come_back(), timeout=30)
