"""Device profile documents: parsing, validation messages, warnings, round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cetate.errors import BadRequestData
from cetate.ingest.profiles import (
    DeviceProfile,
    InvalidProfile,
    LinearConversion,
    check_profile,
    load_profile,
    profile_warnings,
)
from cetate.ingest.profiles.model import (
    check_entity_id_template,
    format_key_path,
    parse_key_path,
)
from cetate.ngsi.jsonld import ContextResolver
from tests.ingest.profiles.helpers import BIN_PROFILE, profile_document


def measurement(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"key": "v", "attribute": "value1"}
    base.update(fields)
    return base


def problems_of(document: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidProfile) as caught:
        load_profile(document)
    return caught.value.problems


# -- a valid profile ----------------------------------------------------------------------------


def test_a_full_profile_loads_with_its_defaults() -> None:
    profile = load_profile(BIN_PROFILE)
    assert profile.name == "bin-level-sensor-v1"
    assert profile.entity_type == "WasteContainer"
    assert profile.create_entity_on_first_message is False
    assert profile.unknown_keys == "reject"
    assert profile.observed_at is None
    assert profile.max_payload_bytes == 65_536
    (fill,) = profile.measurements
    assert fill.kind == "Property"
    assert fill.value_type == "number"
    assert fill.conversion == "percent_to_fraction"
    assert fill.value_range == (0.0, 1.0)
    assert fill.path == ("f",)


def test_profile_round_trips_through_json_with_camel_case_names() -> None:
    document = profile_document(
        createEntityOnFirstMessage=True,
        staticAttributes={"wasteType": "organic"},
        observedAt={"key": "ts", "format": "epoch_ms"},
        ignoredKeys=["rssi"],
        unknownKeys="ignore",
        measurements=[
            *BIN_PROFILE["measurements"],
            measurement(
                key="t",
                attribute="temperature",
                conversion={"scale": 0.1, "offset": -40},
                decimals=1,
                range=[-40, None],
                datasetId="urn:ngsi-ld:Dataset:inside",
            ),
        ],
    )
    profile = load_profile(document)
    dumped = profile.model_dump(mode="json", exclude_defaults=True)
    assert dumped["createEntityOnFirstMessage"] is True
    assert dumped["observedAt"] == {"key": "ts", "format": "epoch_ms"}
    assert dumped["measurements"][1]["conversion"] == {"scale": 0.1, "offset": -40.0}
    assert dumped["measurements"][1]["range"] == [-40.0, None]
    assert dumped["measurements"][1]["datasetId"] == "urn:ngsi-ld:Dataset:inside"
    assert load_profile(json.dumps(dumped)) == profile


def test_profile_loads_from_json_text_and_bytes() -> None:
    text = json.dumps(BIN_PROFILE)
    assert load_profile(text) == load_profile(text.encode()) == load_profile(BIN_PROFILE)


def test_observed_at_string_is_shorthand_for_a_key() -> None:
    profile = load_profile(profile_document(observedAt="meta.time"))
    assert profile.observed_at is not None
    assert profile.observed_at.key == "meta.time"
    assert profile.observed_at.format == "auto"
    assert profile.observed_at.path == ("meta", "time")


def test_profiles_are_immutable() -> None:
    profile = load_profile(BIN_PROFILE)
    with pytest.raises(ValueError, match="frozen"):
        profile.name = "other"
    renamed = profile.model_copy(update={"name": "other"})
    assert renamed.name == "other"
    assert profile.name == "bin-level-sensor-v1"


def test_python_field_names_work_too() -> None:
    profile = DeviceProfile.model_validate(
        {
            "name": "p",
            "entity_type": "WasteContainer",
            "entity_id_template": "urn:ngsi-ld:WasteContainer:{device}",
            "measurements": [{"key": "f", "attribute": "fillingLevel", "unit_code": "P1"}],
        }
    )
    assert profile.measurements[0].unit_code == "P1"


def test_invalid_profile_is_a_400_problem_with_every_problem_listed() -> None:
    with pytest.raises(InvalidProfile) as caught:
        load_profile(profile_document(name="bad name", entityIdTemplate="urn:x"))
    error = caught.value
    assert isinstance(error, BadRequestData)
    assert error.status == 400
    assert len(error.problems) == 2
    assert error.problem()["problems"] == error.problems
    assert "'bad name'" in error.detail


# -- validation messages, one per mistake -----------------------------------------------------

INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("not JSON object", {"measurements": "x"}, "measurements"),
    ("missing type", {"entityType": None}, "entityType"),
    ("bad name", {"name": "bin level"}, "profile name 'bin level' must be"),
    ("name too long", {"name": "x" * 129}, "profile name"),
    ("type with space", {"entityType": "Waste Container"}, "not a valid entity type"),
    ("relative context", {"context": "context.jsonld"}, "must be an http(s) URL"),
    ("no placeholder", {"entityIdTemplate": "urn:ngsi-ld:WasteContainer:1"}, "no {device}"),
    (
        "other placeholder",
        {"entityIdTemplate": "urn:ngsi-ld:WasteContainer:{tenant}:{device}"},
        "placeholder {tenant} is not supported",
    ),
    (
        "format spec",
        {"entityIdTemplate": "urn:ngsi-ld:WasteContainer:{device:>5}"},
        "placeholder {device:>5} is not supported",
    ),
    (
        "conversion flag",
        {"entityIdTemplate": "urn:ngsi-ld:WasteContainer:{device!r}"},
        "placeholder {device!r} is not supported",
    ),
    ("unbalanced brace", {"entityIdTemplate": "urn:ngsi-ld:X:{device"}, "malformed"),
    ("not a URI", {"entityIdTemplate": "WasteContainer-{device}"}, "absolute URI"),
    ("no measurements", {"measurements": []}, "at least one measurement"),
    ("unknown field", {"colour": "green"}, "colour: Extra inputs are not permitted"),
    ("bad unknownKeys", {"unknownKeys": "drop"}, "unknownKeys"),
    ("payload limit", {"maxPayloadBytes": 0}, "maxPayloadBytes"),
    ("static id", {"staticAttributes": {"id": "x"}}, "'id' is set by the profile itself"),
    ("empty ignored key", {"ignoredKeys": ["a..b"]}, "empty segment"),
]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [(changes, expected) for _, changes, expected in INVALID],
    ids=[label for label, _, _ in INVALID],
)
def test_profile_level_mistakes_are_named(changes: dict[str, Any], expected: str) -> None:
    problems = problems_of(profile_document(**changes))
    assert any(expected in problem for problem in problems), problems


INVALID_MEASUREMENTS: list[tuple[str, dict[str, Any], str]] = [
    ("empty key", measurement(key=""), "must not be empty"),
    ("empty segment", measurement(key="a..b"), "empty segment"),
    ("trailing dot", measurement(key="a."), "empty segment"),
    ("no attribute", measurement(attribute=""), "must not be empty"),
    ("keyword attribute", measurement(attribute="type"), "entity keyword"),
    ("attribute with space", measurement(attribute="fill level"), "not a valid attribute"),
    ("attribute with dot", measurement(attribute="fill.level"), "not a valid attribute"),
    ("unknown type", measurement(type="float"), "type: Input should be"),
    ("unknown kind", measurement(kind="LanguageProperty"), "kind: Input should be"),
    ("unit symbol", measurement(unitCode="%"), "did you mean P1 (percent)?"),
    ("unit lower case", measurement(unitCode="cel"), "did you mean CEL (degree Celsius)?"),
    ("unit name", measurement(unitCode="ug/m3"), "did you mean GQ"),
    ("unit gibberish", measurement(unitCode="zzzz"), "such as P1 (percent)"),
    ("unknown conversion", measurement(conversion="inch_to_metre"), "unknown conversion"),
    ("zero scale", measurement(conversion={"scale": 0}), "scale must not be 0"),
    ("linear extra", measurement(conversion={"factor": 2}), "factor: Extra inputs"),
    ("infinite offset", measurement(conversion={"offset": "Infinity"}), "offset"),
    ("range reversed", measurement(range=[1, 0]), "range [1.0, 0.0] is empty"),
    ("range open both", measurement(range=[None, None]), "at least one end"),
    ("range length", measurement(range=[0, 1, 2]), "range"),
    ("range on string", measurement(type="string", range=[0, 1]), "numbers only"),
    ("conversion on bool", measurement(type="boolean", conversion="percent_to_fraction"), "only"),
    ("decimals on string", measurement(type="string", decimals=2), "numbers only"),
    ("decimals too many", measurement(decimals=13), "decimals"),
    ("relationship number", measurement(kind="Relationship"), 'type must be "string"'),
    ("geo without geojson", measurement(kind="GeoProperty"), '"GeoProperty" goes with'),
    ("geojson without geo", measurement(type="geojson"), '"GeoProperty" goes with'),
    ("location as property", measurement(attribute="location"), "always a GeoProperty"),
    (
        "unit on relationship",
        measurement(kind="Relationship", type="string", unitCode="P1"),
        "Property measurements only",
    ),
    ("bad datasetId", measurement(datasetId="inside"), "datasetId 'inside' must be"),
    ("observedAt empty", measurement(observedAt=""), "must not be empty"),
    ("bad ts format", measurement(observedAt={"key": "t", "format": "unix"}), "format"),
]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [(bad, expected) for _, bad, expected in INVALID_MEASUREMENTS],
    ids=[label for label, _, _ in INVALID_MEASUREMENTS],
)
def test_measurement_mistakes_are_named_with_their_position(
    bad: dict[str, Any], expected: str
) -> None:
    document = profile_document(measurements=[*BIN_PROFILE["measurements"], bad])
    problems = problems_of(document)
    assert any(expected in problem for problem in problems), problems
    assert all(problem.startswith("measurements[1]") for problem in problems), problems


CONFLICTS: list[tuple[str, dict[str, Any], str]] = [
    (
        "duplicate target",
        {"measurements": [measurement(key="a"), measurement(key="b")]},
        "measurements[1] and measurements[0] both write attribute 'value1'",
    ),
    (
        "static clash",
        {"measurements": [measurement()], "staticAttributes": {"value1": 3}},
        "also a static attribute",
    ),
    (
        "timestamp is a measurement",
        {"measurements": [measurement(key="ts")], "observedAt": "ts"},
        "also the observedAt key",
    ),
    (
        "ignored hides a measurement",
        {"measurements": [measurement(key="s.fill")], "ignoredKeys": ["s"]},
        "ignoredKeys: 's' would hide key 's.fill'",
    ),
    (
        "ignored hides the timestamp",
        {"measurements": [measurement()], "ignoredKeys": ["ts"], "observedAt": "ts"},
        "would hide key 'ts'",
    ),
    (
        "object and its member",
        {"measurements": [measurement(key="s"), measurement(key="s.x", attribute="b")]},
        "key 's' is an object that another measurement reads into",
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [(changes, expected) for _, changes, expected in CONFLICTS],
    ids=[label for label, _, _ in CONFLICTS],
)
def test_conflicting_parts_are_refused(changes: dict[str, Any], expected: str) -> None:
    problems = problems_of(profile_document(**changes))
    assert any(expected in problem for problem in problems), problems


def test_same_attribute_twice_is_fine_with_distinct_dataset_ids() -> None:
    profile = load_profile(
        profile_document(
            measurements=[
                measurement(key="t1", attribute="temperature"),
                measurement(
                    key="t2", attribute="temperature", datasetId="urn:ngsi-ld:Dataset:outside"
                ),
            ]
        )
    )
    assert [m.dataset_id for m in profile.measurements] == [None, "urn:ngsi-ld:Dataset:outside"]


def test_not_json_and_not_an_object_are_profile_errors() -> None:
    with pytest.raises(InvalidProfile, match="not JSON"):
        load_profile("{nope")
    with pytest.raises(InvalidProfile, match="must be a JSON object"):
        load_profile("[]")


# -- warnings ------------------------------------------------------------------------------


def test_unknown_but_well_formed_unit_code_is_a_warning_not_an_error() -> None:
    profile = load_profile(profile_document(measurements=[measurement(unitCode="KWS")]))
    (warning,) = profile_warnings(profile)
    assert "unitCode 'KWS' is not among the unit codes Cetate knows" in warning


def test_known_unit_codes_give_no_warning() -> None:
    profile = load_profile(
        profile_document(
            measurements=[
                measurement(key="pm", attribute="pm25", unitCode="GQ"),
                measurement(key="t", attribute="temperature", unitCode="CEL"),
                measurement(key="n", attribute="noise", unitCode="2N"),
            ]
        )
    )
    assert profile_warnings(profile) == []


def test_conversion_and_unit_code_that_disagree_give_a_warning() -> None:
    profile = load_profile(
        profile_document(
            measurements=[
                measurement(key="t", conversion="fahrenheit_to_celsius", unitCode="FAH"),
                measurement(
                    key="u", attribute="u", conversion="fahrenheit_to_celsius", unitCode="CEL"
                ),
            ]
        )
    )
    (warning,) = profile_warnings(profile)
    assert warning.startswith("measurements[0]")
    assert "gives values in CEL (degree Celsius), but unitCode is FAH" in warning


def test_the_issue_example_p1_with_a_fraction_is_flagged_but_allowed() -> None:
    (warning,) = profile_warnings(load_profile(BIN_PROFILE))
    assert "percent_to_fraction gives values in C62" in warning
    assert "unitCode is P1 (percent)" in warning


def test_static_attributes_without_create_on_first_message_give_a_warning() -> None:
    profile = load_profile(profile_document(staticAttributes={"wasteType": "organic"}))
    assert any("staticAttributes are only used" in w for w in profile_warnings(profile))


# -- check_profile: what needs the @context --------------------------------------------------


def test_check_profile_returns_warnings(resolver: ContextResolver) -> None:
    assert len(check_profile(load_profile(BIN_PROFILE), resolver)) == 1


def test_check_profile_refuses_a_context_that_is_not_available_offline(
    resolver: ContextResolver,
) -> None:
    profile = load_profile(profile_document(context="https://example.org/unknown.jsonld"))
    with pytest.raises(InvalidProfile, match=r"context: @context .* is not available"):
        check_profile(profile, resolver)


@pytest.mark.parametrize(
    ("static", "expected"),
    [
        ({"location": {"type": "GeoProperty", "value": {"type": "Point"}}}, "coordinates"),
        ({"wasteType": {"type": "Property"}}, "staticAttributes:"),
        ({"https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel": 1}, "also"),
    ],
    ids=["bad geometry", "property without value", "same IRI as a measurement"],
)
def test_check_profile_refuses_bad_static_attributes(
    resolver: ContextResolver, static: dict[str, Any], expected: str
) -> None:
    profile = load_profile(
        profile_document(createEntityOnFirstMessage=True, staticAttributes=static)
    )
    with pytest.raises(InvalidProfile, match=expected):
        check_profile(profile, resolver)


# -- key paths and templates -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("f", ("f",)),
        ("sensors.fill", ("sensors", "fill")),
        ("a.b.c", ("a", "b", "c")),
        ("values.0", ("values", "0")),
        ("a\\.b", ("a.b",)),
        ("x.a\\.b.y", ("x", "a.b", "y")),
        ("back\\slash", ("back\\slash",)),
    ],
)
def test_key_paths_parse_and_format_back(text: str, path: tuple[str, ...]) -> None:
    assert parse_key_path(text) == path
    assert parse_key_path(format_key_path(path)) == path


@pytest.mark.parametrize("text", ["", ".", "a.", ".a", "a..b"])
def test_bad_key_paths(text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        parse_key_path(text)


@pytest.mark.parametrize(
    "template",
    [
        "urn:ngsi-ld:WasteContainer:{device}",
        "urn:ngsi-ld:WasteContainer:cluj:{device}",
        "https://city.example/entities/{device}",
        "urn:ngsi-ld:Device:{device}:fill",
    ],
)
def test_good_templates(template: str) -> None:
    assert check_entity_id_template(template) == template
    profile = load_profile(profile_document(entityIdTemplate=template))
    assert profile.entity_id_for("abc") == template.replace("{device}", "abc")


def test_linear_conversion_defaults_to_identity() -> None:
    assert LinearConversion() == LinearConversion(scale=1, offset=0)
