"""The staff desk over HTTP on both backends: routing by area and category (and re-routing),
assignment to staff, internal comments vs public updates, SLA overdue flags and the staff list
with its filters; bad input and rights."""

from __future__ import annotations

from typing import Any

from tests.domains.citizens.conftest import OUTSIDE, Desk, report

V2 = "/open311/v2"
API = "/api/v1/oradea/citizens"


def _new(desk: Desk, service_code: str = "pothole", **extra: str) -> str:
    form = report(desk.keys.api_key["oradea"], service_code, **extra)
    if service_code == "overflowing_bin":
        form["attribute[bin_type]"] = "glass"
    response = desk.client.post(f"{V2}/requests.json", data=form)
    assert response.status_code == 201, response.text
    return str(response.json()[0]["service_request_id"])


def _post(desk: Desk, path: str, body: Any, role: str = "operator") -> Any:
    return desk.client.post(f"{API}{path}", json=body, headers=getattr(desk.keys, role)["oradea"])


def _view(desk: Desk, request_id: str) -> dict[str, Any]:
    response = desk.client.get(f"{API}/requests/{request_id}", headers=desk.keys.operator["oradea"])
    assert response.status_code == 200, response.text
    return dict(response.json())


def _open311(desk: Desk, request_id: str) -> dict[str, Any]:
    [found] = desk.client.get(
        f"{V2}/requests/{request_id}.json", params={"jurisdiction_id": "oradea"}
    ).json()
    return dict(found)


def test_area_wins_over_the_category_default(desk: Desk) -> None:
    in_centre = _new(desk, "pothole")
    outside = _new(desk, "pothole", **OUTSIDE)
    graffiti_outside = _new(desk, "graffiti", **OUTSIDE)
    address_only = _new(desk, "pothole", lat="", long="", address_string="Str. Republicii 1")
    assert (_view(desk, in_centre)["department"], _view(desk, in_centre)["routed_by"]) == (
        "centre",
        "area",
    )
    assert _view(desk, outside)["department"] == "roads"
    assert _view(desk, outside)["routed_by"] == "category"
    assert _view(desk, graffiti_outside)["department"] == "general"
    assert _view(desk, address_only)["department"] == "roads"
    # Open311 shows the department's name as agency_responsible
    assert _open311(desk, in_centre)["agency_responsible"] == "Administrare Centru"


def test_staff_reroute(desk: Desk) -> None:
    request_id = _new(desk)
    moved = _post(desk, f"/requests/{request_id}/department", {"department": "roads"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["department"] == "roads"
    assert moved.json()["routed_by"] == "staff"
    assert _open311(desk, request_id)["agency_responsible"] == "Drumuri"
    unknown = _post(desk, f"/requests/{request_id}/department", {"department": "parks"})
    assert unknown.status_code == 400
    assert "parks" in unknown.json()["detail"]
    assert "roads" in unknown.json()["detail"]
    assert _post(desk, f"/requests/{request_id}/department", {}).status_code == 400
    assert _post(desk, "/requests/999/department", {"department": "roads"}).status_code == 404
    assert _view(desk, request_id)["department"] == "roads"


def test_assignment_to_staff_only(desk: Desk) -> None:
    request_id = _new(desk)
    assigned = _post(desk, f"/requests/{request_id}/assign", {"assignee": "maria"})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"] == "maria"
    viewer = _post(desk, f"/requests/{request_id}/assign", {"assignee": "ion"})
    assert viewer.status_code == 400
    assert "not an operator or admin" in viewer.json()["detail"]
    nobody = _post(desk, f"/requests/{request_id}/assign", {"assignee": "ghost"})
    assert nobody.status_code == 400
    assert "ghost" in nobody.json()["detail"]
    assert _post(desk, f"/requests/{request_id}/assign", {"assignee": 5}).status_code == 400
    assert _post(desk, f"/requests/{request_id}/assign", {}).status_code == 400
    assert _view(desk, request_id)["assignee"] == "maria"
    unassigned = _post(desk, f"/requests/{request_id}/assign", {"assignee": None})
    assert unassigned.json()["assignee"] is None


def test_internal_comments_stay_internal_and_public_updates_show(desk: Desk) -> None:
    request_id = _new(desk)
    token = _view(desk, request_id)["workflow"]["token"]
    secret = "Vecinul a mai reclamat de 3 ori"
    commented = _post(desk, f"/requests/{request_id}/comments", {"text": secret})
    assert commented.status_code == 201, commented.text
    comments = commented.json()["workflow"]["comments"]
    assert comments[-1]["text"] == secret
    author = comments[-1]["author"]
    assert author.startswith("token:")
    updated = _post(desk, f"/requests/{request_id}/updates", {"note": "Echipa vine mâine"})
    assert updated.status_code == 201, updated.text
    assert _open311(desk, request_id)["status_notes"] == "Echipa vine mâine"
    tracked = desk.client.get(f"{API}/track/{token}")
    assert tracked.status_code == 200, tracked.text
    assert [u["note"] for u in tracked.json()["updates"]] == ["Echipa vine mâine"]
    everything_public = (
        tracked.text
        + desk.client.get(f"{V2}/requests.json", params={"jurisdiction_id": "oradea"}).text
    )
    for hidden in (secret, author, "ana.pop", "Pop"):
        assert hidden not in everything_public
    assert _post(desk, f"/requests/{request_id}/comments", {"text": "  "}).status_code == 400
    too_long = _post(desk, f"/requests/{request_id}/updates", {"note": "x" * 501})
    assert too_long.status_code == 400
    assert "at most 500" in too_long.json()["detail"]
    assert desk.client.get(f"{API}/track/nope").status_code == 404


def test_sla_overdue_computed_at_read_time(desk: Desk) -> None:
    late = _new(desk, "pothole")
    acknowledged = _new(desk, "pothole")
    no_targets = _new(desk, "graffiti")
    assert (
        _post(desk, f"/requests/{acknowledged}/status", {"status": "acknowledged"}).status_code
        == 200
    )
    view = _view(desk, late)
    assert view["sla"] == {
        "acknowledge_by": "2026-11-24T08:00:00.000Z",
        "resolve_by": "2026-11-26T08:00:00.000Z",
        "overdue": False,
        "overdue_for": [],
    }
    desk.clock.advance(hours=25)
    assert _view(desk, late)["sla"]["overdue_for"] == ["acknowledge"]
    assert _view(desk, acknowledged)["sla"]["overdue"] is False
    listed = desk.client.get(
        f"{API}/requests", params={"overdue": "true"}, headers=desk.keys.operator["oradea"]
    )
    assert listed.status_code == 200, listed.text
    assert [r["service_request_id"] for r in listed.json()] == [late]
    assert listed.headers["X-Total-Count"] == "1"
    desk.clock.advance(hours=48)
    listed = desk.client.get(
        f"{API}/requests", params={"overdue": "true"}, headers=desk.keys.operator["oradea"]
    )
    assert [r["service_request_id"] for r in listed.json()] == [late, acknowledged]
    assert _view(desk, late)["sla"]["overdue_for"] == ["acknowledge", "resolve"]
    on_time = desk.client.get(
        f"{API}/requests", params={"overdue": "false"}, headers=desk.keys.operator["oradea"]
    )
    assert [r["service_request_id"] for r in on_time.json()] == [no_targets]
    # resolving clears the flag
    for status in ("in_progress", "resolved"):
        assert (
            _post(desk, f"/requests/{acknowledged}/status", {"status": status}).status_code == 200
        )
    assert _view(desk, acknowledged)["sla"]["overdue"] is False


def test_staff_list_filters_and_bad_input(desk: Desk) -> None:
    first = _new(desk, "pothole")
    second = _new(desk, "pothole", **OUTSIDE)
    _post(desk, f"/requests/{second}/assign", {"assignee": "maria"})
    headers = desk.keys.operator["oradea"]

    def ids(**params: str) -> list[str]:
        response = desk.client.get(f"{API}/requests", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert ids() == [first, second]
    assert ids(department="centre") == [first]
    assert ids(assignee="maria") == [second]
    assert ids(status="new,acknowledged") == [first, second]
    assert ids(status="resolved") == []
    assert ids(page_size="1", page="2") == [second]
    for params, word in (
        ({"status": "done"}, "done"),
        ({"overdue": "maybe"}, "overdue"),
        ({"page": "0"}, "page"),
        ({"department": "parks"}, "parks"),
    ):
        bad = desk.client.get(f"{API}/requests", params=params, headers=headers)
        assert bad.status_code == 400, params
        assert bad.headers["content-type"] == "application/problem+json"
        assert word in bad.json()["detail"]
    # rights: viewers and other tenants' staff may not
    assert desk.client.get(f"{API}/requests", headers=desk.keys.viewer["oradea"]).status_code == 403
    assert desk.client.get(f"{API}/requests", headers=desk.keys.operator["cluj"]).status_code == 403
    assert desk.client.get(f"{API}/requests").status_code == 401
    denied = _post(desk, f"/requests/{first}/comments", {"text": "x"}, role="viewer")
    assert denied.status_code == 403
    departments = desk.client.get(f"{API}/departments", headers=headers).json()
    assert [d["id"] for d in departments] == ["centre", "roads", "general"]
