"""Subscriptions in the store, and an in-process cache of them for the write path.

Each subscription is a record (:meth:`ContextStore.put_record`) of kind ``subscription``
under its tenant and id. Its data is :func:`~.model.subscription_to_document` plus a
``status`` member with the delivery record (``status`` is a read-only member that
:func:`~.model.parse_subscription` ignores, so the document still loads)::

    {"id": …, "type": "Subscription", …, "@context": …, "createdAt": …,
     "status": {"timesSent": 3, "timesFailed": 1, "consecutiveFailures": 0,
                "lastNotification": …, "lastSuccess": …, "lastFailure": …,
                "lastFailureReason": "…", "dropped": 0, "lastScheduled": …}}

Every change is optimistic (``expected_version``): a status update that meets a concurrent
change re-reads the record and applies itself again (:data:`MAX_CONFLICT_RETRIES` times).

The cache (:meth:`SubscriptionRepository.active`) keeps every tenant's subscriptions parsed.
It is refreshed when :meth:`ContextStore.records_generation` of the kind has changed — asked
at most every ``refresh_interval`` seconds (and at once after a change made through this
repository), so several API workers agree within that interval without a query per write.
Only subscriptions whose document (status aside) changed are parsed again.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cetate.errors import AlreadyExists, CetateError, RecordConflict, ResourceNotFound
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.timestamps import format_datetime, parse_datetime, utc_now
from cetate.reactions.subscriptions.model import (
    Subscription,
    SubscriptionStatus,
    subscription_from_document,
    subscription_to_document,
)
from cetate.store.base import ContextStore, Record

logger = logging.getLogger(__name__)

KIND: Final = "subscription"
STATUS: Final = "status"
MAX_CONFLICT_RETRIES: Final = 20
_PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """The delivery record kept next to a subscription."""

    times_sent: int = 0
    times_failed: int = 0
    consecutive_failures: int = 0
    dropped: int = 0
    """notifications given up (permanent failure, or retries exhausted)"""
    last_notification: datetime | None = None
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_failure_reason: str | None = None
    last_scheduled: datetime | None = None
    """periodic subscriptions: when the last notification was queued"""

    def public(self) -> SubscriptionStatus:
        """What GET renders (:func:`~.model.render_subscription`)."""
        return SubscriptionStatus(
            times_sent=self.times_sent,
            times_failed=self.times_failed,
            last_notification=self.last_notification,
            last_success=self.last_success,
            last_failure=self.last_failure,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "timesSent": self.times_sent,
            "timesFailed": self.times_failed,
            "consecutiveFailures": self.consecutive_failures,
            "dropped": self.dropped,
        }
        for key, moment in (
            ("lastNotification", self.last_notification),
            ("lastSuccess", self.last_success),
            ("lastFailure", self.last_failure),
            ("lastScheduled", self.last_scheduled),
        ):
            if moment is not None:
                out[key] = format_datetime(moment)
        if self.last_failure_reason is not None:
            out["lastFailureReason"] = self.last_failure_reason
        return out

    @classmethod
    def from_json(cls, data: Any) -> DeliveryStatus:
        if not isinstance(data, Mapping):
            return cls()

        def moment(key: str) -> datetime | None:
            value = data.get(key)
            return parse_datetime(value) if isinstance(value, str) else None

        reason = data.get("lastFailureReason")
        return cls(
            times_sent=int(data.get("timesSent", 0)),
            times_failed=int(data.get("timesFailed", 0)),
            consecutive_failures=int(data.get("consecutiveFailures", 0)),
            dropped=int(data.get("dropped", 0)),
            last_notification=moment("lastNotification"),
            last_success=moment("lastSuccess"),
            last_failure=moment("lastFailure"),
            last_failure_reason=reason if isinstance(reason, str) else None,
            last_scheduled=moment("lastScheduled"),
        )

    def after_attempt(
        self, at: datetime, *, ok: bool, reason: str | None = None, dropped: bool = False
    ) -> DeliveryStatus:
        """The record after one delivery attempt at ``at``."""
        if ok:
            return dataclasses.replace(
                self,
                times_sent=self.times_sent + 1,
                consecutive_failures=0,
                last_notification=at,
                last_success=at,
            )
        return dataclasses.replace(
            self,
            times_sent=self.times_sent + 1,
            times_failed=self.times_failed + 1,
            consecutive_failures=self.consecutive_failures + 1,
            dropped=self.dropped + (1 if dropped else 0),
            last_notification=at,
            last_failure=at,
            last_failure_reason=reason,
        )


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    """A subscription as stored: its tenant, its delivery record and its record version."""

    tenant: str
    subscription: Subscription
    status: DeliveryStatus
    version: int


def _document(sub: Subscription, status: DeliveryStatus) -> dict[str, Any]:
    doc = subscription_to_document(sub)
    doc[STATUS] = status.to_json()
    return doc


def _without_status(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != STATUS}


class SubscriptionRepository:
    """Subscriptions of every tenant in one store (thread-safe)."""

    def __init__(
        self,
        store: ContextStore,
        *,
        resolver: ContextResolver | None = None,
        refresh_interval: float = 1.0,
    ) -> None:
        self.store = store
        self._resolver = resolver or ContextResolver()
        self._refresh_interval = refresh_interval
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._checked_at = float("-inf")
        self._stale = True
        self._parsed: dict[tuple[str, str], tuple[dict[str, Any], Subscription]] = {}
        self._by_tenant: dict[str, tuple[StoredSubscription, ...]] = {}
        self._changed_listeners: list[Callable[[], None]] = []

    # -- loading -------------------------------------------------------------------------------
    def _load(self, record: Record) -> StoredSubscription:
        doc = _without_status(record.data)
        sub = subscription_from_document(doc, self._resolver)
        return StoredSubscription(
            record.tenant, sub, DeliveryStatus.from_json(record.data.get(STATUS)), record.version
        )

    def _cached_parse(self, record: Record) -> StoredSubscription | None:
        """Like :meth:`_load`, reusing the parsed subscription when only the status changed;
        ``None`` (logged) for a record that no longer parses."""
        doc = _without_status(record.data)
        cache_key = (record.tenant, record.key)
        known = self._parsed.get(cache_key)
        if known is not None and known[0] == doc:
            sub = known[1]
        else:
            try:
                sub = subscription_from_document(doc, self._resolver)
            except CetateError as exc:
                logger.error(
                    "subscription %s of tenant %s cannot be loaded: %s",
                    record.key,
                    record.tenant,
                    exc.detail,
                )
                return None
            self._parsed[cache_key] = (doc, sub)
        return StoredSubscription(
            record.tenant, sub, DeliveryStatus.from_json(record.data.get(STATUS)), record.version
        )

    # -- the cache ------------------------------------------------------------------------------
    def invalidate(self) -> None:
        """Check the store's generation on the next read of the cache."""
        self._stale = True

    def _refresh(self) -> None:
        now = time.monotonic()
        if not self._stale and now - self._checked_at < self._refresh_interval:
            return
        with self._lock:
            if not self._stale and now - self._checked_at < self._refresh_interval:
                return
            self._stale = False
            generation = self.store.records_generation(KIND)
            self._checked_at = time.monotonic()
            if generation == self._generation:
                return
            records: list[Record] = []
            offset = 0
            while True:
                page = self.store.list_records(None, KIND, limit=_PAGE, offset=offset)
                records.extend(page)
                if len(page) < _PAGE:
                    break
                offset += _PAGE
            by_tenant: dict[str, list[StoredSubscription]] = {}
            seen: set[tuple[str, str]] = set()
            for record in records:
                seen.add((record.tenant, record.key))
                stored = self._cached_parse(record)
                if stored is not None:
                    by_tenant.setdefault(record.tenant, []).append(stored)
            for gone in set(self._parsed) - seen:
                del self._parsed[gone]
            self._by_tenant = {tenant: tuple(subs) for tenant, subs in by_tenant.items()}
            self._generation = generation

    def cached(self, tenant: str) -> tuple[StoredSubscription, ...]:
        """Every subscription of ``tenant`` as cached (refreshed when stale)."""
        self._refresh()
        return self._by_tenant.get(tenant, ())

    def cached_all(self) -> list[StoredSubscription]:
        """Every tenant's subscriptions as cached."""
        self._refresh()
        return [stored for subs in self._by_tenant.values() for stored in subs]

    def active(self, tenant: str, now: datetime | None = None) -> list[StoredSubscription]:
        """The change-triggered subscriptions of ``tenant`` that are active at ``now``."""
        subs = self.cached(tenant)
        if not subs:
            return []
        moment = now or utc_now()
        return [
            stored
            for stored in subs
            if not stored.subscription.is_periodic and stored.subscription.state(moment) == "active"
        ]

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each create, update or delete through this repository."""
        self._changed_listeners.append(listener)

    def _changed(self) -> None:
        self.invalidate()
        for listener in self._changed_listeners:
            listener()

    # -- CRUD ------------------------------------------------------------------------------------
    def create(self, tenant: str, sub: Subscription) -> StoredSubscription:
        """Store a new subscription; AlreadyExists when its id is taken in the tenant."""
        status = DeliveryStatus()
        try:
            record = self.store.put_record(
                tenant, KIND, sub.id, _document(sub, status), expected_version=None
            )
        except AlreadyExists:
            raise AlreadyExists(
                f"subscription {sub.id} already exists", subscriptionId=sub.id
            ) from None
        self._changed()
        return StoredSubscription(tenant, sub, status, record.version)

    def get(self, tenant: str, sub_id: str) -> StoredSubscription | None:
        """The subscription as stored now (not the cache)."""
        record = self.store.get_record(tenant, KIND, sub_id)
        return self._load(record) if record is not None else None

    def require(self, tenant: str, sub_id: str) -> StoredSubscription:
        stored = self.get(tenant, sub_id)
        if stored is None:
            raise ResourceNotFound(f"subscription {sub_id} does not exist", subscriptionId=sub_id)
        return stored

    def page(self, tenant: str, *, limit: int, offset: int = 0) -> list[StoredSubscription]:
        """A page of the tenant's subscriptions, by id."""
        records = self.store.list_records(tenant, KIND, limit=limit, offset=offset)
        out: list[StoredSubscription] = []
        for record in records:
            try:
                out.append(self._load(record))
            except CetateError as exc:
                logger.error("subscription %s cannot be loaded: %s", record.key, exc.detail)
        return out

    def count(self, tenant: str) -> int:
        total = 0
        while True:
            page = self.store.list_records(tenant, KIND, limit=_PAGE, offset=total)
            total += len(page)
            if len(page) < _PAGE:
                return total

    def update(
        self, tenant: str, sub_id: str, change: Callable[[Subscription], Subscription]
    ) -> StoredSubscription:
        """Apply ``change`` to the stored subscription (its status kept), retrying on a
        concurrent change. ResourceNotFound when there is none."""
        for _ in range(MAX_CONFLICT_RETRIES):
            stored = self.require(tenant, sub_id)
            new = change(stored.subscription)
            try:
                record = self.store.put_record(
                    tenant,
                    KIND,
                    sub_id,
                    _document(new, stored.status),
                    expected_version=stored.version,
                )
            except RecordConflict:
                continue
            self._changed()
            return StoredSubscription(tenant, new, stored.status, record.version)
        raise RecordConflict(f"subscription {sub_id} keeps changing; try again")

    def delete(self, tenant: str, sub_id: str) -> bool:
        deleted = self.store.delete_record(tenant, KIND, sub_id)
        if deleted:
            self._changed()
        return deleted

    # -- delivery status ---------------------------------------------------------------------
    def update_status(
        self, tenant: str, sub_id: str, change: Callable[[DeliveryStatus], DeliveryStatus]
    ) -> DeliveryStatus | None:
        """Apply ``change`` to the delivery record (optimistic, retried on conflicts);
        ``None`` when the subscription no longer exists."""
        for _ in range(MAX_CONFLICT_RETRIES):
            record = self.store.get_record(tenant, KIND, sub_id)
            if record is None:
                return None
            status = change(DeliveryStatus.from_json(record.data.get(STATUS)))
            data = dict(record.data)
            data[STATUS] = status.to_json()
            try:
                self.store.put_record(tenant, KIND, sub_id, data, expected_version=record.version)
            except RecordConflict:
                continue
            return status
        logger.error("status of subscription %s not recorded: too many conflicts", sub_id)
        return None

    def record_attempt(
        self,
        tenant: str,
        sub_id: str,
        at: datetime,
        *,
        ok: bool,
        reason: str | None = None,
        dropped: bool = False,
    ) -> DeliveryStatus | None:
        """Record one delivery attempt (see :meth:`DeliveryStatus.after_attempt`)."""
        return self.update_status(
            tenant,
            sub_id,
            lambda status: status.after_attempt(at, ok=ok, reason=reason, dropped=dropped),
        )
