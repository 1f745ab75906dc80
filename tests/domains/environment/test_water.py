"""Water-quality threshold sets as data, turned into rules; end to end on both backends:
WaterQualityObserved readings written → rules engine drained → Alerts (and their resolution)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.store_input import ENVIRONMENT_CONTEXT
from cetate.domains.environment.water import (
    WATER_TYPE,
    custom_threshold_set,
    install_threshold_rules,
    threshold_rules,
    threshold_set,
    threshold_set_keys,
)
from cetate.entities import EntityService
from cetate.ngsi.jsonld import ContextResolver
from cetate.reactions.rules.engine import RuleEngine
from cetate.reactions.rules.service import AlertService, RuleService
from cetate.store.base import ContextStore
from tests.domains.environment.support import TENANT, application

PROBE = "urn:ngsi-ld:WaterQualityObserved:constanta:siutghiol-1"
TERMS = ContextResolver().resolve(ENVIRONMENT_CONTEXT)


def test_shipped_sets_carry_citations() -> None:
    assert set(threshold_set_keys()) >= {"eu-2020-2184", "ro-161-2006-class-ii"}
    for key in threshold_set_keys():
        chosen = threshold_set(key)
        assert chosen.source
        assert chosen.title["ro"]
        assert chosen.title["en"]
        assert all(t.citation and t.unit for t in chosen.thresholds)
    drinking = {t.attribute: t for t in threshold_set("eu-2020-2184").thresholds}
    assert (drinking["pH"].minimum, drinking["pH"].maximum) == (6.5, 9.5)
    assert drinking["NO3"].maximum == 50
    assert drinking["conductivity"].maximum == 2500
    with pytest.raises(EnvironmentInputError, match="unknown water threshold set 'who'"):
        threshold_set("who")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ([], "has no parameters"),
        ([{"attribute": "pH", "unit": "pH"}], "needs a min or a max"),
        ([{"attribute": "pH", "min": 9, "max": 6, "unit": "pH"}], "min 9.0 is not below max"),
        ([{"attribute": "pH", "max": "high", "unit": "pH"}], "must be a finite number"),
        ([{"attribute": "NO3", "max": 10}], "needs its unit"),
        ([{"attribute": "a b", "max": 1, "unit": "x"}], "is not an attribute name"),
        ([{"attribute": "O2", "min": 5, "unit": "mg/l"}] * 2, "given twice"),
    ],
)
def test_bad_custom_sets_are_refused(parameters: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(EnvironmentInputError, match=message):
        custom_threshold_set("lake", parameters)
    with pytest.raises(EnvironmentInputError, match="key"):
        custom_threshold_set("Lake Set", [{"attribute": "O2", "min": 5, "unit": "mg/l"}])


def test_rules_of_a_set() -> None:
    rules = threshold_rules(TENANT, threshold_set("eu-2020-2184"), tag="/Constanta")
    by_id = {r["id"]: r for r in rules}
    high = by_id["urn:ngsi-ld:Rule:constanta:water:eu-2020-2184:ph:max"]
    low = by_id["urn:ngsi-ld:Rule:constanta:water:eu-2020-2184:ph:min"]
    assert (high["condition"]["operator"], high["condition"]["value"]) == (">", 9.5)
    assert (low["condition"]["operator"], low["condition"]["value"]) == ("<", 6.5)
    assert high["scope"] == {"entityType": WATER_TYPE, "tag": "/Constanta"}
    assert "urn:ngsi-ld:Rule:constanta:water:eu-2020-2184:cl:max" in by_id
    assert len(rules) == 8  # pH twice, six maxima


def _reading(service: EntityService, values: dict[str, float], observed: str) -> None:
    attrs = {
        TERMS.expand_term(name): [{"type": "Property", "value": v, "observedAt": observed}]
        for name, v in values.items()
    }
    service.append_attributes(TENANT, PROBE, attrs)


def test_breaches_become_alerts_through_the_engine(store: ContextStore) -> None:
    app = application(store, open_access=True)
    with TestClient(app):
        rules: RuleService = app.state.rules
        alerts: AlertService = app.state.alerts
        engine: RuleEngine = app.state.rule_engine
        service: EntityService = app.state.entity_service
        installed = install_threshold_rules(rules, TENANT, threshold_set("ro-161-2006-class-ii"))
        assert len(installed) == 5
        service.create(
            TENANT,
            {
                "id": PROBE,
                "type": [TERMS.expand_term(WATER_TYPE)],
                "https://uri.etsi.org/ngsi-ld/location": [
                    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [28.6, 44.2]}}
                ],
            },
        )
        # within class II, then a value exactly on a limit (not a breach)
        _reading(service, {"pH": 7.4, "O2": 8.1, "NH4": 0.2, "NO3": 1.5}, "2026-06-01T08:00:00Z")
        _reading(service, {"pH": 8.5, "O2": 7.0, "NO3": 3.0}, "2026-06-01T09:00:00Z")
        engine.drain()
        assert alerts.list(TENANT) == []
        # nitrate above class II and oxygen below it
        _reading(service, {"NO3": 4.2, "O2": 5.5, "pH": 8.0}, "2026-06-01T10:00:00Z")
        engine.drain()
        opened = alerts.list(TENANT)
        assert sorted(a["rule"]["object"] for a in opened) == [
            "urn:ngsi-ld:Rule:constanta:water:ro-161-2006-class-ii:no3:max",
            "urn:ngsi-ld:Rule:constanta:water:ro-161-2006-class-ii:o2:min",
        ]
        nitrate = next(a for a in opened if a["rule"]["object"].endswith("no3:max"))
        assert nitrate["measuredValue"]["value"] == 4.2
        assert nitrate["thresholdValue"]["value"] == 3.0
        assert nitrate["subCategory"]["value"] == "waterQuality"
        assert nitrate["alertSource"]["object"] == PROBE
        # back within the class: both resolve by themselves
        _reading(service, {"NO3": 2.0, "O2": 7.5}, "2026-06-01T11:00:00Z")
        engine.drain()
        assert [a["status"]["value"] for a in alerts.list(TENANT)] == ["resolved", "resolved"]
