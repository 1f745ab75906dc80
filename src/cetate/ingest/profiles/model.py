"""Device profiles: how a device's JSON payload becomes attributes of an NGSI-LD entity.

A profile is a document that users write (JSON, stored and edited through the API and the
console later), so it is a pydantic model with camelCase field names and validation messages
that say what to fix. See ``docs/device-profiles.md`` for the format with a full example.

Profiles are immutable (``frozen``): edit one with ``model_copy(update=...)`` or by validating
a new document. :mod:`cetate.ingest.profiles.mapping` caches the compiled form of a profile by
identity, which is safe only because a profile never changes.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cetate.errors import BadRequestData
from cetate.ingest.profiles.conversions import NAMED_CONVERSIONS, NamedConversion
from cetate.ingest.profiles.units import (
    KNOWN_UNIT_CODES,
    UNIT_CODE_SHAPE,
    describe_unit,
    suggest_unit_code,
)
from cetate.ngsi.jsonld import ContextResolver, LdContext
from cetate.ngsi.model import ENTITY_KEYWORDS
from cetate.validation import validation_problems

ExpectedType = Literal["number", "integer", "string", "boolean", "geojson"]
"""The JSON type a payload value must have: ``number`` (integer or decimal), ``integer`` (also
a decimal with no fraction, such as ``63.0``), ``string``, ``boolean`` (``true``/``false`` only)
or ``geojson`` (a GeoJSON geometry object, for GeoProperty measurements)."""

AttributeKind = Literal["Property", "Relationship", "GeoProperty"]
TimestampFormat = Literal["auto", "iso8601", "epoch_s", "epoch_ms"]
UnknownKeyPolicy = Literal["reject", "ignore"]

DEVICE_PLACEHOLDER: Final = "device"
GEO_ATTRIBUTES: Final = frozenset({"location", "observationSpace", "operationSpace"})
PROFILE_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
"""Profile names: 1-128 letters, digits, ``.``, ``_``, ``:`` or ``-``, starting with a letter
or digit (devices name their profile by it, see :mod:`cetate.ingest.devices.model`)."""
_FORBIDDEN_NAME_CHARS: Final = re.compile(r"[\s<>\"'=;()\\{}|^`\x00-\x1f\x7f.]")
_FORBIDDEN_TYPE_CHARS: Final = re.compile(r"[\s<>\"'=;()\\{}|^`\x00-\x1f\x7f]")
_URI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+")

_MODEL_CONFIG: Final = ConfigDict(
    extra="forbid",
    frozen=True,
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
    allow_inf_nan=False,
)


class InvalidProfile(BadRequestData):
    """A device profile that cannot be used, with every problem found (``problems``)."""

    def __init__(self, problems: list[str], *, name: str | None = None) -> None:
        label = f"device profile {name!r}" if name else "device profile"
        super().__init__(f"{label} is not valid: " + "; ".join(problems), problems=problems)
        self.problems = problems


def parse_key_path(text: str) -> tuple[str, ...]:
    """A payload key as path segments: ``"sensors.fill"`` → ``("sensors", "fill")``. A dot that
    is part of a key is written ``\\.`` (``"a\\.b"`` is the one key ``a.b``); a segment of digits
    indexes into a JSON array. Raises ValueError for an empty key or an empty segment."""
    if not text:
        raise ValueError("a payload key must not be empty")
    segments: list[str] = []
    current: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "\\" and text[position + 1 : position + 2] == ".":
            current.append(".")
            position += 2
            continue
        if char == ".":
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
        position += 1
    segments.append("".join(current))
    if any(not segment for segment in segments):
        raise ValueError(
            f"payload key {text!r} has an empty segment; write nested keys as "
            "'outer.inner' (and a literal dot as '\\.')"
        )
    return tuple(segments)


def format_key_path(path: tuple[str, ...]) -> str:
    """The inverse of :func:`parse_key_path`."""
    return ".".join(segment.replace(".", "\\.") for segment in path)


def _check_key(value: str) -> str:
    parse_key_path(value)
    return value


class TimestampSpec(BaseModel):
    """Where a reading's time is in the payload. A plain string is shorthand for ``{"key":
    ...}``. Formats: ``auto`` (a string is ISO 8601; a number is epoch seconds, or epoch
    milliseconds when it is 10¹¹ or more), ``iso8601``, ``epoch_s``, ``epoch_ms``."""

    model_config = _MODEL_CONFIG

    key: str
    format: TimestampFormat = "auto"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"key": data}
        return data

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: str) -> str:
        return _check_key(value)

    @property
    def path(self) -> tuple[str, ...]:
        return parse_key_path(self.key)


class LinearConversion(BaseModel):
    """``value × scale + offset``."""

    model_config = _MODEL_CONFIG

    scale: float = 1.0
    offset: float = 0.0

    @field_validator("scale")
    @classmethod
    def _nonzero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("scale must not be 0 (every reading would become the offset)")
        return value


def _profile_location(loc: Sequence[int | str]) -> str:
    """Where in a profile an error is, as ``measurements[1].unitCode``: list indexes in
    brackets; the steps pydantic adds for validators (``function-…``) and for the members of
    a union (``str``, ``LinearConversion``) left out."""
    location = ""
    for part in loc:
        if isinstance(part, int):
            location += f"[{part}]"
        elif part.startswith("function-") or part in ("str", "LinearConversion"):
            continue
        else:
            location += ("." if location else "") + part
    return location


class MeasurementMapping(BaseModel):
    """One payload key → one attribute of the target entity."""

    model_config = _MODEL_CONFIG

    key: str
    """the payload key; nested keys as a dotted path (``sensors.fill``)"""
    attribute: str
    """the attribute's term, expanded with the profile's @context"""
    kind: AttributeKind = "Property"
    value_type: ExpectedType = Field(default="number", alias="type")
    unit_code: str | None = Field(default=None, alias="unitCode")
    conversion: NamedConversion | LinearConversion | None = None
    decimals: int | None = Field(default=None, ge=0, le=12)
    """round the converted value to this many decimal places"""
    value_range: tuple[float | None, float | None] | None = Field(default=None, alias="range")
    """``[min, max]`` after conversion, inclusive; ``null`` for an open end"""
    observed_at: TimestampSpec | None = Field(default=None, alias="observedAt")
    """overrides the profile's ``observedAt`` for this measurement"""
    dataset_id: str | None = Field(default=None, alias="datasetId")
    required: bool = False
    """a reading without this key is rejected (``missing_key``)"""

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: str) -> str:
        return _check_key(value)

    @field_validator("attribute")
    @classmethod
    def _valid_attribute(cls, value: str) -> str:
        if not value:
            raise ValueError("the attribute name must not be empty")
        if value in ENTITY_KEYWORDS:
            raise ValueError(f"{value!r} is an entity keyword, not an attribute name")
        if value.startswith("@") or (
            _FORBIDDEN_NAME_CHARS.search(value) and not _URI.fullmatch(value)
        ):
            raise ValueError(
                f"{value!r} is not a valid attribute name (a term such as fillingLevel or an "
                "absolute IRI; no whitespace, dots or quotes)"
            )
        return value

    @field_validator("conversion", mode="before")
    @classmethod
    def _valid_conversion(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in NAMED_CONVERSIONS:
                raise ValueError(
                    f"unknown conversion {value!r}; use one of "
                    + ", ".join(NAMED_CONVERSIONS)
                    + ' or a linear conversion {"scale": …, "offset": …}'
                )
            return value
        if isinstance(value, Mapping):
            try:
                return LinearConversion.model_validate(value)
            except ValidationError as exc:
                raise ValueError(
                    ", ".join(validation_problems(exc, location=_profile_location))
                ) from None
        return value

    @field_validator("unit_code")
    @classmethod
    def _valid_unit_code(cls, value: str | None) -> str | None:
        if value is None or value in KNOWN_UNIT_CODES or UNIT_CODE_SHAPE.fullmatch(value):
            return value
        hint = suggest_unit_code(value)
        advice = (
            f"; did you mean {describe_unit(hint)}?"
            if hint
            else " such as P1 (percent), CEL (degree Celsius) or GQ (µg/m³)"
        )
        raise ValueError(
            f"{value!r} is not a UN/CEFACT unit code (2–3 upper-case letters or digits){advice}"
        )

    @field_validator("dataset_id")
    @classmethod
    def _valid_dataset_id(cls, value: str | None) -> str | None:
        if value is not None and not _URI.fullmatch(value):
            raise ValueError(f"datasetId {value!r} must be an absolute URI (urn:ngsi-ld:…)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MeasurementMapping:
        numeric = self.value_type in ("number", "integer")
        if self.kind == "Relationship" and self.value_type != "string":
            raise ValueError(
                'a Relationship takes the target entity id from the payload: type must be "string"'
            )
        if (self.kind == "GeoProperty") != (self.value_type == "geojson"):
            raise ValueError('kind "GeoProperty" goes with type "geojson", and only with it')
        if self.attribute in GEO_ATTRIBUTES and self.kind != "GeoProperty":
            raise ValueError(f'{self.attribute!r} is always a GeoProperty (type "geojson")')
        if not numeric:
            for name, given in (
                ("conversion", self.conversion),
                ("decimals", self.decimals),
                ("range", self.value_range),
            ):
                if given is not None:
                    raise ValueError(
                        f"{name} applies to numbers only, and this measurement's type is "
                        f"{self.value_type!r}"
                    )
        if self.unit_code is not None and self.kind != "Property":
            raise ValueError("unitCode applies to Property measurements only")
        if self.value_range is not None:
            low, high = self.value_range
            if low is None and high is None:
                raise ValueError("range needs at least one end: [min, max], [min, null] …")
            if low is not None and high is not None and low > high:
                raise ValueError(f"range [{low}, {high}] is empty: min is above max")
        return self

    @property
    def path(self) -> tuple[str, ...]:
        return parse_key_path(self.key)


def check_entity_id_template(template: str) -> str:
    """The template if it is usable: only the ``{device}`` placeholder, present exactly as
    ``{device}``, and an absolute URI once filled in. Raises ValueError saying what is wrong."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"entity id template {template!r} is malformed ({exc}); write it like "
            "urn:ngsi-ld:WasteContainer:{device}"
        ) from None
    fields = [(name, spec, conversion) for _, name, spec, conversion in parts if name is not None]
    if not fields:
        raise ValueError(
            f"entity id template {template!r} has no {{device}} placeholder, so every device "
            "would write to the same entity; write it like urn:ngsi-ld:WasteContainer:{device}"
        )
    for name, spec, conversion in fields:
        if name != DEVICE_PLACEHOLDER or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise ValueError(
                f"entity id template {template!r}: placeholder {shown} is not supported; the "
                "only placeholder is {device}"
            )
    sample = template.format(device="d1")
    if not _URI.fullmatch(sample) or len(sample) > 2048:
        raise ValueError(
            f"entity id template {template!r} does not give an absolute URI (for example "
            "urn:ngsi-ld:WasteContainer:{device})"
        )
    return template


class DeviceProfile(BaseModel):
    """How the payloads of a kind of device map onto an NGSI-LD entity."""

    model_config = _MODEL_CONFIG

    name: str
    entity_type: str = Field(alias="entityType")
    """the entity type as a term of ``context`` (or an absolute IRI)"""
    context: str | tuple[str, ...] | None = None
    """the @context URL(s) that expand the type and attribute names; none = the core context"""
    entity_id_template: str = Field(alias="entityIdTemplate")
    create_entity_on_first_message: bool = Field(default=False, alias="createEntityOnFirstMessage")
    static_attributes: dict[str, Any] = Field(default_factory=dict, alias="staticAttributes")
    """attributes (NGSI-LD normalized or concise form) of an entity created on first message"""
    measurements: tuple[MeasurementMapping, ...]
    observed_at: TimestampSpec | None = Field(default=None, alias="observedAt")
    """where the time of a reading is in the payload; none = the time it was received"""
    unknown_keys: UnknownKeyPolicy = Field(default="reject", alias="unknownKeys")
    """``reject`` (strict: the message is dead-lettered) or ``ignore`` (lenient: the keys are
    reported in the result and otherwise skipped)"""
    ignored_keys: tuple[str, ...] = Field(default=(), alias="ignoredKeys")
    """keys (and everything under them) that are expected and not stored, in either mode"""
    max_payload_bytes: int = Field(
        default=65_536, ge=2, le=16 * 1024 * 1024, alias="maxPayloadBytes"
    )
    max_readings: int = Field(default=1_000, ge=1, le=100_000, alias="maxReadings")
    """the most readings one message (a JSON array) may carry"""
    max_future_seconds: float = Field(default=300.0, ge=0, alias="maxFutureSeconds")
    """how far after its receive time a reading's timestamp may be (device clock drift)"""

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not PROFILE_NAME_RE.fullmatch(value):
            raise ValueError(
                f"profile name {value!r} must be 1–128 letters, digits, '.', '_', ':' or '-', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("entity_type")
    @classmethod
    def _valid_type(cls, value: str) -> str:
        if not value or value.startswith("@") or _FORBIDDEN_TYPE_CHARS.search(value):
            raise ValueError(f"{value!r} is not a valid entity type (e.g. WasteContainer)")
        return value

    @field_validator("context")
    @classmethod
    def _valid_context(cls, value: str | tuple[str, ...] | None) -> str | tuple[str, ...] | None:
        urls = [value] if isinstance(value, str) else list(value or ())
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"@context {url!r} must be an http(s) URL")
        return value

    @field_validator("entity_id_template")
    @classmethod
    def _valid_template(cls, value: str) -> str:
        return check_entity_id_template(value)

    @field_validator("measurements")
    @classmethod
    def _some_measurements(
        cls, value: tuple[MeasurementMapping, ...]
    ) -> tuple[MeasurementMapping, ...]:
        if not value:
            raise ValueError("list at least one measurement (payload key → attribute)")
        return value

    @field_validator("ignored_keys")
    @classmethod
    def _valid_ignored(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for key in value:
            _check_key(key)
        return value

    @field_validator("static_attributes")
    @classmethod
    def _valid_static(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if name in ENTITY_KEYWORDS:
                raise ValueError(f"{name!r} is set by the profile itself, not an attribute")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DeviceProfile:
        problems: list[str] = []
        seen: dict[tuple[str, str | None], int] = {}
        timestamp_paths = {self.observed_at.path} if self.observed_at else set()
        timestamp_paths |= {m.observed_at.path for m in self.measurements if m.observed_at}
        ignored = [parse_key_path(key) for key in self.ignored_keys]
        measured = [m.path for m in self.measurements]
        for index, mapping in enumerate(self.measurements):
            target = (mapping.attribute, mapping.dataset_id)
            if target in seen:
                dataset = f" (datasetId {mapping.dataset_id})" if mapping.dataset_id else ""
                problems.append(
                    f"measurements[{index}] and measurements[{seen[target]}] both write "
                    f"attribute {mapping.attribute!r}{dataset}; give one of them another "
                    "attribute or a datasetId"
                )
            else:
                seen[target] = index
            if mapping.attribute in self.static_attributes:
                problems.append(
                    f"measurements[{index}] writes {mapping.attribute!r}, which is also a "
                    "static attribute"
                )
            if mapping.path in timestamp_paths:
                problems.append(
                    f"measurements[{index}] reads key {mapping.key!r}, which is also the "
                    "observedAt key"
                )
        for path in measured + sorted(timestamp_paths):
            for ignored_path, ignored_key in zip(ignored, self.ignored_keys, strict=True):
                if path[: len(ignored_path)] == ignored_path:
                    problems.append(
                        f"ignoredKeys: {ignored_key!r} would hide key "
                        f"{format_key_path(path)!r}, which the profile reads"
                    )
        for path in measured:
            for other in measured:
                if len(other) > len(path) and other[: len(path)] == path:
                    problems.append(
                        f"key {format_key_path(path)!r} is an object that another measurement "
                        f"reads into ({format_key_path(other)!r}); map the inner keys only"
                    )
        if problems:
            raise ValueError("; ".join(dict.fromkeys(problems)))
        return self

    # -- helpers -------------------------------------------------------------------------------
    def context_source(self) -> str | list[str] | None:
        """The @context as :meth:`ContextResolver.resolve` takes it."""
        if self.context is None or isinstance(self.context, str):
            return self.context
        return list(self.context)

    def resolve_context(self, resolver: ContextResolver) -> LdContext:
        """The profile's @context, resolved offline (LdContextNotAvailable for an unknown
        URL)."""
        return resolver.resolve(self.context_source())

    def entity_id_for(self, device_id: str) -> str:
        """The target entity id of a device (not validated; see ``map_payload``)."""
        return self.entity_id_template.format(device=device_id)


def load_profile(document: Mapping[str, Any] | str | bytes) -> DeviceProfile:
    """A profile from its JSON document (text or parsed). Raises :class:`InvalidProfile` listing
    every problem, each with where it is (``measurements[1].unitCode: …``)."""
    data: Any = document
    if isinstance(document, str | bytes):
        try:
            data = json.loads(document)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidProfile([f"not JSON ({exc})"]) from None
    if not isinstance(data, Mapping):
        raise InvalidProfile(["a profile must be a JSON object"])
    try:
        return DeviceProfile.model_validate(data)
    except ValidationError as exc:
        name = data.get("name")
        raise InvalidProfile(
            validation_problems(exc, location=_profile_location),
            name=name if isinstance(name, str) else None,
        ) from None


def profile_warnings(profile: DeviceProfile) -> list[str]:
    """Things that are allowed but probably not meant: unit codes outside the table of
    :mod:`units`, a unit code that does not match the conversion's result, static attributes
    that are never used."""
    warnings: list[str] = []
    for index, mapping in enumerate(profile.measurements):
        where = f"measurements[{index}] ({mapping.key!r} → {mapping.attribute!r})"
        code = mapping.unit_code
        if code is not None and code not in KNOWN_UNIT_CODES:
            warnings.append(
                f"{where}: unitCode {code!r} is not among the unit codes Cetate knows; check "
                "it against UN/CEFACT Recommendation 20"
            )
        if isinstance(mapping.conversion, str) and code is not None:
            rule = NAMED_CONVERSIONS[mapping.conversion]
            if code != rule.to_unit:
                warnings.append(
                    f"{where}: conversion {mapping.conversion} gives values in "
                    f"{describe_unit(rule.to_unit)}, but unitCode is {describe_unit(code)}"
                )
    if profile.static_attributes and not profile.create_entity_on_first_message:
        warnings.append(
            "staticAttributes are only used when an entity is created on first message, and "
            "createEntityOnFirstMessage is false"
        )
    return warnings
