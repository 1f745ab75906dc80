"""The demo's live devices: the fill sensors registered by the demo publish over the built-in
broker while the application runs with the simulator, and their readings are stored."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.config import Settings
from cetate.demo.city import CONTEXTS
from cetate.demo.devices import FILL_SENSOR_PROFILE_NAME, provision_demo_devices
from cetate.demo.load import load_demo
from cetate.demo.simulator import with_simulator
from cetate.ingest.devices.service import DeviceService
from cetate.ngsi.jsonld import ContextResolver
from cetate.store.base import ContextStore, EntityQuery, TemporalQuery
from tests.ingest.mqtt.conftest import free_port

CONTAINER = "urn:ngsi-ld:WasteContainer:cluj:0001"


def wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def fill_history(store: ContextStore, attr: str) -> list[Any]:
    query = TemporalQuery(entities=EntityQuery(ids=(CONTAINER,)), attrs=frozenset({attr}))
    found = store.query_temporal("cluj", query)
    return list(found[0].history.get(attr, [])) if found else []


def test_demo_devices_are_registered_idempotently(store: ContextStore) -> None:
    load_demo(store, hours=2)
    assert provision_demo_devices(store, "cluj", count=3) == 3
    assert provision_demo_devices(store, "cluj", count=3) == 0
    device = store.get_entity("cluj", "urn:ngsi-ld:Device:cluj:0001")
    assert device is not None
    # the demo's description is kept next to the registry's attributes
    assert any(key.endswith("/serialNumber") for key in device)
    assert any(key.endswith("/deviceProfile") for key in device)


def test_simulator_publishes_live_readings(database_url: str, store: ContextStore) -> None:
    load_demo(store, hours=2)
    provision_demo_devices(store, "cluj", count=2)
    fill = ContextResolver().resolve(CONTEXTS["WasteContainer"]).expand_term("fillingLevel")
    before = len(fill_history(store, fill))
    assert before == 2
    port = free_port()
    settings = Settings(
        database_url=database_url,
        open_access=True,
        mqtt_builtin=True,
        mqtt_port=port,
        notification_worker=False,
    )
    app = with_simulator(create_app(settings, store), count=2, interval=0.5)
    with TestClient(app) as client:
        devices: DeviceService = app.state.devices
        assert [d.profile for d in devices.list_devices("cluj")] == [FILL_SENSOR_PROFILE_NAME] * 2
        # two more publishing rounds land in the history of the first container
        grown = wait_for(lambda: len(fill_history(store, fill)) >= before + 2)
        assert grown, fill_history(store, fill)
        # nothing rejected by the demo profile
        assert client.get("/api/v1/cluj/dead-letters").json()["items"] == []
    history = fill_history(store, fill)
    latest = history[-1]
    assert 0 <= latest["value"] <= 1
    assert latest["unitCode"] == "C62"
