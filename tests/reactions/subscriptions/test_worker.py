"""The write path queues notifications in the write transaction; the worker delivers them to a
real HTTP receiver on loopback, on both backends: formats and headers, filtering, throttling,
retries with back-off and the status record, giving up, periodic subscriptions, expiry."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiomqtt
import pytest

from cetate.entities import EntityService
from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.model import EntityDoc
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.delivery.outcome import DeliveryOutcome
from cetate.reactions.subscriptions.model import merge_subscription_patch, parse_subscription
from cetate.reactions.subscriptions.outbox import NOTIFICATIONS, SubscriptionMatcher
from cetate.reactions.subscriptions.repository import SubscriptionRepository
from cetate.reactions.subscriptions.worker import NotificationWorker
from cetate.store.base import ContextStore
from tests.reactions.delivery.receivers import HttpReceiver, Recorded, Reply
from tests.reactions.subscriptions.support import WASTE_URL, WM, payload
from tests.support.mosquitto_server import MosquittoServer

BIN = "urn:ngsi-ld:WasteContainer:0001"
FILLING = WM + "fillingLevel"
TEMPERATURE = WM + "temperature"
TENANT = "cluj"


@dataclass
class Rig:
    store: ContextStore
    repo: SubscriptionRepository
    service: EntityService
    receiver: HttpReceiver
    context: LdContext
    delays: list[int]

    def worker(self, **options: Any) -> NotificationWorker:
        def delay(outcome: DeliveryOutcome, attempt: int) -> timedelta:
            self.delays.append(attempt)
            return timedelta(milliseconds=30)

        options.setdefault("delay", delay)
        return NotificationWorker(self.store, self.repo, poll_interval=0.02, **options)

    def subscribe(self, tenant: str = TENANT, **changes: Any) -> str:
        notification = changes.pop("notification", {})
        notification.setdefault("endpoint", {"uri": self.receiver.url()})
        sub = parse_subscription(
            payload(notification=notification, **changes), self.context, now=utc_now()
        )
        self.repo.create(tenant, sub)
        return sub.id

    def create_bin(self, level: float = 0.5, tenant: str = TENANT) -> None:
        entity: EntityDoc = {
            "id": BIN,
            "type": [WM + "WasteContainer"],
            FILLING: [{"type": "Property", "value": level}],
            TEMPERATURE: [{"type": "Property", "value": 12.0}],
        }
        self.service.create(tenant, entity)

    def set(self, attr: str, value: Any, tenant: str = TENANT) -> None:
        self.service.update_attributes(tenant, BIN, {attr: [{"type": "Property", "value": value}]})

    def queued(self) -> int:
        return self.store.queue_length(NOTIFICATIONS)


@pytest.fixture
def rig(store: ContextStore, receiver: HttpReceiver, waste: LdContext) -> Rig:
    repo = SubscriptionRepository(store, refresh_interval=0.0)
    return Rig(store, repo, EntityService(store, SubscriptionMatcher(repo)), receiver, waste, [])


def drive(worker: NotificationWorker, until: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run the worker's rounds until ``until()`` holds (polling, never a fixed sleep)."""

    async def go() -> None:
        deadline = time.monotonic() + timeout
        try:
            while not until():
                if time.monotonic() > deadline:
                    raise AssertionError("condition not reached in time")
                if await worker.run_once() == 0:
                    await asyncio.sleep(0.02)
        finally:
            await worker.stop()

    asyncio.run(go())


def body(request: Recorded) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(request.body)
    return data


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("normalized", {"type": "Property", "value": 0.9}),
        ("keyValues", 0.9),
        ("concise", 0.9),
    ],
)
def test_an_update_is_delivered_in_the_subscriptions_format(
    rig: Rig, fmt: str, expected: Any
) -> None:
    rig.create_bin()
    sub_id = rig.subscribe(notification={"format": fmt, "attributes": ["fillingLevel"]})
    rig.set(FILLING, 0.9)
    assert rig.queued() == 1
    worker = rig.worker()
    drive(worker, lambda: len(rig.receiver.requests) == 1)
    request = rig.receiver.requests[0]
    assert request.method == "POST"
    assert request.path == "/notify"
    assert request.headers["content-type"] == "application/json"
    assert f"<{WASTE_URL}>" in request.headers["link"]
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in request.headers["link"]
    assert request.headers["ngsild-tenant"] == TENANT
    notification = body(request)
    assert notification["type"] == "Notification"
    assert notification["subscriptionId"] == sub_id
    assert notification["triggerReason"] == "attributeUpdated"
    assert notification["id"].startswith("urn:ngsi-ld:Notification:")
    assert notification["data"] == [{"id": BIN, "type": "WasteContainer", "fillingLevel": expected}]
    assert rig.queued() == 0
    status = rig.repo.require(TENANT, sub_id).status
    assert status.times_sent == 1
    assert status.last_success is not None
    assert status.last_notification == status.last_success
    assert status.last_failure is None
    assert worker.stats.delivered == 1


def test_default_tenant_gets_no_tenant_header_and_ld_json_gets_context_in_body(
    rig: Rig,
) -> None:
    rig.create_bin(tenant="default")
    rig.subscribe(
        tenant="default",
        notification={"endpoint": {"uri": rig.receiver.url(), "accept": "application/ld+json"}},
    )
    rig.set(FILLING, 0.7, tenant="default")
    drive(rig.worker(), lambda: len(rig.receiver.requests) == 1)
    request = rig.receiver.requests[0]
    assert "ngsild-tenant" not in request.headers
    assert "link" not in request.headers
    assert request.headers["content-type"] == "application/ld+json"
    assert WASTE_URL in json.dumps(body(request)["@context"])


def test_the_entity_state_at_the_change_is_what_is_sent(rig: Rig) -> None:
    rig.create_bin()
    rig.subscribe(notification={"format": "keyValues"})
    for level in (0.6, 0.7, 0.8):
        rig.set(FILLING, level)
    assert rig.queued() == 3
    drive(rig.worker(), lambda: len(rig.receiver.requests) == 3)
    levels = [body(r)["data"][0]["fillingLevel"] for r in rig.receiver.requests]
    assert levels == [0.6, 0.7, 0.8]


def test_watched_attributes_filter_changes(rig: Rig) -> None:
    rig.create_bin()
    rig.subscribe()  # watches fillingLevel
    rig.set(TEMPERATURE, 30.0)
    assert rig.queued() == 0
    rig.set(FILLING, 0.95)
    assert rig.queued() == 1
    drive(rig.worker(), lambda: len(rig.receiver.requests) == 1)
    assert body(rig.receiver.requests[0])["data"][0]["fillingLevel"]["value"] == 0.95


def test_q_filters_changes(rig: Rig) -> None:
    rig.create_bin()
    rig.subscribe(q="fillingLevel>0.8")
    rig.set(FILLING, 0.5)
    assert rig.queued() == 0
    rig.set(FILLING, 0.85)
    assert rig.queued() == 1
    drive(rig.worker(), lambda: len(rig.receiver.requests) == 1)
    assert body(rig.receiver.requests[0])["data"][0]["fillingLevel"]["value"] == 0.85


def test_creation_and_deletion_trigger_when_asked(rig: Rig) -> None:
    rig.subscribe(
        watchedAttributes=...,
        notificationTrigger=["entityCreated", "entityDeleted"],
        notification={"format": "keyValues"},
    )
    rig.create_bin()
    rig.set(FILLING, 0.9)  # entityUpdated was not asked for
    rig.service.delete(TENANT, BIN)
    assert rig.queued() == 2
    drive(rig.worker(), lambda: len(rig.receiver.requests) == 2)
    reasons = [body(r)["triggerReason"] for r in rig.receiver.requests]
    assert reasons == ["entityCreated", "entityDeleted"]
    deleted = body(rig.receiver.requests[1])["data"][0]
    assert deleted["id"] == BIN
    assert "deletedAt" in deleted


def test_a_batch_shares_one_notification_per_subscription(rig: Rig) -> None:
    rig.subscribe(watchedAttributes=..., notification={"format": "keyValues"})
    entities: list[EntityDoc] = [
        {
            "id": f"urn:ngsi-ld:WasteContainer:{n:04d}",
            "type": [WM + "WasteContainer"],
            FILLING: [{"type": "Property", "value": n / 10}],
        }
        for n in range(5)
    ]
    rig.service.batch_upsert(TENANT, entities)
    assert rig.queued() == 1
    drive(rig.worker(), lambda: len(rig.receiver.requests) == 1)
    data = body(rig.receiver.requests[0])["data"]
    assert [item["id"] for item in data] == [e["id"] for e in entities]


def test_throttling_sends_at_most_one_notification_per_period(rig: Rig) -> None:
    rig.create_bin()
    sub_id = rig.subscribe(throttling=3600)
    rig.set(FILLING, 0.6)
    worker = rig.worker()
    drive(worker, lambda: len(rig.receiver.requests) == 1)
    # once the notification is recorded, the write path no longer queues any …
    rig.set(FILLING, 0.7)
    assert rig.queued() == 0
    # … and what was queued before the record arrived is held back by the worker
    rig.set(FILLING, 0.8)
    rig.set(FILLING, 0.9)
    assert rig.queued() == 0
    assert rig.repo.require(TENANT, sub_id).status.times_sent == 1


def test_throttling_in_the_worker_drops_queued_notifications(rig: Rig) -> None:
    rig.create_bin()
    rig.subscribe(throttling=3600)
    for level in (0.6, 0.7, 0.8):
        rig.set(FILLING, level)
    assert rig.queued() == 3  # queued before any was sent
    worker = rig.worker()
    drive(worker, lambda: rig.queued() == 0)
    assert len(rig.receiver.requests) == 1
    assert worker.stats.throttled == 2


def test_receiver_errors_are_retried_with_backoff_until_success(rig: Rig) -> None:
    rig.create_bin()
    sub_id = rig.subscribe()
    rig.receiver.answer(Reply(500), Reply(503, body=b"busy"))
    rig.set(FILLING, 0.9)
    worker = rig.worker()
    seen: list[tuple[int, int, bool]] = []

    def done() -> bool:
        status = rig.repo.require(TENANT, sub_id).status
        seen.append((status.times_sent, status.times_failed, status.last_success is not None))
        return len(rig.receiver.requests) == 3 and rig.queued() == 0

    drive(worker, done)
    assert rig.delays == [1, 2]
    # the status went through failure before success
    assert (1, 1, False) in seen or (2, 2, False) in seen
    status = rig.repo.require(TENANT, sub_id).status
    assert status.times_sent == 3
    assert status.times_failed == 2
    assert status.consecutive_failures == 0
    assert status.last_failure is not None
    assert status.last_success is not None
    assert status.last_success >= status.last_failure
    assert status.public().notification_status == "ok"
    assert "503" in (status.last_failure_reason or "")
    # every attempt carried the same notification
    ids = {body(r)["id"] for r in rig.receiver.requests}
    assert len(ids) == 1
    assert worker.stats.retried == 2
    assert worker.stats.delivered == 1


def test_a_permanent_failure_is_recorded_and_dropped(rig: Rig) -> None:
    rig.create_bin()
    sub_id = rig.subscribe()
    rig.receiver.answer(Reply(400, body=b"no thanks"))
    rig.set(FILLING, 0.9)
    worker = rig.worker()
    drive(worker, lambda: rig.queued() == 0)
    assert len(rig.receiver.requests) == 1
    status = rig.repo.require(TENANT, sub_id).status
    assert status.dropped == 1
    assert status.times_failed == 1
    assert status.last_success is None
    assert status.public().notification_status == "failed"
    assert worker.stats.dropped == 1
    assert rig.delays == []


def test_retries_stop_after_max_attempts(rig: Rig) -> None:
    rig.create_bin()
    sub_id = rig.subscribe()
    rig.receiver.answer(*[Reply(500)] * 5)
    rig.set(FILLING, 0.9)
    worker = rig.worker(max_attempts=3)
    drive(worker, lambda: rig.queued() == 0)
    assert len(rig.receiver.requests) == 3
    status = rig.repo.require(TENANT, sub_id).status
    assert status.dropped == 1
    assert status.times_failed == 3
    assert status.consecutive_failures == 3
    assert worker.stats.dropped == 1


def test_receiver_down_is_retried(rig: Rig) -> None:
    """A refused connection is retryable; once the subscription points at a live receiver
    the retried notification arrives there."""
    rig.create_bin()
    sub_id = rig.subscribe(notification={"endpoint": {"uri": "http://127.0.0.1:1/notify"}})
    rig.set(FILLING, 0.9)
    worker = rig.worker()

    async def first_attempt() -> None:
        while await worker.run_once() == 0:
            await asyncio.sleep(0.02)
        await worker.stop()

    asyncio.run(first_attempt())
    status = rig.repo.require(TENANT, sub_id).status
    assert status.times_failed == 1
    assert "connection_refused" in (status.last_failure_reason or "")
    assert rig.queued() == 1
    endpoint = {"endpoint": {"uri": rig.receiver.url("/back")}}
    rig.repo.update(
        TENANT,
        sub_id,
        lambda sub: merge_subscription_patch(
            sub, {"notification": endpoint}, rig.context, now=utc_now()
        ),
    )
    drive(rig.worker(), lambda: len(rig.receiver.requests) == 1)
    assert rig.receiver.requests[0].path == "/back"


def test_deleted_paused_or_expired_subscriptions_discard_their_queue(rig: Rig) -> None:
    rig.create_bin()
    gone = rig.subscribe(id="urn:ngsi-ld:Subscription:gone")
    paused = rig.subscribe(id="urn:ngsi-ld:Subscription:paused")
    rig.set(FILLING, 0.9)
    assert rig.queued() == 2
    rig.repo.delete(TENANT, gone)
    rig.repo.update(
        TENANT,
        paused,
        lambda sub: merge_subscription_patch(sub, {"isActive": False}, rig.context, now=utc_now()),
    )
    worker = rig.worker()
    drive(worker, lambda: rig.queued() == 0)
    assert rig.receiver.requests == []
    assert worker.stats.discarded == 2
    # expiry: the worker's clock passed expiresAt before delivery
    soon = utc_now() + timedelta(minutes=5)
    rig.subscribe(
        id="urn:ngsi-ld:Subscription:expiring",
        expiresAt=soon.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    rig.set(FILLING, 0.95)
    assert rig.queued() == 1
    late = rig.worker(clock=lambda: soon + timedelta(seconds=1))
    drive(late, lambda: rig.queued() == 0)
    assert rig.receiver.requests == []
    assert late.stats.discarded == 1


def test_periodic_subscription_sends_the_selected_entities_every_interval(rig: Rig) -> None:
    rig.create_bin(level=0.4)
    sub_id = rig.subscribe(
        watchedAttributes=..., timeInterval=3600, notification={"format": "keyValues"}
    )
    rig.set(FILLING, 0.5)
    assert rig.queued() == 0  # periodic subscriptions are not change-triggered
    worker = rig.worker()
    assert worker.schedule_periodic() == 1
    assert worker.schedule_periodic() == 0  # not due again for an hour
    drive(worker, lambda: len(rig.receiver.requests) == 1)
    notification = body(rig.receiver.requests[0])
    assert notification["subscriptionId"] == sub_id
    assert "triggerReason" not in notification
    assert notification["data"] == [
        {"id": BIN, "type": "WasteContainer", "fillingLevel": 0.5, "temperature": 12.0}
    ]
    status = rig.repo.require(TENANT, sub_id).status
    assert status.last_scheduled is not None
    assert status.times_sent == 1
    later = rig.worker()
    assert later.schedule_periodic(now=utc_now() + timedelta(hours=1, seconds=1)) == 1


def test_the_worker_task_starts_and_stops(rig: Rig) -> None:
    rig.create_bin()
    rig.subscribe()

    async def scenario() -> None:
        worker = rig.worker()
        worker.start()
        await asyncio.to_thread(rig.set, FILLING, 0.9)
        worker.wake()
        deadline = time.monotonic() + 10
        while not rig.receiver.requests:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await worker.stop()
        await worker.stop()  # idempotent

    asyncio.run(scenario())
    assert len(rig.receiver.requests) == 1


def test_mqtt_endpoints_get_the_notification(
    rig: Rig, mosquitto_session_server: MosquittoServer
) -> None:
    broker = mosquitto_session_server
    topic = f"cetate/notify/{rig.store.__class__.__name__}"
    rig.create_bin()
    sub_id = rig.subscribe(
        notification={
            "format": "keyValues",
            "endpoint": {
                "uri": f"mqtt://{broker.host}:{broker.port}/{topic}",
                "notifierInfo": [{"key": "MQTT-QoS", "value": "1"}],
            },
        }
    )
    rig.set(FILLING, 0.9)

    async def scenario() -> dict[str, Any]:
        async with aiomqtt.Client(broker.host, broker.port, timeout=5) as client:
            await client.subscribe(topic, qos=1)
            worker = rig.worker()
            try:
                while await worker.run_once() == 0:
                    await asyncio.sleep(0.02)
            finally:
                await worker.stop()
            async with asyncio.timeout(10):
                message = await anext(aiter(client.messages))
        assert isinstance(message.payload, bytes)
        received: dict[str, Any] = json.loads(message.payload)
        return received

    received = asyncio.run(scenario())
    assert received["metadata"]["NGSILD-Tenant"] == TENANT
    assert received["metadata"]["Content-Type"] == "application/json"
    assert WASTE_URL in received["metadata"]["Link"]
    assert received["body"]["subscriptionId"] == sub_id
    assert received["body"]["data"][0]["fillingLevel"] == 0.9
    assert rig.repo.require(TENANT, sub_id).status.times_sent == 1
