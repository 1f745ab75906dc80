"""The load test's tenant data: a three-value profile and devices with MQTT credentials.

Every message carries ``a`` (its sequence number per device, so messages are distinct and
countable), ``b`` and ``c`` (numbers) and ``ts`` (the publish time in ms, stored as
``observedAt``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

PROFILE_NAME: Final = "bench-3values"
ENTITY_TYPE: Final = "BenchSensor"
DEFAULT_VOCAB: Final = "https://uri.etsi.org/ngsi-ld/default-context/"
SEQ_ATTR: Final = DEFAULT_VOCAB + "a"
"""The expanded name of the sequence-number attribute."""
PROBE_DEVICE: Final = "probe"
"""Publishes a few messages per second and checks when each becomes queryable."""
VALUES_PER_MESSAGE: Final = 3


def entity_id(device: str) -> str:
    """The entity a device's messages update."""
    return f"urn:ngsi-ld:{ENTITY_TYPE}:{device}"


def load_device_name(index: int) -> str:
    return f"dev-{index:05d}"


def profile_document() -> dict[str, Any]:
    """The device profile: ``a`` integer, ``b`` and ``c`` numbers, ``ts`` epoch ms."""
    return {
        "name": PROFILE_NAME,
        "entityType": ENTITY_TYPE,
        "entityIdTemplate": f"urn:ngsi-ld:{ENTITY_TYPE}:{{device}}",
        "createEntityOnFirstMessage": True,
        "observedAt": {"key": "ts", "format": "epoch_ms"},
        "unknownKeys": "reject",
        "maxFutureSeconds": 300,
        "measurements": [
            {"key": "a", "attribute": "a", "type": "integer"},
            {"key": "b", "attribute": "b", "type": "number"},
            {"key": "c", "attribute": "c", "type": "number"},
        ],
    }


def payload(seq: int) -> bytes:
    """One message with sequence number ``seq``, stamped with the current time."""
    ts = time.time_ns() // 1_000_000
    return b'{"a":%d,"b":%.1f,"c":%.2f,"ts":%d}' % (seq, (seq % 500) * 0.1, seq * 0.01, ts)


@dataclass(frozen=True)
class Device:
    """A provisioned device and its MQTT credentials."""

    device: str
    username: str
    password: str
    mosquitto_hash: str
    """The stored ``$7$`` hash, for a Mosquitto password file."""

    @property
    def topic(self) -> str:
        return f"cetate/{self.username}/attrs"


@dataclass(frozen=True)
class Fleet:
    """Every device of a run: the load devices and the probe."""

    probe: Device
    load: tuple[Device, ...]

    @property
    def all(self) -> tuple[Device, ...]:
        return (self.probe, *self.load)


def provision(url: str, tenant: str, count: int) -> Fleet:
    """Migrate the database, put the profile and provision ``count`` load devices plus the
    probe device in ``tenant``, through :class:`DeviceService`."""
    from cetate.entities import EntityService
    from cetate.ingest.devices.cache import VerifiedDeviceCache
    from cetate.ingest.devices.credentials import DeviceCredentials
    from cetate.ingest.devices.model import DeviceSpec
    from cetate.ingest.devices.service import DeviceService
    from cetate.ingest.devices.store_registry import StoreDeviceRegistry
    from cetate.ngsi.jsonld import ContextResolver
    from cetate.store.base import open_store

    store = open_store(url)
    try:
        store.migrate()
        registry = StoreDeviceRegistry(store)
        credentials = DeviceCredentials(
            registry, VerifiedDeviceCache(registry.credentials_generation)
        )
        service = DeviceService(store, EntityService(store), credentials, ContextResolver())
        service.put_profile(tenant, profile_document())
        devices = []
        names = [PROBE_DEVICE] + [load_device_name(n) for n in range(count)]
        for name in names:
            spec = DeviceSpec.model_validate(
                {"deviceId": name, "profile": PROFILE_NAME, "transport": "mqtt"}
            )
            issued = service.provision(tenant, spec)
            username, password = issued.mqtt_username, issued.mqtt_password
            hashed = issued.record.mosquitto_password_hash
            if username is None or password is None or hashed is None:
                raise RuntimeError(f"device {name} was provisioned without MQTT credentials")
            devices.append(Device(name, username, password, hashed))
        return Fleet(probe=devices[0], load=tuple(devices[1:]))
    finally:
        store.close()
