"""The pipeline's cache of device and profile records, on a real store (both backends): served
from memory while the registry is unchanged, emptied by any change to a kind's records."""

from __future__ import annotations

import pytest

from cetate.ingest.record_cache import RecordCache
from cetate.store.base import ContextStore, Record

DEVICE = "device"
PROFILE = "device-profile"


def test_repeated_reads_are_served_from_memory(store: ContextStore) -> None:
    store.put_record("cluj", DEVICE, "bin-1", {"profile": "p"}, expected_version=None)
    cache = RecordCache(store, (DEVICE, PROFILE))
    cache.sync()
    first = cache.get("cluj", DEVICE, "bin-1")
    assert first is not None
    assert first.data == {"profile": "p"}
    assert cache.get("cluj", DEVICE, "bin-1") is first
    assert (cache.hits, cache.misses) == (1, 1)
    assert cache.get("iasi", DEVICE, "bin-1") is None  # tenants are apart
    assert len(cache) == 2


def test_a_change_is_seen_after_the_next_sync(store: ContextStore) -> None:
    store.put_record("cluj", DEVICE, "bin-1", {"profile": "a"}, expected_version=None)
    cache = RecordCache(store, (DEVICE, PROFILE))
    cache.sync()
    before = cache.get("cluj", DEVICE, "bin-1")
    assert before is not None
    store.put_record("cluj", DEVICE, "bin-1", {"profile": "b"}, expected_version=before.version)
    cache.sync()
    after = cache.get("cluj", DEVICE, "bin-1")
    assert after is not None
    assert after.data == {"profile": "b"}
    assert store.delete_record("cluj", DEVICE, "bin-1")
    cache.sync()
    assert cache.get("cluj", DEVICE, "bin-1") is None


def test_a_missing_record_is_cached_until_it_is_created(store: ContextStore) -> None:
    cache = RecordCache(store, (DEVICE, PROFILE))
    cache.sync()
    assert cache.get("cluj", DEVICE, "late") is None
    assert cache.get("cluj", DEVICE, "late") is None
    assert cache.hits == 1
    store.put_record("cluj", DEVICE, "late", {"profile": "p"}, expected_version=None)
    cache.sync()
    assert cache.get("cluj", DEVICE, "late") is not None


def test_a_change_to_another_kind_keeps_the_cached_records(store: ContextStore) -> None:
    store.put_record("cluj", DEVICE, "bin-1", {"profile": "p"}, expected_version=None)
    cache = RecordCache(store, (DEVICE, PROFILE))
    cache.sync()
    cache.get("cluj", DEVICE, "bin-1")
    store.put_record("cluj", PROFILE, "p", {"name": "p"}, expected_version=None)
    cache.sync()
    cache.get("cluj", DEVICE, "bin-1")
    assert (cache.hits, cache.misses) == (1, 1)


def test_without_sync_every_read_goes_to_the_store(store: ContextStore) -> None:
    store.put_record("cluj", DEVICE, "bin-1", {"profile": "a"}, expected_version=None)
    cache = RecordCache(store, (DEVICE,))
    first = cache.get("cluj", DEVICE, "bin-1")
    assert first is not None
    store.put_record("cluj", DEVICE, "bin-1", {"profile": "b"}, expected_version=first.version)
    second = cache.get("cluj", DEVICE, "bin-1")
    assert second is not None
    assert second.data == {"profile": "b"}
    assert len(cache) == 0


def test_derive_builds_once_per_record_version(store: ContextStore) -> None:
    store.put_record("cluj", PROFILE, "p", {"n": 1}, expected_version=None)
    cache = RecordCache(store, (PROFILE,))
    builds: list[int] = []

    def build(record: Record) -> int:
        builds.append(record.version)
        return int(record.data["n"]) * 10

    cache.sync()
    assert cache.derive("cluj", PROFILE, "p", build) is not None
    derived = cache.derive("cluj", PROFILE, "p", build)
    assert derived is not None
    assert derived[1] == 10
    assert builds == [1]
    store.put_record("cluj", PROFILE, "p", {"n": 2}, expected_version=1)
    cache.sync()
    derived = cache.derive("cluj", PROFILE, "p", build)
    assert derived is not None
    assert derived[1] == 20
    assert builds == [1, 2]
    assert cache.derive("cluj", PROFILE, "missing", build) is None


def test_a_build_that_fails_is_not_cached(store: ContextStore) -> None:
    store.put_record("cluj", PROFILE, "p", {"n": "x"}, expected_version=None)
    cache = RecordCache(store, (PROFILE,))
    cache.sync()
    calls: list[str] = []

    def build(record: Record) -> int:
        calls.append(record.key)
        return int(record.data["n"])

    for _ in range(2):
        with pytest.raises(ValueError, match="invalid literal"):
            cache.derive("cluj", PROFILE, "p", build)
    assert calls == ["p", "p"]


def test_least_recently_used_records_are_dropped(store: ContextStore) -> None:
    for name in ("a", "b", "c"):
        store.put_record("cluj", DEVICE, name, {}, expected_version=None)
    cache = RecordCache(store, (DEVICE,), max_entries=2)
    cache.sync()
    cache.get("cluj", DEVICE, "a")
    cache.get("cluj", DEVICE, "b")
    cache.get("cluj", DEVICE, "a")
    cache.get("cluj", DEVICE, "c")  # drops b, the least recently used
    assert len(cache) == 2
    cache.get("cluj", DEVICE, "a")
    assert cache.hits == 2
    cache.get("cluj", DEVICE, "b")
    assert cache.misses == 4


def test_bad_arguments_are_refused(store: ContextStore) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        RecordCache(store, (DEVICE,), max_entries=0)
    with pytest.raises(ValueError, match="at least one record kind"):
        RecordCache(store, ())
    with pytest.raises(ValueError, match="'subscription' is not cached"):
        RecordCache(store, (DEVICE,)).get("cluj", "subscription", "s")
