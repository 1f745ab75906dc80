"""Open311 API keys: what apps send as ``api_key`` when they POST a report.

Keys are issued per tenant by its admins (``POST /api/v1/{tenant}/citizens/api-keys``) and
give no other right: an app key can submit reports to its tenant and nothing else (it is not a
platform API token). A key looks like ``o311_<key_id>_<secret>``; the store keeps only the
SHA-256 of the whole key, as the record's lookup, so a key is found in one indexed read.

Records: kind ``citizen-api-key``, key = ``key_id``, lookup = SHA-256 hex of the key,
data = ``{"label", "createdAt", "revoked"}``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

from cetate.errors import BadRequestData, ResourceNotFound
from cetate.ngsi.timestamps import format_datetime, utc_now
from cetate.store.base import ContextStore, Record

KIND: Final = "citizen-api-key"
PREFIX: Final = "o311_"
MAX_LABEL: Final = 200


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    tenant: str
    label: str
    created_at: str
    revoked: bool

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.key_id,
            "label": self.label,
            "createdAt": self.created_at,
            "revoked": self.revoked,
        }


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _from_record(record: Record) -> ApiKey:
    return ApiKey(
        key_id=record.key,
        tenant=record.tenant,
        label=str(record.data.get("label", "")),
        created_at=str(record.data.get("createdAt", "")),
        revoked=bool(record.data.get("revoked", False)),
    )


def issue_key(store: ContextStore, tenant: str, label: str) -> tuple[ApiKey, str]:
    """A new key for ``tenant``: the stored description and the key itself, shown once."""
    label = label.strip()
    if not label or len(label) > MAX_LABEL:
        raise BadRequestData(f"label must be 1-{MAX_LABEL} characters (who uses the key)")
    key_id = secrets.token_hex(8)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(30)}"
    data = {"label": label, "createdAt": format_datetime(utc_now()), "revoked": False}
    record = store.put_record(tenant, KIND, key_id, data, expected_version=None, lookup=_hash(key))
    return _from_record(record), key


def authenticate_key(store: ContextStore, key: str) -> ApiKey | None:
    """The live key, or None for an unknown, malformed or revoked one."""
    if not key.startswith(PREFIX) or len(key) > 200:
        return None
    record = store.find_record(KIND, _hash(key))
    if record is None:
        return None
    found = _from_record(record)
    return None if found.revoked else found


def list_keys(store: ContextStore, tenant: str) -> list[ApiKey]:
    return [_from_record(record) for record in store.list_records(tenant, KIND)]


def revoke_key(store: ContextStore, tenant: str, key_id: str) -> ApiKey:
    """Mark a key revoked (it stops working at once); 404 for an unknown key."""
    record = store.get_record(tenant, KIND, key_id)
    if record is None:
        raise ResourceNotFound(f"API key {key_id!r} does not exist in tenant {tenant!r}")
    data = dict(record.data, revoked=True)
    updated = store.put_record(
        tenant, KIND, key_id, data, expected_version=record.version, lookup=record.lookup
    )
    return _from_record(updated)
