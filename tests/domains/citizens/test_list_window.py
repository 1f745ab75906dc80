"""Open311 GET requests without dates lists the last 90 days: the date term is left out of the
store query only when every report is inside the window (the fast path), never otherwise."""

from __future__ import annotations

from tests.domains.citizens.conftest import Desk, report

V2 = "/open311/v2"


def _ids(desk: Desk, **params: str) -> list[str]:
    answer = desk.client.get(f"{V2}/requests.json", params={"jurisdiction_id": "oradea", **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Total-Count"] == str(len(answer.json()))
    return [str(r["service_request_id"]) for r in answer.json()]


def test_default_window_with_and_without_old_reports(desk: Desk) -> None:
    key = desk.keys.api_key["oradea"]
    first = desk.client.post(f"{V2}/requests.json", data=report(key))
    assert first.status_code == 201
    desk.clock.advance(days=89)
    assert _ids(desk) == ["1"]  # every report inside the window
    desk.clock.advance(days=2)
    second = desk.client.post(f"{V2}/requests.json", data=report(key, service_code="graffiti"))
    assert second.status_code == 201
    assert _ids(desk) == ["2"]  # the first is older than 90 days now
    assert _ids(desk, start_date="2026-11-01T00:00:00Z") == ["1", "2"]
    assert _ids(desk, end_date="2026-12-01T00:00:00Z") == ["1"]
