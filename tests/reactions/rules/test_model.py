from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cetate.errors import BadRequestData
from cetate.ngsi.jsonld import ContextResolver
from cetate.reactions.rules.model import (
    GeofenceCondition,
    SustainedCondition,
    ThresholdCondition,
    format_duration,
    in_scope,
    parse_rule,
)

WASTE_CTX = "https://smart-data-models.github.io/dataModel.WasteManagement/context.jsonld"
SDM = "https://smartdatamodels.org/"
AREA = {
    "type": "Polygon",
    "coordinates": [[[23.5, 46.7], [23.7, 46.7], [23.7, 46.8], [23.5, 46.8], [23.5, 46.7]]],
}


def rule_json(**condition: Any) -> dict[str, Any]:
    return {
        "id": "urn:ngsi-ld:Rule:cluj:container-full",
        "name": {"ro": "Container plin", "en": "Container full"},
        "severity": "high",
        "scope": {"entityType": "WasteContainer", "tag": "/Cluj", "area": AREA},
        "condition": condition
        or {
            "kind": "sustained",
            "attribute": "fillingLevel",
            "operator": ">",
            "value": 0.8,
            "clearValue": 0.7,
            "duration": "PT10M",
        },
    }


def test_parse_and_json_round_trip() -> None:
    rule = parse_rule(rule_json())
    assert isinstance(rule.condition, SustainedCondition)
    assert rule.condition.duration == timedelta(minutes=10)
    assert rule.enabled is True
    data = rule.to_json()
    assert data["condition"]["duration"] == "PT10M"
    assert data["condition"]["clearValue"] == 0.7
    assert data["scope"]["entityType"] == "WasteContainer"
    assert parse_rule(data) == rule


def test_every_condition_kind_parses() -> None:
    kinds = [
        {"kind": "threshold", "attribute": "t", "operator": "<=", "value": 5, "hysteresis": 1},
        {"kind": "rate_of_change", "attribute": "t", "limit": 2, "period": "PT1H"},
        {"kind": "missing_data", "duration": "PT2H"},
        {"kind": "missing_data", "attribute": "t", "duration": "PT2H"},
        {"kind": "geofence", "area": AREA, "trigger": "outside", "clearMargin": 20},
    ]
    for condition in kinds:
        rule = parse_rule(rule_json(**condition))
        assert parse_rule(rule.to_json()) == rule
    rule = parse_rule(rule_json(**kinds[0]))
    assert isinstance(rule.condition, ThresholdCondition)
    assert rule.condition.effective_clear_value == 6


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "not a uri"}, "id: rule id 'not a uri' is not an absolute URI"),
        ({"severity": "urgent"}, "severity: Input should be 'informational'"),
        ({"name": {"ro": "x"}}, "name.en: Field required"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        (
            {"scope": {"entityType": "WasteContainer", "tag": "Cluj"}},
            "scope.tag: tag 'Cluj' is not an NGSI-LD scope",
        ),
        (
            {"scope": {"entityType": "W", "area": {"type": "Point", "coordinates": [23, 46]}}},
            "scope.area: an area must be a GeoJSON Polygon or MultiPolygon",
        ),
        (
            {"scope": {"entityType": "W", "area": {"type": "Polygon", "coordinates": [[[0, 0]]]}}},
            "scope.area: Polygon coordinates[0]: expected a list of at least 4 positions",
        ),
        (
            {
                "condition": {
                    "kind": "threshold",
                    "attribute": "f",
                    "operator": ">",
                    "value": 0.8,
                    "clearValue": 0.9,
                }
            },
            "clearValue 0.9 must not be above value 0.8 for operator >",
        ),
        (
            {
                "condition": {
                    "kind": "threshold",
                    "attribute": "f",
                    "operator": ">",
                    "value": 0.8,
                    "clearValue": 0.7,
                    "hysteresis": 0.1,
                }
            },
            "give either clearValue or hysteresis, not both",
        ),
        (
            {
                "condition": {
                    "kind": "sustained",
                    "attribute": "f",
                    "operator": ">",
                    "value": 0.8,
                    "duration": "P1M",
                }
            },
            "condition.sustained.duration: duration 'P1M' uses years or months",
        ),
        (
            {"condition": {"kind": "missing_data", "duration": "PT0S"}},
            "duration must be a positive duration",
        ),
        (
            {
                "condition": {
                    "kind": "rate_of_change",
                    "attribute": "f",
                    "limit": 0,
                    "period": "PT1H",
                }
            },
            "limit: Input should be greater than 0",
        ),
        (
            {"condition": {"kind": "teleport"}},
            "condition: Input tag 'teleport' found using 'kind' does not match",
        ),
        (
            {
                "condition": {
                    "kind": "threshold",
                    "attribute": "fill level",
                    "operator": "=",
                    "value": 1,
                }
            },
            "operator: Input should be '>', '>=', '<' or '<='",
        ),
    ],
)
def test_validation_messages(change: dict[str, Any], message: str) -> None:
    data = rule_json()
    data.update(change)
    with pytest.raises(BadRequestData) as err:
        parse_rule(data)
    assert message in err.value.detail
    assert err.value.extra["errors"]


def test_bad_attribute_name_is_named() -> None:
    data = rule_json(kind="threshold", attribute="fill level", operator=">", value=1)
    with pytest.raises(BadRequestData, match="'fill level' is not an NGSI-LD name"):
        parse_rule(data)


def test_format_duration() -> None:
    assert format_duration(timedelta(minutes=10)) == "PT10M"
    assert format_duration(timedelta(days=1, hours=2)) == "P1DT2H"
    assert format_duration(timedelta(seconds=1.5)) == "PT1.5S"
    assert format_duration(timedelta(0)) == "PT0S"


def test_expanded_and_in_scope() -> None:
    ContextResolver.clear_cache()
    context = ContextResolver().resolve(WASTE_CTX)
    rule = parse_rule(rule_json()).expanded(context)
    assert rule.scope.entity_type == SDM + "dataModel.WasteManagement/WasteContainer"
    assert isinstance(rule.condition, SustainedCondition)
    assert rule.condition.attribute == SDM + "dataModel.WasteManagement/fillingLevel"
    entity = {
        "id": "urn:ngsi-ld:WasteContainer:cluj:0001",
        "type": [SDM + "dataModel.WasteManagement/WasteContainer"],
        "scope": ["/Cluj/Centru"],
        "https://uri.etsi.org/ngsi-ld/location": [
            {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [23.59, 46.77]}}
        ],
    }
    assert in_scope(rule, entity)
    assert not in_scope(rule, {**entity, "scope": ["/Clujana"]})
    assert not in_scope(rule, {**entity, "scope": []})
    assert not in_scope(rule, {**entity, "type": [SDM + "Other"]})
    far = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [26.1, 44.4]}}
    assert not in_scope(rule, {**entity, "https://uri.etsi.org/ngsi-ld/location": [far]})
    assert not in_scope(rule, {k: v for k, v in entity.items() if "location" not in k})
    # already-IRI names stay as they are
    again = rule.expanded(context)
    assert again == rule


def test_geofence_defaults_to_location() -> None:
    rule = parse_rule(rule_json(kind="geofence", area=AREA, trigger="inside"))
    assert isinstance(rule.condition, GeofenceCondition)
    assert rule.condition.attribute == "location"
