"""The citizens pages over HTTP (TestClient, a real SQLite store): the report form and what
it stores (through the Open311 code), its bad input, the tracking page, the public map, the
staff inbox with its forms and rights; HTML in descriptions escaped everywhere."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from tests.domains.citizens.conftest import jpeg_with_gps
from tests.domains.citizens.pages_support import (
    ADMIN,
    OPERATOR,
    VIEWER,
    csrf_of,
    pages_app,
    png_photo,
    seeded_store,
)

V2 = "/open311/v2"
REPORT = "/city/oradea/report"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    store = seeded_store(Path(tmp_path_factory.mktemp("citizens-pages")) / "c.db")
    yield pages_app(store, scheduler=False)
    store.close()


@pytest.fixture(scope="module")
def public(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _staff(app: FastAPI, user: tuple[str, str]) -> TestClient:
    client = TestClient(app)
    answer = client.post("/login", data={"username": user[0], "password": user[1]})
    assert answer.status_code in (200, 303), answer.text
    return client


@pytest.fixture(scope="module")
def operator(app: FastAPI) -> TestClient:
    return _staff(app, OPERATOR)


def _form(**extra: str) -> dict[str, str]:
    form = {
        "service_code": "pothole",
        "lat": "47.0722",
        "long": "21.9211",
        "description": "Groapă mare",
        "email": "ana.pop@example.ro",
    }
    form.update(extra)
    return form


def _submit(client: TestClient, photo: bytes | None = None, **extra: str) -> str:
    """Send the form; the tracking page's path."""
    files = {"media": ("groapa.jpg", photo, "image/jpeg")} if photo else None
    answer = client.post(REPORT, data=_form(**extra), files=files, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    location = str(answer.headers["location"])
    assert re.fullmatch(r"/city/oradea/track/[\w-]+\?new=1", location)
    return location


def _total(client: TestClient) -> int:
    listed = client.get(f"{V2}/requests.json", params={"page_size": 1})
    return int(listed.headers["X-Total-Count"])


def _request_id(html: str) -> str:
    found = re.search(r"(?:Sesizarea nr\.|Report no\.) (\d+)", html)
    assert found is not None
    return found.group(1)


def test_the_form_is_labelled_in_both_languages(public: TestClient) -> None:
    ro = public.get(REPORT)
    assert ro.status_code == 200
    assert '<html lang="ro">' in ro.text
    assert "Raportează o problemă" in ro.text
    for field in ("service_code", "lat", "long", "address_string", "media", "description", "email"):
        assert f'<label for="{field}">' in ro.text, field
    assert "/static/vendor/leaflet/leaflet.js" in ro.text
    assert 'data-tile-url=""' in ro.text  # no tiles unless CETATE_MAP_TILE_URL
    # the required detail of a category has its own labelled field
    assert 'for="attr.overflowing_bin.bin_type"' in ro.text
    en = public.get(REPORT, params={"lang": "en"})
    assert '<html lang="en">' in en.text
    assert "Report a problem" in en.text
    assert public.get("/city/nowhere/report").status_code == 404
    assert public.get("/city/oradea", follow_redirects=False).headers["location"] == REPORT
    assert public.get("/citizens/static/report.js").status_code == 200
    assert public.get("/citizens/static/..%2Fconfig.py").status_code == 404


def test_a_report_from_the_form(public: TestClient) -> None:
    before = _total(public)
    tracking = _submit(public, jpeg_with_gps(), description=f"Groapă {XSS}")
    page = public.get(tracking)
    assert page.status_code == 200
    assert "Mulțumim" in page.text
    assert 'id="tracking-link"' in page.text
    assert XSS not in page.text
    assert "&lt;script&gt;" in page.text
    assert "ana.pop" not in page.text  # the reporter stays hidden
    request_id = _request_id(page.text)
    # stored through the Open311 code: listed there, with the cleaned photo
    assert _total(public) == before + 1
    [shown] = public.get(f"{V2}/requests/{request_id}.json").json()
    assert shown["lat"] == 47.0722
    assert shown["description"] == f"Groapă {XSS}"
    photo = public.get(shown["media_url"].replace("http://testserver", ""))
    assert photo.headers["content-type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(photo.content)).getexif()
    assert f'src="{shown["media_url"]}"' in page.text
    # the tracking link works without ?new (and an unknown one is a 404 page)
    assert "Mulțumim" not in public.get(tracking.split("?")[0]).text
    assert public.get("/city/oradea/track/not-a-token").status_code == 404
    # a browser following the e-mail's API link lands on the page
    token = tracking.split("/")[-1].split("?")[0]
    api = public.get(
        f"/api/v1/oradea/citizens/track/{token}",
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert api.headers["location"] == f"/city/oradea/track/{token}"


def test_details_of_the_chosen_category_only(public: TestClient) -> None:
    missing = public.post(REPORT, data=_form(service_code="overflowing_bin"))
    assert missing.status_code == 400
    assert "bin_type" in missing.text
    fields = {"attr.overflowing_bin.bin_type": "glass", "attr.pothole.size": "large"}
    tracking = _submit(public, None, service_code="overflowing_bin", **fields)
    request_id = _request_id(public.get(tracking).text)
    [shown] = public.get(f"{V2}/requests/{request_id}.json").json()
    assert shown["service_code"] == "overflowing_bin"


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"service_code": ""}, 400, "service_code is required"),
        ({"service_code": "volcano"}, 400, "volcano"),
        ({"lat": "", "long": ""}, 400, "a location is required"),
        ({"lat": "97"}, 400, "lat"),
        ({"description": "x" * 4001}, 400, "at most 4000"),
        ({"email": "y" * 300}, 400, "email"),
    ],
)
def test_bad_input_keeps_the_form(
    public: TestClient, change: dict[str, str], status: int, says: str
) -> None:
    before = _total(public)
    answer = public.post(REPORT, data=_form(**{"description": f"Groapă {XSS}", **change}))
    assert answer.status_code == status
    assert 'role="alert"' in answer.text
    assert says in answer.text
    assert XSS not in answer.text
    if "description" not in change:
        assert "Groapă &lt;script&gt;" in answer.text  # what was typed is kept, escaped
    assert _total(public) == before


def test_a_bad_photo_is_refused(public: TestClient) -> None:
    before = _total(public)
    script = public.post(
        REPORT, data=_form(), files={"media": ("photo.jpg", b"<?php echo 1; ?>", "image/jpeg")}
    )
    assert script.status_code == 415
    assert 'role="alert"' in script.text
    huge = public.post(
        REPORT, data=_form(), files={"media": ("big.png", b"\x89PNG" + b"0" * 9_500_000, "")}
    )
    assert huge.status_code == 413
    assert _total(public) == before


def test_the_public_map(public: TestClient, operator: TestClient) -> None:
    shown = _request_id(public.get(_submit(public, description=f"Pe hartă {XSS}")).text)
    flagged = _request_id(public.get(_submit(public, description="sunați la 0744 111 222")).text)
    page = public.get("/city/oradea/map")
    assert page.status_code == 200
    assert "Pe hartă" in page.text
    assert XSS not in page.text
    assert "0744 111 222" not in page.text
    assert "ana.pop" not in page.text
    data = public.get("/city/oradea/map.geojson")
    assert data.headers["content-type"].startswith("application/geo+json")
    ids = {f["properties"]["id"] for f in data.json()["features"]}
    assert shown in ids
    assert flagged not in ids
    assert "ana.pop" not in data.text
    # a closed report leaves the map
    detail = operator.get(f"/citizens/inbox/{shown}")
    operator.post(
        f"/citizens/inbox/{shown}/status",
        data={"csrf": csrf_of(detail.text), "status": "rejected", "reason": "Nu e groapă"},
    )
    ids = {f["properties"]["id"] for f in public.get("/city/oradea/map.geojson").json()["features"]}
    assert shown not in ids
    assert public.get("/city/nowhere/map.geojson").status_code == 404


def test_the_inbox_and_its_forms(public: TestClient, operator: TestClient, app: FastAPI) -> None:
    request_id = _request_id(public.get(_submit(public, description=f"Inbox {XSS}")).text)
    inbox = operator.get("/citizens/inbox", params={"status": "new"})
    assert inbox.status_code == 200
    assert f'href="/citizens/inbox/{request_id}"' in inbox.text
    assert XSS not in inbox.text
    assert 'aria-current="page"' in inbox.text  # the nav entry "Sesizări"
    for params in ({"status": "resolved"}, {"overdue": "yes"}, {"moderation": "pending"}):
        assert (
            f'/citizens/inbox/{request_id}"'
            not in operator.get("/citizens/inbox", params=params).text
        )
    detail = operator.get(f"/citizens/inbox/{request_id}")
    assert "ana.pop@example.ro" in detail.text  # staff reach the reporter
    assert XSS not in detail.text
    csrf = csrf_of(detail.text)
    base = f"/citizens/inbox/{request_id}"

    def act(action: str, **fields: str) -> int:
        answer = operator.post(f"{base}/{action}", data={"csrf": csrf, **fields})
        return int(answer.status_code)

    assert act("status", status="acknowledged", note="Preluat") == 200
    assert act("assign", assignee=OPERATOR[0]) == 200
    assert act("comment", text="Echipa 3") == 200
    assert act("update", note="Vine echipa") == 200
    assert act("status", status="new") == 409  # not allowed: the page says why
    assert act("assign", assignee="nobody-here") == 400
    assert act("comment", text=" ") == 400
    assert act("merge", into=request_id) == 400
    assert act("fly") == 404
    answer = operator.post(f"{base}/comment", data={"csrf": "forged", "text": "x"})
    assert answer.status_code == 403
    page = operator.get(base).text
    assert 'id="assignee">maria<' in page
    assert "Echipa 3" in page
    assert "Vine echipa" in page
    link = re.search(r'href="(/city/oradea/track/[\w-]+)"', page)
    assert link is not None
    tracking = public.get(link.group(1))
    assert "Vine echipa" in tracking.text
    assert "Preluat" in tracking.text
    assert "Echipa 3" not in tracking.text
    assert "maria" not in tracking.text

    viewer = _staff(app, VIEWER)
    seen = viewer.get(base)
    assert seen.status_code == 200
    assert f"{base}/status" not in seen.text
    refused = viewer.post(f"{base}/comment", data={"csrf": csrf_of(seen.text), "text": "x"})
    assert refused.status_code == 403
    assert TestClient(app).get("/citizens/inbox", follow_redirects=False).status_code == 303
    assert operator.get("/citizens/inbox/999").status_code == 404
    assert operator.get("/citizens/inbox", params={"status": "bogus"}).status_code == 200


def test_moderation_in_the_inbox(public: TestClient, app: FastAPI) -> None:
    admin = _staff(app, ADMIN)
    tracking = _submit(public, description="Groapă, mail: vecin@example.ro")
    request_id = _request_id(public.get(tracking).text)
    assert "așteaptă verificarea" in public.get(tracking).text
    assert public.get(f"{V2}/requests/{request_id}.json").status_code == 404
    pending = admin.get("/citizens/inbox", params={"moderation": "pending"})
    assert f'/citizens/inbox/{request_id}"' in pending.text
    detail = admin.get(f"/citizens/inbox/{request_id}")
    assert "adresă de e-mail" in detail.text
    assert "vecin@example.ro" in detail.text
    answer = admin.post(
        f"/citizens/inbox/{request_id}/moderate",
        data={"csrf": csrf_of(detail.text), "decision": "approve", "description": "Groapă"},
    )
    assert answer.status_code == 200
    [shown] = public.get(f"{V2}/requests/{request_id}.json").json()
    assert shown["description"] == "Groapă"
    assert "așteaptă verificarea" not in public.get(tracking).text


def test_png_photos_are_kept_as_png(public: TestClient) -> None:
    tracking = _submit(public, png_photo())
    request_id = _request_id(public.get(tracking).text)
    [shown] = public.get(f"{V2}/requests/{request_id}.json").json()
    assert shown["media_url"].endswith(".png")
