"""The citizens domain keeps tenants apart on every route it adds: the staff API, the public
tracking data and pages, the public map and the staff inbox (the core's route census in
tests/api/test_tenant_isolation.py names this file for them)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from cetate.auth.sessions import SESSION_COOKIE_NAME, session_codec
from cetate.auth.users import create_user
from cetate.store.base import ContextStore
from tests.domains.citizens.conftest import Keys, report

V2 = "/open311/v2"


def _file(client: TestClient, keys: Keys, tenant: str, description: str) -> dict[str, Any]:
    """File a report in ``tenant``; its staff view (id, token …)."""
    filed = client.post(
        f"{V2}/requests.json", data=report(keys.api_key[tenant], description=description)
    )
    assert filed.status_code == 201, filed.text
    request_id = filed.json()[0]["service_request_id"]
    staff = client.get(
        f"/api/v1/{tenant}/citizens/requests/{request_id}", headers=keys.operator[tenant]
    )
    assert staff.status_code == 200, staff.text
    return {**staff.json(), "requestId": str(request_id)}


def test_every_citizens_route_keeps_tenants_apart(
    client: TestClient, keys: Keys, store: ContextStore
) -> None:
    oradea = _file(client, keys, "oradea", "groapa-din-oradea")
    cluj = _file(client, keys, "cluj", "groapa-din-cluj")
    oradea_token = oradea["workflow"]["token"]
    cluj_token = cluj["workflow"]["token"]

    # staff API: another tenant's token is refused on every listing and read
    for path in ("requests", "departments", f"requests/{oradea['requestId']}", "api-keys"):
        refused = client.get(f"/api/v1/oradea/citizens/{path}", headers=keys.admin["cluj"])
        assert refused.status_code == 403, (path, refused.text)
        assert "groapa-din-oradea" not in refused.text
    own = client.get("/api/v1/cluj/citizens/requests", headers=keys.operator["cluj"])
    assert own.status_code == 200
    assert "groapa-din-cluj" in own.text
    assert "groapa-din-oradea" not in own.text

    # tracking data and page: a token works only under its own tenant
    assert client.get(f"/api/v1/oradea/citizens/track/{oradea_token}").status_code == 200
    assert client.get(f"/api/v1/cluj/citizens/track/{oradea_token}").status_code == 404
    assert client.get(f"/city/oradea/track/{oradea_token}").status_code == 200
    wrong = client.get(f"/city/cluj/track/{oradea_token}")
    assert wrong.status_code == 404
    assert "groapa-din-oradea" not in wrong.text
    assert client.get(f"/city/oradea/track/{cluj_token}").status_code == 404

    # the public map and the city's pages show their own tenant's reports only
    for tenant, mine, theirs in (
        ("oradea", "groapa-din-oradea", "groapa-din-cluj"),
        ("cluj", "groapa-din-cluj", "groapa-din-oradea"),
    ):
        geojson = client.get(f"/city/{tenant}/map.geojson")
        assert geojson.status_code == 200, geojson.text
        assert mine in geojson.text
        assert theirs not in geojson.text
        for page in (f"/city/{tenant}", f"/city/{tenant}/map", f"/city/{tenant}/report"):
            shown = client.get(page)
            assert shown.status_code == 200, (page, shown.text)
            assert theirs not in shown.text

    # the staff inbox shows the session's tenant only
    create_user(store, "dana", "dana-password-123", roles={"cluj": "operator"})
    settings = client.app.state.settings  # type: ignore[attr-defined]
    codec = session_codec(store, settings)
    client.cookies.set(SESSION_COOKIE_NAME, codec.encode("dana", "cluj"))
    inbox = client.get("/citizens/inbox")
    assert inbox.status_code == 200, inbox.text
    assert "groapa-din-cluj" in inbox.text
    assert "groapa-din-oradea" not in inbox.text
    other = client.get(f"/citizens/inbox/{oradea['requestId']}")
    # the same number is cluj's own report 1: never oradea's
    assert "groapa-din-oradea" not in other.text
    client.cookies.set(SESSION_COOKIE_NAME, codec.encode("dana", "oradea"))
    assert "groapa-din-oradea" not in client.get("/citizens/inbox").text
    client.cookies.clear()


def test_polls_and_the_dashboard_keep_tenants_apart(
    client: TestClient, keys: Keys, store: ContextStore
) -> None:
    poll = {
        "question": "intrebare-din-oradea",
        "options": ["optiunea-unu", "optiunea-doi"],
        "opensAt": "2026-01-01T00:00:00Z",
        "closesAt": "2099-01-01T00:00:00Z",
    }
    created = client.post(
        "/api/v1/oradea/citizens/polls", json=poll, headers=keys.operator["oradea"]
    )
    assert created.status_code == 201, created.text
    poll_id = created.json()["id"]
    assert "intrebare-din-oradea" in client.get("/city/oradea/polls").text
    # cluj's public pages, its staff API and its console never show oradea's poll
    assert "intrebare-din-oradea" not in client.get("/city/cluj/polls").text
    for path in (
        f"/city/cluj/polls/{poll_id}",
        f"/city/cluj/polls/{poll_id}/results.json",
        f"/city/cluj/polls/{poll_id}/confirm/any-token",
    ):
        assert client.get(path).status_code == 404, path
    for path in (
        "polls",
        f"polls/{poll_id}",
        f"polls/{poll_id}/votes.csv",
        "dashboard",
        "audit",
        "gdpr/export?email=a@example.org",
    ):
        refused = client.get(f"/api/v1/oradea/citizens/{path}", headers=keys.admin["cluj"])
        assert refused.status_code == 403, (path, refused.text)
    create_user(store, "radu", "radu-password-123", roles={"cluj": "admin"})
    codec = session_codec(store, client.app.state.settings)  # type: ignore[attr-defined]
    client.cookies.set(SESSION_COOKIE_NAME, codec.encode("radu", "cluj"))
    for page in ("/citizens/polls", "/citizens/dashboard"):
        shown = client.get(page)
        assert shown.status_code == 200, (page, shown.text)
        assert "intrebare-din-oradea" not in shown.text
    client.cookies.clear()
