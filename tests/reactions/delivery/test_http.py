"""HTTP delivery against a real HTTP server on loopback: every outcome kind."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cetate.reactions.delivery.http import USER_AGENT, HttpSender, redirect_allowed
from cetate.reactions.delivery.outcome import DeliveryOutcome, retry_delay
from cetate.reactions.subscriptions.notification import NotificationRequest
from tests.reactions.delivery.receivers import HttpReceiver, Reply, closed_port
from tests.reactions.delivery.support import notification_request, run


async def send_one(request: NotificationRequest, **options: object) -> DeliveryOutcome:
    async with HttpSender(**options) as sender:  # type: ignore[arg-type]
        return await sender.send(request)


def test_delivered_with_body_and_headers(receiver: HttpReceiver) -> None:
    request, _ = notification_request(
        receiver.url("/ngsi/notify?x=1"), receiverInfo=[{"key": "X-Api-Key", "value": "k1"}]
    )
    outcome = run(send_one(request))
    assert outcome.ok, outcome
    assert (outcome.kind, outcome.reason, outcome.status_code) == ("ok", "delivered", 204)
    assert outcome.duration > 0
    (got,) = receiver.requests
    assert got.method == "POST"
    assert got.path == "/ngsi/notify?x=1"
    assert json.loads(got.body) == request.body
    assert "Piața Unirii, lângă fântână" in got.body.decode("utf-8")  # UTF-8, not escaped
    assert got.headers["content-type"] == "application/json"
    assert got.headers["link"] == request.headers["Link"]
    assert got.headers["ngsild-tenant"] == "cluj"
    assert got.headers["x-api-key"] == "k1"
    assert got.headers["user-agent"] == USER_AGENT
    assert got.headers["content-length"] == str(len(request.content()))


def test_connections_are_pooled(receiver: HttpReceiver) -> None:
    request, _ = notification_request(receiver.url())

    async def twice() -> list[DeliveryOutcome]:
        async with HttpSender() as sender:
            return [await sender.send(request), await sender.send(request)]

    outcomes = run(twice())
    assert all(o.ok for o in outcomes)
    first, second = receiver.requests
    assert first.client_port == second.client_port  # the same keep-alive connection


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_every_2xx_is_ok(receiver: HttpReceiver, status: int) -> None:
    receiver.answer(Reply(status, body=b'{"fine": true}'))
    outcome = run(send_one(notification_request(receiver.url())[0]))
    assert (outcome.kind, outcome.status_code) == ("ok", status)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(receiver: HttpReceiver, status: int) -> None:
    receiver.answer(Reply(status, body=b"receiver overloaded\nplease wait"))
    outcome = run(send_one(notification_request(receiver.url())[0]))
    assert (outcome.kind, outcome.reason, outcome.status_code) == (
        "retryable",
        "http_status",
        status,
    )
    assert outcome.detail == (
        f"HTTP {status} from 127.0.0.1:{receiver.port}: receiver overloaded please wait"
    )
    assert outcome.retry_after is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 410, 413, 415, 422])
def test_permanent_statuses(receiver: HttpReceiver, status: int) -> None:
    receiver.answer(Reply(status))
    outcome = run(send_one(notification_request(receiver.url())[0]))
    assert (outcome.kind, outcome.reason, outcome.status_code) == (
        "permanent",
        "http_status",
        status,
    )


def test_retry_after_seconds_on_503(receiver: HttpReceiver) -> None:
    receiver.answer(Reply(503, headers={"Retry-After": "120"}))
    outcome = run(send_one(notification_request(receiver.url())[0]))
    assert outcome.retryable
    assert outcome.retry_after == timedelta(seconds=120)
    assert retry_delay(outcome, 1) == timedelta(seconds=120)  # longer than the ~2 s backoff
    assert retry_delay(outcome, 12) == timedelta(minutes=10)  # the backoff is longer now


def test_retry_after_http_date_on_429(receiver: HttpReceiver) -> None:
    now = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
    receiver.answer(Reply(429, headers={"Retry-After": "Mon, 23 Nov 2026 10:05:00 GMT"}))
    outcome = run(send_one(notification_request(receiver.url())[0], now=lambda: now))
    assert (outcome.kind, outcome.status_code) == ("retryable", 429)
    assert outcome.retry_after == timedelta(minutes=5)


def test_retry_after_is_capped_and_ignored_elsewhere(receiver: HttpReceiver) -> None:
    receiver.answer(
        Reply(429, headers={"Retry-After": "99999999"}),
        Reply(500, headers={"Retry-After": "60"}),
    )
    request = notification_request(receiver.url())[0]
    capped = run(send_one(request))
    assert capped.retry_after == timedelta(hours=1)
    assert run(send_one(request)).retry_after is None  # only 429 and 503 carry it


def test_timeout_when_the_receiver_hangs(receiver: HttpReceiver) -> None:
    receiver.answer(Reply(hang=True))
    outcome = run(send_one(notification_request(receiver.url())[0], timeout=0.3))
    assert (outcome.kind, outcome.reason, outcome.status_code) == ("retryable", "timeout", None)
    assert "ReadTimeout" in outcome.detail
    assert len(receiver.requests) == 1


def test_total_timeout_bounds_the_attempt(receiver: HttpReceiver) -> None:
    receiver.answer(Reply(hang=True))
    outcome = run(send_one(notification_request(receiver.url())[0], total_timeout=0.3))
    assert (outcome.kind, outcome.reason) == ("retryable", "timeout")
    assert "0.3 s" in outcome.detail
    assert outcome.duration < 5


def test_connection_refused() -> None:
    port = closed_port()
    outcome = run(send_one(notification_request(f"http://127.0.0.1:{port}/n")[0]))
    assert (outcome.kind, outcome.reason, outcome.status_code) == (
        "retryable",
        "connection_refused",
        None,
    )
    assert f"127.0.0.1:{port}" in outcome.detail


def test_connection_dropped_without_answer(receiver: HttpReceiver) -> None:
    receiver.answer(Reply(drop=True))
    outcome = run(send_one(notification_request(receiver.url())[0]))
    assert (outcome.kind, outcome.reason) == ("retryable", "network_error")


def test_redirect_within_the_receiver_is_followed(receiver: HttpReceiver) -> None:
    receiver.answer(Reply(307, headers={"Location": "/moved"}), Reply(200))
    request = notification_request(receiver.url("/old"))[0]
    outcome = run(send_one(request))
    assert (outcome.kind, outcome.status_code) == ("ok", 200)
    first, second = receiver.requests
    assert (first.path, second.path) == ("/old", "/moved")
    assert second.method == "POST"
    assert second.body == first.body == request.content()
    assert second.headers["ngsild-tenant"] == "cluj"


def test_redirect_to_another_receiver_is_refused(
    receiver: HttpReceiver, other_receiver: HttpReceiver
) -> None:
    receiver.answer(Reply(308, headers={"Location": other_receiver.url("/steal")}))
    outcome = run(send_one(notification_request(receiver.url())[0]))
    assert (outcome.kind, outcome.reason, outcome.status_code) == (
        "permanent",
        "redirect_refused",
        308,
    )
    assert other_receiver.requests == []


def test_redirect_loop_gives_up(receiver: HttpReceiver) -> None:
    receiver.answer(*[Reply(302, headers={"Location": "/again"})] * 10)
    outcome = run(send_one(notification_request(receiver.url())[0], max_redirects=2))
    assert (outcome.kind, outcome.reason) == ("permanent", "redirect_refused")
    assert len(receiver.requests) == 3


def test_303_is_not_followed(receiver: HttpReceiver) -> None:
    receiver.answer(Reply(303, headers={"Location": "/result"}))
    outcome = run(send_one(notification_request(receiver.url())[0]))
    assert (outcome.kind, outcome.reason, outcome.status_code) == (
        "permanent",
        "redirect_refused",
        303,
    )
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("origin", "target", "allowed"),
    [
        ("http://a.example/x", "http://a.example/y", True),
        ("http://a.example/x", "http://A.EXAMPLE:80/y", True),
        ("http://a.example/x", "https://a.example/y", True),
        ("https://a.example/x", "http://a.example/y", False),
        ("http://a.example/x", "http://a.example:8080/y", False),
        ("http://a.example/x", "http://b.example/y", False),
        ("http://a.example/x", "http://a.example.evil/y", False),
    ],
)
def test_redirect_rule(origin: str, target: str, allowed: bool) -> None:
    assert redirect_allowed(httpx.URL(origin), httpx.URL(target)) is allowed


@pytest.mark.parametrize("uri", ["ftp://127.0.0.1/x", "http:///nohost", "http://[::1/x"])
def test_invalid_endpoint_is_permanent(uri: str) -> None:
    request = NotificationRequest(uri=uri, headers={"Content-Type": "application/json"}, body={})
    outcome = run(send_one(request))
    assert (outcome.kind, outcome.reason) == ("permanent", "invalid_endpoint")
