"""Rules stored as entities, and alerts with their lifecycle.

:class:`RuleService` writes rules as ``Rule`` entities (:mod:`.entity`) through the
:class:`~cetate.entities.EntityService`, so they are also visible and editable through the
NGSI-LD API. :class:`AlertService` reads Alert entities and moves them through
open → acknowledged → resolved (:mod:`.alerts`).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from cetate.entities import EntityService
from cetate.errors import AlreadyExists, CetateError, OperationNotSupported, ResourceNotFound
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.representation import expand_entity, render_entity
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.rules import alerts as lifecycle
from cetate.reactions.rules.alerts import AlertStatus, alert_status
from cetate.reactions.rules.entity import (
    alert_context,
    alert_type,
    is_rule_entity,
    rule_from_entity,
    rule_to_entity,
)
from cetate.reactions.rules.evaluator import Cleared
from cetate.reactions.rules.model import Rule, parse_rule
from cetate.reactions.rules.repository import InvalidRule, RuleCache, iter_rule_entities
from cetate.store.base import EntityQuery


class IllegalTransition(OperationNotSupported):
    """An alert cannot make that lifecycle step (acknowledge a resolved alert …): 409."""

    status: ClassVar[int] = 409
    problem_type = "urn:cetate:errors:IllegalAlertTransition"
    title = "Illegal alert transition"


class RuleService:
    """Create, replace, read and delete a tenant's rules (each is an entity of type
    ``Rule``). Synchronous."""

    def __init__(self, entities: EntityService, cache: RuleCache | None = None) -> None:
        self.entities = entities
        self.cache = cache

    def _changed(self, tenant: str) -> None:
        if self.cache is not None:
            self.cache.invalidate(tenant)

    def put(self, tenant: str, document: Mapping[str, Any], *, create_only: bool = False) -> Rule:
        """Create or replace the rule ``document`` describes (its JSON form, see
        :func:`~cetate.reactions.rules.model.parse_rule`). BadRequestData naming every bad
        field; with ``create_only`` AlreadyExists when the rule exists."""
        rule = parse_rule(document)
        entity = rule_to_entity(rule)
        store = self.entities.store
        current = store.get_entity(tenant, rule.id)
        if current is not None and (create_only or not is_rule_entity(current)):
            raise AlreadyExists(
                f"rule {rule.id} already exists"
                if is_rule_entity(current)
                else f"entity {rule.id} exists and is not a rule",
                entityId=rule.id,
            )
        if current is None:
            self.entities.create(tenant, entity)
        else:
            self.entities.replace(tenant, entity)
        self._changed(tenant)
        return rule

    def get(self, tenant: str, rule_id: str) -> Rule | None:
        entity = self.entities.store.get_entity(tenant, rule_id)
        if not is_rule_entity(entity):
            return None
        assert entity is not None
        return rule_from_entity(entity)

    def list(self, tenant: str) -> list[Rule]:
        """Every valid rule, by id."""
        return self.list_all(tenant)[0]

    def list_all(self, tenant: str) -> tuple[builtins.list[Rule], builtins.list[InvalidRule]]:
        """Valid rules, and Rule entities that do not validate (with their error)."""
        good: builtins.list[Rule] = []
        bad: builtins.list[InvalidRule] = []
        for entity in iter_rule_entities(self.entities.store, tenant):
            try:
                good.append(rule_from_entity(entity))
            except CetateError as exc:
                bad.append(InvalidRule(str(entity.get("id")), exc.detail))
        return good, bad

    def delete(self, tenant: str, rule_id: str) -> bool:
        if not is_rule_entity(self.entities.store.get_entity(tenant, rule_id)):
            return False
        try:
            self.entities.delete(tenant, rule_id)
        except ResourceNotFound:
            return False
        self._changed(tenant)
        return True


class AlertService:
    """A tenant's Alert entities and their lifecycle. Synchronous."""

    def __init__(self, entities: EntityService, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.entities = entities
        self.clock = clock

    def _render(self, entity: Mapping[str, Any]) -> dict[str, Any]:
        return render_entity(dict(entity), alert_context())

    def list(
        self, tenant: str, *, status: AlertStatus | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Alerts newest first, each in normalized NGSI-LD form (compacted with the Alert
        @context, without ``@context``)."""
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.entities.store.query_entities(
                tenant, EntityQuery(types=TypeName(alert_type()), limit=500, offset=offset)
            ).entities
            for entity in page:
                alert = self._render(entity)
                if status is None or _status(alert) == status:
                    found.append(alert)
            if len(page) < 500:
                break
            offset += 500
        found.sort(key=lambda a: (_issued(a), str(a["id"])), reverse=True)
        return found[:limit]

    def get(self, tenant: str, alert_id: str) -> dict[str, Any] | None:
        entity = self.entities.store.get_entity(tenant, alert_id)
        if entity is None or alert_type() not in (entity.get("type") or ()):
            return None
        return self._render(entity)

    def _require(self, tenant: str, alert_id: str) -> dict[str, Any]:
        alert = self.get(tenant, alert_id)
        if alert is None:
            raise ResourceNotFound(f"alert {alert_id} does not exist", entityId=alert_id)
        return alert

    def _store(self, tenant: str, alert: Mapping[str, Any]) -> dict[str, Any]:
        payload = dict(alert)
        payload["@context"] = list(lifecycle.ALERT_CONTEXT)
        self.entities.replace(tenant, expand_entity(payload, alert_context()))
        return self._require(tenant, str(alert["id"]))

    def acknowledge(self, tenant: str, alert_id: str, by: str) -> dict[str, Any]:
        """ResourceNotFound, or OperationNotSupported (:class:`IllegalTransition`, 409) when
        the alert is not open."""
        alert = self._require(tenant, alert_id)
        try:
            changed = lifecycle.acknowledge(alert, by, self.clock())
        except OperationNotSupported as exc:
            raise IllegalTransition(exc.detail, **exc.extra) from None
        return self._store(tenant, changed)

    def resolve(self, tenant: str, alert_id: str, by: str) -> dict[str, Any]:
        """ResourceNotFound, or OperationNotSupported (:class:`IllegalTransition`, 409) when
        already resolved."""
        alert = self._require(tenant, alert_id)
        try:
            changed = lifecycle.resolve(alert, by, self.clock())
        except OperationNotSupported as exc:
            raise IllegalTransition(exc.detail, **exc.extra) from None
        return self._store(tenant, changed)

    def resolve_cleared(self, tenant: str, cleared: Cleared) -> bool:
        """Resolve the alert of an episode that ended (``resolvedBy: auto``); False when it
        is gone or was already resolved by hand."""
        alert = self.get(tenant, lifecycle.alert_id(cleared.episode_id))
        if alert is None:
            return False
        changed = lifecycle.resolve_on_clear(alert, cleared)
        if changed is None:
            return False
        self._store(tenant, changed)
        return True


def _status(alert: Mapping[str, Any]) -> str | None:
    try:
        return alert_status(alert)
    except Exception:
        return None


def _issued(alert: Mapping[str, Any]) -> str:
    attribute = alert.get("dateIssued")
    value = attribute.get("value") if isinstance(attribute, Mapping) else None
    if isinstance(value, Mapping):
        value = value.get("@value")
    return str(value or "")
