"""Signed webhooks against a real HTTP receiver, and the receiver's verification recipe."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

import pytest

from cetate.reactions.delivery.http import HttpSender
from cetate.reactions.delivery.outcome import DeliveryOutcome
from cetate.reactions.delivery.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Webhook,
    WebhookSender,
    new_secret,
    signature,
    verify_signature,
)
from tests.reactions.delivery.receivers import HttpReceiver, Reply, closed_port
from tests.reactions.delivery.support import run

SECRET = "s3cret-for-the-primăria-hook"
PAYLOAD = {
    "event": "alertOpened",
    "alert": {"id": "urn:ngsi-ld:Alert:cetate:1", "description": "Container plin în Mănăștur"},
}
T = 1_795_000_000


async def deliver(
    webhook: Webhook, *payloads: Mapping[str, object], delivery_id: str | None = None, now: int = T
) -> list[DeliveryOutcome]:
    async with HttpSender(timeout=2.0) as http:
        sender = WebhookSender(http, clock=lambda: now)
        return [await sender.send(webhook, p, delivery_id=delivery_id) for p in payloads]


def test_signed_post_verifies_with_the_documented_recipe(receiver: HttpReceiver) -> None:
    hook = Webhook.of(receiver.url("/hooks/cetate"), SECRET, {"X-Receiver-Key": "abc"})
    (outcome,) = run(deliver(hook, PAYLOAD, delivery_id="d-1"))
    assert (outcome.kind, outcome.status_code) == ("ok", 204)
    (got,) = receiver.requests
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-receiver-key"] == "abc"
    assert got.headers["x-cetate-delivery"] == "d-1"
    assert got.headers["x-cetate-timestamp"] == str(T)
    assert json.loads(got.body) == PAYLOAD
    assert "Mănăștur".encode() in got.body
    # The recipe of docs/rules.md, written out independently of the library:
    signed = f"{T}.d-1.".encode() + got.body
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, got.headers["x-cetate-signature"])
    assert verify_signature(SECRET, got.body, got.headers, now=T + 10)


def test_verification_refuses_tampering_old_requests_and_wrong_secrets(
    receiver: HttpReceiver,
) -> None:
    run(deliver(Webhook.of(receiver.url(), SECRET), PAYLOAD, delivery_id="d-2"))
    (got,) = receiver.requests
    assert verify_signature(SECRET, got.body, got.headers, now=T)
    assert not verify_signature(SECRET, got.body.replace(b"plin", b"gol"), got.headers, now=T)
    assert not verify_signature("another-secret-entirely", got.body, got.headers, now=T)
    assert not verify_signature(SECRET, got.body, got.headers, now=T + 301)  # replayed later
    assert not verify_signature(SECRET, got.body, got.headers, now=T - 301)
    swapped = {**got.headers, "x-cetate-delivery": "d-3"}  # the id is signed too
    assert not verify_signature(SECRET, got.body, swapped, now=T)
    missing = {k: v for k, v in got.headers.items() if k != "x-cetate-timestamp"}
    assert not verify_signature(SECRET, got.body, missing, now=T)


def test_retries_keep_the_delivery_id_and_sign_again(receiver: HttpReceiver) -> None:
    receiver.answer(Reply(503), Reply(200))
    hook = Webhook.of(receiver.url(), SECRET)
    first = run(deliver(hook, PAYLOAD, delivery_id="d-9", now=T))[0]
    second = run(deliver(hook, PAYLOAD, delivery_id="d-9", now=T + 4))[0]
    assert (first.kind, first.status_code) == ("retryable", 503)
    assert (second.kind, second.status_code) == ("ok", 200)
    a, b = receiver.requests
    assert a.headers["x-cetate-delivery"] == b.headers["x-cetate-delivery"] == "d-9"
    assert (a.headers["x-cetate-timestamp"], b.headers["x-cetate-timestamp"]) == (
        str(T),
        str(T + 4),
    )
    assert a.headers["x-cetate-signature"] != b.headers["x-cetate-signature"]
    assert verify_signature(SECRET, b.body, b.headers, now=T + 5)


def test_generated_delivery_ids_differ(receiver: HttpReceiver) -> None:
    run(deliver(Webhook.of(receiver.url(), SECRET), PAYLOAD, PAYLOAD))
    a, b = receiver.requests
    assert a.headers["x-cetate-delivery"] != b.headers["x-cetate-delivery"]


def test_failures_are_outcomes(receiver: HttpReceiver) -> None:
    receiver.answer(Reply(410))
    (gone,) = run(deliver(Webhook.of(receiver.url(), SECRET), PAYLOAD))
    assert (gone.kind, gone.reason, gone.status_code) == ("permanent", "http_status", 410)
    (refused,) = run(deliver(Webhook.of(f"http://127.0.0.1:{closed_port()}/", SECRET), PAYLOAD))
    assert (refused.kind, refused.reason) == ("retryable", "connection_refused")


def test_signature_format() -> None:
    value = signature(b"k" * 16, 1, "id", b"{}")
    assert value.startswith("sha256=")
    assert len(value) == len("sha256=") + 64


@pytest.mark.parametrize(
    ("url", "secret", "headers", "message"),
    [
        ("ftp://x/", SECRET, {}, "http"),
        ("https://x/", "short", {}, "at least 16"),
        ("https://x/", SECRET, {SIGNATURE_HEADER: "forged"}, "set by Cetate"),
        ("https://x/", SECRET, {TIMESTAMP_HEADER.lower(): "1"}, "set by Cetate"),
        ("https://x/", SECRET, {DELIVERY_HEADER: "1"}, "set by Cetate"),
        ("https://x/", SECRET, {"Content-Type": "text/plain"}, "set by Cetate"),
        ("https://x/", SECRET, {"X-Evil": "a\r\nInjected: 1"}, "invalid webhook header"),
        ("https://x/", SECRET, {"Bad Name": "a"}, "invalid webhook header"),
    ],
)
def test_invalid_webhooks_are_refused(
    url: str, secret: str, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Webhook.of(url, secret, headers)


def test_new_secret_is_long_and_random() -> None:
    a, b = new_secret(), new_secret()
    assert a != b
    assert len(a) >= 43
    Webhook.of("https://x/", a)
