"""Rules stored as NGSI-LD entities of type ``Rule`` (Cetate vocabulary).

A rule's JSON form (:meth:`~cetate.reactions.rules.model.Rule.to_json`) maps to one entity:
its ``id`` is the rule id, its type is ``Rule`` and every other top-level key is a Property
whose value is the JSON value, verbatim. The terms are defined by :data:`RULE_CONTEXT`
(an inline @context) under the vocabulary :data:`RULE_VOCAB`:

=================  ==========================================
rule JSON key      attribute (term → IRI)
=================  ==========================================
``name``           ``name`` → ``https://cetate.ro/ns/rules#name``
``enabled``        ``enabled`` → ``…#enabled``
``scope``          ``ruleScope`` → ``…#ruleScope`` (``scope`` is an NGSI-LD keyword)
``severity`` …     the same name under ``…#`` (``category``, ``subCategory``,
                   ``condition``, ``actions``, ``autoResolve``, ``context``)
=================  ==========================================

:func:`rule_from_entity` reads an entity in stored form back (whoever wrote it: the rules API
or the NGSI-LD API) and validates it with :func:`~cetate.reactions.rules.model.parse_rule`.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from cetate.errors import BadRequestData, CetateError
from cetate.ngsi.jsonld import CORE_CONTEXT_URL, ContextResolver, LdContext
from cetate.ngsi.model import EntityDoc
from cetate.ngsi.representation import expand_entity
from cetate.reactions.rules.alerts import ALERT_CONTEXT
from cetate.reactions.rules.model import Rule, parse_rule

RULE_VOCAB: Final = "https://cetate.ro/ns/rules#"
RULE_TYPE: Final = RULE_VOCAB + "Rule"
"""The expanded type of rule entities."""

ATTRIBUTES: Final[dict[str, str]] = {
    "name": "name",
    "enabled": "enabled",
    "scope": "ruleScope",
    "severity": "severity",
    "category": "category",
    "subCategory": "subCategory",
    "condition": "condition",
    "actions": "actions",
    "autoResolve": "autoResolve",
    "context": "context",
}
"""Rule JSON key → attribute term of the Rule entity."""

RULE_TERMS: Final[dict[str, str]] = {
    "Rule": RULE_TYPE,
    **{term: RULE_VOCAB + term for term in ATTRIBUTES.values()},
}
RULE_CONTEXT: Final[list[Any]] = [RULE_TERMS, CORE_CONTEXT_URL]
"""The @context of Rule entities (inline terms, then the NGSI-LD core context)."""

_IRIS: Final[dict[str, str]] = {key: RULE_VOCAB + term for key, term in ATTRIBUTES.items()}


@cache
def rule_context() -> LdContext:
    return ContextResolver().resolve(RULE_CONTEXT)


@cache
def alert_context() -> LdContext:
    return ContextResolver().resolve(list(ALERT_CONTEXT))


@cache
def alert_type() -> str:
    """The expanded type of Alert entities."""
    return alert_context().expand_term("Alert")


def rule_payload(rule: Rule) -> dict[str, Any]:
    """The rule as a normalized NGSI-LD entity with ``@context`` (as a client would POST)."""
    data = rule.to_json()
    payload: dict[str, Any] = {"id": rule.id, "type": "Rule"}
    for key, term in ATTRIBUTES.items():
        if key in data:
            payload[term] = {"type": "Property", "value": data[key]}
    payload["@context"] = RULE_CONTEXT
    return payload


def rule_to_entity(rule: Rule) -> EntityDoc:
    """The rule in stored form (expanded), ready for :class:`~cetate.entities.EntityService`."""
    return expand_entity(rule_payload(rule), rule_context())


def is_rule_entity(entity: EntityDoc | None) -> bool:
    return entity is not None and RULE_TYPE in (entity.get("type") or ())


def rule_json_of(entity: EntityDoc) -> dict[str, Any]:
    """The rule JSON an entity in stored form describes (not validated)."""
    data: dict[str, Any] = {"id": entity.get("id")}
    for key, iri in _IRIS.items():
        instances = entity.get(iri)
        if not isinstance(instances, list):
            continue
        for instance in instances:
            if isinstance(instance, dict) and "datasetId" not in instance:
                if instance.get("type") != "Property" or "value" not in instance:
                    raise BadRequestData(
                        f"invalid rule: {key}: the attribute {ATTRIBUTES[key]} must be a "
                        "Property with a value",
                        errors=[f"{key}: must be a Property with a value"],
                    )
                data[key] = instance["value"]
    known = {RULE_TYPE}
    extra = [t for t in entity.get("type") or () if t not in known]
    if extra:
        raise BadRequestData(
            f"invalid rule: type: a Rule entity has only the type Rule, not also {extra[0]}",
            errors=["type: only Rule"],
        )
    return data


def check_context(rule: Rule) -> Rule:
    """The rule, once its ``context`` resolves (BadRequestData naming ``context`` if not)."""
    if rule.context:
        try:
            ContextResolver().resolve([*rule.context])
        except CetateError as exc:
            raise BadRequestData(
                f"invalid rule: context: {exc.detail}", errors=[f"context: {exc.detail}"]
            ) from None
    return rule


def rule_from_entity(entity: EntityDoc) -> Rule:
    """The validated rule of a stored Rule entity; BadRequestData naming every bad field."""
    return check_context(parse_rule(rule_json_of(entity)))
