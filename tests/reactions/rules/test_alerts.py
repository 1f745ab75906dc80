from __future__ import annotations

from typing import Any

import pytest

from cetate.errors import BadRequestData, OperationNotSupported
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.representation import expand_entity
from cetate.reactions.rules.alerts import (
    ALERT_CONTEXT,
    AUTO,
    acknowledge,
    alert_id,
    alert_status,
    build_alert,
    resolve,
    resolve_on_clear,
)
from cetate.reactions.rules.evaluator import Cleared, Opened, Reading, evaluate, tick
from cetate.reactions.rules.model import parse_rule

from .conftest import at

ENTITY = "urn:ngsi-ld:WasteContainer:cluj:0001"
SDM_ALERT = "https://smartdatamodels.org/dataModel.Alert/"
NGSI = "https://uri.etsi.org/ngsi-ld/"
DEFAULT = "https://uri.etsi.org/ngsi-ld/default-context/"
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
WATCHED = {
    "id": ENTITY,
    "type": ["https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer"],
    LOCATION: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [23.59, 46.77]}}],
}
RULE = parse_rule(
    {
        "id": "urn:ngsi-ld:Rule:cluj:container-full",
        "name": {"ro": "Container plin", "en": "Container full"},
        "severity": "high",
        "category": "environment",
        "subCategory": "waterPollution",
        "scope": {"entityType": "WasteContainer"},
        "condition": {
            "kind": "threshold",
            "attribute": "fillingLevel",
            "operator": ">",
            "value": 0.8,
            "clearValue": 0.7,
        },
    }
)


def opened_and_cleared() -> tuple[Opened, Cleared]:
    state, first = evaluate(RULE, None, Reading(ENTITY, at(0), {"fillingLevel": 0.9}))
    _, second = evaluate(RULE, state, Reading(ENTITY, at(30), {"fillingLevel": 0.5}))
    opened, cleared = first[0], second[0]
    assert isinstance(opened, Opened)
    assert isinstance(cleared, Cleared)
    return opened, cleared


def expand(payload: dict[str, Any]) -> dict[str, Any]:
    ContextResolver.clear_cache()
    context = ContextResolver().resolve(payload["@context"])
    return expand_entity(payload, context)


def test_alert_payload() -> None:
    opened, _ = opened_and_cleared()
    alert = build_alert(RULE, opened, WATCHED)
    assert alert["id"] == alert_id(opened.episode_id)
    assert alert["type"] == "Alert"
    assert alert["@context"] == ALERT_CONTEXT
    assert alert["severity"] == {"type": "Property", "value": "high"}
    assert alert["category"]["value"] == "environment"
    assert alert["subCategory"]["value"] == "waterPollution"
    assert alert["description"]["value"] == ("Container plin: fillingLevel > 0.8 (valoare 0.9)")
    assert alert["dateIssued"]["value"] == {
        "@type": "DateTime",
        "@value": "2026-11-23T10:00:00.000Z",
    }
    assert alert["validFrom"] == alert["dateIssued"]
    assert "validTo" not in alert
    assert alert["alertSource"] == {"type": "Relationship", "object": ENTITY}
    assert alert["location"]["value"] == {"type": "Point", "coordinates": [23.59, 46.77]}
    assert alert["status"]["value"] == "open"
    assert alert["measuredValue"]["value"] == 0.9
    assert alert["thresholdValue"]["value"] == 0.8
    english = build_alert(RULE, opened, WATCHED, issued_at=at(1), language="en")
    assert english["description"]["value"] == "Container full: fillingLevel > 0.8 (value 0.9)"
    assert english["dateIssued"]["value"]["@value"] == "2026-11-23T10:01:00.000Z"
    assert english["validFrom"]["value"]["@value"] == "2026-11-23T10:00:00.000Z"


def test_alert_is_accepted_by_the_platform() -> None:
    opened, cleared = opened_and_cleared()
    alert = build_alert(RULE, opened, WATCHED)
    doc = expand(alert)
    assert doc["type"] == [SDM_ALERT + "Alert"]
    assert doc[SDM_ALERT + "severity"][0]["value"] == "high"
    assert doc[SDM_ALERT + "category"][0]["value"] == "environment"
    assert doc[SDM_ALERT + "alertSource"][0] == {"type": "Relationship", "object": ENTITY}
    assert doc[SDM_ALERT + "dateIssued"][0]["type"] == "Property"
    assert doc["https://smartdatamodels.org/validFrom"][0]["type"] == "Property"
    assert doc["http://purl.org/dc/terms/description"][0]["value"].startswith("Container plin")
    assert doc[LOCATION][0]["type"] == "GeoProperty"
    assert doc[NGSI + "status"][0]["value"] == "open"
    assert doc[DEFAULT + "rule"][0]["object"] == RULE.id
    # and after the lifecycle too
    done = resolve_on_clear(acknowledge(alert, "ana.pop", at(5)), cleared)
    assert done is not None
    doc = expand(done)
    assert doc[NGSI + "status"][0]["value"] == "resolved"
    assert doc[SDM_ALERT + "validTo"][0]["value"]["@value"] == "2026-11-23T10:30:00.000Z"


def test_alert_without_location_and_for_missing_data() -> None:
    rule = parse_rule(
        {
            "id": "urn:ngsi-ld:Rule:stale",
            "name": {"ro": "Senzor tăcut", "en": "Silent sensor"},
            "scope": {"entityType": "Device"},
            "condition": {"kind": "missing_data", "duration": "PT2H"},
        }
    )
    state, _ = evaluate(rule, None, Reading(ENTITY, at(0), {"x": 1}))
    _, events = tick(rule, state, at(200))
    opened = events[0]
    assert isinstance(opened, Opened)
    alert = build_alert(rule, opened, None)
    assert "location" not in alert
    assert "measuredValue" not in alert
    assert "thresholdValue" not in alert
    assert alert["severity"]["value"] == "medium"
    assert alert["validFrom"]["value"]["@value"] == "2026-11-23T12:00:00.000Z"
    expand(alert)


def test_lifecycle_open_acknowledged_resolved() -> None:
    opened, _ = opened_and_cleared()
    alert = build_alert(RULE, opened, WATCHED)
    acked = acknowledge(alert, "ana.pop", at(5))
    assert alert_status(alert) == "open"  # not mutated
    assert alert_status(acked) == "acknowledged"
    assert acked["acknowledgedBy"]["value"] == "ana.pop"
    assert acked["acknowledgedAt"]["value"]["@value"] == "2026-11-23T10:05:00.000Z"
    done = resolve(acked, "ana.pop", at(20))
    assert alert_status(done) == "resolved"
    assert done["resolvedBy"]["value"] == "ana.pop"
    assert done["validTo"]["value"]["@value"] == "2026-11-23T10:20:00.000Z"
    assert done["acknowledgedBy"]["value"] == "ana.pop"
    # open → resolved directly, automatically
    auto = resolve(alert, AUTO, at(30))
    assert auto["resolvedBy"]["value"] == "auto"


def test_resolve_on_clear() -> None:
    opened, cleared = opened_and_cleared()
    alert = build_alert(RULE, opened, WATCHED)
    done = resolve_on_clear(alert, cleared)
    assert done is not None
    assert done["resolvedBy"]["value"] == AUTO
    assert done["resolvedAt"]["value"]["@value"] == "2026-11-23T10:30:00.000Z"
    # already resolved by hand: nothing to do
    by_hand = resolve(alert, "ion", at(10))
    assert resolve_on_clear(by_hand, cleared) is None
    # a Cleared of another episode
    other = Cleared(RULE.id, ENTITY, "other", at(40), None, {"ro": "", "en": ""})
    with pytest.raises(BadRequestData, match="belongs to episode"):
        resolve_on_clear(alert, other)


def test_invalid_transitions() -> None:
    opened, _ = opened_and_cleared()
    alert = build_alert(RULE, opened, WATCHED)
    acked = acknowledge(alert, "ana.pop", at(5))
    with pytest.raises(OperationNotSupported, match=r"already acknowledged \(by ana\.pop\)"):
        acknowledge(acked, "ion", at(6))
    done = resolve(acked, "ion", at(7))
    with pytest.raises(OperationNotSupported, match="resolved alert cannot be acknowledged"):
        acknowledge(done, "ion", at(8))
    with pytest.raises(OperationNotSupported, match=r"already resolved \(by ion\)") as err:
        resolve(done, AUTO, at(9))
    assert err.value.status == 422
    assert err.value.extra == {"status": "resolved"}
    with pytest.raises(BadRequestData, match="needs who did it"):
        acknowledge(alert, "  ", at(5))
    with pytest.raises(BadRequestData, match="before it began"):
        resolve(alert, "ion", at(-5))
    with pytest.raises(BadRequestData, match="has status 'closed'"):
        acknowledge({**alert, "status": {"type": "Property", "value": "closed"}}, "ion", at(5))
