"""The rule evaluator: a deterministic state machine per (rule, entity).

Two pure functions drive it; neither does I/O, reads the clock or mutates its arguments:

* :func:`evaluate` takes a :class:`Reading` (entity id, attribute values, observedAt);
* :func:`tick` takes the current time, for conditions that become true by time passing
  (a sustained window elapsing, a device falling silent).

Both return the new :class:`RuleState` and a list of transitions: :class:`Opened` when a
condition episode begins, :class:`Cleared` when it ends, and :class:`ReadingIgnored` when a
reading could not be used (older than the last one seen, not a number …). One episode gives
exactly one ``Opened`` and at most one ``Cleared``, whatever the number of readings in between.

Time is the readings' ``observedAt`` (see :func:`reading_from_attributes` for the fallback to
receive time). Time-driven openings are dated at their deadline, not at the moment ``tick``
happens to run, and :func:`evaluate` first catches up on deadlines that passed before the
reading. So the transitions do not depend on how often ``tick`` runs: a deadline is passed
when ``now`` is strictly after it, and a reading dated exactly at a deadline counts as in
time.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from shapely.geometry import mapping, shape

from cetate.errors import BadRequestData
from cetate.ngsi import geo
from cetate.ngsi.model import AttributeInstance
from cetate.ngsi.timestamps import format_datetime, parse_datetime
from cetate.reactions.rules.model import (
    GeofenceCondition,
    MissingDataCondition,
    RateOfChangeCondition,
    Rule,
    SustainedCondition,
    ThresholdCondition,
)

STATE_VERSION: Final = 1

Text = dict[str, str]
"""A message in Romanian and English: ``{"ro": …, "en": …}``."""


# -- inputs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """What one entity reported at one moment: attribute name (as the rule names it, an IRI
    for an expanded rule) → value (a number, or a GeoJSON geometry for geofences)."""

    entity_id: str
    observed_at: datetime
    values: Mapping[str, Any] = field(default_factory=dict)


def reading_from_attributes(
    entity_id: str, attributes: Mapping[str, list[AttributeInstance]], received_at: datetime
) -> Reading:
    """A reading from attributes in stored form (an entity, or the fragment an update wrote):
    the default instance (no datasetId) of each; a Property gives its ``value``, a
    GeoProperty its geometry. The reading's time is the newest ``observedAt`` among them, or
    ``received_at`` when none has one."""
    values: dict[str, Any] = {}
    observed: list[datetime] = []
    for name, instances in attributes.items():
        if not isinstance(instances, list):
            continue
        for instance in instances:
            if not isinstance(instance, Mapping) or "datasetId" in instance:
                continue
            if instance.get("type") in ("Property", "GeoProperty") and "value" in instance:
                values[name] = instance["value"]
                if isinstance(instance.get("observedAt"), str):
                    observed.append(parse_datetime(instance["observedAt"]))
    return Reading(entity_id, max(observed) if observed else received_at, values)


# -- state ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleState:
    """Everything the evaluator remembers about one (rule, entity). Small and plain: it
    round-trips through JSON with :meth:`to_json` / :meth:`from_json`. Times are stored-form
    strings (UTC, milliseconds, ``Z``)."""

    rule_id: str
    entity_id: str
    last_observed_at: str | None = None
    """observedAt of the newest reading used (the out-of-order line)."""
    last_value: Any = None
    """The value of that reading (a number; a geometry for geofences)."""
    since: str | None = None
    """sustained: when the current unbroken run of the condition began;
    missing_data: when watching began, for an entity never heard from."""
    episode_id: str | None = None
    """The open episode, or None."""
    episode_started_at: str | None = None
    episodes: int = 0
    """Episodes opened so far."""
    ignored: int = 0
    """Readings ignored so far (out of order, duplicates, unusable values)."""
    version: int = STATE_VERSION

    @property
    def is_open(self) -> bool:
        return self.episode_id is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleState:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BadRequestData(f"rule state has unknown keys: {', '.join(unknown)}")
        if data.get("version", STATE_VERSION) != STATE_VERSION:
            raise BadRequestData(f"rule state version {data.get('version')!r} is not supported")
        try:
            return cls(**data)
        except TypeError as exc:
            raise BadRequestData(f"invalid rule state: {exc}") from None


def initial_state(rule: Rule, entity_id: str, watching_since: datetime | None = None) -> RuleState:
    """A fresh state. ``watching_since`` starts the missing-data clock for an entity that has
    not reported yet (e.g. when the rule is created or the device registered)."""
    since = format_datetime(watching_since) if watching_since is not None else None
    if not isinstance(rule.condition, MissingDataCondition):
        since = None
    return RuleState(rule_id=rule.id, entity_id=entity_id, since=since)


# -- transitions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Opened:
    """A condition episode began: raise one alert."""

    rule_id: str
    entity_id: str
    episode_id: str
    started_at: datetime
    """When the condition became true (for sustained and missing data: the deadline)."""
    value: Any
    """The value that made it true (missing data: the last observedAt, or None)."""
    message: Text
    condition_since: datetime
    """sustained: when the unbroken run began; missing data: the last reading (or the
    start of watching); otherwise equal to ``started_at``."""


@dataclass(frozen=True, slots=True)
class Cleared:
    """The episode ended: its alert may be resolved automatically."""

    rule_id: str
    entity_id: str
    episode_id: str
    ended_at: datetime
    value: Any
    message: Text


IgnoreReason = Literal["out_of_order", "duplicate", "not_a_number", "not_a_geometry"]


@dataclass(frozen=True, slots=True)
class ReadingIgnored:
    """A reading that changed nothing because it could not be used (reported, counted)."""

    rule_id: str
    entity_id: str
    observed_at: datetime
    reason: IgnoreReason
    detail: str


Transition = Opened | Cleared | ReadingIgnored


# -- helpers ----------------------------------------------------------------------------


def episode_id(rule_id: str, entity_id: str, started_at: datetime) -> str:
    """Deterministic: the same rule, entity and start give the same id (replaying readings
    after a crash re-derives the same alert instead of a second one)."""
    key = f"{rule_id}\n{entity_id}\n{format_datetime(started_at)}".encode()
    return hashlib.sha256(key).hexdigest()[:24]


def _short(name: str) -> str:
    for sep in ("#", "/", ":"):
        if sep in name:
            name = name.rsplit(sep, 1)[1] or name
    return name


def _human(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts) or f"{duration.total_seconds():g} s"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return str(value.get("type", "geometry"))
    return str(value)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _ts(value: str | None) -> datetime | None:
    return parse_datetime(value) if value is not None else None


def _open(
    rule: Rule,
    state: RuleState,
    started_at: datetime,
    value: Any,
    message: Text,
    condition_since: datetime | None = None,
) -> tuple[RuleState, Opened]:
    eid = episode_id(rule.id, state.entity_id, started_at)
    new = replace(
        state,
        episode_id=eid,
        episode_started_at=format_datetime(started_at),
        episodes=state.episodes + 1,
    )
    return new, Opened(
        rule_id=rule.id,
        entity_id=state.entity_id,
        episode_id=eid,
        started_at=started_at,
        value=value,
        message={
            "ro": f"{rule.name.ro}: {message['ro']}",
            "en": f"{rule.name.en}: {message['en']}",
        },
        condition_since=condition_since or started_at,
    )


def _clear(rule: Rule, state: RuleState, at: datetime, value: Any) -> tuple[RuleState, Cleared]:
    assert state.episode_id is not None
    started = _ts(state.episode_started_at)
    ended = max(at, started) if started is not None else at
    shown = f" ({_fmt(value)})" if value is not None and not isinstance(value, Mapping) else ""
    event = Cleared(
        rule_id=rule.id,
        entity_id=state.entity_id,
        episode_id=state.episode_id,
        ended_at=ended,
        value=value,
        message={
            "ro": f"{rule.name.ro}: condiția a încetat{shown}",
            "en": f"{rule.name.en}: condition cleared{shown}",
        },
    )
    return replace(state, episode_id=None, episode_started_at=None), event


def _ignore(
    rule: Rule, state: RuleState, reading: Reading, reason: IgnoreReason, detail: str
) -> tuple[RuleState, list[Transition]]:
    event = ReadingIgnored(rule.id, state.entity_id, reading.observed_at, reason, detail)
    return replace(state, ignored=state.ignored + 1), [event]


def _relevant(rule: Rule, reading: Reading) -> bool:
    attribute = getattr(rule.condition, "attribute", None)
    return attribute is None or attribute in reading.values


# -- the two entry points ---------------------------------------------------------------


def evaluate(
    rule: Rule, state: RuleState | None, reading: Reading
) -> tuple[RuleState, list[Transition]]:
    """Apply one reading. ``state`` None starts a fresh state for ``reading.entity_id``.

    A reading that lacks the rule's attribute changes nothing. One not newer than the last
    reading used (older: ``out_of_order``; same observedAt: ``duplicate``) is ignored for the
    state and reported. A disabled rule changes nothing."""
    if state is None:
        state = initial_state(rule, reading.entity_id)
    if state.rule_id != rule.id or state.entity_id != reading.entity_id:
        raise ValueError(
            f"state of ({state.rule_id}, {state.entity_id}) given for "
            f"({rule.id}, {reading.entity_id})"
        )
    if not rule.enabled or not _relevant(rule, reading):
        return state, []
    at = reading.observed_at
    last = _ts(state.last_observed_at)
    if last is not None and at <= last:
        reason: IgnoreReason = "duplicate" if at == last else "out_of_order"
        return _ignore(
            rule,
            state,
            reading,
            reason,
            f"observedAt {format_datetime(at)} is not after the last reading used, "
            f"{state.last_observed_at}",
        )
    # first the deadlines that passed before this reading, then the reading itself
    state, events = _advance(rule, state, at)
    condition = rule.condition
    result: tuple[RuleState, list[Transition]]
    if isinstance(condition, MissingDataCondition):
        result = _missing_reading(rule, state, reading)
    elif isinstance(condition, GeofenceCondition):
        result = _geofence(rule, condition, state, reading)
    else:
        raw = reading.values[condition.attribute]
        number = _as_number(raw)
        if number is None:
            return _ignore(
                rule,
                state,
                reading,
                "not_a_number",
                f"{_short(condition.attribute)} is {raw!r}, not a finite number",
            )
        if isinstance(condition, ThresholdCondition):
            result = _threshold(rule, condition, state, at, number)
        elif isinstance(condition, SustainedCondition):
            result = _sustained(rule, condition, state, at, number)
        else:
            result = _rate(rule, condition, state, at, number)
    new_state, more = result
    return new_state, events + more


def tick(rule: Rule, state: RuleState, now: datetime) -> tuple[RuleState, list[Transition]]:
    """Let time pass until ``now``: opens a sustained episode whose window has elapsed with
    the condition still holding at the last reading, or a missing-data episode whose silence
    has lasted longer than the duration. Openings are dated at the deadline. Clears nothing
    (only readings clear). A disabled rule changes nothing."""
    if not rule.enabled:
        return state, []
    return _advance(rule, state, now)


def _advance(rule: Rule, state: RuleState, now: datetime) -> tuple[RuleState, list[Transition]]:
    """Open the time-driven episode whose deadline is strictly before ``now`` (a reading
    dated exactly at the deadline is in time)."""
    if state.is_open:
        return state, []
    condition = rule.condition
    if isinstance(condition, SustainedCondition):
        since = _ts(state.since)
        value = _as_number(state.last_value)
        if since is None or value is None or not condition.holds(value):
            return state, []
        deadline = since + condition.duration
        if now > deadline:
            return _opened(
                *_open(rule, state, deadline, value, _sustained_text(condition, value), since)
            )
        return state, []
    if isinstance(condition, MissingDataCondition):
        reference = _ts(state.last_observed_at) or _ts(state.since)
        if reference is None:
            return state, []
        deadline = reference + condition.duration
        if now > deadline:
            what = _short(condition.attribute) if condition.attribute else "—"
            what_en = _short(condition.attribute) if condition.attribute else "any attribute"
            last = state.last_observed_at
            text = {
                "ro": f"nicio citire ({what}) de {_human(condition.duration)}"
                + (f"; ultima la {last}" if last else "; nicio citire până acum"),
                "en": f"no reading of {what_en} for {_human(condition.duration)}"
                + (f"; last at {last}" if last else "; never reported"),
            }
            return _opened(*_open(rule, state, deadline, last, text, reference))
    return state, []


def _opened(state: RuleState, event: Opened) -> tuple[RuleState, list[Transition]]:
    return state, [event]


# -- each condition ---------------------------------------------------------------------


def _comparison_text(condition: ThresholdCondition | SustainedCondition, value: float) -> Text:
    rule_text = f"{_short(condition.attribute)} {condition.operator} {_fmt(condition.value)}"
    return {
        "ro": f"{rule_text} (valoare {_fmt(value)})",
        "en": f"{rule_text} (value {_fmt(value)})",
    }


def _sustained_text(condition: SustainedCondition, value: float) -> Text:
    base = _comparison_text(condition, value)
    span = _human(condition.duration)
    return {
        "ro": base["ro"].replace(" (", f" timp de {span} (", 1),
        "en": base["en"].replace(" (", f" for {span} (", 1),
    }


def _threshold(
    rule: Rule, condition: ThresholdCondition, state: RuleState, at: datetime, value: float
) -> tuple[RuleState, list[Transition]]:
    state = replace(state, last_observed_at=format_datetime(at), last_value=value)
    if not state.is_open and condition.holds(value):
        new, opened = _open(rule, state, at, value, _comparison_text(condition, value))
        return new, [opened]
    if state.is_open and condition.clears(value):
        new, cleared = _clear(rule, state, at, value)
        return new, [cleared]
    return state, []


def _sustained(
    rule: Rule, condition: SustainedCondition, state: RuleState, at: datetime, value: float
) -> tuple[RuleState, list[Transition]]:
    holds = condition.holds(value)
    since = state.since if holds else None
    if holds and since is None:
        since = format_datetime(at)
    state = replace(state, last_observed_at=format_datetime(at), last_value=value, since=since)
    if state.is_open:
        if condition.clears(value):
            new, cleared = _clear(rule, state, at, value)
            return new, [cleared]
        return state, []
    start = _ts(since)
    if start is not None and at - start >= condition.duration:
        new, opened = _open(
            rule, state, start + condition.duration, value, _sustained_text(condition, value), start
        )
        return new, [opened]
    return state, []


def _rate(
    rule: Rule, condition: RateOfChangeCondition, state: RuleState, at: datetime, value: float
) -> tuple[RuleState, list[Transition]]:
    previous = _as_number(state.last_value)
    previous_at = _ts(state.last_observed_at)
    state = replace(state, last_observed_at=format_datetime(at), last_value=value)
    if previous is None or previous_at is None:
        return state, []
    rate = (value - previous) / (at - previous_at).total_seconds()
    rate *= condition.period.total_seconds()
    signed = {"increase": rate, "decrease": -rate, "any": abs(rate)}[condition.direction]
    clear_limit = condition.clear_limit if condition.clear_limit is not None else condition.limit
    if not state.is_open and signed > condition.limit:
        per = _human(condition.period)
        name = _short(condition.attribute)
        text = {
            "ro": f"{name} s-a schimbat cu {rate:+.6g} pe {per} "
            f"(limita {_fmt(condition.limit)}; de la {_fmt(previous)} la {_fmt(value)})",
            "en": f"{name} changed by {rate:+.6g} per {per} "
            f"(limit {_fmt(condition.limit)}; from {_fmt(previous)} to {_fmt(value)})",
        }
        new, opened = _open(rule, state, at, value, text)
        return new, [opened]
    if state.is_open and signed <= clear_limit:
        new, cleared = _clear(rule, state, at, value)
        return new, [cleared]
    return state, []


def _missing_reading(
    rule: Rule, state: RuleState, reading: Reading
) -> tuple[RuleState, list[Transition]]:
    state = replace(state, last_observed_at=format_datetime(reading.observed_at), since=None)
    if state.is_open:
        new, cleared = _clear(rule, state, reading.observed_at, None)
        return new, [cleared]
    return state, []


def _geofence(
    rule: Rule, condition: GeofenceCondition, state: RuleState, reading: Reading
) -> tuple[RuleState, list[Transition]]:
    raw = reading.values[condition.attribute]
    try:
        geometry = geo.validate_geometry(raw)
    except BadRequestData as exc:
        return _ignore(rule, state, reading, "not_a_geometry", exc.detail)
    at = reading.observed_at
    state = replace(state, last_observed_at=format_datetime(at), last_value=geometry)
    inside = geo.geo_matches(condition.query(), geometry)
    violating = inside if condition.trigger == "inside" else not inside
    name = _short(condition.attribute)
    if not state.is_open and violating:
        text = (
            {"ro": f"{name} a intrat în zonă", "en": f"{name} entered the area"}
            if condition.trigger == "inside"
            else {"ro": f"{name} a ieșit din zonă", "en": f"{name} left the area"}
        )
        new, opened = _open(rule, state, at, geometry, text)
        return new, [opened]
    if state.is_open and not violating:
        if condition.clear_margin > 0:
            edge = mapping(shape(condition.area).boundary)
            if geo.distance_m(geometry, edge) < condition.clear_margin:
                return state, []
        new, cleared = _clear(rule, state, at, None)
        return new, [cleared]
    return state, []
