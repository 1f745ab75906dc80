"""Device credentials: issue, verify, rotate, revoke, the cache, the registry contract."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from cetate.auth.tokens import hash_secret
from cetate.errors import AlreadyExists, BadRequestData, ResourceNotFound
from cetate.ingest.devices.cache import VerifiedDeviceCache
from cetate.ingest.devices.credentials import (
    CredentialConflict,
    DeviceCredentials,
    DeviceRegistry,
    RegistryDeviceAuthenticator,
    VerifyFailure,
    new_credentials,
    parse_device_token,
)
from cetate.ingest.devices.memory import InMemoryDeviceRegistry
from cetate.ingest.devices.mosquitto import (
    mosquitto_password_file,
    mosquitto_password_hash,
    verify_mosquitto_hash,
)
from cetate.ingest.devices.store_registry import StoreDeviceRegistry
from cetate.ingest.mqtt.auth import DeviceAuthenticator, DeviceIdentity
from cetate.store.base import open_store

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
FINGERPRINT = "cd" * 32


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InMemoryDeviceRegistry]:
    """The reference in-memory registry and the store-backed one on each backend: both must
    pass every test here. Typed as the in-memory one for its ``reads`` counter, which the
    store registry has too."""
    if request.param == "memory":
        yield InMemoryDeviceRegistry()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cetate.db'}"
    else:
        url = str(request.getfixturevalue("postgres_database_url"))
    store = open_store(url)
    store.migrate()
    yield cast(InMemoryDeviceRegistry, StoreDeviceRegistry(store))
    store.close()


@pytest.fixture
def creds(registry: InMemoryDeviceRegistry) -> DeviceCredentials:
    cache = VerifiedDeviceCache(registry.credentials_generation)
    return DeviceCredentials(registry, cache, clock=lambda: NOW)


def test_the_in_memory_registry_satisfies_the_protocol(registry: InMemoryDeviceRegistry) -> None:
    typed: DeviceRegistry = registry
    assert typed.credentials_generation() == 0


def test_issue_shows_secrets_once_and_keeps_only_hashes(
    creds: DeviceCredentials, registry: InMemoryDeviceRegistry
) -> None:
    issued = creds.issue("cluj", "bin-1", transport="both")
    assert issued.http_token is not None
    assert issued.mqtt_password is not None
    assert re.fullmatch(r"cdev_[0-9a-f]{16}_[A-Za-z0-9]{40}", issued.http_token)
    assert re.fullmatch(r"[A-Za-z0-9]{40}", issued.mqtt_password)
    assert issued.mqtt_username == "cluj/bin-1"
    record = registry.get_credentials("cluj", "bin-1")
    assert record == issued.record
    assert record.created_at == NOW
    assert record.version == 1
    assert not record.revoked
    key, secret = parse_device_token(issued.http_token) or ("", "")
    assert record.token_key == key
    assert record.token_hash == hash_secret(secret)
    assert record.mqtt_password_hash == hash_secret(issued.mqtt_password)
    assert verify_mosquitto_hash(record.mosquitto_password_hash or "", issued.mqtt_password)
    stored_text = repr(record)
    assert secret not in stored_text
    assert issued.mqtt_password not in stored_text
    # and the secrets stay out of logs
    assert secret not in repr(issued)
    assert issued.mqtt_password not in repr(issued)


def test_transport_decides_which_credentials_exist(creds: DeviceCredentials) -> None:
    mqtt_only = creds.issue("cluj", "m1")
    assert mqtt_only.http_token is None
    assert mqtt_only.record.token_hash is None
    assert mqtt_only.mqtt_password is not None
    http_only = creds.issue("cluj", "h1", transport="http")
    assert http_only.mqtt_password is None
    assert http_only.mqtt_username is None
    assert http_only.record.mqtt_password_hash is None
    assert http_only.record.mosquitto_password_hash is None
    assert http_only.http_token is not None
    # a token for a device registered for MQTT only cannot exist, and a password for an HTTP
    # device is refused
    assert creds.verify_mqtt("cluj/h1", "x" * 40).failure is VerifyFailure.transport_not_allowed


def test_secrets_differ_every_time(creds: DeviceCredentials) -> None:
    tokens = {creds.issue("cluj", f"d{i}", transport="http").http_token for i in range(50)}
    assert len(tokens) == 50


def test_verify_http_and_mqtt(creds: DeviceCredentials) -> None:
    issued = creds.issue("cluj", "bin-1", transport="both")
    assert issued.http_token
    assert issued.mqtt_password
    identity = DeviceIdentity("cluj", "bin-1")
    assert creds.verify_http(issued.http_token).identity == identity
    assert creds.verify_http(f"Bearer {issued.http_token}").ok
    assert creds.verify_mqtt("cluj/bin-1", issued.mqtt_password).identity == identity


@pytest.mark.parametrize(
    ("presented", "reason"),
    [
        ("", VerifyFailure.malformed),
        ("cetate_0123456789abcdef_" + "a" * 40, VerifyFailure.malformed),
        ("cdev_0123456789abcdef_short", VerifyFailure.malformed),
        ("cdev_" + "x" * 2000, VerifyFailure.malformed),
        ("cdev_0123456789abcdef_" + "a" * 40, VerifyFailure.unknown_device),
    ],
)
def test_bad_http_tokens(creds: DeviceCredentials, presented: str, reason: VerifyFailure) -> None:
    creds.issue("cluj", "bin-1", transport="http")
    result = creds.verify_http(presented)
    assert not result.ok
    assert result.identity is None
    assert result.failure is reason
    assert creds.failures[reason] == 1


def test_wrong_secrets(creds: DeviceCredentials) -> None:
    issued = creds.issue("cluj", "bin-1", transport="both")
    assert issued.http_token
    assert issued.mqtt_password
    wrong_token = issued.http_token[:-1] + ("A" if issued.http_token[-1] != "A" else "B")
    assert creds.verify_http(wrong_token).failure is VerifyFailure.wrong_secret
    assert creds.verify_mqtt("cluj/bin-1", "nope").failure is VerifyFailure.wrong_secret
    assert creds.verify_mqtt("cluj/bin-2", issued.mqtt_password).failure is (
        VerifyFailure.unknown_device
    )
    # the same password under another tenant is another device
    assert creds.verify_mqtt("iasi/bin-1", issued.mqtt_password).failure is (
        VerifyFailure.unknown_device
    )
    assert creds.verify_mqtt("cluj", issued.mqtt_password).failure is VerifyFailure.malformed
    assert creds.verify_mqtt("cluj/bin-1/x", issued.mqtt_password).failure is (
        VerifyFailure.malformed
    )
    assert creds.failures[VerifyFailure.wrong_secret] == 2


def test_rotation_invalidates_the_old_secrets_at_once(
    creds: DeviceCredentials, registry: InMemoryDeviceRegistry
) -> None:
    old = creds.issue("cluj", "bin-1", transport="both")
    assert old.http_token
    assert old.mqtt_password
    # warm the cache
    assert creds.verify_http(old.http_token).ok
    assert creds.verify_mqtt("cluj/bin-1", old.mqtt_password).ok
    new = creds.rotate("cluj", "bin-1")
    assert new.http_token
    assert new.mqtt_password
    assert creds.verify_http(old.http_token).failure is VerifyFailure.wrong_secret
    assert creds.verify_mqtt("cluj/bin-1", old.mqtt_password).failure is VerifyFailure.wrong_secret
    assert creds.verify_http(new.http_token).ok
    assert creds.verify_mqtt("cluj/bin-1", new.mqtt_password).ok
    record = registry.get_credentials("cluj", "bin-1")
    assert record is not None
    assert record.version == 2
    assert record.rotated_at == NOW
    assert record.token_key == old.record.token_key  # the key is stable, the secret is new
    assert record.created_at == old.record.created_at


def test_rotation_can_change_the_transport(creds: DeviceCredentials) -> None:
    creds.issue("cluj", "bin-1")
    rotated = creds.rotate("cluj", "bin-1", transport="http")
    assert rotated.mqtt_password is None
    assert rotated.http_token is not None
    assert rotated.record.mqtt_password_hash is None
    assert creds.verify_http(rotated.http_token).ok


def test_revocation_takes_effect_at_once_and_is_idempotent(
    creds: DeviceCredentials, registry: InMemoryDeviceRegistry
) -> None:
    issued = creds.issue("cluj", "bin-1", transport="both")
    assert issued.http_token
    assert issued.mqtt_password
    for _ in range(3):
        assert creds.verify_http(issued.http_token).ok
    revoked = creds.revoke("cluj", "bin-1")
    assert revoked.revoked
    assert revoked.revoked_at == NOW
    assert revoked.version == 2
    assert creds.verify_http(issued.http_token).failure is VerifyFailure.revoked
    assert creds.verify_mqtt("cluj/bin-1", issued.mqtt_password).failure is VerifyFailure.revoked
    assert creds.revoke("cluj", "bin-1") == revoked
    with pytest.raises(BadRequestData, match="revoked; issue new ones"):
        creds.rotate("cluj", "bin-1")
    assert registry.get_credentials("cluj", "bin-1") == revoked


def test_a_revoked_device_can_be_issued_new_credentials(creds: DeviceCredentials) -> None:
    old = creds.issue("cluj", "bin-1", transport="http")
    creds.revoke("cluj", "bin-1")
    new = creds.issue("cluj", "bin-1", transport="http")
    assert new.record.version == 3
    assert not new.record.revoked
    assert new.record.token_key != old.record.token_key
    assert old.http_token
    assert new.http_token
    assert creds.verify_http(old.http_token).failure is VerifyFailure.unknown_device
    assert creds.verify_http(new.http_token).ok


def test_issue_rotate_revoke_errors(creds: DeviceCredentials) -> None:
    creds.issue("cluj", "bin-1")
    with pytest.raises(AlreadyExists, match="rotate them"):
        creds.issue("cluj", "bin-1")
    with pytest.raises(ResourceNotFound):
        creds.rotate("cluj", "nope")
    with pytest.raises(ResourceNotFound):
        creds.revoke("iasi", "bin-1")  # same device id, other tenant
    with pytest.raises(BadRequestData):
        creds.issue("Cluj", "bin-1")
    with pytest.raises(BadRequestData):
        creds.issue("cluj", "bin/1")
    with pytest.raises(BadRequestData, match="64 hex digits"):
        creds.issue("cluj", "bin-2", cert_fingerprint="abc")


def test_certificate_pinning(creds: DeviceCredentials) -> None:
    issued = creds.issue("cluj", "bin-1", transport="both", cert_fingerprint=FINGERPRINT.upper())
    assert issued.record.cert_fingerprint == FINGERPRINT
    assert issued.http_token
    assert issued.mqtt_password
    assert creds.verify_http(issued.http_token).failure is VerifyFailure.certificate_mismatch
    assert (
        creds.verify_http(issued.http_token, client_cert_sha256="ee" * 32).failure
        is VerifyFailure.certificate_mismatch
    )
    assert creds.verify_http(issued.http_token, client_cert_sha256=FINGERPRINT).ok
    spaced = ":".join(FINGERPRINT[i : i + 2] for i in range(0, 64, 2)).upper()
    assert creds.verify_mqtt("cluj/bin-1", issued.mqtt_password, client_cert_sha256=spaced).ok
    creds.set_cert_fingerprint("cluj", "bin-1", None)
    assert creds.verify_http(issued.http_token).ok


def test_the_cache_saves_registry_reads_and_honours_revocation(
    creds: DeviceCredentials, registry: InMemoryDeviceRegistry
) -> None:
    issued = creds.issue("cluj", "bin-1", transport="http")
    assert issued.http_token
    reads = registry.reads
    for _ in range(1000):
        assert creds.verify_http(issued.http_token).ok
    assert registry.reads - reads == 1
    # a flood with a wrong secret is refused from the cache too
    for _ in range(100):
        assert not creds.verify_http(issued.http_token[:-3] + "xyz").ok
    assert registry.reads - reads == 1
    creds.revoke("cluj", "bin-1")
    assert creds.verify_http(issued.http_token).failure is VerifyFailure.revoked


def test_revocation_by_another_process_is_seen_at_once(registry: InMemoryDeviceRegistry) -> None:
    """Two services on one registry, each with its own cache (two API workers): the one that
    did not revoke still refuses at once, because its cache checks the registry's
    generation."""
    worker_a = DeviceCredentials(registry, VerifiedDeviceCache(registry.credentials_generation))
    worker_b = DeviceCredentials(registry, VerifiedDeviceCache(registry.credentials_generation))
    issued = worker_a.issue("cluj", "bin-1", transport="both")
    assert issued.http_token
    assert issued.mqtt_password
    assert worker_b.verify_http(issued.http_token).ok
    assert worker_b.verify_mqtt("cluj/bin-1", issued.mqtt_password).ok
    worker_a.revoke("cluj", "bin-1")
    assert worker_b.verify_http(issued.http_token).failure is VerifyFailure.revoked
    assert worker_b.verify_mqtt("cluj/bin-1", issued.mqtt_password).failure is (
        VerifyFailure.revoked
    )


def test_rotation_by_another_process_is_seen_at_once(registry: InMemoryDeviceRegistry) -> None:
    worker_a = DeviceCredentials(registry, VerifiedDeviceCache(registry.credentials_generation))
    worker_b = DeviceCredentials(registry, VerifiedDeviceCache(registry.credentials_generation))
    old = worker_a.issue("cluj", "bin-1", transport="http")
    assert old.http_token
    assert worker_b.verify_http(old.http_token).ok
    new = worker_a.rotate("cluj", "bin-1")
    assert new.http_token
    assert worker_b.verify_http(old.http_token).failure is VerifyFailure.wrong_secret
    assert worker_b.verify_http(new.http_token).ok


def test_a_stale_read_is_not_put_back_into_the_cache(registry: InMemoryDeviceRegistry) -> None:
    cache = VerifiedDeviceCache(registry.credentials_generation)
    creds = DeviceCredentials(registry)
    creds.issue("cluj", "bin-1")
    generation = cache.sync()
    before = registry.get_credentials("cluj", "bin-1")  # a slow read …
    assert before is not None
    creds.revoke("cluj", "bin-1")  # … a revocation commits meanwhile …
    assert cache.sync() != generation  # … another lookup has seen it …
    cache.put(before, generation)  # … and the slow reader's stale record is refused
    assert cache.get_by_device("cluj", "bin-1") is None


def test_cache_ttl_and_lru(registry: InMemoryDeviceRegistry) -> None:
    now = [0.0]
    cache = VerifiedDeviceCache(
        registry.credentials_generation, max_entries=2, ttl_seconds=10, clock=lambda: now[0]
    )
    records = [new_credentials("cluj", f"d{i}").record for i in range(3)]
    generation = cache.sync()
    cache.put(records[0], generation)
    cache.put(records[1], generation)
    assert cache.get_by_device("cluj", "d0") == records[0]  # d0 is now the most recent
    cache.put(records[2], generation)  # evicts d1
    assert len(cache) == 2
    assert cache.get_by_device("cluj", "d1") is None
    assert cache.get_by_token_key(records[1].token_key) is None
    assert cache.get_by_token_key(records[2].token_key) == records[2]
    now[0] = 10.0
    assert cache.get_by_device("cluj", "d0") is None
    assert cache.get_by_token_key(records[2].token_key) is None
    assert len(cache) == 0
    with pytest.raises(ValueError, match="max_entries"):
        VerifiedDeviceCache(registry.credentials_generation, max_entries=0)


def test_registry_contract(registry: InMemoryDeviceRegistry) -> None:
    first = new_credentials("cluj", "bin-1").record
    registry.put_credentials(first, expected_version=None)
    with pytest.raises(AlreadyExists):
        registry.put_credentials(first, expected_version=None)
    with pytest.raises(CredentialConflict):
        registry.put_credentials(first, expected_version=7)
    registry.put_credentials(new_credentials("iasi", "bin-1").record, expected_version=None)
    assert [r.device for r in registry.list_credentials("cluj")] == ["bin-1"]
    assert registry.find_by_token_key(first.token_key) == first
    generation = registry.credentials_generation()
    assert registry.delete_credentials("cluj", "bin-1")
    assert not registry.delete_credentials("cluj", "bin-1")
    assert registry.credentials_generation() == generation + 1
    assert registry.find_by_token_key(first.token_key) is None


def test_concurrent_change_is_refused(
    creds: DeviceCredentials, registry: InMemoryDeviceRegistry
) -> None:
    creds.issue("cluj", "bin-1")
    stale = registry.get_credentials("cluj", "bin-1")
    assert stale is not None
    creds.rotate("cluj", "bin-1")
    with pytest.raises(CredentialConflict):
        registry.put_credentials(stale, expected_version=stale.version)


def test_mqtt_authenticator_adapter(creds: DeviceCredentials) -> None:
    issued = creds.issue("cluj", "bin-1")
    assert issued.mqtt_password
    authenticator: DeviceAuthenticator = RegistryDeviceAuthenticator(creds)

    async def run() -> tuple[DeviceIdentity | None, DeviceIdentity | None]:
        good = await authenticator.authenticate("cluj/bin-1", issued.mqtt_password or "")
        bad = await authenticator.authenticate("cluj/bin-1", "wrong")
        return good, bad

    assert asyncio.run(run()) == (DeviceIdentity("cluj", "bin-1"), None)


def test_mosquitto_password_file(
    creds: DeviceCredentials, registry: InMemoryDeviceRegistry
) -> None:
    a = creds.issue("cluj", "a")
    creds.issue("cluj", "b", transport="http")
    creds.issue("cluj", "c")
    creds.revoke("cluj", "c")
    text = mosquitto_password_file(registry.list_credentials("cluj"))
    lines = text.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("cluj/a:$7$101$")
    assert verify_mosquitto_hash(lines[0].split(":", 1)[1], a.mqtt_password or "")
    assert not verify_mosquitto_hash(lines[0].split(":", 1)[1], "wrong")
    assert not verify_mosquitto_hash("$6$abc$def", "x")


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="needs mosquitto_passwd")
def test_our_mosquitto_hash_format_is_mosquittos(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    subprocess.run(
        [shutil.which("mosquitto_passwd") or "", "-c", "-b", str(path), "cluj/a", "Secret-1"],
        check=True,
        capture_output=True,
    )
    theirs = path.read_text().strip().split(":", 1)[1]
    assert verify_mosquitto_hash(theirs, "Secret-1")
    ours = mosquitto_password_hash("Secret-1")
    assert ours.count("$") == theirs.count("$") == 4
    assert ours.split("$")[:3] == theirs.split("$")[:3]
    assert len(ours) == len(theirs)
