"""Fixtures for the device ingest path: a store-backed device service and pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from cetate.entities import EntityService
from cetate.ingest.devices.cache import VerifiedDeviceCache
from cetate.ingest.devices.credentials import DeviceCredentials
from cetate.ingest.devices.model import DeviceSpec
from cetate.ingest.devices.service import DeviceService
from cetate.ingest.devices.store_registry import StoreDeviceRegistry
from cetate.ingest.pipeline import IngestPipeline, RateLimiter
from cetate.ngsi.jsonld import ContextResolver
from cetate.store.base import ContextStore

BIN_PROFILE: dict[str, Any] = {
    "name": "bin-v1",
    "entityType": "WasteContainer",
    "entityIdTemplate": "urn:ngsi-ld:WasteContainer:{device}",
    "createEntityOnFirstMessage": True,
    "observedAt": {"key": "ts", "format": "epoch_s"},
    "ignoredKeys": ["rssi"],
    "measurements": [
        {
            "key": "f",
            "attribute": "fillingLevel",
            "conversion": "percent_to_fraction",
            "unitCode": "P1",
            "range": [0, 1],
            "required": True,
        },
        {"key": "t", "attribute": "temperature", "unitCode": "CEL", "range": [-40, 85]},
    ],
}
FILLING_LEVEL = "https://uri.etsi.org/ngsi-ld/default-context/fillingLevel"
TEMPERATURE = "https://uri.etsi.org/ngsi-ld/default-context/temperature"


@dataclass
class DeviceWorld:
    store: ContextStore
    entities: EntityService
    registry: StoreDeviceRegistry
    credentials: DeviceCredentials
    devices: DeviceService
    pipeline: IngestPipeline

    def provision(self, tenant: str, device: str, **spec: Any) -> tuple[str | None, str | None]:
        """(HTTP token, MQTT password) of a new device with the bin profile."""
        issued = self.devices.provision(
            tenant,
            DeviceSpec.model_validate(
                {"deviceId": device, "profile": "bin-v1", "transport": "both", **spec}
            ),
        )
        return issued.http_token, issued.mqtt_password


def make_world(store: ContextStore, rate_limiter: RateLimiter | None = None) -> DeviceWorld:
    resolver = ContextResolver()
    entities = EntityService(store)
    registry = StoreDeviceRegistry(store)
    credentials = DeviceCredentials(registry, VerifiedDeviceCache(registry.credentials_generation))
    devices = DeviceService(store, entities, credentials, resolver)
    pipeline = IngestPipeline(store, entities, resolver, rate_limiter=rate_limiter)
    return DeviceWorld(store, entities, registry, credentials, devices, pipeline)


@pytest.fixture
def world(store: ContextStore) -> DeviceWorld:
    """Tenants cluj and iasi, each with the bin profile."""
    w = make_world(store)
    for tenant in ("cluj", "iasi"):
        w.devices.put_profile(tenant, BIN_PROFILE)
    return w
