"""Rules and alerts API: CRUD, validation (also of Rule entities written through NGSI-LD),
alerts from readings sent through the NGSI-LD API, the lifecycle, roles and tenant
isolation, and the running application (scheduler on) raising an alert by itself."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.config import Settings
from cetate.ingest.devices.model import DeviceSpec
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.rules.engine import RuleEngine
from cetate.reactions.rules.entity import RULE_CONTEXT, rule_payload
from cetate.reactions.rules.model import parse_rule
from cetate.store.base import ContextStore, Tenant
from tests.api.support import problem, role_headers
from tests.ingest.conftest import BIN_PROFILE
from tests.reactions.rules.support import sustained_rule

RULE_ID = "urn:ngsi-ld:Rule:cluj:container-full"
BIN = "urn:ngsi-ld:WasteContainer:cluj:0001"
RULES = "/api/v1/cluj/rules"
ALERTS = "/api/v1/cluj/alerts"


def _settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "mqtt_builtin": False,
        "notification_worker": False,
        "scheduler": False,
        "open_access": True,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return _settings(database_url)


def _reading(client: TestClient, level: float, observed: str) -> None:
    r = client.post(
        f"/ngsi-ld/v1/entities/{BIN}/attrs",
        json={"fillingLevel": {"type": "Property", "value": level, "observedAt": observed}},
        headers={"NGSILD-Tenant": "cluj"},
    )
    assert r.status_code == 204, r.text


def test_rule_crud_with_colons_in_paths(client: TestClient) -> None:
    r = client.post(RULES, json=sustained_rule())
    assert r.status_code == 201, r.text
    assert r.json()["condition"]["duration"] == "PT10M"
    problem(client.post(RULES, json=sustained_rule()), 409)
    assert [x["id"] for x in client.get(RULES).json()["items"]] == [RULE_ID]
    assert client.get(f"{RULES}/{RULE_ID}").json()["severity"] == "high"
    assert client.get(f"{RULES}/{quote(RULE_ID, safe='')}").status_code == 200
    changed = {**sustained_rule(severity="low"), "id": RULE_ID}
    r = client.put(f"{RULES}/{RULE_ID}", json=changed)
    assert r.status_code == 200, r.text
    assert client.get(f"{RULES}/{RULE_ID}").json()["severity"] == "low"
    body = problem(client.put(f"{RULES}/urn:ngsi-ld:Rule:other", json=sustained_rule()), 400)
    assert "id" in body["detail"]
    # the rule is an NGSI-LD entity too
    r = client.get(f"/ngsi-ld/v1/entities/{RULE_ID}", headers={"NGSILD-Tenant": "cluj"})
    assert r.status_code == 200, r.text
    assert client.delete(f"{RULES}/{RULE_ID}").status_code == 204
    problem(client.get(f"{RULES}/{RULE_ID}"), 404)
    problem(client.delete(f"{RULES}/{RULE_ID}"), 404)


def test_invalid_rules_are_refused_naming_fields(client: TestClient) -> None:
    bad = sustained_rule(severity="dire", scope={"entityType": "WasteContainer", "tag": "Cluj"})
    body = problem(client.post(RULES, json=bad), 400)
    assert any(e.startswith("severity:") for e in body["errors"])
    assert any(e.startswith("scope.tag:") for e in body["errors"])
    assert "severity" in body["detail"]
    problem(client.post(RULES, content=b"{oops", headers={"content-type": "application/json"}), 400)
    problem(client.post(RULES, content=b"{}", headers={"content-type": "text/plain"}), 415)


def test_rule_entities_through_ngsi_ld_are_validated(client: TestClient) -> None:
    headers = {"NGSILD-Tenant": "cluj", "content-type": "application/ld+json"}
    payload = rule_payload(parse_rule(sustained_rule()))
    broken = {**payload, "condition": {"type": "Property", "value": {"kind": "sustained"}}}
    r = client.post("/ngsi-ld/v1/entities", content=json.dumps(broken), headers=headers)
    body = problem(r, 400)
    assert "condition" in body["detail"]
    assert client.get(f"{RULES}/{RULE_ID}").status_code == 404
    r = client.post("/ngsi-ld/v1/entities", content=json.dumps(payload), headers=headers)
    assert r.status_code == 201, r.text
    assert client.get(f"{RULES}/{RULE_ID}").json()["name"]["en"] == "Container full"
    # a partial update that would make it invalid is refused and changes nothing
    patch = {"severity": {"type": "Property", "value": "dire"}, "@context": RULE_CONTEXT}
    r = client.patch(
        f"/ngsi-ld/v1/entities/{RULE_ID}/attrs", content=json.dumps(patch), headers=headers
    )
    assert "severity" in problem(r, 400)["detail"]
    assert client.get(f"{RULES}/{RULE_ID}").json()["severity"] == "high"


def test_sustained_rule_through_ngsi_ld_and_lifecycle(app: FastAPI, client: TestClient) -> None:
    assert client.post(RULES, json=sustained_rule(autoResolve=False)).status_code == 201
    entity = {
        "id": BIN,
        "type": "WasteContainer",
        "fillingLevel": {"type": "Property", "value": 0.9, "observedAt": "2026-11-23T10:00:00Z"},
    }
    r = client.post("/ngsi-ld/v1/entities", json=entity, headers={"NGSILD-Tenant": "cluj"})
    assert r.status_code == 201, r.text
    for minute in (4, 9, 12, 15):
        _reading(client, 0.95, f"2026-11-23T10:{minute:02d}:00Z")
    engine: RuleEngine = app.state.rule_engine
    assert engine.drain() == 5
    [alert] = client.get(ALERTS).json()["items"]
    assert alert["status"]["value"] == "open"
    assert alert["@context"][0].startswith("https://smart-data-models")
    alert_id = alert["id"]
    assert client.get(f"{ALERTS}/{alert_id}").json()["rule"]["object"] == RULE_ID
    assert client.get(ALERTS, params={"status": "resolved"}).json()["items"] == []
    problem(client.get(ALERTS, params={"status": "closed"}), 400)
    r = client.post(f"{ALERTS}/{alert_id}/acknowledge")
    assert r.status_code == 200, r.text
    assert r.json()["acknowledgedBy"]["value"] == "open-access"
    body = problem(client.post(f"{ALERTS}/{alert_id}/acknowledge"), 409)
    assert "already acknowledged" in body["detail"]
    assert client.post(f"{ALERTS}/{alert_id}/resolve").json()["status"]["value"] == "resolved"
    problem(client.post(f"{ALERTS}/{alert_id}/resolve"), 409)
    problem(client.post(f"{ALERTS}/{alert_id}/acknowledge"), 409)
    problem(client.post(f"{ALERTS}/urn:ngsi-ld:Alert:cetate:nope/resolve"), 404)
    # the same episode goes on: no second alert
    _reading(client, 0.97, "2026-11-23T10:30:00Z")
    engine.drain()
    assert len(client.get(ALERTS).json()["items"]) == 1


def test_roles_and_tenant_isolation(database_url: str, store: ContextStore) -> None:
    for name in ("cluj", "iasi"):
        store.put_tenant(Tenant(name=name, title=name))
    app = create_app(_settings(database_url, open_access=False), store)
    with TestClient(app) as client:
        operator = role_headers(store, "cluj", "operator")
        viewer = role_headers(store, "cluj", "viewer")
        other = role_headers(store, "iasi", "admin")
        assert client.post(RULES, json=sustained_rule(), headers=operator).status_code == 201
        assert client.get(RULES, headers=viewer).status_code == 200
        problem(client.post(RULES, json=sustained_rule(), headers=viewer), 403)
        problem(client.delete(f"{RULES}/{RULE_ID}", headers=viewer), 403)
        problem(client.get(RULES), 401)
        problem(client.get(RULES, headers=other), 403)
        problem(client.get(ALERTS, headers=other), 403)
        assert client.get("/api/v1/iasi/rules", headers=other).json()["items"] == []
        problem(client.get(f"/api/v1/iasi/rules/{RULE_ID}", headers=other), 404)
        # an alert of cluj is not one of iasi
        engine: RuleEngine = app.state.rule_engine
        headers = {"NGSILD-Tenant": "cluj", **operator}
        entity = {"id": BIN, "type": "WasteContainer", "fillingLevel": 0.9}
        assert client.post("/ngsi-ld/v1/entities", json=entity, headers=headers).status_code == 201
        engine.drain()
        assert engine.tick(utc_now().replace(year=2100)) == 1
        [alert] = client.get(ALERTS, headers=viewer).json()["items"]
        problem(client.post(f"{ALERTS}/{alert['id']}/acknowledge", headers=viewer), 403)
        problem(client.get(f"/api/v1/iasi/alerts/{alert['id']}", headers=other), 404)
        problem(client.post(f"/api/v1/iasi/alerts/{alert['id']}/resolve", headers=other), 404)
        assert client.get("/api/v1/iasi/alerts", headers=other).json()["items"] == []
        problem(client.get("/api/v1/Not_A_Tenant/rules", headers=other), 400)


def test_running_app_raises_alert_and_sends_command(database_url: str, store: ContextStore) -> None:
    """Scheduler on: a device reading through the ingest pipeline gives an alert and the
    rule's device command within a few seconds, with no direct call to the engine."""
    app = create_app(_settings(database_url, scheduler=True), store)
    store.put_tenant(Tenant(name="cluj", title="cluj"))
    app.state.devices.put_profile("cluj", BIN_PROFILE)
    app.state.devices.provision(
        "cluj", DeviceSpec.model_validate({"deviceId": "bin-1", "profile": "bin-v1"})
    )
    rule = sustained_rule(
        scope={"entityType": "WasteContainer"},
        condition={"kind": "threshold", "attribute": "fillingLevel", "operator": ">", "value": 0.8},
        actions={"command": {"device": "bin-1", "name": "compact", "value": {"force": True}}},
    )
    with TestClient(app) as client:
        assert client.post(RULES, json=rule).status_code == 201
        outcome = app.state.ingest.ingest(
            "cluj", "bin-1", orjson.dumps({"f": 93, "ts": 1795427940}), utc_now(), "http"
        )
        assert outcome.accepted, outcome.detail
        deadline = time.monotonic() + 8
        alerts: list[dict[str, Any]] = []
        commands: list[Any] = []
        while time.monotonic() < deadline and not (alerts and commands):
            time.sleep(0.1)
            alerts = client.get(ALERTS).json()["items"]
            commands = app.state.commands.list("cluj", device="bin-1")
    assert len(alerts) == 1
    assert alerts[0]["alertSource"]["object"] == "urn:ngsi-ld:WasteContainer:bin-1"
    [command] = commands
    assert command.name == "compact"
    assert command.source == f"rule:{RULE_ID}"
