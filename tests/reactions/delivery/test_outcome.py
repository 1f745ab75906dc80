"""Outcomes, Retry-After parsing and the retry delay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cetate.reactions.delivery.outcome import (
    RETRY_AFTER_CAP,
    DeliveryOutcome,
    parse_retry_after,
    retry_delay,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", timedelta(0)),
        ("30", timedelta(seconds=30)),
        (" 7 ", timedelta(seconds=7)),
        ("Mon, 23 Nov 2026 10:02:00 GMT", timedelta(minutes=2)),
        ("Mon, 23 Nov 2026 09:00:00 GMT", timedelta(0)),  # in the past: now
        ("9" * 400, RETRY_AFTER_CAP),
        ("Tue, 24 Nov 2026 10:00:00 GMT", RETRY_AFTER_CAP),
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_kinds() -> None:
    ok = DeliveryOutcome.success(status_code=204, duration=0.1)
    assert (ok.ok, ok.retryable, ok.permanent, ok.reason) == (True, False, False, "delivered")
    retry = DeliveryOutcome("retryable", "timeout")
    assert (retry.ok, retry.retryable, retry.permanent) == (False, True, False)
    assert DeliveryOutcome("permanent", "http_status", status_code=404).permanent


def test_retry_delay_uses_the_longer_of_backoff_and_retry_after() -> None:
    plain = DeliveryOutcome("retryable", "http_status", status_code=500)
    assert timedelta(seconds=1.6) <= retry_delay(plain, 1) <= timedelta(seconds=2.4)
    short = DeliveryOutcome("retryable", "http_status", retry_after=timedelta(seconds=1))
    assert retry_delay(short, 3) >= timedelta(seconds=6.4)
    long = DeliveryOutcome("retryable", "http_status", retry_after=timedelta(minutes=30))
    assert retry_delay(long, 1) == timedelta(minutes=30)
