"""A device's payload through its profile: stored-form attribute instances, or rejections.

:func:`map_payload` is pure (no I/O, no clock: the caller passes the receive time) and total:
whatever bytes a device sends, it returns a :class:`MappingResult` and never raises for the
payload (only for a profile whose static attributes do not expand with its @context, which
:func:`check_profile` reports when the profile is saved).

**Whole-message policy.** A message is either accepted entirely or rejected entirely: one
wrong type, out-of-range value, bad timestamp, missing required key or (in strict mode) unknown
key rejects the whole message — every reading of a batch — and every problem found is listed,
not just the first. The reasons:

* the dead-letter store keeps the raw message and replays it once the profile is fixed; if the
  good keys had been applied already, a replay would write them a second time, and a message
  would be half stored and half dead-lettered, which nobody can reason about;
* the values of one message were observed together; rules that combine them (fill level *and*
  temperature) must never see half of a reading;
* a wrong type or an out-of-range value usually means a misconfigured profile (wrong scale,
  wrong key) or a faulty device, both of which make the other values of the message suspect.

The cost — one broken sensor of a multi-sensor device stops its other values until the profile
is fixed — is visible (the dead letters say why) and recoverable (replay), whereas silently
half-applied messages are neither. Unknown keys in lenient mode are not errors: they are
skipped and reported in :attr:`MappingResult.ignored_keys`, so the caller can count them.
"""

from __future__ import annotations

import copy
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import orjson

from cetate.errors import CetateError
from cetate.ingest.profiles.conversions import (
    NAMED_CONVERSIONS,
    apply_linear,
    apply_named,
    round_to,
)
from cetate.ingest.profiles.model import (
    DeviceProfile,
    InvalidProfile,
    MeasurementMapping,
    TimestampSpec,
    format_key_path,
    parse_key_path,
    profile_warnings,
)
from cetate.ngsi.geo import validate_geometry
from cetate.ngsi.jsonld import ContextResolver, LdContext
from cetate.ngsi.model import AttributeInstance, EntityDoc
from cetate.ngsi.representation import expand_entity, is_uri
from cetate.ngsi.timestamps import format_datetime, parse_datetime

ReasonCode = Literal[
    "oversized",
    "empty",
    "malformed_json",
    "not_an_object",
    "unknown_key",
    "missing_key",
    "wrong_type",
    "out_of_range",
    "bad_timestamp",
    "bad_entity_id",
]
"""Why a message was rejected (the dead letter's reason code)."""

REASON_CODES: Final[tuple[ReasonCode, ...]] = ReasonCode.__args__  # type: ignore[attr-defined]

EARLIEST_OBSERVED_AT: Final = datetime(2000, 1, 1, tzinfo=UTC)
"""Readings stamped before this are rejected (``bad_timestamp``): a device whose clock was
never set reports 1970."""

EPOCH_MILLISECONDS_FROM: Final = 100_000_000_000
"""In ``auto`` format an epoch number this large or larger is milliseconds: 10¹¹ seconds is the
year 5138, while 10¹¹ milliseconds is March 1973."""

MAX_REJECTIONS: Final = 100
"""At most this many rejections are listed for one message (a bad batch of 1000 readings would
otherwise list thousands); the last one says how many more there were."""

_MAX_CACHED_PROFILES: Final = 256


@dataclass(frozen=True, slots=True)
class Rejection:
    """One reason a message was rejected."""

    reason: ReasonCode
    message: str
    key: str | None = None
    """the payload key concerned (dotted path), when there is one"""
    reading: int | None = None
    """the position of the reading in a JSON array of readings (0-based); ``None`` for a
    single-object payload or a problem of the whole message"""


@dataclass(frozen=True, slots=True)
class Reading:
    """The attribute instances of one reading, in stored form (attribute IRI → instances)."""

    index: int
    """the position of the reading in the payload (0 for a single-object payload)"""
    observed_at: str
    """the reading's time (the profile's observedAt key, else the receive time), UTC ISO"""
    attributes: dict[str, list[AttributeInstance]]


@dataclass(frozen=True, slots=True)
class MappingResult:
    """What a payload became. Either ``readings`` (accepted) or ``rejections`` is non-empty,
    never both."""

    entity_id: str | None
    """the target entity (``None`` only when the device id does not give a valid URI)"""
    entity_type: str
    """the target entity's type, expanded (IRI)"""
    readings: tuple[Reading, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    new_entity: EntityDoc | None = None
    """for a profile with ``createEntityOnFirstMessage``: the complete stored-form entity to
    create if the target does not exist yet — id, type, static attributes and the attributes of
    the **first** reading. After creating it, apply :meth:`entity_fragments` from 1."""
    ignored_keys: tuple[str, ...] = ()
    """unknown keys skipped in lenient mode (each once, in payload order)"""

    @property
    def accepted(self) -> bool:
        return not self.rejections

    @property
    def reason(self) -> ReasonCode | None:
        """The first rejection's reason code (the dead letter's headline), or ``None``."""
        return self.rejections[0].reason if self.rejections else None

    @property
    def value_count(self) -> int:
        """How many attribute instances the readings carry."""
        return sum(len(i) for r in self.readings for i in r.attributes.values())

    def entity_fragments(self, start: int = 0) -> list[EntityDoc]:
        """One stored-form entity per reading from ``start``, in payload order (``{"id",
        "type", attr IRI: [instance]}``), for an append / batch upsert with ``update``. Apply
        them in this order: the last one becomes the current value."""
        if self.entity_id is None:
            return []
        return [
            {"id": self.entity_id, "type": [self.entity_type], **reading.attributes}
            for reading in self.readings[start:]
        ]


# --------------------------------------------------------------------------------------------
# compiled profiles


@dataclass(frozen=True, slots=True)
class _Measurement:
    position: int
    key: str
    path: tuple[str, ...]
    iri: str
    mapping: MeasurementMapping
    convert: Callable[[int | float], float] | None
    timestamp: TimestampSpec | None


_Trie = dict[str, "_Trie | None"]
"""Known payload keys: segment → deeper keys, or ``None`` for a key read (or ignored) whole."""


@dataclass(frozen=True, slots=True)
class CompiledProfile:
    """A profile with its names expanded and its key paths parsed, ready for many payloads."""

    profile: DeviceProfile
    context_key: str
    entity_type: str
    measurements: tuple[_Measurement, ...]
    static_attributes: dict[str, list[AttributeInstance]]
    known_keys: _Trie = field(repr=False)
    timestamp_specs: tuple[TimestampSpec, ...]


def _converter(mapping: MeasurementMapping) -> Callable[[int | float], float] | None:
    conversion = mapping.conversion
    if conversion is None:
        return None
    if isinstance(conversion, str):
        rule = NAMED_CONVERSIONS[conversion]
        return lambda value: apply_named(rule, value)
    scale, offset = conversion.scale, conversion.offset
    return lambda value: apply_linear(scale, offset, value)


def _add_path(trie: _Trie, path: tuple[str, ...]) -> None:
    node = trie
    for segment in path[:-1]:
        child = node.get(segment, {})
        if child is None:  # an outer key is already read whole
            return
        node[segment] = child
        node = child
    node[path[-1]] = None


def compile_profile(profile: DeviceProfile, context: LdContext) -> CompiledProfile:
    """Expand the profile's names with ``context`` and parse its keys. Raises
    :class:`InvalidProfile` when the static attributes are not valid NGSI-LD or expand onto
    a measured attribute."""
    entity_type = context.expand_term(profile.entity_type)
    measurements: list[_Measurement] = []
    trie: _Trie = {}
    specs: dict[str, TimestampSpec] = {}
    if profile.observed_at is not None:
        specs[profile.observed_at.key] = profile.observed_at
    for position, mapping in enumerate(profile.measurements):
        timestamp = mapping.observed_at or profile.observed_at
        if mapping.observed_at is not None:
            specs[mapping.observed_at.key] = mapping.observed_at
        measurements.append(
            _Measurement(
                position,
                mapping.key,
                mapping.path,
                context.expand_term(mapping.attribute),
                mapping,
                _converter(mapping),
                timestamp,
            )
        )
    for measurement in measurements:
        _add_path(trie, measurement.path)
    for spec in specs.values():
        _add_path(trie, spec.path)
    for key in profile.ignored_keys:
        _add_path(trie, parse_key_path(key))
    static: dict[str, list[AttributeInstance]] = {}
    if profile.static_attributes:
        try:
            expanded = expand_entity(
                {"id": "urn:cetate:profile-check", "type": profile.entity_type}
                | profile.static_attributes,
                context,
            )
        except CetateError as exc:
            raise InvalidProfile([f"staticAttributes: {exc.detail}"], name=profile.name) from None
        static = {key: value for key, value in expanded.items() if key not in ("id", "type")}
        measured = {m.iri for m in measurements}
        clash = sorted(measured & static.keys())
        if clash:
            raise InvalidProfile(
                [f"staticAttributes: {', '.join(clash)} is also written by a measurement"],
                name=profile.name,
            )
    return CompiledProfile(
        profile,
        context.cache_key,
        entity_type,
        tuple(measurements),
        static,
        trie,
        tuple(specs.values()),
    )


_cache: OrderedDict[tuple[int, str], CompiledProfile] = OrderedDict()
_cache_lock = threading.Lock()


def _compiled(profile: DeviceProfile, context: LdContext) -> CompiledProfile:
    """The compiled profile, cached by the profile's identity (profiles are frozen) and the
    context. The cache holds the profile, so its id cannot be reused while cached."""
    key = (id(profile), context.cache_key)
    cached = _cache.get(key)
    if cached is not None and cached.profile is profile:
        return cached
    compiled = compile_profile(profile, context)
    with _cache_lock:
        _cache[key] = compiled
        while len(_cache) > _MAX_CACHED_PROFILES:
            _cache.popitem(last=False)
    return compiled


def check_profile(profile: DeviceProfile, resolver: ContextResolver) -> list[str]:
    """Everything that can be checked before a payload arrives: the @context resolves offline
    and the static attributes are valid NGSI-LD. Returns the warnings
    (:func:`profile_warnings`); raises :class:`InvalidProfile` for errors."""
    try:
        context = profile.resolve_context(resolver)
    except CetateError as exc:
        raise InvalidProfile([f"context: {exc.detail}"], name=profile.name) from None
    compile_profile(profile, context)
    return profile_warnings(profile)


# --------------------------------------------------------------------------------------------
# mapping


class _Missing:
    pass


_MISSING: Final = _Missing()


def _lookup(reading: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = reading
    for segment in path:
        if isinstance(node, dict):
            node = node.get(segment, _MISSING)
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def _unknown_keys(node: Any, trie: _Trie, prefix: tuple[str, ...], found: list[str]) -> None:
    if isinstance(node, dict):
        items: list[tuple[str, Any]] = list(node.items())
    elif isinstance(node, list):
        items = [(str(index), item) for index, item in enumerate(node)]
    else:
        return  # a scalar where the profile expects an object: its keys are just missing
    for key, value in items:
        if key not in trie:
            found.append(format_key_path((*prefix, key)))
            continue
        child = trie[key]
        if child is not None:
            _unknown_keys(value, child, (*prefix, key), found)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, _Missing) else "nothing"
    return text if len(text) <= 60 else text[:57] + "..."


class _Mapper:
    def __init__(
        self, compiled: CompiledProfile, received_at: datetime, *, indexed: bool, batch: bool
    ) -> None:
        self.compiled = compiled
        self.profile = compiled.profile
        self.received_text = format_datetime(received_at)
        self.latest = received_at + timedelta(seconds=self.profile.max_future_seconds)
        self.indexed = indexed
        """the payload is a JSON array: rejections name the reading"""
        self.batch = batch
        """more than one reading: each needs its own timestamp"""
        self.current: int | None = None
        self.rejections: list[Rejection] = []
        self.ignored: dict[str, None] = {}

    def reject(
        self, reason: ReasonCode, message: str, key: str | None = None, reading: int | None = None
    ) -> None:
        self.rejections.append(Rejection(reason, message, key, reading))

    # -- timestamps --------------------------------------------------------------------------
    def timestamp(self, raw: Any, spec: TimestampSpec, where: str) -> str | None:
        """The reading's time as stored-form text, or None after recording a rejection."""
        moment = self._parse_timestamp(raw, spec.format)
        if isinstance(moment, str):
            self._bad_timestamp(f"{where}: {moment}", spec.key)
            return None
        if moment < EARLIEST_OBSERVED_AT:
            self._bad_timestamp(
                f"{where}: {format_datetime(moment)} is before 2000; the device's clock is "
                "probably not set",
                spec.key,
            )
            return None
        if moment > self.latest:
            self._bad_timestamp(
                f"{where}: {format_datetime(moment)} is more than "
                f"{self.profile.max_future_seconds:g} s after the message was received "
                f"({self.received_text}); the device's clock is ahead",
                spec.key,
            )
            return None
        return format_datetime(moment)

    def _bad_timestamp(self, message: str, key: str) -> None:
        self.reject("bad_timestamp", message, key, self.current)

    @staticmethod
    def _parse_timestamp(raw: Any, fmt: str) -> datetime | str:
        """A datetime, or the text of what is wrong."""
        if isinstance(raw, str) and fmt in ("auto", "iso8601"):
            try:
                return parse_datetime(raw)
            except CetateError:
                return f"{_short(raw)} is not an ISO 8601 date-time (e.g. 2026-11-23T10:00:00Z)"
        if isinstance(raw, int | float) and not isinstance(raw, bool) and fmt != "iso8601":
            milliseconds = fmt == "epoch_ms" or (
                fmt == "auto" and abs(raw) >= EPOCH_MILLISECONDS_FROM
            )
            seconds = raw / 1000 if milliseconds else raw
            try:
                return datetime.fromtimestamp(seconds, UTC)
            except (OverflowError, OSError, ValueError):
                unit = "milliseconds" if milliseconds else "seconds"
                return f"{_short(raw)} is not a usable epoch time in {unit}"
        expected = {
            "auto": "an ISO 8601 string or epoch seconds/milliseconds",
            "iso8601": "an ISO 8601 string",
            "epoch_s": "a number of epoch seconds",
            "epoch_ms": "a number of epoch milliseconds",
        }[fmt]
        return f"expected {expected}, got {_json_type(raw)} {_short(raw)}"

    # -- values ------------------------------------------------------------------------------
    def value(self, measurement: _Measurement, raw: Any) -> Any:
        """The value to store, or _MISSING after recording a rejection."""
        mapping = measurement.mapping
        expected = mapping.value_type
        key = measurement.key
        value: Any = raw
        ok = True
        if expected == "number":
            ok = isinstance(raw, int | float) and not isinstance(raw, bool)
        elif expected == "integer":
            ok = isinstance(raw, int) and not isinstance(raw, bool)
            if not ok and isinstance(raw, float) and raw.is_integer():
                ok, value = True, int(raw)
        elif expected == "string":
            ok = isinstance(raw, str)
        elif expected == "boolean":
            ok = isinstance(raw, bool)
        if not ok:
            article = "an" if expected == "integer" else "a"
            self.reject(
                "wrong_type",
                f"{key!r} must be {article} {expected}, got {_json_type(raw)} {_short(raw)}",
                key,
                self.current,
            )
            return _MISSING
        if expected == "geojson":
            try:
                if not isinstance(raw, dict):
                    raise CetateError(f"got {_json_type(raw)} {_short(raw)}")
                return validate_geometry(raw)
            except CetateError as exc:
                self.reject(
                    "wrong_type",
                    f"{key!r} must be a GeoJSON geometry object: {exc.detail}",
                    key,
                    self.current,
                )
                return _MISSING
        if mapping.kind == "Relationship" and not is_uri(value):
            self.reject(
                "wrong_type",
                f"{key!r} must be the id (a URI) of the related entity, got {_short(raw)}",
                key,
                self.current,
            )
            return _MISSING
        if expected not in ("number", "integer"):
            return value
        if measurement.convert is not None:
            value = measurement.convert(value)
        if mapping.decimals is not None and math.isfinite(value):
            value = round_to(value, mapping.decimals)
        shown = _short(raw)
        if measurement.convert is not None or mapping.decimals is not None:
            shown += f" (converted: {value!r})"
        if not math.isfinite(value):
            self.reject(
                "out_of_range", f"{key!r}: {shown} is not a finite number", key, self.current
            )
            return _MISSING
        if mapping.value_range is not None:
            low, high = mapping.value_range
            if (low is not None and value < low) or (high is not None and value > high):
                bounds = f"[{'−∞' if low is None else f'{low:g}'}, "
                bounds += f"{'+∞' if high is None else f'{high:g}'}]"
                self.reject(
                    "out_of_range",
                    f"{key!r}: {shown} is outside the range {bounds}",
                    key,
                    self.current,
                )
                return _MISSING
        return value

    # -- readings ----------------------------------------------------------------------------
    def reading(self, raw: Any, index: int) -> Reading | None:
        self.current = index if self.indexed else None
        before = len(self.rejections)
        if not isinstance(raw, dict):
            where = f"reading {index}" if self.indexed else "the payload"
            self.reject(
                "not_an_object",
                f"{where} must be a JSON object of key → value, got {_json_type(raw)}",
                None,
                self.current,
            )
            return None
        if not raw:
            self.reject("empty", "the reading is an empty object", None, self.current)
            return None
        unknown: list[str] = []
        _unknown_keys(raw, self.compiled.known_keys, (), unknown)
        if unknown:
            if self.profile.unknown_keys == "reject":
                for key in unknown:
                    self.reject(
                        "unknown_key",
                        f"{key!r} is not a key of profile {self.profile.name!r} (map it, add "
                        "it to ignoredKeys, or set unknownKeys to ignore)",
                        key,
                        self.current,
                    )
            else:
                self.ignored.update(dict.fromkeys(unknown))
        times: dict[str, str | None] = {}
        reading_time = self.received_text
        main = self.profile.observed_at
        attributes: dict[str, list[AttributeInstance]] = {}
        for measurement in self.compiled.measurements:
            raw_value = _lookup(raw, measurement.path)
            if raw_value is _MISSING:
                if measurement.mapping.required:
                    self.reject(
                        "missing_key",
                        f"{measurement.key!r} is required by profile {self.profile.name!r}",
                        measurement.key,
                        self.current,
                    )
                continue
            value = self.value(measurement, raw_value)
            observed = self.observed_at(raw, measurement.timestamp, times)
            if value is _MISSING or observed is None:
                continue
            attributes.setdefault(measurement.iri, []).append(
                self.instance(measurement, value, observed)
            )
        if main is not None and main.key in times:
            reading_time = times[main.key] or reading_time
        if len(self.rejections) > before:
            return None
        if not attributes:
            keys = ", ".join(repr(m.key) for m in self.compiled.measurements[:5])
            self.reject(
                "empty",
                f"no measurement of profile {self.profile.name!r} in the reading (it reads "
                f"{keys}{' …' if len(self.compiled.measurements) > 5 else ''})",
                None,
                self.current,
            )
            return None
        return Reading(index, reading_time, attributes)

    def observed_at(
        self, raw: dict[str, Any], spec: TimestampSpec | None, times: dict[str, str | None]
    ) -> str | None:
        if spec is None:
            return self.received_text
        if spec.key in times:
            return times[spec.key]
        found = _lookup(raw, spec.path)
        if found is _MISSING:
            if self.batch:
                self._bad_timestamp(
                    f"reading {self.current} has no {spec.key!r}; in a batch every reading "
                    "needs its own timestamp, or they would all get the receive time",
                    spec.key,
                )
                result: str | None = None
            else:
                result = self.received_text
        else:
            result = self.timestamp(found, spec, repr(spec.key))
        times[spec.key] = result
        return result

    @staticmethod
    def instance(measurement: _Measurement, value: Any, observed: str) -> AttributeInstance:
        mapping = measurement.mapping
        instance: AttributeInstance
        if mapping.kind == "Relationship":
            instance = {"type": "Relationship", "object": value}
        else:
            instance = {"type": mapping.kind, "value": value}
        instance["observedAt"] = observed
        if mapping.unit_code is not None:
            instance["unitCode"] = mapping.unit_code
        if mapping.dataset_id is not None:
            instance["datasetId"] = mapping.dataset_id
        return instance


def _rejected(
    compiled: CompiledProfile,
    entity_id: str | None,
    rejections: list[Rejection],
    ignored: tuple[str, ...] = (),
) -> MappingResult:
    if len(rejections) > MAX_REJECTIONS:
        more = len(rejections) - (MAX_REJECTIONS - 1)
        last = rejections[MAX_REJECTIONS - 1]
        rejections = [
            *rejections[: MAX_REJECTIONS - 1],
            Rejection(
                last.reason,
                f"{last.message} (and {more - 1} more problems not listed)",
                last.key,
                last.reading,
            ),
        ]
    return MappingResult(
        entity_id, compiled.entity_type, rejections=tuple(rejections), ignored_keys=ignored
    )


def map_payload(
    profile: DeviceProfile,
    device_id: str,
    payload: bytes,
    received_at: datetime,
    context: LdContext,
) -> MappingResult:
    """Map one message of ``device_id`` through ``profile``.

    ``payload`` is the raw message body: one JSON object (one reading) or a JSON array of
    objects (a batch of readings, each with its own timestamp). ``received_at`` is when the
    platform received it (aware; a naive datetime is taken as UTC) and is the observedAt of
    readings that carry none. ``context`` is the profile's resolved @context
    (:meth:`DeviceProfile.resolve_context`).

    Returns the stored-form readings in payload order, or every reason to reject the message
    (see the module docstring for why a message is never partly accepted). Raises
    :class:`InvalidProfile` only for a profile that :func:`check_profile` would refuse.
    """
    compiled = _compiled(profile, context)
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=UTC)
    entity_id: str | None = profile.entity_id_for(device_id)
    if not device_id or not is_uri(entity_id):
        return _rejected(
            compiled,
            None,
            [
                Rejection(
                    "bad_entity_id",
                    f"device id {device_id!r} does not give a valid entity id with template "
                    f"{profile.entity_id_template!r} (got {entity_id!r})",
                )
            ],
        )
    size = len(payload)
    if size > profile.max_payload_bytes:
        return _rejected(
            compiled,
            entity_id,
            [
                Rejection(
                    "oversized",
                    f"the payload is {size} bytes; profile {profile.name!r} accepts at most "
                    f"{profile.max_payload_bytes}",
                )
            ],
        )
    if not payload.strip():
        return _rejected(compiled, entity_id, [Rejection("empty", "the payload is empty")])
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return _rejected(
            compiled,
            entity_id,
            [Rejection("malformed_json", f"the payload is not valid JSON: {exc}")],
        )
    batch = isinstance(document, list)
    items: list[Any] = document if batch else [document]
    if batch and not items:
        return _rejected(compiled, entity_id, [Rejection("empty", "the payload is an empty array")])
    if len(items) > profile.max_readings:
        return _rejected(
            compiled,
            entity_id,
            [
                Rejection(
                    "oversized",
                    f"the payload has {len(items)} readings; profile {profile.name!r} accepts "
                    f"at most {profile.max_readings} per message",
                )
            ],
        )
    mapper = _Mapper(compiled, received_at, indexed=batch, batch=len(items) > 1)
    if mapper.batch and any(m.timestamp is None for m in compiled.measurements):
        return _rejected(
            compiled,
            entity_id,
            [
                Rejection(
                    "bad_timestamp",
                    f"the payload is a batch of {len(items)} readings, but profile "
                    f"{profile.name!r} names no observedAt key, so they would all get the "
                    "receive time; add observedAt to the profile or send one reading per "
                    "message",
                )
            ],
        )
    readings: list[Reading] = []
    for index, item in enumerate(items):
        reading = mapper.reading(item, index)
        if reading is not None:
            readings.append(reading)
        if len(mapper.rejections) > MAX_REJECTIONS:
            break
    ignored = tuple(mapper.ignored)
    if mapper.rejections:
        return _rejected(compiled, entity_id, mapper.rejections, ignored)
    new_entity: EntityDoc | None = None
    if profile.create_entity_on_first_message:
        new_entity = {
            "id": entity_id,
            "type": [compiled.entity_type],
            **copy.deepcopy(compiled.static_attributes),
            **readings[0].attributes,
        }
    return MappingResult(
        entity_id,
        compiled.entity_type,
        readings=tuple(readings),
        new_entity=new_entity,
        ignored_keys=ignored,
    )
