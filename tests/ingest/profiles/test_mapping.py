"""map_payload: payloads through profiles into stored-form instances, or rejections."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cetate.entities import EntityService
from cetate.ingest.profiles import (
    REASON_CODES,
    DeviceProfile,
    MappingResult,
    check_profile,
    compile_profile,
    load_profile,
    map_payload,
)
from cetate.ingest.profiles.mapping import MAX_REJECTIONS
from cetate.ngsi import updates
from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.model import LOCATION
from cetate.store.base import EntityQuery, TemporalQuery, open_store
from tests.ingest.profiles.helpers import BIN_PROFILE, DEFAULT, WM, profile_document

RECEIVED = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
RECEIVED_TEXT = "2026-11-23T10:00:00.000Z"
FILL = WM + "fillingLevel"
TEMPERATURE = WM + "temperature"
CONTAINER = WM + "WasteContainer"


def profile_with(*measurements: dict[str, Any], **changes: Any) -> DeviceProfile:
    if measurements:
        changes["measurements"] = list(measurements)
    return load_profile(profile_document(**changes))


def run(
    profile: DeviceProfile,
    payload: Any,
    context: LdContext,
    *,
    device: str = "cluj-0001",
    received: datetime = RECEIVED,
) -> MappingResult:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return map_payload(profile, device, raw, received, context)


def values(result: MappingResult, attr: str = FILL) -> list[Any]:
    assert result.accepted, result.rejections
    return [reading.attributes[attr][0]["value"] for reading in result.readings]


def reasons(result: MappingResult) -> list[tuple[str, str | None, int | None]]:
    return [(r.reason, r.key, r.reading) for r in result.rejections]


# -- the issue's example --------------------------------------------------------------------


def test_issue_example_f63_becomes_filling_level_063_with_unit_code_p1(
    waste_context: LdContext,
) -> None:
    result = run(load_profile(BIN_PROFILE), {"f": 63}, waste_context)
    assert result.accepted
    assert result.reason is None
    assert result.entity_id == "urn:ngsi-ld:WasteContainer:cluj-0001"
    assert result.entity_type == CONTAINER
    (reading,) = result.readings
    assert reading.index == 0
    assert reading.observed_at == RECEIVED_TEXT
    assert reading.attributes == {
        FILL: [{"type": "Property", "value": 0.63, "observedAt": RECEIVED_TEXT, "unitCode": "P1"}]
    }
    assert result.value_count == 1
    assert result.new_entity is None
    assert result.entity_fragments() == [
        {"id": "urn:ngsi-ld:WasteContainer:cluj-0001", "type": [CONTAINER], **reading.attributes}
    ]


def test_fill_level_schema_bounds_reject_more_than_100_percent(waste_context: LdContext) -> None:
    result = run(load_profile(BIN_PROFILE), {"f": 100.5}, waste_context)
    assert reasons(result) == [("out_of_range", "f", None)]
    assert "100.5 (converted: 1.005) is outside the range [0, 1]" in result.rejections[0].message


# -- every rejection reason --------------------------------------------------------------


REJECTED: list[tuple[str, bytes, str]] = [
    ("zero bytes", b"", "empty"),
    ("whitespace", b"  \n\t ", "empty"),
    ("empty object", b"{}", "empty"),
    ("empty array", b"[]", "empty"),
    ("only an ignored key", b'{"rssi": -70}', "empty"),
    ("truncated", b'{"f": 6', "malformed_json"),
    ("NaN is not JSON", b'{"f": NaN}', "malformed_json"),
    ("single quotes", b"{'f': 63}", "malformed_json"),
    ("not UTF-8", b'{"f": "\xff"}', "malformed_json"),
    ("trailing garbage", b'{"f": 63} x', "malformed_json"),
    ("number", b"63", "not_an_object"),
    ("string", b'"f=63"', "not_an_object"),
    ("null", b"null", "not_an_object"),
    ("array of numbers", b"[63]", "not_an_object"),
    ("unknown key", b'{"f": 63, "g": 1}', "unknown_key"),
    ("string for number", b'{"f": "63"}', "wrong_type"),
    ("boolean for number", b'{"f": true}', "wrong_type"),
    ("null value", b'{"f": null}', "wrong_type"),
    ("object for number", b'{"f": {"v": 63}}', "wrong_type"),
    ("too high", b'{"f": 101}', "out_of_range"),
    ("negative", b'{"f": -1}', "out_of_range"),
    ("huge", b'{"f": 1e308}', "out_of_range"),
    ("bad time text", b'{"f": 63, "ts": "yesterday"}', "bad_timestamp"),
    ("oversized", b'{"f": 63, "pad": "' + b"x" * 300 + b'"}', "oversized"),
]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [(payload, reason) for _, payload, reason in REJECTED],
    ids=[label for label, _, _ in REJECTED],
)
def test_every_rejection_reason(waste_context: LdContext, payload: bytes, reason: str) -> None:
    profile = profile_with(
        *BIN_PROFILE["measurements"], observedAt="ts", ignoredKeys=["rssi"], maxPayloadBytes=256
    )
    result = run(profile, payload, waste_context)
    assert not result.accepted
    assert result.readings == ()
    assert result.new_entity is None
    assert result.reason == reason
    assert reason in REASON_CODES
    assert all(rejection.message for rejection in result.rejections)
    assert result.entity_id == "urn:ngsi-ld:WasteContainer:cluj-0001"


def test_all_reason_codes_are_exercised() -> None:
    tested = {reason for _, _, reason in REJECTED} | {"missing_key", "bad_entity_id"}
    assert tested == set(REASON_CODES)


def test_the_payload_limit_is_inclusive(waste_context: LdContext) -> None:
    payload = b'{"f": 63}'
    exact = profile_with(maxPayloadBytes=len(payload))
    assert run(exact, payload, waste_context).accepted
    smaller = profile_with(maxPayloadBytes=len(payload) - 1)
    result = run(smaller, payload, waste_context)
    assert result.reason == "oversized"
    assert "the payload is 9 bytes" in result.rejections[0].message


def test_too_many_readings_is_oversized(waste_context: LdContext) -> None:
    profile = profile_with(maxReadings=2, observedAt="ts")
    readings = [{"f": 10, "ts": 1_790_000_000 + i} for i in range(3)]
    result = run(profile, readings, waste_context)
    assert reasons(result) == [("oversized", None, None)]
    assert run(profile, readings[:2], waste_context).accepted


def test_missing_required_key(waste_context: LdContext) -> None:
    profile = profile_with(
        {"key": "f", "attribute": "fillingLevel", "required": True},
        {"key": "t", "attribute": "temperature"},
    )
    result = run(profile, {"t": 20}, waste_context)
    assert reasons(result) == [("missing_key", "f", None)]
    assert "'f' is required by profile 'bin-level-sensor-v1'" in result.rejections[0].message


def test_missing_optional_key_is_just_absent(waste_context: LdContext) -> None:
    profile = profile_with(
        {"key": "f", "attribute": "fillingLevel"}, {"key": "t", "attribute": "temperature"}
    )
    result = run(profile, {"t": 20}, waste_context)
    assert result.accepted
    assert list(result.readings[0].attributes) == [TEMPERATURE]


@pytest.mark.parametrize("device", ["has space", 'quote"d', "", "a{b}"])
def test_device_id_that_makes_no_uri_is_bad_entity_id(
    waste_context: LdContext, device: str
) -> None:
    result = run(load_profile(BIN_PROFILE), {"f": 63}, waste_context, device=device)
    assert reasons(result) == [("bad_entity_id", None, None)]
    assert result.entity_id is None
    assert result.entity_fragments() == []


# -- the whole-message policy ----------------------------------------------------------------


def test_one_bad_value_rejects_the_whole_message_and_every_problem_is_listed(
    waste_context: LdContext,
) -> None:
    profile = profile_with(
        *BIN_PROFILE["measurements"],
        {"key": "t", "attribute": "temperature", "range": [-40, 85]},
        {"key": "m", "attribute": "methaneConcentration"},
    )
    result = run(profile, {"f": 63, "t": 120, "m": "high", "x": 1}, waste_context)
    assert not result.accepted
    assert result.readings == ()
    assert reasons(result) == [
        ("unknown_key", "x", None),
        ("out_of_range", "t", None),
        ("wrong_type", "m", None),
    ]


def test_one_bad_reading_rejects_the_whole_batch(waste_context: LdContext) -> None:
    profile = profile_with(observedAt="ts")
    batch = [
        {"f": 10, "ts": "2026-11-23T09:00:00Z"},
        {"f": 200, "ts": "2026-11-23T09:10:00Z"},
        {"f": 30, "ts": "2026-11-23T09:20:00Z"},
        "oops",
    ]
    result = run(profile, batch, waste_context)
    assert result.readings == ()
    assert reasons(result) == [("out_of_range", "f", 1), ("not_an_object", None, 3)]
    assert (
        result.rejections[1].message == "reading 3 must be a JSON object of key → value, got string"
    )


def test_rejections_are_capped(waste_context: LdContext) -> None:
    profile = profile_with(observedAt="ts", maxReadings=1000)
    batch = [{"f": -1, "ts": 1_790_000_000 + i} for i in range(300)]
    result = run(profile, batch, waste_context)
    assert len(result.rejections) == MAX_REJECTIONS
    assert "more problems not listed" in result.rejections[-1].message
    assert "more problems" not in result.rejections[-2].message


# -- types --------------------------------------------------------------------------------

TYPED: list[tuple[str, Any, bool, Any]] = [
    ("number", 63, True, 63),
    ("number", 63.5, True, 63.5),
    ("number", -0.0, True, -0.0),
    ("number", "63", False, None),
    ("number", True, False, None),
    ("number", [63], False, None),
    ("integer", 63, True, 63),
    ("integer", 63.0, True, 63),
    ("integer", 63.5, False, None),
    ("integer", False, False, None),
    ("string", "open", True, "open"),
    ("string", "", True, ""),
    ("string", "Mănăștur", True, "Mănăștur"),
    ("string", 5, False, None),
    ("boolean", True, True, True),
    ("boolean", False, True, False),
    ("boolean", 1, False, None),
    ("boolean", "true", False, None),
]


@pytest.mark.parametrize(("kind", "given", "ok", "stored"), TYPED)
def test_expected_json_types(
    waste_context: LdContext, kind: str, given: Any, ok: bool, stored: Any
) -> None:
    profile = profile_with({"key": "v", "attribute": "status1", "type": kind})
    result = run(profile, {"v": given}, waste_context)
    if ok:
        (value,) = values(result, DEFAULT + "status1")
        assert value == stored
        assert type(value) is type(stored)
    else:
        assert reasons(result) == [("wrong_type", "v", None)]
        assert f"'v' must be {'an' if kind == 'integer' else 'a'} {kind}" in (
            result.rejections[0].message
        )


def test_relationship_takes_the_entity_id_from_the_payload(waste_context: LdContext) -> None:
    profile = profile_with(
        {
            "key": "isle",
            "attribute": "refWasteContainerIsle",
            "kind": "Relationship",
            "type": "string",
        }
    )
    result = run(profile, {"isle": "urn:ngsi-ld:WasteContainerIsle:7"}, waste_context)
    assert result.readings[0].attributes[WM + "refWasteContainerIsle"] == [
        {
            "type": "Relationship",
            "object": "urn:ngsi-ld:WasteContainerIsle:7",
            "observedAt": RECEIVED_TEXT,
        }
    ]
    bad = run(profile, {"isle": "isle 7"}, waste_context)
    assert reasons(bad) == [("wrong_type", "isle", None)]
    assert "must be the id (a URI) of the related entity" in bad.rejections[0].message


def test_geoproperty_from_a_geojson_object(waste_context: LdContext) -> None:
    profile = profile_with(
        {"key": "pos", "attribute": "location", "kind": "GeoProperty", "type": "geojson"}
    )
    point = {"type": "Point", "coordinates": [23.59, 46.77]}
    result = run(profile, {"pos": point}, waste_context)
    assert result.readings[0].attributes[LOCATION] == [
        {"type": "GeoProperty", "value": point, "observedAt": RECEIVED_TEXT}
    ]
    for bad in ({"type": "Point", "coordinates": [200, 46]}, [23.59, 46.77], "POINT(1 2)"):
        result = run(profile, {"pos": bad}, waste_context)
        assert reasons(result) == [("wrong_type", "pos", None)], bad
        assert "must be a GeoJSON geometry object" in result.rejections[0].message


def test_dataset_id_and_unit_code_are_carried(waste_context: LdContext) -> None:
    profile = profile_with(
        {"key": "t1", "attribute": "temperature", "unitCode": "CEL"},
        {
            "key": "t2",
            "attribute": "temperature",
            "unitCode": "CEL",
            "datasetId": "urn:ngsi-ld:Dataset:outside",
        },
    )
    result = run(profile, {"t1": 21.5, "t2": -3}, waste_context)
    assert result.readings[0].attributes[TEMPERATURE] == [
        {"type": "Property", "value": 21.5, "observedAt": RECEIVED_TEXT, "unitCode": "CEL"},
        {
            "type": "Property",
            "value": -3,
            "observedAt": RECEIVED_TEXT,
            "unitCode": "CEL",
            "datasetId": "urn:ngsi-ld:Dataset:outside",
        },
    ]
    assert result.value_count == 2


# -- conversions and ranges --------------------------------------------------------------

CONVERTED: list[tuple[Any, Any, Any]] = [
    ("percent_to_fraction", 63, 0.63),
    ("percent_to_fraction", 57, 0.57),
    ("fahrenheit_to_celsius", 212, 100.0),
    ("kelvin_to_celsius", 293.15, 20.0),
    ("millivolt_to_volt", 3300, 3.3),
    ({"scale": 0.1, "offset": -40}, 653, 25.3),
    ({"scale": 2}, 21, 42.0),
    ({"offset": 1.5}, 1, 2.5),
]


@pytest.mark.parametrize(("conversion", "given", "expected"), CONVERTED)
def test_conversions(waste_context: LdContext, conversion: Any, given: Any, expected: Any) -> None:
    profile = profile_with({"key": "v", "attribute": "temperature", "conversion": conversion})
    assert values(run(profile, {"v": given}, waste_context), TEMPERATURE) == [expected]


def test_decimals_round_after_conversion(waste_context: LdContext) -> None:
    profile = profile_with(
        {
            "key": "t",
            "attribute": "temperature",
            "conversion": "fahrenheit_to_celsius",
            "decimals": 2,
        }
    )
    assert values(run(profile, {"t": 50.5}, waste_context), TEMPERATURE) == [10.28]


RANGES: list[tuple[list[float | None], Any, bool]] = [
    ([0, 1], 0, True),  # inclusive low
    ([0, 1], 100, True),  # inclusive high (after conversion: 1.0)
    ([0, 1], 100.0001, False),
    ([0, 1], -0.0001, False),
    ([0.5, None], 50, True),
    ([0.5, None], 49.9, False),
    ([0.5, None], 1e6, True),
    ([None, 0.1], -1e6, True),
    ([None, 0.1], 10, True),
    ([None, 0.1], 10.5, False),
]


@pytest.mark.parametrize(("bounds", "given", "ok"), RANGES)
def test_range_is_checked_after_conversion_and_inclusive(
    waste_context: LdContext, bounds: list[float | None], given: Any, ok: bool
) -> None:
    profile = profile_with(
        {
            "key": "f",
            "attribute": "fillingLevel",
            "conversion": "percent_to_fraction",
            "range": bounds,
        }
    )
    result = run(profile, {"f": given}, waste_context)
    assert result.accepted is ok
    if not ok:
        assert reasons(result) == [("out_of_range", "f", None)]


def test_range_applies_to_the_rounded_value(waste_context: LdContext) -> None:
    profile = profile_with(
        {"key": "f", "attribute": "fillingLevel", "range": [0, 1], "decimals": 2}
    )
    assert values(run(profile, {"f": 1.004}, waste_context)) == [1.0]
    assert reasons(run(profile, {"f": 1.006}, waste_context)) == [("out_of_range", "f", None)]


def test_open_range_end_is_shown_as_infinity(waste_context: LdContext) -> None:
    profile = profile_with({"key": "f", "attribute": "fillingLevel", "range": [None, 1]})
    result = run(profile, {"f": 2}, waste_context)
    assert "outside the range [−∞, 1]" in result.rejections[0].message


# -- nested keys ----------------------------------------------------------------------------


def test_nested_keys_and_array_indexes(waste_context: LdContext) -> None:
    profile = profile_with(
        {
            "key": "sensors.fill.pct",
            "attribute": "fillingLevel",
            "conversion": "percent_to_fraction",
        },
        {"key": "sensors.temps.1", "attribute": "temperature"},
        {"key": "meta\\.v2", "attribute": "firmware", "type": "string"},
        ignoredKeys=["sensors.temps.0"],
    )
    payload = {
        "sensors": {"fill": {"pct": 42}, "temps": [18.0, 19.5]},
        "meta.v2": "1.4.0",
    }
    result = run(profile, payload, waste_context)
    attributes = result.readings[0].attributes
    assert attributes[FILL][0]["value"] == 0.42
    assert attributes[TEMPERATURE][0]["value"] == 19.5
    assert attributes[DEFAULT + "firmware"][0]["value"] == "1.4.0"


def test_unknown_nested_keys_are_named_by_their_path(waste_context: LdContext) -> None:
    profile = profile_with(
        {"key": "sensors.fill", "attribute": "fillingLevel"},
        {"key": "sensors.temps.0", "attribute": "temperature"},
        ignoredKeys=["diag"],
    )
    payload = {
        "sensors": {"fill": 0.5, "temps": [18.0, 19.5], "hum": 40},
        "diag": {"rssi": -70, "snr": 9},
        "bat": 3.6,
    }
    result = run(profile, payload, waste_context)
    assert reasons(result) == [
        ("unknown_key", "sensors.temps.1", None),
        ("unknown_key", "sensors.hum", None),
        ("unknown_key", "bat", None),
    ]


def test_nested_key_under_a_scalar_is_missing_not_unknown(waste_context: LdContext) -> None:
    profile = profile_with({"key": "sensors.fill", "attribute": "fillingLevel", "required": True})
    result = run(profile, {"sensors": 5}, waste_context)
    assert reasons(result) == [("missing_key", "sensors.fill", None)]


# -- unknown keys: strict and lenient ----------------------------------------------------------


def test_strict_mode_rejects_unknown_keys(waste_context: LdContext) -> None:
    result = run(load_profile(BIN_PROFILE), {"f": 63, "bat": 3.6, "rssi": -70}, waste_context)
    assert reasons(result) == [("unknown_key", "bat", None), ("unknown_key", "rssi", None)]
    assert "add it to ignoredKeys, or set unknownKeys to ignore" in result.rejections[0].message


def test_lenient_mode_skips_and_reports_unknown_keys(waste_context: LdContext) -> None:
    profile = profile_with(unknownKeys="ignore", ignoredKeys=["rssi"], observedAt="ts")
    batch = [
        {"f": 63, "bat": 3.6, "rssi": -70, "ts": 1_795_420_000},
        {"f": 64, "bat": 3.5, "extra": {"a": 1}, "ts": 1_795_420_060},
    ]
    result = run(profile, batch, waste_context)
    assert values(result) == [0.63, 0.64]
    assert result.ignored_keys == ("bat", "extra")  # each once; ignoredKeys are not reported


def test_lenient_mode_still_rejects_a_reading_with_nothing_to_store(
    waste_context: LdContext,
) -> None:
    profile = profile_with(unknownKeys="ignore")
    result = run(profile, {"bat": 3.6}, waste_context)
    assert reasons(result) == [("empty", None, None)]
    assert "no measurement of profile 'bin-level-sensor-v1' in the reading" in (
        result.rejections[0].message
    )
    assert result.ignored_keys == ("bat",)


def test_ignored_keys_are_accepted_in_strict_mode(waste_context: LdContext) -> None:
    profile = profile_with(ignoredKeys=["rssi", "diag"])
    result = run(profile, {"f": 63, "rssi": -70, "diag": {"snr": 9}}, waste_context)
    assert values(result) == [0.63]
    assert result.ignored_keys == ()


# -- timestamps ---------------------------------------------------------------------------

TIMESTAMPS: list[tuple[str, Any, str]] = [
    ("auto", "2026-11-23T09:59:00Z", "2026-11-23T09:59:00.000Z"),
    ("auto", "2026-11-23T11:59:00+02:00", "2026-11-23T09:59:00.000Z"),
    ("auto", "2026-11-23T09:59:00.123456Z", "2026-11-23T09:59:00.123Z"),
    ("auto", "2026-11-23T09:59:00", "2026-11-23T09:59:00.000Z"),  # naive is UTC
    ("auto", 1795427940, "2026-11-23T09:59:00.000Z"),
    ("auto", 1795427940.5, "2026-11-23T09:59:00.500Z"),
    ("auto", 1795427940123, "2026-11-23T09:59:00.123Z"),
    ("iso8601", "2026-11-23T09:59:00Z", "2026-11-23T09:59:00.000Z"),
    ("epoch_s", 1795427940, "2026-11-23T09:59:00.000Z"),
    ("epoch_ms", 1795427940123, "2026-11-23T09:59:00.123Z"),
    ("epoch_ms", 1795427940123.0, "2026-11-23T09:59:00.123Z"),
]


@pytest.mark.parametrize(("fmt", "given", "stored"), TIMESTAMPS)
def test_timestamps_in_the_payload(
    waste_context: LdContext, fmt: str, given: Any, stored: str
) -> None:
    profile = profile_with(observedAt={"key": "ts", "format": fmt})
    result = run(profile, {"f": 63, "ts": given}, waste_context)
    assert result.accepted, result.rejections
    assert result.readings[0].observed_at == stored
    assert result.readings[0].attributes[FILL][0]["observedAt"] == stored


BAD_TIMESTAMPS: list[tuple[str, Any, str]] = [
    ("auto", "yesterday", "is not an ISO 8601 date-time"),
    ("auto", True, "expected an ISO 8601 string or epoch seconds/milliseconds, got boolean"),
    ("auto", None, "got null"),
    ("auto", 0, "is before 2000"),
    ("auto", "1970-01-01T00:00:00Z", "is before 2000"),
    ("auto", 1e20, "not a usable epoch time in milliseconds"),
    ("auto", "2026-11-23T10:05:00.001Z", "more than 300 s after the message was received"),
    ("iso8601", 1795427940, "expected an ISO 8601 string, got number"),
    ("epoch_s", "2026-11-23T09:59:00Z", "expected a number of epoch seconds"),
    ("epoch_ms", "1795427940123", "expected a number of epoch milliseconds, got string"),
    ("epoch_s", 1795427940123, "not a usable epoch time in seconds"),  # ms read as s
    ("epoch_s", 1795427940 + 3600, "the device's clock is ahead"),
    ("epoch_ms", 1795427940, "is before 2000"),  # seconds read as milliseconds: 1970
]


@pytest.mark.parametrize(("fmt", "given", "message"), BAD_TIMESTAMPS)
def test_bad_timestamps(waste_context: LdContext, fmt: str, given: Any, message: str) -> None:
    profile = profile_with(observedAt={"key": "ts", "format": fmt})
    result = run(profile, {"f": 63, "ts": given}, waste_context)
    assert reasons(result) == [("bad_timestamp", "ts", None)]
    assert message in result.rejections[0].message


def test_future_limit_is_inclusive_and_configurable(waste_context: LdContext) -> None:
    profile = profile_with(observedAt="ts", maxFutureSeconds=60)
    at_limit = (RECEIVED + timedelta(seconds=60)).isoformat()
    past_limit = (RECEIVED + timedelta(seconds=60, milliseconds=1)).isoformat()
    assert run(profile, {"f": 1, "ts": at_limit}, waste_context).accepted
    assert run(profile, {"f": 1, "ts": past_limit}, waste_context).reason == "bad_timestamp"


def test_single_reading_without_its_timestamp_gets_the_receive_time(
    waste_context: LdContext,
) -> None:
    profile = profile_with(observedAt="ts")
    result = run(profile, {"f": 63}, waste_context)
    assert result.readings[0].observed_at == RECEIVED_TEXT


def test_naive_receive_time_is_utc(waste_context: LdContext) -> None:
    result = run(
        load_profile(BIN_PROFILE), {"f": 63}, waste_context, received=datetime(2026, 11, 23, 10)
    )
    assert result.readings[0].observed_at == RECEIVED_TEXT


def test_measurement_can_have_its_own_timestamp_key(waste_context: LdContext) -> None:
    profile = profile_with(
        {"key": "f", "attribute": "fillingLevel"},
        {
            "key": "t",
            "attribute": "temperature",
            "observedAt": {"key": "t_at", "format": "epoch_s"},
        },
        observedAt="ts",
    )
    payload = {"f": 0.5, "ts": "2026-11-23T09:00:00Z", "t": 4, "t_at": 1795424400 - 600}
    attributes = run(profile, payload, waste_context).readings[0].attributes
    assert attributes[FILL][0]["observedAt"] == "2026-11-23T09:00:00.000Z"
    assert attributes[TEMPERATURE][0]["observedAt"] == "2026-11-23T08:50:00.000Z"


# -- batches ------------------------------------------------------------------------------


def test_array_of_readings_gives_instance_sets_in_payload_order(waste_context: LdContext) -> None:
    profile = profile_with(observedAt="ts")
    batch = [
        {"f": 10, "ts": "2026-11-23T09:00:00Z"},
        {"f": 30, "ts": 1795424400 + 1200},
        {"f": 20, "ts": 1795424400000 + 600_000},  # out of time order: kept in payload order
    ]
    result = run(profile, batch, waste_context)
    assert values(result) == [0.1, 0.3, 0.2]
    assert [r.index for r in result.readings] == [0, 1, 2]
    assert [r.observed_at for r in result.readings] == [
        "2026-11-23T09:00:00.000Z",
        "2026-11-23T09:20:00.000Z",
        "2026-11-23T09:10:00.000Z",
    ]
    assert result.value_count == 3
    fragments = result.entity_fragments()
    assert [f[FILL][0]["value"] for f in fragments] == [0.1, 0.3, 0.2]
    assert all(f["id"] == "urn:ngsi-ld:WasteContainer:cluj-0001" for f in fragments)
    assert [f[FILL][0]["value"] for f in result.entity_fragments(1)] == [0.3, 0.2]


def test_array_of_one_reading_may_omit_its_timestamp(waste_context: LdContext) -> None:
    result = run(load_profile(BIN_PROFILE), [{"f": 63}], waste_context)
    assert values(result) == [0.63]
    assert result.readings[0].observed_at == RECEIVED_TEXT
    bad = run(load_profile(BIN_PROFILE), [{"f": 163}], waste_context)
    assert reasons(bad) == [("out_of_range", "f", 0)]  # an array names its readings


def test_batch_needs_a_timestamp_key_in_the_profile(waste_context: LdContext) -> None:
    result = run(load_profile(BIN_PROFILE), [{"f": 10}, {"f": 20}], waste_context)
    assert reasons(result) == [("bad_timestamp", None, None)]
    assert "names no observedAt key" in result.rejections[0].message


def test_batch_needs_a_timestamp_in_every_reading(waste_context: LdContext) -> None:
    profile = profile_with(observedAt="ts")
    batch = [{"f": 10, "ts": "2026-11-23T09:00:00Z"}, {"f": 20}]
    result = run(profile, batch, waste_context)
    assert reasons(result) == [("bad_timestamp", "ts", 1)]
    assert "reading 1 has no 'ts'" in result.rejections[0].message


# -- create on first message --------------------------------------------------------------


def creating_profile() -> DeviceProfile:
    return profile_with(
        *BIN_PROFILE["measurements"],
        {"key": "t", "attribute": "temperature", "unitCode": "CEL"},
        createEntityOnFirstMessage=True,
        observedAt="ts",
        staticAttributes={
            "wasteType": "organic",
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [23.59, 46.77]},
            },
            "refWasteContainerIsle": {
                "type": "Relationship",
                "object": "urn:ngsi-ld:WasteContainerIsle:7",
            },
        },
    )


def test_new_entity_has_static_attributes_and_the_first_reading(
    waste_context: LdContext,
) -> None:
    batch = [
        {"f": 10, "t": 4, "ts": "2026-11-23T09:00:00Z"},
        {"f": 20, "ts": "2026-11-23T09:10:00Z"},
    ]
    result = run(creating_profile(), batch, waste_context)
    entity = result.new_entity
    assert entity is not None
    assert entity["id"] == "urn:ngsi-ld:WasteContainer:cluj-0001"
    assert entity["type"] == [CONTAINER]
    assert entity[DEFAULT + "wasteType"] == [{"type": "Property", "value": "organic"}]
    assert entity[LOCATION][0]["value"] == {"type": "Point", "coordinates": [23.59, 46.77]}
    assert entity[WM + "refWasteContainerIsle"][0]["object"] == "urn:ngsi-ld:WasteContainerIsle:7"
    assert entity[FILL] == result.readings[0].attributes[FILL]
    assert entity[TEMPERATURE][0]["value"] == 4
    # the static attributes are copies: changing one result does not change the next
    entity[DEFAULT + "wasteType"][0]["value"] = "changed"
    again = run(creating_profile(), batch, waste_context).new_entity
    assert again is not None
    assert again[DEFAULT + "wasteType"][0]["value"] == "organic"


def test_new_entity_and_fragments_are_valid_writes(waste_context: LdContext) -> None:
    """What map_payload returns goes through the real write semantics unchanged."""
    batch = [
        {"f": 10, "t": 4, "ts": "2026-11-23T09:00:00Z"},
        {"f": 20, "ts": "2026-11-23T09:10:00Z"},
    ]
    result = run(creating_profile(), batch, waste_context)
    assert result.new_entity is not None
    created = updates.create_entity(result.new_entity, RECEIVED)
    (fragment,) = result.entity_fragments(1)
    appended = updates.append_attributes(
        created.entity, {k: v for k, v in fragment.items() if k not in ("id", "type")}, RECEIVED
    )
    assert appended.entity[FILL][0]["value"] == 0.2
    rows = updates.history_rows(created) + updates.history_rows(appended)
    fill_rows = [row for row in rows if row.attr == FILL]
    assert [(row.number, row.observed_at.minute) for row in fill_rows] == [(0.1, 0), (0.2, 10)]


def test_readings_land_in_a_real_store_with_history(
    tmp_path: Path, waste_context: LdContext
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'cetate.db'}")
    store.migrate()
    try:
        service = EntityService(store)
        batch = [
            {"f": 10, "ts": "2026-11-23T09:00:00Z"},
            {"f": 20, "ts": "2026-11-23T09:10:00Z"},
            {"f": 35, "ts": "2026-11-23T09:20:00Z"},
        ]
        result = run(creating_profile(), batch, waste_context)
        assert result.new_entity is not None
        service.create("cluj", result.new_entity)
        outcome = service.batch_upsert("cluj", result.entity_fragments(1), mode="update")
        assert outcome.errors == []
        entity = store.get_entity("cluj", "urn:ngsi-ld:WasteContainer:cluj-0001")
        assert entity is not None
        assert entity[FILL][0]["value"] == 0.35
        assert entity[FILL][0]["unitCode"] == "P1"
        assert entity[DEFAULT + "wasteType"][0]["value"] == "organic"
        query = TemporalQuery(
            entities=EntityQuery(ids=("urn:ngsi-ld:WasteContainer:cluj-0001",)),
            attrs=frozenset({FILL}),
        )
        (temporal,) = store.query_temporal("cluj", query)
        assert [i["value"] for i in temporal.history[FILL]] == [0.1, 0.2, 0.35]
    finally:
        store.close()


def test_no_new_entity_without_create_on_first_message(waste_context: LdContext) -> None:
    assert run(load_profile(BIN_PROFILE), {"f": 1}, waste_context).new_entity is None


# -- compiled profiles --------------------------------------------------------------------


def test_compiled_profile_expands_names_once(waste_context: LdContext) -> None:
    compiled = compile_profile(creating_profile(), waste_context)
    assert compiled.entity_type == CONTAINER
    assert [m.iri for m in compiled.measurements] == [FILL, TEMPERATURE]
    assert set(compiled.static_attributes) == {
        DEFAULT + "wasteType",
        LOCATION,
        WM + "refWasteContainerIsle",
    }


def test_an_edited_profile_is_a_new_profile(waste_context: LdContext) -> None:
    profile = load_profile(BIN_PROFILE)
    assert run(profile, {"f": 63}, waste_context).accepted
    lenient = profile.model_copy(update={"unknown_keys": "ignore"})
    assert run(lenient, {"f": 63, "x": 1}, waste_context).accepted
    assert run(profile, {"f": 63, "x": 1}, waste_context).reason == "unknown_key"


def test_profile_with_core_context_only(resolver: Any) -> None:
    profile = load_profile(
        {
            "name": "air",
            "entityType": "AirQualityObserved",
            "entityIdTemplate": "urn:ngsi-ld:AirQualityObserved:{device}",
            "measurements": [{"key": "pm25", "attribute": "pm25", "unitCode": "GQ"}],
        }
    )
    context = profile.resolve_context(resolver)
    result = map_payload(profile, "tm-07", b'{"pm25": 12.4}', RECEIVED, context)
    assert result.entity_type == DEFAULT + "AirQualityObserved"
    assert result.readings[0].attributes[DEFAULT + "pm25"][0]["value"] == 12.4


def test_the_documented_example_works_as_documented(resolver: Any) -> None:
    page = Path(__file__).parents[3] / "docs" / "device-profiles.md"
    profile_block, result_block = re.findall(r"```json\n(.*?)```", page.read_text(), re.S)[:2]
    profile = load_profile(profile_block)
    assert len(check_profile(profile, resolver)) == 1  # the P1-with-a-fraction warning
    result = map_payload(
        profile,
        "0001",
        b'{"f": 63, "t": 41, "ts": 1795427940}',
        RECEIVED,
        profile.resolve_context(resolver),
    )
    assert result.entity_id == "urn:ngsi-ld:WasteContainer:cluj:0001"
    assert result.readings[0].attributes == json.loads(result_block)
