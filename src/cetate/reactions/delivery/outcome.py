"""What one delivery attempt gave: :class:`DeliveryOutcome`, and the delay before the next.

Every sender in this package makes exactly one attempt per call and returns an outcome; none
raises for a network, protocol or receiver failure. The outbox worker stores the outcome
(``lastSuccess`` / ``lastFailure`` with its reason) and asks :func:`retry_delay` when to try
again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final, Literal

from cetate.reactions.subscriptions.notification import backoff_schedule

OutcomeKind = Literal["ok", "retryable", "permanent"]

RETRY_AFTER_CAP: Final = timedelta(hours=1)
"""A receiver's ``Retry-After`` is honoured up to this long (a receiver asking for a week is
retried after an hour, and counts towards the attempts as usual)."""


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """The result of one attempt.

    * ``kind``: ``ok``; ``retryable`` (try again later: timeouts, refused connections, 408,
      429, 5xx, SMTP 4xx …); ``permanent`` (retrying the same thing cannot succeed: other
      4xx, bad endpoint, refused credentials, SMTP 5xx …).
    * ``reason``: a short stable code for counting and tests (``timeout``,
      ``connection_refused``, ``http_status``, ``redirect_refused`` … see each sender);
      ``detail``: one human sentence, safe to show an operator (no secrets).
    * ``status_code``: the HTTP status or SMTP reply code when the receiver answered;
      ``None`` for MQTT and for failures before an answer.
    * ``duration``: seconds the attempt took (monotonic clock).
    * ``retry_after``: the receiver's ``Retry-After`` (HTTP 429 and 503), already capped at
      :data:`RETRY_AFTER_CAP`.
    """

    kind: OutcomeKind
    reason: str
    detail: str = ""
    status_code: int | None = None
    duration: float = 0.0
    retry_after: timedelta | None = None

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    @property
    def retryable(self) -> bool:
        return self.kind == "retryable"

    @property
    def permanent(self) -> bool:
        return self.kind == "permanent"

    @classmethod
    def success(
        cls, *, status_code: int | None = None, duration: float = 0.0, detail: str = ""
    ) -> DeliveryOutcome:
        return cls("ok", "delivered", detail, status_code, duration)


def retry_delay(outcome: DeliveryOutcome, attempt: int) -> timedelta:
    """The delay before retry number ``attempt`` (1 for the first) after ``outcome``: the
    backoff schedule, or the receiver's ``Retry-After`` when that is longer."""
    delay = backoff_schedule(attempt)
    if outcome.retry_after is not None and outcome.retry_after > delay:
        return outcome.retry_after
    return delay


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> timedelta | None:
    """An HTTP ``Retry-After`` value (delay-seconds or an HTTP-date, RFC 9110 §10.2.3) as a
    delay from ``now``, at least zero and at most :data:`RETRY_AFTER_CAP`; ``None`` when
    absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        seconds = float(min(int(text), int(RETRY_AFTER_CAP.total_seconds())))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return timedelta(seconds=min(max(seconds, 0.0), RETRY_AFTER_CAP.total_seconds()))
