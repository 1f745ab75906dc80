"""Payloads to stored form and back (§4.5), on the FIWARE Smart Data Models examples and on
hand-made cases for every rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cetate.errors import BadRequestData, InvalidRequest, LdContextNotAvailable
from cetate.ngsi.jsonld import DEFAULT_VOCAB, ContextResolver, LdContext
from cetate.ngsi.model import ATTRIBUTE_TYPES, LOCATION
from cetate.ngsi.representation import (
    NGSI_LD_NULL,
    expand_attribute,
    expand_attributes,
    expand_entity,
    render_entity,
)
from cetate.ngsi.timestamps import format_datetime, parse_datetime

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "smart-data-models"
TYPES = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
NGSI = "https://uri.etsi.org/ngsi-ld/"
V = DEFAULT_VOCAB

# --------------------------------------------------------------------------------------------
# What is wrong upstream, file by file. Every entry names the file and the reason; the tests
# below check that each listed problem is still there (so the tables cannot go stale).

UPSTREAM_INVALID_NORMALIZED: dict[str, tuple[str, str]] = {
    # type: (what is wrong, a phrase our error message must contain)
    "PhotovoltaicMeasurement": (
        "refPhotovoltaicDevice is a Relationship with 'Object' (capital O) instead of 'object'",
        "refPhotovoltaicDevice",
    ),
    "SolarEnergy": (
        "location is a Point whose coordinates are nested one level too deep: "
        "[[-35.589575, -78.339812]]",
        "GeoJSON",
    ),
}

UPSTREAM_INVALID_JSON: dict[str, str] = {
    "PointOfInterest": 'example.jsonld: the comma after "occupancy": 50 (line 42) is missing',
}

UPSTREAM_KEY_VALUES_MISMATCHES: dict[str, dict[str, str]] = {
    # type: {attribute: how the upstream key-values example disagrees with the normalized one}
    "AirQualityObserved": {
        "charge": "only in the normalized example",
        "pm4": "only in the normalized example",
        "pressure": "only in the normalized example",
        "tpc": "only in the normalized example",
        "tsp": "only in the normalized example",
        "windDirection": "186 in normalized, 180 in key-values",
    },
    "Device": {
        "depth": "only in the key-values example",
        "direction": "only in the key-values example",
        "distance": "only in the key-values example",
    },
    "DeviceMeasurement": {
        "owner": "[] in normalized, a one-element array in key-values",
    },
    "Streetlight": {
        "deviceInfo": "only in the key-values example",
        "lifetimeMotionDetected": "only in the key-values example",
        "lifetimePowerConsumption": "only in the key-values example",
        "municipalityInfo": "cityId/zoneId in normalized, cityID/zoneID in key-values",
    },
    "TrafficFlowObserved": {
        "address": 'key-values adds "type": "PostalAddress"',
        "dateObserved": "an instant in normalized, an interval in key-values",
    },
    "Vehicle": {
        "deviceBatteryStatus": '"Connected" in normalized, "connected" in key-values',
        "vehicleAltitude": 'number 600 in normalized, string "600" in key-values',
    },
    "WasteContainer": {
        "binLoggedTime": "2021-03-11 in normalized, 2021-03-01 in key-values",
    },
    "WasteObserved": {
        "id": "urn:ngsi-ld:WasteObserved:0001 in normalized, ngsi-ld:WasteObserved:001 in kv",
        "refServiceOrderId": "urn:ngsi-ld:ngsi-ld:WorkOrder1234 vs ngsi-ld:WorkOrder1234",
    },
    "WaterQualityObserved": {
        "Fe": "7.4 in normalized, 0.0 in key-values",
        "fluoride": "0.0 in normalized, 0.1 in key-values",
    },
    "service_requests": {
        "expected_datetime": "normalized has a stray Z after the -08:00 offset",
        "id": "urn:ngsi-ld:Open311ServiceRequest:service-request:638344 vs service-request:638344",
    },
}
"""Besides these, upstream key-values examples write a date-time as a plain string where the
normalized example has the JSON-LD value object ``{"@type": "DateTime", "@value": …}``. Cetate
keeps values verbatim (the value object is the client's data), so the comparison unwraps such
value objects in Cetate's key-values output; see :func:`_unwrap_value_objects`."""


def _load(type_name: str, file_name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / type_name / file_name).read_text("utf-8"))
    return data


def _normalize_observed_at(payload: dict[str, Any]) -> dict[str, Any]:
    """The stored form keeps observedAt as UTC with milliseconds; so does the output."""
    out = copy.deepcopy(payload)
    for value in out.values():
        for instance in value if isinstance(value, list) else [value]:
            if isinstance(instance, dict) and "observedAt" in instance:
                instance["observedAt"] = format_datetime(parse_datetime(instance["observedAt"]))
    return out


def _unwrap_value_objects(rendered: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value["@value"]
        if isinstance(value, dict) and set(value) == {"@type", "@value"}
        else value
        for key, value in rendered.items()
    }


@pytest.fixture(scope="module")
def resolver() -> ContextResolver:
    return ContextResolver()


@pytest.fixture(scope="module")
def core(resolver: ContextResolver) -> LdContext:
    return resolver.resolve(None)


def test_all_28_types_are_here() -> None:
    assert len(TYPES) == 28
    for type_name in TYPES:
        assert (EXAMPLES / type_name / "LICENSE.md").is_file()
    assert (EXAMPLES / "README.md").is_file()


# --------------------------------------------------------------------------------------------
# The Smart Data Models examples


@pytest.mark.parametrize("type_name", TYPES)
def test_normalized_example_round_trips(resolver: ContextResolver, type_name: str) -> None:
    payload = _load(type_name, "example-normalized.jsonld")
    context = resolver.resolve(payload["@context"])
    if type_name in UPSTREAM_INVALID_NORMALIZED:
        with pytest.raises(BadRequestData, match=UPSTREAM_INVALID_NORMALIZED[type_name][1]):
            expand_entity(payload, context)
        return
    stored = expand_entity(payload, context)
    assert stored["id"] == payload["id"]
    assert all(t.startswith(("https://smartdatamodels.org/", V)) for t in stored["type"])
    for key, instances in stored.items():
        if key in ("id", "type"):
            continue
        assert key.startswith(("https://", "http://")), key
        assert isinstance(instances, list)
        assert all(instance["type"] in ATTRIBUTE_TYPES for instance in instances)
    rendered = render_entity(stored, context)
    rendered["@context"] = payload["@context"]
    assert rendered == _normalize_observed_at(payload)


@pytest.mark.parametrize("type_name", TYPES)
def test_key_values_rendering_matches_upstream_example(
    resolver: ContextResolver, type_name: str
) -> None:
    if type_name in UPSTREAM_INVALID_NORMALIZED:
        pytest.skip(
            f"upstream normalized example invalid: {UPSTREAM_INVALID_NORMALIZED[type_name][0]}"
        )
    if type_name in UPSTREAM_INVALID_JSON:
        pytest.skip(f"upstream key-values example invalid: {UPSTREAM_INVALID_JSON[type_name]}")
    payload = _load(type_name, "example-normalized.jsonld")
    context = resolver.resolve(payload["@context"])
    rendered = render_entity(expand_entity(payload, context), context, representation="keyValues")
    rendered = _unwrap_value_objects(rendered)
    upstream = _load(type_name, "example.jsonld")
    upstream.pop("@context")
    known = UPSTREAM_KEY_VALUES_MISMATCHES.get(type_name, {})
    for key in sorted(set(rendered) | set(upstream)):
        if key in known:
            assert rendered.get(key) != upstream.get(key), f"{type_name}.{key} is fixed upstream"
        else:
            assert rendered.get(key) == upstream.get(key), f"{type_name}.{key}"


@pytest.mark.parametrize("type_name", sorted(UPSTREAM_INVALID_JSON))
def test_upstream_invalid_json_is_still_invalid(type_name: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        _load(type_name, "example.jsonld")


@pytest.mark.parametrize("type_name", TYPES)
def test_concise_rendering_reads_back_to_the_same_stored_form(
    resolver: ContextResolver, type_name: str
) -> None:
    if type_name in UPSTREAM_INVALID_NORMALIZED:
        pytest.skip(
            f"upstream normalized example invalid: {UPSTREAM_INVALID_NORMALIZED[type_name][0]}"
        )
    payload = _load(type_name, "example-normalized.jsonld")
    context = resolver.resolve(payload["@context"])
    stored = expand_entity(payload, context)
    concise = render_entity(stored, context, representation="concise")
    assert expand_entity(concise, context) == stored
    # concise is never larger than normalized
    assert len(json.dumps(concise)) <= len(json.dumps(render_entity(stored, context)))


@pytest.mark.parametrize("type_name", TYPES)
def test_upstream_key_values_example_is_accepted_as_concise(
    resolver: ContextResolver, type_name: str
) -> None:
    if type_name in UPSTREAM_INVALID_JSON:
        pytest.skip(f"upstream key-values example invalid: {UPSTREAM_INVALID_JSON[type_name]}")
    payload = _load(type_name, "example.jsonld")
    context = resolver.resolve(payload["@context"])
    stored = expand_entity(payload, context)
    names = {context.compact_iri(key) for key in stored if key not in ("id", "type")}
    assert names == set(payload) - {"id", "type", "@context"}
    # key-values read as concise and rendered as key-values gives the same document back
    rendered = render_entity(stored, context, representation="keyValues")
    rendered["@context"] = payload["@context"]
    assert rendered == payload


# --------------------------------------------------------------------------------------------
# Concise input: inferring the attribute type


def test_concise_shapes_infer_attribute_types(core: LdContext) -> None:
    stored = expand_entity(
        {
            "id": "urn:ngsi-ld:Thing:1",
            "type": "Thing",
            "plain": 21.5,
            "text": "hello",
            "flag": False,
            "array": [1, 2, 3],
            "compound": {"street": "Str. Memorandumului", "number": 28},
            "typedValue": {"@type": "DateTime", "@value": "2026-11-23T10:00:00Z"},
            "withMeta": {"value": 3, "unitCode": "CEL", "observedAt": "2026-11-23T12:00:00+02:00"},
            "owner": {"object": "urn:ngsi-ld:Person:ana"},
            "name": {"languageMap": {"ro": "Turnul Sfatului", "en": "Council Tower"}},
            "readings": {"valueList": [1, 2]},
            "members": {"objectList": [{"object": "urn:ngsi-ld:P:1"}]},
            "category": {"vocab": "residential"},
            "location": {"type": "Point", "coordinates": [23.59, 46.77]},
            "area": {"value": {"type": "Point", "coordinates": [23.5, 46.7]}},
            "addressLike": {"type": "PostalAddress", "addressLocality": "Cluj-Napoca"},
        },
        core,
    )
    assert stored["type"] == [V + "Thing"]
    assert stored[V + "plain"] == [{"type": "Property", "value": 21.5}]
    assert stored[V + "flag"] == [{"type": "Property", "value": False}]
    assert stored[V + "array"] == [{"type": "Property", "value": [1, 2, 3]}]
    assert stored[V + "compound"][0]["value"] == {"street": "Str. Memorandumului", "number": 28}
    assert stored[V + "typedValue"][0]["value"] == {
        "@type": "DateTime",
        "@value": "2026-11-23T10:00:00Z",
    }
    assert stored[V + "withMeta"] == [
        {
            "type": "Property",
            "value": 3,
            "unitCode": "CEL",
            "observedAt": "2026-11-23T10:00:00.000Z",
        }
    ]
    assert stored[V + "owner"] == [{"type": "Relationship", "object": "urn:ngsi-ld:Person:ana"}]
    assert stored[V + "name"][0]["type"] == "LanguageProperty"
    assert stored[V + "readings"][0]["type"] == "ListProperty"
    assert stored[V + "members"][0]["type"] == "ListRelationship"
    assert stored[V + "category"] == [{"type": "VocabProperty", "vocab": V + "residential"}]
    assert stored[LOCATION] == [
        {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [23.59, 46.77]}}
    ]
    assert stored[V + "area"][0]["type"] == "GeoProperty"
    assert stored[V + "addressLike"] == [
        {
            "type": "Property",
            "value": {"type": "PostalAddress", "addressLocality": "Cluj-Napoca"},
        }
    ]


def test_created_and_modified_at_from_clients_are_ignored(core: LdContext) -> None:
    stored = expand_entity(
        {
            "id": "urn:x:1",
            "type": "T",
            "createdAt": "2020-01-01T00:00:00Z",
            "a": {"type": "Property", "value": 1, "modifiedAt": "2020-01-01T00:00:00Z"},
            "@context": "ignored here: the caller resolved it",
        },
        core,
    )
    assert stored == {
        "id": "urn:x:1",
        "type": [V + "T"],
        V + "a": [{"type": "Property", "value": 1}],
    }


def test_sub_attributes_are_single_dicts_keyed_by_iri(core: LdContext) -> None:
    stored = expand_entity(
        {
            "id": "urn:x:1",
            "type": "T",
            "temperature": {
                "type": "Property",
                "value": 21,
                "accuracy": {"type": "Property", "value": 0.5},
                "providedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Device:1"},
                "quality": "good",
            },
        },
        core,
    )
    instance = stored[V + "temperature"][0]
    assert instance[V + "accuracy"] == {"type": "Property", "value": 0.5}
    assert instance[V + "providedBy"] == {"type": "Relationship", "object": "urn:ngsi-ld:Device:1"}
    assert instance[V + "quality"] == {"type": "Property", "value": "good"}
    rendered = render_entity(stored, core)
    assert rendered["temperature"]["accuracy"] == {"type": "Property", "value": 0.5}
    concise = render_entity(stored, core, representation="concise")
    assert concise["temperature"] == {
        "value": 21,
        "accuracy": 0.5,
        "providedBy": {"object": "urn:ngsi-ld:Device:1"},
        "quality": "good",
    }


# --------------------------------------------------------------------------------------------
# Multi-attributes (datasetId)


def _multi(core: LdContext) -> dict[str, Any]:
    return expand_entity(
        {
            "id": "urn:ngsi-ld:Vehicle:B-123",
            "type": "Vehicle",
            "speed": [
                {"type": "Property", "value": 55},
                {"type": "Property", "value": 54.5, "datasetId": "urn:ngsi-ld:Dataset:Radar"},
            ],
        },
        core,
    )


def test_several_dataset_ids_render_as_a_list(core: LdContext) -> None:
    stored = _multi(core)
    assert len(stored[V + "speed"]) == 2
    assert render_entity(stored, core)["speed"] == [
        {"type": "Property", "value": 55},
        {"type": "Property", "value": 54.5, "datasetId": "urn:ngsi-ld:Dataset:Radar"},
    ]
    assert render_entity(stored, core, representation="concise")["speed"] == [
        {"value": 55},
        {"value": 54.5, "datasetId": "urn:ngsi-ld:Dataset:Radar"},
    ]
    assert render_entity(stored, core, representation="keyValues")["speed"] == {
        "dataset": {"@none": 55, "urn:ngsi-ld:Dataset:Radar": 54.5}
    }
    # concise output reads back to the same thing
    concise = render_entity(stored, core, representation="concise")
    assert expand_entity(concise, core) == stored


def test_single_instance_renders_as_a_dict(core: LdContext) -> None:
    stored = expand_entity(
        {"id": "urn:x:1", "type": "T", "a": [{"value": 1, "datasetId": "urn:d:1"}]}, core
    )
    assert render_entity(stored, core)["a"] == {
        "type": "Property",
        "value": 1,
        "datasetId": "urn:d:1",
    }


@pytest.mark.parametrize(
    "instances",
    [
        [{"type": "Property", "value": 1}, {"type": "Property", "value": 2}],
        [{"value": 1, "datasetId": "urn:d:1"}, {"value": 2, "datasetId": "urn:d:1"}],
    ],
)
def test_duplicate_dataset_ids_are_rejected(core: LdContext, instances: list[Any]) -> None:
    with pytest.raises(BadRequestData, match="more than once"):
        expand_entity({"id": "urn:x:1", "type": "T", "speed": instances}, core)


# --------------------------------------------------------------------------------------------
# Rendering options


def _timestamped(core: LdContext) -> dict[str, Any]:
    stored = expand_entity(
        {
            "id": "urn:x:1",
            "type": ["T", "U"],
            "scope": "/Cluj/Centru",
            "a": {"value": 1, "note": "x"},
            "b": {"object": "urn:x:2"},
        },
        core,
    )
    stamp = "2026-11-23T10:00:00.000Z"
    stored["createdAt"] = stored["modifiedAt"] = stamp
    for instances in (stored[V + "a"], stored[V + "b"]):
        instances[0]["createdAt"] = instances[0]["modifiedAt"] = stamp
    stored[V + "a"][0][V + "note"]["createdAt"] = stamp
    return stored


def test_sys_attrs(core: LdContext) -> None:
    stored = _timestamped(core)
    plain = render_entity(stored, core)
    assert "createdAt" not in plain
    assert plain["a"] == {
        "type": "Property",
        "value": 1,
        "note": {"type": "Property", "value": "x"},
    }
    assert plain["type"] == ["T", "U"]
    assert plain["scope"] == "/Cluj/Centru"
    full = render_entity(stored, core, sys_attrs=True)
    assert full["createdAt"] == full["modifiedAt"] == "2026-11-23T10:00:00.000Z"
    assert full["a"]["createdAt"] == "2026-11-23T10:00:00.000Z"
    assert full["a"]["note"]["createdAt"] == "2026-11-23T10:00:00.000Z"
    concise = render_entity(stored, core, representation="concise", sys_attrs=True)
    assert concise["b"] == {
        "object": "urn:x:2",
        "createdAt": "2026-11-23T10:00:00.000Z",
        "modifiedAt": "2026-11-23T10:00:00.000Z",
    }


def test_attrs_projection_by_expanded_iri(core: LdContext) -> None:
    stored = _timestamped(core)
    rendered = render_entity(stored, core, attrs=frozenset({V + "b"}))
    assert set(rendered) == {"id", "type", "scope", "b"}
    assert set(render_entity(stored, core, attrs=frozenset())) == {"id", "type", "scope"}


def test_language_property_and_lang(core: LdContext) -> None:
    stored = expand_entity(
        {
            "id": "urn:ngsi-ld:HeritageSite:sibiu:1",
            "type": "HeritageSite",
            "name": {
                "type": "LanguageProperty",
                "languageMap": {"ro": "Turnul Sfatului", "en": "Council Tower", "de": "Ratsturm"},
            },
        },
        core,
    )
    assert render_entity(stored, core)["name"]["languageMap"]["ro"] == "Turnul Sfatului"
    assert render_entity(stored, core, lang="en")["name"] == {
        "type": "Property",
        "value": "Council Tower",
        "lang": "en",
    }
    assert render_entity(stored, core, lang="fr,de;q=0.5,ro;q=0.9")["name"]["lang"] == "ro"
    assert render_entity(stored, core, lang="en-GB")["name"]["lang"] == "en"
    assert render_entity(stored, core, lang="*")["name"]["type"] == "LanguageProperty"
    assert render_entity(stored, core, representation="keyValues", lang="de")["name"] == "Ratsturm"
    assert render_entity(stored, core, representation="keyValues")["name"] == {
        "ro": "Turnul Sfatului",
        "en": "Council Tower",
        "de": "Ratsturm",
    }
    assert render_entity(stored, core, representation="concise", lang="ro")["name"] == {
        "value": "Turnul Sfatului",
        "lang": "ro",
    }


def test_vocab_property_terms_are_expanded_and_compacted(resolver: ContextResolver) -> None:
    context = resolver.resolve({"residential": "http://example.org/zones#residential"})
    stored = expand_entity(
        {
            "id": "urn:x:1",
            "type": "T",
            "zone": {"type": "VocabProperty", "vocab": "residential"},
            "rel": {"type": "Relationship", "object": "urn:x:2", "objectType": "Building"},
        },
        context,
    )
    assert stored[V + "zone"][0]["vocab"] == "http://example.org/zones#residential"
    assert stored[V + "rel"][0]["objectType"] == V + "Building"
    assert render_entity(stored, context)["zone"]["vocab"] == "residential"
    assert render_entity(stored, context)["rel"]["objectType"] == "Building"
    assert render_entity(stored, context, representation="keyValues")["zone"] == "residential"


def test_values_are_kept_verbatim(core: LdContext) -> None:
    value = {"@type": "DateTime", "@value": "2026-11-23T10:00:00+02:00", "nested": {"a": [1, 2]}}
    stored = expand_entity(
        {"id": "urn:x:1", "type": "T", "v": {"type": "Property", "value": value}}, core
    )
    assert render_entity(stored, core)["v"]["value"] == value
    assert render_entity(stored, core, representation="keyValues")["v"] == value
    assert render_entity(stored, core, representation="concise")["v"] == value


def test_concise_keeps_type_where_it_cannot_be_inferred(core: LdContext) -> None:
    point = {"type": "Point", "coordinates": [23.59, 46.77]}
    stored = {
        "id": "urn:x:1",
        "type": [V + "T"],
        V + "geoValuedProperty": [{"type": "Property", "value": point}],
        V + "looksLikeAttribute": [{"type": "Property", "value": {"value": 1}}],
        V + "listOfLinks": [{"type": "Property", "value": [{"object": "urn:x:2"}]}],
    }
    concise = render_entity(stored, core, representation="concise")
    assert concise["geoValuedProperty"] == {"type": "Property", "value": point}
    assert concise["looksLikeAttribute"] == {"value": {"value": 1}}
    assert concise["listOfLinks"] == {"value": [{"object": "urn:x:2"}]}
    assert expand_entity(concise, core) == stored


def test_compacts_with_the_requested_context(resolver: ContextResolver, core: LdContext) -> None:
    waste = resolver.resolve(
        "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/"
        "context.jsonld"
    )
    stored = expand_entity({"id": "urn:x:1", "type": "WasteContainer", "fillingLevel": 0.5}, waste)
    iri = "https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel"
    assert stored[iri] == [{"type": "Property", "value": 0.5}]
    rendered = render_entity(stored, core)  # a client that did not send the SDM context
    assert (
        rendered["type"] == "https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer"
    )
    assert rendered[iri] == {"type": "Property", "value": 0.5}


# --------------------------------------------------------------------------------------------
# Fragments (POST/PATCH .../attrs)


def test_expand_attributes_ignores_id_type_and_context(core: LdContext) -> None:
    fragment = expand_attributes(
        {"id": "urn:x:1", "type": "T", "@context": [], "a": 1, "b": {"object": "urn:x:2"}}, core
    )
    assert fragment == {
        V + "a": [{"type": "Property", "value": 1}],
        V + "b": [{"type": "Relationship", "object": "urn:x:2"}],
    }


def test_expand_attributes_keeps_ngsi_ld_null(core: LdContext) -> None:
    fragment = expand_attributes(
        {
            "a": NGSI_LD_NULL,
            "b": {"type": "Property", "value": NGSI_LD_NULL},
            "c": {"type": "Relationship", "object": NGSI_LD_NULL},
            "location": {"type": "GeoProperty", "value": NGSI_LD_NULL},
            "d": {"type": "Property", "value": 1, "sub": NGSI_LD_NULL},
            "e": {"type": "LanguageProperty", "languageMap": NGSI_LD_NULL},
        },
        core,
    )
    assert fragment[V + "a"] == [{"type": "Property", "value": NGSI_LD_NULL}]
    assert fragment[V + "b"][0]["value"] == NGSI_LD_NULL
    assert fragment[V + "c"][0]["object"] == NGSI_LD_NULL
    assert fragment[LOCATION][0]["value"] == NGSI_LD_NULL
    assert fragment[V + "d"][0][V + "sub"] == {"type": "Property", "value": NGSI_LD_NULL}
    assert fragment[V + "e"][0]["languageMap"] == NGSI_LD_NULL


def test_expand_attributes_rejects_json_null_and_bad_shapes(core: LdContext) -> None:
    with pytest.raises(BadRequestData, match="'a'"):
        expand_attributes({"a": None}, core)
    with pytest.raises(BadRequestData, match="'scope'"):
        expand_attributes({"scope": "/x"}, core)
    with pytest.raises(BadRequestData):
        expand_attributes([], core)  # type: ignore[arg-type]


def test_expand_attribute_single(core: LdContext) -> None:
    name, instance = expand_attribute("temperature", {"value": 3}, core)
    assert name == V + "temperature"
    assert instance == {"type": "Property", "value": 3}


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("payload", "phrase"),
    [
        ({"type": "T"}, "no 'id'"),
        ({"id": "not a uri", "type": "T"}, "not an absolute URI"),
        ({"id": "just-a-name", "type": "T"}, "not an absolute URI"),
        ({"id": 42, "type": "T"}, "not an absolute URI"),
        ({"id": "urn:x:1"}, "no 'type'"),
        ({"id": "urn:x:1", "type": []}, "empty"),
        ({"id": "urn:x:1", "type": 5}, "entity type"),
        ({"id": "urn:x:1", "type": "T", "a": {"type": "Property"}}, "needs the member 'value'"),
        ({"id": "urn:x:1", "type": "T", "a": {"type": "Property", "value": None}}, "null"),
        ({"id": "urn:x:1", "type": "T", "a": None}, "null"),
        ({"id": "urn:x:1", "type": "T", "a": {"type": "Relationship"}}, "'object'"),
        (
            {"id": "urn:x:1", "type": "T", "a": {"type": "Relationship", "object": "no uri"}},
            "absolute URI",
        ),
        (
            {"id": "urn:x:1", "type": "T", "a": {"type": "Propertee", "value": 1}},
            "unknown attribute type",
        ),
        ({"id": "urn:x:1", "type": "T", "a": {"type": 7, "value": 1}}, "unknown attribute type"),
        (
            {
                "id": "urn:x:1",
                "type": "T",
                "location": {"type": "GeoProperty", "value": {"type": "Point"}},
            },
            "GeoJSON",
        ),
        (
            {
                "id": "urn:x:1",
                "type": "T",
                "location": {
                    "type": "GeoProperty",
                    "value": {"type": "Point", "coordinates": [500, 0]},
                },
            },
            "GeoJSON",
        ),
        (
            {"id": "urn:x:1", "type": "T", "location": {"type": "Point", "coordinates": "x"}},
            "GeoJSON",
        ),
        ({"id": "urn:x:1", "type": "T", "bad name": 1}, "not a valid attribute name"),
        ({"id": "urn:x:1", "type": "T", "bad=name": 1}, "not a valid attribute name"),
        ({"id": "urn:x:1", "type": "T", "@weird": 1}, "not a valid attribute name"),
        ({"id": "urn:x:1", "type": "T", "a": {"value": 1, "object": "urn:x:2"}}, "not allowed"),
        (
            {"id": "urn:x:1", "type": "T", "a": {"value": 1, "observedAt": "yesterday"}},
            "observedAt",
        ),
        ({"id": "urn:x:1", "type": "T", "a": {"value": 1, "datasetId": "nope"}}, "datasetId"),
        ({"id": "urn:x:1", "type": "T", "a": {"languageMap": {"en": 5}}}, "languageMap"),
        ({"id": "urn:x:1", "type": "T", "a": {"valueList": 5}}, "valueList"),
        ({"id": "urn:x:1", "type": "T", "a": {"vocab": 5}}, "vocab"),
        ({"id": "urn:x:1", "type": "T", "a": {"value": 1, "sub": [{"value": 1}]}}, "sub-attribute"),
        ({"id": "urn:x:1", "type": "T", "scope": "no-slash"}, "scope"),
    ],
)
def test_bad_entities_are_rejected_naming_the_problem(
    core: LdContext, payload: dict[str, Any], phrase: str
) -> None:
    with pytest.raises(BadRequestData, match=phrase) as info:
        expand_entity(payload, core)
    assert info.value.status == 400


def test_not_an_object(core: LdContext) -> None:
    with pytest.raises(BadRequestData):
        expand_entity(["urn:x:1"], core)  # type: ignore[arg-type]


def test_same_iri_twice_is_rejected(resolver: ContextResolver) -> None:
    context = resolver.resolve({"a": "http://example.org/x", "b": "http://example.org/x"})
    with pytest.raises(BadRequestData, match="twice"):
        expand_entity({"id": "urn:x:1", "type": "T", "a": 1, "b": 2}, context)


def test_malformed_and_unknown_contexts(resolver: ContextResolver) -> None:
    with pytest.raises(InvalidRequest):
        resolver.resolve({"a": 1})
    with pytest.raises(LdContextNotAvailable):
        resolver.resolve("https://example.org/unknown-context.jsonld")
