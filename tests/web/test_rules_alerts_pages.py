"""The rules and alerts pages over HTTP, without a browser (src/cetate/web/rules_pages.py,
alerts_pages.py), through the application's real RuleService and AlertService."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from cetate.api.paths import path_segment
from tests.web.conftest import ADMIN, OPERATOR, VIEWER
from tests.web.ops_support import (
    RULE,
    add_profiles,
    open_alert,
    provision,
    sign_in,
    signed_in_client,
    token_of,
)

RULE_ID = RULE["id"]
RULE_PATH = "/rules/" + path_segment(RULE_ID)


@pytest.fixture
def operator(console_app: FastAPI) -> Iterator[httpx.Client]:
    with signed_in_client(console_app, OPERATOR[0]) as client:
        yield client


@pytest.fixture
def viewer(console_app: FastAPI) -> Iterator[httpx.Client]:
    with signed_in_client(console_app, VIEWER[0]) as client:
        yield client


def _save(client: httpx.Client, document: str, editing: str = "") -> httpx.Response:
    csrf = token_of(client, "/rules")
    return client.post("/rules", data={"csrf": csrf, "document": document, "editing": editing})


# -- rules --------------------------------------------------------------------------------------


def test_new_rule_editor_is_prefilled_with_an_example(operator: httpx.Client) -> None:
    page = operator.get("/rules/new")
    assert page.status_code == 200
    assert "<textarea" in page.text
    assert "fillingLevel" in page.text
    assert "&#34;kind&#34;: &#34;sustained&#34;" in page.text


def test_create_rule_then_list_in_both_languages(
    console_app: FastAPI, operator: httpx.Client
) -> None:
    assert "Acest municipiu nu are încă reguli" in operator.get("/rules").text
    response = _save(operator, json.dumps(RULE))
    assert response.status_code == 303, response.text
    assert console_app.state.rules.get("cluj", RULE_ID) is not None
    listing = operator.get(response.headers["location"]).text
    assert "Regula a fost salvată" in listing
    assert "Container plin" in listing
    assert "Prag menținut: fillingLevel &gt; 0.8 · PT10M" in listing
    assert "ridicată" in listing
    assert "activă" in listing
    assert "WasteContainer" in listing
    operator.cookies.set("cetate_lang", "en")
    english = operator.get("/rules").text
    assert "Container full" in english
    assert "Sustained: fillingLevel &gt; 0.8 · PT10M" in english
    assert "high" in english


def test_invalid_rule_shows_each_bad_field(console_app: FastAPI, operator: httpx.Client) -> None:
    bad = {**RULE, "severity": "apocalyptic", "condition": {**RULE["condition"], "duration": "x"}}
    response = _save(operator, json.dumps(bad))
    assert response.status_code == 422
    assert "Regula nu este validă. Corectați aceste câmpuri:" in response.text
    assert "<code>severity</code>" in response.text
    assert "<code>condition.sustained.duration</code>" in response.text
    assert "apocalyptic" in response.text  # the text is kept in the editor
    assert console_app.state.rules.list("cluj") == []
    operator.cookies.set("cetate_lang", "en")
    response = _save(operator, json.dumps(bad))
    assert "The rule is not valid. Fix these fields:" in response.text


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "Textul nu este JSON valid"),
        ("[1, 2]", "O regulă este un obiect JSON"),
    ],
)
def test_rule_text_that_is_no_rule(operator: httpx.Client, document: str, message: str) -> None:
    response = _save(operator, document)
    assert response.status_code == 422
    assert message in response.text


def test_edit_disable_and_delete(console_app: FastAPI, operator: httpx.Client) -> None:
    console_app.state.rules.put("cluj", RULE)
    editor = operator.get(RULE_PATH)
    assert editor.status_code == 200
    assert "Modifică regula" in editor.text
    assert "container-full" in editor.text
    changed = {**RULE, "severity": "critical"}
    assert _save(operator, json.dumps(changed), editing=RULE_ID).status_code == 303
    assert console_app.state.rules.get("cluj", RULE_ID).severity == "critical"
    other = {**RULE, "id": "urn:ngsi-ld:Rule:cluj:other"}
    renamed = _save(operator, json.dumps(other), editing=RULE_ID)
    assert renamed.status_code == 422
    assert "Identificatorul nu se poate schimba" in renamed.text

    csrf = token_of(operator, "/rules")
    off = operator.post(RULE_PATH + "/enabled", data={"csrf": csrf, "enabled": "0"})
    assert off.status_code == 303
    assert console_app.state.rules.get("cluj", RULE_ID).enabled is False
    assert "dezactivată" in operator.get("/rules").text

    confirm = operator.get(RULE_PATH + "/delete")
    assert confirm.status_code == 200
    assert f"Ștergeți regula {RULE_ID}?" in confirm.text
    unconfirmed = operator.post(RULE_PATH + "/delete", data={"csrf": csrf})
    assert unconfirmed.status_code == 303
    assert console_app.state.rules.get("cluj", RULE_ID) is not None
    deleted = operator.post(RULE_PATH + "/delete", data={"csrf": csrf, "confirm": "yes"})
    assert deleted.headers["location"] == "/rules?done=deleted"
    assert console_app.state.rules.get("cluj", RULE_ID) is None
    gone = operator.post(RULE_PATH + "/delete", data={"csrf": csrf, "confirm": "yes"})
    assert gone.status_code == 404
    assert operator.get(RULE_PATH).status_code == 404


def test_viewer_reads_rules_without_forms(console_app: FastAPI, viewer: httpx.Client) -> None:
    console_app.state.rules.put("cluj", RULE)
    listing = viewer.get("/rules").text
    assert "Container plin" in listing
    assert "/rules/new" not in listing
    assert "/enabled" not in listing
    assert "/delete" not in listing
    page = viewer.get(RULE_PATH).text
    assert "<textarea" not in page
    assert "fillingLevel" in page
    assert viewer.get("/rules/new").status_code == 403
    assert viewer.get(RULE_PATH + "/delete").status_code == 403
    csrf = token_of(viewer, "/rules")
    assert viewer.post("/rules", data={"csrf": csrf, "document": "{}"}).status_code == 403
    refused = viewer.post(RULE_PATH + "/delete", data={"csrf": csrf, "confirm": "yes"})
    assert refused.status_code == 403
    assert console_app.state.rules.get("cluj", RULE_ID) is not None


# -- alerts -------------------------------------------------------------------------------------


def test_alerts_by_status_acknowledge_and_resolve(
    console_app: FastAPI, operator: httpx.Client
) -> None:
    first = open_alert(console_app, "cluj", "ep-1", severity="critical")
    open_alert(console_app, "cluj", "ep-2", severity="low")
    page = operator.get("/alerts")
    assert page.status_code == 200
    assert "Container plin ep-1" in page.text
    assert "Container plin ep-2" in page.text
    assert 'class="badge severity-critical">critică' in page.text
    assert 'class="badge severity-low">scăzută' in page.text
    assert "WasteContainer:cluj:0001" in page.text
    assert 'href="/entities/urn:ngsi-ld:WasteContainer:cluj:0001"' in page.text
    csrf = token_of(operator, "/alerts")
    url = "/alerts/" + path_segment(first)
    done = operator.post(url + "/acknowledge", data={"csrf": csrf, "back": "open"})
    assert done.status_code == 303
    after = operator.get(done.headers["location"]).text
    assert "Alerta a fost confirmată" in after
    assert "ep-1" not in after
    acknowledged = operator.get("/alerts", params={"status": "acknowledged"}).text
    assert "Container plin ep-1" in acknowledged
    assert "Confirmată de operator" in acknowledged
    assert "/acknowledge" not in acknowledged
    again = operator.post(url + "/acknowledge", data={"csrf": csrf, "back": "acknowledged"})
    assert again.status_code == 409
    assert "nu mai este deschisă" in again.text
    assert operator.post(url + "/resolve", data={"csrf": csrf}).status_code == 303
    resolved = operator.get("/alerts", params={"status": "resolved"}).text
    assert "Rezolvată de operator" in resolved
    assert "/resolve" not in resolved
    twice = operator.post(url + "/resolve", data={"csrf": csrf, "back": "resolved"})
    assert twice.status_code == 409
    assert "este deja rezolvată" in twice.text
    everything = operator.get("/alerts", params={"status": "all"}).text
    assert "ep-1" in everything
    assert "ep-2" in everything
    missing = operator.post(
        "/alerts/" + quote("urn:ngsi-ld:Alert:none", safe="") + "/resolve", data={"csrf": csrf}
    )
    assert missing.status_code == 404
    operator.cookies.set("cetate_lang", "en")
    english = operator.get("/alerts", params={"status": "all"}).text
    assert "Resolved by operator" in english
    assert 'class="badge severity-low">low' in english


def test_viewer_sees_alerts_without_buttons(console_app: FastAPI, viewer: httpx.Client) -> None:
    alert = open_alert(console_app, "cluj", "ep-9")
    page = viewer.get("/alerts").text
    assert "Container plin ep-9" in page
    assert "/acknowledge" not in page
    csrf = token_of(viewer, "/alerts")
    url = "/alerts/" + path_segment(alert) + "/acknowledge"
    assert viewer.post(url, data={"csrf": csrf}).status_code == 403
    assert "ep-9" in viewer.get("/alerts", params={"status": "open"}).text


def test_other_tenants_rules_and_alerts_stay_hidden(console_app: FastAPI) -> None:
    iasi_rule = {
        **RULE,
        "id": "urn:ngsi-ld:Rule:iasi:secret",
        "name": {"ro": "Iași secret", "en": "Iasi secret"},
    }
    console_app.state.rules.put("iasi", iasi_rule)
    alert = open_alert(console_app, "iasi", "iasi-episode")
    with signed_in_client(console_app, ADMIN[0]) as admin:
        assert "Iași secret" not in admin.get("/rules").text
        assert admin.get("/rules/" + path_segment(iasi_rule["id"])).status_code == 404
        assert "iasi-episode" not in admin.get("/alerts", params={"status": "all"}).text
        csrf = token_of(admin, "/alerts")
        url = "/alerts/" + path_segment(alert) + "/resolve"
        assert admin.post(url, data={"csrf": csrf}).status_code == 404
        rule_delete = "/rules/" + path_segment(iasi_rule["id"]) + "/delete"
        assert admin.post(rule_delete, data={"csrf": csrf, "confirm": "yes"}).status_code == 404
        assert console_app.state.rules.get("iasi", iasi_rule["id"]) is not None
        sign_in(admin, console_app, ADMIN[0], "iasi")
        assert "Iași secret" in admin.get("/rules").text
        assert "iasi-episode" in admin.get("/alerts").text


class _NotProvided:
    """A service this server does not provide yet: every method is the interface's stub."""

    def list(self, *args: object, **kwargs: object) -> list[object]:
        raise NotImplementedError

    get = acknowledge = resolve = put = delete = send = list


def test_pages_say_when_a_service_is_not_available(console_app: FastAPI) -> None:
    console_app.state.rules = _NotProvided()
    console_app.state.alerts = _NotProvided()
    console_app.state.commands = _NotProvided()
    add_profiles(console_app, "cluj")
    provision(console_app, "cluj", "lamp-1")
    with signed_in_client(console_app, OPERATOR[0]) as client:
        for path in ("/rules", "/alerts", RULE_PATH):
            page = client.get(path)
            assert page.status_code == 503, path
            assert "nu este încă disponibilă" in page.text
        device = client.get("/devices/lamp-1")
        assert device.status_code == 200
        assert "nu este încă disponibilă" in device.text
        csrf = token_of(client)
        sent = client.post("/devices/lamp-1/commands", data={"csrf": csrf, "name": "dim"})
        assert sent.status_code == 503
