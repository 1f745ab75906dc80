"""``q`` on typed DateTime, Date and Time property values through the HTTP API, on both
backends: queries, errors for malformed literals, and a subscription whose ``q`` compares a
DateTime (matched by the pure evaluation, delivered to a real HTTP receiver)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, Final

import pytest
from fastapi.testclient import TestClient

from cetate.config import Settings
from cetate.store.base import ContextStore
from tests.reactions.delivery.receivers import HttpReceiver, running_http_receiver

ENTITIES: Final = "/ngsi-ld/v1/entities"
SUBS: Final = "/ngsi-ld/v1/subscriptions"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, open_access=True, notification_poll_interval=0.02)


def typed(text: str, type_name: str = "DateTime") -> dict[str, Any]:
    return {"type": "Property", "value": {"@type": type_name, "@value": text}}


def event(number: int, **attrs: Any) -> dict[str, Any]:
    return {"id": f"urn:ngsi-ld:Event:{number}", "type": "Event", **attrs}


@pytest.fixture
def events(client: TestClient) -> TestClient:
    docs = [
        event(1, dateIssued=typed("2024-01-01T00:00:00Z"), day=typed("2025-05-01", "Date")),
        event(2, dateIssued=typed("2026-01-01T00:00:00Z"), day=typed("2025-06-01", "Date")),
        event(3, dateIssued=typed("2025-06-01T03:00:00+03:00")),
        event(4, dateIssued={"type": "Property", "value": "2020-01-01T00:00:00.000Z"}),
        event(5, dateIssued=typed("08:00:00", "Time")),
    ]
    for doc in docs:
        response = client.post(ENTITIES, json=doc)
        assert response.status_code == 201, response.text
    return client


def matches(client: TestClient, q: str) -> list[int]:
    response = client.get(ENTITIES, params={"type": "Event", "q": q, "count": "true"})
    assert response.status_code == 200, response.text
    found = [int(e["id"].rsplit(":", 1)[1]) for e in response.json()]
    assert response.headers["NGSILD-Results-Count"] == str(len(found))
    return found


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("dateIssued>2025-01-01T00:00:00Z", [2, 3]),
        ('dateIssued>"2025-01-01T00:00:00Z"', [2, 3]),
        ("dateIssued>=2025-06-01T00:00:00Z", [2, 3]),
        ("dateIssued<2025-06-01T00:00:00Z", [1, 4]),
        ("dateIssued<=2025-06-01T00:00:00Z", [1, 3, 4]),
        ("dateIssued==2026-01-01T00:00:00Z", [2]),
        ("dateIssued==2025-06-01T02:00:00+02:00", [3]),
        ("dateIssued!=2026-01-01T00:00:00Z", [1, 3, 4]),
        ("dateIssued==2024-01-01T00:00:00Z..2025-06-01T00:00:00Z", [1, 3]),
        ("dateIssued!=2024-01-01T00:00:00Z..2025-06-01T00:00:00Z", [2, 4]),
        ("dateIssued==2024-01-01T00:00:00Z,2026-01-01T00:00:00Z", [1, 2]),
        ('dateIssued=="2020-01-01T00:00:00.000Z"', [4]),
        ("dateIssued<09:00", [5]),
        ("day>2025-05-15", [2]),
        ("day==2025-05-01..2025-05-31", [1]),
        ("dateIssued>2025-01-01T00:00:00Z;day<2025-06-01", []),
        ("dateIssued>2025-01-01T00:00:00Z|day<2025-06-01", [1, 2, 3]),
    ],
)
def test_q_compares_typed_values_by_their_order(
    events: TestClient, q: str, expected: list[int]
) -> None:
    assert matches(events, q) == expected


@pytest.mark.parametrize(
    ("q", "word", "kind"),
    [
        ("dateIssued>2025-13-01T00:00:00Z", "2025-13-01T00:00:00Z", "date-time"),
        ("dateIssued>2025-01-01T25:00:00Z", "2025-01-01T25:00:00Z", "date-time"),
        (
            "dateIssued==2025-01-01T00:00:00Z..2025-02-30T00:00:00Z",
            "2025-02-30T00:00:00Z",
            "date-time",
        ),
        ("day==2025-02-30", "2025-02-30", "date"),
        ("dateIssued<24:30", "24:30", "time"),
    ],
)
def test_malformed_temporal_literal_is_400(
    events: TestClient, q: str, word: str, kind: str
) -> None:
    response = events.get(ENTITIES, params={"type": "Event", "q": q})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest"
    assert f"{word!r} is not a valid {kind}" in problem["detail"]
    assert f"position {q.index(word) + 1}" in problem["detail"]


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with running_http_receiver() as r:
        yield r


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_subscription_q_on_a_datetime(client: TestClient, receiver: HttpReceiver) -> None:
    subscription = {
        "id": "urn:ngsi-ld:Subscription:recent",
        "type": "Subscription",
        "entities": [{"type": "Event"}],
        "q": "dateIssued>=2025-06-01T02:00:00+02:00",
        "notification": {"endpoint": {"uri": receiver.url()}, "format": "keyValues"},
    }
    assert client.post(SUBS, json=subscription).status_code == 201
    for number, moment in ((1, "2025-05-31T23:59:59Z"), (2, "2025-06-01T00:00:00Z")):
        response = client.post(ENTITIES, json=event(number, dateIssued=typed(moment)))
        assert response.status_code == 201, response.text
    wait_until(lambda: len(receiver.requests) == 1)
    store: ContextStore = client.app.state.store  # type: ignore[attr-defined]
    wait_until(lambda: store.queue_length("notifications") == 0)
    assert len(receiver.requests) == 1
    notified = json.loads(receiver.requests[0].body)["data"]
    assert [e["id"] for e in notified] == ["urn:ngsi-ld:Event:2"]
