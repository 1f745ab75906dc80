"""GDPR: export and erase a reporter's personal data (admins only), the retention job, and the
audit log of staff actions; another tenant's staff see nothing."""

from __future__ import annotations

from typing import Any

from cetate.domains.citizens import gdpr, reporters
from cetate.domains.citizens.audit import KIND as AUDIT
from tests.domains.citizens.conftest import Desk, report

V2 = "/open311/v2"
API = "/api/v1/oradea/citizens"
PHONE = "0744 987 654"


def _new(desk: Desk, **extra: str) -> str:
    answer = desk.client.post(
        f"{V2}/requests.json", data=report(desk.keys.api_key["oradea"], **extra)
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()[0]["service_request_id"])


def _actions(desk: Desk, tenant: str = "oradea") -> list[dict[str, Any]]:
    answer = desk.client.get(f"/api/v1/{tenant}/citizens/audit", headers=desk.keys.admin[tenant])
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


def test_export_then_erase_removes_the_data_and_keeps_the_report(desk: Desk) -> None:
    flagged = _new(desk, description=f"Groapă adâncă, sunați-mă la {PHONE}")
    clean = _new(desk, service_code="graffiti", attribute="", description="Graffiti pe zid")
    other = _new(desk, email="john@example.com", first_name="John")
    admin = desk.keys.admin["oradea"]
    # operators may not; the address is required
    assert (
        desk.client.get(
            f"{API}/gdpr/export",
            params={"email": "ana.pop@example.ro"},
            headers=desk.keys.operator["oradea"],
        ).status_code
        == 403
    )
    assert desk.client.get(f"{API}/gdpr/export", headers=admin).status_code == 400
    exported = desk.client.get(
        f"{API}/gdpr/export", params={"email": "ANA.POP@example.ro"}, headers=admin
    )
    assert exported.status_code == 200, exported.text
    data = exported.json()
    assert [r["service_request_id"] for r in data["reports"]] == [flagged, clean]
    assert data["reports"][0]["reporter"]["phone"] == "+40 722 123 456"
    assert PHONE in data["reports"][0]["report"]["description"]

    history_url = (
        f"/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Open311ServiceRequest:{int(flagged):010d}"
    )
    ngsi_headers = {**admin, "NGSILD-Tenant": "oradea"}
    before = desk.client.get(history_url, headers=ngsi_headers)
    assert before.status_code == 200, before.text
    assert PHONE in before.text  # the submitted description is in the attribute history

    erased = desk.client.post(
        f"{API}/gdpr/erase", json={"email": "ana.pop@example.ro"}, headers=admin
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"][0]["redacted"] == ["description"]
    for rid in (flagged, clean):
        assert desk.store.get_record("oradea", reporters.KIND, rid) is None
        view = desk.client.get(f"{API}/requests/{rid}", headers=admin).json()
        assert view["reporter"] == {}
        assert "ana.pop" not in str(view)
        assert PHONE not in str(view)
    entity = desk.client.get(
        f"/ngsi-ld/v1/entities/urn:ngsi-ld:Open311ServiceRequest:{int(flagged):010d}",
        headers={**admin, "NGSILD-Tenant": "oradea"},
    )
    assert entity.status_code == 200, entity.text
    assert PHONE not in entity.text
    assert gdpr.REDACTED in entity.text
    # nor is it left in the history: the temporal API has no instance of the old text
    after = desk.client.get(history_url, headers=ngsi_headers)
    assert after.status_code == 200, after.text
    assert PHONE not in after.text
    assert "sunați-mă" not in after.text
    # the other reporter is untouched; nothing is left to export for Ana
    assert desk.store.get_record("oradea", reporters.KIND, other) is not None
    assert (
        desk.client.get(
            f"{API}/gdpr/export", params={"email": "ana.pop@example.ro"}, headers=admin
        ).status_code
        == 404
    )
    logged = [(a["action"], a["target"]) for a in _actions(desk)]
    assert ("gdpr.export", f"{flagged},{clean}") in logged
    assert ("gdpr.erase", f"{flagged},{clean}") in logged
    assert "ana.pop" not in str(_actions(desk))


def test_retention_erases_reporters_of_long_finished_reports(desk: Desk) -> None:
    done = _new(desk)
    still_open = _new(desk, service_code="graffiti", lat="47.05", long="21.95")
    answer = desk.client.post(
        f"{API}/requests/{done}/status",
        json={"status": "rejected", "reason": "Nu este pe domeniul public"},
        headers=desk.keys.operator["oradea"],
    )
    assert answer.status_code == 200, answer.text
    desk.clock.advance(days=desk.runtime.config.limits.retention_days - 1)
    assert gdpr.apply_retention(desk.runtime.reports, "oradea") == []
    desk.clock.advance(days=2)
    assert gdpr.apply_retention_everywhere(desk.runtime) == {"oradea": [done]}
    assert desk.store.get_record("oradea", reporters.KIND, done) is None
    assert desk.store.get_record("oradea", reporters.KIND, still_open) is not None
    kept = desk.client.get(f"{API}/requests/{done}", headers=desk.keys.admin["oradea"])
    assert kept.json()["workflow_status"] == "rejected"
    assert kept.json()["reporter"] == {}


def test_the_audit_log_records_each_staff_action(desk: Desk) -> None:
    rid = _new(desk)
    op = desk.keys.operator["oradea"]
    for path, body in (
        ("status", {"status": "acknowledged"}),
        ("assign", {"assignee": "maria"}),
        ("comments", {"text": "Trimit echipa"}),
        ("updates", {"note": "Echipa e pe drum"}),
    ):
        answer = desk.client.post(f"{API}/requests/{rid}/{path}", json=body, headers=op)
        assert answer.status_code in (200, 201), answer.text
    # a refused change is not logged
    assert (
        desk.client.post(
            f"{API}/requests/{rid}/status", json={"status": "new"}, headers=op
        ).status_code
        == 409
    )
    actions = _actions(desk)
    assert [(a["action"], a["target"]) for a in actions] == [
        ("status", rid),
        ("assign", rid),
        ("comment", rid),
        ("update", rid),
    ]
    assert len({a["actor"] for a in actions}) == 1
    assert actions[0]["actor"].startswith("token:")
    assert actions[0]["details"] == {"status": "acknowledged"}
    assert actions[0]["at"].startswith("2026-11-23T08:00:00")
    # admins only; other tenants' admins neither see nor hold these entries
    assert desk.client.get(f"{API}/audit", headers=op).status_code == 403
    assert desk.client.get(f"{API}/audit", headers=desk.keys.admin["cluj"]).status_code == 403
    assert _actions(desk, "cluj") == []
    assert desk.store.list_records("cluj", AUDIT) == []
    assert (
        desk.client.get(
            "/api/v1/cluj/citizens/gdpr/export",
            params={"service_request_id": rid},
            headers=desk.keys.admin["cluj"],
        ).status_code
        == 404
    )
