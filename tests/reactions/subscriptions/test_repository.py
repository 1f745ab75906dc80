"""Subscriptions stored as records, on both backends: CRUD, optimistic status updates, and the
cache that follows ``records_generation`` so several processes agree."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest

from cetate.errors import AlreadyExists, ResourceNotFound
from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.subscriptions.model import Subscription, parse_subscription
from cetate.reactions.subscriptions.repository import (
    KIND,
    DeliveryStatus,
    SubscriptionRepository,
)
from cetate.store.base import ContextStore
from tests.reactions.subscriptions.support import payload


def _sub(context: LdContext, number: int = 1, **changes: object) -> Subscription:
    return parse_subscription(
        payload(id=f"urn:ngsi-ld:Subscription:{number:03d}", **changes), context, now=utc_now()
    )


def test_create_get_page_count_delete(store: ContextStore, waste: LdContext) -> None:
    repo = SubscriptionRepository(store)
    for number in (3, 1, 2):
        repo.create("cluj", _sub(waste, number))
    repo.create("iasi", _sub(waste, 1))
    stored = repo.get("cluj", "urn:ngsi-ld:Subscription:001")
    assert stored is not None
    assert stored.tenant == "cluj"
    assert stored.status == DeliveryStatus()
    assert stored.subscription.watched_attributes == (
        "https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel",
    )
    assert [s.subscription.id for s in repo.page("cluj", limit=2)] == [
        "urn:ngsi-ld:Subscription:001",
        "urn:ngsi-ld:Subscription:002",
    ]
    assert [s.subscription.id for s in repo.page("cluj", limit=2, offset=2)] == [
        "urn:ngsi-ld:Subscription:003"
    ]
    assert repo.count("cluj") == 3
    assert repo.count("iasi") == 1
    assert repo.count("nowhere") == 0
    with pytest.raises(AlreadyExists):
        repo.create("cluj", _sub(waste, 2))
    assert repo.delete("cluj", "urn:ngsi-ld:Subscription:002")
    assert not repo.delete("cluj", "urn:ngsi-ld:Subscription:002")
    assert repo.get("cluj", "urn:ngsi-ld:Subscription:002") is None
    with pytest.raises(ResourceNotFound):
        repo.require("cluj", "urn:ngsi-ld:Subscription:002")
    # the other tenant's copy of the same id is untouched
    assert repo.get("iasi", "urn:ngsi-ld:Subscription:001") is not None
    assert repo.get("iasi", "urn:ngsi-ld:Subscription:002") is None


def test_document_round_trip_keeps_context_and_status(
    store: ContextStore, waste: LdContext
) -> None:
    repo = SubscriptionRepository(store)
    sub = _sub(waste, q="fillingLevel>0.8", throttling=5)
    repo.create("cluj", sub)
    at = utc_now()
    repo.record_attempt("cluj", sub.id, at, ok=False, reason="http_status: HTTP 500")
    stored = repo.require("cluj", sub.id)
    assert stored.subscription == sub
    assert stored.subscription.context.source == waste.source
    assert stored.status.times_sent == 1
    assert stored.status.times_failed == 1
    assert stored.status.consecutive_failures == 1
    assert stored.status.last_failure_reason == "http_status: HTTP 500"
    assert stored.status.public().notification_status == "failed"
    record = store.get_record("cluj", KIND, sub.id)
    assert record is not None
    assert record.data["status"]["timesFailed"] == 1
    later = at + timedelta(seconds=1)
    repo.record_attempt("cluj", sub.id, later, ok=True)
    status = repo.require("cluj", sub.id).status
    assert status.times_sent == 2
    assert status.consecutive_failures == 0
    assert status.last_success is not None
    assert status.public().notification_status == "ok"


def test_update_keeps_status_and_retries_conflicts(store: ContextStore, waste: LdContext) -> None:
    repo = SubscriptionRepository(store)
    sub = _sub(waste)
    repo.create("cluj", sub)
    repo.record_attempt("cluj", sub.id, utc_now(), ok=True)
    calls = 0

    def change(current: Subscription) -> Subscription:
        nonlocal calls
        calls += 1
        if calls == 1:
            # someone else records a delivery between the read and the write
            repo.record_attempt("cluj", sub.id, utc_now(), ok=True)
        return dataclasses.replace(current, description="renamed")

    updated = repo.update("cluj", sub.id, change)
    assert calls == 2
    assert updated.subscription.description == "renamed"
    stored = repo.require("cluj", sub.id)
    assert stored.subscription.description == "renamed"
    assert stored.status.times_sent == 2
    with pytest.raises(ResourceNotFound):
        repo.update("cluj", "urn:ngsi-ld:Subscription:none", change)


def test_concurrent_status_updates_are_all_counted(store: ContextStore, waste: LdContext) -> None:
    repo = SubscriptionRepository(store)
    sub = _sub(waste)
    repo.create("cluj", sub)
    others = [SubscriptionRepository(store) for _ in range(4)]

    def record(r: SubscriptionRepository) -> None:
        for _ in range(5):
            r.record_attempt("cluj", sub.id, utc_now(), ok=True)

    threads = [threading.Thread(target=record, args=(r,)) for r in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert repo.require("cluj", sub.id).status.times_sent == 20


def test_cache_follows_the_generation_across_repositories(
    store: ContextStore, waste: LdContext
) -> None:
    """Two repositories on one database (two API workers): a subscription created through
    one is matched by the other once it checks the generation."""
    first = SubscriptionRepository(store, refresh_interval=0.0)
    second = SubscriptionRepository(store, refresh_interval=3600.0)
    assert second.active("cluj") == []
    first.create("cluj", _sub(waste, 1))
    assert [s.subscription.id for s in first.active("cluj")] == ["urn:ngsi-ld:Subscription:001"]
    # the second checks at most every hour: still the old answer …
    assert second.active("cluj") == []
    # … until it is told (or the interval passes)
    second.invalidate()
    assert [s.subscription.id for s in second.active("cluj")] == ["urn:ngsi-ld:Subscription:001"]
    assert second.active("iasi") == []
    first.delete("cluj", "urn:ngsi-ld:Subscription:001")
    second.invalidate()
    assert second.active("cluj") == []


def test_cache_lists_only_active_change_triggered_subscriptions(
    store: ContextStore, waste: LdContext
) -> None:
    repo = SubscriptionRepository(store, refresh_interval=0.0)
    soon = utc_now() + timedelta(seconds=30)
    repo.create("cluj", _sub(waste, 1))
    repo.create("cluj", _sub(waste, 2, isActive=False))
    repo.create("cluj", _sub(waste, 3, expiresAt=soon.strftime("%Y-%m-%dT%H:%M:%S.%fZ")))
    repo.create("cluj", _sub(waste, 4, watchedAttributes=..., timeInterval=60))
    now = utc_now()
    assert [s.subscription.id for s in repo.active("cluj", now)] == [
        "urn:ngsi-ld:Subscription:001",
        "urn:ngsi-ld:Subscription:003",
    ]
    assert [s.subscription.id for s in repo.active("cluj", soon + timedelta(seconds=1))] == [
        "urn:ngsi-ld:Subscription:001"
    ]
    assert len(repo.cached_all()) == 4


def test_status_updates_do_not_parse_the_subscription_again(
    store: ContextStore, waste: LdContext
) -> None:
    repo = SubscriptionRepository(store, refresh_interval=0.0)
    sub = _sub(waste)
    repo.create("cluj", sub)
    before = repo.active("cluj")[0]
    repo.record_attempt("cluj", sub.id, utc_now(), ok=True)
    repo.invalidate()
    after = repo.active("cluj")[0]
    assert after.subscription is before.subscription
    assert after.status.times_sent == 1
    assert after.version == before.version + 1
