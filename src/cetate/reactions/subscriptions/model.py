"""NGSI-LD subscriptions (ETSI GS CIM 009 §5.2.12, §5.8): the client payload, validated and
expanded, as a :class:`Subscription`; its rendering for GET; its merge for PATCH.

A client sends a subscription in normalized JSON-LD with its @context (``Link`` header or
``@context`` member). :func:`parse_subscription` takes the payload and the resolved
:class:`~cetate.ngsi.jsonld.LdContext` and returns a :class:`Subscription` in which every name
is an *expanded IRI*, exactly like the stored form of entities: entity types (also inside type
expressions), ``watchedAttributes``, ``notification.attributes``, ``geoQ.geoproperty`` and the
attribute names of ``q``. Matching (:mod:`.matching`) and notifications (:mod:`.notification`)
work on IRIs only; :func:`render_subscription` compacts them again with the reader's @context.

Decisions where the standard leaves room:

* Unknown members are refused (BadRequestData): a misspelt ``watchedAtributes`` would
  otherwise silently widen the subscription. Read-only members that a client may echo back
  from a GET (``status``, ``createdAt``, ``timesSent`` …) are ignored. ``scopeQ``,
  ``temporalQ`` and ``csf`` are refused with OperationNotSupported (422).
* ``q`` is kept as the client wrote it (``q_text``) next to its expanded tree (``q``); GET
  returns the text.
* ``notificationTrigger`` defaults to ``["attributeCreated", "attributeUpdated"]`` (v1.8).
* A subscription keeps the @context it was created with: notifications are compacted with it
  and a PATCH does not change it (names in the patch are expanded with the patch's own
  @context, so they mean what the patching client meant).
* Errors: a payload that is not a JSON object is InvalidRequest; every other validation
  failure is BadRequestData, naming the member (``notification.endpoint.uri`` …).
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, cast, get_args
from urllib.parse import urlsplit

from cetate.errors import BadRequestData, CetateError, InvalidRequest, OperationNotSupported
from cetate.ngsi.geo import parse_geo_query
from cetate.ngsi.jsonld import CORE_CONTEXT_URLS, ContextResolver, LdContext
from cetate.ngsi.model import LOCATION
from cetate.ngsi.query_ast import QueryNode, TypeAnd, TypeExpr, TypeName, TypeOr
from cetate.ngsi.query_language import map_attribute_names, parse_q
from cetate.ngsi.representation import NGSI_LD_NULL, Representation, is_uri
from cetate.ngsi.timestamps import format_datetime, parse_datetime
from cetate.ngsi.type_expr import map_type_names, parse_type_expr
from cetate.store.base import GeoQuery

Trigger = Literal[
    "entityCreated",
    "entityUpdated",
    "entityDeleted",
    "attributeCreated",
    "attributeUpdated",
    "attributeDeleted",
]
TRIGGERS: Final[tuple[Trigger, ...]] = get_args(Trigger)
"""The values of ``notificationTrigger`` (v1.8, Table 5.2.12-2)."""
DEFAULT_TRIGGERS: Final[tuple[Trigger, ...]] = ("attributeCreated", "attributeUpdated")

FORMATS: Final[tuple[Representation, ...]] = ("normalized", "keyValues", "concise")
Accept = Literal["application/json", "application/ld+json"]
ACCEPTS: Final[tuple[Accept, ...]] = get_args(Accept)
HTTP_SCHEMES: Final = ("http", "https")
MQTT_SCHEMES: Final = ("mqtt", "mqtts")

MQTT_QOS: Final = "MQTT-QoS"
"""notifierInfo key: the QoS of MQTT notifications (0, 1 or 2; default 0)."""
MQTT_VERSION: Final = "MQTT-Version"
"""notifierInfo key: ``mqtt3.1.1`` (default) or ``mqtt5.0``."""
MQTT_VERSIONS: Final = ("mqtt3.1.1", "mqtt5.0")

RESERVED_HEADERS: Final = frozenset(
    {"content-type", "content-length", "host", "link", "transfer-encoding", "connection"}
)
"""Headers the notifier sets itself; receiverInfo may not override them."""

SubscriptionState = Literal["active", "paused", "expired"]

_TOP_LEVEL: Final = frozenset(
    {
        "id",
        "type",
        "@context",
        "subscriptionName",
        "description",
        "entities",
        "watchedAttributes",
        "notificationTrigger",
        "q",
        "geoQ",
        "isActive",
        "expiresAt",
        "throttling",
        "timeInterval",
        "notification",
        "lang",
    }
)
_READ_ONLY: Final = frozenset({"status", "createdAt", "modifiedAt", "jsonldContext"})
_UNSUPPORTED: Final = frozenset({"scopeQ", "temporalQ", "csf"})
_NOTIFICATION_MEMBERS: Final = frozenset(
    {"attributes", "format", "endpoint", "showChanges", "sysAttrs"}
)
_NOTIFICATION_READ_ONLY: Final = frozenset(
    {"status", "timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure"}
)
_ENDPOINT_MEMBERS: Final = frozenset({"uri", "accept", "receiverInfo", "notifierInfo"})
_SELECTOR_MEMBERS: Final = frozenset({"id", "idPattern", "type"})
_GEOQ_MEMBERS: Final = frozenset({"geometry", "coordinates", "georel", "geoproperty"})

_NAME: Final = re.compile(r"[^\s<>\"'=;()\\{}|^`\x00-\x1f\x7f]{1,512}")
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}")
_HEADER_VALUE: Final = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]{0,8192}")


# --------------------------------------------------------------------------------------------
# the model


@dataclass(frozen=True, slots=True)
class EntitySelector:
    """One member of ``entities``: a type (or type expression) with an optional ``id`` or
    ``idPattern``. ``type`` holds expanded IRIs. When ``id`` is given ``idPattern`` is
    ignored, as the standard says."""

    type: TypeExpr
    id: str | None = None
    id_pattern: str | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where notifications go. ``receiver_info`` are extra headers (HTTP) or metadata (MQTT)
    for the receiver; ``notifier_info`` configures the notifier (``MQTT-QoS``,
    ``MQTT-Version``)."""

    uri: str
    accept: Accept = "application/json"
    receiver_info: tuple[tuple[str, str], ...] = ()
    notifier_info: tuple[tuple[str, str], ...] = ()

    @property
    def scheme(self) -> str:
        return self.uri.split(":", 1)[0].lower()

    @property
    def is_mqtt(self) -> bool:
        return self.scheme in MQTT_SCHEMES

    @property
    def mqtt_qos(self) -> int:
        """The MQTT QoS from notifierInfo (0 when not given)."""
        return int(dict(self.notifier_info).get(MQTT_QOS, "0"))

    @property
    def mqtt_version(self) -> str:
        return dict(self.notifier_info).get(MQTT_VERSION, "mqtt3.1.1")


@dataclass(frozen=True, slots=True)
class NotificationParams:
    """The ``notification`` member. ``attributes`` (IRIs) projects the notified entities;
    ``None`` means every attribute."""

    endpoint: Endpoint
    attributes: tuple[str, ...] | None = None
    format: Representation = "normalized"
    show_changes: bool = False
    sys_attrs: bool = False


@dataclass(frozen=True, slots=True)
class Subscription:
    """A validated subscription, every name expanded to its IRI.

    ``context`` is the @context the subscription was created with (notifications are
    compacted with it); ``q_text`` the ``q`` as written, ``q`` its tree with expanded names;
    ``throttling`` and ``time_interval`` are seconds."""

    id: str
    notification: NotificationParams
    context: LdContext = field(compare=False, repr=False)
    subscription_name: str | None = None
    description: str | None = None
    entities: tuple[EntitySelector, ...] = ()
    watched_attributes: tuple[str, ...] | None = None
    notification_trigger: tuple[Trigger, ...] = DEFAULT_TRIGGERS
    q: QueryNode | None = None
    q_text: str | None = None
    geo_q: GeoQuery | None = None
    is_active: bool = True
    expires_at: datetime | None = None
    throttling: float | None = None
    time_interval: float | None = None
    lang: str | None = None
    created_at: str | None = None
    modified_at: str | None = None

    @property
    def is_periodic(self) -> bool:
        """Notified every ``time_interval`` seconds rather than on changes."""
        return self.time_interval is not None

    def state(self, now: datetime) -> SubscriptionState:
        """``expired`` once ``expiresAt`` has passed, else ``paused`` when not active, else
        ``active``."""
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active" if self.is_active else "paused"


@dataclass(frozen=True, slots=True)
class SubscriptionStatus:
    """What the notifier records about a subscription's deliveries (kept by the storage layer
    next to the subscription, rendered by :func:`render_subscription`)."""

    times_sent: int = 0
    times_failed: int = 0
    last_notification: datetime | None = None
    last_success: datetime | None = None
    last_failure: datetime | None = None

    @property
    def notification_status(self) -> Literal["ok", "failed"] | None:
        """``failed`` when the latest delivery failed, ``ok`` when it succeeded, ``None``
        before the first one."""
        if self.last_failure is not None and (
            self.last_success is None or self.last_failure >= self.last_success
        ):
            return "failed"
        return "ok" if self.last_success is not None else None


# --------------------------------------------------------------------------------------------
# parsing helpers


def _bad(detail: str, **extra: Any) -> BadRequestData:
    return BadRequestData(detail, **extra)


def _check_members(
    obj: Mapping[str, Any], where: str, allowed: frozenset[str], ignored: frozenset[str]
) -> None:
    unknown = sorted(key for key in obj if key not in allowed and key not in ignored)
    if unknown:
        raise _bad(
            f"{where}: unknown member{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(k) for k in unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(f"{where} must be a JSON object")
    return value


def _string(value: Any, where: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise _bad(f"{where} must be a non-empty string, got {value!r}")
    return value


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(f"{where} must be true or false, got {value!r}")
    return value


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise _bad(f"{where} must be a positive number of seconds, got {value!r}")
    if value != value or value == float("inf"):
        raise _bad(f"{where} must be a finite number of seconds")
    return float(value)


def _non_empty_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _bad(f"{where} must be a non-empty array")
    return value


def _names(value: Any, where: str, context: LdContext) -> tuple[str, ...]:
    """A non-empty array of attribute names, expanded, duplicates dropped (order kept)."""
    out: list[str] = []
    for item in _non_empty_list(value, where):
        if not isinstance(item, str) or not _NAME.fullmatch(item) or item.startswith("@"):
            raise _bad(
                f"{where}: {item!r} is not a valid attribute name (a non-empty string without "
                "whitespace, '@' at the start, or any of < > \" ' = ; ( ) \\ { } | ^ `)"
            )
        iri = context.expand_term(item)
        if iri not in out:
            out.append(iri)
    return tuple(out)


def _datetime(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise _bad(f"{where} must be an ISO 8601 date-time string, got {value!r}")
    try:
        return parse_datetime(value)
    except CetateError:
        raise _bad(
            f"{where}: {value!r} is not an ISO 8601 date-time (for example 2026-11-23T10:00:00Z)"
        ) from None


def _key_values(value: Any, where: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for index, item in enumerate(_non_empty_list(value, where)):
        here = f"{where}[{index}]"
        obj = _object(item, here)
        _check_members(obj, here, frozenset({"key", "value"}), frozenset())
        key = obj.get("key")
        text = obj.get("value")
        if not isinstance(key, str) or not isinstance(text, str):
            raise _bad(f"{here} must be {{'key': string, 'value': string}}")
        pairs.append((key, text))
    return pairs


# --------------------------------------------------------------------------------------------
# the members


def _entities(value: Any, context: LdContext) -> tuple[EntitySelector, ...]:
    selectors: list[EntitySelector] = []
    for index, item in enumerate(_non_empty_list(value, "entities")):
        where = f"entities[{index}]"
        obj = _object(item, where)
        _check_members(obj, where, _SELECTOR_MEMBERS, frozenset())
        if "type" not in obj:
            raise _bad(f"{where} has no 'type'; every entity selector needs a type")
        text = _string(obj["type"], f"{where}.type")
        try:
            expr = parse_type_expr(text)
        except CetateError as exc:
            raise _bad(f"{where}.type: {exc.detail}") from None
        entity_id = obj.get("id")
        if entity_id is not None and not is_uri(entity_id):
            raise _bad(
                f"{where}.id {entity_id!r} is not an absolute URI "
                "(for example urn:ngsi-ld:WasteContainer:cluj:0001)"
            )
        pattern = obj.get("idPattern")
        if pattern is not None:
            _string(pattern, f"{where}.idPattern")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise _bad(
                    f"{where}.idPattern {pattern!r} is not a valid regular expression: {exc}"
                ) from None
        selectors.append(
            EntitySelector(
                type=map_type_names(expr, context.expand_term),
                id=entity_id,
                id_pattern=pattern,
            )
        )
    return tuple(selectors)


def _triggers(value: Any) -> tuple[Trigger, ...]:
    out: list[Trigger] = []
    for item in _non_empty_list(value, "notificationTrigger"):
        if item not in TRIGGERS:
            raise _bad(
                f"notificationTrigger: {item!r} is not a trigger; expected " + ", ".join(TRIGGERS)
            )
        if item not in out:
            out.append(cast(Trigger, item))
    return tuple(out)


def _query(value: Any, context: LdContext) -> tuple[str, QueryNode]:
    text = _string(value, "q")
    try:
        node = parse_q(text)
    except CetateError as exc:
        raise _bad(f"q: {exc.detail}") from None
    return text, map_attribute_names(node, context.expand_term)


def _geo_query(value: Any, context: LdContext) -> GeoQuery:
    obj = _object(value, "geoQ")
    _check_members(obj, "geoQ", _GEOQ_MEMBERS, frozenset())
    missing = [name for name in ("geometry", "coordinates", "georel") if name not in obj]
    if missing:
        raise _bad("geoQ needs geometry, coordinates and georel; missing: " + ", ".join(missing))
    geometry = _string(obj["geometry"], "geoQ.geometry")
    georel = _string(obj["georel"], "geoQ.georel")
    coordinates = obj["coordinates"]
    if isinstance(coordinates, list):
        coordinates = json.dumps(coordinates)
    elif not isinstance(coordinates, str):
        raise _bad("geoQ.coordinates must be an array (or its JSON text)")
    geoproperty = obj.get("geoproperty")
    if geoproperty is not None:
        (geoproperty,) = _names([geoproperty], "geoQ.geoproperty", context)
    try:
        query = parse_geo_query(georel, geometry, coordinates, geoproperty)
    except CetateError as exc:
        raise _bad(f"geoQ: {exc.detail}") from None
    return query


def _endpoint(value: Any) -> Endpoint:
    obj = _object(value, "notification.endpoint")
    _check_members(obj, "notification.endpoint", _ENDPOINT_MEMBERS, frozenset())
    if "uri" not in obj:
        raise _bad("notification.endpoint has no 'uri': say where notifications go")
    uri = _string(obj["uri"], "notification.endpoint.uri")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in HTTP_SCHEMES + MQTT_SCHEMES:
        raise _bad(
            f"notification.endpoint.uri {uri!r}: the scheme must be http, https, mqtt or mqtts"
        )
    if not parts.hostname or any(ch.isspace() for ch in uri):
        raise _bad(f"notification.endpoint.uri {uri!r} has no host (or contains whitespace)")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise _bad(f"notification.endpoint.uri {uri!r} has an invalid port") from None
    if scheme in MQTT_SCHEMES and not parts.path.strip("/"):
        raise _bad(
            f"notification.endpoint.uri {uri!r}: an MQTT endpoint needs a topic, "
            "for example mqtt://broker:1883/city/notifications"
        )
    accept = obj.get("accept", "application/json")
    if accept not in ACCEPTS:
        raise _bad(
            f"notification.endpoint.accept {accept!r}: expected application/json or "
            "application/ld+json"
        )
    receiver: list[tuple[str, str]] = []
    if "receiverInfo" in obj:
        receiver = _key_values(obj["receiverInfo"], "notification.endpoint.receiverInfo")
        for key, text in receiver:
            if not _HEADER_NAME.fullmatch(key) or not _HEADER_VALUE.fullmatch(text):
                raise _bad(
                    f"notification.endpoint.receiverInfo: {key!r}: {text!r} is not a valid "
                    "header (a token name; a value without control characters)"
                )
            if key.lower() in RESERVED_HEADERS:
                raise _bad(
                    f"notification.endpoint.receiverInfo: {key!r} is set by the notifier "
                    "and cannot be given"
                )
    notifier: list[tuple[str, str]] = []
    if "notifierInfo" in obj:
        notifier = _key_values(obj["notifierInfo"], "notification.endpoint.notifierInfo")
        for key, text in notifier:
            if key == MQTT_QOS and text not in ("0", "1", "2"):
                raise _bad(f"notification.endpoint.notifierInfo: {MQTT_QOS} must be 0, 1 or 2")
            if key == MQTT_VERSION and text not in MQTT_VERSIONS:
                raise _bad(
                    f"notification.endpoint.notifierInfo: {MQTT_VERSION} must be one of "
                    + ", ".join(MQTT_VERSIONS)
                )
    return Endpoint(
        uri=uri,
        accept=cast(Accept, accept),
        receiver_info=tuple(receiver),
        notifier_info=tuple(notifier),
    )


def _notification(value: Any, context: LdContext) -> NotificationParams:
    obj = _object(value, "notification")
    _check_members(obj, "notification", _NOTIFICATION_MEMBERS, _NOTIFICATION_READ_ONLY)
    if "endpoint" not in obj:
        raise _bad("notification has no 'endpoint': say where notifications go")
    fmt = obj.get("format", "normalized")
    if fmt not in FORMATS:
        raise _bad(f"notification.format {fmt!r}: expected one of {', '.join(FORMATS)}")
    attributes = None
    if "attributes" in obj:
        attributes = _names(obj["attributes"], "notification.attributes", context)
    return NotificationParams(
        endpoint=_endpoint(obj["endpoint"]),
        attributes=attributes,
        format=cast(Representation, fmt),
        show_changes=_boolean(obj.get("showChanges", False), "notification.showChanges"),
        sys_attrs=_boolean(obj.get("sysAttrs", False), "notification.sysAttrs"),
    )


def new_subscription_id() -> str:
    return f"urn:ngsi-ld:Subscription:{uuid.uuid4()}"


def parse_subscription(
    payload: Any,
    context: LdContext,
    *,
    now: datetime | None,
    new_id: Callable[[], str] = new_subscription_id,
) -> Subscription:
    """A client's subscription payload (POST /subscriptions) as a :class:`Subscription`.

    ``now`` stamps ``createdAt``/``modifiedAt`` and refuses an ``expiresAt`` that is not in the
    future; ``None`` skips that check (reloading a stored subscription). A missing ``id`` is
    generated by ``new_id``. Raises InvalidRequest for a non-object and BadRequestData (or
    OperationNotSupported for ``scopeQ``/``temporalQ``/``csf``) for bad content."""
    if not isinstance(payload, Mapping):
        raise InvalidRequest("a subscription must be a JSON object")
    unsupported = sorted(key for key in payload if key in _UNSUPPORTED)
    if unsupported:
        raise OperationNotSupported(
            f"subscriptions with {', '.join(unsupported)} are not supported by Cetate yet"
        )
    _check_members(payload, "subscription", _TOP_LEVEL, _READ_ONLY)

    kind = payload.get("type")
    if kind != "Subscription":
        raise _bad(f"the subscription's 'type' must be \"Subscription\", got {kind!r}")
    if "id" in payload:
        sub_id = payload["id"]
        if not is_uri(sub_id):
            raise _bad(
                f"subscription id {sub_id!r} is not an absolute URI "
                "(for example urn:ngsi-ld:Subscription:bins-full)"
            )
    else:
        sub_id = new_id()

    entities = _entities(payload["entities"], context) if "entities" in payload else ()
    watched = (
        _names(payload["watchedAttributes"], "watchedAttributes", context)
        if "watchedAttributes" in payload
        else None
    )
    time_interval = (
        _seconds(payload["timeInterval"], "timeInterval") if "timeInterval" in payload else None
    )
    throttling = _seconds(payload["throttling"], "throttling") if "throttling" in payload else None
    if time_interval is not None and watched is not None:
        raise _bad(
            "timeInterval and watchedAttributes cannot be used together: a subscription is "
            "either periodic (timeInterval) or triggered by changes (watchedAttributes)"
        )
    if time_interval is not None and throttling is not None:
        raise _bad(
            "timeInterval and throttling cannot be used together: throttling limits "
            "change-triggered notifications only"
        )
    if not entities and watched is None:
        raise _bad("a subscription needs 'entities', 'watchedAttributes' or both")

    if "notification" not in payload:
        raise _bad("the subscription has no 'notification'; it needs at least an endpoint")
    notification = _notification(payload["notification"], context)

    q_text, q = _query(payload["q"], context) if "q" in payload else (None, None)
    expires_at = None
    if "expiresAt" in payload:
        expires_at = _datetime(payload["expiresAt"], "expiresAt")
        if now is not None and expires_at <= now:
            raise _bad(
                f"expiresAt {payload['expiresAt']!r} is not in the future "
                f"(now is {format_datetime(now)})"
            )
    stamp = format_datetime(now) if now is not None else None
    return Subscription(
        id=sub_id,
        notification=notification,
        context=context,
        subscription_name=(
            _string(payload["subscriptionName"], "subscriptionName")
            if "subscriptionName" in payload
            else None
        ),
        description=(
            _string(payload["description"], "description", allow_empty=True)
            if "description" in payload
            else None
        ),
        entities=entities,
        watched_attributes=watched,
        notification_trigger=(
            _triggers(payload["notificationTrigger"])
            if "notificationTrigger" in payload
            else DEFAULT_TRIGGERS
        ),
        q=q,
        q_text=q_text,
        geo_q=_geo_query(payload["geoQ"], context) if "geoQ" in payload else None,
        is_active=_boolean(payload.get("isActive", True), "isActive"),
        expires_at=expires_at,
        throttling=throttling,
        time_interval=time_interval,
        lang=_string(payload["lang"], "lang") if "lang" in payload else None,
        created_at=stamp,
        modified_at=stamp,
    )


# --------------------------------------------------------------------------------------------
# rendering


def type_expr_text(expr: TypeExpr, compact: Callable[[str], str] = str) -> str:
    """A type expression as text (``A;B|C``, parentheses only where needed), each name passed
    through ``compact``."""
    if isinstance(expr, TypeName):
        return compact(expr.name)
    if isinstance(expr, TypeAnd):
        return ";".join(
            f"({type_expr_text(item, compact)})"
            if isinstance(item, TypeOr)
            else type_expr_text(item, compact)
            for item in expr.items
        )
    return "|".join(type_expr_text(item, compact) for item in expr.items)


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _georel_text(query: GeoQuery) -> str:
    parts: list[str] = [query.georel]
    if query.max_distance is not None:
        parts.append(f"maxDistance=={_number(query.max_distance)}")
    if query.min_distance is not None:
        parts.append(f"minDistance=={_number(query.min_distance)}")
    return ";".join(parts)


def _pairs(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in pairs]


def _client_form(sub: Subscription, context: LdContext) -> dict[str, Any]:
    """The subscription as a client would write it, names compacted with ``context``."""
    compact = context.compact_iri
    out: dict[str, Any] = {"id": sub.id, "type": "Subscription"}
    if sub.subscription_name is not None:
        out["subscriptionName"] = sub.subscription_name
    if sub.description is not None:
        out["description"] = sub.description
    if sub.entities:
        selectors: list[dict[str, Any]] = []
        for selector in sub.entities:
            item: dict[str, Any] = {}
            if selector.id is not None:
                item["id"] = selector.id
            if selector.id_pattern is not None:
                item["idPattern"] = selector.id_pattern
            item["type"] = type_expr_text(selector.type, compact)
            selectors.append(item)
        out["entities"] = selectors
    if sub.watched_attributes is not None:
        out["watchedAttributes"] = [compact(iri) for iri in sub.watched_attributes]
    if not sub.is_periodic:
        out["notificationTrigger"] = list(sub.notification_trigger)
    if sub.time_interval is not None:
        out["timeInterval"] = _number(sub.time_interval)
    if sub.q_text is not None:
        out["q"] = sub.q_text
    if sub.geo_q is not None:
        geo_q: dict[str, Any] = {
            "geometry": sub.geo_q.geometry["type"],
            "coordinates": sub.geo_q.geometry["coordinates"],
            "georel": _georel_text(sub.geo_q),
        }
        if sub.geo_q.geoproperty != LOCATION:
            geo_q["geoproperty"] = compact(sub.geo_q.geoproperty)
        out["geoQ"] = geo_q
    out["isActive"] = sub.is_active
    if sub.expires_at is not None:
        out["expiresAt"] = format_datetime(sub.expires_at)
    if sub.throttling is not None:
        out["throttling"] = _number(sub.throttling)
    if sub.lang is not None:
        out["lang"] = sub.lang
    params = sub.notification
    endpoint: dict[str, Any] = {"uri": params.endpoint.uri, "accept": params.endpoint.accept}
    if params.endpoint.receiver_info:
        endpoint["receiverInfo"] = _pairs(params.endpoint.receiver_info)
    if params.endpoint.notifier_info:
        endpoint["notifierInfo"] = _pairs(params.endpoint.notifier_info)
    notification: dict[str, Any] = {}
    if params.attributes is not None:
        notification["attributes"] = [compact(iri) for iri in params.attributes]
    notification["format"] = params.format
    notification["endpoint"] = endpoint
    if params.show_changes:
        notification["showChanges"] = True
    if params.sys_attrs:
        notification["sysAttrs"] = True
    out["notification"] = notification
    return out


def context_url(context: LdContext) -> str | None:
    """The one URL that names ``context`` (what a ``Link`` header would carry), if any."""
    source = context.source
    if len(source) == 1 and isinstance(source[0], str):
        return source[0]
    if len(source) == 2 and isinstance(source[0], str) and source[1] in CORE_CONTEXT_URLS:
        return source[0]
    return None


def render_subscription(
    sub: Subscription,
    context: LdContext,
    *,
    now: datetime,
    status: SubscriptionStatus | None = None,
    sys_attrs: bool = False,
) -> dict[str, Any]:
    """The subscription for GET /subscriptions[/{id}], compacted with the reader's
    ``context``, with ``status`` (active / paused / expired at ``now``) and, inside
    ``notification``, the delivery record: ``status`` (ok / failed), ``timesSent``,
    ``timesFailed``, ``lastNotification``, ``lastSuccess``, ``lastFailure`` (§5.2.14).
    ``jsonldContext`` is the subscription's own @context when it is a single URL.
    No ``@context`` key is added: the caller adds it or sends a Link header."""
    out = _client_form(sub, context)
    out["status"] = sub.state(now)
    url = context_url(sub.context)
    if url is not None:
        out["jsonldContext"] = url
    record = status or SubscriptionStatus()
    notification = out["notification"]
    if record.notification_status is not None:
        notification["status"] = record.notification_status
    notification["timesSent"] = record.times_sent
    if record.times_failed:
        notification["timesFailed"] = record.times_failed
    for key, moment in (
        ("lastNotification", record.last_notification),
        ("lastSuccess", record.last_success),
        ("lastFailure", record.last_failure),
    ):
        if moment is not None:
            notification[key] = format_datetime(moment)
    if sys_attrs:
        if sub.created_at is not None:
            out["createdAt"] = sub.created_at
        if sub.modified_at is not None:
            out["modifiedAt"] = sub.modified_at
    return out


# --------------------------------------------------------------------------------------------
# PATCH


def _is_null(value: Any) -> bool:
    return value is None or value == NGSI_LD_NULL


def _merge_level(base: dict[str, Any], patch: Mapping[str, Any], where: str) -> None:
    for key, value in patch.items():
        if _is_null(value):
            base.pop(key, None)
        elif key == "endpoint" and where == "notification" and isinstance(value, Mapping):
            endpoint = dict(base.get("endpoint") or {})
            _merge_level(endpoint, value, "notification.endpoint")
            base["endpoint"] = endpoint
        else:
            base[key] = value


def merge_subscription_patch(
    sub: Subscription, patch: Any, context: LdContext, *, now: datetime
) -> Subscription:
    """PATCH /subscriptions/{id} (§5.8.2): the fragment's members replace the subscription's;
    ``notification`` and its ``endpoint`` merge member by member; a member set to ``null``
    (or ``"urn:ngsi-ld:null"``) is removed. Names in the fragment are expanded with
    ``context`` (the patch's); the subscription keeps its own @context, id and createdAt.
    The result is validated as a whole, so the same errors as on creation apply (for
    example adding ``timeInterval`` to a subscription with ``watchedAttributes``); an
    ``expiresAt`` in the patch must be in the future."""
    if not isinstance(patch, Mapping):
        raise InvalidRequest("a subscription fragment must be a JSON object")
    if "id" in patch and patch["id"] != sub.id:
        raise _bad(f"the fragment's id {patch['id']!r} is not the subscription's id {sub.id!r}")
    if "type" in patch and patch["type"] != "Subscription":
        raise _bad(f'the fragment\'s type must be "Subscription", got {patch["type"]!r}')
    members = {
        key: value
        for key, value in patch.items()
        if key not in ("id", "type", "@context") and key not in _READ_ONLY
    }
    if not members:
        raise _bad("the subscription fragment changes nothing")
    if "notification" in members and _is_null(members["notification"]):
        raise _bad("notification cannot be removed: every subscription needs an endpoint")
    merged = _client_form(sub, context)
    merged.pop("q", None)  # kept as a tree below unless the patch replaces it
    if sub.is_periodic and "notificationTrigger" not in members:
        merged.pop("notificationTrigger", None)
    if "timeInterval" in members and not _is_null(members["timeInterval"]):
        merged.pop("notificationTrigger", None)
    for key, value in members.items():
        if _is_null(value):
            merged.pop(key, None)
        elif key == "notification" and isinstance(value, Mapping):
            notification = dict(merged["notification"])
            _merge_level(notification, value, "notification")
            merged["notification"] = notification
        else:
            merged[key] = value
    checked = parse_subscription(merged, context, now=now if "expiresAt" in members else None)
    keep_q = "q" not in members
    return dataclasses.replace(
        checked,
        context=sub.context,
        q=sub.q if keep_q else checked.q,
        q_text=sub.q_text if keep_q else checked.q_text,
        created_at=sub.created_at,
        modified_at=format_datetime(now),
    )


# --------------------------------------------------------------------------------------------
# storage form


def subscription_to_document(sub: Subscription) -> dict[str, Any]:
    """A JSON document from which :func:`subscription_from_document` rebuilds the
    subscription: the client form compacted with its own @context, the @context, and the
    timestamps (for the storage layer)."""
    doc = _client_form(sub, sub.context)
    doc["@context"] = sub.context.source
    if sub.created_at is not None:
        doc["createdAt"] = sub.created_at
    if sub.modified_at is not None:
        doc["modifiedAt"] = sub.modified_at
    return doc


def subscription_from_document(
    doc: Mapping[str, Any], resolver: ContextResolver | None = None
) -> Subscription:
    """The inverse of :func:`subscription_to_document` (no expiry check: a stored
    subscription may have expired)."""
    context = (resolver or ContextResolver()).resolve(doc.get("@context"))
    sub = parse_subscription(doc, context, now=None)
    return dataclasses.replace(
        sub, created_at=doc.get("createdAt"), modified_at=doc.get("modifiedAt")
    )
