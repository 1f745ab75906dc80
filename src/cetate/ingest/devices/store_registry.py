"""The device registry in the context store: one record per device.

:class:`StoreDeviceRegistry` implements :class:`~cetate.ingest.devices.credentials.DeviceRegistry`
on the store's records (kind ``device-credentials``, key = device id, lookup = the token key,
which the store keeps unique across tenants). The generation is the store's
``records_generation("device-credentials")``, read fresh from the database, so a rotation or
revocation by any process is seen by every other process's cache at once.

The credential record carries its own ``version`` (it is what
:class:`~cetate.ingest.devices.credentials.DeviceCredentials` compares); the store record has
another one. A replace checks the credential version against the stored data and then writes
with the store version it read, so a concurrent writer between the two is refused by the store
(:class:`~cetate.errors.RecordConflict`, turned into
:class:`~cetate.ingest.devices.credentials.CredentialConflict`).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Final

from cetate.errors import RecordConflict
from cetate.ingest.devices.credentials import CredentialConflict, DeviceCredentialRecord
from cetate.store.base import ContextStore, Record

CREDENTIALS_KIND: Final = "device-credentials"
_PAGE: Final = 1000


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def credentials_to_data(record: DeviceCredentialRecord) -> dict[str, Any]:
    """The JSON document of a credential record (hashes only, never a secret)."""
    return {
        "token_key": record.token_key,
        "token_hash": record.token_hash,
        "mqtt_password_hash": record.mqtt_password_hash,
        "mosquitto_password_hash": record.mosquitto_password_hash,
        "cert_fingerprint": record.cert_fingerprint,
        "revoked": record.revoked,
        "created_at": _time(record.created_at),
        "rotated_at": _time(record.rotated_at),
        "revoked_at": _time(record.revoked_at),
        "version": record.version,
    }


def credentials_from_record(record: Record) -> DeviceCredentialRecord:
    data = record.data
    created = _parse_time(data["created_at"])
    assert created is not None
    return DeviceCredentialRecord(
        tenant=record.tenant,
        device=record.key,
        token_key=str(data["token_key"]),
        token_hash=data.get("token_hash"),
        mqtt_password_hash=data.get("mqtt_password_hash"),
        mosquitto_password_hash=data.get("mosquitto_password_hash"),
        cert_fingerprint=data.get("cert_fingerprint"),
        revoked=bool(data.get("revoked", False)),
        created_at=created,
        rotated_at=_parse_time(data.get("rotated_at")),
        revoked_at=_parse_time(data.get("revoked_at")),
        version=int(data.get("version", 1)),
    )


class StoreDeviceRegistry:
    """Device credentials as store records. Thread-safe (the store is)."""

    def __init__(self, store: ContextStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self.reads = 0
        """registry lookups answered (to see what a cache saves)"""

    def _count(self) -> None:
        with self._lock:
            self.reads += 1

    def get_credentials(self, tenant: str, device: str) -> DeviceCredentialRecord | None:
        self._count()
        record = self.store.get_record(tenant, CREDENTIALS_KIND, device)
        return None if record is None else credentials_from_record(record)

    def find_by_token_key(self, token_key: str) -> DeviceCredentialRecord | None:
        self._count()
        record = self.store.find_record(CREDENTIALS_KIND, token_key)
        return None if record is None else credentials_from_record(record)

    def put_credentials(
        self, record: DeviceCredentialRecord, *, expected_version: int | None
    ) -> None:
        data = credentials_to_data(record)
        if expected_version is None:
            self.store.put_record(
                record.tenant,
                CREDENTIALS_KIND,
                record.device,
                data,
                expected_version=None,
                lookup=record.token_key,
            )
            return
        current = self.store.get_record(record.tenant, CREDENTIALS_KIND, record.device)
        if current is None or int(current.data.get("version", 1)) != expected_version:
            raise CredentialConflict(
                f"the credentials of device {record.device!r} changed meanwhile; try again"
            )
        try:
            self.store.put_record(
                record.tenant,
                CREDENTIALS_KIND,
                record.device,
                data,
                expected_version=current.version,
                lookup=record.token_key,
            )
        except RecordConflict:
            raise CredentialConflict(
                f"the credentials of device {record.device!r} changed meanwhile; try again"
            ) from None

    def delete_credentials(self, tenant: str, device: str) -> bool:
        return self.store.delete_record(tenant, CREDENTIALS_KIND, device)

    def list_credentials(self, tenant: str) -> list[DeviceCredentialRecord]:
        found: list[DeviceCredentialRecord] = []
        offset = 0
        while True:
            page = self.store.list_records(tenant, CREDENTIALS_KIND, limit=_PAGE, offset=offset)
            found.extend(credentials_from_record(r) for r in page)
            if len(page) < _PAGE:
                return found
            offset += _PAGE

    def credentials_generation(self) -> int:
        return self.store.records_generation(CREDENTIALS_KIND)
