"""A real Mosquitto run on the files Cetate's sync writes: a provisioned device logs in with its
own credentials and its reading is stored by Cetate's subscriber (the service user from the
same files); a wrong password is refused; revoking and rotating take effect once the sync job
has rewritten the files and sent SIGHUP; a device cannot publish for another device (ACL)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import aiomqtt
import orjson
from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.config import Settings
from cetate.ingest.devices.mosquitto_sync import MosquittoFiles as SyncFiles
from cetate.ingest.devices.mosquitto_sync import MosquittoSync
from cetate.store.base import ContextStore
from tests.ingest.conftest import BIN_PROFILE, make_world
from tests.ingest.mqtt.conftest import run
from tests.support.mosquitto_server import MosquittoFactory, MosquittoFiles

SERVICE = "cetate-service"
SERVICE_PASSWORD = "service-secret-for-tests"
TS = 1795427940
BIN = "urn:ngsi-ld:WasteContainer:bin-1"
OTHER = "urn:ngsi-ld:WasteContainer:bin-2"


async def publish(port: int, username: str, password: str, device: str, payload: bytes) -> None:
    async with aiomqtt.Client(
        "127.0.0.1", port, username=username, password=password, timeout=5
    ) as client:
        await client.publish(f"cetate/cluj/{device}/attrs", payload, qos=1)


async def can_log_in(port: int, username: str, password: str) -> bool:
    try:
        async with aiomqtt.Client(
            "127.0.0.1", port, username=username, password=password, timeout=5
        ):
            return True
    except aiomqtt.MqttError:
        return False


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def filling_levels(client: TestClient, entity_id: str) -> list[float]:
    r = client.get(
        f"/ngsi-ld/v1/temporal/entities/{entity_id}",
        headers={"NGSILD-Tenant": "cluj"},
        params={"options": "temporalValues", "attrs": "fillingLevel"},
    )
    if r.status_code != 200:
        return []
    values = r.json().get("fillingLevel", {}).get("values", [])
    return sorted(float(pair[0]) for pair in values)


def refused(port: int, username: str, password: str) -> bool:
    return not run(can_log_in(port, username, password), timeout=10)


def test_devices_on_mosquitto_with_synced_files(
    database_url: str,
    store: ContextStore,
    mosquitto_factory: MosquittoFactory,
    mosquitto_files: MosquittoFiles,
) -> None:
    world = make_world(store)
    world.devices.put_profile("cluj", BIN_PROFILE)
    _, password = world.provision("cluj", "bin-1", transport="mqtt")
    _, other_password = world.provision("cluj", "bin-2", transport="mqtt")
    assert password is not None
    assert other_password is not None
    # Installation: the files exist before the broker starts (what the one-shot
    # `cetate devices mosquitto-sync` does); the application's job keeps them in sync.
    files = SyncFiles(
        mosquitto_files.password_file, mosquitto_files.acl_file, mosquitto_files.pid_file
    )
    installed = MosquittoSync(
        store, files, service_username=SERVICE, service_password=SERVICE_PASSWORD
    ).sync()
    assert installed.devices == 2
    server = mosquitto_factory(files=mosquitto_files)
    port = server.port
    settings = Settings(
        database_url=database_url,
        open_access=True,
        mqtt_builtin=False,
        notification_worker=False,
        mosquitto_password_file=str(mosquitto_files.password_file),
        mosquitto_acl_file=str(mosquitto_files.acl_file),
        mosquitto_pid_file=str(mosquitto_files.pid_file),
        # the service user's password comes from the URL Cetate connects with
        mqtt_external_url=f"mqtt://{SERVICE}:{SERVICE_PASSWORD}@127.0.0.1:{port}",
    )
    app = create_app(settings, store)
    assert "devices.mosquitto-sync" in app.state.scheduler.jobs
    with TestClient(app) as client:
        sync: MosquittoSync = app.state.mosquitto_sync
        assert wait_for(lambda: app.state.mqtt.subscriber is not None, timeout=5)
        assert wait_for(lambda: "cetate-service" in server.log_tail(200), timeout=5)
        time.sleep(0.3)  # the subscription follows the CONNACK

        # a provisioned device logs in and its reading is stored by Cetate's subscriber
        run(publish(port, "cluj/bin-1", password, "bin-1", orjson.dumps({"f": 42, "ts": TS})))
        assert wait_for(lambda: filling_levels(client, BIN) == [0.42]), server.log_tail()
        assert refused(port, "cluj/bin-1", "wrong-password")
        assert refused(port, "cluj/nobody", password)

        # ACL: bin-1 publishing on bin-2's topic does not reach Cetate; bin-2's own does
        with contextlib.suppress(aiomqtt.MqttError):
            run(
                publish(
                    port, "cluj/bin-1", password, "bin-2", orjson.dumps({"f": 99, "ts": TS + 9})
                )
            )
        run(publish(port, "cluj/bin-2", other_password, "bin-2", orjson.dumps({"f": 7, "ts": TS})))
        assert wait_for(lambda: filling_levels(client, OTHER) == [0.07]), server.log_tail()

        # revoke: the job rewrites the files, Mosquitto reloads, the device is refused
        world.devices.revoke("cluj", "bin-1")
        assert wait_for(lambda: refused(port, "cluj/bin-1", password), timeout=10), (
            server.log_tail()
        )
        assert "cluj/bin-1:" not in mosquitto_files.password_file.read_text()

        # rotate: the old password is refused, the new one works
        issued = world.devices.rotate("cluj", "bin-2")
        new_password = issued.mqtt_password
        assert new_password is not None
        assert wait_for(lambda: refused(port, "cluj/bin-2", other_password), timeout=10)
        assert not refused(port, "cluj/bin-2", new_password)
        run(
            publish(port, "cluj/bin-2", new_password, "bin-2", orjson.dumps({"f": 8, "ts": TS + 1}))
        )
        assert wait_for(lambda: filling_levels(client, OTHER) == [0.07, 0.08])
        # the service user still works after every reload
        assert not refused(port, SERVICE, SERVICE_PASSWORD)
        assert sync.writes >= 2  # the job wrote them: after revoke and after rotate
