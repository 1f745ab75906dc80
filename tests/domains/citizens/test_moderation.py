"""Moderation: the filter (profanity in Romanian and English, e-mail addresses, phone numbers,
CNP, identity-card numbers) and, on both backends, what a flagged report does — hidden from
Open311 and the public map until a moderator approves it through the staff API."""

from __future__ import annotations

from typing import Any

import pytest

from cetate.domains.citizens.moderation import screen, screen_all
from tests.domains.citizens.conftest import Desk, report

V2 = "/open311/v2"
API = "/api/v1/oradea/citizens"


def _kinds(text: str) -> list[str]:
    return [flag.kind for flag in screen(text)]


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Sunați-mă la 0722 123 456 vă rog", ["phone"]),
        ("tel. +40 744-123-456", ["phone"]),
        ("scrieți la ana.pop@example.ro", ["email"]),
        ("CNP-ul meu e 1800101221144", ["cnp"]),
        ("buletin seria XH nr. 123456", ["id_number"]),
        ("ce Căcat de groapă", ["profanity"]),
        ("what a fuck1ng mess, total bullshit", ["profanity", "profanity"]),
        ("1800101221145 (wrong CNP check digit: still a long number)", ["phone"]),
        ("PIZDA mă-tii", ["profanity"]),
    ],
)
def test_the_filter_flags(text: str, kinds: list[str]) -> None:
    assert _kinds(text) == kinds


@pytest.mark.parametrize(
    "text",
    [
        "Groapă mare pe strada Republicii nr. 12, lângă stația de tramvai",
        "Stâlpul 1234 nu mai luminează din 12.11.2026, ora 21:30",
        "The future of this street: potholes since 2025",
        "",
    ],
)
def test_clean_texts_pass(text: str) -> None:
    assert screen(text) == []


def test_screen_all_reads_every_text() -> None:
    assert [f.kind for f in screen_all("ok", None, "mail: a@b.ro")] == ["email"]


def _submit(desk: Desk, description: str) -> str:
    form = report(desk.keys.api_key["oradea"], description=description)
    response = desk.client.post(f"{V2}/requests.json", data=form)
    assert response.status_code == 201, response.text
    return str(response.json()[0]["service_request_id"])


def _post(desk: Desk, path: str, body: Any, role: str = "operator") -> Any:
    return desk.client.post(f"{API}{path}", json=body, headers=getattr(desk.keys, role)["oradea"])


def _public_ids(desk: Desk) -> list[str]:
    listed = desk.client.get(f"{V2}/requests.json", params={"jurisdiction_id": "oradea"})
    assert listed.status_code == 200
    return [row["service_request_id"] for row in listed.json()]


def test_flagged_reports_wait_for_a_moderator(desk: Desk) -> None:
    clean = _submit(desk, "Groapă adâncă")
    flagged = _submit(desk, "Sunați la 0722 123 456, e groapă")
    assert _public_ids(desk) == [clean]
    one = desk.client.get(f"{V2}/requests/{flagged}.json", params={"jurisdiction_id": "oradea"})
    assert one.status_code == 404
    ids = desk.client.get(
        f"{V2}/requests.json",
        params={"jurisdiction_id": "oradea", "service_request_id": f"{clean},{flagged}"},
    ).json()
    assert [row["service_request_id"] for row in ids] == [clean]

    # staff see it, with what the filter found
    pending = desk.client.get(
        f"{API}/requests", params={"moderation": "pending"}, headers=desk.keys.operator["oradea"]
    )
    assert [row["service_request_id"] for row in pending.json()] == [flagged]
    view = desk.client.get(f"{API}/requests/{flagged}", headers=desk.keys.operator["oradea"])
    assert view.json()["moderation"] == "pending"
    assert view.json()["workflow"]["moderation"]["flags"] == [
        {"kind": "phone", "match": "0722 123 456"}
    ]

    # bad decisions change nothing
    assert _post(desk, f"/requests/{flagged}/moderation", {"decision": "maybe"}).status_code == 400
    assert _post(desk, f"/requests/{flagged}/moderation", {}).status_code == 400
    refused = _post(desk, f"/requests/{flagged}/moderation", {"decision": "approve"}, "viewer")
    assert refused.status_code == 403
    assert _post(desk, f"/requests/{clean}/moderation", {"decision": "approve"}).status_code == 409
    assert _public_ids(desk) == [clean]

    # approved with the number removed: public, with the redacted text
    approved = _post(
        desk,
        f"/requests/{flagged}/moderation",
        {"decision": "approve", "description": "E groapă"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["moderation"] == "approved"
    assert _public_ids(desk) == [clean, flagged]
    [shown] = desk.client.get(
        f"{V2}/requests/{flagged}.json", params={"jurisdiction_id": "oradea"}
    ).json()
    assert shown["description"] == "E groapă"
    again = _post(desk, f"/requests/{flagged}/moderation", {"decision": "approve"})
    assert again.status_code == 409


def test_a_rejected_report_stays_hidden(desk: Desk) -> None:
    flagged = _submit(desk, "ce căcat de stradă")
    no_reason = _post(desk, f"/requests/{flagged}/moderation", {"decision": "reject"})
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["detail"]
    rejected = _post(
        desk,
        f"/requests/{flagged}/moderation",
        {"decision": "reject", "reason": "Limbaj nepotrivit; trimiteți din nou"},
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["workflow_status"] == "rejected"
    assert rejected.json()["moderation"] == "rejected"
    assert _public_ids(desk) == []
    # the reporter's tracking data says so, without the public seeing it
    token = rejected.json()["workflow"]["token"]
    tracked = desk.client.get(f"{API}/track/{token}").json()
    assert tracked["request"]["moderation"] == "rejected"
    assert tracked["updates"][-1]["note"] == "Limbaj nepotrivit; trimiteți din nou"
