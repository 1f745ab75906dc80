"""The staff dashboard's figures (counts, median times, the heat-map grid) and the rate limit
of repeated submissions (Open311 per app key; the public form per IP address)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from cetate.domains.citizens import polls
from cetate.domains.citizens.audit import list_actions
from cetate.domains.citizens.ratelimit import RateLimiter
from cetate.domains.citizens.runtime import runtime_of
from cetate.web.session import LANGUAGE_COOKIE
from tests.domains.citizens.conftest import OUTSIDE, Desk, report
from tests.domains.citizens.pages_support import OPERATOR, csrf_of, pages_app, seeded_store

V2 = "/open311/v2"
API = "/api/v1/oradea/citizens"


def _new(desk: Desk, **extra: str) -> str:
    answer = desk.client.post(
        f"{V2}/requests.json", data=report(desk.keys.api_key["oradea"], **extra)
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()[0]["service_request_id"])


def _move(desk: Desk, rid: str, status: str) -> None:
    answer = desk.client.post(
        f"{API}/requests/{rid}/status",
        json={"status": status},
        headers=desk.keys.operator["oradea"],
    )
    assert answer.status_code == 200, answer.text


def test_dashboard_figures(desk: Desk) -> None:
    first = _new(desk)
    second = _new(desk, service_code="graffiti")
    _new(desk, service_code="graffiti", **OUTSIDE)
    desk.clock.advance(hours=2)
    _move(desk, first, "acknowledged")
    desk.clock.advance(hours=2)
    _move(desk, second, "acknowledged")
    desk.clock.advance(hours=6)
    _move(desk, first, "resolved")
    answer = desk.client.get(f"{API}/dashboard", headers=desk.keys.operator["oradea"])
    assert answer.status_code == 200, answer.text
    figures = answer.json()
    assert figures["total"] == 3
    assert figures["byCategory"] == {"graffiti": 2, "pothole": 1}
    assert figures["byStatus"] == {"resolved": 1, "acknowledged": 1, "new": 1}
    assert figures["byDepartment"] == {"centre": 2, "general": 1}
    assert figures["medianHoursToAcknowledge"] == 3.0
    assert figures["medianHoursToResolve"] == 10.0
    cells = figures["grid"]["cells"]
    assert sorted(c["count"] for c in cells) == [1, 2]
    centre = next(c for c in cells if c["count"] == 2)
    assert centre["south"] <= 47.0722 < centre["north"]
    assert centre["west"] <= 21.9211 < centre["east"]
    bad = desk.client.get(f"{API}/dashboard?cell=abc", headers=desk.keys.operator["oradea"])
    assert bad.status_code == 400
    assert "cell" in bad.json()["detail"]
    # another tenant's staff: refused here, an empty dashboard at home
    cluj = desk.keys.operator["cluj"]
    assert desk.client.get(f"{API}/dashboard", headers=cluj).status_code == 403
    assert desk.client.get("/api/v1/cluj/citizens/dashboard", headers=cluj).json()["total"] == 0


def test_open311_rate_limit_per_app_key(desk: Desk) -> None:
    desk.runtime.limiter.__init__(2, 60)  # type: ignore[misc]
    _new(desk)
    _new(desk, service_code="graffiti")
    refused = desk.client.post(f"{V2}/requests.json", data=report(desk.keys.api_key["oradea"]))
    assert refused.status_code == 429
    [error] = refused.json()
    assert error["code"] == 429
    assert "too many reports" in error["description"]
    # nothing stored; another key (another tenant) is not affected
    listed = desk.client.get(f"{API}/requests", headers=desk.keys.operator["oradea"])
    assert listed.headers["X-Total-Count"] == "2"
    other = desk.client.post(
        f"{V2}/requests.json?jurisdiction_id=cluj", data=report(desk.keys.api_key["cluj"])
    )
    assert other.status_code == 201


def test_rate_limiter_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 10, clock=lambda: now[0])
    assert limiter.allow("a") is None
    assert limiter.allow("a") is None
    assert limiter.allow("a") == 10.0
    assert limiter.allow("b") is None
    now[0] = 10.5
    assert limiter.allow("a") is None


def test_public_form_rate_limit_and_dashboard_page(tmp_path: Path) -> None:
    store = seeded_store(tmp_path / "c.db")
    app = pages_app(store, scheduler=False)
    with TestClient(app) as client:
        runtime_of(app).limiter.__init__(1, 60)  # type: ignore[misc]
        form = {"service_code": "pothole", "lat": "47.0722", "long": "21.9211"}
        first = client.post("/city/oradea/report", data=form, follow_redirects=False)
        assert first.status_code == 303
        second = client.post("/city/oradea/report?lang=en", data=form)
        assert second.status_code == 429
        assert 'role="alert"' in second.text
        assert "too many reports" in second.text
        staff = TestClient(app)
        login = staff.post("/login", data={"username": OPERATOR[0], "password": OPERATOR[1]})
        assert login.status_code in (200, 303)
        for lang, words in (("en", "Reports dashboard"), ("ro", "Tabloul sesizărilor")):
            staff.cookies.set(LANGUAGE_COOKIE, lang)
            page = staff.get("/citizens/dashboard")
            assert page.status_code == 200, page.text
            assert words in page.text
            assert 'id="heat-map"' in page.text
            assert "&#34;count&#34;: 1" in page.text or "&quot;count&quot;: 1" in page.text
    store.close()


def test_staff_create_polls_in_the_console(tmp_path: Path) -> None:
    store = seeded_store(tmp_path / "c.db")
    app = pages_app(store, scheduler=False)
    with TestClient(app) as staff:
        login = staff.post("/login", data={"username": OPERATOR[0], "password": OPERATOR[1]})
        assert login.status_code in (200, 303)
        staff.cookies.set(LANGUAGE_COOKIE, "en")
        page = staff.get("/citizens/polls")
        assert page.status_code == 200
        csrf = csrf_of(page.text)
        form = {
            "csrf": csrf,
            "question": "Where should the new <b>park</b> be?",
            "options": "North\nSouth",
            "opensAt": "2026-01-01T00:00",
            "closesAt": "2030-01-01T00:00",
        }
        bad = staff.post("/citizens/polls", data={**form, "options": "Only one"})
        assert bad.status_code == 400
        assert 'role="alert"' in bad.text
        assert "options" in bad.text
        assert staff.post("/citizens/polls", data={**form, "csrf": "x"}).status_code == 403
        made = staff.post("/citizens/polls", data=form, follow_redirects=False)
        assert made.status_code == 303
        listed = staff.get("/citizens/polls").text
        assert "Where should the new &lt;b&gt;park&lt;/b&gt; be?" in listed
        [poll] = polls.list_polls(store, "oradea", runtime_of(app).reports.clock())
        assert poll["options"] == ["North", "South"]
        assert poll["opensAt"] == "2026-01-01T00:00:00.000Z"
        [entry] = list_actions(store, "oradea")
        assert (entry["actor"], entry["action"], entry["target"]) == (
            OPERATOR[0],
            "poll.create",
            poll["id"],
        )
        # an action in the inbox is logged too; a refused one is not
        form = {"service_code": "pothole", "lat": "47.0722", "long": "21.9211"}
        assert TestClient(app).post("/city/oradea/report", data=form).status_code == 200
        csrf = csrf_of(staff.get("/citizens/inbox/1").text)
        moved = staff.post(
            "/citizens/inbox/1/status", data={"csrf": csrf, "status": "acknowledged"}
        )
        assert moved.status_code == 200
        assert (
            staff.post("/citizens/inbox/1/status", data={"csrf": csrf, "status": "new"}).status_code
            == 409
        )
        actions = list_actions(store, "oradea")
        assert [(a["action"], a["target"], a["details"]) for a in actions[1:]] == [
            ("status", "1", {"via": "console"})
        ]
    store.close()
