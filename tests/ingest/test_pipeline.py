"""The ingest pipeline on a real store (both backends): readings stored, rejections
dead-lettered, duplicates stored once, rate limit, isolation between devices, replay."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from cetate.entities import BatchError, BatchResult
from cetate.errors import BadRequestData, StoreUnavailable
from cetate.ingest.mqtt.subscriber import ReceivedMessage
from cetate.ingest.pipeline import IngestOutcome, IngestPipeline, RateLimiter
from cetate.store.base import ContextStore, EntityQuery, TemporalQuery
from tests.ingest.conftest import BIN_PROFILE, FILLING_LEVEL, TEMPERATURE, DeviceWorld, make_world

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TS = int(datetime(2026, 11, 23, 9, 59, tzinfo=UTC).timestamp())
BIN_1 = "urn:ngsi-ld:WasteContainer:bin-1"


def msg(**values: object) -> bytes:
    return orjson.dumps(values)


def history(store: ContextStore, tenant: str, entity_id: str, attr: str) -> list[object]:
    found = store.query_temporal(tenant, TemporalQuery(entities=EntityQuery(ids=(entity_id,))))
    return [i.get("value") for e in found for i in e.history.get(attr, [])]


def test_first_message_creates_the_entity(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    outcome = world.pipeline.ingest("cluj", "bin-1", msg(f=63, t=21, ts=TS), NOW, "mqtt")
    assert outcome.status == "stored"
    assert outcome.created
    assert outcome.values == 2
    entity = world.store.get_entity("cluj", BIN_1)
    assert entity is not None
    assert entity[FILLING_LEVEL][0]["value"] == 0.63
    assert entity[FILLING_LEVEL][0]["unitCode"] == "P1"
    assert entity[FILLING_LEVEL][0]["observedAt"] == "2026-11-23T09:59:00.000Z"
    second = world.pipeline.ingest("cluj", "bin-1", msg(f=70, t=22, ts=TS + 60), NOW, "http")
    assert second.status == "stored"
    assert not second.created
    entity = world.store.get_entity("cluj", BIN_1)
    assert entity is not None
    assert entity[FILLING_LEVEL][0]["value"] == 0.7
    assert history(world.store, "cluj", BIN_1, FILLING_LEVEL) == [0.63, 0.7]
    assert world.store.list_dead_letters("cluj") == []


def test_a_batch_is_stored_in_order(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    batch = orjson.dumps([{"f": 10 * i, "t": i, "ts": TS + i} for i in range(5)])
    outcome = world.pipeline.ingest("cluj", "bin-1", batch, NOW, "http")
    assert outcome.status == "stored"
    assert (outcome.readings, outcome.values) == (5, 10)
    assert history(world.store, "cluj", BIN_1, FILLING_LEVEL) == [0.0, 0.1, 0.2, 0.3, 0.4]
    entity = world.store.get_entity("cluj", BIN_1)
    assert entity is not None
    assert entity[TEMPERATURE][0]["value"] == 4


def test_duplicates_are_stored_once(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    payload = msg(f=63, t=21, ts=TS)
    assert world.pipeline.ingest("cluj", "bin-1", payload, NOW, "mqtt").status == "stored"
    again = world.pipeline.ingest("cluj", "bin-1", payload, NOW, "mqtt")
    assert again.status == "duplicate"
    assert again.duplicates == 2
    # same time, one value changed: only that one is written
    changed = world.pipeline.ingest("cluj", "bin-1", msg(f=64, t=21, ts=TS), NOW, "mqtt")
    assert (changed.status, changed.values, changed.duplicates) == ("stored", 1, 1)
    # same values at a new time: a new reading, stored
    later = world.pipeline.ingest("cluj", "bin-1", msg(f=64, t=21, ts=TS + 1), NOW, "mqtt")
    assert later.values == 2
    assert history(world.store, "cluj", BIN_1, FILLING_LEVEL) == [0.63, 0.64, 0.64]
    assert history(world.store, "cluj", BIN_1, TEMPERATURE) == [21, 21]
    # a batch repeating itself inside is stored once too
    dup_batch = orjson.dumps([{"f": 1, "ts": TS + 5}, {"f": 1, "ts": TS + 5}])
    outcome = world.pipeline.ingest("cluj", "bin-1", dup_batch, NOW, "mqtt")
    assert (outcome.values, outcome.duplicates) == (1, 1)
    assert world.pipeline.counters.messages["duplicate"] == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"", "empty"),
        (b"42", "not_an_object"),
        (msg(f=63, zz=1, ts=TS), "unknown_key"),
        (msg(t=1, ts=TS), "missing_key"),
        (msg(f="full", ts=TS), "wrong_type"),
        (msg(f=250, ts=TS), "out_of_range"),
        (msg(f=10, ts="yesterday"), "bad_timestamp"),
        (b"[" + b"{}," * 2000 + b"{}]", "oversized"),
    ],
)
def test_bad_input_is_dead_lettered(world: DeviceWorld, payload: bytes, reason: str) -> None:
    world.provision("cluj", "bin-1")
    outcome = world.pipeline.ingest("cluj", "bin-1", payload, NOW, "mqtt")
    assert outcome.status == "rejected"
    assert outcome.reason == reason
    assert outcome.dead_letter_id is not None
    letters = world.store.list_dead_letters("cluj")
    assert len(letters) == 1
    assert (letters[0].reason, letters[0].payload, letters[0].device) == (
        reason,
        payload,
        "bin-1",
    )
    assert letters[0].source == "mqtt"
    assert letters[0].detail
    assert world.store.count_dead_letters("cluj") == {reason: 1}
    assert world.pipeline.counters.rejected[reason] == 1
    assert world.store.get_entity("cluj", BIN_1) is None


def test_unknown_device_profile_and_entity(world: DeviceWorld) -> None:
    outcome = world.pipeline.ingest("cluj", "ghost", msg(f=1, ts=TS), NOW, "mqtt")
    assert outcome.reason == "unknown_device"
    world.devices.put_profile(
        "cluj", {**BIN_PROFILE, "name": "nocreate", "createEntityOnFirstMessage": False}
    )
    world.provision("cluj", "bin-2", profile="nocreate")
    outcome = world.pipeline.ingest("cluj", "bin-2", msg(f=1, ts=TS), NOW, "mqtt")
    assert outcome.reason == "unknown_entity"
    assert world.store.count_dead_letters("cluj") == {"unknown_device": 1, "unknown_entity": 1}


def test_one_device_bad_input_does_not_affect_another(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    world.provision("cluj", "bin-2")
    for i in range(5):
        assert world.pipeline.ingest("cluj", "bin-1", b"garbage", NOW, "mqtt").reason
        good = world.pipeline.ingest("cluj", "bin-2", msg(f=i, ts=TS + i), NOW, "mqtt")
        assert good.status == "stored"
    assert len(history(world.store, "cluj", "urn:ngsi-ld:WasteContainer:bin-2", FILLING_LEVEL)) == 5


def test_tenants_are_isolated(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    outcome = world.pipeline.ingest("iasi", "bin-1", msg(f=1, ts=TS), NOW, "mqtt")
    assert outcome.reason == "unknown_device"
    assert world.store.list_dead_letters("cluj") == []
    assert len(world.store.list_dead_letters("iasi")) == 1


def test_rate_limit_per_device(store: ContextStore) -> None:
    now = [0.0]
    w = make_world(store, RateLimiter(1.0, 3, clock=lambda: now[0]))
    w.devices.put_profile("cluj", BIN_PROFILE)
    w.provision("cluj", "bin-1")
    w.provision("cluj", "bin-2")
    results = [
        w.pipeline.ingest("cluj", "bin-1", msg(f=i, ts=TS + i), NOW, "mqtt").status
        for i in range(5)
    ]
    assert results == ["stored"] * 3 + ["rejected"] * 2
    # another device is not affected
    assert w.pipeline.ingest("cluj", "bin-2", msg(f=1, ts=TS), NOW, "mqtt").status == "stored"
    now[0] = 1.0
    assert w.pipeline.ingest("cluj", "bin-1", msg(f=9, ts=TS + 9), NOW, "mqtt").status == "stored"
    assert w.store.count_dead_letters("cluj") == {"rate_limited": 2}
    assert w.pipeline.counters.rejected["rate_limited"] == 2
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(0, 1)


def test_replay_after_the_profile_is_fixed(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    payload = msg(f=63, hum=40, ts=TS)
    outcome = world.pipeline.ingest("cluj", "bin-1", payload, NOW, "mqtt")
    assert outcome.reason == "unknown_key"
    assert outcome.dead_letter_id is not None
    still = world.pipeline.replay("cluj", outcome.dead_letter_id)
    assert still.reason == "unknown_key"
    assert len(world.store.list_dead_letters("cluj")) == 1  # no second dead letter
    fixed = {**BIN_PROFILE, "ignoredKeys": ["rssi", "hum"]}
    world.devices.put_profile("cluj", fixed)
    replayed = world.pipeline.replay("cluj", outcome.dead_letter_id)
    assert replayed.status == "stored"
    assert world.store.list_dead_letters("cluj") == []
    letter = world.store.get_dead_letter("cluj", outcome.dead_letter_id)
    assert letter is not None
    assert letter.replayed_at is not None
    with pytest.raises(Exception, match="already replayed"):
        world.pipeline.replay("cluj", outcome.dead_letter_id)
    with pytest.raises(Exception, match="no dead letter"):
        world.pipeline.replay("iasi", outcome.dead_letter_id)


def test_a_dead_lettered_command_result_is_not_replayed_as_a_measurement(
    world: DeviceWorld,
) -> None:
    world.provision("cluj", "bin-1")
    letter = world.store.add_dead_letter(
        "cluj",
        source="mqtt-cmdexe",
        device="bin-1",
        received_at=NOW,
        reason="unknown_command",
        detail="command result: no command 'x'",
        payload=msg(f=63, ts=TS),  # even one that would map as a measurement
    )
    with pytest.raises(BadRequestData, match="not a measurement message"):
        world.pipeline.replay("cluj", letter)
    assert world.store.list_dead_letters("cluj")[0].replayed_at is None


def test_handle_mqtt_keeps_device_order(world: DeviceWorld) -> None:
    import asyncio

    from cetate.ingest.mqtt.subscriber import ReceivedMessage

    world.provision("cluj", "bin-1")
    pipeline: IngestPipeline = world.pipeline

    async def run() -> None:
        tasks = [
            asyncio.ensure_future(
                pipeline.handle_mqtt(
                    ReceivedMessage(
                        "cluj", "bin-1", msg(f=i, ts=TS + i), "cetate/cluj/bin-1/attrs", i, NOW
                    )
                )
            )
            for i in range(20)
        ]
        await asyncio.gather(*tasks)

    asyncio.run(run())
    entity = world.store.get_entity("cluj", BIN_1)
    assert entity is not None
    assert entity[FILLING_LEVEL][0]["value"] == 0.19
    assert history(world.store, "cluj", BIN_1, FILLING_LEVEL) == [i / 100 for i in range(20)]


def test_a_resent_older_batch_is_stored_once(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    batch = orjson.dumps([{"f": i, "ts": TS + i} for i in range(3)])
    assert world.pipeline.ingest("cluj", "bin-1", batch, NOW, "mqtt").values == 3
    newer = world.pipeline.ingest("cluj", "bin-1", msg(f=50, ts=TS + 100), NOW, "mqtt")
    assert newer.values == 1
    again = world.pipeline.ingest("cluj", "bin-1", batch, NOW, "mqtt")
    assert (again.status, again.duplicates) == ("duplicate", 3)
    assert history(world.store, "cluj", BIN_1, FILLING_LEVEL) == [0.0, 0.01, 0.02, 0.5]
    # a late reading that was never stored is still taken
    late = world.pipeline.ingest("cluj", "bin-1", msg(f=7, ts=TS + 50), NOW, "mqtt")
    assert late.values == 1


# -- group commit -------------------------------------------------------------------------------


def _received(device: str, i: int, **values: object) -> ReceivedMessage:
    return ReceivedMessage("cluj", device, msg(**values), f"cetate/cluj/{device}/attrs", i, NOW)


def test_concurrent_messages_are_stored_in_few_group_commits(world: DeviceWorld) -> None:
    devices = [f"bin-{d}" for d in range(5)]
    for device in devices:
        world.provision("cluj", device)
    world.provision("iasi", "bin-1")
    pipeline = world.pipeline
    calls: list[int] = []
    real = pipeline.entities.batch_upsert

    def counting(tenant: str, entities: Any, **kwargs: Any) -> BatchResult:
        calls.append(len(entities))
        return real(tenant, entities, **kwargs)

    pipeline.entities.batch_upsert = counting  # type: ignore[method-assign]

    async def run() -> None:
        tasks = [
            pipeline.handle_mqtt(_received(device, i, f=i, ts=TS + i))
            for i in range(40)
            for device in devices
        ]
        tasks.append(
            pipeline.handle_mqtt(
                ReceivedMessage("iasi", "bin-1", msg(f=5, ts=TS), "cetate/iasi/bin-1/attrs", 1, NOW)
            )
        )
        tasks.append(pipeline.handle_mqtt(_received("nobody", 1, f=1, ts=TS)))
        await asyncio.gather(*tasks)

    asyncio.run(run())
    assert len(calls) <= 4  # 200 messages: one batch write per tenant and commit, not 201
    assert pipeline.commits <= 2
    for device in devices:
        entity_id = f"urn:ngsi-ld:WasteContainer:{device}"
        # every device's readings stored once, in order, across the messages of one commit
        assert history(world.store, "cluj", entity_id, FILLING_LEVEL) == [
            i / 100 for i in range(40)
        ]
    assert history(world.store, "iasi", BIN_1, FILLING_LEVEL) == [0.05]
    assert [d.reason for d in world.store.list_dead_letters("cluj")] == ["unknown_device"]
    assert pipeline.counters.messages["stored"] == 201
    assert pipeline.counters.values == 201


def test_duplicates_within_one_group_commit_are_stored_once(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    pipeline = world.pipeline

    async def run() -> list[IngestOutcome]:
        payloads = [msg(f=1, ts=TS), msg(f=2, ts=TS + 1), msg(f=1, ts=TS), msg(f=2, ts=TS + 1)]
        return await asyncio.gather(
            *(pipeline.ingest_async("cluj", "bin-1", p, NOW, "mqtt") for p in payloads)
        )

    outcomes = asyncio.run(run())
    assert [o.status for o in outcomes] == ["stored", "stored", "duplicate", "duplicate"]
    assert [o.created for o in outcomes] == [True, False, False, False]
    assert pipeline.commits == 1
    assert history(world.store, "cluj", BIN_1, FILLING_LEVEL) == [0.01, 0.02]


def test_handlers_return_only_after_the_commit(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    world.provision("cluj", "bin-2")
    pipeline = world.pipeline
    entered = threading.Event()
    release = threading.Event()
    real = pipeline.entities.batch_upsert

    def slow(tenant: str, entities: Any, **kwargs: Any) -> BatchResult:
        entered.set()
        assert release.wait(10)
        return real(tenant, entities, **kwargs)

    pipeline.entities.batch_upsert = slow  # type: ignore[method-assign]

    async def run() -> None:
        tasks = [
            asyncio.ensure_future(pipeline.handle_mqtt(_received(d, i, f=i, ts=TS + i)))
            for i in range(10)
            for d in ("bin-1", "bin-2")
        ]
        while not entered.is_set():
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)
        assert not any(t.done() for t in tasks)  # no ack while the commit runs
        assert world.store.get_entity("cluj", BIN_1) is None
        release.set()
        await asyncio.gather(*tasks)
        assert world.store.get_entity("cluj", BIN_1) is not None

    asyncio.run(run())
    assert history(world.store, "cluj", BIN_1, FILLING_LEVEL) == [i / 100 for i in range(10)]


def test_a_failing_commit_fails_every_message_of_the_batch(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    world.provision("cluj", "bin-2")
    pipeline = world.pipeline

    def down(tenant: str, entities: Any, **kwargs: Any) -> BatchResult:
        raise StoreUnavailable("the database is gone")

    pipeline.entities.batch_upsert = down  # type: ignore[method-assign]

    async def run() -> list[object]:
        return await asyncio.gather(
            *(
                pipeline.handle_mqtt(_received(d, i, f=i, ts=TS + i))
                for i in range(5)
                for d in ("bin-1", "bin-2")
            ),
            return_exceptions=True,
        )

    results = asyncio.run(run())
    assert len(results) == 10
    assert all(isinstance(r, StoreUnavailable) for r in results)  # none acknowledged
    assert world.store.get_entity("cluj", BIN_1) is None
    assert world.store.list_dead_letters("cluj") == []


def test_one_bad_entity_does_not_sink_the_group_commit(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    world.provision("cluj", "bin-2")
    pipeline = world.pipeline
    real = pipeline.entities.batch_upsert
    bad = "urn:ngsi-ld:WasteContainer:bin-2"

    def one_bad(tenant: str, entities: Any, **kwargs: Any) -> BatchResult:
        result = real(tenant, [e for e in entities if e["id"] != bad], **kwargs)
        result.errors.append(BatchError(bad, BadRequestData("bin-2 is broken")))
        return result

    pipeline.entities.batch_upsert = one_bad  # type: ignore[method-assign]

    async def run() -> list[IngestOutcome]:
        return await asyncio.gather(
            pipeline.ingest_async("cluj", "bin-1", msg(f=1, ts=TS), NOW, "mqtt"),
            pipeline.ingest_async("cluj", "bin-2", msg(f=2, ts=TS), NOW, "mqtt"),
            pipeline.ingest_async("cluj", "bin-1", msg(f=3, ts=TS + 1), NOW, "mqtt"),
        )

    outcomes = asyncio.run(run())
    assert [o.status for o in outcomes] == ["stored", "rejected", "stored"]
    assert outcomes[1].reason == "store_rejected"
    assert outcomes[1].dead_letter_id is not None
    assert history(world.store, "cluj", BIN_1, FILLING_LEVEL) == [0.01, 0.03]
    letters = world.store.list_dead_letters("cluj")
    assert [(d.device, d.reason) for d in letters] == [("bin-2", "store_rejected")]


def test_a_batch_write_that_raises_is_redone_one_message_at_a_time(
    world: DeviceWorld,
) -> None:
    world.provision("cluj", "bin-1")
    world.provision("cluj", "bin-2")
    pipeline = world.pipeline
    real = pipeline.entities.batch_upsert

    def fragile(tenant: str, entities: Any, **kwargs: Any) -> BatchResult:
        if any(e["id"].endswith("bin-2") for e in entities):
            raise RuntimeError("boom")
        return real(tenant, entities, **kwargs)

    pipeline.entities.batch_upsert = fragile  # type: ignore[method-assign]

    async def run() -> list[IngestOutcome]:
        return await asyncio.gather(
            pipeline.ingest_async("cluj", "bin-1", msg(f=1, ts=TS), NOW, "mqtt"),
            pipeline.ingest_async("cluj", "bin-2", msg(f=2, ts=TS), NOW, "http"),
        )

    outcomes = asyncio.run(run())
    assert [o.status for o in outcomes] == ["stored", "rejected"]
    assert outcomes[1].reason == "internal_error"
    assert history(world.store, "cluj", BIN_1, FILLING_LEVEL) == [0.01]
    letters = world.store.list_dead_letters("cluj")
    assert [(d.device, d.source, d.reason) for d in letters] == [
        ("bin-2", "http", "internal_error")
    ]


def _commit(pipeline: IngestPipeline, *messages: ReceivedMessage) -> None:
    """One group commit of ``messages`` through the MQTT entry point."""

    async def run() -> None:
        await asyncio.gather(*(pipeline.handle_mqtt(m) for m in messages))

    asyncio.run(run())


def test_a_profile_change_applies_from_the_next_group_commit(world: DeviceWorld) -> None:
    world.provision("cluj", "bin-1")
    _commit(world.pipeline, _received("bin-1", 1, f=10, t=20, ts=TS))
    misses = world.pipeline.records.misses
    _commit(world.pipeline, _received("bin-1", 2, f=11, t=20, ts=TS + 1))
    assert world.pipeline.records.misses == misses  # device and profile from memory
    fahrenheit = {
        **BIN_PROFILE,
        "measurements": [
            BIN_PROFILE["measurements"][0],
            {"key": "t", "attribute": "temperature", "unitCode": "FAH"},
        ],
    }
    world.devices.put_profile("cluj", fahrenheit)
    _commit(world.pipeline, _received("bin-1", 3, f=12, t=70, ts=TS + 2))
    entity = world.store.get_entity("cluj", BIN_1)
    assert entity is not None
    assert (entity[TEMPERATURE][0]["value"], entity[TEMPERATURE][0]["unitCode"]) == (70, "FAH")


def test_a_device_registered_after_its_messages_were_refused_is_stored(
    world: DeviceWorld,
) -> None:
    _commit(world.pipeline, _received("late", 1, f=10, ts=TS))
    _commit(world.pipeline, _received("late", 2, f=11, ts=TS + 1))
    reasons = [d.reason for d in world.store.list_dead_letters("cluj")]
    assert reasons == ["unknown_device", "unknown_device"]
    world.provision("cluj", "late")
    _commit(world.pipeline, _received("late", 3, f=12, ts=TS + 2))
    late = "urn:ngsi-ld:WasteContainer:late"
    assert history(world.store, "cluj", late, FILLING_LEVEL) == [0.12]


def test_a_batch_reads_its_entities_in_one_query(world: DeviceWorld) -> None:
    for device in ("bin-1", "bin-2", "bin-3"):
        world.provision("cluj", device)
        world.pipeline.ingest("cluj", device, msg(f=1, ts=TS), NOW, "mqtt")
    single: list[str] = []
    many: list[list[str]] = []
    real_one, real_many = world.store.get_entity, world.store.get_entities

    def get_entity(tenant: str, entity_id: str) -> Any:
        single.append(entity_id)
        return real_one(tenant, entity_id)

    def get_entities(tenant: str, entity_ids: Any) -> Any:
        many.append(sorted(entity_ids))
        return real_many(tenant, entity_ids)

    world.store.get_entity = get_entity  # type: ignore[method-assign]
    world.store.get_entities = get_entities  # type: ignore[method-assign]
    _commit(
        world.pipeline,
        *(_received(f"bin-{d}", i, f=10 + i, ts=TS + i) for i in (1, 2) for d in (1, 2, 3)),
    )
    assert single == []
    assert many == [[f"urn:ngsi-ld:WasteContainer:bin-{d}" for d in (1, 2, 3)]]
    assert history(world.store, "cluj", BIN_1, FILLING_LEVEL) == [0.01, 0.11, 0.12]
