"""A rules runtime on a real store: entity service with the rules observer, services, engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cetate.entities import CompositeObserver, EntityService
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.representation import expand_attributes, expand_entity
from cetate.ngsi.timestamps import format_datetime
from cetate.reactions.rules.engine import RuleEngine
from cetate.reactions.rules.observer import RuleObserver
from cetate.reactions.rules.repository import RuleCache
from cetate.reactions.rules.service import AlertService, RuleService
from cetate.store.base import ContextStore, Tenant

TENANT = "cluj"


@dataclass
class Runtime:
    store: ContextStore
    entities: EntityService
    rules: RuleService
    alerts: AlertService
    engine: RuleEngine
    observer: RuleObserver

    def create(self, entity_id: str, entity_type: str, **attrs: Any) -> None:
        payload = {"id": entity_id, "type": entity_type, **attrs}
        self.entities.create(TENANT, expand_entity(payload, ContextResolver().resolve(None)))

    def report(self, entity_id: str, at: datetime, **values: Any) -> None:
        """An update of attributes observed at ``at`` (as a device reading)."""
        attrs = {
            name: {
                "type": "GeoProperty"
                if isinstance(value, dict) and "coordinates" in value
                else "Property",
                "value": value,
                "observedAt": format_datetime(at),
            }
            for name, value in values.items()
        }
        expanded = expand_attributes(attrs, ContextResolver().resolve(None))
        self.entities.append_attributes(TENANT, entity_id, expanded)


def runtime(store: ContextStore) -> Runtime:
    store.put_tenant(Tenant(name=TENANT, title="Cluj"))
    cache = RuleCache(store)
    observer = RuleObserver(cache)
    entities = EntityService(store, CompositeObserver(observer))
    return Runtime(
        store,
        entities,
        RuleService(entities, cache),
        AlertService(entities),
        RuleEngine(store, entities, cache, tenants=lambda: [TENANT]),
        observer,
    )


def sustained_rule(**overrides: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": "urn:ngsi-ld:Rule:cluj:container-full",
        "name": {"ro": "Container plin", "en": "Container full"},
        "severity": "high",
        "scope": {"entityType": "WasteContainer"},
        "condition": {
            "kind": "sustained",
            "attribute": "fillingLevel",
            "operator": ">",
            "value": 0.8,
            "clearValue": 0.7,
            "duration": "PT10M",
        },
    }
    rule.update(overrides)
    return rule


def missing_rule(**overrides: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": "urn:ngsi-ld:Rule:cluj:silent",
        "name": {"ro": "Senzor tăcut", "en": "Silent sensor"},
        "scope": {"entityType": "AirQualityObserved"},
        "condition": {"kind": "missing_data", "attribute": "pm10", "duration": "PT2H"},
    }
    rule.update(overrides)
    return rule
