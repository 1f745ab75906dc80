"""The rules' write observer: validation of Rule entities, and the transactional outbox of
readings and actions.

Inside every write transaction (:class:`~cetate.entities.WriteObserver`):

* a written Rule entity is validated (:func:`~.entity.rule_from_entity`); an invalid one
  raises BadRequestData, which rolls the whole transaction back (so an invalid rule cannot be
  stored through the NGSI-LD API either; a batch containing one fails as a whole). The
  tenant's rule cache is invalidated.
* for a tenant with enabled rules, each write that touches the watched attribute of an
  in-scope entity queues one reading in :data:`READINGS` (``{"rule", "entity",
  "observedAt", "values"}``); the engine evaluates it later.
* a newly created Alert entity of a rule with actions queues one item per action in
  :data:`ACTIONS` (``{"action", "rule", "alert", "config", "ruleName", "deliveryId"}``): the
  actions go out if and only if the alert is stored.

For a tenant without enabled rules the sink only looks at each write's types (to catch Rule
entities): no rule is evaluated and nothing is queued.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Final

from cetate.entities import EntityWrite, WriteSink
from cetate.ngsi.model import EntityDoc
from cetate.ngsi.timestamps import format_datetime, utc_now
from cetate.reactions.rules.entity import (
    RULE_TYPE,
    alert_context,
    alert_type,
    is_rule_entity,
    rule_from_entity,
)
from cetate.reactions.rules.evaluator import reading_from_attributes
from cetate.reactions.rules.model import in_scope
from cetate.reactions.rules.repository import LoadedRule, RuleCache
from cetate.store.base import StoreTransaction

READINGS: Final = "rule-readings"
"""The durable queue of readings to evaluate."""
ACTIONS: Final = "rule-actions"
"""The durable queue of actions (email, webhook, command) of opened alerts."""

_SKIPPED_TYPES: Final = frozenset({RULE_TYPE})


def _rule_of_alert(alert: EntityDoc) -> str | None:
    instances = alert.get(alert_context().expand_term("rule"))
    if isinstance(instances, list):
        for instance in instances:
            if isinstance(instance, dict) and isinstance(instance.get("object"), str):
                return str(instance["object"])
    return None


def action_items(loaded: LoadedRule, alert_id: str) -> list[dict[str, Any]]:
    """The work items of a rule's actions for one new alert."""
    actions = loaded.rule.actions
    if actions is None:
        return []
    items = []
    for kind in ("email", "webhook", "command"):
        config = getattr(actions, kind)
        if config is not None:
            items.append(
                {
                    "action": kind,
                    "rule": loaded.rule.id,
                    "alert": alert_id,
                    "config": config.model_dump(mode="json", by_alias=True),
                    "ruleName": loaded.rule.name.model_dump(),
                    "deliveryId": str(uuid.uuid4()),
                }
            )
    return items


def reading_items(rules: Sequence[LoadedRule], write: EntityWrite) -> list[dict[str, Any]]:
    """The readings one write gives for the tenant's enabled rules."""
    after = write.after
    if after is None:
        return []
    types = after.get("type") or ()
    if any(t in _SKIPPED_TYPES for t in types) or alert_type() in types:
        return []
    items = []
    entity_id = str(after["id"])
    for loaded in rules:
        rule = loaded.expanded
        attribute: str | None = getattr(rule.condition, "attribute", None)
        if attribute is not None and attribute not in write.changed:
            continue
        if not in_scope(rule, after):
            continue
        names = write.changed if attribute is None else (attribute,)
        attributes = {name: after[name] for name in names if isinstance(after.get(name), list)}
        if not attributes:
            continue
        reading = reading_from_attributes(entity_id, attributes, utc_now())
        if attribute is not None and attribute not in reading.values:
            continue
        values = {} if attribute is None else {attribute: reading.values[attribute]}
        items.append(
            {
                "rule": rule.id,
                "entity": entity_id,
                "observedAt": format_datetime(reading.observed_at),
                "values": values,
            }
        )
    return items


class RuleObserver:
    """The :class:`~cetate.entities.WriteObserver` of rules (see the module docstring)."""

    def __init__(self, cache: RuleCache) -> None:
        self.cache = cache
        self.readings_queued = 0
        self.actions_queued = 0

    def _check_rules(self, tenant: str, writes: Sequence[EntityWrite]) -> None:
        for write in writes:
            after = write.after
            if after is not None and RULE_TYPE in (after.get("type") or ()):
                rule_from_entity(after)
                self.cache.invalidate(tenant)
            elif after is None and is_rule_entity(write.before):
                self.cache.invalidate(tenant)

    def sink_for(self, tenant: str) -> WriteSink | None:
        rules = self.cache.by_id(tenant)

        def sink(tx: StoreTransaction, writes: Sequence[EntityWrite]) -> None:
            self._check_rules(tenant, writes)
            if not rules:
                return
            listed = list(rules.values())
            readings: list[dict[str, Any]] = []
            actions: list[dict[str, Any]] = []
            for write in writes:
                after = write.after
                if (
                    write.before is None
                    and after is not None
                    and alert_type() in (after.get("type") or ())
                ):
                    loaded = rules.get(_rule_of_alert(after) or "")
                    if loaded is not None:
                        actions.extend(action_items(loaded, str(after["id"])))
                    continue
                readings.extend(reading_items(listed, write))
            if readings:
                tx.enqueue(READINGS, readings)
                self.readings_queued += len(readings)
            if actions:
                tx.enqueue(ACTIONS, actions)
                self.actions_queued += len(actions)

        return sink
