"""Bad input to the Open311 API: each gets the Open311 error list with a fitting status and a
description that says what is wrong, and nothing is stored."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from cetate.domains.citizens.config import Limits, default_config
from cetate.domains.citizens.runtime import build_runtime
from tests.domains.citizens.conftest import Keys, report

V2 = "/open311/v2"
ORADEA = {"jurisdiction_id": "oradea"}


def _error(response: Any, status: int, *fragments: str) -> str:
    assert response.status_code == status, response.text
    [error] = response.json()
    assert set(error) == {"code", "description"}
    assert error["code"] == status
    for fragment in fragments:
        assert fragment in error["description"], error["description"]
    return str(error["description"])


def _nothing_stored(client: TestClient) -> None:
    assert client.get(f"{V2}/requests.json", params=ORADEA).json() == []


def _without(form: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in form.items() if k not in names}


BAD_FIELDS: list[tuple[dict[str, str], tuple[str, ...]]] = [
    ({"lat": "forty-seven"}, ("lat", "not a number")),
    ({"lat": "91"}, ("lat", "out of range")),
    ({"long": "-180.5"}, ("long", "out of range")),
    ({"lat": "nan"}, ("lat", "out of range")),
    ({"long": ""}, ("long is missing",)),
    ({"service_code": "volcano"}, ("service_code 'volcano'",)),
    ({"service_code": ""}, ("service_code is required",)),
    ({"description": "x" * 4001}, ("description has 4001 characters", "4000")),
    ({"address_string": "y" * 501}, ("address_string", "500")),
    ({"description": "nul \x00 byte"}, ("control characters",)),
    ({"first_name": "Ana\nPop"}, ("first_name", "control characters")),
    ({"email": "not-an-email"}, ("email", "not an e-mail")),
    ({"phone": "call me maybe"}, ("phone",)),
    ({"media_url": "javascript:alert(1)"}, ("media_url", "http(s)")),
    ({"attribute[colour]": "red"}, ("no attribute 'colour'",)),
    ({"attribute[size]": "gigantic"}, ("attribute[size]", "'gigantic' is not one of")),
]


def test_bad_fields(client: TestClient, keys: Keys) -> None:
    """One application for every case (the checks run before anything is stored)."""
    for change, fragments in BAD_FIELDS:
        form = report(keys.api_key["oradea"], **change)
        _error(client.post(f"{V2}/requests.json", data=form), 400, *fragments)
    _nothing_stored(client)


def test_missing_location(client: TestClient, keys: Keys) -> None:
    form = _without(report(keys.api_key["oradea"]), "lat", "long")
    _error(client.post(f"{V2}/requests.json", data=form), 400, "a location is required")
    form["address_string"] = "Strada Republicii 10"
    assert client.post(f"{V2}/requests.json", data=form).status_code == 201


def test_missing_required_attribute_and_bad_number(client: TestClient, keys: Keys) -> None:
    form = report(keys.api_key["oradea"], "overflowing_bin")
    _error(client.post(f"{V2}/requests.json", data=form), 400, "attribute[bin_type] is required")
    dumping = report(keys.api_key["oradea"], "illegal_dumping", **{"attribute[volume_m3]": "lots"})
    _error(client.post(f"{V2}/requests.json", data=dumping), 400, "volume_m3", "not a number")
    _nothing_stored(client)


def test_bad_api_key(client: TestClient, keys: Keys) -> None:
    platform_token = keys.operator["oradea"]["Authorization"].removeprefix("Bearer ")
    for api_key in ("", "o311_0000_wrong", platform_token, keys.api_key["oradea"] + "x"):
        form = report(api_key)
        _error(client.post(f"{V2}/requests.json", data=form), 403, "invalid api_key")
        xml = client.post(f"{V2}/requests.xml", data=form)
        assert xml.status_code == 403
        root = ET.fromstring(xml.content)
        assert root.tag == "errors"
        assert root.findtext("error/code") == "403"
        assert "invalid api_key" in (root.findtext("error/description") or "")
    _nothing_stored(client)


def test_revoked_api_key_stops_working(client: TestClient, keys: Keys) -> None:
    listed = client.get("/api/v1/oradea/citizens/api-keys", headers=keys.admin["oradea"]).json()
    [key] = listed
    revoked = client.delete(
        f"/api/v1/oradea/citizens/api-keys/{key['id']}", headers=keys.admin["oradea"]
    )
    assert revoked.json()["revoked"] is True
    form = report(keys.api_key["oradea"])
    _error(client.post(f"{V2}/requests.json", data=form), 403, "invalid api_key")


def test_not_an_image(client: TestClient, keys: Keys) -> None:
    files = {"media": ("photo.jpg", b"<?php echo 'hi'; ?>", "image/jpeg")}
    response = client.post(f"{V2}/requests.json", data=report(keys.api_key["oradea"]), files=files)
    _error(response, 415, "not a JPEG, PNG or WebP")
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    files = {"media": ("photo.png", gif.getvalue(), "image/png")}
    response = client.post(f"{V2}/requests.json", data=report(keys.api_key["oradea"]), files=files)
    _error(response, 415, "not a JPEG, PNG or WebP")
    _nothing_stored(client)


def test_media_file_and_media_url_together(client: TestClient, keys: Keys) -> None:
    png = io.BytesIO()
    Image.new("RGB", (10, 10)).save(png, format="PNG")
    form = report(keys.api_key["oradea"], media_url="https://example.org/a.png")
    files = {"media": ("a.png", png.getvalue(), "image/png")}
    _error(client.post(f"{V2}/requests.json", data=form, files=files), 400, "not both")


def test_too_large_photo(app: FastAPI, client: TestClient, keys: Keys) -> None:
    config = default_config()
    small = type(config)(
        services=config.services,
        limits=Limits(max_photo_bytes=2000),
    )
    build_runtime(app, small)
    noise = Image.effect_noise((200, 200), 80).convert("RGB")
    data = io.BytesIO()
    noise.save(data, format="PNG")
    assert len(data.getvalue()) > 2000
    files = {"media": ("big.png", data.getvalue(), "image/png")}
    response = client.post(f"{V2}/requests.json", data=report(keys.api_key["oradea"]), files=files)
    _error(response, 413, "bytes")
    huge = b"\xff" * 1_200_000  # past the photo limit plus the form allowance
    files = {"media": ("huge.jpg", huge, "image/jpeg")}
    response = client.post(f"{V2}/requests.json", data=report(keys.api_key["oradea"]), files=files)
    _error(response, 413, "at most")
    _nothing_stored(client)


def test_not_a_form(client: TestClient, keys: Keys) -> None:
    response = client.post(f"{V2}/requests.json", json=report(keys.api_key["oradea"]))
    _error(response, 415, "application/x-www-form-urlencoded")


BAD_LIST_PARAMETERS: list[tuple[dict[str, str], tuple[str, ...]]] = [
    ({"start_date": "yesterday"}, ("start_date 'yesterday'", "W3C")),
    ({"end_date": "2026-13-45"}, ("end_date",)),
    (
        {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
        ("start_date is after end_date",),
    ),
    ({"status": "pending"}, ("status 'pending'",)),
    ({"page": "0"}, ("page '0'", "1 to")),
    ({"page": "two"}, ("page 'two'",)),
    ({"page_size": "1001"}, ("page_size '1001'", "1000")),
    ({"service_code": "a;b"}, ("service_code 'a;b'",)),
    ({"service_request_id": ",".join(str(i) for i in range(101))}, ("at most 100",)),
]


def test_bad_list_parameters(client: TestClient) -> None:
    for params, fragments in BAD_LIST_PARAMETERS:
        _error(client.get(f"{V2}/requests.json", params={**ORADEA, **params}), 400, *fragments)


def test_unknown_things_are_open311_404s(client: TestClient) -> None:
    _error(client.get(f"{V2}/services/volcano.json"), 404, "service_code 'volcano'")
    _error(client.get(f"{V2}/requests/42.json", params=ORADEA), 404, "'42' does not exist")
    _error(client.get(f"{V2}/requests/abc.json", params=ORADEA), 404, "does not exist")
    _error(client.get(f"{V2}/services.yaml"), 404, "format 'yaml'")
    _error(client.get(f"{V2}/requests/42"), 404, "format")
    _error(client.get(f"{V2}/discovery/anything.json"), 404, "no Open311 resource")
    _error(client.get(f"{V2}/media/nothing.jpg"), 404, "no media")
    xml = client.get(f"{V2}/nothing.xml")
    assert xml.status_code == 404
    assert ET.fromstring(xml.content).tag == "errors"
