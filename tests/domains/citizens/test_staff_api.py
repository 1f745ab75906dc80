"""The staff API: status changes through the workflow (written to the entity, seen by
Open311), illegal moves refused, rights per role and tenant, API keys."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from cetate.store.base import ContextStore
from tests.domains.citizens.conftest import Keys, report

V2 = "/open311/v2"
ORADEA = {"jurisdiction_id": "oradea"}
LINK = (
    "<https://smart-data-models.github.io/dataModel.IssueTracking/context.jsonld>; "
    'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
)


def _new(client: TestClient, keys: Keys) -> str:
    response = client.post(f"{V2}/requests.json", data=report(keys.api_key["oradea"]))
    assert response.status_code == 201
    return str(response.json()[0]["service_request_id"])


def _move(client: TestClient, keys: Keys, request_id: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/oradea/citizens/requests/{request_id}/status",
        json=body,
        headers=keys.operator["oradea"],
    )


def _open311(client: TestClient, request_id: str) -> dict[str, Any]:
    [found] = client.get(f"{V2}/requests/{request_id}.json", params=ORADEA).json()
    return dict(found)


def test_the_whole_workflow(client: TestClient, keys: Keys) -> None:
    request_id = _new(client, keys)
    moved = _move(client, keys, request_id, status="acknowledged", note="Am primit sesizarea")
    assert moved.status_code == 200, moved.text
    assert moved.json()["workflow_status"] == "acknowledged"
    assert moved.json()["status"] == "open"
    assert _open311(client, request_id)["status_notes"] == "Am primit sesizarea"
    assert _move(client, keys, request_id, status="in_progress").status_code == 200
    resolved = _move(client, keys, request_id, status="resolved", note="Groapa a fost astupată")
    assert resolved.json()["workflow_status"] == "resolved"
    found = _open311(client, request_id)
    assert found["status"] == "closed"
    assert found["status_notes"] == "Groapa a fost astupată"
    assert found["updated_datetime"] >= found["requested_datetime"]
    reopened = _move(client, keys, request_id, status="reopen")
    assert reopened.json()["workflow_status"] == "acknowledged"
    assert _open311(client, request_id)["status"] == "open"

    # every change went through the NGSI-LD write path: the entity has its history
    history = client.get(
        f"/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Open311ServiceRequest:{int(request_id):010d}",
        params={"attrs": "workflowStatus"},
        headers={**keys.viewer["oradea"], "NGSILD-Tenant": "oradea", "Link": LINK},
    )
    assert history.status_code == 200, history.text
    values = [i["value"] for i in history.json()["workflowStatus"]]
    assert values == ["new", "acknowledged", "in_progress", "resolved", "acknowledged"]


def test_staff_see_the_reporter(client: TestClient, keys: Keys) -> None:
    request_id = _new(client, keys)
    view = client.get(
        f"/api/v1/oradea/citizens/requests/{request_id}", headers=keys.operator["oradea"]
    )
    assert view.status_code == 200
    assert view.json()["reporter"]["email"] == "ana.pop@example.ro"
    assert view.json()["workflow_status"] == "new"


def test_illegal_transitions_are_refused(client: TestClient, keys: Keys) -> None:
    request_id = _new(client, keys)
    refused = _move(client, keys, request_id, status="resolved")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "new cannot become resolved" in refused.json()["detail"]
    no_reason = _move(client, keys, request_id, status="rejected")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["detail"]
    unknown = _move(client, keys, request_id, status="done")
    assert unknown.status_code == 400
    assert _move(client, keys, request_id, note="no status").status_code == 400
    assert _open311(client, request_id)["status_notes"] is None
    rejected = _move(
        client, keys, request_id, status="rejected", reason="Nu este pe domeniul public"
    )
    assert rejected.json()["workflow_status"] == "rejected"
    assert _open311(client, request_id)["status_notes"] == "Nu este pe domeniul public"
    again = _move(client, keys, request_id, status="in_progress")
    assert again.status_code == 409
    assert "reopen" in again.json()["detail"]
    missing = _move(client, keys, "999", status="acknowledged")
    assert missing.status_code == 404


def test_rights(client: TestClient, keys: Keys) -> None:
    request_id = _new(client, keys)
    url = f"/api/v1/oradea/citizens/requests/{request_id}/status"
    body = {"status": "acknowledged"}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=keys.viewer["oradea"]).status_code == 403
    assert client.post(url, json=body, headers=keys.operator["cluj"]).status_code == 403
    view = f"/api/v1/oradea/citizens/requests/{request_id}"
    assert client.get(view, headers=keys.viewer["oradea"]).status_code == 403
    # cluj staff moving "their" request 1 do not touch oradea's
    assert (
        client.post(
            f"/api/v1/cluj/citizens/requests/{request_id}/status",
            json=body,
            headers=keys.operator["cluj"],
        ).status_code
        == 404
    )
    assert _open311(client, request_id)["status_notes"] is None
    assert (
        client.get("/api/v1/oradea/citizens/api-keys", headers=keys.operator["oradea"]).status_code
        == 403
    )


def test_api_keys_are_issued_per_tenant(
    client: TestClient, keys: Keys, store: ContextStore
) -> None:
    issued = client.post(
        "/api/v1/cluj/citizens/api-keys", json={"label": "City app"}, headers=keys.admin["cluj"]
    )
    assert issued.status_code == 201
    secret = issued.json()["apiKey"]
    assert secret.startswith("o311_")
    listed = client.get("/api/v1/cluj/citizens/api-keys", headers=keys.admin["cluj"]).json()
    assert {k["label"] for k in listed} == {"app of cluj", "City app"}
    assert all("apiKey" not in k for k in listed)
    # the key files into cluj (its tenant) without a jurisdiction_id
    created = client.post(f"{V2}/requests.json", data=report(secret))
    assert created.status_code == 201
    assert client.get(f"{V2}/requests.json", params={"jurisdiction_id": "cluj"}).json()
    bad = client.post(
        "/api/v1/cluj/citizens/api-keys", json={"label": " "}, headers=keys.admin["cluj"]
    )
    assert bad.status_code == 400
    assert "label" in bad.json()["detail"]
    missing = client.delete("/api/v1/cluj/citizens/api-keys/nope", headers=keys.admin["cluj"])
    assert missing.status_code == 404
