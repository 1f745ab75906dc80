"""Rule definitions: what a rule watches, where, and when it fires.

A rule is plain data (pydantic v2), validated with messages that name the bad field. It is
written and read in JSON with camelCase keys (as it will be stored as an entity and edited in
the console and the API); Python code may use the snake_case names too.

.. code-block:: json

    {
      "id": "urn:ngsi-ld:Rule:cluj:container-full",
      "name": {"ro": "Container plin", "en": "Container full"},
      "severity": "high",
      "scope": {"entityType": "WasteContainer", "tag": "/Cluj/Centru"},
      "condition": {
        "kind": "sustained", "attribute": "fillingLevel",
        "operator": ">", "value": 0.8, "clearValue": 0.7, "duration": "PT10M"
      }
    }

Names (entity type, attributes) are NGSI-LD terms or IRIs; :meth:`Rule.expanded` turns them
into IRIs with an @context, which is what the evaluator and :func:`in_scope` compare against
entities in stored form. See docs/rules.md for the semantics of each condition.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from cetate.errors import BadRequestData, CetateError
from cetate.ngsi import geo
from cetate.ngsi.jsonld import LdContext
from cetate.ngsi.model import LOCATION, EntityDoc
from cetate.ngsi.representation import is_uri
from cetate.ngsi.timestamps import parse_duration
from cetate.store.base import GeoQuery
from cetate.validation import dotted_location, validation_problems

Severity = Literal["informational", "low", "medium", "high", "critical"]
"""The FIWARE Alert ``severity`` values, least to most severe."""

SEVERITIES: Final[tuple[Severity, ...]] = ("informational", "low", "medium", "high", "critical")

Operator = Literal[">", ">=", "<", "<="]

ALERT_CATEGORIES: Final = (
    "traffic",
    "naturalDisaster",
    "weather",
    "environment",
    "health",
    "security",
    "agriculture",
)
"""The categories the FIWARE Alert model lists (others are allowed, as in the model)."""


# -- durations --------------------------------------------------------------------------


def _to_duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except CetateError as exc:
            raise ValueError(exc.detail) from None
    raise ValueError(f"expected an ISO 8601 duration such as PT10M or PT2H, got {value!r}")


def format_duration(value: timedelta) -> str:
    """An ISO 8601 duration in days, hours, minutes and seconds: ``PT10M``, ``P1DT2H``."""
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    micros = abs(round(total * 1_000_000))
    seconds, micro = divmod(micros, 1_000_000)
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    out = f"{sign}P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or micro:
        clock += f"{seconds}.{micro:06d}".rstrip("0").rstrip(".") + "S"
    if clock:
        out += "T" + clock
    return out if out not in ("P", "-P") else "PT0S"


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A duration, written as ISO 8601 (``PT10M``; months and years are refused)."""


def _positive(value: timedelta, what: str) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"{what} must be a positive duration, got {format_duration(value)}")
    return value


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value}")
    return value


# -- parts ------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )


class RuleName(_Model):
    """The rule's name in Romanian and English (shown in the console and in alert texts)."""

    ro: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)


def _check_area(value: Any) -> dict[str, Any]:
    try:
        geometry = geo.validate_geometry(value)
    except BadRequestData as exc:
        raise ValueError(exc.detail) from None
    if geometry["type"] not in ("Polygon", "MultiPolygon"):
        raise ValueError(
            f"an area must be a GeoJSON Polygon or MultiPolygon, not a {geometry['type']}"
        )
    return geometry


Area = Annotated[dict[str, Any], BeforeValidator(_check_area)]
"""A GeoJSON Polygon or MultiPolygon ([longitude, latitude], WGS84), validated."""


def _check_name(value: Any) -> Any:
    if isinstance(value, str) and (not value or any(c.isspace() for c in value)):
        raise ValueError(f"{value!r} is not an NGSI-LD name (a term or an IRI, without spaces)")
    return value


Name = Annotated[str, BeforeValidator(_check_name)]


class RuleScope(_Model):
    """Which entities the rule watches: every entity of ``entity_type`` (a term or an IRI),
    optionally only those whose NGSI-LD ``scope`` is ``tag`` or under it (``/Cluj`` covers
    ``/Cluj/Centru``), and optionally only those whose location intersects ``area``."""

    entity_type: Name
    tag: str | None = None
    area: Area | None = None

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = value.split("/")
        if not value.startswith("/") or value == "/" or any(not p for p in parts[1:]):
            raise ValueError(
                f"tag {value!r} is not an NGSI-LD scope; write a path such as /Cluj/Centru"
            )
        if any(c.isspace() or c in "+#" for c in value):
            raise ValueError(f"tag {value!r} must not contain spaces, '+' or '#'")
        return value


# -- conditions -------------------------------------------------------------------------


class _Comparison(_Model):
    attribute: Name
    operator: Operator
    value: float
    clear_value: float | None = None
    """The line the value must cross back over for the condition to clear (hysteresis)."""
    hysteresis: float | None = Field(default=None, ge=0)
    """Alternative to ``clear_value``: its distance from ``value``."""

    @model_validator(mode="after")
    def _hysteresis(self) -> _Comparison:
        _finite(self.value, "value")
        if self.clear_value is not None and self.hysteresis is not None:
            raise ValueError("give either clearValue or hysteresis, not both")
        if self.hysteresis is not None:
            _finite(self.hysteresis, "hysteresis")
        if self.clear_value is not None:
            _finite(self.clear_value, "clearValue")
            if self.upward and self.clear_value > self.value:
                raise ValueError(
                    f"clearValue {self.clear_value} must not be above value {self.value} for "
                    f"operator {self.operator} (the alert clears when the value falls back "
                    "below clearValue)"
                )
            if not self.upward and self.clear_value < self.value:
                raise ValueError(
                    f"clearValue {self.clear_value} must not be below value {self.value} for "
                    f"operator {self.operator} (the alert clears when the value rises back "
                    "above clearValue)"
                )
        return self

    @property
    def upward(self) -> bool:
        """True for ``>``/``>=`` (fires on high values), False for ``<``/``<=``."""
        return self.operator in (">", ">=")

    @property
    def effective_clear_value(self) -> float | None:
        """The clear line, or None when the condition clears as soon as it stops holding."""
        if self.clear_value is not None:
            return self.clear_value
        if self.hysteresis:
            return self.value - self.hysteresis if self.upward else self.value + self.hysteresis
        return None

    def holds(self, value: float) -> bool:
        """The condition itself: ``value <operator> self.value``."""
        if self.operator == ">":
            return value > self.value
        if self.operator == ">=":
            return value >= self.value
        if self.operator == "<":
            return value < self.value
        return value <= self.value

    def clears(self, value: float) -> bool:
        """Whether an open episode ends at this value: past the clear line when there is one
        (strictly), else as soon as the condition no longer holds."""
        line = self.effective_clear_value
        if line is None:
            return not self.holds(value)
        return value < line if self.upward else value > line

    def describe(self) -> str:
        return f"{self.attribute} {self.operator} {_number(self.value)}"


def _number(value: float) -> str:
    return f"{value:g}"


class ThresholdCondition(_Comparison):
    """Fires when the attribute's value crosses ``value`` in the direction of ``operator``;
    clears when it crosses back over the clear line (``clearValue`` or ``value`` ∓
    ``hysteresis``)."""

    kind: Literal["threshold"] = "threshold"


class SustainedCondition(_Comparison):
    """A threshold that must hold without interruption for ``duration`` before it fires
    (``fillingLevel > 0.8`` for ``PT10M``). It clears like a threshold."""

    kind: Literal["sustained"] = "sustained"
    duration: Duration

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: timedelta) -> timedelta:
        return _positive(value, "duration")


class RateOfChangeCondition(_Model):
    """Fires when the attribute changes faster than ``limit`` per ``period`` between two
    consecutive readings (``direction``: increase, decrease or either); clears when the rate
    is back within ``clear_limit`` (default: ``limit``)."""

    kind: Literal["rate_of_change"] = "rate_of_change"
    attribute: Name
    limit: float = Field(gt=0)
    period: Duration
    direction: Literal["increase", "decrease", "any"] = "any"
    clear_limit: float | None = Field(default=None, ge=0)

    @field_validator("period")
    @classmethod
    def _period(cls, value: timedelta) -> timedelta:
        return _positive(value, "period")

    @model_validator(mode="after")
    def _limits(self) -> RateOfChangeCondition:
        _finite(self.limit, "limit")
        if self.clear_limit is not None:
            _finite(self.clear_limit, "clearLimit")
            if self.clear_limit > self.limit:
                raise ValueError(
                    f"clearLimit {self.clear_limit} must not exceed limit {self.limit}"
                )
        return self

    def describe(self) -> str:
        arrow = {"increase": "+", "decrease": "-", "any": "±"}[self.direction]
        return f"{self.attribute} {arrow}{_number(self.limit)}/{format_duration(self.period)}"


class MissingDataCondition(_Model):
    """Fires when no reading of ``attribute`` (or of any attribute, when None) has been
    observed for ``duration``: a stale device. Clears with the next reading."""

    kind: Literal["missing_data"] = "missing_data"
    attribute: Name | None = None
    duration: Duration

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: timedelta) -> timedelta:
        return _positive(value, "duration")

    def describe(self) -> str:
        what = self.attribute or "any attribute"
        return f"no {what} for {format_duration(self.duration)}"


class GeofenceCondition(_Model):
    """Fires when the GeoProperty ``attribute`` (default ``location``) is ``inside`` the area
    (touching counts) or ``outside`` it. With ``clear_margin`` (metres) the alert clears only
    once the geometry is back on the allowed side *and* at least that far from the edge, so
    GPS jitter along the boundary does not flap."""

    kind: Literal["geofence"] = "geofence"
    attribute: Name = "location"
    area: Area
    trigger: Literal["inside", "outside"]
    clear_margin: float = Field(default=0.0, ge=0)
    """metres"""

    def query(self) -> GeoQuery:
        """The geo-query that is true while the geometry is inside (or touches) the area."""
        return GeoQuery(georel="intersects", geometry=self.area)

    def describe(self) -> str:
        return f"{self.attribute} {self.trigger} area"


Condition = Annotated[
    ThresholdCondition
    | SustainedCondition
    | RateOfChangeCondition
    | MissingDataCondition
    | GeofenceCondition,
    Field(discriminator="kind"),
]
CONDITION_KINDS: Final = ("threshold", "sustained", "rate_of_change", "missing_data", "geofence")


# -- actions ----------------------------------------------------------------------------

_EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class EmailAction(_Model):
    """Email the alert to ``to`` (one or more addresses), in ``language``."""

    to: list[str] = Field(min_length=1, max_length=50)
    language: Literal["ro", "en"] = "ro"

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _EMAIL.fullmatch(address.strip()):
                raise ValueError(f"{address!r} is not an email address (name@example.ro)")
        return [address.strip() for address in value]


class WebhookAction(_Model):
    """POST the alert (JSON, signed) to ``url``, with extra ``headers``. ``secret`` signs the
    request (at least 16 characters); without one the platform's rules secret is used."""

    url: str = Field(min_length=1, max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict)
    secret: str | None = Field(default=None, min_length=16, max_length=200)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")) or any(c.isspace() for c in value):
            raise ValueError(f"webhook URL must be an http(s) URL, got {value[:100]!r}")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name) or any(c in text for c in "\r\n"):
                raise ValueError(f"invalid header {name!r}")
        return value


class CommandAction(_Model):
    """Send the command ``name`` (with ``value``) to the device ``device``."""

    device: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=100)
    value: Any = None


class RuleActions(_Model):
    """What to do when an episode opens (each optional)."""

    email: EmailAction | None = None
    webhook: WebhookAction | None = None
    command: CommandAction | None = None


# -- the rule ---------------------------------------------------------------------------


class Rule(_Model):
    """One rule: an id (a URI), a bilingual name, where it applies, how severe its alerts
    are, and one condition."""

    id: str
    name: RuleName
    enabled: bool = True
    scope: RuleScope
    severity: Severity = "medium"
    category: str = Field(default="environment", min_length=1, max_length=100)
    """The Alert ``category`` (see :data:`ALERT_CATEGORIES`)."""
    sub_category: str | None = Field(default=None, min_length=1, max_length=100)
    condition: Condition
    actions: RuleActions | None = None
    auto_resolve: bool = True
    """Resolve the alert automatically when its condition clears."""
    context: list[str] | None = None
    """@context URLs that expand the rule's terms (entity type, attribute); the NGSI-LD core
    context (default vocabulary) is always applied."""

    @field_validator("context")
    @classmethod
    def _context(cls, value: list[str] | None) -> list[str] | None:
        for url in value or []:
            if not is_uri(url):
                raise ValueError(f"@context entry {url!r} is not a URL")
        return value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not is_uri(value):
            raise ValueError(
                f"rule id {value!r} is not an absolute URI; use for example "
                "urn:ngsi-ld:Rule:cluj:container-full"
            )
        return value

    def to_json(self) -> dict[str, Any]:
        """The JSON form (camelCase, durations as ISO 8601), as :func:`parse_rule` reads it."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def expanded(self, context: LdContext) -> Rule:
        """This rule with its entity type and attribute names expanded to IRIs by
        ``context`` (IRIs stay as they are); the evaluator and :func:`in_scope` compare
        these with stored-form entities."""
        scope = self.scope.model_copy(update={"entity_type": _type_iri(context, self.scope)})
        updates: dict[str, Any] = {}
        attribute = getattr(self.condition, "attribute", None)
        if attribute is not None:
            updates["attribute"] = context.expand_term(attribute)
        condition = self.condition.model_copy(update=updates)
        return self.model_copy(update={"scope": scope, "condition": condition})


def _type_iri(context: LdContext, scope: RuleScope) -> str:
    return context.expand_term(scope.entity_type)


def parse_rule(data: Mapping[str, Any]) -> Rule:
    """A rule from its JSON form, or :class:`cetate.errors.BadRequestData` listing every
    problem as ``field.path: message``."""
    from pydantic import ValidationError

    try:
        return Rule.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, location=lambda loc: dotted_location(loc) or "rule")
        raise BadRequestData("invalid rule: " + "; ".join(problems), errors=problems) from None


# -- scope ------------------------------------------------------------------------------


def _default_instance(entity: EntityDoc, attribute: str) -> dict[str, Any] | None:
    instances = entity.get(attribute)
    if not isinstance(instances, list):
        return None
    for instance in instances:
        if isinstance(instance, dict) and "datasetId" not in instance:
            return instance
    return None


def in_scope(rule: Rule, entity: EntityDoc) -> bool:
    """Whether an entity in stored form is watched by an *expanded* rule (see
    :meth:`Rule.expanded`): its types include the rule's type, its scopes are the tag or under
    it, and its ``location`` intersects the area. An entity without a location is outside any
    area."""
    scope = rule.scope
    types = entity.get("type") or []
    if scope.entity_type not in types:
        return False
    if scope.tag is not None:
        tag = scope.tag
        scopes = entity.get("scope") or []
        if not any(s == tag or str(s).startswith(tag + "/") for s in scopes):
            return False
    if scope.area is not None:
        location = _default_instance(entity, LOCATION)
        if location is None or not geo.geo_matches(
            GeoQuery(georel="intersects", geometry=scope.area), location.get("value") or {}
        ):
            return False
    return True
