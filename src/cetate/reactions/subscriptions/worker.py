"""The delivery worker: takes notifications from the durable ``notifications`` queue and sends
them, and queues the notifications of periodic (``timeInterval``) subscriptions.

One asyncio task per process (:meth:`NotificationWorker.start` / :meth:`~NotificationWorker.stop`,
run by the application's lifespan). Each round it claims up to ``batch_size`` due items
(:meth:`ContextStore.claim`, in a thread, leased for ``lease``: a worker that dies leaves its
items to be claimed again when the lease runs out, so nothing queued is lost — also across a
restart), groups them by subscription and sends each group in order (groups concurrently):

* the subscription is read fresh; deleted, paused or expired → the item is discarded
  (counted in :attr:`WorkerStats.discarded`);
* throttling: a change notification (first attempt) less than ``throttling`` seconds after the
  subscription's last notification is not sent (:attr:`WorkerStats.throttled`), as the
  standard says;
* ``notifiedAt`` is set to the moment of sending; the request is built by
  :func:`~.notification.build_request` (``Link``, ``NGSILD-Tenant`` for tenants other than
  the default, ``receiverInfo``) and sent by :class:`~cetate.reactions.delivery.HttpSender`
  or, for ``mqtt(s)://`` endpoints, :class:`~cetate.reactions.delivery.MqttSender`;
* ``ok`` → the item is completed and the subscription's ``timesSent`` / ``lastNotification``
  / ``lastSuccess`` recorded; ``retryable`` → the failure is recorded (``timesFailed``,
  ``lastFailure`` and its reason) and the item is due again after
  :func:`~cetate.reactions.delivery.retry_delay` (the back-off schedule, or the receiver's
  ``Retry-After``) until ``max_attempts``; ``permanent`` or attempts exhausted → the
  failure is recorded, the subscription's ``dropped`` count raised, a warning logged and the
  item removed (:attr:`WorkerStats.dropped`). Nothing is dropped silently.

Periodic subscriptions: every ``periodic_interval`` seconds the process that holds the
``subscriptions-periodic`` lease (one process at a time) queues a notification with the
current state of the selected entities for every active periodic subscription whose
``timeInterval`` has passed since it last queued one (``lastScheduled`` in its status).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from cetate.ngsi.model import EntityDoc
from cetate.ngsi.query_ast import TypeExpr, TypeOr
from cetate.ngsi.timestamps import format_datetime, utc_now
from cetate.reactions.delivery.http import HttpSender
from cetate.reactions.delivery.mqtt import MqttSender
from cetate.reactions.delivery.outcome import DeliveryOutcome, retry_delay
from cetate.reactions.rounds import RoundLoop
from cetate.reactions.subscriptions.matching import entity_selected, periodic_due, throttled
from cetate.reactions.subscriptions.model import Subscription
from cetate.reactions.subscriptions.notification import (
    MAX_ATTEMPTS,
    build_notification,
    build_request,
)
from cetate.reactions.subscriptions.outbox import (
    MAX_ENTITIES_PER_NOTIFICATION,
    NOTIFICATIONS,
    work_item,
)
from cetate.reactions.subscriptions.repository import (
    DeliveryStatus,
    StoredSubscription,
    SubscriptionRepository,
)
from cetate.store.base import ContextStore, EntityQuery, QueueItem

logger = logging.getLogger(__name__)

PERIODIC_LEASE: Final = "subscriptions-periodic"
PERIODIC_SCAN_LIMIT: Final = 1000
"""At most this many entities go out in one periodic round of a subscription."""


@dataclass
class WorkerStats:
    """What the worker did since it started (for logs, tests and the console)."""

    delivered: int = 0
    failed_attempts: int = 0
    retried: int = 0
    dropped: int = 0
    """given up: permanent failure or attempts exhausted (recorded on the subscription)"""
    throttled: int = 0
    discarded: int = 0
    """the subscription was deleted, paused or expired before delivery"""
    periodic_queued: int = 0


class NotificationWorker:
    """Delivers queued notifications (see the module docstring)."""

    def __init__(
        self,
        store: ContextStore,
        repository: SubscriptionRepository,
        *,
        default_tenant: str = "default",
        http: HttpSender | None = None,
        mqtt: MqttSender | None = None,
        worker_id: str | None = None,
        batch_size: int = 20,
        lease: timedelta = timedelta(minutes=5),
        poll_interval: float = 0.2,
        periodic_interval: float = 1.0,
        max_attempts: int = MAX_ATTEMPTS,
        delay: Callable[[DeliveryOutcome, int], timedelta] = retry_delay,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.repository = repository
        self.default_tenant = default_tenant
        self.worker_id = worker_id or f"notify-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.batch_size = batch_size
        self.lease = lease
        self.poll_interval = poll_interval
        self.periodic_interval = periodic_interval
        self.max_attempts = max_attempts
        self.delay = delay
        self.clock = clock
        self.stats = WorkerStats()
        self._http = http
        self._owns_http = http is None
        self._mqtt = mqtt
        self._rounds = RoundLoop(
            f"cetate-{self.worker_id}",
            self._round,
            poll_interval=poll_interval,
            failure="notification worker round failed; trying again",
            log=logger,
        )
        self._last_sent: dict[tuple[str, str], datetime] = {}
        self._next_periodic = 0.0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the loop as a task of the running event loop."""
        self._rounds.start()

    def wake(self) -> None:
        """Poll the queue now (thread-safe; a no-op when not running)."""
        self._rounds.wake()

    async def stop(self) -> None:
        """Stop after the current round; claimed but unsent items stay in the queue and are
        claimed again once their lease runs out."""
        await self._rounds.stop(timeout=40)
        if self._http is not None and self._owns_http:
            await self._http.aclose()
            self._http = None
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.store.release_lease, PERIODIC_LEASE, self.worker_id)

    async def _round(self) -> int:
        await self._maybe_schedule_periodic()
        return await self.run_once()

    # -- one round ----------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim due items and deliver them; the number of items handled."""
        items = await asyncio.to_thread(
            self.store.claim,
            NOTIFICATIONS,
            worker=self.worker_id,
            limit=self.batch_size,
            lease=self.lease,
        )
        if not items:
            return 0
        groups: dict[tuple[str, str], list[QueueItem]] = {}
        for item in items:
            sub_id = item.payload.get("subscriptionId")
            groups.setdefault((item.tenant, str(sub_id)), []).append(item)
        await asyncio.gather(*(self._deliver_group(group) for group in groups.values()))
        return len(items)

    async def _deliver_group(self, items: Sequence[QueueItem]) -> None:
        for item in items:
            try:
                await self._deliver(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(
                    "notification %s of tenant %s: delivery failed unexpectedly; it is "
                    "claimed again when its lease runs out",
                    item.id,
                    item.tenant,
                )

    async def _complete(self, item: QueueItem) -> None:
        await asyncio.to_thread(self.store.complete, [item.id])

    async def _deliver(self, item: QueueItem) -> None:
        payload = item.payload
        sub_id = payload.get("subscriptionId")
        notification = payload.get("notification")
        if not isinstance(sub_id, str) or not isinstance(notification, dict):
            logger.error("notification item %s has no subscription or body; removed", item.id)
            self.stats.discarded += 1
            await self._complete(item)
            return
        stored = await asyncio.to_thread(self.repository.get, item.tenant, sub_id)
        now = self.clock()
        if stored is None or stored.subscription.state(now) != "active":
            logger.info(
                "notification of subscription %s (tenant %s) discarded: the subscription is %s",
                sub_id,
                item.tenant,
                "gone" if stored is None else stored.subscription.state(now),
            )
            self.stats.discarded += 1
            await self._complete(item)
            return
        sub = stored.subscription
        key = (item.tenant, sub_id)
        if payload.get("kind", "change") == "change" and item.attempts <= 1:
            last = _latest(stored.status.last_notification, self._last_sent.get(key))
            if throttled(sub, now, last):
                self.stats.throttled += 1
                await self._complete(item)
                return
        body = dict(notification)
        body["notifiedAt"] = format_datetime(now)
        tenant_header = None if item.tenant == self.default_tenant else item.tenant
        request = build_request(sub, body, tenant=tenant_header)
        self._last_sent[key] = now
        outcome = await self._send(sub, request)
        at = self.clock()
        if outcome.ok:
            await self._complete(item)
            self.stats.delivered += 1
            await asyncio.to_thread(
                self.repository.record_attempt, item.tenant, sub_id, at, ok=True
            )
            return
        self.stats.failed_attempts += 1
        reason = f"{outcome.reason}: {outcome.detail}" if outcome.detail else outcome.reason
        if outcome.retryable and item.attempts < self.max_attempts:
            due = at + self.delay(outcome, item.attempts)
            await asyncio.to_thread(self.store.retry, item.id, due_at=due, error=reason)
            self.stats.retried += 1
            await asyncio.to_thread(
                self.repository.record_attempt, item.tenant, sub_id, at, ok=False, reason=reason
            )
            return
        logger.warning(
            "notification of subscription %s (tenant %s) to %s given up after %d attempt(s): %s",
            sub_id,
            item.tenant,
            sub.notification.endpoint.uri,
            item.attempts,
            reason,
        )
        await self._complete(item)
        self.stats.dropped += 1
        await asyncio.to_thread(
            self.repository.record_attempt,
            item.tenant,
            sub_id,
            at,
            ok=False,
            reason=reason,
            dropped=True,
        )

    async def _send(self, sub: Subscription, request: Any) -> DeliveryOutcome:
        endpoint = sub.notification.endpoint
        if endpoint.is_mqtt:
            if self._mqtt is None:
                self._mqtt = MqttSender()
            return await self._mqtt.send(request, endpoint.notifier_info)
        if self._http is None:
            self._http = HttpSender()
        return await self._http.send(request)

    # -- periodic subscriptions ---------------------------------------------------------------
    async def _maybe_schedule_periodic(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if loop_time < self._next_periodic:
            return
        self._next_periodic = loop_time + self.periodic_interval
        await asyncio.to_thread(self.schedule_periodic)

    def schedule_periodic(self, now: datetime | None = None) -> int:
        """Queue the due notifications of periodic subscriptions (when this process holds the
        periodic lease); the number queued."""
        candidates = [s for s in self.repository.cached_all() if s.subscription.is_periodic]
        if not candidates:
            return 0
        ttl = timedelta(seconds=max(self.periodic_interval * 5, 5.0))
        if not self.store.acquire_lease(PERIODIC_LEASE, self.worker_id, ttl):
            return 0
        moment = now or self.clock()
        queued = 0
        for cached in candidates:
            fresh = self.repository.get(cached.tenant, cached.subscription.id)
            if fresh is None:
                continue
            sub = fresh.subscription
            if not periodic_due(sub, moment, fresh.status.last_scheduled):
                continue
            queued += self._queue_periodic(fresh, moment)
        self.stats.periodic_queued += queued
        return queued

    def _queue_periodic(self, stored: StoredSubscription, now: datetime) -> int:
        sub = stored.subscription
        entities = self._periodic_entities(stored.tenant, sub)
        items = [
            work_item(
                sub.id,
                build_notification(
                    sub, entities[start : start + MAX_ENTITIES_PER_NOTIFICATION], now=now
                ),
                kind="periodic",
            )
            for start in range(0, len(entities), MAX_ENTITIES_PER_NOTIFICATION)
        ]

        def scheduled(status: DeliveryStatus) -> DeliveryStatus:
            from dataclasses import replace

            return replace(status, last_scheduled=now)

        self.repository.update_status(stored.tenant, sub.id, scheduled)
        if items:
            self.store.enqueue(stored.tenant, NOTIFICATIONS, items)
        return len(items)

    def _periodic_entities(self, tenant: str, sub: Subscription) -> list[EntityDoc]:
        types: TypeExpr | None = None
        if sub.entities:
            exprs = tuple(selector.type for selector in sub.entities)
            types = exprs[0] if len(exprs) == 1 else TypeOr(exprs)
        result = self.store.query_entities(
            tenant, EntityQuery(types=types, limit=PERIODIC_SCAN_LIMIT)
        )
        return [entity for entity in result.entities if entity_selected(sub, entity)]


def _latest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None
