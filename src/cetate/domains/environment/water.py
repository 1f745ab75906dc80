"""Water-quality threshold sets and the rules that turn their breaches into Alerts.

A :class:`ThresholdSet` lists, per attribute of a ``WaterQualityObserved`` entity (FIWARE Smart
Data Models names: ``pH``, ``O2``, ``NO3``, ``NH4``, ``conductivity``, ``turbidity`` …), a lower
and/or an upper limit with its unit and citation. Shipped sets are data
(``data/water_thresholds.json``): drinking water (Directive (EU) 2020/2184) and Romanian
surface-water classes (Order 161/2006); :func:`custom_threshold_set` builds others.

:func:`threshold_rules` turns a set into rules for the rules engine
(:mod:`cetate.reactions.rules`): one ``threshold`` rule per limit (two for a range such as pH),
``>`` for a maximum, ``<`` for a minimum — a value equal to the limit is not a breach.
:func:`install_threshold_rules` stores them with :meth:`RuleService.put`; from then on every
reading that crosses a limit opens an Alert (category ``environment``, sub-category
``waterQuality``) that resolves itself when the value is back within the limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from cetate.domains.environment import tables
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.store_input import ENVIRONMENT_CONTEXT
from cetate.reactions.rules.model import Rule, Severity, parse_rule
from cetate.reactions.rules.service import RuleService

WATER_TYPE: Final = "WaterQualityObserved"
"""the entity type term (Smart Data Models Environment context)"""
Bound = Literal["min", "max"]
_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]{0,62}")


@dataclass(frozen=True, slots=True)
class WaterThreshold:
    attribute: str
    minimum: float | None
    maximum: float | None
    unit: str
    citation: str = ""


@dataclass(frozen=True, slots=True)
class ThresholdSet:
    key: str
    title: Mapping[str, str]
    """language → title"""
    source: str
    thresholds: tuple[WaterThreshold, ...]


def threshold_set_keys() -> list[str]:
    return list(tables.load("water_thresholds")["sets"])


def threshold_set(key: str) -> ThresholdSet:
    """A shipped set: ``eu-2020-2184``, ``ro-161-2006-class-ii``, ``ro-161-2006-class-iii``."""
    sets = tables.load("water_thresholds")["sets"]
    data = sets.get(key)
    if data is None:
        raise EnvironmentInputError(
            f"unknown water threshold set {key!r}; known: {', '.join(sets)}"
        )
    return custom_threshold_set(key, data["parameters"], title=data["title"], source=data["source"])


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EnvironmentInputError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def custom_threshold_set(
    key: str,
    parameters: Iterable[Mapping[str, Any]],
    *,
    title: Mapping[str, str] | None = None,
    source: str = "custom",
) -> ThresholdSet:
    """A set from ``[{attribute, min?, max?, unit, citation?}, …]``; each needs a min or a max,
    and min must be below max."""
    if not _KEY.fullmatch(key):
        raise EnvironmentInputError(
            f"threshold set key {key!r} must be 1-63 lowercase letters, digits and '-'"
        )
    thresholds: list[WaterThreshold] = []
    seen: set[str] = set()
    for number, item in enumerate(parameters, start=1):
        attribute = item.get("attribute")
        if not isinstance(attribute, str) or not _ATTRIBUTE.fullmatch(attribute):
            raise EnvironmentInputError(
                f"parameter {number}: attribute {attribute!r} is not an attribute name"
            )
        if attribute in seen:
            raise EnvironmentInputError(f"parameter {attribute!r} is given twice")
        seen.add(attribute)
        low = _number(item.get("min"), f"{attribute} min")
        high = _number(item.get("max"), f"{attribute} max")
        if low is None and high is None:
            raise EnvironmentInputError(f"parameter {attribute!r} needs a min or a max")
        if low is not None and high is not None and low >= high:
            raise EnvironmentInputError(
                f"parameter {attribute!r}: min {low} is not below max {high}"
            )
        unit = item.get("unit")
        if not isinstance(unit, str) or not unit:
            raise EnvironmentInputError(f"parameter {attribute!r} needs its unit")
        thresholds.append(WaterThreshold(attribute, low, high, unit, str(item.get("citation", ""))))
    if not thresholds:
        raise EnvironmentInputError(f"threshold set {key!r} has no parameters")
    names = dict(title) if title else {"en": key, "ro": key}
    return ThresholdSet(key, names, source, tuple(thresholds))


def _rule_key(attribute: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", attribute).strip("-").lower() or "x"


def threshold_rules(
    tenant: str,
    thresholds: ThresholdSet,
    *,
    severity: Severity = "high",
    tag: str | None = None,
    hysteresis: float | None = None,
) -> list[dict[str, Any]]:
    """The rules (JSON form, see :mod:`cetate.reactions.rules.model`) of a set: one per limit,
    ids ``urn:ngsi-ld:Rule:<tenant>:water:<set>:<attribute>:<max|min>``. ``tag`` limits them
    to entities in that NGSI-LD scope (e.g. ``/Constanta/Coast``)."""
    rules: list[dict[str, Any]] = []
    for item in thresholds.thresholds:
        for bound, value in (("max", item.maximum), ("min", item.minimum)):
            if value is None:
                continue
            above = bound == "max"
            name_en = f"{item.attribute} {'above' if above else 'below'} {value:g} {item.unit}"
            name_ro = f"{item.attribute} {'peste' if above else 'sub'} {value:g} {item.unit}"
            condition: dict[str, Any] = {
                "kind": "threshold",
                "attribute": item.attribute,
                "operator": ">" if above else "<",
                "value": value,
            }
            if hysteresis:
                condition["hysteresis"] = hysteresis
            scope: dict[str, Any] = {"entityType": WATER_TYPE}
            if tag is not None:
                scope["tag"] = tag
            rules.append(
                {
                    "id": (
                        f"urn:ngsi-ld:Rule:{tenant}:water:{thresholds.key}:"
                        f"{_rule_key(item.attribute)}:{bound}"
                    ),
                    "name": {
                        "en": f"{name_en} ({thresholds.key})"[:200],
                        "ro": f"{name_ro} ({thresholds.key})"[:200],
                    },
                    "severity": severity,
                    "category": "environment",
                    "subCategory": "waterQuality",
                    "scope": scope,
                    "condition": condition,
                    "context": [ENVIRONMENT_CONTEXT],
                }
            )
    for rule in rules:
        parse_rule(rule)  # every generated rule is valid, or this is a bug
    return rules


def install_threshold_rules(
    service: RuleService, tenant: str, thresholds: ThresholdSet, **options: Any
) -> list[Rule]:
    """Store the rules of a set (replacing earlier versions with the same ids)."""
    return [service.put(tenant, rule) for rule in threshold_rules(tenant, thresholds, **options)]
