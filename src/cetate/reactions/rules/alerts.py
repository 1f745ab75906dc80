"""Alert entities (FIWARE Smart Data Models ``Alert``) and their Cetate lifecycle.

:func:`build_alert` turns an :class:`~cetate.reactions.rules.evaluator.Opened` transition into
an NGSI-LD entity in *normalized* form with the Alert @context, as a client would POST it (so
it goes through :func:`cetate.ngsi.representation.expand_entity` like any other write).

The Alert model's attributes are used as the model defines them: ``category``,
``subCategory``, ``severity``, ``description``, ``dateIssued``, ``validFrom``, ``validTo``,
``alertSource`` (here a Relationship to the entity the rule watched), ``location`` (copied
from that entity). Cetate adds, as terms of the NGSI-LD default context (the Alert context does
not define them; ``status`` is a term of the NGSI-LD core context, so it expands to
``https://uri.etsi.org/ngsi-ld/status`` and compacts to ``status`` under any context): ``status``
(``open`` → ``acknowledged`` → ``resolved``), ``rule``
(Relationship to the rule), ``episode``, ``acknowledgedBy``/``acknowledgedAt``,
``resolvedBy``/``resolvedAt``; and the model's ``measuredValue`` / ``thresholdValue`` when
the condition compares numbers.

The lifecycle functions (:func:`acknowledge`, :func:`resolve`, :func:`resolve_on_clear`) take
an alert in that normalized form and return a new one; they never mutate their argument.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal

from cetate.errors import BadRequestData, OperationNotSupported
from cetate.ngsi.jsonld import CORE_CONTEXT_URL
from cetate.ngsi.model import LOCATION, EntityDoc
from cetate.ngsi.timestamps import format_datetime, parse_datetime
from cetate.reactions.rules.evaluator import Cleared, Opened
from cetate.reactions.rules.model import (
    GeofenceCondition,
    MissingDataCondition,
    RateOfChangeCondition,
    Rule,
)

ALERT_CONTEXT_URL: Final = "https://smart-data-models.github.io/dataModel.Alert/context.jsonld"
ALERT_CONTEXT: Final = [ALERT_CONTEXT_URL, CORE_CONTEXT_URL]
"""The @context of the alerts Cetate builds."""

AlertStatus = Literal["open", "acknowledged", "resolved"]
ALERT_STATUSES: Final[tuple[AlertStatus, ...]] = ("open", "acknowledged", "resolved")
AUTO: Final = "auto"
"""``resolvedBy`` when the condition cleared by itself."""

Language = Literal["ro", "en"]


def alert_id(episode_id: str) -> str:
    """The Alert entity id of an episode (one alert per episode, deterministic)."""
    return f"urn:ngsi-ld:Alert:cetate:{episode_id}"


def _date(moment: datetime) -> dict[str, Any]:
    return {"type": "Property", "value": {"@type": "DateTime", "@value": format_datetime(moment)}}


def _prop(value: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value}


def _location(entity: EntityDoc | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The default ``location`` geometry of an entity in stored form (or normalized)."""
    if not entity:
        return None
    raw = entity.get(LOCATION, entity.get("location"))
    instances = raw if isinstance(raw, list) else [raw]
    for instance in instances:
        if (
            isinstance(instance, Mapping)
            and "datasetId" not in instance
            and isinstance(instance.get("value"), Mapping)
        ):
            return dict(instance["value"])
    return None


def build_alert(
    rule: Rule,
    opened: Opened,
    entity: EntityDoc | Mapping[str, Any] | None = None,
    *,
    issued_at: datetime | None = None,
    language: Language = "ro",
) -> dict[str, Any]:
    """The Alert entity (normalized NGSI-LD, with ``@context``) for an opened episode.

    ``entity`` is the watched entity (stored form) whose ``location`` is copied, if it has
    one. ``issued_at`` is when the platform raised the alert (default: the episode start);
    ``validFrom`` is the episode start. ``description`` is the transition's message in
    ``language`` (Romanian by default)."""
    condition = rule.condition
    payload: dict[str, Any] = {
        "id": alert_id(opened.episode_id),
        "type": "Alert",
        "category": _prop(rule.category),
        "severity": _prop(rule.severity),
        "description": _prop(opened.message[language]),
        "dateIssued": _date(issued_at or opened.started_at),
        "validFrom": _date(opened.started_at),
        "alertSource": {"type": "Relationship", "object": opened.entity_id},
        "status": _prop("open"),
        "rule": {"type": "Relationship", "object": rule.id},
        "episode": _prop(opened.episode_id),
    }
    if rule.sub_category:
        payload["subCategory"] = _prop(rule.sub_category)
    if not isinstance(condition, MissingDataCondition | GeofenceCondition):
        if isinstance(opened.value, int | float) and not isinstance(opened.value, bool):
            payload["measuredValue"] = _prop(opened.value)
        if not isinstance(condition, RateOfChangeCondition):
            payload["thresholdValue"] = _prop(condition.value)
    location = _location(entity)
    if location is not None:
        payload["location"] = {"type": "GeoProperty", "value": location}
    payload["@context"] = list(ALERT_CONTEXT)
    return payload


# -- lifecycle --------------------------------------------------------------------------


def _value(alert: Mapping[str, Any], name: str) -> Any:
    attribute = alert.get(name)
    if isinstance(attribute, Mapping):
        if "value" in attribute:
            return attribute["value"]
        return attribute.get("object")
    return attribute


def alert_status(alert: Mapping[str, Any]) -> AlertStatus:
    """The Cetate status of an alert in normalized (or concise) form."""
    status = _value(alert, "status")
    if status not in ALERT_STATUSES:
        raise BadRequestData(
            f"alert {alert.get('id')!r} has status {status!r}; expected one of "
            + ", ".join(ALERT_STATUSES)
        )
    return status  # type: ignore[no-any-return]


def _issued(alert: Mapping[str, Any]) -> datetime | None:
    value = _value(alert, "validFrom") or _value(alert, "dateIssued")
    if isinstance(value, Mapping):
        value = value.get("@value")
    return parse_datetime(value) if isinstance(value, str) else None


def _check_actor(by: Any, what: str) -> str:
    if not isinstance(by, str) or not by.strip():
        raise BadRequestData(f"{what} needs who did it (a user name or id), got {by!r}")
    return by.strip()


def _check_time(alert: Mapping[str, Any], at: datetime, what: str) -> None:
    issued = _issued(alert)
    if issued is not None and at < issued:
        raise BadRequestData(
            f"cannot {what} alert {alert.get('id')!r} at {format_datetime(at)}, before it "
            f"began ({format_datetime(issued)})"
        )


def acknowledge(alert: Mapping[str, Any], by: str, at: datetime) -> dict[str, Any]:
    """open → acknowledged: an operator has seen the alert. Acknowledging an acknowledged or
    resolved alert is :class:`OperationNotSupported`."""
    who = _check_actor(by, "acknowledging an alert")
    status = alert_status(alert)
    if status != "open":
        detail = (
            f"alert {alert.get('id')!r} is already acknowledged"
            f" (by {_value(alert, 'acknowledgedBy')!s})"
            if status == "acknowledged"
            else f"alert {alert.get('id')!r} is resolved; a resolved alert cannot be acknowledged"
        )
        raise OperationNotSupported(detail, status=status)
    _check_time(alert, at, "acknowledge")
    new = copy.deepcopy(dict(alert))
    new["status"] = _prop("acknowledged")
    new["acknowledgedBy"] = _prop(who)
    new["acknowledgedAt"] = _date(at)
    return new


def resolve(alert: Mapping[str, Any], by: str, at: datetime) -> dict[str, Any]:
    """open or acknowledged → resolved, by a person (``by`` their name or id) or
    automatically (``by`` = :data:`AUTO`, when the condition cleared). Sets ``validTo``.
    Resolving a resolved alert is :class:`OperationNotSupported`."""
    who = _check_actor(by, "resolving an alert")
    status = alert_status(alert)
    if status == "resolved":
        raise OperationNotSupported(
            f"alert {alert.get('id')!r} is already resolved (by {_value(alert, 'resolvedBy')!s})",
            status=status,
        )
    _check_time(alert, at, "resolve")
    new = copy.deepcopy(dict(alert))
    new["status"] = _prop("resolved")
    new["resolvedBy"] = _prop(who)
    new["resolvedAt"] = _date(at)
    new["validTo"] = _date(at)
    return new


def resolve_on_clear(alert: Mapping[str, Any], cleared: Cleared) -> dict[str, Any] | None:
    """The automatic resolution when the episode ends: the resolved alert, or None when a
    person already resolved it (nothing to do). The episode must be the alert's."""
    if _value(alert, "episode") != cleared.episode_id:
        raise BadRequestData(
            f"episode {cleared.episode_id} cleared, but alert {alert.get('id')!r} belongs to "
            f"episode {_value(alert, 'episode')!r}"
        )
    if alert_status(alert) == "resolved":
        return None
    return resolve(alert, AUTO, cleared.ended_at)
