"""Truth tables of subscription matching: selectors, watched attributes, triggers, q, geoQ,
expiry, isActive, throttling."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from cetate.ngsi.jsonld import ContextResolver, LdContext
from cetate.ngsi.model import LOCATION, EntityDoc
from cetate.reactions.subscriptions.matching import (
    EntityChange,
    entity_selected,
    matches,
    periodic_due,
    trigger_reason,
)
from cetate.reactions.subscriptions.model import Subscription, parse_subscription
from tests.reactions.subscriptions.support import NOW, WASTE_URL, WM, V, payload

FILL = WM + "fillingLevel"
STATUS = ContextResolver().resolve(WASTE_URL).expand_term("status")
CONTAINER = WM + "WasteContainer"
ID = "urn:ngsi-ld:WasteContainer:cluj:0001"


def entity(fill: float | None = 0.5, **extra: Any) -> EntityDoc:
    doc: EntityDoc = {"id": extra.pop("id", ID), "type": extra.pop("types", [CONTAINER])}
    if fill is not None:
        doc[FILL] = [{"type": "Property", "value": fill}]
    doc[LOCATION] = [
        {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [23.6, 46.77]}}
    ]
    doc.update(extra)
    return doc


def update(before: EntityDoc, **attrs: Any) -> EntityChange:
    after = copy.deepcopy(before)
    for name, value in attrs.items():
        iri = FILL if name == "fill" else STATUS
        if value is None:
            after.pop(iri, None)
        else:
            after[iri] = [{"type": "Property", "value": value}]
    changed = {FILL if name == "fill" else STATUS for name in attrs}
    return EntityChange.updated(before, after, changed)


def sub(waste: LdContext, **changes: Any) -> Subscription:
    return parse_subscription(payload(**changes), waste, now=NOW)


# --------------------------------------------------------------------------------------------
# entity selectors


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        ([{"type": "WasteContainer"}], True),
        ([{"type": "Streetlight"}], False),
        ([{"type": "Streetlight"}, {"type": "WasteContainer"}], True),
        ([{"type": "WasteContainer", "id": ID}], True),
        ([{"type": "WasteContainer", "id": "urn:ngsi-ld:WasteContainer:other"}], False),
        ([{"type": "Streetlight", "id": ID}], False),
        ([{"type": "WasteContainer", "idPattern": "cluj:0+1$"}], True),
        ([{"type": "WasteContainer", "idPattern": "cluj"}], True),  # search, not full match
        ([{"type": "WasteContainer", "idPattern": "^oradea"}], False),
        ([{"type": "WasteContainer", "id": ID, "idPattern": "^nothing"}], True),  # id wins
        ([{"type": "WasteContainer|Streetlight"}], True),
        ([{"type": "WasteContainer;Streetlight"}], False),
        ([{"type": "(WasteContainer;Thing)|Streetlight"}], False),
    ],
)
def test_entity_selectors(selectors: list[Any], expected: bool, waste: LdContext) -> None:
    subscription = sub(waste, entities=selectors)
    assert matches(subscription, update(entity(), fill=0.9), NOW) is expected


def test_type_and_needs_every_type(waste: LdContext) -> None:
    both = entity(types=[CONTAINER, V + "Thing"])
    subscription = sub(waste, entities=[{"type": "WasteContainer;Thing"}])
    assert matches(subscription, update(both, fill=0.9), NOW)


def test_no_entities_means_any_entity(waste: LdContext) -> None:
    subscription = sub(waste, entities=...)
    other = entity(types=["https://example.org/Other"])
    assert matches(subscription, update(other, fill=0.9), NOW)


# --------------------------------------------------------------------------------------------
# watched attributes x triggers


WATCH_TABLE: list[Any] = [
    # watched, change builder, triggers, expected reason
    (["fillingLevel"], "update-fill", None, "attributeUpdated"),
    (["fillingLevel"], "update-status", None, None),
    (["status"], "update-status", None, "attributeUpdated"),
    (["status"], "create-status-attr", None, "attributeCreated"),
    (["fillingLevel", "status"], "update-status", None, "attributeUpdated"),
    (None, "update-status", None, "attributeUpdated"),
    (["fillingLevel"], "create", None, "attributeCreated"),
    (["status"], "create", None, None),  # the new entity has no status
    (["fillingLevel"], "delete", None, None),  # default triggers ignore deletions
    (["fillingLevel"], "delete", ["entityDeleted"], "entityDeleted"),
    (["status"], "delete", ["entityDeleted"], None),  # the deleted entity had no status
    (None, "delete", ["entityDeleted"], "entityDeleted"),
    (["fillingLevel"], "create", ["entityCreated"], "entityCreated"),
    (["fillingLevel"], "create", ["entityUpdated"], None),
    (["fillingLevel"], "update-fill", ["entityUpdated"], "entityUpdated"),
    (["fillingLevel"], "update-fill", ["entityCreated", "entityDeleted"], None),
    (["fillingLevel"], "update-fill", ["attributeCreated"], None),
    (["fillingLevel"], "delete-fill-attr", None, None),
    (["fillingLevel"], "delete-fill-attr", ["attributeDeleted"], "attributeDeleted"),
    (["fillingLevel"], "delete-fill-attr", ["entityUpdated"], "entityUpdated"),
    (None, "update-fill", ["entityUpdated", "attributeUpdated"], "attributeUpdated"),
    (["fillingLevel"], "create", ["entityCreated", "attributeCreated"], "entityCreated"),
]


def build_change(kind: str) -> EntityChange:
    base = entity()
    if kind == "create":
        return EntityChange.created(base)
    if kind == "delete":
        return EntityChange.deleted(base)
    if kind == "update-fill":
        return update(base, fill=0.9)
    if kind == "update-status":
        return update(entity(**{STATUS: [{"type": "Property", "value": "ok"}]}), status="full")
    if kind == "create-status-attr":
        return update(base, status="full")
    if kind == "delete-fill-attr":
        return update(base, fill=None)
    raise AssertionError(kind)


@pytest.mark.parametrize(("watched", "kind", "triggers", "expected"), WATCH_TABLE)
def test_watched_attributes_and_triggers(
    watched: list[str] | None,
    kind: str,
    triggers: list[str] | None,
    expected: str | None,
    waste: LdContext,
) -> None:
    changes: dict[str, Any] = {"watchedAttributes": watched if watched is not None else ...}
    if triggers is not None:
        changes["notificationTrigger"] = triggers
    subscription = sub(waste, **changes)
    assert trigger_reason(subscription, build_change(kind), NOW) == expected


def test_changed_attributes_computed_when_not_given() -> None:
    before = entity(0.5)
    after = entity(0.9)
    after[FILL][0]["modifiedAt"] = "2026-11-23T10:00:00.000Z"
    change = EntityChange.updated(before, after)
    assert change.changed == {FILL}
    same = copy.deepcopy(before)
    same[LOCATION][0]["modifiedAt"] = "2026-11-23T10:00:00.000Z"
    assert EntityChange.updated(before, same).changed == frozenset()


def test_change_kinds() -> None:
    assert EntityChange.created(entity()).kind == "created"
    assert EntityChange.deleted(entity()).kind == "deleted"
    assert update(entity(), fill=1.0).kind == "updated"
    with pytest.raises(ValueError, match="before or after"):
        EntityChange(None, None, frozenset())


# --------------------------------------------------------------------------------------------
# q and geoQ


@pytest.mark.parametrize(
    ("q", "before", "after", "expected"),
    [
        ("fillingLevel>0.8", 0.5, 0.9, True),  # evaluated on the new state
        ("fillingLevel>0.8", 0.9, 0.5, False),
        ("fillingLevel<0.8", 0.5, 0.9, False),
        ("fillingLevel==0.9|fillingLevel==0.1", 0.5, 0.9, True),
        ('fillingLevel>0.8;status=="full"', 0.5, 0.9, False),
        ("fillingLevel", 0.5, 0.9, True),
        ("status", 0.5, 0.9, False),
    ],
)
def test_q_on_the_new_state(
    q: str, before: float, after: float, expected: bool, waste: LdContext
) -> None:
    subscription = sub(waste, q=q)
    assert matches(subscription, update(entity(before), fill=after), NOW) is expected


def test_q_on_the_old_state_for_deletions(waste: LdContext) -> None:
    subscription = sub(waste, q="fillingLevel>0.8", notificationTrigger=["entityDeleted"])
    assert matches(subscription, EntityChange.deleted(entity(0.9)), NOW)
    assert not matches(subscription, EntityChange.deleted(entity(0.1)), NOW)


CLUJ_BOX = [[[23.5, 46.7], [23.7, 46.7], [23.7, 46.8], [23.5, 46.8], [23.5, 46.7]]]


@pytest.mark.parametrize(
    ("geo_q", "expected"),
    [
        ({"geometry": "Polygon", "coordinates": CLUJ_BOX, "georel": "within"}, True),
        ({"geometry": "Polygon", "coordinates": CLUJ_BOX, "georel": "disjoint"}, False),
        (
            {"geometry": "Point", "coordinates": [23.6, 46.771], "georel": "near;maxDistance==500"},
            True,
        ),
        (
            {"geometry": "Point", "coordinates": [23.6, 46.9], "georel": "near;maxDistance==500"},
            False,
        ),
        (
            {"geometry": "Point", "coordinates": [23.6, 46.9], "georel": "near;minDistance==500"},
            True,
        ),
        (
            {
                "geometry": "Polygon",
                "coordinates": CLUJ_BOX,
                "georel": "within",
                "geoproperty": "observationSpace",
            },
            False,
        ),  # the entity has no observationSpace
    ],
)
def test_geo_q(geo_q: dict[str, Any], expected: bool, waste: LdContext) -> None:
    subscription = sub(waste, geoQ=geo_q)
    assert matches(subscription, update(entity(), fill=0.9), NOW) is expected


def test_geo_q_any_instance(waste: LdContext) -> None:
    subscription = sub(
        waste, geoQ={"geometry": "Polygon", "coordinates": CLUJ_BOX, "georel": "within"}
    )
    doc = entity()
    doc[LOCATION] = [
        {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [0, 0]}},
        {
            "type": "GeoProperty",
            "datasetId": "urn:ds:gps",
            "value": {"type": "Point", "coordinates": [23.6, 46.75]},
        },
    ]
    assert entity_selected(subscription, doc)


# --------------------------------------------------------------------------------------------
# lifecycle: isActive, expiry, throttling, periodic


def test_inactive_never_matches(waste: LdContext) -> None:
    assert not matches(sub(waste, isActive=False), update(entity(), fill=0.9), NOW)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(timedelta(seconds=-1), True), (timedelta(0), False), (timedelta(seconds=1), False)],
)
def test_expiry(offset: timedelta, expected: bool, waste: LdContext) -> None:
    subscription = sub(waste, expiresAt="2026-11-24T10:00:00Z")
    moment = subscription.expires_at
    assert moment is not None
    assert matches(subscription, update(entity(), fill=0.9), moment + offset) is expected


@pytest.mark.parametrize(
    ("throttling", "since_last", "expected"),
    [
        (None, timedelta(seconds=1), True),
        (10, None, True),
        (10, timedelta(seconds=9.999), False),
        (10, timedelta(seconds=10), True),
        (10, timedelta(minutes=5), True),
    ],
)
def test_throttling(
    throttling: float | None, since_last: timedelta | None, expected: bool, waste: LdContext
) -> None:
    subscription = sub(waste, throttling=throttling if throttling is not None else ...)
    last = None if since_last is None else NOW - since_last
    assert matches(subscription, update(entity(), fill=0.9), NOW, last) is expected


def test_periodic_subscriptions(waste: LdContext) -> None:
    periodic = sub(waste, watchedAttributes=..., timeInterval=60)
    assert not matches(periodic, update(entity(), fill=0.9), NOW)
    assert periodic_due(periodic, NOW, None)
    assert not periodic_due(periodic, NOW, NOW - timedelta(seconds=59))
    assert periodic_due(periodic, NOW, NOW - timedelta(seconds=60))
    paused = sub(waste, watchedAttributes=..., timeInterval=60, isActive=False)
    assert not periodic_due(paused, NOW, None)
    assert not periodic_due(sub(waste), NOW, None)
