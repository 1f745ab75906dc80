"""Devices and profiles kept in the store, and the operations on them.

* **Profiles** are records of kind ``device-profile`` (key: the profile name; data: the
  profile document as sent), checked with :func:`~cetate.ingest.profiles.check_profile`
  before they are stored.
* **Devices** are three things kept together: the FIWARE ``Device`` entity (through the
  :class:`~cetate.entities.EntityService`, so it is an ordinary NGSI-LD entity), a record of
  kind ``device`` (key: the device id; data: the assigned profile and the target entity id)
  that the ingest pipeline reads per message, and the device's credentials
  (:class:`~cetate.ingest.devices.credentials.DeviceCredentials` over the store registry).

Provisioning writes the entity and the ``device`` record first and issues credentials last,
so a device can never log in before Cetate knows how to map its payloads; a failure part way
undoes what was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cetate.entities import EntityService
from cetate.errors import AlreadyExists, BadRequestData, ResourceNotFound
from cetate.ingest.devices.credentials import (
    DeviceCredentialRecord,
    DeviceCredentials,
    IssuedCredentials,
)
from cetate.ingest.devices.model import (
    DEVICE_CONTEXT,
    DeviceSpec,
    Transport,
    device_entity,
    device_entity_id,
)
from cetate.ingest.mqtt.topics import check_tenant
from cetate.ingest.profiles import DeviceProfile, check_profile, load_profile
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.representation import expand_entity
from cetate.ngsi.timestamps import utc_now
from cetate.store.base import ContextStore, Record, Tenant

PROFILE_KIND: Final = "device-profile"
DEVICE_KIND: Final = "device"
_PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the ``device`` record says about one device."""

    tenant: str
    device: str
    profile: str
    entity_id: str | None
    """the entity its readings go to when set; else the profile's template decides"""
    created_at: str
    version: int


def _device_info(record: Record) -> DeviceInfo:
    data = record.data
    entity_id = data.get("entity_id")
    return DeviceInfo(
        tenant=record.tenant,
        device=record.key,
        profile=str(data["profile"]),
        entity_id=str(entity_id) if entity_id else None,
        created_at=str(data.get("created_at", "")),
        version=record.version,
    )


def _all(store: ContextStore, tenant: str, kind: str) -> list[Record]:
    found: list[Record] = []
    offset = 0
    while True:
        page = store.list_records(tenant, kind, limit=_PAGE, offset=offset)
        found.extend(page)
        if len(page) < _PAGE:
            return found
        offset += _PAGE


class DeviceService:
    """Provision, rotate, revoke and delete devices; store device profiles. Synchronous."""

    def __init__(
        self,
        store: ContextStore,
        entities: EntityService,
        credentials: DeviceCredentials,
        resolver: ContextResolver,
    ) -> None:
        self.store = store
        self.entities = entities
        self.credentials = credentials
        self.resolver = resolver

    # -- profiles ---------------------------------------------------------------------------
    def put_profile(
        self, tenant: str, document: Mapping[str, Any] | str | bytes
    ) -> tuple[DeviceProfile, list[str]]:
        """Create or replace a profile (by its name); returns it with its warnings. Raises
        :class:`~cetate.ingest.profiles.InvalidProfile` for a profile that cannot work."""
        self._ensure_tenant(tenant)
        profile = load_profile(document)
        warnings = check_profile(profile, self.resolver)
        data = profile.model_dump(mode="json", by_alias=True, exclude_none=True)
        current = self.store.get_record(tenant, PROFILE_KIND, profile.name)
        self.store.put_record(
            tenant,
            PROFILE_KIND,
            profile.name,
            data,
            expected_version=None if current is None else current.version,
        )
        return profile, warnings

    def get_profile(self, tenant: str, name: str) -> DeviceProfile | None:
        record = self.store.get_record(tenant, PROFILE_KIND, name)
        return None if record is None else load_profile(record.data)

    def list_profiles(self, tenant: str) -> list[DeviceProfile]:
        return [load_profile(r.data) for r in _all(self.store, tenant, PROFILE_KIND)]

    def delete_profile(self, tenant: str, name: str) -> bool:
        """Remove a profile that no device uses (BadRequestData otherwise)."""
        users = [d.device for d in self.list_devices(tenant) if d.profile == name]
        if users:
            raise BadRequestData(
                f"profile {name!r} is assigned to {len(users)} device(s), e.g. {users[0]!r}"
            )
        return self.store.delete_record(tenant, PROFILE_KIND, name)

    # -- devices ----------------------------------------------------------------------------
    def get_device(self, tenant: str, device: str) -> DeviceInfo | None:
        record = self.store.get_record(tenant, DEVICE_KIND, device)
        return None if record is None else _device_info(record)

    def list_devices(self, tenant: str) -> list[DeviceInfo]:
        return [_device_info(r) for r in _all(self.store, tenant, DEVICE_KIND)]

    def provision(
        self, tenant: str, spec: DeviceSpec, *, now: datetime | None = None
    ) -> IssuedCredentials:
        """Register a device: its Device entity, its profile assignment, its credentials
        (returned: the secrets are shown once). AlreadyExists for a registered device id;
        BadRequestData for an unknown profile."""
        self._ensure_tenant(tenant)
        if self.store.get_record(tenant, PROFILE_KIND, spec.profile) is None:
            raise BadRequestData(f"tenant {tenant!r} has no device profile {spec.profile!r}")
        if self.store.get_record(tenant, DEVICE_KIND, spec.device_id) is not None:
            raise AlreadyExists(f"device {spec.device_id!r} already exists in tenant {tenant!r}")
        document = device_entity(spec, tenant, installed_at=now)
        entity = expand_entity(document, self.resolver.resolve(DEVICE_CONTEXT))
        result = self.entities.batch_upsert(tenant, [entity], mode="replace")
        if result.errors:
            raise result.errors[0].error
        data = {
            "profile": spec.profile,
            "entity_id": spec.entity_id,
            "created_at": (now or utc_now()).isoformat(),
        }
        try:
            self.store.put_record(tenant, DEVICE_KIND, spec.device_id, data, expected_version=None)
        except Exception:
            self._delete_entity(tenant, spec.device_id)
            raise
        try:
            return self.credentials.issue(
                tenant,
                spec.device_id,
                transport=spec.transport,
                cert_fingerprint=spec.cert_fingerprint,
            )
        except Exception:
            self.store.delete_record(tenant, DEVICE_KIND, spec.device_id)
            self._delete_entity(tenant, spec.device_id)
            raise

    def assign_profile(self, tenant: str, device: str, profile: str) -> DeviceInfo:
        """Point a device at another profile (effective for its next message)."""
        if self.store.get_record(tenant, PROFILE_KIND, profile) is None:
            raise BadRequestData(f"tenant {tenant!r} has no device profile {profile!r}")
        record = self.store.get_record(tenant, DEVICE_KIND, device)
        if record is None:
            raise ResourceNotFound(f"tenant {tenant!r} has no device {device!r}")
        data = {**record.data, "profile": profile}
        stored = self.store.put_record(
            tenant, DEVICE_KIND, device, data, expected_version=record.version
        )
        return _device_info(stored)

    def rotate(
        self, tenant: str, device: str, *, transport: Transport | None = None
    ) -> IssuedCredentials:
        return self.credentials.rotate(tenant, device, transport=transport)

    def revoke(self, tenant: str, device: str) -> DeviceCredentialRecord:
        return self.credentials.revoke(tenant, device)

    def delete(self, tenant: str, device: str) -> bool:
        """Remove a device: credentials first (it can no longer log in), then its record and
        its Device entity. Whether there was anything to remove."""
        had_credentials = self.credentials.registry.delete_credentials(tenant, device)
        if self.credentials.cache is not None:
            self.credentials.cache.invalidate(tenant, device)
        had_record = self.store.delete_record(tenant, DEVICE_KIND, device)
        had_entity = self._delete_entity(tenant, device)
        return had_credentials or had_record or had_entity

    def _ensure_tenant(self, tenant: str) -> None:
        """A tenant gets its first device or profile: it exists from then on (as an API
        write creates it), so its devices' entities can be read."""
        check_tenant(tenant)
        if self.store.get_tenant(tenant) is None:
            self.store.put_tenant(Tenant(name=tenant, title=tenant))

    def _delete_entity(self, tenant: str, device: str) -> bool:
        result = self.entities.batch_delete(tenant, [device_entity_id(tenant, device)])
        return bool(result.success)
