"""An in-memory :class:`~cetate.ingest.devices.credentials.DeviceRegistry`: the reference
implementation of the registry contract (the tests use it; the store implements the same
contract in the database)."""

from __future__ import annotations

import threading

from cetate.errors import AlreadyExists
from cetate.ingest.devices.credentials import CredentialConflict, DeviceCredentialRecord


class InMemoryDeviceRegistry:
    """Records in a dict, one lock, a generation counter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], DeviceCredentialRecord] = {}
        self._by_key: dict[str, tuple[str, str]] = {}
        self._generation = 0
        self.reads = 0
        """registry lookups answered (to see what a cache saves)"""

    def get_credentials(self, tenant: str, device: str) -> DeviceCredentialRecord | None:
        with self._lock:
            self.reads += 1
            return self._records.get((tenant, device))

    def find_by_token_key(self, token_key: str) -> DeviceCredentialRecord | None:
        with self._lock:
            self.reads += 1
            slot = self._by_key.get(token_key)
            return self._records.get(slot) if slot is not None else None

    def put_credentials(
        self, record: DeviceCredentialRecord, *, expected_version: int | None
    ) -> None:
        slot = (record.tenant, record.device)
        with self._lock:
            current = self._records.get(slot)
            if expected_version is None:
                if current is not None:
                    raise AlreadyExists(
                        f"device {record.device!r} of tenant {record.tenant!r} already has "
                        "credentials"
                    )
            elif current is None or current.version != expected_version:
                raise CredentialConflict(
                    f"the credentials of device {record.device!r} changed meanwhile; try again"
                )
            owner = self._by_key.get(record.token_key)
            if owner is not None and owner != slot:
                raise AlreadyExists(f"token key {record.token_key!r} is already in use")
            if current is not None and current.token_key != record.token_key:
                del self._by_key[current.token_key]
            self._records[slot] = record
            self._by_key[record.token_key] = slot
            self._generation += 1

    def delete_credentials(self, tenant: str, device: str) -> bool:
        with self._lock:
            record = self._records.pop((tenant, device), None)
            if record is None:
                return False
            del self._by_key[record.token_key]
            self._generation += 1
            return True

    def list_credentials(self, tenant: str) -> list[DeviceCredentialRecord]:
        with self._lock:
            return sorted(
                (r for (t, _), r in self._records.items() if t == tenant),
                key=lambda r: r.device,
            )

    def credentials_generation(self) -> int:
        return self._generation
