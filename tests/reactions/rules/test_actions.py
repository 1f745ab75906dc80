"""Actions of opened alerts, delivered to real receivers: an aiosmtpd SMTP server and a local
HTTP server; queued in the transaction that creates the alert, retried on failure."""

from __future__ import annotations

import asyncio
import email
import json
from datetime import timedelta
from email.message import Message
from typing import Any

from cetate.config import Settings
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.delivery.webhook import DELIVERY_HEADER, verify_signature
from cetate.reactions.rules.actions import SECRET_SETTING, ActionDeliverer
from cetate.reactions.rules.observer import ACTIONS
from cetate.store.base import ContextStore
from tests.reactions.delivery.receivers import Reply, running_http_receiver, running_smtp_receiver
from tests.reactions.rules.conftest import at
from tests.reactions.rules.support import TENANT, Runtime, runtime, sustained_rule

BIN = "urn:ngsi-ld:WasteContainer:cluj:0007"


def _open_alert(rt: Runtime, actions: dict[str, Any]) -> str:
    rt.rules.put(TENANT, sustained_rule(actions=actions))
    rt.create(BIN, "WasteContainer", fillingLevel={"value": 0.9, "observedAt": at(0).isoformat()})
    rt.report(BIN, at(11), fillingLevel=0.95)
    rt.engine.drain()
    [alert] = rt.alerts.list(TENANT)
    return str(alert["id"])


def _deliverer(rt: Runtime, settings: Settings | None = None) -> ActionDeliverer:
    return ActionDeliverer(rt.store, rt.alerts, settings or Settings(database_url="sqlite://"))


def test_email_reaches_a_real_smtp_server(store: ContextStore) -> None:
    rt = runtime(store)
    alert_id = _open_alert(rt, {"email": {"to": ["dispecerat@primaria.ro"], "language": "en"}})
    assert store.queue_length(ACTIONS) == 1
    with running_smtp_receiver() as smtp:
        settings = Settings(
            database_url="sqlite://",
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_starttls=False,
            smtp_from="Cetate <alerte@primaria.ro>",
        )
        deliverer = _deliverer(rt, settings)
        assert asyncio.run(deliverer.deliver()) == 1
        [envelope] = smtp.recorder.envelopes
    assert envelope.rcpt_tos == ["dispecerat@primaria.ro"]
    message: Message = email.message_from_bytes(envelope.original_content or b"")
    assert message["X-Cetate-Alert"] == alert_id
    assert "Container full" in str(message.get_payload(0))  # type: ignore[arg-type]
    assert deliverer.counters["email.ok.delivered"] == 1
    assert store.queue_length(ACTIONS) == 0


def test_email_disabled_is_a_permanent_failure(store: ContextStore) -> None:
    rt = runtime(store)
    _open_alert(rt, {"email": {"to": ["a@b.ro"]}})
    deliverer = _deliverer(rt)
    asyncio.run(deliverer.deliver())
    assert deliverer.counters["email.permanent.email_disabled"] == 1
    assert store.queue_length(ACTIONS) == 0


def test_webhook_signed_and_retried(store: ContextStore) -> None:
    rt = runtime(store)
    with running_http_receiver() as receiver:
        receiver.answer(Reply(status=503))
        alert_id = _open_alert(
            rt, {"webhook": {"url": receiver.url("/hook"), "headers": {"X-Api-Key": "k1"}}}
        )
        deliverer = _deliverer(rt)
        asyncio.run(deliverer.deliver())
        assert deliverer.counters["webhook.retryable.http_status"] == 1
        assert store.queue_length(ACTIONS) == 1  # back in the queue, due later
        # make it due now and try again: delivered
        store.retry(_pending_id(store), due_at=at(0), error="test: due now")
        asyncio.run(deliverer.deliver())
        assert deliverer.counters["webhook.ok.delivered"] == 1
        first, second = receiver.requests
    assert second.path == "/hook"
    assert second.headers["x-api-key"] == "k1"
    body = json.loads(second.body)
    assert body["id"] == alert_id
    assert body["status"]["value"] == "open"
    secret = store.get_setting(SECRET_SETTING)
    assert secret is not None
    assert first.headers[DELIVERY_HEADER.lower()] == second.headers[DELIVERY_HEADER.lower()]
    assert verify_signature(secret, second.body, second.headers)
    assert store.queue_length(ACTIONS) == 0


def _pending_id(store: ContextStore) -> int:
    """The id of the one queued action (claimed far in the future, then released)."""
    [item] = store.claim(
        ACTIONS,
        worker="peek",
        limit=1,
        lease=timedelta(seconds=1),
        now=utc_now() + timedelta(days=1),
    )
    return item.id
