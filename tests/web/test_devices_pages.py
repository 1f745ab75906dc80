"""The devices pages and the dead-letters page over HTTP, without a browser
(src/cetate/web/devices_pages.py, dead_letters_pages.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from fastapi import FastAPI

from cetate.ingest.devices.credentials import DeviceCredentials
from tests.ingest.conftest import BIN_PROFILE
from tests.web.conftest import OPERATOR, VIEWER
from tests.web.ops_support import (
    add_profiles,
    dead_letter,
    devices,
    provision,
    signed_in_client,
    token_of,
)

TS = 1_763_900_000


@pytest.fixture
def app(console_app: FastAPI) -> FastAPI:
    add_profiles(console_app, "cluj", "iasi")
    return console_app


@pytest.fixture
def operator(app: FastAPI) -> Iterator[httpx.Client]:
    with signed_in_client(app, OPERATOR[0]) as client:
        yield client


@pytest.fixture
def viewer(app: FastAPI) -> Iterator[httpx.Client]:
    with signed_in_client(app, VIEWER[0]) as client:
        yield client


def _credentials(app: FastAPI) -> DeviceCredentials:
    credentials: DeviceCredentials = app.state.device_credentials
    return credentials


def _provision_form(client: httpx.Client, **fields: str) -> httpx.Response:
    data = {
        "csrf": token_of(client),
        "device_id": "bin-0042",
        "profile": "bin-v1",
        "transport": "http",
        "entity_id": "",
        **fields,
    }
    return client.post("/devices", data=data)


def test_logged_out_operations_pages_go_to_login(client: httpx.Client) -> None:
    for path in ("/devices", "/devices/bin-1", "/dead-letters", "/rules", "/rules/new", "/alerts"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path


def test_navigation_links_the_operations_pages(operator: httpx.Client) -> None:
    page = operator.get("/devices").text
    for path, label in [
        ("/devices", "Dispozitive"),
        ("/dead-letters", "Mesaje respinse"),
        ("/rules", "Reguli"),
        ("/alerts", "Alerte"),
    ]:
        assert f'<a href="{path}"' in page
        assert label in page
    assert '<a href="/devices" aria-current="page">' in page


def test_provision_shows_the_secret_once(app: FastAPI, operator: httpx.Client) -> None:
    response = _provision_form(operator, entity_id="urn:ngsi-ld:WasteContainer:cluj:0001")
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    assert "sunt afișate doar de această dată" in response.text
    token = response.text.split('data-secret="http-token">', 1)[1].split("<", 1)[0]
    assert token.startswith("cdev_")
    assert _credentials(app).verify_http(token).ok
    info = devices(app).get_device("cluj", "bin-0042")
    assert info is not None
    assert info.entity_id == "urn:ngsi-ld:WasteContainer:cluj:0001"
    listing = operator.get("/devices")
    assert "bin-0042" in listing.text
    assert token not in listing.text
    assert "active" in listing.text
    assert token not in operator.get("/devices/bin-0042").text


def test_provision_mqtt_shows_username_and_password(operator: httpx.Client) -> None:
    response = _provision_form(operator, device_id="lamp-1", transport="mqtt")
    assert response.status_code == 201
    assert 'data-secret="mqtt-username">cluj/lamp-1<' in response.text
    assert 'data-secret="mqtt-password">' in response.text
    assert 'data-secret="http-token"' not in response.text


PROVISION_ERRORS = [
    (
        {"device_id": "bad id!"},
        "device_id",
        "Folosiți 1-64 litere",
        "Use 1-64 letters",
    ),
    (
        {"profile": "no-such-profile"},
        "profile",
        "Alegeți unul dintre profilurile",
        "Choose one of this municipality",
    ),
    (
        {"entity_id": "not a uri"},
        "entity_id",
        "trebuie să fie un URI absolut",
        "must be an absolute URI",
    ),
    ({"transport": "carrier-pigeon"}, "transport", "Alegeți MQTT sau HTTP", "Choose MQTT"),
]
"""(form fields, the field in error, Romanian message, English message)"""


def test_provision_errors_next_to_the_field_in_both_languages(
    app: FastAPI, operator: httpx.Client
) -> None:
    for lang in ("ro", "en"):
        operator.cookies.set("cetate_lang", lang)
        for fields, field, ro, en in PROVISION_ERRORS:
            response = _provision_form(operator, **fields)
            assert response.status_code == 422, fields
            assert (ro if lang == "ro" else en) in response.text, fields
            if field != "transport":
                assert f'id="{field}-error"' in response.text
    assert devices(app).list_devices("cluj") == []


def test_duplicate_device_id_is_refused(app: FastAPI, operator: httpx.Client) -> None:
    provision(app, "cluj", "bin-0042")
    response = _provision_form(operator)
    assert response.status_code == 422
    assert "Există deja un dispozitiv cu identificatorul bin-0042" in response.text
    assert 'value="bin-0042"' in response.text  # the form keeps what was typed


def test_provision_without_csrf_changes_nothing(app: FastAPI, operator: httpx.Client) -> None:
    response = operator.post(
        "/devices", data={"device_id": "bin-9", "profile": "bin-v1", "transport": "http"}
    )
    assert response.status_code == 403
    assert devices(app).get_device("cluj", "bin-9") is None


def test_viewer_sees_devices_read_only(app: FastAPI, viewer: httpx.Client) -> None:
    provision(app, "cluj", "bin-1")
    page = viewer.get("/devices")
    assert page.status_code == 200
    assert "bin-1" in page.text
    assert 'action="/devices"' not in page.text.replace('method="get" action="/devices"', "")
    device = viewer.get("/devices/bin-1")
    assert device.status_code == 200
    assert "/rotate" not in device.text
    assert "/revoke" not in device.text
    assert "/commands" not in device.text
    token = token_of(viewer)
    refused = viewer.post("/devices", data={"csrf": token, "device_id": "x1", "profile": "bin-v1"})
    assert refused.status_code == 403
    assert "doar citirea" in refused.text
    assert viewer.post("/devices/bin-1/rotate", data={"csrf": token}).status_code == 403
    assert viewer.get("/devices/bin-1/revoke").status_code == 403
    assert devices(app).get_device("cluj", "x1") is None


def test_filter_box_narrows_the_table(app: FastAPI, operator: httpx.Client) -> None:
    provision(app, "cluj", "bin-1")
    provision(app, "cluj", "lamp-7")
    page = operator.get("/devices", params={"q": "LAMP"}).text
    assert "lamp-7" in page
    assert "bin-1" not in page


def test_rotate_shows_a_new_secret_and_kills_the_old(app: FastAPI, operator: httpx.Client) -> None:
    old = provision(app, "cluj", "bin-1")
    assert old is not None
    response = operator.post("/devices/bin-1/rotate", data={"csrf": token_of(operator)})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    new = response.text.split('data-secret="http-token">', 1)[1].split("<", 1)[0]
    assert new != old
    assert _credentials(app).verify_http(new).ok
    assert not _credentials(app).verify_http(old).ok
    assert (
        operator.post("/devices/nope/rotate", data={"csrf": token_of(operator)}).status_code == 404
    )


def test_revoke_asks_first(app: FastAPI, operator: httpx.Client) -> None:
    token = provision(app, "cluj", "bin-1")
    assert token is not None
    device = operator.get("/devices/bin-1").text
    assert 'href="/devices/bin-1/revoke"' in device
    confirm = operator.get("/devices/bin-1/revoke")
    assert confirm.status_code == 200
    assert "Revocați credențialele lui bin-1?" in confirm.text
    csrf = token_of(operator)
    unconfirmed = operator.post("/devices/bin-1/revoke", data={"csrf": csrf})
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"] == "/devices/bin-1/revoke"
    assert _credentials(app).verify_http(token).ok
    done = operator.post("/devices/bin-1/revoke", data={"csrf": csrf, "confirm": "yes"})
    assert done.status_code == 303
    assert not _credentials(app).verify_http(token).ok
    page = operator.get(done.headers["location"]).text
    assert "Credențialele au fost revocate" in page
    assert "revocate" in page
    assert operator.get("/devices").text.count("state-revoked") == 1


def test_unknown_device_page_is_404(operator: httpx.Client) -> None:
    response = operator.get("/devices/no-such-device")
    assert response.status_code == 404
    assert "Nu există dispozitivul no-such-device" in response.text


# -- commands -----------------------------------------------------------------------------------


def _send(client: httpx.Client, device: str, **fields: str) -> httpx.Response:
    data = {"csrf": token_of(client), "name": "dim", "value": "40", "expiry": "5", **fields}
    return client.post(f"/devices/{device}/commands", data=data)


def test_send_command_from_the_device_page(app: FastAPI, operator: httpx.Client) -> None:
    provision(app, "cluj", "lamp-1", transport="http")
    response = _send(operator, "lamp-1", value='{"level": 40}')
    assert response.status_code == 303
    page = operator.get(response.headers["location"]).text
    assert "Comanda a fost pusă în coada de livrare" in page
    assert "în așteptare" in page
    assert "{&#34;level&#34;: 40}" in page or "{&quot;level&quot;: 40}" in page
    [command] = app.state.commands.list("cluj", device="lamp-1")
    assert command.value == {"level": 40}
    assert command.source == "console:operator"
    operator.cookies.set("cetate_lang", "en")
    assert "pending" in operator.get("/devices/lamp-1").text


BAD_COMMANDS = [
    ({"value": "{oops"}, "Valoarea nu este JSON valid"),
    ({"expiry": "0"}, "Expirarea trebuie să fie un număr întreg"),
    ({"expiry": "abc"}, "Expirarea trebuie să fie un număr întreg"),
    ({"name": ""}, "Scrieți numele comenzii"),
    ({"name": "bad name with spaces"}, "Comanda nu a fost trimisă"),
]


def test_bad_commands_say_what_is_wrong(app: FastAPI, operator: httpx.Client) -> None:
    provision(app, "cluj", "lamp-1")
    for fields, message in BAD_COMMANDS:
        response = _send(operator, "lamp-1", **fields)
        assert response.status_code == 422, response.text
        assert message in response.text
    assert app.state.commands.list("cluj", device="lamp-1") == []


# -- dead letters -------------------------------------------------------------------------------


def test_dead_letters_listed_escaped_and_counted(app: FastAPI, operator: httpx.Client) -> None:
    provision(app, "cluj", "bin-1")
    dead_letter(app, "cluj", "bin-1", b"<script>alert('x')</script>")
    dead_letter(app, "cluj", "bin-1", orjson.dumps({"f": 5, "hum": 3, "ts": TS}))
    page = operator.get("/dead-letters")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    assert "malformed_json" in page.text
    assert "unknown_key" in page.text
    assert page.text.index("unknown_key</span>") < page.text.index("malformed_json</span>")
    only = operator.get("/dead-letters", params={"reason": "unknown_key"}).text
    assert "&lt;script&gt;" not in only
    assert operator.get("/dead-letters", params={"device": "other"}).text.count("<li class=") == 0
    device_page = operator.get("/devices/bin-1").text
    assert "malformed_json" in device_page


def test_replay_still_rejected_then_accepted(app: FastAPI, operator: httpx.Client) -> None:
    provision(app, "cluj", "bin-1")
    letter = dead_letter(app, "cluj", "bin-1", orjson.dumps({"f": 5, "hum": 3, "ts": TS}))
    csrf = token_of(operator, "/dead-letters")
    response = operator.post(f"/dead-letters/{letter}/replay", data={"csrf": csrf})
    assert response.status_code == 422
    assert f"Mesajul {letter} este în continuare respins (unknown_key)" in response.text
    devices(app).put_profile("cluj", {**BIN_PROFILE, "ignoredKeys": ["hum"]})
    response = operator.post(f"/dead-letters/{letter}/replay", data={"csrf": csrf})
    assert response.status_code == 200
    assert f"Mesajul {letter} a fost retrimis și stocat" in response.text
    assert "urn:ngsi-ld:WasteContainer:bin-1" in response.text
    assert operator.get("/dead-letters").text.count('class="card letter"') == 0
    again = operator.post(f"/dead-letters/{letter}/replay", data={"csrf": csrf})
    assert again.status_code == 400
    assert "already replayed" in again.text
    missing = operator.post("/dead-letters/999999/replay", data={"csrf": csrf})
    assert missing.status_code == 404


def test_viewer_may_neither_read_nor_replay_dead_letters(
    app: FastAPI, viewer: httpx.Client
) -> None:
    """Raw payloads are for operators and admins, as in the API."""
    provision(app, "cluj", "bin-1")
    letter = dead_letter(app, "cluj", "bin-1", b"{oops-secret-payload")
    page = viewer.get("/dead-letters")
    assert page.status_code == 403
    assert "oops-secret-payload" not in page.text
    assert "operatori" in page.text  # the Romanian explanation
    csrf = token_of(viewer, "/devices")
    assert viewer.post(f"/dead-letters/{letter}/replay", data={"csrf": csrf}).status_code == 403


def test_other_tenants_devices_and_dead_letters_stay_hidden(
    app: FastAPI, operator: httpx.Client
) -> None:
    provision(app, "iasi", "iasi-secret-bin")
    dead_letter(app, "iasi", "iasi-secret-bin", b"iasi-payload{")
    provision(app, "cluj", "cluj-bin")
    assert "iasi-secret-bin" not in operator.get("/devices").text
    assert operator.get("/devices/iasi-secret-bin").status_code == 404
    page = operator.get("/dead-letters", params={"device": "iasi-secret-bin", "replayed": "1"})
    assert "iasi-payload" not in page.text
    assert "iasi-payload" not in operator.get("/dead-letters").text
    csrf = token_of(operator)
    assert operator.post("/devices/iasi-secret-bin/rotate", data={"csrf": csrf}).status_code == 404
    revoke = operator.post("/devices/iasi-secret-bin/revoke", data={"csrf": csrf, "confirm": "yes"})
    assert revoke.status_code == 404
    iasi_letter = app.state.store.list_dead_letters("iasi")[0].id
    replay = operator.post(f"/dead-letters/{iasi_letter}/replay", data={"csrf": csrf})
    assert replay.status_code == 404
    assert app.state.store.list_dead_letters("iasi")[0].replayed_at is None
