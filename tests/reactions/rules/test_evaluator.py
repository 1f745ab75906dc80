"""Hand-computed timelines. T0 is 2026-11-23 10:00 UTC; at(m) is T0 + m minutes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from cetate.errors import BadRequestData
from cetate.reactions.rules.evaluator import (
    Cleared,
    Opened,
    Reading,
    ReadingIgnored,
    RuleState,
    Transition,
    episode_id,
    evaluate,
    initial_state,
    reading_from_attributes,
    tick,
)
from cetate.reactions.rules.model import Rule, parse_rule

from .conftest import T0, at

ENTITY = "urn:ngsi-ld:WasteContainer:cluj:0001"
AREA = {
    "type": "Polygon",
    "coordinates": [[[23.5, 46.7], [23.7, 46.7], [23.7, 46.8], [23.5, 46.8], [23.5, 46.7]]],
}


def make_rule(condition: dict[str, Any], **extra: Any) -> Rule:
    return parse_rule(
        {
            "id": "urn:ngsi-ld:Rule:test",
            "name": {"ro": "Regulă", "en": "Rule"},
            "scope": {"entityType": "WasteContainer"},
            "condition": condition,
            **extra,
        }
    )


SUSTAINED = make_rule(
    {
        "kind": "sustained",
        "attribute": "fillingLevel",
        "operator": ">",
        "value": 0.8,
        "clearValue": 0.7,
        "duration": "PT10M",
    }
)
THRESHOLD = make_rule(
    {"kind": "threshold", "attribute": "t", "operator": ">", "value": 30, "hysteresis": 2}
)


def run(
    rule: Rule, steps: Sequence[tuple[float, Any]], state: RuleState | None = None
) -> tuple[RuleState, list[tuple[float, Transition]]]:
    """Feed (minute, value) readings; ("tick", minute) entries call tick instead."""
    out: list[tuple[float, Transition]] = []
    attribute = getattr(rule.condition, "attribute", None) or "x"
    for minute, value in steps:
        if minute == "tick":
            assert state is not None
            state, events = tick(rule, state, at(value))
            out.extend((value, e) for e in events)
        else:
            reading = Reading(ENTITY, at(minute), {attribute: value})
            state, events = evaluate(rule, state, reading)
            out.extend((minute, e) for e in events)
        assert state is not None
        # the state always survives JSON
        assert RuleState.from_json(json.loads(json.dumps(state.to_json()))) == state
    assert state is not None
    return state, out


def kinds(events: list[tuple[float, Transition]]) -> list[tuple[float, str]]:
    return [(m, type(e).__name__) for m, e in events]


# -- sustained: fill level > 80 % for 10 minutes, readings every 2 minutes -------------------


def test_sustained_opens_after_ten_minutes_above() -> None:
    # 10:00 0.85 starts the run; 10:10 is 10 minutes later: open, dated 10:10
    steps = [(m, 0.85) for m in range(0, 20, 2)]
    state, events = run(SUSTAINED, steps)
    assert kinds(events) == [(10, "Opened")]
    opened = events[0][1]
    assert isinstance(opened, Opened)
    assert opened.started_at == at(10)
    assert opened.condition_since == at(0)
    assert opened.value == 0.85
    assert opened.episode_id == episode_id(SUSTAINED.id, ENTITY, at(10))
    assert opened.message["en"] == "Rule: fillingLevel > 0.8 for 10 min (value 0.85)"
    assert opened.message["ro"] == "Regulă: fillingLevel > 0.8 timp de 10 min (valoare 0.85)"
    assert state.is_open
    assert state.episodes == 1


def test_sustained_dip_below_threshold_restarts_the_window() -> None:
    # 10:00-10:06 above, 10:08 0.78 (below 0.8: the run breaks), 10:10 above again:
    # new run from 10:10, so it opens at 10:20, not 10:10
    steps = [(0, 0.85), (2, 0.9), (4, 0.9), (6, 0.85), (8, 0.78)]
    steps += [(m, 0.9) for m in range(10, 24, 2)]
    _, events = run(SUSTAINED, steps)
    assert kinds(events) == [(20, "Opened")]
    assert events[0][1].condition_since == at(10)  # type: ignore[union-attr]


def test_sustained_hysteresis_dip_keeps_the_episode_open() -> None:
    # open at 10:10; 10:12 0.75 and 10:14 0.72 are below 0.8 but above the 0.7 clear line:
    # still open, no new alert when it rises again; 10:18 0.65 clears
    steps = [(m, 0.85) for m in range(0, 12, 2)]
    steps += [(12, 0.75), (14, 0.72), (16, 0.95), (18, 0.65), (20, 0.66)]
    state, events = run(SUSTAINED, steps)
    assert kinds(events) == [(10, "Opened"), (18, "Cleared")]
    opened, cleared = events[0][1], events[1][1]
    assert isinstance(opened, Opened)
    assert isinstance(cleared, Cleared)
    assert cleared.episode_id == opened.episode_id
    assert cleared.ended_at == at(18)
    assert cleared.value == 0.65
    assert not state.is_open
    assert state.since is None


def test_sustained_opened_by_tick_at_the_deadline() -> None:
    # readings at 10:00 and 10:02 above, then silence. tick at 10:10 exactly: not past the
    # deadline; tick at 10:11: opens, dated 10:10 (the deadline), value of the last reading
    state, events = run(SUSTAINED, [(0, 0.85), (2, 0.9), ("tick", 10)])
    assert events == []
    state, events = run(SUSTAINED, [("tick", 11), ("tick", 12)], state)
    assert kinds(events) == [(11, "Opened")]
    assert events[0][1].started_at == at(10)  # type: ignore[union-attr]
    assert events[0][1].value == 0.9  # type: ignore[union-attr]
    # the reading at 10:12 above does not open a second episode
    _, events = run(SUSTAINED, [(12, 0.9)], state)
    assert events == []


def test_sustained_same_result_with_or_without_ticks() -> None:
    readings: list[tuple[Any, Any]] = [(0, 0.85), (4, 0.9), (30, 0.5)]
    _, without = run(SUSTAINED, readings)
    with_ticks: list[tuple[Any, Any]] = [(0, 0.85), (4, 0.9)]
    with_ticks += [("tick", m) for m in range(5, 30)] + [(30, 0.5)]
    _, ticked = run(SUSTAINED, with_ticks)
    assert [e for _, e in without] == [e for _, e in ticked]
    assert kinds(without) == [(30, "Opened"), (30, "Cleared")]
    assert without[0][1].started_at == at(10)  # type: ignore[union-attr]


def test_sustained_flapping_around_the_threshold_never_opens() -> None:
    # alternating 0.81 / 0.79 every 2 minutes for an hour: the run never lasts 10 minutes
    steps = [(m, 0.81 if m % 4 == 0 else 0.79) for m in range(0, 60, 2)]
    _, events = run(SUSTAINED, steps)
    assert events == []


# -- threshold with hysteresis ------------------------------------------------------------


def test_threshold_one_alert_per_episode_and_no_flapping() -> None:
    # t > 30 opens; clears below 28 (hysteresis 2). Flapping 29/31 while open: nothing.
    steps = [
        (0, 25),
        (1, 31),  # open
        (2, 32),
        (3, 29),
        (4, 31),
        (5, 29.5),
        (6, 28),  # 28 is not below 28: still open
        (7, 27.9),  # clear
        (8, 29),
        (9, 30),  # not > 30
        (10, 30.5),  # second episode
        (11, 10),  # clear
    ]
    state, events = run(THRESHOLD, steps)
    assert kinds(events) == [(1, "Opened"), (7, "Cleared"), (10, "Opened"), (11, "Cleared")]
    assert state.episodes == 2
    first, second = events[0][1], events[2][1]
    assert isinstance(first, Opened)
    assert isinstance(second, Opened)
    assert first.episode_id != second.episode_id


def test_threshold_without_hysteresis_clears_when_condition_stops() -> None:
    rule = make_rule({"kind": "threshold", "attribute": "t", "operator": "<=", "value": 5})
    _, events = run(rule, [(0, 6), (1, 5), (2, 4), (3, 5.1), (4, 5)])
    assert kinds(events) == [(1, "Opened"), (3, "Cleared"), (4, "Opened")]


def test_lower_threshold_with_clear_value() -> None:
    rule = make_rule(
        {"kind": "threshold", "attribute": "t", "operator": "<", "value": 0, "clearValue": 2}
    )
    _, events = run(rule, [(0, 1), (1, -1), (2, 1.5), (3, 2), (4, 2.1)])
    assert kinds(events) == [(1, "Opened"), (4, "Cleared")]


# -- out of order, duplicates, unusable values ----------------------------------------------


def test_out_of_order_readings_are_ignored_and_reported() -> None:
    state, events = run(THRESHOLD, [(10, 31)])
    assert kinds(events) == [(10, "Opened")]
    # an older reading below the clear line must not clear the alert
    new, out = evaluate(THRESHOLD, state, Reading(ENTITY, at(5), {"t": 0}))
    assert len(out) == 1
    ignored = out[0]
    assert isinstance(ignored, ReadingIgnored)
    assert ignored.reason == "out_of_order"
    assert ignored.observed_at == at(5)
    assert "2026-11-23T10:10:00.000Z" in ignored.detail
    assert new.is_open
    assert new.last_observed_at == state.last_observed_at
    assert new.last_value == 31
    assert new.ignored == 1
    # same observedAt: a duplicate
    new, out = evaluate(THRESHOLD, new, Reading(ENTITY, at(10), {"t": 0}))
    assert isinstance(out[0], ReadingIgnored)
    assert out[0].reason == "duplicate"
    assert new.is_open
    assert new.ignored == 2


def test_unusable_values_and_irrelevant_readings() -> None:
    state, out = evaluate(THRESHOLD, None, Reading(ENTITY, at(0), {"t": "hot"}))
    assert isinstance(out[0], ReadingIgnored)
    assert out[0].reason == "not_a_number"
    assert state.last_observed_at is None
    state, out = evaluate(THRESHOLD, state, Reading(ENTITY, at(1), {"t": True}))
    assert out[0].reason == "not_a_number"  # type: ignore[union-attr]
    state, out = evaluate(THRESHOLD, state, Reading(ENTITY, at(2), {"other": 99}))
    assert out == []
    assert state.ignored == 2


def test_disabled_rule_does_nothing() -> None:
    rule = THRESHOLD.model_copy(update={"enabled": False})
    state, events = run(rule, [(0, 50), ("tick", 100)])
    assert events == []
    assert not state.is_open


def test_state_of_another_entity_is_refused() -> None:
    state = initial_state(THRESHOLD, "urn:ngsi-ld:X:1")
    with pytest.raises(ValueError, match="state of"):
        evaluate(THRESHOLD, state, Reading(ENTITY, at(0), {"t": 1}))


# -- missing data --------------------------------------------------------------------------

MISSING = make_rule({"kind": "missing_data", "duration": "PT2H"}, severity="low")


def test_missing_data_two_hours() -> None:
    # last reading 10:00; silence; tick 12:00 exactly: not yet; tick 12:01: stale since 12:00
    state, events = run(MISSING, [(0, 1), ("tick", 60), ("tick", 120)])
    assert events == []
    state, events = run(MISSING, [("tick", 121), ("tick", 150), ("tick", 180)], state)
    assert kinds(events) == [(121, "Opened")]
    opened = events[0][1]
    assert isinstance(opened, Opened)
    assert opened.started_at == at(120)
    assert opened.condition_since == at(0)
    assert opened.value == "2026-11-23T10:00:00.000Z"
    assert opened.message["en"] == (
        "Rule: no reading of any attribute for 2 h; last at 2026-11-23T10:00:00.000Z"
    )
    # the device comes back at 13:05: cleared
    state, events = run(MISSING, [(185, 1)], state)
    assert kinds(events) == [(185, "Cleared")]
    assert events[0][1].episode_id == opened.episode_id  # type: ignore[union-attr]
    assert events[0][1].ended_at == at(185)  # type: ignore[union-attr]
    assert not state.is_open


def test_missing_data_reading_at_the_deadline_is_in_time() -> None:
    _, events = run(MISSING, [(0, 1), (120, 1), ("tick", 240), ("tick", 241)])
    assert kinds(events) == [(241, "Opened")]
    assert events[0][1].started_at == at(240)  # type: ignore[union-attr]


def test_missing_data_late_reading_without_ticks_gives_the_whole_episode() -> None:
    _, events = run(MISSING, [(0, 1), (200, 1)])
    assert kinds(events) == [(200, "Opened"), (200, "Cleared")]
    assert events[0][1].started_at == at(120)  # type: ignore[union-attr]


def test_missing_data_for_an_entity_never_heard_from() -> None:
    state = initial_state(MISSING, ENTITY, watching_since=T0)
    state, events = tick(MISSING, state, at(121))
    assert len(events) == 1
    assert isinstance(events[0], Opened)
    assert events[0].value is None
    assert "never reported" in events[0].message["en"]
    # a fresh state without a start of watching cannot go stale
    _, events = tick(MISSING, initial_state(MISSING, ENTITY), at(10_000))
    assert events == []


def test_missing_data_of_one_attribute() -> None:
    rule = make_rule({"kind": "missing_data", "attribute": "fillingLevel", "duration": "PT1H"})
    state, _ = evaluate(rule, None, Reading(ENTITY, at(0), {"fillingLevel": 0.5}))
    # other attributes keep arriving; they do not count
    state, events = evaluate(rule, state, Reading(ENTITY, at(50), {"temperature": 4}))
    assert events == []
    state, events = tick(rule, state, at(61))
    assert [type(e) for e in events] == [Opened]
    assert "no reading of fillingLevel for 1 h" in events[0].message["en"]  # type: ignore[union-attr]


# -- rate of change ------------------------------------------------------------------------

RATE = make_rule(
    {
        "kind": "rate_of_change",
        "attribute": "waterLevel",
        "limit": 0.5,
        "period": "PT1H",
        "direction": "increase",
        "clearLimit": 0.2,
    }
)


def test_rate_of_change() -> None:
    # readings every 10 minutes; rate per hour = delta * 6
    steps = [
        (0, 1.00),
        (10, 1.05),  # +0.3/h
        (20, 1.10),  # +0.3/h
        (30, 1.20),  # +0.6/h > 0.5: open
        (40, 1.30),  # +0.6/h: still open, nothing
        (50, 1.34),  # +0.24/h: above the clear limit 0.2: still open
        (60, 1.36),  # +0.12/h: clear
        (70, 1.00),  # -2.16/h: a fall; direction is increase: nothing
    ]
    state, events = run(RATE, steps)
    assert kinds(events) == [(30, "Opened"), (60, "Cleared")]
    opened = events[0][1]
    assert isinstance(opened, Opened)
    assert opened.value == 1.20
    assert "changed by +0.6 per 1 h" in opened.message["en"]
    assert state.episodes == 1


def test_rate_of_change_any_direction() -> None:
    rule = make_rule({"kind": "rate_of_change", "attribute": "w", "limit": 1, "period": "PT1H"})
    _, events = run(rule, [(0, 5), (30, 4), (60, 3.9), (90, 3.85)])
    # -2/h opens at 30; -0.2/h clears at 60
    assert kinds(events) == [(30, "Opened"), (60, "Cleared")]


# -- geofence ------------------------------------------------------------------------------

INSIDE = {"type": "Point", "coordinates": [23.6, 46.75]}
OUTSIDE = {"type": "Point", "coordinates": [23.8, 46.75]}
# 23.7005 E is about 38 m east of the edge at 23.7 E (cos(46.75°) * 111.2 km * 0.0005°)
JUST_OUTSIDE = {"type": "Point", "coordinates": [23.7005, 46.75]}
JUST_INSIDE = {"type": "Point", "coordinates": [23.6995, 46.75]}
ON_EDGE = {"type": "Point", "coordinates": [23.7, 46.75]}


def test_geofence_leave_and_enter() -> None:
    rule = make_rule({"kind": "geofence", "area": AREA, "trigger": "outside"})
    steps = [(0, INSIDE), (1, ON_EDGE), (2, OUTSIDE), (3, OUTSIDE), (4, INSIDE), (5, OUTSIDE)]
    state, events = run(rule, steps)
    # on the edge counts as inside
    assert kinds(events) == [(2, "Opened"), (4, "Cleared"), (5, "Opened")]
    assert events[0][1].value == OUTSIDE  # type: ignore[union-attr]
    assert events[0][1].message["en"] == "Rule: location left the area"  # type: ignore[union-attr]
    assert state.episodes == 2


def test_geofence_inside_trigger_with_clear_margin() -> None:
    rule = make_rule({"kind": "geofence", "area": AREA, "trigger": "inside", "clearMargin": 100})
    # enters at 1; leaves by ~38 m at 2 (within the 100 m margin: still open); far at 3: clear
    _, events = run(rule, [(0, OUTSIDE), (1, JUST_INSIDE), (2, JUST_OUTSIDE), (3, OUTSIDE)])
    assert kinds(events) == [(1, "Opened"), (3, "Cleared")]
    assert events[0][1].message["ro"] == "Regulă: location a intrat în zonă"  # type: ignore[union-attr]


def test_geofence_bad_geometry_is_ignored() -> None:
    rule = make_rule({"kind": "geofence", "area": AREA, "trigger": "outside"})
    state, events = evaluate(
        rule, None, Reading(ENTITY, at(0), {"location": {"type": "Point", "coordinates": [500, 1]}})
    )
    assert isinstance(events[0], ReadingIgnored)
    assert events[0].reason == "not_a_geometry"
    assert "longitude 500" in events[0].detail
    assert not state.is_open


# -- state ---------------------------------------------------------------------------------


def test_state_json_round_trip_and_resume() -> None:
    state, _ = run(SUSTAINED, [(0, 0.85), (2, 0.9)])
    text = json.dumps(state.to_json())
    restored = RuleState.from_json(json.loads(text))
    assert restored == state
    # resuming from the restored state gives the same transitions as the original
    reading = Reading(ENTITY, at(10), {"fillingLevel": 0.9})
    assert evaluate(SUSTAINED, restored, reading) == evaluate(SUSTAINED, state, reading)
    assert json.loads(text) == {
        "rule_id": "urn:ngsi-ld:Rule:test",
        "entity_id": ENTITY,
        "last_observed_at": "2026-11-23T10:02:00.000Z",
        "last_value": 0.9,
        "since": "2026-11-23T10:00:00.000Z",
        "episode_id": None,
        "episode_started_at": None,
        "episodes": 0,
        "ignored": 0,
        "version": 1,
    }


def test_state_from_bad_json() -> None:
    with pytest.raises(BadRequestData, match="unknown keys: colour"):
        RuleState.from_json({"rule_id": "r", "entity_id": "e", "colour": 1})
    with pytest.raises(BadRequestData, match="version 9"):
        RuleState.from_json({"rule_id": "r", "entity_id": "e", "version": 9})
    with pytest.raises(BadRequestData, match="invalid rule state"):
        RuleState.from_json({"rule_id": "r"})


def test_evaluate_does_not_mutate_and_is_deterministic() -> None:
    state, _ = run(THRESHOLD, [(0, 20)])
    before = state.to_json()
    reading = Reading(ENTITY, at(1), {"t": 40})
    first = evaluate(THRESHOLD, state, reading)
    second = evaluate(THRESHOLD, state, reading)
    assert first == second
    assert state.to_json() == before


def test_reading_from_attributes() -> None:
    fill = "https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel"
    attrs = {
        fill: [
            {"type": "Property", "value": 0.63, "observedAt": "2026-11-23T10:04:59.000Z"},
            {"type": "Property", "value": 0.1, "datasetId": "urn:ngsi-ld:Dataset:raw"},
        ],
        "https://uri.etsi.org/ngsi-ld/location": [{"type": "GeoProperty", "value": INSIDE}],
        "https://x/owner": [{"type": "Relationship", "object": "urn:x:1"}],
    }
    reading = reading_from_attributes(ENTITY, attrs, received_at=at(30))
    assert reading.observed_at == at(5) - timedelta(seconds=1)
    assert reading.values == {fill: 0.63, "https://uri.etsi.org/ngsi-ld/location": INSIDE}
    # without observedAt the receive time is used
    plain = {fill: [{"type": "Property", "value": 0.5}]}
    assert reading_from_attributes(ENTITY, plain, received_at=at(30)).observed_at == at(30)
