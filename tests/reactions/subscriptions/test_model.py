"""Subscription payloads: validation (good and bad), rendering, PATCH, storage form."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cetate.errors import BadRequestData, CetateError, InvalidRequest, OperationNotSupported
from cetate.ngsi.jsonld import ContextResolver, LdContext
from cetate.ngsi.model import LOCATION
from cetate.ngsi.query_ast import And, Comparison, TypeAnd, TypeName, TypeOr
from cetate.reactions.subscriptions.model import (
    DEFAULT_TRIGGERS,
    SubscriptionStatus,
    merge_subscription_patch,
    parse_subscription,
    render_subscription,
    subscription_from_document,
    subscription_to_document,
    type_expr_text,
)
from tests.reactions.subscriptions.support import NOW, WASTE_URL, WM, V, payload

ENDPOINT = {"endpoint": {"uri": "http://receiver.example/notify"}}


def notification(**members: Any) -> dict[str, Any]:
    return {**ENDPOINT, **members}


def endpoint(**members: Any) -> dict[str, Any]:
    return {"endpoint": {"uri": "http://receiver.example/notify", **members}}


# --------------------------------------------------------------------------------------------
# good payloads


def test_full_payload_is_expanded(waste: LdContext) -> None:
    sub = parse_subscription(
        payload(
            subscriptionName="full bins",
            description="bins above 80 %",
            entities=[
                {"type": "WasteContainer", "idPattern": "^urn:ngsi-ld:WasteContainer:cluj:"},
                {"id": "urn:ngsi-ld:WasteContainer:x", "type": "WasteContainer|Other"},
            ],
            notificationTrigger=["entityCreated", "attributeUpdated"],
            q='fillingLevel>0.8;status=="ok"',
            geoQ={
                "geometry": "Polygon",
                "coordinates": [[[23, 46], [24, 46], [24, 47], [23, 47], [23, 46]]],
                "georel": "within",
                "geoproperty": "location",
            },
            isActive=False,
            expiresAt="2027-01-01T00:00:00+02:00",
            throttling=30,
            lang="ro",
            notification={
                "attributes": ["fillingLevel", "location"],
                "format": "keyValues",
                "endpoint": {
                    "uri": "https://receiver.example/notify",
                    "accept": "application/ld+json",
                    "receiverInfo": [{"key": "X-Api-Key", "value": "s3cret"}],
                },
                "showChanges": True,
                "sysAttrs": True,
            },
        ),
        waste,
        now=NOW,
    )
    assert sub.id == "urn:ngsi-ld:Subscription:bins"
    assert sub.subscription_name == "full bins"
    assert sub.entities[0].type == TypeName(WM + "WasteContainer")
    assert sub.entities[0].id_pattern == "^urn:ngsi-ld:WasteContainer:cluj:"
    assert sub.entities[1].type == TypeOr((TypeName(WM + "WasteContainer"), TypeName(V + "Other")))
    assert sub.watched_attributes == (WM + "fillingLevel",)
    assert sub.notification_trigger == ("entityCreated", "attributeUpdated")
    assert sub.q_text == 'fillingLevel>0.8;status=="ok"'
    assert isinstance(sub.q, And)
    assert sub.geo_q is not None
    assert sub.geo_q.geoproperty == LOCATION
    assert sub.is_active is False
    assert sub.expires_at == NOW.replace(year=2026, month=12, day=31, hour=22)
    assert sub.throttling == 30.0
    assert sub.lang == "ro"
    params = sub.notification
    assert params.attributes == (WM + "fillingLevel", LOCATION)
    assert params.format == "keyValues"
    assert params.endpoint.accept == "application/ld+json"
    assert params.endpoint.receiver_info == (("X-Api-Key", "s3cret"),)
    assert params.show_changes
    assert params.sys_attrs
    assert sub.created_at == sub.modified_at == "2026-11-23T10:00:00.000Z"


def test_q_names_are_expanded(waste: LdContext) -> None:
    sub = parse_subscription(payload(q="fillingLevel>0.8"), waste, now=NOW)
    assert isinstance(sub.q, Comparison)
    assert sub.q.path.attr == WM + "fillingLevel"


def test_defaults(core: LdContext) -> None:
    sub = parse_subscription(
        {"type": "Subscription", "watchedAttributes": ["a"], "notification": ENDPOINT},
        core,
        now=NOW,
        new_id=lambda: "urn:ngsi-ld:Subscription:generated",
    )
    assert sub.id == "urn:ngsi-ld:Subscription:generated"
    assert sub.entities == ()
    assert sub.notification_trigger == DEFAULT_TRIGGERS
    assert sub.is_active
    assert not sub.is_periodic
    assert sub.notification.format == "normalized"
    assert sub.notification.endpoint.accept == "application/json"
    assert sub.notification.attributes is None


def test_generated_ids_are_unique_uris(core: LdContext) -> None:
    body = payload(id=...)
    ids = {parse_subscription(body, core, now=NOW).id for _ in range(3)}
    assert len(ids) == 3
    assert all(i.startswith("urn:ngsi-ld:Subscription:") for i in ids)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"watchedAttributes": ..., "timeInterval": 60}, id="periodic"),
        pytest.param({"entities": ...}, id="watched-only"),
        pytest.param({"watchedAttributes": ...}, id="entities-only"),
        pytest.param({"notification": endpoint(uri="mqtt://broker:1883/city/bins")}, id="mqtt"),
        pytest.param(
            {
                "notification": endpoint(
                    uri="mqtts://broker/t",
                    notifierInfo=[
                        {"key": "MQTT-QoS", "value": "1"},
                        {"key": "MQTT-Version", "value": "mqtt5.0"},
                    ],
                )
            },
            id="mqtt-notifier-info",
        ),
        pytest.param({"notification": notification(format="concise")}, id="concise"),
        pytest.param(
            {
                "geoQ": {
                    "geometry": "Point",
                    "coordinates": "[23.5,46.7]",
                    "georel": "near;minDistance==10",
                }
            },
            id="coordinates-as-text",
        ),
        pytest.param({"status": "active", "createdAt": "x"}, id="read-only-ignored"),
        pytest.param({"@context": WASTE_URL}, id="context-member"),
        pytest.param({"entities": [{"type": "(WasteContainer;Thing)|Other"}]}, id="type-expr"),
        pytest.param({"description": ""}, id="empty-description"),
        pytest.param({"throttling": 0.5}, id="fractional-throttling"),
    ],
)
def test_good_payloads(changes: dict[str, Any], waste: LdContext) -> None:
    parse_subscription(payload(**changes), waste, now=NOW)


# --------------------------------------------------------------------------------------------
# bad payloads


BAD: list[Any] = [
    ({"type": ...}, "'type' must be \"Subscription\""),
    ({"type": "Entity"}, "'type' must be \"Subscription\""),
    ({"id": "not a uri"}, "not an absolute URI"),
    ({"entities": ..., "watchedAttributes": ...}, "needs 'entities', 'watchedAttributes'"),
    ({"entities": []}, "entities must be a non-empty array"),
    ({"entities": [{"id": "urn:x"}]}, "entities[0] has no 'type'"),
    ({"entities": [{"type": "A", "id": "no uri"}]}, "entities[0].id"),
    ({"entities": [{"type": "A", "idPattern": "("}]}, "not a valid regular expression"),
    ({"entities": [{"type": "A|"}]}, "entities[0].type"),
    ({"entities": [{"type": "A", "name": "x"}]}, "unknown member 'name'"),
    ({"entities": ["A"]}, "entities[0] must be a JSON object"),
    ({"watchedAttributes": []}, "watchedAttributes must be a non-empty array"),
    ({"watchedAttributes": ["a b"]}, "not a valid attribute name"),
    ({"watchedAttributes": [3]}, "not a valid attribute name"),
    ({"timeInterval": 60}, "timeInterval and watchedAttributes cannot be used together"),
    (
        {"watchedAttributes": ..., "timeInterval": 60, "throttling": 5},
        "timeInterval and throttling",
    ),
    ({"watchedAttributes": ..., "timeInterval": 0}, "timeInterval must be a positive"),
    ({"throttling": -1}, "throttling must be a positive"),
    ({"throttling": "5"}, "throttling must be a positive"),
    ({"throttling": True}, "throttling must be a positive"),
    ({"notificationTrigger": ["entityChanged"]}, "'entityChanged' is not a trigger"),
    ({"notificationTrigger": []}, "notificationTrigger must be a non-empty array"),
    ({"q": "fillingLevel>"}, "q: invalid q at position"),
    ({"q": ""}, "q must be a non-empty string"),
    ({"geoQ": {"geometry": "Point", "coordinates": [1, 2]}}, "missing: georel"),
    (
        {"geoQ": {"geometry": "Point", "coordinates": [1, 2], "georel": "near"}},
        "geoQ: georel near needs a distance",
    ),
    (
        {"geoQ": {"geometry": "Circle", "coordinates": [1, 2], "georel": "within"}},
        "geoQ: invalid geometry",
    ),
    (
        {"geoQ": {"geometry": "Point", "coordinates": [1], "georel": "intersects"}},
        "geoQ:",
    ),
    ({"geoQ": {"geometry": "Point", "coordinates": 5, "georel": "within"}}, "coordinates"),
    ({"isActive": "yes"}, "isActive must be true or false"),
    ({"expiresAt": "2020-01-01T00:00:00Z"}, "expiresAt '2020-01-01T00:00:00Z' is not in the"),
    ({"expiresAt": "2026-11-23T10:00:00Z"}, "is not in the future"),
    ({"expiresAt": "tomorrow"}, "not an ISO 8601 date-time"),
    ({"lang": 5}, "lang must be a non-empty string"),
    ({"watchedAtributes": ["a"]}, "unknown member 'watchedAtributes'"),
    ({"notification": ...}, "has no 'notification'"),
    ({"notification": {}}, "notification has no 'endpoint'"),
    ({"notification": {"endpoint": {}}}, "notification.endpoint has no 'uri'"),
    ({"notification": endpoint(uri="ftp://h/x")}, "scheme must be http, https, mqtt or mqtts"),
    ({"notification": endpoint(uri="receiver.example/notify")}, "the scheme must be"),
    ({"notification": endpoint(uri="http:///notify")}, "has no host"),
    ({"notification": endpoint(uri="http://h:99999/")}, "invalid port"),
    ({"notification": endpoint(uri="mqtt://broker:1883")}, "an MQTT endpoint needs a topic"),
    ({"notification": endpoint(accept="text/plain")}, "notification.endpoint.accept"),
    ({"notification": endpoint(receiverInfo=[{"key": "A"}])}, "receiverInfo[0] must be"),
    (
        {"notification": endpoint(receiverInfo=[{"key": "X-A", "value": "a\r\nB: c"}])},
        "not a valid header",
    ),
    (
        {"notification": endpoint(receiverInfo=[{"key": "Content-Type", "value": "x"}])},
        "set by the notifier",
    ),
    (
        {"notification": endpoint(notifierInfo=[{"key": "MQTT-QoS", "value": "3"}])},
        "MQTT-QoS must be 0, 1 or 2",
    ),
    (
        {"notification": endpoint(notifierInfo=[{"key": "MQTT-Version", "value": "4"}])},
        "MQTT-Version must be one of",
    ),
    ({"notification": endpoint(timeout=5)}, "unknown member 'timeout'"),
    ({"notification": notification(format="simplified")}, "notification.format"),
    ({"notification": notification(attributes=[])}, "notification.attributes must be"),
    ({"notification": notification(showChanges="yes")}, "notification.showChanges"),
    ({"notification": notification(extra=1)}, "unknown member 'extra'"),
]


@pytest.mark.parametrize(("changes", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_payloads(changes: dict[str, Any], message: str, waste: LdContext) -> None:
    with pytest.raises(BadRequestData) as info:
        parse_subscription(payload(**changes), waste, now=NOW)
    assert message in info.value.detail


def test_not_an_object_is_invalid_request(core: LdContext) -> None:
    with pytest.raises(InvalidRequest):
        parse_subscription([payload()], core, now=NOW)


@pytest.mark.parametrize("member", ["scopeQ", "temporalQ", "csf"])
def test_unsupported_members(member: str, core: LdContext) -> None:
    with pytest.raises(OperationNotSupported, match=member):
        parse_subscription(payload(**{member: "x"}), core, now=NOW)


def test_past_expiry_allowed_when_reloading(core: LdContext) -> None:
    sub = parse_subscription(payload(expiresAt="2020-01-01T00:00:00Z"), core, now=None)
    assert sub.state(NOW) == "expired"


# --------------------------------------------------------------------------------------------
# rendering


def test_render_compacts_with_the_readers_context(waste: LdContext, core: LdContext) -> None:
    sub = parse_subscription(
        payload(notification=notification(attributes=["fillingLevel"])), waste, now=NOW
    )
    as_waste = render_subscription(sub, waste, now=NOW)
    assert as_waste["entities"] == [{"type": "WasteContainer"}]
    assert as_waste["watchedAttributes"] == ["fillingLevel"]
    assert as_waste["notification"]["attributes"] == ["fillingLevel"]
    as_core = render_subscription(sub, core, now=NOW)
    assert as_core["entities"] == [{"type": WM + "WasteContainer"}]
    assert as_core["watchedAttributes"] == [WM + "fillingLevel"]


def test_render_shape_and_status(waste: LdContext) -> None:
    sub = parse_subscription(payload(expiresAt="2026-12-01T00:00:00Z"), waste, now=NOW)
    out = render_subscription(sub, waste, now=NOW)
    assert out == {
        "id": "urn:ngsi-ld:Subscription:bins",
        "type": "Subscription",
        "entities": [{"type": "WasteContainer"}],
        "watchedAttributes": ["fillingLevel"],
        "notificationTrigger": ["attributeCreated", "attributeUpdated"],
        "isActive": True,
        "expiresAt": "2026-12-01T00:00:00.000Z",
        "notification": {
            "format": "normalized",
            "endpoint": {"uri": "http://receiver.example/notify", "accept": "application/json"},
            "timesSent": 0,
        },
        "status": "active",
        "jsonldContext": WASTE_URL,
    }
    later = NOW + timedelta(days=30)
    assert render_subscription(sub, waste, now=later)["status"] == "expired"
    paused = parse_subscription(payload(isActive=False), waste, now=NOW)
    assert render_subscription(paused, waste, now=NOW)["status"] == "paused"


def test_render_delivery_record(waste: LdContext) -> None:
    sub = parse_subscription(payload(), waste, now=NOW)
    status = SubscriptionStatus(
        times_sent=5,
        times_failed=1,
        last_notification=NOW,
        last_success=NOW - timedelta(minutes=1),
        last_failure=NOW,
    )
    out = render_subscription(sub, waste, now=NOW, status=status, sys_attrs=True)
    assert out["notification"] | {"endpoint": None} == {
        "format": "normalized",
        "endpoint": None,
        "status": "failed",
        "timesSent": 5,
        "timesFailed": 1,
        "lastNotification": "2026-11-23T10:00:00.000Z",
        "lastSuccess": "2026-11-23T09:59:00.000Z",
        "lastFailure": "2026-11-23T10:00:00.000Z",
    }
    assert out["createdAt"] == out["modifiedAt"] == "2026-11-23T10:00:00.000Z"
    ok = SubscriptionStatus(times_sent=1, last_success=NOW, last_notification=NOW)
    assert render_subscription(sub, waste, now=NOW, status=ok)["notification"]["status"] == "ok"


ROUND_TRIPS: list[dict[str, Any]] = [
    payload(),
    payload(watchedAttributes=..., timeInterval=90),
    payload(
        subscriptionName="n",
        description="d",
        entities=[
            {"type": "(WasteContainer;A)|B", "idPattern": "cluj"},
            {"id": "urn:x:1", "type": "A;B"},
        ],
        notificationTrigger=["entityDeleted"],
        q='fillingLevel>=0.5|status=="full"',
        geoQ={
            "geometry": "Point",
            "coordinates": [23.5, 46.7],
            "georel": "near;maxDistance==1500.5;minDistance==10",
            "geoproperty": "observationSpace",
        },
        isActive=False,
        expiresAt="2030-01-01T00:00:00.000Z",
        throttling=5,
        lang="ro,en;q=0.5",
        notification={
            "attributes": ["fillingLevel"],
            "format": "concise",
            "endpoint": {
                "uri": "mqtt://broker/topic",
                "accept": "application/ld+json",
                "receiverInfo": [{"key": "A", "value": "1"}],
                "notifierInfo": [{"key": "MQTT-QoS", "value": "2"}],
            },
            "showChanges": True,
            "sysAttrs": True,
        },
    ),
]


@pytest.mark.parametrize("body", ROUND_TRIPS)
def test_render_round_trip(body: dict[str, Any], waste: LdContext) -> None:
    sub = parse_subscription(body, waste, now=NOW)
    rendered = render_subscription(sub, waste, now=NOW)
    again = parse_subscription(rendered, waste, now=NOW)
    assert again == sub
    assert render_subscription(again, waste, now=NOW) == rendered


@pytest.mark.parametrize("body", ROUND_TRIPS)
def test_document_round_trip(body: dict[str, Any], waste: LdContext) -> None:
    sub = parse_subscription(body, waste, now=NOW)
    doc = subscription_to_document(sub)
    assert doc["@context"] == waste.source
    back = subscription_from_document(doc, ContextResolver())
    assert back == sub
    assert back.created_at == sub.created_at


def test_type_expr_text() -> None:
    expr = TypeOr((TypeAnd((TypeName("a"), TypeOr((TypeName("b"), TypeName("c"))))), TypeName("d")))
    assert type_expr_text(expr) == "a;(b|c)|d"
    assert type_expr_text(expr, str.upper) == "A;(B|C)|D"


# --------------------------------------------------------------------------------------------
# PATCH


def test_patch_replaces_members_and_keeps_identity(waste: LdContext) -> None:
    sub = parse_subscription(payload(q="fillingLevel>0.8"), waste, now=NOW)
    later = NOW + timedelta(hours=1)
    patched = merge_subscription_patch(
        sub, {"watchedAttributes": ["status"], "isActive": False}, waste, now=later
    )
    assert patched.id == sub.id
    assert patched.watched_attributes == (waste.expand_term("status"),)
    assert patched.is_active is False
    assert patched.q == sub.q
    assert patched.q_text == sub.q_text
    assert patched.created_at == sub.created_at
    assert patched.modified_at == "2026-11-23T11:00:00.000Z"
    assert patched.context is sub.context


def test_patch_merges_notification_and_endpoint(waste: LdContext) -> None:
    sub = parse_subscription(
        payload(notification=endpoint(receiverInfo=[{"key": "A", "value": "1"}])),
        waste,
        now=NOW,
    )
    patched = merge_subscription_patch(
        sub,
        {"notification": {"format": "keyValues", "endpoint": {"accept": "application/ld+json"}}},
        waste,
        now=NOW,
    )
    assert patched.notification.format == "keyValues"
    assert patched.notification.endpoint.uri == "http://receiver.example/notify"
    assert patched.notification.endpoint.accept == "application/ld+json"
    assert patched.notification.endpoint.receiver_info == (("A", "1"),)


def test_patch_null_removes(waste: LdContext) -> None:
    sub = parse_subscription(payload(throttling=10, q="fillingLevel>0.1"), waste, now=NOW)
    patched = merge_subscription_patch(
        sub, {"throttling": None, "q": "urn:ngsi-ld:null"}, waste, now=NOW
    )
    assert patched.throttling is None
    assert patched.q is None
    assert patched.q_text is None


def test_patch_names_use_the_patch_context(waste: LdContext, core: LdContext) -> None:
    sub = parse_subscription(payload(), waste, now=NOW)
    patched = merge_subscription_patch(sub, {"watchedAttributes": ["fillingLevel"]}, core, now=NOW)
    assert patched.watched_attributes == (V + "fillingLevel",)
    assert patched.entities == sub.entities


def test_patch_to_periodic(waste: LdContext) -> None:
    sub = parse_subscription(payload(), waste, now=NOW)
    patched = merge_subscription_patch(
        sub, {"watchedAttributes": None, "timeInterval": 60}, waste, now=NOW
    )
    assert patched.is_periodic
    assert patched.watched_attributes is None


@pytest.mark.parametrize(
    ("patch", "error", "message"),
    [
        ({"timeInterval": 60}, BadRequestData, "timeInterval and watchedAttributes"),
        ({"id": "urn:other"}, BadRequestData, "is not the subscription's id"),
        ({"type": "Entity"}, BadRequestData, "type must be"),
        ({}, BadRequestData, "changes nothing"),
        ({"notification": None}, BadRequestData, "notification cannot be removed"),
        ({"expiresAt": "2020-01-01T00:00:00Z"}, BadRequestData, "not in the future"),
        ({"notification": {"endpoint": {"uri": "gopher://x"}}}, BadRequestData, "scheme"),
        ({"entities": None, "watchedAttributes": None}, BadRequestData, "needs 'entities'"),
        ([], InvalidRequest, "JSON object"),
    ],
)
def test_bad_patches(patch: Any, error: type[CetateError], message: str, waste: LdContext) -> None:
    sub = parse_subscription(payload(), waste, now=NOW)
    with pytest.raises(error) as info:
        merge_subscription_patch(sub, patch, waste, now=NOW)
    assert message in info.value.detail


def test_patch_does_not_recheck_an_unchanged_expiry(waste: LdContext) -> None:
    sub = parse_subscription(payload(expiresAt="2026-12-01T00:00:00Z"), waste, now=NOW)
    later = NOW + timedelta(days=60)
    patched = merge_subscription_patch(sub, {"isActive": False}, waste, now=later)
    assert patched.expires_at == sub.expires_at
