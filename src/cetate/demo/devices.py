"""The demo's fill sensors as real devices: a device profile and one registered device per
waste container, so they can publish over MQTT (see :mod:`cetate.demo.simulator`).

A demo fill sensor sends a compact payload, ``{"f": 63.4, "t": 4.2, "ts": 1795427940000}``:
fill in percent, temperature in °C, epoch milliseconds. The profile
:data:`FILL_SENSOR_PROFILE` maps it onto the demo's own attributes and units:
``fillingLevel`` as a fraction (``C62``) and ``temperature`` (``CEL``) of
``urn:ngsi-ld:WasteContainer:cluj:<device>``.

Devices are registered through :class:`cetate.ingest.devices.service.DeviceService`, with the
ids of the demo's ``Device`` entities (``0001`` is ``urn:ngsi-ld:Device:cluj:0001``).
Provisioning replaces that entity with the registry's form; the demo's own descriptive
attributes (serial number, battery, signal) are then put back, without touching the history.
Idempotent: a device already registered is left alone (and its credentials with it); the
secrets issued here are dropped at once — the simulator rotates them when it starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from cetate.demo.city import CONTEXTS, COUNTS
from cetate.entities import EntityService
from cetate.ingest.devices.cache import VerifiedDeviceCache
from cetate.ingest.devices.credentials import DeviceCredentials
from cetate.ingest.devices.model import DeviceSpec, device_entity_id
from cetate.ingest.devices.service import DeviceService
from cetate.ingest.devices.store_registry import StoreDeviceRegistry
from cetate.ingest.profiles import load_profile
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import ENTITY_KEYWORDS, LOCATION
from cetate.reactions.subscriptions.outbox import SubscriptionMatcher
from cetate.reactions.subscriptions.repository import SubscriptionRepository
from cetate.store.base import ContextStore

FILL_SENSOR_PROFILE_NAME: Final = "cetate-demo-fill-sensor-v1"
CONTAINER_ID: Final = "urn:ngsi-ld:WasteContainer:cluj:{device}"

FILL_SENSOR_PROFILE: Final[dict[str, Any]] = {
    "name": FILL_SENSOR_PROFILE_NAME,
    "entityType": "WasteContainer",
    "context": CONTEXTS["WasteContainer"],
    "entityIdTemplate": CONTAINER_ID,
    "createEntityOnFirstMessage": False,
    "observedAt": {"key": "ts", "format": "auto"},
    "unknownKeys": "reject",
    "ignoredKeys": ["rssi"],
    "maxPayloadBytes": 1024,
    "measurements": [
        {
            "key": "f",
            "attribute": "fillingLevel",
            "type": "number",
            "conversion": "percent_to_fraction",
            "decimals": 3,
            "unitCode": "C62",
            "range": [0, 1],
            "required": True,
        },
        {
            "key": "t",
            "attribute": "temperature",
            "type": "number",
            "decimals": 1,
            "unitCode": "CEL",
            "range": [-40, 85],
        },
    ],
}
"""How a demo fill sensor's payload becomes the demo's WasteContainer attributes."""


def fill_sensor_ids(count: int | None = None) -> list[str]:
    """Device ids of the demo's fill sensors (``0001`` …), the first ``count`` of them."""
    total = COUNTS["WasteContainer"]
    return [f"{number:04d}" for number in range(1, min(count or total, total) + 1)]


def device_service(store: ContextStore) -> DeviceService:
    """A device service over ``store`` (as the server and the CLI build it)."""
    registry = StoreDeviceRegistry(store)
    credentials = DeviceCredentials(registry, VerifiedDeviceCache(registry.credentials_generation))
    entities = EntityService(store, SubscriptionMatcher(SubscriptionRepository(store)))
    return DeviceService(store, entities, credentials, ContextResolver())


def provision_demo_devices(
    store: ContextStore,
    tenant: str,
    *,
    count: int | None = None,
    service: DeviceService | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Store the demo profile and register the fill sensors that are not registered yet;
    returns how many were registered now (0 when all were)."""
    devices = service or device_service(store)
    if devices.get_profile(tenant, FILL_SENSOR_PROFILE_NAME) != load_profile(FILL_SENSOR_PROFILE):
        devices.put_profile(tenant, FILL_SENSOR_PROFILE)
    known = {info.device for info in devices.list_devices(tenant)}
    registered = 0
    for device in fill_sensor_ids(count):
        if device in known:
            continue
        _register(devices, store, tenant, device)
        registered += 1
        if on_progress is not None:
            on_progress(1)
    return registered


def _register(devices: DeviceService, store: ContextStore, tenant: str, device: str) -> None:
    entity_id = device_entity_id(tenant, device)
    demo_entity = store.get_entity(tenant, entity_id)
    lon = lat = None
    if demo_entity is not None and demo_entity.get(LOCATION):
        lon, lat = demo_entity[LOCATION][0]["value"]["coordinates"]
    spec = DeviceSpec.model_validate(
        {
            "deviceId": device,
            "profile": FILL_SENSOR_PROFILE_NAME,
            "name": f"Fill sensor {device[-3:]}",
            "controlledProperty": ["fillingLevel", "temperature"],
            "entityId": CONTAINER_ID.format(device=device),
            "lon": lon,
            "lat": lat,
            "tags": ["demo"],
            "transport": "mqtt",
        }
    )
    issued = devices.provision(tenant, spec)
    del issued  # the simulator rotates the secrets when it starts; none are kept in clear
    if demo_entity is None:
        return
    # Put back what the demo said about the sensor (serial number, battery, signal …) next to
    # the registry's attributes; those instances are already in the history.
    with store.transaction(tenant) as tx:
        provisioned = tx.get_for_update([entity_id]).get(entity_id)
        if provisioned is None:  # pragma: no cover - provision just wrote it
            return
        merged = dict(provisioned)
        for key, value in demo_entity.items():
            if key not in ENTITY_KEYWORDS:
                merged[key] = value
        tx.replace(merged)
