"""A real notification request, built the way the subscription code builds it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import EntityDoc
from cetate.reactions.subscriptions.model import Subscription, parse_subscription
from cetate.reactions.subscriptions.notification import (
    NotificationRequest,
    build_notification,
    build_request,
)
from tests.reactions.subscriptions.support import NOW, WASTE_URL, WM, payload

T = TypeVar("T")
ENTITY_ID = "urn:ngsi-ld:WasteContainer:cluj:0001"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def subscription(uri: str, **endpoint: Any) -> Subscription:
    notification = {"endpoint": {"uri": uri, **endpoint}}
    return parse_subscription(
        payload(notification=notification), ContextResolver().resolve(WASTE_URL), now=NOW
    )


def bin_doc(fill: float = 0.9) -> EntityDoc:
    return {
        "id": ENTITY_ID,
        "type": [WM + "WasteContainer"],
        WM + "fillingLevel": [{"type": "Property", "value": fill, "unitCode": "P1"}],
        WM + "description": [{"type": "Property", "value": "Piața Unirii, lângă fântână"}],
    }


def notification_request(
    uri: str, *, tenant: str | None = "cluj", **endpoint: Any
) -> tuple[NotificationRequest, Subscription]:
    sub = subscription(uri, **endpoint)
    body = build_notification(sub, [bin_doc()], now=NOW, trigger_reason="attributeUpdated")
    return build_request(sub, body, tenant=tenant), sub
