"""Signed JSON webhooks for rule actions.

A webhook is a URL and a secret shared with the receiver. Each attempt POSTs the payload as
UTF-8 JSON with::

    Content-Type: application/json
    X-Cetate-Delivery: <delivery id>     the same on every retry of one delivery
    X-Cetate-Timestamp: <unix seconds>   when this attempt was signed
    X-Cetate-Signature: sha256=<hex>     HMAC-SHA256(secret, "<timestamp>.<delivery id>.<body>")

The receiver recomputes the signature over the raw body bytes (:func:`verify_signature`),
refuses timestamps older or newer than five minutes (so a captured request cannot be
replayed later), and ignores a delivery id it has already processed (a retry after a lost
answer). The recipe, with a shell example, is in docs/rules.md ("Delivery").

Outcomes are those of :class:`~cetate.reactions.delivery.http.HttpSender` (one attempt per
call, never raising for network or receiver failures).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cetate.reactions.delivery.http import HttpSender
from cetate.reactions.delivery.outcome import DeliveryOutcome

SIGNATURE_HEADER: Final = "X-Cetate-Signature"
TIMESTAMP_HEADER: Final = "X-Cetate-Timestamp"
DELIVERY_HEADER: Final = "X-Cetate-Delivery"
SIGNATURE_SCHEME: Final = "sha256"
DEFAULT_TOLERANCE: Final = 300
"""Seconds a receiver accepts between the timestamp and its own clock, either way."""
MIN_SECRET_LENGTH: Final = 16

_RESERVED: Final = frozenset(
    name.lower()
    for name in (
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
        DELIVERY_HEADER,
        "content-type",
        "content-length",
        "host",
        "transfer-encoding",
        "connection",
    )
)
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}")
_HEADER_VALUE: Final = re.compile(r"[\x20-\x7e\t]{0,8192}")
_DELIVERY_ID: Final = re.compile(r"[A-Za-z0-9._:\-]{1,200}")


def new_secret() -> str:
    """A fresh random webhook secret (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def signature(secret: str | bytes, timestamp: int, delivery_id: str, body: bytes) -> str:
    """The ``X-Cetate-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of
    ``<timestamp>.<delivery id>.<body>`` with ``secret``."""
    message = f"{timestamp}.{delivery_id}.".encode() + body
    digest = hmac.new(_key(secret), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_SCHEME}={digest}"


def verify_signature(
    secret: str | bytes,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """What a receiver does: True when ``headers`` (any capitalisation) carry a valid
    signature of ``body`` made with ``secret`` within ``tolerance`` seconds of ``now``."""
    lowered = {name.lower(): value for name, value in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    delivery_id = lowered.get(DELIVERY_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not stamp.isdigit() or not delivery_id or not given:
        return False
    timestamp = int(stamp)
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, delivery_id, body)
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def webhook_body(payload: Mapping[str, Any]) -> bytes:
    """The payload as compact UTF-8 JSON (what is sent and signed)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Webhook:
    """A receiver: ``url`` (http or https), its ``secret`` (at least 16 characters; see
    :func:`new_secret`) and extra ``headers`` (an API key of the receiver, say), which may
    not replace the ones Cetate sets. Invalid values are a ValueError."""

    url: str
    secret: str = field(repr=False)
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.url.lower().startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must be http(s), got {self.url[:100]!r}")
        if len(self.secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"webhook secret must have at least {MIN_SECRET_LENGTH} characters "
                "(new_secret() makes one)"
            )
        for name, value in self.headers:
            if not _HEADER_NAME.fullmatch(name) or not _HEADER_VALUE.fullmatch(value):
                raise ValueError(f"invalid webhook header {name!r}")
            if name.lower() in _RESERVED:
                raise ValueError(f"webhook header {name!r} is set by Cetate and cannot be set")

    @classmethod
    def of(
        cls, url: str, secret: str, headers: Mapping[str, str] | Iterable[tuple[str, str]] = ()
    ) -> Webhook:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        return cls(url, secret, tuple(pairs))


def new_delivery_id() -> str:
    return str(uuid.uuid4())


class WebhookSender:
    """Signs and POSTs webhook payloads through a (shared) :class:`HttpSender`."""

    def __init__(self, http: HttpSender, *, clock: Callable[[], float] = time.time) -> None:
        self._http = http
        self._clock = clock

    def request_headers(self, webhook: Webhook, body: bytes, delivery_id: str) -> dict[str, str]:
        """The headers of one attempt (signed now)."""
        if not _DELIVERY_ID.fullmatch(delivery_id):
            raise ValueError(f"invalid delivery id {delivery_id[:100]!r}")
        timestamp = int(self._clock())
        headers = dict(webhook.headers)
        headers["Content-Type"] = "application/json"
        headers[DELIVERY_HEADER] = delivery_id
        headers[TIMESTAMP_HEADER] = str(timestamp)
        headers[SIGNATURE_HEADER] = signature(webhook.secret, timestamp, delivery_id, body)
        return headers

    async def send(
        self,
        webhook: Webhook,
        payload: Mapping[str, Any],
        *,
        delivery_id: str | None = None,
    ) -> DeliveryOutcome:
        """One attempt to deliver ``payload``. Pass the same ``delivery_id`` (kept in the
        outbox) on every retry so the receiver can drop duplicates; a new one is made when
        it is omitted."""
        body = webhook_body(payload)
        headers = self.request_headers(webhook, body, delivery_id or new_delivery_id())
        return await self._http.post(webhook.url, body, headers)
