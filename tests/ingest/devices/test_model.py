"""Device specs: validation (good and bad) and the FIWARE Device entity."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cetate.entities import EntityService
from cetate.errors import BadRequestData
from cetate.ingest.devices.model import (
    DEVICE_CONTEXT,
    DeviceSpec,
    InvalidDeviceSpec,
    device_entity,
    device_entity_id,
    normalize_cert_fingerprint,
    parse_device_spec,
)
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import LOCATION
from cetate.ngsi.representation import expand_entity, render_entity
from cetate.store.base import open_store

SDM = "https://smartdatamodels.org/dataModel.Device/"
FINGERPRINT = "ab" * 32
BASE: dict[str, Any] = {"deviceId": "bin-0001", "profile": "bin-level-sensor-v1"}


@pytest.mark.parametrize(
    ("extra", "check"),
    [
        ({}, lambda s: s.transport == "mqtt" and s.category == ("sensor",)),
        ({"deviceId": "A_b-9"}, lambda s: s.device_id == "A_b-9"),
        ({"deviceId": "x" * 64}, lambda s: len(s.device_id) == 64),
        ({"deviceId": "  bin-7 "}, lambda s: s.device_id == "bin-7"),
        ({"name": "Coș Piața Unirii"}, lambda s: s.name == "Coș Piața Unirii"),
        ({"name": ""}, lambda s: s.name is None),
        ({"deviceCategory": "HVAC; meter"}, lambda s: s.category == ("HVAC", "meter")),
        ({"deviceCategory": ["hvac", "Sensor"]}, lambda s: s.category == ("HVAC", "sensor")),
        ({"deviceCategory": ["parkingSensor"]}, lambda s: s.category == ("parkingSensor",)),
        (
            {"controlledProperty": "fillingLevel|temperature|fillingLevel"},
            lambda s: s.controlled_property == ("fillingLevel", "temperature"),
        ),
        ({"lon": 23.5899, "lat": 46.7697}, lambda s: (s.lon, s.lat) == (23.5899, 46.7697)),
        ({"lon": -180, "lat": 90}, lambda s: (s.lon, s.lat) == (-180, 90)),
        ({"tags": "centru; sticlă ;zona-1"}, lambda s: s.tags == ("centru", "sticlă", "zona-1")),
        ({"tags": ["a", "a"]}, lambda s: s.tags == ("a",)),
        ({"transport": "HTTP"}, lambda s: s.transport == "http" and s.uses_http),
        ({"transport": "both"}, lambda s: s.uses_http and s.uses_mqtt),
        ({"entityId": "urn:ngsi-ld:WasteContainer:cluj:1"}, lambda s: s.entity_id is not None),
        ({"entityId": ""}, lambda s: s.entity_id is None),
        ({"certFingerprint": "AB:" * 31 + "AB"}, lambda s: s.cert_fingerprint == FINGERPRINT),
        ({"deviceModel": "urn:ngsi-ld:DeviceModel:x"}, lambda s: s.device_model is not None),
        ({"device_id": "snake", "cert_fingerprint": FINGERPRINT}, lambda s: s.device_id == "snake"),
    ],
)
def test_good_specs(extra: dict[str, Any], check: Any) -> None:
    data = BASE | extra
    if "device_id" in extra:
        data.pop("deviceId")
    assert check(parse_device_spec(data))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"deviceId": ""}, "device id '' is not valid (it is empty)"),
        ({"deviceId": "bin/1"}, "device id 'bin/1' is not valid"),
        ({"deviceId": "bin.1"}, "device id 'bin.1' is not valid"),
        ({"deviceId": "-bin"}, "starting with a letter or digit"),
        ({"deviceId": "x" * 65}, "(it has 65 characters)"),
        ({"deviceId": "coș"}, "ASCII letters"),
        ({"profile": "bad profile"}, "profile name 'bad profile' is not valid"),
        ({"name": "a\nb"}, "control characters"),
        ({"name": "n" * 201}, "longer than 200"),
        ({"deviceCategory": ["two words"]}, "category 'two words' is not valid"),
        ({"controlledProperty": ["fill-level"]}, "controlled property 'fill-level'"),
        ({"lon": 200, "lat": 45}, "longitude 200.0 is out of range"),
        ({"lon": 23, "lat": 95}, "latitude 95.0 is out of range (−90…90)"),
        ({"lon": 46, "lat": 123.5}, "are longitude and latitude swapped?"),
        ({"lon": 23.5}, "latitude is missing"),
        ({"lat": 46.7}, "longitude is missing"),
        ({"lon": float("nan"), "lat": 1}, "lon: "),
        ({"tags": ["two words"]}, "tag 'two words' is not valid"),
        ({"tags": [f"t{i}" for i in range(33)]}, "more than 32 tags"),
        ({"transport": "coap"}, "unknown transport 'coap': use mqtt, http or both"),
        ({"entityId": "bin 1"}, "is not an absolute URI"),
        ({"deviceModel": "model-1"}, "device model 'model-1' is not an absolute URI"),
        ({"certFingerprint": "abc"}, "expected 64 hex digits"),
        ({"certFingerprint": "sha1 Fingerprint=" + "AB:" * 19 + "AB"}, "not a SHA-256"),
        ({"colour": "red"}, "colour: unknown field"),
    ],
)
def test_bad_specs_say_what_to_fix(extra: dict[str, Any], expected: str) -> None:
    with pytest.raises(InvalidDeviceSpec) as caught:
        parse_device_spec(BASE | extra)
    assert expected in caught.value.detail
    assert caught.value.status == 400
    assert caught.value.problems


def test_missing_required_fields_are_all_listed() -> None:
    with pytest.raises(InvalidDeviceSpec) as caught:
        parse_device_spec({})
    assert caught.value.problems == [
        "deviceId: required, but missing",
        "profile: required, but missing",
    ]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidDeviceSpec) as caught:
        parse_device_spec(BASE | {"transport": "x", "tags": ["a b"], "lon": 500, "lat": 1})
    assert len(caught.value.problems) == 3
    assert caught.value.detail.startswith("device 'bin-0001' is not valid: ")


@pytest.mark.parametrize(
    "text",
    [
        FINGERPRINT,
        FINGERPRINT.upper(),
        ":".join(FINGERPRINT[i : i + 2] for i in range(0, 64, 2)),
        "sha256 Fingerprint=" + ":".join(FINGERPRINT[i : i + 2] for i in range(0, 64, 2)),
        "SHA256:" + FINGERPRINT,
    ],
)
def test_fingerprint_spellings(text: str) -> None:
    assert normalize_cert_fingerprint(text) == FINGERPRINT


def test_specs_are_immutable() -> None:
    spec = parse_device_spec(BASE)
    with pytest.raises(ValueError, match="frozen"):
        spec.profile = "other"  # type: ignore[misc]


def test_entity_id_checks_tenant_and_device() -> None:
    assert device_entity_id("cluj", "bin-1") == "urn:ngsi-ld:Device:cluj:bin-1"
    with pytest.raises(BadRequestData):
        device_entity_id("Cluj Napoca", "bin-1")
    with pytest.raises(BadRequestData):
        device_entity_id("cluj", "bin/1")


FULL = DeviceSpec(
    device_id="bin-0042",
    profile="bin-level-sensor-v1",
    name="Coș stradal, Piața Unirii",
    category=("sensor",),
    controlled_property=("fillingLevel", "temperature"),
    entity_id="urn:ngsi-ld:WasteContainer:cluj:0042",
    lon=23.5899,
    lat=46.7697,
    tags=("centru", "sticlă"),
    transport="both",
    cert_fingerprint=FINGERPRINT,
    device_model="urn:ngsi-ld:DeviceModel:bin-level-v1",
)
INSTALLED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_device_entity_is_the_fiware_device_in_normalized_form() -> None:
    entity = device_entity(FULL, "cluj", installed_at=INSTALLED)
    assert entity == {
        "id": "urn:ngsi-ld:Device:cluj:bin-0042",
        "type": "Device",
        "deviceCategory": {"type": "Property", "value": ["sensor"]},
        "deviceState": {"type": "Property", "value": "provisioned"},
        "dateInstalled": {
            "type": "Property",
            "value": {"@type": "DateTime", "@value": "2026-11-23T10:00:00.000Z"},
        },
        "supportedProtocol": {"type": "Property", "value": ["mqtt", "http"]},
        "deviceProfile": {"type": "Property", "value": "bin-level-sensor-v1"},
        "name": {"type": "Property", "value": "Coș stradal, Piața Unirii"},
        "controlledProperty": {"type": "Property", "value": ["fillingLevel", "temperature"]},
        "controlledAsset": {
            "type": "Relationship",
            "object": "urn:ngsi-ld:WasteContainer:cluj:0042",
        },
        "refDeviceModel": {
            "type": "Relationship",
            "object": "urn:ngsi-ld:DeviceModel:bin-level-v1",
        },
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [23.5899, 46.7697]},
        },
        "tags": {"type": "Property", "value": ["centru", "sticlă"]},
        "@context": [DEVICE_CONTEXT],
    }
    assert FINGERPRINT not in str(entity)


def test_minimal_entity_leaves_out_what_is_not_known() -> None:
    entity = device_entity(parse_device_spec(BASE), "cluj", installed_at=INSTALLED)
    assert set(entity) == {
        "id",
        "type",
        "deviceCategory",
        "deviceState",
        "dateInstalled",
        "supportedProtocol",
        "deviceProfile",
        "@context",
    }


@pytest.fixture(scope="module")
def resolver() -> ContextResolver:
    return ContextResolver()


def test_the_platform_expands_it_with_the_device_context(resolver: ContextResolver) -> None:
    entity = device_entity(FULL, "cluj", installed_at=INSTALLED)
    stored = expand_entity(entity, resolver.resolve(entity["@context"]))
    assert stored["type"] == [SDM + "Device"]
    for term in (
        "deviceCategory",
        "controlledProperty",
        "controlledAsset",
        "refDeviceModel",
        "deviceState",
        "dateInstalled",
        "supportedProtocol",
    ):
        assert SDM + term in stored, term
    assert stored["https://smartdatamodels.org/name"][0]["value"] == FULL.name
    assert stored[LOCATION][0]["type"] == "GeoProperty"
    default = "https://uri.etsi.org/ngsi-ld/default-context/"
    assert stored[default + "deviceProfile"][0]["value"] == "bin-level-sensor-v1"
    assert stored[default + "tags"][0]["value"] == ["centru", "sticlă"]


def test_the_platform_stores_it_and_gives_it_back(
    tmp_path: Path, resolver: ContextResolver
) -> None:
    entity = device_entity(FULL, "cluj", installed_at=INSTALLED)
    context = resolver.resolve(entity["@context"])
    store = open_store(f"sqlite:///{tmp_path / 'cetate.db'}")
    store.migrate()
    try:
        EntityService(store).create("cluj", expand_entity(entity, context))
        stored = store.get_entity("cluj", "urn:ngsi-ld:Device:cluj:bin-0042")
        assert stored is not None
        rendered = render_entity(stored, context)
        expected = {key: value for key, value in entity.items() if key != "@context"}
        assert rendered == expected
    finally:
        store.close()
