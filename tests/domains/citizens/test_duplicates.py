"""Likely duplicates (same category, within the radius and the time window, still open),
merge (the duplicate closes, its reporter follows the original) and split, on both backends."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.domains.citizens.conftest import Desk, report, sent_messages

V2 = "/open311/v2"
API = "/api/v1/oradea/citizens"
LINK = (
    "<https://smart-data-models.github.io/dataModel.IssueTracking/context.jsonld>; "
    'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
)
# about 55 m north-east of the report() point; 0.002° of latitude is about 220 m
NEAR = {"lat": "47.0726", "long": "21.9215"}
FAR = {"lat": "47.0742", "long": "21.9211"}


def _new(desk: Desk, service_code: str = "pothole", **extra: str) -> str:
    response = desk.client.post(
        f"{V2}/requests.json", data=report(desk.keys.api_key["oradea"], service_code, **extra)
    )
    assert response.status_code == 201, response.text
    return str(response.json()[0]["service_request_id"])


def _view(desk: Desk, request_id: str) -> dict[str, Any]:
    return dict(
        desk.client.get(f"{API}/requests/{request_id}", headers=desk.keys.operator["oradea"]).json()
    )


def _post(desk: Desk, path: str, body: Any = None) -> Any:
    return desk.client.post(f"{API}{path}", json=body or {}, headers=desk.keys.operator["oradea"])


def _entity(desk: Desk, request_id: str) -> dict[str, Any]:
    response = desk.client.get(
        f"/ngsi-ld/v1/entities/urn:ngsi-ld:Open311ServiceRequest:{int(request_id):010d}",
        headers={**desk.keys.viewer["oradea"], "NGSILD-Tenant": "oradea", "Link": LINK},
        params={"options": "keyValues"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_near_report_of_the_same_category_is_a_likely_duplicate(desk: Desk) -> None:
    original = _new(desk)
    near = _new(desk, **NEAR)
    far = _new(desk, **FAR)
    other_category = _new(desk, "graffiti", **NEAR)
    assert _view(desk, near)["likely_duplicate_of"] == original
    assert _entity(desk, near)["likelyDuplicateOf"] == _entity(desk, original)["id"]
    assert _view(desk, far)["likely_duplicate_of"] is None
    assert _view(desk, other_category)["likely_duplicate_of"] is None
    assert _view(desk, original)["likely_duplicate_of"] is None
    # a third one points at the original, not at the duplicate
    third = _new(desk, **NEAR)
    assert _view(desk, third)["likely_duplicate_of"] == original


def test_time_window_and_closed_reports_end_the_match(desk: Desk) -> None:
    old = _new(desk)
    desk.clock.advance(hours=49)
    assert _view(desk, _new(desk, **NEAR))["likely_duplicate_of"] is None
    closed = _new(desk, **FAR)
    _post(desk, f"/requests/{closed}/status", {"status": "rejected", "reason": "Privat"})
    assert _view(desk, _new(desk, **FAR))["likely_duplicate_of"] is None
    assert old


def test_merge_closes_the_duplicate_and_its_reporter_follows(desk: Desk) -> None:
    original = _new(desk)
    duplicate = _new(desk, **NEAR, email="dan@example.ro", first_name="Dan")
    merged = _post(desk, f"/requests/{duplicate}/merge")
    assert merged.status_code == 200, merged.text
    assert merged.json()["workflow_status"] == "closed"
    assert merged.json()["merged_into"] == original
    assert _view(desk, original)["merged"] == [duplicate]
    assert _entity(desk, duplicate)["mergedInto"].endswith(f"{int(original):010d}")
    # the duplicate's reporter hears about the merge, then about the original's progress
    _post(desk, f"/requests/{original}/status", {"status": "acknowledged", "note": "Preluat"})
    assert asyncio.run(desk.runtime.mailer.run_once()) == 3
    to = [(m["To"], m["Subject"]) for m in sent_messages(desk.smtp)]
    assert (
        "dan@example.ro",
        f"[Cetate] Sesizarea nr. {duplicate}: închisă",
    ) in to
    assert ("dan@example.ro", f"[Cetate] Sesizarea nr. {original}: preluată") in to
    assert ("ana.pop@example.ro", f"[Cetate] Sesizarea nr. {original}: preluată") in to
    # the duplicate's tracking page shows the original's updates
    token = _view(desk, duplicate)["workflow"]["token"]
    tracked = desk.client.get(f"{API}/track/{token}").json()
    assert tracked["merged_into"]["request"]["service_request_id"] == original
    assert tracked["merged_into"]["updates"][-1]["note"] == "Preluat"
    assert "dan@example.ro" not in str(tracked)
    # illegal: merge again, move a merged report, merge into a merged one, into itself
    again = _post(desk, f"/requests/{duplicate}/merge")
    assert again.status_code == 409
    assert "already merged" in again.json()["detail"]
    moved = _post(desk, f"/requests/{duplicate}/status", {"status": "reopen"})
    assert moved.status_code == 409
    assert "split" in moved.json()["detail"]
    third = _new(desk, "graffiti")
    into_merged = _post(desk, f"/requests/{third}/merge", {"into": duplicate})
    assert into_merged.status_code == 409
    assert _post(desk, f"/requests/{third}/merge", {"into": third}).status_code == 400
    assert _post(desk, f"/requests/{third}/merge").status_code == 400  # no likely original
    assert _post(desk, f"/requests/{third}/merge", {"into": "999"}).status_code == 404
    assert _post(desk, f"/requests/{third}/merge", {"into": True}).status_code == 400


def test_split_undoes_a_link_or_a_merge(desk: Desk) -> None:
    original = _new(desk)
    likely = _new(desk, **NEAR)
    split = _post(desk, f"/requests/{likely}/split")
    assert split.status_code == 200, split.text
    assert split.json()["likely_duplicate_of"] is None
    assert "likelyDuplicateOf" not in _entity(desk, likely)
    again = _post(desk, f"/requests/{likely}/split")
    assert again.status_code == 409
    merged = _new(desk, **NEAR)
    assert _post(desk, f"/requests/{merged}/merge").status_code == 200
    unmerged = _post(desk, f"/requests/{merged}/split")
    assert unmerged.status_code == 200, unmerged.text
    assert unmerged.json()["workflow_status"] == "acknowledged"
    assert unmerged.json()["merged_into"] is None
    assert _view(desk, original)["merged"] == []
    assert "mergedInto" not in _entity(desk, merged)
    # a finished report cannot be merged
    _post(desk, f"/requests/{merged}/status", {"status": "rejected", "reason": "Duplicat"})
    refused = _post(desk, f"/requests/{merged}/merge", {"into": original})
    assert refused.status_code == 409
    assert "only open reports" in refused.json()["detail"]
