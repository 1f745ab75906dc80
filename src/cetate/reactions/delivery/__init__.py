"""Delivery: sending notifications, emails and webhooks out, one attempt per call.

Every sender returns a :class:`DeliveryOutcome` (``ok``, ``retryable`` or ``permanent``, with a
reason, the receiver's status code, the duration and any ``Retry-After``) and never raises for
network or receiver failures, so an outbox worker can call it in a loop and keep the outcome:

* :class:`HttpSender` (``http.py``) — NGSI-LD notifications to HTTP(S) endpoints, pooled.
* :class:`MqttSender` (``mqtt.py``) — NGSI-LD notifications to ``mqtt(s)://`` endpoints.
* :class:`EmailSender` (``email.py``) — SMTP; :func:`alert_email` and :func:`render_notice`
  build Romanian and English messages, :func:`build_message` the MIME message.
* :class:`WebhookSender` (``webhook.py``) — signed JSON webhooks for rule actions.

:func:`retry_delay` combines the backoff schedule with the receiver's ``Retry-After``.
"""

from cetate.reactions.delivery.email import (
    EmailContent,
    EmailSender,
    EmailSettings,
    alert_email,
    build_message,
    render_notice,
)
from cetate.reactions.delivery.http import HttpSender
from cetate.reactions.delivery.mqtt import MqttSender, MqttTarget, mqtt_payload
from cetate.reactions.delivery.outcome import DeliveryOutcome, parse_retry_after, retry_delay
from cetate.reactions.delivery.webhook import (
    Webhook,
    WebhookSender,
    new_secret,
    signature,
    verify_signature,
)

__all__ = [
    "DeliveryOutcome",
    "EmailContent",
    "EmailSender",
    "EmailSettings",
    "HttpSender",
    "MqttSender",
    "MqttTarget",
    "Webhook",
    "WebhookSender",
    "alert_email",
    "build_message",
    "mqtt_payload",
    "new_secret",
    "parse_retry_after",
    "render_notice",
    "retry_delay",
    "signature",
    "verify_signature",
]
