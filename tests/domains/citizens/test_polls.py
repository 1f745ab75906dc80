"""Polls: staff create them, residents vote once each after confirming by e-mail (a real
local SMTP server), live results, the CSV export; bad input and other tenants' staff."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from typing import Any

from cetate.domains.citizens import polls
from tests.domains.citizens.conftest import Desk, sent_messages

API = "/api/v1/oradea/citizens"
PAGES = "/city/oradea/polls"


def _poll(desk: Desk, **extra: Any) -> dict[str, Any]:
    body = {
        "question": "Unde să plantăm copaci?",
        "options": ["Parcul 1 Decembrie", "Strada Republicii", "Cetate"],
        "opensAt": "2026-11-23T00:00:00Z",
        "closesAt": "2026-12-01T00:00:00Z",
        "area": "Centru",
        **extra,
    }
    answer = desk.client.post(f"{API}/polls", json=body, headers=desk.keys.operator["oradea"])
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _vote(desk: Desk, poll_id: str, email: str, choice: int) -> Any:
    return desk.client.post(
        f"{PAGES}/{poll_id}/vote",
        data={"email": email, "choice": str(choice)},
        params={"lang": "en"},
    )


def _links(desk: Desk) -> list[str]:
    """Send the queued e-mails; the confirmation links of every message so far."""
    asyncio.run(desk.runtime.mailer.run_once())
    found = []
    for message in sent_messages(desk.smtp):
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        found += re.findall(r"http://testserver(/city/\S+/confirm/\S+)", str(body.get_content()))
    return found


def _results(desk: Desk, poll_id: str) -> dict[str, Any]:
    answer = desk.client.get(f"{PAGES}/{poll_id}/results.json")
    assert answer.status_code == 200
    shown: dict[str, Any] = answer.json()
    return shown


def test_one_confirmed_vote_per_person(desk: Desk) -> None:
    poll = _poll(desk)
    assert "salt" not in poll
    assert poll["state"] == "open"
    page = _vote(desk, poll["id"], "Ana.Pop@example.ro", 1)
    assert page.status_code == 200
    assert "confirm the vote" in page.text
    assert _results(desk, poll["id"])["total"] == 0  # not counted before confirmation
    [link] = _links(desk)
    [message] = sent_messages(desk.smtp)
    assert message["To"] == "Ana.Pop@example.ro"
    assert "Strada Republicii" in str(message.get_body(preferencelist=("plain",)))
    confirmed = desk.client.get(link, params={"lang": "en"})
    assert confirmed.status_code == 200
    assert "your vote is counted" in confirmed.text
    shown = _results(desk, poll["id"])
    assert shown["total"] == 1
    assert [r["votes"] for r in shown["results"]] == [0, 1, 0]
    # the same link again: used
    assert desk.client.get(link).status_code == 404
    # a second vote by the same person (any letter case) is refused with a clear page error
    again = _vote(desk, poll["id"], "ana.pop@EXAMPLE.ro", 2)
    assert again.status_code == 409
    assert 'role="alert"' in again.text
    assert "already voted" in again.text
    assert _results(desk, poll["id"])["total"] == 1
    # the choice is never public; the audit export has the hash, not the address
    assert "ana.pop" not in desk.client.get(f"{PAGES}/{poll['id']}").text.lower()
    export = desk.client.get(
        f"{API}/polls/{poll['id']}/votes.csv", headers=desk.keys.operator["oradea"]
    )
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 1
    assert rows[0]["option"] == "Strada Republicii"
    assert "example.ro" not in export.text
    assert len(rows[0]["voter_hash"]) == 64


def test_two_pending_links_of_one_person_count_once(desk: Desk) -> None:
    poll = _poll(desk)
    assert _vote(desk, poll["id"], "ion@example.ro", 0).status_code == 200
    assert _vote(desk, poll["id"], "ion@example.ro", 2).status_code == 200
    first, second = _links(desk)
    assert desk.client.get(first).status_code == 200
    refused = desk.client.get(second, params={"lang": "en"})
    assert refused.status_code == 409
    assert "already voted" in refused.text
    assert [r["votes"] for r in _results(desk, poll["id"])["results"]] == [1, 0, 0]


def test_bad_polls_and_votes(desk: Desk) -> None:
    op = desk.keys.operator["oradea"]
    for body, words in (
        ({"question": "Q?", "options": ["only one"]}, "options"),
        ({"options": ["a", "b"], "opensAt": "2026-11-23T00:00:00Z"}, "question"),
        (
            {"question": "Q", "options": ["a", "b"], "opensAt": "x", "closesAt": "y"},
            "opensAt",
        ),
        (
            {
                "question": "Q",
                "options": ["a", "b"],
                "opensAt": "2026-11-24T00:00:00Z",
                "closesAt": "2026-11-23T00:00:00Z",
            },
            "closesAt must be after",
        ),
    ):
        answer = desk.client.post(f"{API}/polls", json=body, headers=op)
        assert answer.status_code == 400, answer.text
        assert words in answer.json()["detail"]
    assert (
        desk.client.post(f"{API}/polls", json={}, headers=desk.keys.viewer["oradea"]).status_code
        == 403
    )
    poll = _poll(desk)
    assert _vote(desk, poll["id"], "not-an-address", 0).status_code == 400
    assert _vote(desk, poll["id"], "a@example.ro", 7).status_code == 400
    later = _poll(desk, opensAt="2026-11-30T00:00:00Z")
    closed = _vote(desk, later["id"], "a@example.ro", 0)
    assert closed.status_code == 409
    assert "is upcoming: votes are not accepted" in closed.text
    assert desk.client.get(f"{PAGES}/0123456789ab").status_code == 404
    assert _results(desk, poll["id"])["total"] == 0
    assert desk.store.queue_length("citizens.email") == 0


def test_another_tenants_staff_see_nothing(desk: Desk) -> None:
    poll = _poll(desk)
    cluj = desk.keys.operator["cluj"]
    assert desk.client.get(f"{API}/polls", headers=cluj).status_code == 403
    assert desk.client.get(f"{API}/polls/{poll['id']}", headers=cluj).status_code == 403
    assert desk.client.get("/api/v1/cluj/citizens/polls", headers=cluj).json() == []
    missing = desk.client.get(f"/api/v1/cluj/citizens/polls/{poll['id']}", headers=cluj)
    assert missing.status_code == 404
    assert desk.client.get(f"/city/cluj/polls/{poll['id']}").status_code == 404
    assert polls.list_polls(desk.store, "cluj", desk.clock()) == []
