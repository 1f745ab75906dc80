"""Per-device credentials: issue, rotate, revoke, verify.

Every device has its own credential record (:class:`DeviceCredentialRecord`) with, depending
on its transport:

* an **HTTP token** ``cdev_<key>_<secret>``: ``key`` is 16 hex digits that name the record
  (not secret; the registry finds the record by it), ``secret`` 40 random letters and digits
  (≈238 bits);
* an **MQTT login**: username ``<tenant>/<device>``, password 40 random letters and digits;
* optionally the SHA-256 fingerprint of the device's **client certificate**, which pins the
  device to that certificate: when it is set, a login must also present that certificate.

Token and password are shown once, when issued or rotated. The record keeps only
``SHA-256(secret)`` (the same :func:`cetate.auth.tokens.hash_secret` as API tokens) and, for
a Mosquitto password file, Mosquitto's own PBKDF2 hash of the MQTT password.

Why SHA-256 and not argon2: argon2id is right for passwords people choose, which can be
guessed; it makes each guess cost ~50 ms and 64 MiB. Device secrets are generated with 238
random bits: no amount of guessing finds one, fast hash or slow, so a slow hash adds no
security. It would add cost where it hurts: devices authenticate per HTTP request (thousands
per second), and argon2 at that rate needs hundreds of CPU cores — and lets anyone with bogus
credentials burn 64 MiB and 50 ms of server time per request. SHA-256 costs under a
microsecond. No salt is needed either: precomputed tables cannot cover 2^238 secrets.

Rotation and revocation take effect at once: a verification that starts after
:meth:`DeviceCredentials.rotate` or :meth:`DeviceCredentials.revoke` returned sees the new
state, in this process and every other one sharing the registry, because every verification
checks the registry's :meth:`~DeviceRegistry.credentials_generation` (see
:class:`cetate.ingest.devices.cache.VerifiedDeviceCache`). There is no grace period: an old
token or password fails immediately after rotation (rotation is also what one does after a
leak, when a grace period would keep the leaked secret working).
"""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
import string
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Final, Protocol

from cetate.auth.tokens import SECRET_LENGTH, hash_secret
from cetate.errors import AlreadyExists, BadRequestData, CetateError, ResourceNotFound
from cetate.ingest.devices.cache import VerifiedDeviceCache
from cetate.ingest.devices.model import (
    DEFAULT_TRANSPORT,
    DEVICE_ID_RE,
    Transport,
    normalize_cert_fingerprint,
)
from cetate.ingest.devices.mosquitto import mosquitto_password_hash
from cetate.ingest.mqtt.auth import DeviceIdentity
from cetate.ingest.mqtt.topics import TopicError, check_tenant, parse_username
from cetate.ngsi.timestamps import utc_now

TOKEN_PREFIX: Final = "cdev_"  # noqa: S105 (a prefix, not a secret)
TOKEN_KEY_HEX_DIGITS: Final = 16
TOKEN_SECRET_LENGTH: Final = SECRET_LENGTH
MQTT_PASSWORD_LENGTH: Final = 40

_ALPHABET: Final = string.ascii_letters + string.digits
_TOKEN_RE: Final = re.compile(
    rf"{TOKEN_PREFIX}(?P<key>[0-9a-f]{{{TOKEN_KEY_HEX_DIGITS}}})_"
    rf"(?P<secret>[A-Za-z0-9]{{{TOKEN_SECRET_LENGTH}}})"
)
_MAX_PRESENTED_LENGTH: Final = 1024
_DUMMY_HASH: Final = hash_secret("no such device")


class CredentialConflict(CetateError):
    """The credential record changed between reading and writing it (another rotation or
    revocation ran at the same time); try again."""

    status = 409
    problem_type = "urn:cetate:errors:Conflict"
    title = "Concurrent change"


@dataclass(frozen=True, slots=True)
class DeviceCredentialRecord:
    """What the registry keeps about one device's credentials. No secret is in it: only
    hashes, which are useless to someone who copies the database."""

    tenant: str
    device: str
    token_key: str
    """16 hex digits, the public part of the HTTP token; unique across all tenants; stays the
    same when the secrets are rotated, changes when credentials are issued anew"""
    token_hash: str | None
    """SHA-256 hex of the HTTP token's secret; None when the device may not use HTTP"""
    mqtt_password_hash: str | None
    """SHA-256 hex of the MQTT password; None when the device may not use MQTT"""
    mosquitto_password_hash: str | None
    """the MQTT password in Mosquitto's password-file format (``$7$``, PBKDF2-SHA512), for
    deployments that sync a Mosquitto password file; None when the device may not use MQTT"""
    cert_fingerprint: str | None
    """SHA-256 of the client certificate, 64 lowercase hex digits (public, not a secret)"""
    revoked: bool
    created_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None
    version: int = 1
    """1 when issued, +1 on every change; the registry refuses a write whose expected version
    is not the stored one"""

    @property
    def mqtt_username(self) -> str:
        return f"{self.tenant}/{self.device}"

    @property
    def identity(self) -> DeviceIdentity:
        return DeviceIdentity(self.tenant, self.device)

    @property
    def transport(self) -> Transport:
        if self.token_hash is not None and self.mqtt_password_hash is not None:
            return "both"
        return "http" if self.token_hash is not None else "mqtt"


@dataclass(frozen=True, slots=True)
class IssuedCredentials:
    """A record as stored plus the secrets, which exist only here: show them once (or write
    them with :func:`cetate.ingest.devices.csv_import.write_credentials_csv`) and drop them.
    The secrets are left out of ``repr`` so they do not end up in logs."""

    record: DeviceCredentialRecord
    http_token: str | None = field(default=None, repr=False)
    mqtt_password: str | None = field(default=None, repr=False)

    @property
    def device(self) -> str:
        return self.record.device

    @property
    def mqtt_username(self) -> str | None:
        return self.record.mqtt_username if self.mqtt_password is not None else None


class DeviceRegistry(Protocol):
    """Where credential records live: the context store implements this (a table keyed by
    ``(tenant, device)`` with a unique index on ``token_key``).
    :class:`cetate.ingest.devices.memory.InMemoryDeviceRegistry` is the reference
    implementation that the tests use.

    Contract:

    * tenants never mix: ``get_credentials`` and ``list_credentials`` only answer for the
      tenant asked; ``find_by_token_key`` searches all tenants (the token says nothing else)
      and the caller takes the tenant from the record;
    * ``put_credentials`` with ``expected_version=None`` inserts and raises
      :class:`~cetate.errors.AlreadyExists` when the device (or the token key) exists; with a
      version it replaces the stored record only if its version is that one, else raises
      :class:`CredentialConflict`;
    * every successful ``put_credentials`` and ``delete_credentials`` increases
      ``credentials_generation()`` in the same transaction, and that number is read fresh
      (not from a cache) — this is what makes revocation immediate in every process.
    """

    def get_credentials(self, tenant: str, device: str) -> DeviceCredentialRecord | None:
        """The record of one device, revoked or not; None when there is none."""
        ...

    def find_by_token_key(self, token_key: str) -> DeviceCredentialRecord | None:
        """The record whose ``token_key`` this is, in any tenant; None when there is none."""
        ...

    def put_credentials(
        self, record: DeviceCredentialRecord, *, expected_version: int | None
    ) -> None:
        """Insert (``expected_version=None``) or replace (the stored version must equal
        ``expected_version``) a record, and increase the generation."""
        ...

    def delete_credentials(self, tenant: str, device: str) -> bool:
        """Remove a device's record (when the device is deleted); whether there was one.
        Increases the generation."""
        ...

    def list_credentials(self, tenant: str) -> list[DeviceCredentialRecord]:
        """A tenant's records, revoked ones included, ordered by device id."""
        ...

    def credentials_generation(self) -> int:
        """A number that increases with every change to any record; cheap to read."""
        ...


class VerifyFailure(StrEnum):
    """Why a login was refused. Counted and logged, never told to the device (it gets one
    generic refusal)."""

    malformed = "malformed"
    unknown_device = "unknown_device"
    revoked = "revoked"
    wrong_secret = "wrong_secret"  # noqa: S105 (a reason code, not a secret)
    transport_not_allowed = "transport_not_allowed"
    certificate_mismatch = "certificate_mismatch"


@dataclass(frozen=True, slots=True)
class Verification:
    """The answer to a login: the device, or why not."""

    identity: DeviceIdentity | None
    failure: VerifyFailure | None = None

    @property
    def ok(self) -> bool:
        return self.identity is not None


def _random_secret(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _new_token_key() -> str:
    return secrets.token_hex(TOKEN_KEY_HEX_DIGITS // 2)


def format_device_token(token_key: str, secret: str) -> str:
    return f"{TOKEN_PREFIX}{token_key}_{secret}"


def parse_device_token(presented: str) -> tuple[str, str] | None:
    """``(key, secret)`` of a well-formed device token, bare or as a whole ``Authorization``
    header value (``Bearer cdev_…``); None otherwise."""
    if len(presented) > _MAX_PRESENTED_LENGTH:
        return None
    text = presented.strip()
    scheme, _, rest = text.partition(" ")
    if rest and scheme.lower() == "bearer":
        text = rest.strip()
    match = _TOKEN_RE.fullmatch(text)
    if match is None:
        return None
    return match["key"], match["secret"]


def _secrets_for(
    transport: Transport,
) -> tuple[str | None, str | None]:
    token_secret = _random_secret(TOKEN_SECRET_LENGTH) if transport in ("http", "both") else None
    password = _random_secret(MQTT_PASSWORD_LENGTH) if transport in ("mqtt", "both") else None
    return token_secret, password


def _hashes(
    token_secret: str | None, password: str | None
) -> tuple[str | None, str | None, str | None]:
    return (
        hash_secret(token_secret) if token_secret is not None else None,
        hash_secret(password) if password is not None else None,
        mosquitto_password_hash(password) if password is not None else None,
    )


def new_credentials(
    tenant: str,
    device: str,
    *,
    transport: Transport = DEFAULT_TRANSPORT,
    cert_fingerprint: str | None = None,
    now: datetime | None = None,
    version: int = 1,
) -> IssuedCredentials:
    """Fresh credentials for a device (a new token key and new secrets); pure, stores
    nothing."""
    check_tenant(tenant)
    if not DEVICE_ID_RE.fullmatch(device):
        raise BadRequestData(f"invalid device id {device!r}")
    fingerprint = _fingerprint(cert_fingerprint)
    token_key = _new_token_key()
    token_secret, password = _secrets_for(transport)
    token_hash, password_hash, mosquitto_hash = _hashes(token_secret, password)
    record = DeviceCredentialRecord(
        tenant=tenant,
        device=device,
        token_key=token_key,
        token_hash=token_hash,
        mqtt_password_hash=password_hash,
        mosquitto_password_hash=mosquitto_hash,
        cert_fingerprint=fingerprint,
        revoked=False,
        created_at=now or utc_now(),
        version=version,
    )
    token = format_device_token(token_key, token_secret) if token_secret else None
    return IssuedCredentials(record, http_token=token, mqtt_password=password)


def rotated_credentials(
    record: DeviceCredentialRecord,
    *,
    transport: Transport | None = None,
    now: datetime | None = None,
) -> IssuedCredentials:
    """New secrets for the same record (same token key), version + 1; ``transport`` changes
    which credentials the device has (default: the ones it has now). Pure."""
    token_secret, password = _secrets_for(transport or record.transport)
    token_hash, password_hash, mosquitto_hash = _hashes(token_secret, password)
    new = replace(
        record,
        token_hash=token_hash,
        mqtt_password_hash=password_hash,
        mosquitto_password_hash=mosquitto_hash,
        rotated_at=now or utc_now(),
        version=record.version + 1,
    )
    token = format_device_token(record.token_key, token_secret) if token_secret else None
    return IssuedCredentials(new, http_token=token, mqtt_password=password)


def _fingerprint(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return normalize_cert_fingerprint(value)
    except ValueError as exc:
        raise BadRequestData(str(exc)) from None


def _matches(stored_hash: str | None, presented_secret: str) -> bool:
    """Constant-time comparison of SHA-256 hex digests (of the presented secret against the
    stored hash; a missing hash is compared against a dummy so the time is the same)."""
    presented = hash_secret(presented_secret)
    expected = stored_hash if stored_hash is not None else _DUMMY_HASH
    return hmac.compare_digest(presented.encode("ascii"), expected.encode("ascii")) and (
        stored_hash is not None
    )


class DeviceCredentials:
    """Issue, rotate, revoke and verify device credentials against a :class:`DeviceRegistry`,
    with an optional :class:`~cetate.ingest.devices.cache.VerifiedDeviceCache` in front of it
    for verification. Thread-safe; verification never raises for bad input.

    ``failures`` counts refused logins by reason (``Counter[VerifyFailure]``)."""

    def __init__(
        self,
        registry: DeviceRegistry,
        cache: VerifiedDeviceCache | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.registry = registry
        self.cache = cache
        self._clock = clock
        self._counts_lock = threading.Lock()
        self.failures: Counter[VerifyFailure] = Counter()

    # ---------------------------------------------------------------------------------------
    # administration

    def issue(
        self,
        tenant: str,
        device: str,
        *,
        transport: Transport = DEFAULT_TRANSPORT,
        cert_fingerprint: str | None = None,
    ) -> IssuedCredentials:
        """First credentials of a device, or new ones for a revoked device (with a new token
        key). Raises :class:`~cetate.errors.AlreadyExists` when the device has live
        credentials (rotate them instead)."""
        existing = self.registry.get_credentials(tenant, device)
        if existing is not None and not existing.revoked:
            raise AlreadyExists(
                f"device {device!r} of tenant {tenant!r} already has credentials; rotate them "
                "to get new secrets, or revoke them first"
            )
        version = existing.version + 1 if existing is not None else 1
        issued = new_credentials(
            tenant,
            device,
            transport=transport,
            cert_fingerprint=cert_fingerprint,
            now=self._clock(),
            version=version,
        )
        self.registry.put_credentials(
            issued.record, expected_version=existing.version if existing else None
        )
        self._invalidate(tenant, device)
        return issued

    def rotate(
        self, tenant: str, device: str, *, transport: Transport | None = None
    ) -> IssuedCredentials:
        """New secrets (token and/or password) for a device; the old ones stop working at once.
        Raises :class:`~cetate.errors.ResourceNotFound` for an unknown device and
        :class:`~cetate.errors.BadRequestData` for a revoked one (issue new credentials)."""
        record = self._existing(tenant, device)
        if record.revoked:
            raise BadRequestData(
                f"the credentials of device {device!r} are revoked; issue new ones instead"
            )
        issued = rotated_credentials(record, transport=transport, now=self._clock())
        self.registry.put_credentials(issued.record, expected_version=record.version)
        self._invalidate(tenant, device)
        return issued

    def revoke(self, tenant: str, device: str) -> DeviceCredentialRecord:
        """Revoke a device's credentials at once (idempotent); returns the record as stored."""
        record = self._existing(tenant, device)
        if record.revoked:
            return record
        revoked = replace(
            record, revoked=True, revoked_at=self._clock(), version=record.version + 1
        )
        self.registry.put_credentials(revoked, expected_version=record.version)
        self._invalidate(tenant, device)
        return revoked

    def set_cert_fingerprint(
        self, tenant: str, device: str, fingerprint: str | None
    ) -> DeviceCredentialRecord:
        """Pin the device to a client certificate (or unpin it with None); effective at once."""
        record = self._existing(tenant, device)
        changed = replace(
            record, cert_fingerprint=_fingerprint(fingerprint), version=record.version + 1
        )
        self.registry.put_credentials(changed, expected_version=record.version)
        self._invalidate(tenant, device)
        return changed

    def _existing(self, tenant: str, device: str) -> DeviceCredentialRecord:
        record = self.registry.get_credentials(tenant, device)
        if record is None:
            raise ResourceNotFound(f"tenant {tenant!r} has no device {device!r} with credentials")
        return record

    def _invalidate(self, tenant: str, device: str) -> None:
        if self.cache is not None:
            self.cache.invalidate(tenant, device)

    # ---------------------------------------------------------------------------------------
    # verification

    def verify_http(self, token: str, *, client_cert_sha256: str | None = None) -> Verification:
        """Check an HTTP device token (bare or ``Bearer …``). ``client_cert_sha256``: the
        fingerprint of the TLS client certificate the request came with, if any."""
        parsed = parse_device_token(token)
        if parsed is None:
            return self._refuse(VerifyFailure.malformed)
        key, secret = parsed
        record = self._lookup_key(key)
        return self._check(
            record, record.token_hash if record else None, secret, client_cert_sha256
        )

    def verify_mqtt(
        self, username: str, password: str, *, client_cert_sha256: str | None = None
    ) -> Verification:
        """Check an MQTT login (username ``<tenant>/<device>``)."""
        if len(username) > _MAX_PRESENTED_LENGTH or len(password) > _MAX_PRESENTED_LENGTH:
            return self._refuse(VerifyFailure.malformed)
        try:
            tenant, device = parse_username(username)
        except TopicError:
            return self._refuse(VerifyFailure.malformed)
        record = self._lookup_device(tenant, device)
        stored = record.mqtt_password_hash if record else None
        return self._check(record, stored, password, client_cert_sha256)

    def _check(
        self,
        record: DeviceCredentialRecord | None,
        stored_hash: str | None,
        secret: str,
        client_cert_sha256: str | None,
    ) -> Verification:
        matches = _matches(stored_hash, secret)
        if record is None:
            return self._refuse(VerifyFailure.unknown_device)
        if record.revoked:
            return self._refuse(VerifyFailure.revoked)
        if stored_hash is None:
            return self._refuse(VerifyFailure.transport_not_allowed)
        if not matches:
            return self._refuse(VerifyFailure.wrong_secret)
        if record.cert_fingerprint is not None and not _same_fingerprint(
            record.cert_fingerprint, client_cert_sha256
        ):
            return self._refuse(VerifyFailure.certificate_mismatch)
        return Verification(record.identity)

    def _refuse(self, reason: VerifyFailure) -> Verification:
        with self._counts_lock:
            self.failures[reason] += 1
        return Verification(None, reason)

    def _lookup_key(self, key: str) -> DeviceCredentialRecord | None:
        cache = self.cache
        if cache is None:
            return self.registry.find_by_token_key(key)
        generation = cache.sync()
        record = cache.get_by_token_key(key)
        if record is None:
            record = self.registry.find_by_token_key(key)
            if record is not None:
                cache.put(record, generation)
        return record

    def _lookup_device(self, tenant: str, device: str) -> DeviceCredentialRecord | None:
        cache = self.cache
        if cache is None:
            return self.registry.get_credentials(tenant, device)
        generation = cache.sync()
        record = cache.get_by_device(tenant, device)
        if record is None:
            record = self.registry.get_credentials(tenant, device)
            if record is not None:
                cache.put(record, generation)
        return record


def _same_fingerprint(expected: str, presented: str | None) -> bool:
    if presented is None:
        return False
    try:
        normalized = normalize_cert_fingerprint(presented)
    except ValueError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), normalized.encode("ascii"))


class RegistryDeviceAuthenticator:
    """The MQTT broker's :class:`cetate.ingest.mqtt.auth.DeviceAuthenticator` backed by the
    device registry. Registry reads run in a worker thread so the broker's event loop does
    not wait on the database."""

    def __init__(self, credentials: DeviceCredentials) -> None:
        self.credentials = credentials

    async def authenticate(self, username: str, password: str) -> DeviceIdentity | None:
        verification = await asyncio.to_thread(self.credentials.verify_mqtt, username, password)
        return verification.identity
