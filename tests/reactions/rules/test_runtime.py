"""The rules runtime on both store backends: rules as entities, readings through the write
observer, the engine (drain and tick), alerts and their lifecycle."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cetate.errors import AlreadyExists, BadRequestData, ResourceNotFound
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.rules.engine import STATE_KIND, state_key
from cetate.reactions.rules.entity import RULE_TYPE, RULE_VOCAB, rule_payload
from cetate.reactions.rules.model import parse_rule
from cetate.reactions.rules.observer import READINGS
from cetate.reactions.rules.service import IllegalTransition
from cetate.store.base import ContextStore
from tests.reactions.rules.conftest import at
from tests.reactions.rules.support import (
    TENANT,
    Runtime,
    missing_rule,
    runtime,
    sustained_rule,
)

BIN = "urn:ngsi-ld:WasteContainer:cluj:0001"


@pytest.fixture
def rt(store: ContextStore) -> Runtime:
    return runtime(store)


def _statuses(rt: Runtime) -> list[str]:
    return [a["status"]["value"] for a in rt.alerts.list(TENANT)]


def test_rule_crud_as_entities(rt: Runtime) -> None:
    rule = rt.rules.put(TENANT, sustained_rule())
    stored = rt.store.get_entity(TENANT, rule.id)
    assert stored is not None
    assert stored["type"] == [RULE_TYPE]
    assert stored[RULE_VOCAB + "condition"][0]["value"]["duration"] == "PT10M"
    assert rt.rules.get(TENANT, rule.id) == rule
    assert [r.id for r in rt.rules.list(TENANT)] == [rule.id]
    with pytest.raises(AlreadyExists):
        rt.rules.put(TENANT, sustained_rule(), create_only=True)
    changed = rt.rules.put(TENANT, sustained_rule(severity="low", autoResolve=False))
    assert rt.rules.get(TENANT, rule.id) == changed
    assert not changed.auto_resolve
    assert rt.rules.delete(TENANT, rule.id)
    assert rt.rules.get(TENANT, rule.id) is None
    assert not rt.rules.delete(TENANT, rule.id)


def test_invalid_rule_names_fields(rt: Runtime) -> None:
    bad = sustained_rule(severity="dire", actions={"email": {"to": ["not-an-address"]}})
    with pytest.raises(BadRequestData) as caught:
        rt.rules.put(TENANT, bad)
    errors = caught.value.extra["errors"]
    assert any(e.startswith("severity:") for e in errors)
    assert any(e.startswith("actions.email.to:") and "not-an-address" in e for e in errors)


def test_invalid_rule_entity_is_rolled_back(rt: Runtime) -> None:
    """A Rule entity written around the rules API (as through NGSI-LD) is validated inside
    the write transaction: the write fails and nothing is stored."""
    payload = rule_payload(parse_rule(sustained_rule()))
    payload["condition"] = {"type": "Property", "value": {"kind": "sustained"}}
    from cetate.ngsi.representation import expand_entity
    from cetate.reactions.rules.entity import rule_context

    with pytest.raises(BadRequestData) as caught:
        rt.entities.create(TENANT, expand_entity(payload, rule_context()))
    assert "condition" in caught.value.detail
    assert rt.store.get_entity(TENANT, payload["id"]) is None


def test_sustained_rule_one_alert_per_episode_and_auto_resolve(rt: Runtime) -> None:
    rt.rules.put(TENANT, sustained_rule())
    rt.create(
        BIN, "WasteContainer", fillingLevel={"value": 0.5, "observedAt": "2026-11-23T09:59:00Z"}
    )
    for minute, level in ((1, 0.9), (5, 0.95), (8, 0.85)):
        rt.report(BIN, at(minute), fillingLevel=level)
    assert rt.engine.drain() == 4
    assert rt.alerts.list(TENANT) == []  # 7 minutes above: not yet
    for minute, level in ((12, 0.92), (15, 0.93), (20, 0.75)):  # 0.75: above clearValue
        rt.report(BIN, at(minute), fillingLevel=level)
    rt.engine.drain()
    [alert] = rt.alerts.list(TENANT)
    assert alert["status"]["value"] == "open"
    assert alert["severity"]["value"] == "high"
    assert alert["validFrom"]["value"]["@value"] == "2026-11-23T10:11:00.000Z"
    assert alert["alertSource"]["object"] == BIN
    rt.report(BIN, at(25), fillingLevel=0.6)
    rt.engine.drain()
    [resolved] = rt.alerts.list(TENANT)
    assert resolved["status"]["value"] == "resolved"
    assert resolved["resolvedBy"]["value"] == "auto"
    # a second episode: a second alert
    rt.report(BIN, at(30), fillingLevel=0.9)
    rt.report(BIN, at(41), fillingLevel=0.9)
    rt.engine.drain()
    assert sorted(_statuses(rt)) == ["open", "resolved"]
    assert rt.store.queue_length(READINGS) == 0


def test_tick_opens_sustained_episode_without_new_reading(rt: Runtime) -> None:
    rt.rules.put(TENANT, sustained_rule())
    rt.create(BIN, "WasteContainer", fillingLevel={"value": 0.9, "observedAt": at(0).isoformat()})
    rt.engine.drain()
    assert rt.engine.tick(at(5)) == 0
    assert rt.engine.tick(at(11)) == 1
    assert rt.engine.tick(at(20)) == 0
    assert _statuses(rt) == ["open"]


def test_replayed_readings_do_not_duplicate_alerts(rt: Runtime) -> None:
    """After a crash between the alert and the saved state, the readings are evaluated again
    from scratch: the same episode, the same alert id, no second alert."""
    rule = rt.rules.put(TENANT, sustained_rule())
    rt.create(BIN, "WasteContainer", fillingLevel={"value": 0.9, "observedAt": at(0).isoformat()})
    rt.report(BIN, at(11), fillingLevel=0.95)
    rt.engine.drain()
    assert len(rt.alerts.list(TENANT)) == 1
    assert rt.store.delete_record(TENANT, STATE_KIND, state_key(rule.id, BIN))
    iri = "https://uri.etsi.org/ngsi-ld/default-context/fillingLevel"
    rt.store.enqueue(
        TENANT,
        READINGS,
        [
            {"rule": rule.id, "entity": BIN, "observedAt": t, "values": {iri: v}}
            for t, v in (("2026-11-23T10:00:00.000Z", 0.9), ("2026-11-23T10:11:00.000Z", 0.95))
        ],
    )
    assert rt.engine.drain() == 2
    assert len(rt.alerts.list(TENANT)) == 1
    assert rt.engine.counters["alerts_replayed"] == 1


def test_missing_data_for_device_that_never_reported(rt: Runtime, store: ContextStore) -> None:
    rt.rules.put(TENANT, missing_rule())
    station = "urn:ngsi-ld:AirQualityObserved:cluj:1"
    rt.create(station, "AirQualityObserved", address="Str. Memorandumului")
    rt.engine.drain()
    created = utc_now()
    assert rt.engine.tick(created + timedelta(hours=1)) == 0
    assert rt.engine.tick(created + timedelta(hours=3)) == 1
    assert rt.engine.tick(created + timedelta(hours=4)) == 0
    [alert] = rt.alerts.list(TENANT, status="open")
    assert "nicio citire până acum" in alert["description"]["value"]
    # the first reading clears the episode and resolves the alert
    rt.report(station, created + timedelta(hours=5), pm10=12)
    rt.engine.drain()
    assert _statuses(rt) == ["resolved"]


def test_manual_lifecycle_and_illegal_transitions(rt: Runtime) -> None:
    rt.rules.put(TENANT, sustained_rule(autoResolve=False))
    rt.create(BIN, "WasteContainer", fillingLevel={"value": 0.9, "observedAt": at(0).isoformat()})
    rt.report(BIN, at(11), fillingLevel=0.95)
    rt.engine.drain()
    [alert] = rt.alerts.list(TENANT)
    alert_id = alert["id"]
    acked = rt.alerts.acknowledge(TENANT, alert_id, "ana")
    assert acked["status"]["value"] == "acknowledged"
    assert acked["acknowledgedBy"]["value"] == "ana"
    with pytest.raises(IllegalTransition) as caught:
        rt.alerts.acknowledge(TENANT, alert_id, "ana")
    assert caught.value.status == 409
    # autoResolve off: clearing leaves it acknowledged
    rt.report(BIN, at(20), fillingLevel=0.1)
    rt.engine.drain()
    assert _statuses(rt) == ["acknowledged"]
    done = rt.alerts.resolve(TENANT, alert_id, "ana")
    assert done["status"]["value"] == "resolved"
    assert done["resolvedBy"]["value"] == "ana"
    with pytest.raises(IllegalTransition):
        rt.alerts.resolve(TENANT, alert_id, "ana")
    with pytest.raises(BadRequestData):
        rt.alerts.acknowledge(TENANT, alert_id, "  ")
    with pytest.raises(ResourceNotFound):
        rt.alerts.resolve(TENANT, "urn:ngsi-ld:Alert:cetate:nope", "ana")


def test_state_is_kept_in_records(rt: Runtime) -> None:
    rule = rt.rules.put(TENANT, sustained_rule())
    rt.create(BIN, "WasteContainer", fillingLevel={"value": 0.9, "observedAt": at(0).isoformat()})
    rt.engine.drain()
    record = rt.store.get_record(TENANT, STATE_KIND, state_key(rule.id, BIN))
    assert record is not None
    state = rt.engine.state(TENANT, rule.id, BIN)
    assert state is not None
    assert state.since == "2026-11-23T10:00:00.000Z"


def test_tenant_without_rules_queues_nothing(rt: Runtime) -> None:
    rt.create(BIN, "WasteContainer", fillingLevel=0.9)
    rt.report(BIN, at(1), fillingLevel=0.95)
    assert rt.store.queue_length(READINGS) == 0
    assert rt.observer.readings_queued == 0


def test_rule_with_unknown_context_is_refused(rt: Runtime) -> None:
    with pytest.raises(BadRequestData) as caught:
        rt.rules.put(TENANT, sustained_rule(context=["https://example.invalid/ctx.jsonld"]))
    assert caught.value.extra["errors"][0].startswith("context:")


def test_rule_with_smart_data_models_context(rt: Runtime) -> None:
    """Terms expand with the rule's @context, as the entities' attributes did."""
    from cetate.ngsi.representation import expand_attributes, expand_entity

    url = "https://smart-data-models.github.io/dataModel.WasteManagement/context.jsonld"
    rule = rt.rules.put(TENANT, sustained_rule(context=[url]))
    resolved = ContextResolver().resolve([url])
    payload = {"id": BIN, "type": "WasteContainer", "fillingLevel": 0.9}
    rt.entities.create(TENANT, expand_entity(payload, resolved))
    attrs = {"fillingLevel": {"value": 0.95, "observedAt": "2099-01-01T00:00:00Z"}}
    rt.entities.append_attributes(TENANT, BIN, expand_attributes(attrs, resolved))
    rt.engine.drain()
    assert _statuses(rt) == ["open"]
    assert rule.context == [url]


def test_geofence_and_tag_scope(rt: Runtime) -> None:
    area = {
        "type": "Polygon",
        "coordinates": [[[23.5, 46.7], [23.7, 46.7], [23.7, 46.8], [23.5, 46.8], [23.5, 46.7]]],
    }
    rt.rules.put(
        TENANT,
        {
            "id": "urn:ngsi-ld:Rule:cluj:bus-left",
            "name": {"ro": "Autobuz în afara zonei", "en": "Bus out of area"},
            "scope": {"entityType": "Vehicle", "tag": "/Cluj"},
            "condition": {"kind": "geofence", "trigger": "outside", "area": area},
        },
    )
    inside = {"type": "Point", "coordinates": [23.6, 46.75]}
    outside = {"type": "Point", "coordinates": [24.0, 46.75]}
    bus, other = "urn:ngsi-ld:Vehicle:cluj:1", "urn:ngsi-ld:Vehicle:iasi:1"
    first = {"type": "GeoProperty", "value": inside, "observedAt": at(0).isoformat()}
    rt.create(bus, "Vehicle", scope="/Cluj/Centru", location=first)
    rt.create(other, "Vehicle", scope="/Iasi", location=first)
    rt.report(other, at(1), location=outside)  # out of the rule's tag: ignored
    rt.report(bus, at(1), location=outside)
    rt.report(bus, at(2), location=outside)
    rt.engine.drain()
    [alert] = rt.alerts.list(TENANT)
    assert alert["alertSource"]["object"] == bus
    assert alert["location"]["value"] == outside
    rt.report(bus, at(3), location=inside)
    rt.engine.drain()
    assert _statuses(rt) == ["resolved"]
    assert rt.engine.state(TENANT, "urn:ngsi-ld:Rule:cluj:bus-left", other) is None


def test_rate_of_change_and_out_of_order(rt: Runtime) -> None:
    rt.rules.put(
        TENANT,
        {
            "id": "urn:ngsi-ld:Rule:cluj:river-rising",
            "name": {"ro": "Râul crește", "en": "River rising"},
            "scope": {"entityType": "WaterObserved"},
            "condition": {
                "kind": "rate_of_change",
                "attribute": "height",
                "limit": 0.5,
                "period": "PT1H",
                "direction": "increase",
            },
        },
    )
    river = "urn:ngsi-ld:WaterObserved:somes"
    rt.create(river, "WaterObserved", height={"value": 1.0, "observedAt": at(0).isoformat()})
    rt.report(river, at(30), height=1.1)  # +0.2/h
    rt.report(river, at(20), height=9.0)  # older: ignored
    rt.engine.drain()
    assert rt.alerts.list(TENANT) == []
    assert rt.engine.counters["readings_ignored_out_of_order"] == 1
    rt.report(river, at(60), height=1.6)  # +1.0/h
    rt.engine.drain()
    [alert] = rt.alerts.list(TENANT)
    assert alert["measuredValue"]["value"] == 1.6
