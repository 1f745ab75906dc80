"""What an operator says about a device (:class:`DeviceSpec`), and the FIWARE ``Device`` entity
that stands for it in the context store (:func:`device_entity`).

A device spec comes from the API, the console or a row of ``cetate devices import`` (see
:mod:`cetate.ingest.devices.csv_import`). It is a frozen pydantic model with camelCase aliases
(``deviceId``, ``controlledProperty``, ``entityId``, ``certFingerprint``, ``deviceModel``);
:func:`parse_device_spec` validates a JSON document and raises :class:`InvalidDeviceSpec`
listing every problem, each saying what to fix.

The Device entity follows the Smart Data Models ``Device`` schema (dataModel.Device):
``urn:ngsi-ld:Device:<tenant>:<device>`` with ``deviceCategory``, ``controlledProperty``,
``controlledAsset`` (the target entity), ``refDeviceModel``, ``location``, ``deviceState``,
``dateInstalled``, ``supportedProtocol`` and ``name`` from that model, plus two Cetate
attributes that the model has no term for and that therefore expand with the NGSI-LD default
vocabulary: ``deviceProfile`` (the profile name) and ``tags``. Credentials never appear in the
entity; they live in :class:`~cetate.ingest.devices.credentials.DeviceCredentialRecord`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cetate.errors import BadRequestData
from cetate.ingest.mqtt.topics import check_tenant
from cetate.ingest.profiles.model import PROFILE_NAME_RE as PROFILE_NAME_RE
from cetate.ngsi.representation import is_uri
from cetate.ngsi.timestamps import format_datetime, utc_now
from cetate.validation import PLAIN_MESSAGES, validation_problems

Transport = Literal["mqtt", "http", "both"]
TRANSPORTS: Final[tuple[Transport, ...]] = ("mqtt", "http", "both")
DEFAULT_TRANSPORT: Final[Transport] = "mqtt"
"""Least privilege: a device gets an HTTP token only when it is registered for ``http`` or
``both``."""

DEVICE_ID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""Device ids: 1-64 ASCII letters, digits, ``_`` or ``-``, starting with a letter or digit — a
subset of what MQTT topics allow (:data:`cetate.ingest.mqtt.topics.DEVICE_RE`), so every
device id is also a valid topic level and MQTT username part."""

_CATEGORY_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_PROPERTY_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
_TAG_RE: Final = re.compile(r"[^\W_][\w.:/-]{0,63}")
_CONTROL_CHARS: Final = re.compile(r"[\x00-\x1f\x7f]")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")

KNOWN_CATEGORIES: Final = (
    "actuator",
    "beacon",
    "endgun",
    "HVAC",
    "implement",
    "irrSection",
    "irrSystem",
    "meter",
    "multimedia",
    "network",
    "sensor",
)
"""The ``deviceCategory`` values the Smart Data Models list; others are allowed ("any other
meaningful to the application"), these are only spelled canonically (``hvac`` → ``HVAC``)."""
_CANONICAL_CATEGORY: Final = {name.lower(): name for name in KNOWN_CATEGORIES}

MAX_NAME_LENGTH: Final = 200
MAX_TAGS: Final = 32
MAX_LIST_ITEMS: Final = 64

DEVICE_TYPE: Final = "Device"
DEVICE_CONTEXT: Final = "https://smart-data-models.github.io/dataModel.Device/context.jsonld"
"""The Smart Data Models Device @context (shipped offline in ``cetate/ngsi/contexts``)."""

DeviceState = Literal["provisioned", "ok", "revoked"]
PROVISIONED: Final[DeviceState] = "provisioned"
"""``deviceState`` of a device that has credentials but has not reported yet."""


class InvalidDeviceSpec(BadRequestData):
    """A device description that cannot be registered, with every problem found
    (``problems``)."""

    title = "Invalid device"

    def __init__(self, problems: list[str], *, device_id: str | None = None) -> None:
        label = f"device {device_id!r}" if device_id else "device"
        super().__init__(f"{label} is not valid: " + "; ".join(problems), problems=problems)
        self.problems = problems


def normalize_cert_fingerprint(text: str) -> str:
    """A client certificate's SHA-256 fingerprint as 64 lowercase hex digits. Accepts what
    ``openssl x509 -noout -fingerprint -sha256`` prints (``sha256 Fingerprint=AB:CD:…``), a
    ``sha256:`` prefix, colons, spaces and either case. Raises ValueError saying what is
    expected."""
    cleaned = text.strip()
    if "=" in cleaned:
        label, _, cleaned = cleaned.partition("=")
        if "sha256" not in label.lower().replace("-", ""):
            raise ValueError(f"{text!r} is not a SHA-256 fingerprint (it says {label.strip()!r})")
    if cleaned.lower().startswith("sha256:"):
        cleaned = cleaned[len("sha256:") :]
    cleaned = re.sub(r"[\s:]", "", cleaned).lower()
    if not _HEX64.fullmatch(cleaned):
        raise ValueError(
            f"certificate fingerprint {text!r} is not a SHA-256 fingerprint: expected 64 hex "
            "digits, colons allowed (openssl x509 -noout -fingerprint -sha256 -in device.crt)"
        )
    return cleaned


def _split_items(value: Any) -> Any:
    """A list given as one string (``"a; b"``, ``"a|b"``, ``"a,b"``) as a list of strings."""
    if isinstance(value, str):
        return [item for item in re.split(r"[;|,]", value) if item.strip()]
    return value


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class DeviceSpec(BaseModel):
    """A device as an operator registers it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        allow_inf_nan=False,
        str_strip_whitespace=True,
    )

    device_id: str = Field(alias="deviceId")
    """unique per tenant; 1-64 of ``A-Z a-z 0-9 _ -``, starting with a letter or digit"""
    profile: str
    """the name of the device profile that maps its payloads to attributes"""
    name: str | None = None
    """a human name (any text, diacritics welcome)"""
    category: tuple[str, ...] = Field(default=("sensor",), alias="deviceCategory")
    """Smart Data Models ``deviceCategory``: sensor, actuator, meter …"""
    controlled_property: tuple[str, ...] = Field(default=(), alias="controlledProperty")
    """what it measures or controls (``fillingLevel``, ``temperature`` …)"""
    entity_id: str | None = Field(default=None, alias="entityId")
    """the entity its readings go to; none = the profile's ``entityIdTemplate`` decides"""
    lon: float | None = None
    lat: float | None = None
    tags: tuple[str, ...] = ()
    transport: Transport = DEFAULT_TRANSPORT
    cert_fingerprint: str | None = Field(default=None, alias="certFingerprint")
    """SHA-256 of the client certificate (DER), 64 hex digits; pins the device to it"""
    device_model: str | None = Field(default=None, alias="deviceModel")
    """id (URI) of a ``DeviceModel`` entity, as ``refDeviceModel``"""

    @field_validator("device_id", mode="before")
    @classmethod
    def _valid_device_id(cls, value: Any) -> Any:
        if isinstance(value, str) and not DEVICE_ID_RE.fullmatch(value.strip()):
            shown = value.strip()
            hint = ""
            if not shown:
                hint = " (it is empty)"
            elif len(shown) > 64:
                hint = f" (it has {len(shown)} characters)"
            raise ValueError(
                f"device id {shown!r} is not valid{hint}: use 1-64 ASCII letters, digits, '_' "
                "or '-', starting with a letter or digit (for example bin-0042)"
            )
        return value

    @field_validator("profile")
    @classmethod
    def _valid_profile(cls, value: str) -> str:
        if not PROFILE_NAME_RE.fullmatch(value):
            raise ValueError(
                f"profile name {value!r} is not valid: use 1-128 letters, digits, '.', '_', ':' "
                "or '-', starting with a letter or digit (for example bin-level-sensor-v1)"
            )
        return value

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if len(value) > MAX_NAME_LENGTH:
            raise ValueError(f"the name is longer than {MAX_NAME_LENGTH} characters")
        if _CONTROL_CHARS.search(value):
            raise ValueError("the name contains control characters (line breaks, tabs …)")
        return value

    @field_validator("category", mode="before")
    @classmethod
    def _split_category(cls, value: Any) -> Any:
        return _split_items(value)

    @field_validator("category")
    @classmethod
    def _valid_category(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        items = [item.strip() for item in value]
        if not items:
            return ("sensor",)
        if len(items) > MAX_LIST_ITEMS:
            raise ValueError(f"more than {MAX_LIST_ITEMS} categories")
        for item in items:
            if not _CATEGORY_RE.fullmatch(item):
                raise ValueError(
                    f"category {item!r} is not valid: use a word of letters, digits, '_' or '-' "
                    f"such as {', '.join(KNOWN_CATEGORIES[:4])}"
                )
        return _unique([_CANONICAL_CATEGORY.get(item.lower(), item) for item in items])

    @field_validator("controlled_property", mode="before")
    @classmethod
    def _split_properties(cls, value: Any) -> Any:
        return _split_items(value)

    @field_validator("controlled_property")
    @classmethod
    def _valid_properties(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        items = [item.strip() for item in value]
        if len(items) > MAX_LIST_ITEMS:
            raise ValueError(f"more than {MAX_LIST_ITEMS} controlled properties")
        for item in items:
            if not _PROPERTY_RE.fullmatch(item):
                raise ValueError(
                    f"controlled property {item!r} is not valid: use an attribute name such as "
                    "fillingLevel or temperature (letters, digits, '_', starting with a letter)"
                )
        return _unique(items)

    @field_validator("entity_id")
    @classmethod
    def _valid_entity_id(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not is_uri(value):
            raise ValueError(
                f"target entity id {value!r} is not an absolute URI (for example "
                "urn:ngsi-ld:WasteContainer:cluj:0042)"
            )
        return value

    @field_validator("device_model")
    @classmethod
    def _valid_device_model(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not is_uri(value):
            raise ValueError(
                f"device model {value!r} is not an absolute URI (for example "
                "urn:ngsi-ld:DeviceModel:bin-level-sensor-v1)"
            )
        return value

    @field_validator("lon")
    @classmethod
    def _valid_lon(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and -180.0 <= value <= 180.0):
            raise ValueError(f"longitude {value} is out of range (−180…180)")
        return value

    @field_validator("lat")
    @classmethod
    def _valid_lat(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and -90.0 <= value <= 90.0):
            hint = " (are longitude and latitude swapped?)" if -180.0 <= value <= 180.0 else ""
            raise ValueError(f"latitude {value} is out of range (−90…90){hint}")
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _split_tags(cls, value: Any) -> Any:
        return _split_items(value)

    @field_validator("tags")
    @classmethod
    def _valid_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        items = [item.strip() for item in value]
        if len(items) > MAX_TAGS:
            raise ValueError(f"more than {MAX_TAGS} tags ({len(items)})")
        for item in items:
            if not _TAG_RE.fullmatch(item):
                raise ValueError(
                    f"tag {item!r} is not valid: use 1-64 letters (diacritics allowed), digits, "
                    "'_', '.', ':', '/' or '-', starting with a letter or digit, no spaces"
                )
        return _unique(items)

    @field_validator("transport", mode="before")
    @classmethod
    def _valid_transport(cls, value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered not in TRANSPORTS:
                raise ValueError(
                    f"unknown transport {value!r}: use mqtt, http or both "
                    "(both issues an MQTT password and an HTTP token)"
                )
            return lowered
        return value

    @field_validator("cert_fingerprint")
    @classmethod
    def _valid_fingerprint(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return normalize_cert_fingerprint(value)

    @model_validator(mode="after")
    def _both_coordinates(self) -> DeviceSpec:
        if (self.lon is None) != (self.lat is None):
            missing = "latitude" if self.lat is None else "longitude"
            raise ValueError(
                f"the location needs both longitude and latitude; {missing} is missing"
            )
        return self

    @property
    def uses_mqtt(self) -> bool:
        return self.transport in ("mqtt", "both")

    @property
    def uses_http(self) -> bool:
        return self.transport in ("http", "both")


def problems_of(exc: ValidationError) -> list[str]:
    """Pydantic's errors as ``field: message`` lines a person can act on."""
    return validation_problems(exc, messages=PLAIN_MESSAGES)


def parse_device_spec(data: Mapping[str, Any]) -> DeviceSpec:
    """A device spec from a JSON document (camelCase or snake_case keys); raises
    :class:`InvalidDeviceSpec` listing every problem."""
    try:
        return DeviceSpec.model_validate(data)
    except ValidationError as exc:
        device_id = data.get("deviceId", data.get("device_id"))
        raise InvalidDeviceSpec(
            problems_of(exc), device_id=device_id if isinstance(device_id, str) else None
        ) from None


def device_entity_id(tenant: str, device_id: str) -> str:
    """``urn:ngsi-ld:Device:<tenant>:<device>``."""
    check_tenant(tenant)
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise BadRequestData(f"invalid device id {device_id!r}")
    return f"urn:ngsi-ld:{DEVICE_TYPE}:{tenant}:{device_id}"


def device_entity(
    spec: DeviceSpec,
    tenant: str,
    *,
    installed_at: datetime | None = None,
    state: DeviceState = PROVISIONED,
) -> dict[str, Any]:
    """The FIWARE ``Device`` entity of a device, in normalized NGSI-LD form with its
    ``@context`` (the Device context; the core context is implied), ready for
    :func:`cetate.ngsi.representation.expand_entity` or ``POST /ngsi-ld/v1/entities``.
    ``installed_at`` (default: now) becomes ``dateInstalled``."""
    moment = format_datetime(installed_at or utc_now())
    protocols = [p for p, used in (("mqtt", spec.uses_mqtt), ("http", spec.uses_http)) if used]
    entity: dict[str, Any] = {
        "id": device_entity_id(tenant, spec.device_id),
        "type": DEVICE_TYPE,
        "deviceCategory": {"type": "Property", "value": list(spec.category)},
        "deviceState": {"type": "Property", "value": state},
        "dateInstalled": {
            "type": "Property",
            "value": {"@type": "DateTime", "@value": moment},
        },
        "supportedProtocol": {"type": "Property", "value": protocols},
        "deviceProfile": {"type": "Property", "value": spec.profile},
    }
    if spec.name:
        entity["name"] = {"type": "Property", "value": spec.name}
    if spec.controlled_property:
        entity["controlledProperty"] = {
            "type": "Property",
            "value": list(spec.controlled_property),
        }
    if spec.entity_id:
        entity["controlledAsset"] = {"type": "Relationship", "object": spec.entity_id}
    if spec.device_model:
        entity["refDeviceModel"] = {"type": "Relationship", "object": spec.device_model}
    if spec.lon is not None and spec.lat is not None:
        entity["location"] = {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [spec.lon, spec.lat]},
        }
    if spec.tags:
        entity["tags"] = {"type": "Property", "value": list(spec.tags)}
    entity["@context"] = [DEVICE_CONTEXT]
    return entity
