"""Notification payloads (formats, projection, deletions, showChanges), request headers, and
the retry schedule."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from cetate.ngsi.jsonld import CORE_CONTEXT_URL, LdContext, link_header
from cetate.ngsi.model import LOCATION, EntityDoc
from cetate.reactions.subscriptions.matching import EntityChange
from cetate.reactions.subscriptions.model import Subscription, parse_subscription
from cetate.reactions.subscriptions.notification import (
    BACKOFF_CAP,
    backoff_schedule,
    build_notification,
    build_request,
    notification_for_change,
)
from tests.reactions.subscriptions.support import NOW, WASTE_URL, WM, payload

FILL = WM + "fillingLevel"
ID = "urn:ngsi-ld:WasteContainer:cluj:0001"
POINT = {"type": "Point", "coordinates": [23.6, 46.77]}


def bin_doc(fill: float = 0.9) -> EntityDoc:
    return {
        "id": ID,
        "type": [WM + "WasteContainer"],
        "createdAt": "2026-11-23T09:00:00.000Z",
        "modifiedAt": "2026-11-23T10:00:00.000Z",
        FILL: [{"type": "Property", "value": fill, "unitCode": "P1"}],
        LOCATION: [{"type": "GeoProperty", "value": POINT}],
    }


def make(context: LdContext, **notification: Any) -> Subscription:
    params: dict[str, Any] = {"endpoint": {"uri": "http://receiver.example/notify"}}
    endpoint = notification.pop("endpoint", None)
    if endpoint:
        params["endpoint"].update(endpoint)
    params.update(notification)
    return parse_subscription(payload(notification=params), context, now=NOW)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (
            "normalized",
            {
                "id": ID,
                "type": "WasteContainer",
                "fillingLevel": {"type": "Property", "value": 0.9, "unitCode": "P1"},
                "location": {"type": "GeoProperty", "value": POINT},
            },
        ),
        (
            "concise",
            {
                "id": ID,
                "type": "WasteContainer",
                "fillingLevel": {"value": 0.9, "unitCode": "P1"},
                "location": POINT,
            },
        ),
        ("keyValues", {"id": ID, "type": "WasteContainer", "fillingLevel": 0.9, "location": POINT}),
    ],
)
def test_formats(fmt: str, expected: dict[str, Any], waste: LdContext) -> None:
    sub = make(waste, format=fmt)
    body = build_notification(
        sub, [bin_doc()], now=NOW, notification_id="urn:ngsi-ld:Notification:1"
    )
    assert body == {
        "id": "urn:ngsi-ld:Notification:1",
        "type": "Notification",
        "subscriptionId": "urn:ngsi-ld:Subscription:bins",
        "notifiedAt": "2026-11-23T10:00:00.000Z",
        "data": [expected],
    }


def test_generated_notification_id(waste: LdContext) -> None:
    body = build_notification(make(waste), [bin_doc()], now=NOW, trigger_reason="attributeUpdated")
    assert body["id"].startswith("urn:ngsi-ld:Notification:")
    assert body["triggerReason"] == "attributeUpdated"


def test_attributes_projection_and_sys_attrs(waste: LdContext) -> None:
    sub = make(waste, attributes=["fillingLevel"], sysAttrs=True)
    (entity,) = build_notification(sub, [bin_doc()], now=NOW)["data"]
    assert set(entity) == {"id", "type", "createdAt", "modifiedAt", "fillingLevel"}


def test_json_accept_uses_a_link_header(waste: LdContext) -> None:
    sub = make(waste)
    body = build_notification(sub, [bin_doc()], now=NOW)
    assert "@context" not in body
    request = build_request(sub, body, tenant="cluj")
    assert request.method == "POST"
    assert request.uri == "http://receiver.example/notify"
    assert request.headers == {
        "Content-Type": "application/json",
        "Link": link_header(WASTE_URL),
        "NGSILD-Tenant": "cluj",
    }
    assert json.loads(request.content()) == body


def test_ld_json_accept_puts_the_context_in_the_body(waste: LdContext) -> None:
    sub = make(
        waste,
        endpoint={
            "accept": "application/ld+json",
            "receiverInfo": [{"key": "Authorization", "value": "Bearer t"}],
        },
    )
    body = build_notification(sub, [bin_doc()], now=NOW)
    assert body["@context"] == waste.source
    assert body["data"][0]["type"] == "WasteContainer"
    request = build_request(sub, body)
    assert request.headers == {
        "Content-Type": "application/ld+json",
        "Authorization": "Bearer t",
    }


def test_inline_context_with_json_accept_falls_back_to_core(core: LdContext) -> None:
    from cetate.ngsi.jsonld import ContextResolver

    inline = ContextResolver().resolve(
        [{"fillingLevel": FILL, "WasteContainer": WM + "WasteContainer"}]
    )
    sub = make(inline)
    body = build_notification(sub, [bin_doc()], now=NOW)
    entity = body["data"][0]
    assert entity["type"] == WM + "WasteContainer"
    assert FILL in entity
    assert build_request(sub, body).headers["Link"] == link_header(CORE_CONTEXT_URL)
    ld = make(inline, endpoint={"accept": "application/ld+json"})
    assert build_notification(ld, [bin_doc()], now=NOW)["data"][0]["type"] == "WasteContainer"


def test_deleted_entity(waste: LdContext) -> None:
    body = notification_for_change(
        make(waste), EntityChange.deleted(bin_doc()), now=NOW, trigger_reason="entityDeleted"
    )
    assert body["data"] == [
        {"id": ID, "type": "WasteContainer", "deletedAt": "2026-11-23T10:00:00.000Z"}
    ]
    assert body["triggerReason"] == "entityDeleted"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (
            "normalized",
            {
                "type": "Property",
                "value": "urn:ngsi-ld:null",
                "deletedAt": "2026-11-23T10:00:00.000Z",
            },
        ),
        ("keyValues", "urn:ngsi-ld:null"),
    ],
)
def test_deleted_attribute(fmt: str, expected: Any, waste: LdContext) -> None:
    before = bin_doc()
    after = bin_doc()
    del after[FILL]
    change = EntityChange.updated(before, after, {FILL})
    body = notification_for_change(make(waste, format=fmt), change, now=NOW)
    assert body["data"][0]["fillingLevel"] == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("normalized", {"type": "Property", "value": 0.9, "unitCode": "P1", "previousValue": 0.5}),
        ("concise", {"value": 0.9, "unitCode": "P1", "previousValue": 0.5}),
        ("keyValues", 0.9),
    ],
)
def test_show_changes(fmt: str, expected: Any, waste: LdContext) -> None:
    change = EntityChange.updated(bin_doc(0.5), bin_doc(0.9), {FILL})
    body = notification_for_change(make(waste, format=fmt, showChanges=True), change, now=NOW)
    assert body["data"][0]["fillingLevel"] == expected


def test_show_changes_bare_concise_value_and_relationship(waste: LdContext) -> None:
    before = bin_doc()
    after = bin_doc()
    before[WM + "status"] = [{"type": "Property", "value": "ok"}]
    after[WM + "status"] = [{"type": "Property", "value": "full"}]
    before[WM + "refDevice"] = [{"type": "Relationship", "object": "urn:d:1"}]
    after[WM + "refDevice"] = [{"type": "Relationship", "object": "urn:d:2"}]
    change = EntityChange.updated(before, after, {WM + "status", WM + "refDevice"})
    data = notification_for_change(
        make(waste, format="concise", showChanges=True), change, now=NOW
    )["data"][0]
    status_key = waste.compact_iri(WM + "status")
    device_key = waste.compact_iri(WM + "refDevice")
    assert data[status_key] == {"value": "full", "previousValue": "ok"}
    assert data[device_key] == {"object": "urn:d:2", "previousObject": "urn:d:1"}


def test_no_previous_value_without_show_changes(waste: LdContext) -> None:
    change = EntityChange.updated(bin_doc(0.5), bin_doc(0.9), {FILL})
    body = notification_for_change(make(waste), change, now=NOW)
    assert "previousValue" not in body["data"][0]["fillingLevel"]


def test_created_entity(waste: LdContext) -> None:
    body = notification_for_change(make(waste), EntityChange.created(bin_doc()), now=NOW)
    assert body["data"][0]["fillingLevel"]["value"] == 0.9


# --------------------------------------------------------------------------------------------
# backoff


def test_backoff_without_jitter_doubles_up_to_the_cap() -> None:
    delays = [backoff_schedule(n, rng=lambda: 0.5).total_seconds() for n in range(1, 13)]
    assert delays[:5] == [2, 4, 8, 16, 32]
    assert max(delays) == BACKOFF_CAP.total_seconds()
    assert delays == sorted(delays)


@pytest.mark.parametrize("attempt", [1, 2, 5, 8, 9, 40, 10_000])
def test_backoff_jitter_bounds(attempt: int) -> None:
    nominal = 2.0 * 2 ** min(attempt - 1, 62)
    low = backoff_schedule(attempt, rng=lambda: 0.0).total_seconds()
    high = backoff_schedule(attempt, rng=lambda: 0.999999).total_seconds()
    assert low == pytest.approx(min(nominal * 0.8, BACKOFF_CAP.total_seconds()))
    assert high <= BACKOFF_CAP.total_seconds()
    assert high <= nominal * 1.2 + 1e-6
    assert low <= backoff_schedule(attempt).total_seconds() <= high + 1e-6


def test_backoff_custom_and_errors() -> None:
    assert backoff_schedule(
        3, base=timedelta(seconds=1), cap=timedelta(seconds=3), jitter=0
    ) == timedelta(seconds=3)
    with pytest.raises(ValueError, match="counts from 1"):
        backoff_schedule(0)
    with pytest.raises(ValueError, match="jitter"):
        backoff_schedule(1, jitter=1.5)
