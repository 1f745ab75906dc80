"""The device registry: devices as FIWARE ``Device`` entities, each with its own credentials.

* :mod:`.model` — :class:`DeviceSpec` (what an operator registers) and :func:`device_entity`;
* :mod:`.credentials` — issue, rotate, revoke and verify per-device credentials against a
  :class:`DeviceRegistry` (implemented by the store; :mod:`.memory` is the reference one);
* :mod:`.cache` — :class:`VerifiedDeviceCache`, so verification does not hit the database per
  message while rotation and revocation still take effect at once;
* :mod:`.csv_import` — ``cetate devices import``: devices from a CSV, credentials to a 0600 CSV;
* :mod:`.mosquitto` — Mosquitto password-file hashes.

Pure: no I/O beyond the files the CSV functions are given. See ``docs/device-registry.md``.
"""

from __future__ import annotations

from cetate.ingest.devices.cache import VerifiedDeviceCache
from cetate.ingest.devices.credentials import (
    CredentialConflict,
    DeviceCredentialRecord,
    DeviceCredentials,
    DeviceRegistry,
    IssuedCredentials,
    RegistryDeviceAuthenticator,
    Verification,
    VerifyFailure,
    parse_device_token,
)
from cetate.ingest.devices.csv_import import (
    CREDENTIALS_WARNING,
    DeviceRow,
    DeviceRowError,
    ParsedDevices,
    read_devices_csv,
    write_credentials_csv,
)
from cetate.ingest.devices.memory import InMemoryDeviceRegistry
from cetate.ingest.devices.model import (
    DeviceSpec,
    InvalidDeviceSpec,
    Transport,
    device_entity,
    device_entity_id,
    parse_device_spec,
)

__all__ = [
    "CREDENTIALS_WARNING",
    "CredentialConflict",
    "DeviceCredentialRecord",
    "DeviceCredentials",
    "DeviceRegistry",
    "DeviceRow",
    "DeviceRowError",
    "DeviceSpec",
    "InMemoryDeviceRegistry",
    "InvalidDeviceSpec",
    "IssuedCredentials",
    "ParsedDevices",
    "RegistryDeviceAuthenticator",
    "Transport",
    "Verification",
    "VerifiedDeviceCache",
    "VerifyFailure",
    "device_entity",
    "device_entity_id",
    "parse_device_spec",
    "parse_device_token",
    "read_devices_csv",
    "write_credentials_csv",
]
