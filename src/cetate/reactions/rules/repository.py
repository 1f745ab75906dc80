"""Reading a tenant's rules from the store, with a short-lived per-tenant cache.

The write observer asks :meth:`RuleCache.enabled` on every write transaction, so a tenant's
rules are loaded at most once per :attr:`RuleCache.ttl` (and again at once after a Rule
entity is written or deleted in this process: :meth:`RuleCache.invalidate`). Other processes
see a change within the TTL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cetate.errors import CetateError
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import EntityDoc
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.timestamps import parse_datetime
from cetate.reactions.rules.entity import RULE_TYPE, rule_from_entity
from cetate.reactions.rules.model import Rule
from cetate.store.base import ContextStore, EntityQuery

logger = logging.getLogger(__name__)

PAGE = 500


@dataclass(frozen=True, slots=True)
class LoadedRule:
    """A rule as stored, its expanded form (what the evaluator uses) and when it was made."""

    rule: Rule
    expanded: Rule
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class InvalidRule:
    """A Rule entity that does not validate (only possible when written around the API)."""

    id: str
    error: str


def iter_rule_entities(store: ContextStore, tenant: str) -> list[EntityDoc]:
    out: list[EntityDoc] = []
    offset = 0
    while True:
        page = store.query_entities(
            tenant, EntityQuery(types=TypeName(RULE_TYPE), limit=PAGE, offset=offset)
        ).entities
        out.extend(page)
        if len(page) < PAGE:
            return out
        offset += PAGE


def load_rule(entity: EntityDoc, resolver: ContextResolver) -> LoadedRule:
    """A stored Rule entity, validated and expanded (BadRequestData, LdContextNotAvailable)."""
    rule = rule_from_entity(entity)
    expanded = rule.expanded(resolver.resolve(rule.context))
    created = entity.get("createdAt")
    return LoadedRule(rule, expanded, parse_datetime(created) if isinstance(created, str) else None)


def load_rules(
    store: ContextStore, tenant: str, resolver: ContextResolver
) -> tuple[list[LoadedRule], list[InvalidRule]]:
    """Every rule of a tenant (by id), and the Rule entities that do not validate."""
    good: list[LoadedRule] = []
    bad: list[InvalidRule] = []
    for entity in iter_rule_entities(store, tenant):
        try:
            good.append(load_rule(entity, resolver))
        except CetateError as exc:
            bad.append(InvalidRule(str(entity.get("id")), exc.detail))
    return good, bad


class RuleCache:
    """The enabled rules of each tenant, reloaded after ``ttl`` seconds or an invalidation."""

    def __init__(
        self,
        store: ContextStore,
        resolver: ContextResolver | None = None,
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.resolver = resolver or ContextResolver()
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, int, dict[str, LoadedRule]]] = {}
        self._generation: dict[str, int] = {}

    def invalidate(self, tenant: str) -> None:
        with self._lock:
            self._entries.pop(tenant, None)
            self._generation[tenant] = self._generation.get(tenant, 0) + 1

    def by_id(self, tenant: str) -> dict[str, LoadedRule]:
        """The enabled rules of ``tenant`` by id (fresh within the TTL)."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(tenant)
            generation = self._generation.get(tenant, 0)
        if entry is not None and entry[0] > now and entry[1] == generation:
            return entry[2]
        rules, invalid = load_rules(self.store, tenant, self.resolver)
        for bad in invalid:
            logger.warning("rule %s of tenant %s is invalid: %s", bad.id, tenant, bad.error)
        enabled = {loaded.rule.id: loaded for loaded in rules if loaded.rule.enabled}
        with self._lock:
            if self._generation.get(tenant, 0) == generation:
                self._entries[tenant] = (now + self.ttl, generation, enabled)
        return enabled

    def enabled(self, tenant: str) -> list[LoadedRule]:
        return list(self.by_id(tenant).values())
