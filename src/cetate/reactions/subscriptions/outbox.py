"""Matching entity writes against subscriptions, queuing notifications in the same transaction.

:class:`SubscriptionMatcher` is the :class:`~cetate.entities.WriteObserver` the application
registers on its :class:`~cetate.entities.EntityService`. For a tenant without active
change-triggered subscriptions it answers ``None`` (the write path then does nothing more).
Otherwise, inside the write transaction, it matches every write against every cached
subscription (:func:`~.matching.trigger_reason`) and queues one work item per
(subscription, trigger reason) of the transaction in the ``notifications`` queue with
``tx.enqueue`` — the transactional outbox: a notification is queued if and only if the
change is stored, and it carries the entities *as they were at the change*, rendered by
:func:`~.notification.notification_for_change`. Up to :data:`MAX_ENTITIES_PER_NOTIFICATION`
entities of one transaction share a notification.

A work item's payload (what :class:`~.worker.NotificationWorker` reads)::

    {"subscriptionId": …, "kind": "change" | "periodic", "notification": {…}}
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from cetate.entities import EntityWrite, WriteSink
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.subscriptions.matching import EntityChange, trigger_reason
from cetate.reactions.subscriptions.model import Trigger
from cetate.reactions.subscriptions.notification import notification_for_change
from cetate.reactions.subscriptions.repository import StoredSubscription, SubscriptionRepository
from cetate.store.base import StoreTransaction

logger = logging.getLogger(__name__)

NOTIFICATIONS: Final = "notifications"
"""The durable queue of notifications to deliver."""
MAX_ENTITIES_PER_NOTIFICATION: Final = 100


def work_item(sub_id: str, notification: dict[str, Any], kind: str = "change") -> dict[str, Any]:
    return {"subscriptionId": sub_id, "kind": kind, "notification": notification}


def notifications_for(
    subs: Sequence[StoredSubscription], writes: Sequence[EntityWrite], now: datetime
) -> list[dict[str, Any]]:
    """The work items for ``writes`` (one transaction) against ``subs``."""
    grouped: dict[tuple[str, Trigger], dict[str, Any]] = {}
    items: list[dict[str, Any]] = []
    for write in writes:
        change = EntityChange(write.before, write.after, write.changed)
        for stored in subs:
            sub = stored.subscription
            reason = trigger_reason(sub, change, now, stored.status.last_notification)
            if reason is None:
                continue
            body = notification_for_change(sub, change, now=now, trigger_reason=reason)
            key = (sub.id, reason)
            open_item = grouped.get(key)
            if open_item is not None:
                data = open_item["notification"]["data"]
                if len(data) < MAX_ENTITIES_PER_NOTIFICATION:
                    data.extend(body["data"])
                    continue
            item = work_item(sub.id, body)
            grouped[key] = item
            items.append(item)
    return items


class SubscriptionMatcher:
    """The write observer of subscriptions (see the module docstring)."""

    def __init__(self, repository: SubscriptionRepository) -> None:
        self.repository = repository

    def sink_for(self, tenant: str) -> WriteSink | None:
        now = utc_now()
        subs = self.repository.active(tenant, now)
        if not subs:
            return None

        def sink(tx: StoreTransaction, writes: Sequence[EntityWrite]) -> None:
            items = notifications_for(subs, writes, now)
            if items:
                tx.enqueue(NOTIFICATIONS, items)

        return sink
