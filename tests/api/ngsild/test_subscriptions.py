"""``/ngsi-ld/v1/subscriptions`` end to end, on both backends: the routes, and notifications
reaching a real HTTP receiver on loopback through the application's own worker (started by
its lifespan) — also after the application was closed with the notification still queued."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, Final

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.config import Settings
from cetate.store.base import ContextStore
from tests.api.ngsild.helpers import LD_JSON, WASTE_CONTEXT, link
from tests.reactions.delivery.receivers import HttpReceiver, Reply, running_http_receiver

SUBS: Final = "/ngsi-ld/v1/subscriptions"
ENTITIES: Final = "/ngsi-ld/v1/entities"
ERRORS: Final = "https://uri.etsi.org/ngsi-ld/errors/"
PROBLEM: Final = "application/problem+json"
BIN: Final = "urn:ngsi-ld:WasteContainer:0001"
TENANT: Final = {"NGSILD-Tenant": "cluj"}
WASTE: Final = link(WASTE_CONTEXT)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with running_http_receiver() as r:
        yield r


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, open_access=True, notification_poll_interval=0.02)


def subscription(receiver: HttpReceiver, **changes: Any) -> dict[str, Any]:
    notification = changes.pop("notification", {})
    notification.setdefault("endpoint", {"uri": receiver.url()})
    body: dict[str, Any] = {
        "id": "urn:ngsi-ld:Subscription:bins",
        "type": "Subscription",
        "entities": [{"type": "WasteContainer"}],
        "watchedAttributes": ["fillingLevel"],
        "notification": notification,
    }
    for key, value in changes.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def waste_bin(level: float = 0.5) -> dict[str, Any]:
    return {
        "id": BIN,
        "type": "WasteContainer",
        "fillingLevel": {"type": "Property", "value": level},
        "temperature": {"type": "Property", "value": 12.0},
    }


def set_level(client: TestClient, level: float, headers: dict[str, str] = TENANT) -> None:
    response = client.patch(
        f"{ENTITIES}/{BIN}/attrs",
        json={"fillingLevel": {"type": "Property", "value": level}},
        headers={**headers, **WASTE},
    )
    assert response.status_code == 204, response.text


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def assert_problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, Any] = response.json()
    assert problem["type"] in (ERRORS + kind, kind)
    assert problem["detail"]
    return problem


def create(client: TestClient, body: dict[str, Any], headers: dict[str, str] = TENANT) -> Any:
    return client.post(SUBS, json=body, headers={**headers, **WASTE})


# -- the routes -------------------------------------------------------------------------------


def test_create_retrieve_list_patch_delete(client: TestClient, receiver: HttpReceiver) -> None:
    created = create(client, subscription(receiver, q="fillingLevel>0.8", throttling=10))
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{SUBS}/urn:ngsi-ld:Subscription:bins"
    again = create(client, subscription(receiver))
    assert_problem(again, 409, "AlreadyExists")

    got = client.get(f"{SUBS}/urn:ngsi-ld:Subscription:bins", headers={**TENANT, **WASTE})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["id"] == "urn:ngsi-ld:Subscription:bins"
    assert body["entities"] == [{"type": "WasteContainer"}]
    assert body["watchedAttributes"] == ["fillingLevel"]
    assert body["q"] == "fillingLevel>0.8"
    assert body["throttling"] == 10
    assert body["status"] == "active"
    assert body["isActive"] is True
    assert body["jsonldContext"] == WASTE_CONTEXT
    assert body["notification"]["timesSent"] == 0
    assert body["notification"]["endpoint"] == {"uri": receiver.url(), "accept": "application/json"}
    assert WASTE_CONTEXT in got.headers["link"]
    # read with the core context, names come back expanded
    core = client.get(f"{SUBS}/urn:ngsi-ld:Subscription:bins", headers=TENANT).json()
    assert core["watchedAttributes"] == [
        "https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel"
    ]
    ld = client.get(
        f"{SUBS}/urn:ngsi-ld:Subscription:bins",
        params={"options": "sysAttrs"},
        headers={**TENANT, **WASTE, "Accept": LD_JSON},
    )
    assert ld.headers["content-type"].startswith(LD_JSON)
    assert WASTE_CONTEXT in ld.json()["@context"]
    assert "createdAt" in ld.json()

    for number in range(2, 5):
        response = create(
            client, subscription(receiver, id=f"urn:ngsi-ld:Subscription:bins-{number}")
        )
        assert response.status_code == 201, response.text
    listed = client.get(SUBS, params={"limit": 2, "count": "true"}, headers=TENANT)
    assert listed.status_code == 200
    assert listed.headers["ngsild-results-count"] == "4"
    assert [s["id"] for s in listed.json()] == [
        "urn:ngsi-ld:Subscription:bins",
        "urn:ngsi-ld:Subscription:bins-2",
    ]
    assert 'rel="next"' in ",".join(listed.headers.get_list("link"))
    rest = client.get(SUBS, params={"limit": 2, "offset": 2}, headers=TENANT).json()
    assert [s["id"] for s in rest] == [
        "urn:ngsi-ld:Subscription:bins-3",
        "urn:ngsi-ld:Subscription:bins-4",
    ]
    assert client.get(SUBS).json() == []  # another tenant (the default) has none

    patched = client.patch(
        f"{SUBS}/urn:ngsi-ld:Subscription:bins",
        json={"q": "fillingLevel>0.9", "isActive": False, "throttling": None},
        headers={**TENANT, **WASTE},
    )
    assert patched.status_code == 204, patched.text
    body = client.get(f"{SUBS}/urn:ngsi-ld:Subscription:bins", headers={**TENANT, **WASTE}).json()
    assert body["q"] == "fillingLevel>0.9"
    assert body["status"] == "paused"
    assert "throttling" not in body

    assert client.delete(f"{SUBS}/urn:ngsi-ld:Subscription:bins", headers=TENANT).status_code == 204
    assert_problem(
        client.get(f"{SUBS}/urn:ngsi-ld:Subscription:bins", headers=TENANT),
        404,
        "ResourceNotFound",
    )
    assert_problem(
        client.delete(f"{SUBS}/urn:ngsi-ld:Subscription:bins", headers=TENANT),
        404,
        "ResourceNotFound",
    )
    assert_problem(
        client.patch(
            f"{SUBS}/urn:ngsi-ld:Subscription:bins", json={"isActive": True}, headers=TENANT
        ),
        404,
        "ResourceNotFound",
    )


def test_generated_id_and_ld_json_body(client: TestClient, receiver: HttpReceiver) -> None:
    body = subscription(receiver, id=...)
    body["@context"] = WASTE_CONTEXT
    response = client.post(
        SUBS, content=json.dumps(body), headers={**TENANT, "Content-Type": LD_JSON}
    )
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location.startswith(f"{SUBS}/urn:ngsi-ld:Subscription:")
    got = client.get(location, headers={**TENANT, **WASTE}).json()
    assert got["watchedAttributes"] == ["fillingLevel"]


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ([1, 2], 400, "BadRequestData"),
        ({"type": "Subscription"}, 400, "BadRequestData"),
        ({"type": "Nope", "watchedAttributes": ["a"]}, 400, "BadRequestData"),
        ("unknown-member", 400, "BadRequestData"),
        ("bad-uri", 400, "BadRequestData"),
        ("bad-q", 400, "BadRequestData"),
        ("bad-format", 400, "BadRequestData"),
        ("past-expiry", 400, "BadRequestData"),
        ("interval-and-watched", 400, "BadRequestData"),
        ("negative-throttling", 400, "BadRequestData"),
        ("csf", 422, "OperationNotSupported"),
        ("bad-id", 400, "BadRequestData"),
    ],
)
def test_bad_subscriptions_are_problem_details(
    client: TestClient, receiver: HttpReceiver, body: Any, status: int, kind: str
) -> None:
    good = subscription(receiver)
    cases: dict[str, dict[str, Any]] = {
        "unknown-member": {**good, "watchedAtributes": ["x"]},
        "bad-uri": {**good, "notification": {"endpoint": {"uri": "not a uri"}}},
        "bad-q": {**good, "q": "fillingLevel>>"},
        "bad-format": {**good, "notification": {**good["notification"], "format": "pretty"}},
        "past-expiry": {**good, "expiresAt": "2000-01-01T00:00:00Z"},
        "interval-and-watched": {**good, "timeInterval": 10},
        "negative-throttling": {**good, "throttling": -1},
        "csf": {**good, "csf": "x"},
        "bad-id": {**good, "id": "not a uri"},
    }
    payload = cases[body] if isinstance(body, str) else body
    response = create(client, payload)
    assert_problem(response, status, kind)
    assert client.get(SUBS, headers=TENANT).json() == []


def test_bad_requests_are_problem_details(client: TestClient, receiver: HttpReceiver) -> None:
    assert_problem(
        client.post(SUBS, content=b"{not json", headers={"Content-Type": "application/json"}),
        400,
        "InvalidRequest",
    )
    assert_problem(
        client.post(SUBS, content=b"{}", headers={"Content-Type": "text/plain"}),
        415,
        "urn:cetate:errors:UnsupportedMediaType",
    )
    body = subscription(receiver)
    body["@context"] = WASTE_CONTEXT
    assert_problem(client.post(SUBS, json=body), 400, "BadRequestData")  # @context in JSON
    assert_problem(client.get(f"{SUBS}/not-a-uri"), 400, "BadRequestData")
    assert_problem(client.get(SUBS, params={"limit": -1}), 400, "InvalidRequest")
    assert_problem(client.get(SUBS, params={"options": "bogus"}), 400, "InvalidRequest")
    assert create(client, subscription(receiver)).status_code == 201
    sub = f"{SUBS}/urn:ngsi-ld:Subscription:bins"
    assert_problem(client.patch(sub, json={}, headers=TENANT), 400, "BadRequestData")
    assert_problem(client.patch(sub, json=[1], headers=TENANT), 400, "BadRequestData")
    assert_problem(
        client.patch(sub, json={"timeInterval": 5}, headers={**TENANT, **WASTE}),
        400,
        "BadRequestData",
    )
    assert_problem(
        client.patch(sub, json={"notification": None}, headers=TENANT), 400, "BadRequestData"
    )
    # the failed patches changed nothing
    got = client.get(sub, headers={**TENANT, **WASTE}).json()
    assert got["watchedAttributes"] == ["fillingLevel"]
    assert "timeInterval" not in got


def test_reading_and_writing_need_a_role(database_url: str, store: ContextStore) -> None:
    from cetate.auth.tokens import issue_token
    from cetate.auth.users import ensure_tenant

    ensure_tenant(store, "cluj", "Cluj", public_types=["https://example.org/Public"])
    settings = Settings(database_url=database_url, open_access=False, secret_key="s")
    viewer = issue_token(store, "cluj", "viewer", "viewer")[1]
    operator = issue_token(store, "cluj", "operator", "operator")[1]
    with TestClient(create_app(settings, store)) as client:
        body = {
            "type": "Subscription",
            "watchedAttributes": ["a"],
            "notification": {"endpoint": {"uri": "http://127.0.0.1:9/x"}},
        }
        as_viewer = {**TENANT, "Authorization": f"Bearer {viewer}"}
        as_operator = {**TENANT, "Authorization": f"Bearer {operator}"}
        assert_problem(
            client.post(SUBS, json=body, headers=TENANT), 401, "urn:cetate:errors:Unauthenticated"
        )
        assert_problem(
            client.post(SUBS, json=body, headers=as_viewer), 403, "urn:cetate:errors:Forbidden"
        )
        created = client.post(SUBS, json=body, headers=as_operator)
        assert created.status_code == 201, created.text
        # anonymous callers do not read subscriptions, even in a tenant with public types
        assert_problem(client.get(SUBS, headers=TENANT), 401, "urn:cetate:errors:Unauthenticated")
        assert_problem(
            client.get(created.headers["location"], headers=TENANT),
            401,
            "urn:cetate:errors:Unauthenticated",
        )
        assert len(client.get(SUBS, headers=as_viewer).json()) == 1
        assert_problem(
            client.delete(created.headers["location"], headers=as_viewer),
            403,
            "urn:cetate:errors:Forbidden",
        )


# -- notifications end to end --------------------------------------------------------------------


def _notifications(receiver: HttpReceiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.requests]


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("normalized", {"type": "Property", "value": 0.9}),
        ("keyValues", 0.9),
        ("concise", 0.9),
    ],
)
def test_an_update_notifies_the_receiver(
    client: TestClient, receiver: HttpReceiver, fmt: str, expected: Any
) -> None:
    assert client.post(ENTITIES, json=waste_bin(), headers={**TENANT, **WASTE}).status_code == 201
    body = subscription(receiver, notification={"format": fmt, "attributes": ["fillingLevel"]})
    assert create(client, body).status_code == 201
    set_level(client, 0.9)
    wait_until(lambda: len(receiver.requests) == 1)
    request = receiver.requests[0]
    assert request.headers["ngsild-tenant"] == "cluj"
    assert f"<{WASTE_CONTEXT}>" in request.headers["link"]
    assert request.headers["content-type"] == "application/json"
    notification = json.loads(request.body)
    assert notification["subscriptionId"] == "urn:ngsi-ld:Subscription:bins"
    assert notification["type"] == "Notification"
    assert notification["triggerReason"] == "attributeUpdated"
    assert notification["data"] == [{"id": BIN, "type": "WasteContainer", "fillingLevel": expected}]

    def recorded() -> bool:
        sub = client.get(f"{SUBS}/urn:ngsi-ld:Subscription:bins", headers=TENANT).json()
        return bool(sub["notification"]["timesSent"] == 1)

    wait_until(recorded)
    sub = client.get(f"{SUBS}/urn:ngsi-ld:Subscription:bins", headers=TENANT).json()
    assert sub["notification"]["status"] == "ok"
    assert sub["notification"]["lastSuccess"] == sub["notification"]["lastNotification"]


def test_watched_attributes_and_q_filter_notifications(
    client: TestClient, receiver: HttpReceiver
) -> None:
    assert client.post(ENTITIES, json=waste_bin(), headers={**TENANT, **WASTE}).status_code == 201
    assert create(client, subscription(receiver, q="fillingLevel>0.8")).status_code == 201
    response = client.patch(
        f"{ENTITIES}/{BIN}/attrs",
        json={"temperature": {"type": "Property", "value": 40.0}},
        headers={**TENANT, **WASTE},
    )
    assert response.status_code == 204
    set_level(client, 0.6)  # watched, but q does not hold
    set_level(client, 0.85)
    set_level(client, 0.95)
    wait_until(lambda: len(receiver.requests) == 2)
    levels = [n["data"][0]["fillingLevel"]["value"] for n in _notifications(receiver)]
    assert levels == [0.85, 0.95]
    store: ContextStore = client.app.state.store  # type: ignore[attr-defined]
    wait_until(lambda: store.queue_length("notifications") == 0)
    assert len(receiver.requests) == 2


def test_throttling_through_the_api(client: TestClient, receiver: HttpReceiver) -> None:
    assert client.post(ENTITIES, json=waste_bin(), headers={**TENANT, **WASTE}).status_code == 201
    assert create(client, subscription(receiver, throttling=3600)).status_code == 201
    for level in (0.6, 0.7, 0.8):
        set_level(client, level)
    store: ContextStore = client.app.state.store  # type: ignore[attr-defined]
    wait_until(lambda: store.queue_length("notifications") == 0)
    set_level(client, 0.9)
    wait_until(lambda: store.queue_length("notifications") == 0)
    assert len(receiver.requests) == 1
    assert _notifications(receiver)[0]["data"][0]["fillingLevel"]["value"] == 0.6


def test_failures_then_success_show_in_the_status(
    client: TestClient, receiver: HttpReceiver
) -> None:
    """The receiver answers 500 first: the status shows the failure, and the retry (after the
    back-off, about 2 s) succeeds."""
    assert client.post(ENTITIES, json=waste_bin(), headers={**TENANT, **WASTE}).status_code == 201
    assert create(client, subscription(receiver)).status_code == 201
    receiver.answer(Reply(500, body=b"down for maintenance"))
    set_level(client, 0.9)
    url = f"{SUBS}/urn:ngsi-ld:Subscription:bins"
    wait_until(lambda: "lastFailure" in client.get(url, headers=TENANT).json()["notification"])
    failed = client.get(url, headers=TENANT).json()["notification"]
    assert failed["status"] == "failed"
    assert failed["timesFailed"] == 1
    assert "lastSuccess" not in failed
    wait_until(lambda: "lastSuccess" in client.get(url, headers=TENANT).json()["notification"])
    ok = client.get(url, headers=TENANT).json()["notification"]
    assert ok["status"] == "ok"
    assert ok["timesSent"] == 2
    assert len(receiver.requests) == 2
    first, second = _notifications(receiver)
    assert first["id"] == second["id"]


def test_notifications_stay_in_their_tenant(client: TestClient, receiver: HttpReceiver) -> None:
    iasi = {"NGSILD-Tenant": "iasi"}
    for headers in (TENANT, iasi):
        response = client.post(ENTITIES, json=waste_bin(), headers={**headers, **WASTE})
        assert response.status_code == 201
    assert create(client, subscription(receiver), headers=iasi).status_code == 201
    assert client.get(SUBS, headers=TENANT).json() == []
    assert_problem(
        client.get(f"{SUBS}/urn:ngsi-ld:Subscription:bins", headers=TENANT),
        404,
        "ResourceNotFound",
    )
    set_level(client, 0.7, TENANT)  # cluj's bin: iasi's subscription does not see it
    set_level(client, 0.8, iasi)
    wait_until(lambda: len(receiver.requests) == 1)
    store: ContextStore = client.app.state.store  # type: ignore[attr-defined]
    wait_until(lambda: store.queue_length("notifications") == 0)
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["ngsild-tenant"] == "iasi"
    assert _notifications(receiver)[0]["data"][0]["fillingLevel"]["value"] == 0.8


def test_notifications_survive_a_restart(
    database_url: str, receiver: HttpReceiver, store: ContextStore
) -> None:
    """A change is written while no worker runs, the application is closed with the
    notification still queued; a new application on the same database delivers it."""
    quiet = Settings(database_url=database_url, open_access=True, notification_worker=False)
    with TestClient(create_app(quiet)) as client:
        assert (
            client.post(ENTITIES, json=waste_bin(), headers={**TENANT, **WASTE}).status_code == 201
        )
        assert create(client, subscription(receiver)).status_code == 201
        set_level(client, 0.9)
    assert receiver.requests == []
    assert store.queue_length("notifications") == 1
    working = Settings(database_url=database_url, open_access=True, notification_poll_interval=0.02)
    app: FastAPI = create_app(working)
    with TestClient(app):
        wait_until(lambda: len(receiver.requests) == 1)
    notification = json.loads(receiver.requests[0].body)
    assert notification["data"][0]["fillingLevel"]["value"] == 0.9
    assert store.queue_length("notifications") == 0
