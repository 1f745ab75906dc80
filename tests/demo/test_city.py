"""The demo city: plausible, valid stored form, deterministic, loaded idempotently."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime

from cetate.demo.city import (
    CONTEXTS,
    COUNTS,
    LOCAL_TIME,
    build_city,
    solar_elevation,
    week_ending,
)
from cetate.demo.load import load_demo
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import LOCATION
from cetate.ngsi.representation import expand_entity, render_entity
from cetate.store.base import ContextStore, EntityQuery, TemporalQuery

END = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)  # a Monday
SDM = "https://smartdatamodels.org/"


def series(city: object, entity_id: str, term: str) -> list[object]:
    for entity in city.entities:
        if entity.doc["id"] == entity_id:
            return next(v for k, v in entity.readings.items() if k.endswith("/" + term))
    raise AssertionError(entity_id)


def test_hours() -> None:
    hours = week_ending(END)
    assert len(hours) == 168
    assert hours[-1] == datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert hours[0] == datetime(2026, 11, 16, 13, tzinfo=UTC)


def test_sun() -> None:
    noon = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)  # 13:00 in Cluj, summer
    assert 60 < solar_elevation(noon, 23.59, 46.77) < 68
    midnight = datetime(2026, 6, 21, 22, 0, tzinfo=UTC)
    assert solar_elevation(midnight, 23.59, 46.77) < -10


def test_city_shape_and_determinism() -> None:
    city = build_city(END)
    again = build_city(END)
    assert city.initial_entities() == again.initial_entities()
    types = Counter(entity.doc["type"][0].rsplit("/", 1)[-1] for entity in city.entities)
    for name, count in COUNTS.items():
        assert types[name] == count
    assert types["Device"] == COUNTS["WasteContainer"]
    assert 300 <= len(city.entities) <= 600
    for entity in city.entities:
        lon, lat = entity.doc[LOCATION][0]["value"]["coordinates"]
        assert 23.45 < lon < 23.72
        assert 46.70 < lat < 46.83
    assert city.reading_count > 100_000


def test_readings_follow_the_day() -> None:
    city = build_city(END)
    local_hours = [moment.astimezone(LOCAL_TIME).hour for moment in city.hours]
    # streetlights: on at local midnight, off at local noon (November)
    state = series(city, "urn:ngsi-ld:Streetlight:cluj:0001", "powerState")
    power = series(city, "urn:ngsi-ld:Streetlight:cluj:0001", "powerConsumption")
    for index, hour in enumerate(local_hours):
        if hour == 12:
            assert state[index] == "off"
        if hour in (0, 22):
            assert state[index] == "on"
            assert power[index] > 1
    # NO2 at a central station: the weekday morning rush is dirtier than 3 a.m.
    no2 = series(city, "urn:ngsi-ld:AirQualityObserved:cluj:0001", "no2")
    weekday = [i for i, m in enumerate(city.hours) if m.astimezone(LOCAL_TIME).weekday() < 5]
    rush = [no2[i] for i in weekday if local_hours[i] == 8]
    night = [no2[i] for i in weekday if local_hours[i] == 3]
    assert sum(rush) / len(rush) > 1.5 * sum(night) / len(night)
    # waste: levels within 0..1 and emptied at some point in the week
    for number in range(1, 9):
        fill = series(city, f"urn:ngsi-ld:WasteContainer:cluj:{number:04d}", "fillingLevel")
        assert all(0 <= value <= 1 for value in fill)
        assert any(b < a for a, b in itertools.pairwise(fill))


def test_entities_are_valid_stored_form() -> None:
    """Rendering each demo entity with its type's @context and expanding it back is lossless:
    the generator writes what the API itself would store."""
    resolver = ContextResolver()
    city = build_city(END, hours=2)
    for entity in city.initial_entities():
        term = entity["id"].split(":")[2]
        context = resolver.resolve(CONTEXTS[term])
        rendered = render_entity(entity, context)
        assert rendered["type"] == term
        assert expand_entity(rendered, context) == entity


def test_hourly_updates_carry_observed_at() -> None:
    city = build_city(END, hours=7)
    updates = list(city.hourly_updates())
    assert len(updates) == 6
    moment, batch = updates[0]
    assert moment == city.hours[1]
    light = next(doc for doc in batch if doc["id"] == "urn:ngsi-ld:Streetlight:cluj:0001")
    levels = next(v for k, v in light.items() if k.endswith("/illuminanceLevel"))
    assert levels[0]["observedAt"] == "2026-11-23T07:00:00.000Z"
    # devices report their health every 6 hours only
    assert all("Device" not in doc["id"] for doc in batch)
    assert any("Device" in doc["id"] for doc in updates[5][1])


def test_load_demo_is_idempotent(store: ContextStore) -> None:
    report = load_demo(store, end=END, hours=3)
    assert not report.already_loaded
    assert report.admin_created
    assert report.entities == len(list(store.iter_entities("cluj")))
    tenant = store.get_tenant("cluj")
    assert tenant is not None
    assert SDM + "dataModel.Environment/AirQualityObserved" in tenant.public_types
    user = store.get_user("admin")
    assert user is not None
    assert user.roles == {"cluj": "admin"}

    station = "urn:ngsi-ld:AirQualityObserved:cluj:0001"
    no2 = SDM + "dataModel.Environment/no2"

    def history() -> list[object]:
        found = store.query_temporal(
            "cluj",
            TemporalQuery(entities=EntityQuery(ids=(station,)), attrs=frozenset({no2})),
        )
        return found[0].history[no2]

    assert len(history()) == 3
    again = load_demo(store, end=END, hours=3)
    assert again.already_loaded
    assert not again.admin_created
    assert len(history()) == 3
