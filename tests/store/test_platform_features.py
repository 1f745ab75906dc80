"""The contract of the platform-feature part of the store (runs on SQLite and on PostgreSQL):
records, durable queues with the transactional outbox, dead letters and leases."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from cetate.errors import AlreadyExists, RecordConflict
from cetate.ngsi.model import EntityDoc
from cetate.store.base import ContextStore

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _entity(entity_id: str) -> EntityDoc:
    return {"id": entity_id, "type": ["https://example.org/vocab/Thing"]}


# -- records ---------------------------------------------------------------------------------


def test_record_insert_get_and_already_exists(store: ContextStore) -> None:
    assert store.get_record("city", "rule", "r1") is None
    record = store.put_record("city", "rule", "r1", {"a": 1, "b": [1, 2]}, expected_version=None)
    assert (record.tenant, record.kind, record.key) == ("city", "rule", "r1")
    assert record.data == {"a": 1, "b": [1, 2]}
    assert record.version == 1
    assert record.lookup is None
    assert record.updated_at.tzinfo is not None
    assert abs(record.updated_at - datetime.now(UTC)) < MINUTE
    assert store.get_record("city", "rule", "r1") == record
    with pytest.raises(AlreadyExists):
        store.put_record("city", "rule", "r1", {"a": 2}, expected_version=None)
    assert store.get_record("city", "rule", "r1") == record
    # the same key in another kind or tenant is another record
    store.put_record("city", "subscription", "r1", {}, expected_version=None)
    store.put_record("other", "rule", "r1", {}, expected_version=None)


def test_record_lookup_is_unique_per_kind_across_tenants(store: ContextStore) -> None:
    store.put_record(
        "city", "device-credentials", "d1", {"x": 1}, expected_version=None, lookup="k"
    )
    with pytest.raises(AlreadyExists):
        store.put_record("other", "device-credentials", "d9", {}, expected_version=None, lookup="k")
    # another kind may use the same lookup; records without one never collide
    store.put_record("other", "subscription", "s1", {}, expected_version=None, lookup="k")
    store.put_record("city", "device-credentials", "d2", {}, expected_version=None)
    store.put_record("city", "device-credentials", "d3", {}, expected_version=None)
    found = store.find_record("device-credentials", "k")
    assert found is not None
    assert (found.tenant, found.key, found.data, found.lookup) == ("city", "d1", {"x": 1}, "k")
    assert store.find_record("device-credentials", "nope") is None
    assert store.find_record("rule", "k") is None
    # a replace onto a taken lookup is refused too
    d2 = store.get_record("city", "device-credentials", "d2")
    assert d2 is not None
    with pytest.raises(AlreadyExists):
        store.put_record(
            "city", "device-credentials", "d2", {}, expected_version=d2.version, lookup="k"
        )
    assert store.get_record("city", "device-credentials", "d2") == d2


def test_record_replace_with_version_and_conflict(store: ContextStore) -> None:
    first = store.put_record("city", "rule", "r1", {"v": 1}, expected_version=None, lookup="a")
    second = store.put_record("city", "rule", "r1", {"v": 2}, expected_version=1, lookup="b")
    assert second.version == 2
    assert second.data == {"v": 2}
    assert second.updated_at >= first.updated_at
    assert store.get_record("city", "rule", "r1") == second
    assert store.find_record("rule", "a") is None
    assert store.find_record("rule", "b") == second
    with pytest.raises(RecordConflict):
        store.put_record("city", "rule", "r1", {"v": 3}, expected_version=1)
    with pytest.raises(RecordConflict):
        store.put_record("city", "rule", "missing", {"v": 3}, expected_version=1)
    with pytest.raises(RecordConflict):  # the version is per tenant
        store.put_record("other", "rule", "r1", {"v": 3}, expected_version=2)
    assert store.get_record("city", "rule", "r1") == second
    third = store.put_record("city", "rule", "r1", {"v": 3}, expected_version=2)
    assert third.version == 3
    assert third.lookup is None


def test_record_delete(store: ContextStore) -> None:
    store.put_record("city", "rule", "r1", {}, expected_version=None, lookup="l1")
    store.put_record("other", "rule", "r1", {}, expected_version=None)
    assert store.delete_record("city", "rule", "r1") is True
    assert store.delete_record("city", "rule", "r1") is False
    assert store.get_record("city", "rule", "r1") is None
    assert store.find_record("rule", "l1") is None
    assert store.get_record("other", "rule", "r1") is not None
    # the key and the lookup are free again
    again = store.put_record("city", "rule", "r1", {}, expected_version=None, lookup="l1")
    assert again.version == 1


def test_list_records_per_tenant_and_for_all_tenants(store: ContextStore) -> None:
    for tenant, key in [("city", "b"), ("city", "a"), ("other", "a"), ("city", "c")]:
        store.put_record(tenant, "rule", key, {"t": tenant}, expected_version=None)
    store.put_record("city", "subscription", "a", {}, expected_version=None)
    assert [r.key for r in store.list_records("city", "rule")] == ["a", "b", "c"]
    assert [r.key for r in store.list_records("other", "rule")] == ["a"]
    assert store.list_records("nobody", "rule") == []
    everyone = store.list_records(None, "rule")
    assert sorted((r.tenant, r.key) for r in everyone) == [
        ("city", "a"),
        ("city", "b"),
        ("city", "c"),
        ("other", "a"),
    ]
    assert [r.key for r in everyone] == ["a", "a", "b", "c"]
    assert all(r.data == {"t": r.tenant} for r in everyone)
    assert [r.key for r in store.list_records("city", "rule", limit=2)] == ["a", "b"]
    assert [r.key for r in store.list_records("city", "rule", limit=2, offset=2)] == ["c"]
    assert len(store.list_records(None, "rule", limit=3, offset=1)) == 3


def test_records_generation_grows_on_put_and_delete(store: ContextStore) -> None:
    assert store.records_generation("rule") == 0
    store.put_record("city", "rule", "r1", {}, expected_version=None)
    g1 = store.records_generation("rule")
    assert g1 > 0
    store.put_record("city", "rule", "r1", {"x": 1}, expected_version=1)
    g2 = store.records_generation("rule")
    assert g2 > g1
    assert store.records_generation("subscription") == 0
    store.delete_record("city", "rule", "r1")
    g3 = store.records_generation("rule")
    assert g3 > g2
    # refused writes change nothing
    with pytest.raises(RecordConflict):
        store.put_record("city", "rule", "r1", {}, expected_version=5)
    assert store.records_generation("rule") == g3
    store.put_record("other", "rule", "r1", {}, expected_version=None)
    assert store.records_generation("rule") > g3


def test_records_tenant_isolation(store: ContextStore) -> None:
    store.put_record("city", "rule", "secret", {"x": 1}, expected_version=None)
    assert store.get_record("other", "rule", "secret") is None
    assert store.list_records("other", "rule") == []
    assert store.delete_record("other", "rule", "secret") is False
    assert store.get_record("city", "rule", "secret") is not None


# -- queues ------------------------------------------------------------------------------------


def test_enqueue_and_claim_in_due_order(store: ContextStore) -> None:
    store.enqueue("city", "notify", [{"n": 3}], due_at=T0 + 3 * MINUTE)
    store.enqueue("city", "notify", [{"n": 1}, {"n": 2}], due_at=T0 + MINUTE)
    store.enqueue("other", "notify", [{"n": 0}], due_at=T0)
    store.enqueue("city", "alerts", [{"n": 9}], due_at=T0)
    store.enqueue("city", "notify", [{"n": 99}], due_at=T0 + timedelta(hours=1))
    assert store.queue_length("notify") == 5
    assert store.queue_length("notify", "city") == 4
    assert store.queue_length("notify", "other") == 1
    assert store.queue_length("alerts") == 1
    assert store.queue_length("nothing") == 0

    items = store.claim("notify", worker="w1", limit=10, lease=MINUTE, now=T0 + 5 * MINUTE)
    assert [i.payload for i in items] == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]
    assert [i.tenant for i in items] == ["other", "city", "city", "city"]
    assert all(i.queue == "notify" and i.attempts == 1 and i.last_error is None for i in items)
    assert items[1].due_at == T0 + MINUTE
    assert items[0].due_at.tzinfo is not None
    assert items[0].created_at.tzinfo is not None
    assert abs(items[0].created_at - datetime.now(UTC)) < MINUTE
    assert items[1].id < items[2].id
    # claimed items stay in the queue until completed
    assert store.queue_length("notify") == 5


def test_claim_respects_limit_and_default_due_now(store: ContextStore) -> None:
    store.enqueue("city", "q", [{"i": i} for i in range(5)])
    first = store.claim("q", worker="w", limit=2, lease=MINUTE)
    assert [i.payload["i"] for i in first] == [0, 1]
    assert store.claim("q", worker="w", limit=0, lease=MINUTE) == []
    # an hour ago they were not due yet
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert store.claim("q", worker="w", limit=10, lease=MINUTE, now=an_hour_ago) == []


def test_lease_prevents_double_claim_and_expires(store: ContextStore) -> None:
    store.enqueue("city", "q", [{"i": i} for i in range(6)], due_at=T0)
    a = store.claim("q", worker="a", limit=4, lease=MINUTE, now=T0)
    b = store.claim("q", worker="b", limit=4, lease=MINUTE, now=T0 + timedelta(seconds=30))
    assert len(a) == 4
    assert len(b) == 2
    assert not {i.id for i in a} & {i.id for i in b}
    assert store.claim("q", worker="c", limit=10, lease=MINUTE, now=T0 + MINUTE / 2) == []
    # a's lease expired at T0 + 1 min; b's runs until T0 + 1.5 min
    c = store.claim("q", worker="c", limit=10, lease=MINUTE, now=T0 + MINUTE)
    assert sorted(i.id for i in c) == sorted(i.id for i in a)
    assert all(i.attempts == 2 for i in c)
    d = store.claim("q", worker="d", limit=10, lease=MINUTE, now=T0 + MINUTE * 1.5)
    assert sorted(i.id for i in d) == sorted(i.id for i in b)
    assert all(i.attempts == 2 for i in d)


def test_retry_and_complete(store: ContextStore) -> None:
    store.enqueue("city", "q", [{"i": 1}, {"i": 2}], due_at=T0)
    one, two = store.claim("q", worker="w", limit=2, lease=timedelta(hours=1), now=T0)
    store.retry(one.id, due_at=T0 + 10 * MINUTE, error="HTTP 503")
    # released but not due yet
    assert store.claim("q", worker="w", limit=5, lease=MINUTE, now=T0 + 5 * MINUTE) == []
    again = store.claim("q", worker="w2", limit=5, lease=MINUTE, now=T0 + 10 * MINUTE)
    assert [i.id for i in again] == [one.id]
    assert again[0].attempts == 2
    assert again[0].last_error == "HTTP 503"
    assert again[0].due_at == T0 + 10 * MINUTE
    store.complete([one.id, two.id])
    assert store.queue_length("q") == 0
    assert store.claim("q", worker="w", limit=5, lease=MINUTE, now=T0 + timedelta(days=1)) == []
    store.complete([])
    store.complete([one.id])  # already done: nothing happens


def test_outbox_commits_with_the_transaction(store: ContextStore) -> None:
    with store.transaction("city") as tx:
        tx.insert(_entity("urn:ngsi-ld:Thing:1"))
        tx.enqueue("notify", [{"entity": "urn:ngsi-ld:Thing:1"}], due_at=T0)
        assert store.queue_length("notify") == 0  # not visible before the commit
    assert store.get_entity("city", "urn:ngsi-ld:Thing:1") is not None
    assert store.queue_length("notify", "city") == 1
    items = store.claim("notify", worker="w", limit=10, lease=MINUTE, now=T0)
    assert [(i.tenant, i.payload) for i in items] == [("city", {"entity": "urn:ngsi-ld:Thing:1"})]


def test_outbox_rolls_back_with_the_transaction(store: ContextStore) -> None:
    class Boom(Exception):
        pass

    def failing_transaction() -> None:
        with store.transaction("city") as tx:
            tx.insert(_entity("urn:ngsi-ld:Thing:2"))
            tx.enqueue("notify", [{"entity": "urn:ngsi-ld:Thing:2"}, {"n": 2}])
            tx.get_for_update(["urn:ngsi-ld:Thing:2"])  # makes a buffering backend write
            raise Boom

    with pytest.raises(Boom):
        failing_transaction()
    assert store.get_entity("city", "urn:ngsi-ld:Thing:2") is None
    assert store.queue_length("notify") == 0
    assert store.claim("notify", worker="w", limit=10, lease=MINUTE) == []


def test_outbox_is_undone_by_a_failing_write_in_the_same_transaction(
    store: ContextStore,
) -> None:
    with store.transaction("city") as tx:
        tx.insert(_entity("urn:ngsi-ld:Thing:3"))

    def failing_transaction() -> None:
        with store.transaction("city") as tx:
            tx.enqueue("notify", [{"n": 1}])
            tx.insert(_entity("urn:ngsi-ld:Thing:3"))

    with pytest.raises(AlreadyExists):
        failing_transaction()
    assert store.queue_length("notify") == 0


def test_concurrent_claimers_never_share_an_item(store: ContextStore) -> None:
    total = 400
    store.enqueue("city", "work", [{"i": i} for i in range(total)], due_at=T0)
    claimed: list[list[int]] = [[] for _ in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            start.wait()
            while True:
                items = store.claim("work", worker=f"w{n}", limit=7, lease=timedelta(hours=1))
                if not items:
                    return
                claimed[n].extend(i.id for i in items)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    every = [item_id for ids in claimed for item_id in ids]
    assert len(every) == total
    assert Counter(every).most_common(1)[0][1] == 1
    assert sum(1 for ids in claimed if ids) > 1


# -- dead letters ---------------------------------------------------------------------------------


def _dead(store: ContextStore, tenant: str, minutes: int, device: str | None, reason: str) -> int:
    return store.add_dead_letter(
        tenant,
        source="mqtt",
        device=device,
        received_at=T0 + minutes * MINUTE,
        reason=reason,
        detail=f"{reason} at {minutes}",
        payload=f"payload {minutes}".encode(),
    )


def test_dead_letters_add_get_and_payload_bytes(store: ContextStore) -> None:
    raw = b"\xff\xfe\x00not utf-8 \x80\xc3("
    letter_id = store.add_dead_letter(
        "city",
        source="http",
        device="sensor-1",
        received_at=T0,
        reason="malformed_json",
        detail="Expecting value: line 1 column 1",
        payload=raw,
    )
    letter = store.get_dead_letter("city", letter_id)
    assert letter is not None
    assert letter.id == letter_id
    assert (letter.tenant, letter.source, letter.device) == ("city", "http", "sensor-1")
    assert letter.received_at == T0
    assert letter.received_at.tzinfo is not None
    assert (letter.reason, letter.detail) == ("malformed_json", "Expecting value: line 1 column 1")
    assert letter.payload == raw
    assert isinstance(letter.payload, bytes)
    assert letter.replayed_at is None
    empty = store.add_dead_letter(
        "city",
        source="mqtt",
        device=None,
        received_at=T0,
        reason="unknown_device",
        detail="",
        payload=b"",
    )
    got = store.get_dead_letter("city", empty)
    assert got is not None
    assert got.payload == b""
    assert got.device is None
    assert store.get_dead_letter("city", 987654) is None


def test_dead_letters_list_filters_and_replay(store: ContextStore) -> None:
    a = _dead(store, "city", 1, "s1", "malformed_json")
    b = _dead(store, "city", 3, "s2", "out_of_range")
    c = _dead(store, "city", 2, "s1", "out_of_range")
    d = _dead(store, "city", 4, None, "unknown_device")
    assert [x.id for x in store.list_dead_letters("city")] == [d, b, c, a]
    assert [x.id for x in store.list_dead_letters("city", device="s1")] == [c, a]
    assert [x.id for x in store.list_dead_letters("city", reason="out_of_range")] == [b, c]
    assert [x.id for x in store.list_dead_letters("city", device="s1", reason="out_of_range")] == [
        c
    ]
    assert [x.id for x in store.list_dead_letters("city", limit=2)] == [d, b]
    assert [x.id for x in store.list_dead_letters("city", limit=2, offset=2)] == [c, a]
    assert store.count_dead_letters("city") == {
        "malformed_json": 1,
        "out_of_range": 2,
        "unknown_device": 1,
    }

    store.mark_replayed("city", c, T0 + timedelta(hours=1))
    assert [x.id for x in store.list_dead_letters("city")] == [d, b, a]
    replayed = store.list_dead_letters("city", include_replayed=True)
    assert [x.id for x in replayed] == [d, b, c, a]
    assert replayed[2].replayed_at == T0 + timedelta(hours=1)
    got = store.get_dead_letter("city", c)
    assert got is not None
    assert got.replayed_at == T0 + timedelta(hours=1)
    assert store.count_dead_letters("city") == {
        "malformed_json": 1,
        "out_of_range": 1,
        "unknown_device": 1,
    }
    store.mark_replayed("city", a, T0)
    assert "malformed_json" not in store.count_dead_letters("city")


def test_dead_letters_tenant_isolation(store: ContextStore) -> None:
    mine = _dead(store, "city", 1, "s1", "malformed_json")
    theirs = _dead(store, "other", 2, "s1", "malformed_json")
    assert [x.id for x in store.list_dead_letters("city")] == [mine]
    assert [x.id for x in store.list_dead_letters("other", device="s1")] == [theirs]
    assert store.get_dead_letter("other", mine) is None
    store.mark_replayed("other", mine, T0)  # not theirs: nothing happens
    got = store.get_dead_letter("city", mine)
    assert got is not None
    assert got.replayed_at is None
    assert store.count_dead_letters("other") == {"malformed_json": 1}
    assert store.count_dead_letters("nobody") == {}


# -- leases ---------------------------------------------------------------------------------------


def test_leases(store: ContextStore) -> None:
    ttl = MINUTE
    assert store.acquire_lease("retention", "a", ttl, now=T0)
    assert not store.acquire_lease("retention", "b", ttl, now=T0 + MINUTE / 2)
    # renewal by the holder extends it to T0 + 1.5 min
    assert store.acquire_lease("retention", "a", ttl, now=T0 + MINUTE / 2)
    assert not store.acquire_lease("retention", "b", ttl, now=T0 + MINUTE)
    # another lease name is independent
    assert store.acquire_lease("rules", "b", ttl, now=T0)
    # expired: another holder takes it over, and the old one is refused
    assert store.acquire_lease("retention", "b", ttl, now=T0 + 2 * MINUTE)
    assert not store.acquire_lease("retention", "a", ttl, now=T0 + 2 * MINUTE)
    # release only by the holder
    store.release_lease("retention", "a")
    assert not store.acquire_lease("retention", "a", ttl, now=T0 + 2 * MINUTE)
    store.release_lease("retention", "b")
    assert store.acquire_lease("retention", "a", ttl, now=T0 + 2 * MINUTE)
    store.release_lease("never-taken", "a")


def test_lease_with_the_current_time(store: ContextStore) -> None:
    ttl_hour = timedelta(hours=1)
    assert store.acquire_lease("job", "a", timedelta(hours=1))
    assert not store.acquire_lease("job", "b", timedelta(hours=1))
    assert store.acquire_lease("job", "b", timedelta(hours=1), now=datetime.now(UTC) + 2 * ttl_hour)


def test_lease_is_taken_by_one_of_many_contenders(store: ContextStore) -> None:
    winners: list[str] = []
    start = threading.Barrier(8)

    def contend(n: int) -> None:
        start.wait()
        if store.acquire_lease("job", f"h{n}", MINUTE, now=T0):
            winners.append(f"h{n}")

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(winners) == 1
