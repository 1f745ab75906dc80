"""The rules engine: evaluates queued readings and lets time pass, raising and resolving
Alert entities.

* :meth:`RuleEngine.drain` claims readings from the ``rule-readings`` queue (all tenants),
  runs :func:`~.evaluator.evaluate` on the (rule, entity) state kept in a store record
  (kind :data:`STATE_KIND`, key ``"<rule id> <entity id>"``) and applies the transitions.
* :meth:`RuleEngine.tick` runs :func:`~.evaluator.tick` on every state of the sustained and
  missing-data rules, first creating states for in-scope entities that never reported
  (watched since the later of the rule's and the entity's creation).

Transitions: ``Opened`` creates the Alert (:func:`~.alerts.build_alert`) through the
:class:`~cetate.entities.EntityService` with its deterministic id — a replayed reading finds
it already there and creates nothing; ``Cleared`` resolves it (``resolvedBy: auto``) when the
rule has ``autoResolve``. The state is saved after the alert, with optimistic concurrency; a
conflict puts the reading back in the queue. Both methods are synchronous and callable
directly (tests do); the application runs them as scheduler jobs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from cetate.entities import EntityService
from cetate.errors import AlreadyExists, CetateError, RecordConflict
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.representation import expand_entity
from cetate.ngsi.timestamps import parse_datetime, utc_now
from cetate.reactions.rules.alerts import build_alert
from cetate.reactions.rules.entity import alert_context
from cetate.reactions.rules.evaluator import (
    Cleared,
    Opened,
    Reading,
    ReadingIgnored,
    RuleState,
    Transition,
    evaluate,
    initial_state,
    tick,
)
from cetate.reactions.rules.model import MissingDataCondition, SustainedCondition, in_scope
from cetate.reactions.rules.observer import READINGS
from cetate.reactions.rules.repository import PAGE, LoadedRule, RuleCache
from cetate.reactions.rules.service import AlertService
from cetate.reactions.scheduler import process_holder_id
from cetate.store.base import ContextStore, EntityQuery, QueueItem

logger = logging.getLogger(__name__)

STATE_KIND: Final = "rule-state"
MAX_READING_ATTEMPTS: Final = 5


def state_key(rule_id: str, entity_id: str) -> str:
    return f"{rule_id} {entity_id}"


def _fingerprint(rule: LoadedRule) -> str:
    """Changes when the rule's condition or scope changes (its state then starts afresh)."""
    data = {"c": rule.rule.condition.model_dump(mode="json"), "s": rule.rule.scope.model_dump()}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class RuleEngine:
    """Evaluates rules for every tenant (see the module docstring)."""

    def __init__(
        self,
        store: ContextStore,
        entities: EntityService,
        cache: RuleCache,
        *,
        tenants: Callable[[], list[str]] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.entities = entities
        self.cache = cache
        self.alerts = AlertService(entities)
        self._tenants = tenants or (lambda: [t.name for t in store.list_tenants()])
        self.clock = clock
        self.worker = process_holder_id("rules")
        self.counters: Counter[str] = Counter()

    # -- state --------------------------------------------------------------------------------
    def _load(
        self, tenant: str, rule: LoadedRule, entity_id: str
    ) -> tuple[RuleState | None, int | None]:
        record = self.store.get_record(tenant, STATE_KIND, state_key(rule.rule.id, entity_id))
        if record is None:
            return None, None
        if record.data.get("fingerprint") != _fingerprint(rule):
            return None, record.version
        try:
            return RuleState.from_json(record.data["state"]), record.version
        except (CetateError, KeyError):
            return None, record.version

    def _save(self, tenant: str, rule: LoadedRule, state: RuleState, version: int | None) -> None:
        self.store.put_record(
            tenant,
            STATE_KIND,
            state_key(rule.rule.id, state.entity_id),
            {"fingerprint": _fingerprint(rule), "state": state.to_json()},
            expected_version=version,
        )

    def state(self, tenant: str, rule_id: str, entity_id: str) -> RuleState | None:
        """The stored state of (rule, entity), for the console and tests."""
        record = self.store.get_record(tenant, STATE_KIND, state_key(rule_id, entity_id))
        return RuleState.from_json(record.data["state"]) if record is not None else None

    # -- transitions --------------------------------------------------------------------------
    def _apply(
        self, tenant: str, rule: LoadedRule, transitions: list[Transition], now: datetime
    ) -> None:
        for event in transitions:
            if isinstance(event, Opened):
                entity = self.store.get_entity(tenant, event.entity_id)
                payload = build_alert(
                    rule.rule, event, entity, issued_at=max(now, event.started_at)
                )
                try:
                    self.entities.create(tenant, expand_entity(payload, alert_context()))
                except AlreadyExists:
                    self.counters["alerts_replayed"] += 1
                else:
                    self.counters["alerts_opened"] += 1
                    logger.info("rule %s opened alert %s", rule.rule.id, payload["id"])
            elif isinstance(event, Cleared):
                self.counters["episodes_cleared"] += 1
                if rule.rule.auto_resolve and self.alerts.resolve_cleared(tenant, event):
                    self.counters["alerts_auto_resolved"] += 1
            elif isinstance(event, ReadingIgnored):
                self.counters[f"readings_ignored_{event.reason}"] += 1
                logger.debug("reading ignored for rule %s: %s", rule.rule.id, event.detail)

    # -- readings -----------------------------------------------------------------------------
    def _process(self, item: QueueItem) -> None:
        data: dict[str, Any] = item.payload
        tenant = item.tenant
        rule = self.cache.by_id(tenant).get(str(data.get("rule")))
        if rule is None:
            self.counters["readings_without_rule"] += 1
            return
        entity_id = str(data["entity"])
        reading = Reading(
            entity_id, parse_datetime(str(data["observedAt"])), data.get("values") or {}
        )
        state, version = self._load(tenant, rule, entity_id)
        new_state, transitions = evaluate(rule.expanded, state, reading)
        self._apply(tenant, rule, transitions, self.clock())
        self._save(tenant, rule, new_state, version)
        self.counters["readings_evaluated"] += 1

    def drain(self, *, limit: int = 200, rounds: int = 20) -> int:
        """Evaluate queued readings until the queue is empty (at most ``rounds`` batches of
        ``limit``); the number of readings handled."""
        handled = 0
        for _ in range(rounds):
            items = self.store.claim(
                READINGS, worker=self.worker, limit=limit, lease=timedelta(minutes=1)
            )
            if not items:
                break
            done: list[int] = []
            for item in items:
                try:
                    self._process(item)
                except (RecordConflict, AlreadyExists) as exc:
                    self._retry(item, exc)
                    continue
                except Exception as exc:  # one bad reading must not stop the others
                    logger.exception("rule reading %s failed", item.id)
                    self._retry(item, exc)
                    continue
                done.append(item.id)
            if done:
                self.store.complete(done)
            handled += len(items)
        return handled

    def _retry(self, item: QueueItem, exc: Exception) -> None:
        if item.attempts >= MAX_READING_ATTEMPTS:
            self.counters["readings_dropped"] += 1
            logger.error(
                "rule reading %s dropped after %s attempts: %s", item.id, item.attempts, exc
            )
            self.store.complete([item.id])
            return
        self.store.retry(
            item.id, due_at=self.clock() + timedelta(seconds=item.attempts), error=str(exc)[:500]
        )

    # -- time ---------------------------------------------------------------------------------
    def _watch_new(
        self, tenant: str, rule: LoadedRule, known: set[str], now: datetime
    ) -> list[tuple[RuleState, int | None]]:
        """Fresh states for in-scope entities that never reported (missing data)."""
        states: list[tuple[RuleState, int | None]] = []
        offset = 0
        while True:
            page = self.store.query_entities(
                tenant,
                EntityQuery(
                    types=TypeName(rule.expanded.scope.entity_type), limit=PAGE, offset=offset
                ),
            ).entities
            for entity in page:
                entity_id = str(entity["id"])
                if entity_id in known or not in_scope(rule.expanded, entity):
                    continue
                created = entity.get("createdAt")
                since = [parse_datetime(created)] if isinstance(created, str) else []
                if rule.created_at is not None:
                    since.append(rule.created_at)
                states.append(
                    (initial_state(rule.expanded, entity_id, max(since, default=now)), None)
                )
            if len(page) < PAGE:
                return states
            offset += PAGE

    def _states(
        self, tenant: str, rule: LoadedRule, now: datetime
    ) -> list[tuple[RuleState, int | None]]:
        """The stored states of a rule; a state kept for an earlier version of the rule
        starts afresh (watched from ``now``)."""
        prefix = rule.rule.id + " "
        out: list[tuple[RuleState, int | None]] = []
        offset = 0
        fingerprint = _fingerprint(rule)
        while True:
            records = self.store.list_records(tenant, STATE_KIND, limit=1000, offset=offset)
            for record in records:
                if not record.key.startswith(prefix):
                    continue
                try:
                    if record.data.get("fingerprint") != fingerprint:
                        raise KeyError("fingerprint")
                    state = RuleState.from_json(record.data["state"])
                except (CetateError, KeyError):
                    state = initial_state(rule.expanded, record.key[len(prefix) :], now)
                out.append((state, record.version))
            if len(records) < 1000:
                return out
            offset += 1000

    def tick(self, now: datetime | None = None) -> int:
        """Let time pass until ``now`` (default: the clock) for every tenant; the number of
        transitions."""
        moment = now or self.clock()
        count = 0
        for tenant in self._tenants():
            for rule in self.cache.enabled(tenant):
                condition = rule.expanded.condition
                if not isinstance(condition, SustainedCondition | MissingDataCondition):
                    continue
                states = self._states(tenant, rule, moment)
                if isinstance(condition, MissingDataCondition):
                    known = {state.entity_id for state, _ in states}
                    states.extend(self._watch_new(tenant, rule, known, moment))
                for state, version in states:
                    new_state, transitions = tick(rule.expanded, state, moment)
                    try:
                        self._apply(tenant, rule, transitions, moment)
                        if new_state != state or version is None:
                            self._save(tenant, rule, new_state, version)
                    except (RecordConflict, AlreadyExists):
                        self.counters["tick_conflicts"] += 1
                    count += len(transitions)
        return count
