"""Rules stored as entities, and alerts with their lifecycle (interface fixed; to be
implemented)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cetate.entities import EntityService
from cetate.reactions.rules.alerts import AlertStatus
from cetate.reactions.rules.model import Rule


class RuleService:
    """Create, replace, read and delete a tenant's rules (each is an entity of type
    ``Rule``). Synchronous."""

    def __init__(self, entities: EntityService) -> None:
        self.entities = entities

    def put(self, tenant: str, document: Mapping[str, Any]) -> Rule:
        """Create or replace the rule ``document`` describes (its JSON form, see
        :func:`~cetate.reactions.rules.model.parse_rule`). BadRequestData naming every bad
        field."""
        raise NotImplementedError

    def get(self, tenant: str, rule_id: str) -> Rule | None:
        raise NotImplementedError

    def list(self, tenant: str) -> list[Rule]:
        raise NotImplementedError

    def delete(self, tenant: str, rule_id: str) -> bool:
        raise NotImplementedError


class AlertService:
    """A tenant's Alert entities and their lifecycle. Synchronous."""

    def __init__(self, entities: EntityService) -> None:
        self.entities = entities

    def list(
        self, tenant: str, *, status: AlertStatus | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Alerts newest first, each in normalized NGSI-LD form (compacted with the Alert
        @context, without ``@context``)."""
        raise NotImplementedError

    def get(self, tenant: str, alert_id: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def acknowledge(self, tenant: str, alert_id: str, by: str) -> dict[str, Any]:
        """ResourceNotFound, or OperationNotSupported when the alert is not open."""
        raise NotImplementedError

    def resolve(self, tenant: str, alert_id: str, by: str) -> dict[str, Any]:
        """ResourceNotFound, or OperationNotSupported when already resolved."""
        raise NotImplementedError
