"""NGSI-LD operations on the context store: the one write path for API, CLI, imports and domains.

Every write goes through :class:`EntityService`: it applies the pure update semantics of
:mod:`cetate.ngsi.updates` inside a store transaction and records the history rows. Payloads
here are already in stored form (expanded with their @context by the caller).

Features that react to changes (NGSI-LD subscriptions) register a :class:`WriteObserver`:
before each write transaction the service asks it for a :data:`WriteSink` for the tenant;
when it gets one, it hands the sink every :class:`EntityWrite` of the transaction *inside*
it, so that what the sink queues (``tx.enqueue``) commits together with the change. An
observer that has nothing to do for a tenant answers ``None`` and the write costs nothing
more. This module imports nothing of those features.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from cetate.errors import AlreadyExists, BadRequestData, CetateError, ResourceNotFound
from cetate.ngsi import updates
from cetate.ngsi.model import ENTITY_KEYWORDS, AttributeInstance, EntityDoc
from cetate.ngsi.timestamps import utc_now
from cetate.ngsi.updates import ChangeSet
from cetate.store.base import ContextStore, HistoryRow, StoreTransaction


@dataclass(frozen=True, slots=True)
class BatchError:
    entity_id: str
    error: CetateError


@dataclass(slots=True)
class BatchResult:
    success: list[str] = field(default_factory=list)
    """ids of the entities the operation succeeded on, in request order"""
    errors: list[BatchError] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    """ids of the entities that did not exist before (create and upsert); a subset of
    ``success``"""


@dataclass(frozen=True, slots=True)
class EntityWrite:
    """One entity's change in a write transaction, for observers: the document ``before``
    (``None`` when created) and ``after`` (``None`` when deleted), and ``changed`` — the
    IRIs of the attributes the operation created, updated or deleted."""

    before: EntityDoc | None
    after: EntityDoc | None
    changed: frozenset[str]


WriteSink = Callable[[StoreTransaction, Sequence[EntityWrite]], None]
"""Receives the writes of one transaction, inside it (it may ``tx.enqueue`` work)."""


class WriteObserver(Protocol):
    """Something that reacts to entity writes (see the module docstring)."""

    def sink_for(self, tenant: str) -> WriteSink | None:
        """The sink for a write transaction of ``tenant``, or ``None`` when no write of that
        tenant interests the observer now (the fast path: nothing is collected)."""
        ...


class CompositeObserver:
    """Several observers as one (subscriptions and rules both watch writes). A tenant whose
    writes interest none of them costs nothing more; otherwise each interested observer's
    sink gets the writes, in registration order, inside the transaction."""

    def __init__(self, *observers: WriteObserver) -> None:
        self.observers = list(observers)

    def add(self, observer: WriteObserver) -> None:
        self.observers.append(observer)

    def sink_for(self, tenant: str) -> WriteSink | None:
        sinks = [s for s in (o.sink_for(tenant) for o in self.observers) if s is not None]
        if not sinks:
            return None
        if len(sinks) == 1:
            return sinks[0]

        def sink(tx: StoreTransaction, writes: Sequence[EntityWrite]) -> None:
            for one in sinks:
                one(tx, writes)

        return sink


def _attribute_names(doc: EntityDoc) -> set[str]:
    return {key for key in doc if key not in ENTITY_KEYWORDS}


def _write_of(before: EntityDoc | None, change: ChangeSet) -> EntityWrite:
    """The :class:`EntityWrite` of one :class:`ChangeSet` applied to ``before``."""
    after = change.entity
    if before is None:
        return EntityWrite(None, after, frozenset(_attribute_names(after)))
    changed = {attr for attr, _ in change.written}
    changed.update(change.updated)
    changed.update(key for key in _attribute_names(before) if key not in after)
    return EntityWrite(before, after, frozenset(changed))


def attributes_of(entity: EntityDoc) -> dict[str, list[AttributeInstance]]:
    """The attributes of a stored-form entity (every key that is not an entity keyword)."""
    return {key: value for key, value in entity.items() if key not in ENTITY_KEYWORDS}


def _entity_id(entity: EntityDoc) -> str:
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not entity_id:
        raise BadRequestData("the entity has no id")
    return entity_id


def _not_found(entity_id: str) -> ResourceNotFound:
    return ResourceNotFound(f"entity {entity_id} does not exist", entityId=entity_id)


def _merge_types(current: EntityDoc, new: EntityDoc) -> EntityDoc:
    """``current`` with the types of ``new`` added (append keeps existing types, §5.6.3)."""
    current_types = list(current.get("type", []))
    for entity_type in new.get("type", []):
        if entity_type not in current_types:
            current_types.append(entity_type)
    if current_types == current.get("type"):
        return current
    merged = dict(current)
    merged["type"] = current_types
    return merged


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Automatic cyclic garbage collection off while a batch runs (process-wide, re-entrant
    and thread-safe: it comes back on when the last batch that paused it ends, if it was on
    before).

    A batch allocates tens of thousands of short-lived containers (documents, instances, history
    rows); with the collector on they get promoted and trigger full collections, which walk the
    whole heap and cost a quarter of the ingest time. Everything a batch allocates is freed by
    reference counting when it ends; the collector just runs a little later."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


class EntityService:
    """Writes to the context store with NGSI-LD semantics. All methods are synchronous."""

    def __init__(self, store: ContextStore, observer: WriteObserver | None = None) -> None:
        self.store = store
        self.observer = observer
        """told about every write (see :class:`WriteObserver`); may be set later"""

    def _sink(self, tenant: str) -> WriteSink | None:
        observer = self.observer
        return observer.sink_for(tenant) if observer is not None else None

    @staticmethod
    def _notify(
        sink: WriteSink | None, tx: StoreTransaction, before: EntityDoc | None, change: ChangeSet
    ) -> None:
        if sink is None:
            return
        write = _write_of(before, change)
        if write.changed:
            sink(tx, [write])

    # -- single-entity operations ------------------------------------------------------------
    def _current(self, tx: StoreTransaction, entity_id: str) -> EntityDoc:
        current = tx.get_for_update([entity_id]).get(entity_id)
        if current is None:
            raise _not_found(entity_id)
        return current

    @staticmethod
    def _write(tx: StoreTransaction, change: ChangeSet, *, new: bool = False) -> None:
        if new:
            tx.insert(change.entity)
        else:
            tx.replace(change.entity)
        rows = updates.history_rows(change)
        if rows:
            tx.append_history(rows)

    def create(self, tenant: str, entity: EntityDoc) -> None:
        entity_id = _entity_id(entity)
        sink = self._sink(tenant)
        with self.store.transaction(tenant) as tx:
            if tx.get_for_update([entity_id]):
                raise AlreadyExists(f"entity {entity_id} already exists", entityId=entity_id)
            change = updates.create_entity(entity, utc_now())
            self._write(tx, change, new=True)
            self._notify(sink, tx, None, change)

    def _change_existing(
        self,
        tenant: str,
        entity_id: str,
        compute: Callable[[EntityDoc, datetime], ChangeSet],
    ) -> ChangeSet:
        """Read an existing entity for update, compute its change, write and notify it, all
        in one transaction."""
        sink = self._sink(tenant)
        with self.store.transaction(tenant) as tx:
            current = self._current(tx, entity_id)
            change = compute(current, utc_now())
            self._write(tx, change)
            self._notify(sink, tx, current, change)
            return change

    def replace(self, tenant: str, entity: EntityDoc) -> None:
        self._change_existing(
            tenant,
            _entity_id(entity),
            lambda current, now: updates.replace_entity(current, entity, now),
        )

    def append_attributes(
        self,
        tenant: str,
        entity_id: str,
        attrs: dict[str, list[AttributeInstance]],
        *,
        overwrite: bool = True,
    ) -> ChangeSet:
        return self._change_existing(
            tenant,
            entity_id,
            lambda current, now: updates.append_attributes(
                current, attrs, now, overwrite=overwrite
            ),
        )

    def update_attributes(
        self, tenant: str, entity_id: str, attrs: dict[str, list[AttributeInstance]]
    ) -> ChangeSet:
        return self._change_existing(
            tenant,
            entity_id,
            lambda current, now: updates.update_attributes(current, attrs, now),
        )

    def merge(
        self, tenant: str, entity_id: str, patch: dict[str, list[AttributeInstance]]
    ) -> ChangeSet:
        return self._change_existing(
            tenant, entity_id, lambda current, now: updates.merge_entity(current, patch, now)
        )

    def patch_attribute(
        self, tenant: str, entity_id: str, attr: str, fragment: AttributeInstance
    ) -> ChangeSet:
        return self._change_existing(
            tenant,
            entity_id,
            lambda current, now: updates.patch_attribute(current, attr, fragment, now),
        )

    def delete_attribute(
        self,
        tenant: str,
        entity_id: str,
        attr: str,
        *,
        dataset_id: str | None = None,
        delete_all: bool = False,
    ) -> None:
        self._change_existing(
            tenant,
            entity_id,
            lambda current, now: updates.delete_attribute(
                current, attr, now, dataset_id=dataset_id, delete_all=delete_all
            ),
        )

    def delete(self, tenant: str, entity_id: str) -> None:
        sink = self._sink(tenant)
        with self.store.transaction(tenant) as tx:
            current = self._current(tx, entity_id)
            tx.delete(entity_id)
            if sink is not None:
                sink(tx, [EntityWrite(current, None, frozenset(_attribute_names(current)))])

    # -- batch operations ----------------------------------------------------------------------
    def batch_create(self, tenant: str, entities: Sequence[EntityDoc]) -> BatchResult:
        return self._batch(tenant, entities, "create")

    def batch_upsert(
        self,
        tenant: str,
        entities: Sequence[EntityDoc],
        *,
        mode: Literal["replace", "update"] = "replace",
    ) -> BatchResult:
        """Create the new ones; replace (or, with ``update``, append attributes of) the others.
        One transaction for the whole batch: this is the fast ingest path."""
        return self._batch(tenant, entities, "upsert-" + mode)

    def batch_update(
        self, tenant: str, entities: Sequence[EntityDoc], *, overwrite: bool = True
    ) -> BatchResult:
        return self._batch(tenant, entities, "update" if overwrite else "update-noOverwrite")

    def batch_delete(self, tenant: str, entity_ids: Sequence[str]) -> BatchResult:
        result = BatchResult()
        sink = self._sink(tenant)
        with self.store.transaction(tenant) as tx:
            existing = tx.get_for_update(list(dict.fromkeys(entity_ids)))
            deleted: set[str] = set()
            for entity_id in entity_ids:
                if entity_id not in existing or entity_id in deleted:
                    result.errors.append(BatchError(entity_id, _not_found(entity_id)))
                    continue
                tx.delete(entity_id)
                deleted.add(entity_id)
                result.success.append(entity_id)
            if sink is not None and deleted:
                sink(
                    tx,
                    [
                        EntityWrite(doc, None, frozenset(_attribute_names(doc)))
                        for entity_id, doc in existing.items()
                        if entity_id in deleted
                    ],
                )
        return result

    def _batch(self, tenant: str, entities: Sequence[EntityDoc], operation: str) -> BatchResult:
        """Every batch write: one transaction, one ``get_for_update`` for all ids, each entity
        computed in memory (later entries with the same id see the earlier ones), every
        document written once at the end with all history rows in one call."""
        result = BatchResult()
        now = utc_now()
        ids: list[str] = []
        for entity in entities:
            entity_id = entity.get("id")
            if isinstance(entity_id, str) and entity_id:
                ids.append(entity_id)
        sink = self._sink(tenant)
        writes: list[EntityWrite] = []
        with _cyclic_gc_paused(), self.store.transaction(tenant) as tx:
            existing = tx.get_for_update(list(dict.fromkeys(ids))) if ids else {}
            documents: dict[str, EntityDoc] = dict(existing)
            new_ids: set[str] = set()
            changed: dict[str, None] = {}
            history: list[HistoryRow] = []
            for entity in entities:
                raw_id = entity.get("id")
                entity_id = raw_id if isinstance(raw_id, str) else ""
                try:
                    if not entity_id:
                        raise BadRequestData("the entity has no id")
                    change = self._apply(operation, documents.get(entity_id), entity, now)
                except CetateError as error:
                    result.errors.append(BatchError(entity_id, error))
                    continue
                before = documents.get(entity_id)
                if before is None:
                    new_ids.add(entity_id)
                    result.created.append(entity_id)
                if sink is not None:
                    write = _write_of(before, change)
                    if write.changed:
                        writes.append(write)
                documents[entity_id] = change.entity
                changed[entity_id] = None
                history.extend(updates.history_rows(change))
                result.success.append(entity_id)
            for entity_id in changed:
                if entity_id in new_ids:
                    tx.insert(documents[entity_id])
                else:
                    tx.replace(documents[entity_id])
            if history:
                tx.append_history(history)
            if sink is not None and writes:
                sink(tx, writes)
        return result

    @staticmethod
    def _apply(
        operation: str, current: EntityDoc | None, entity: EntityDoc, now: datetime
    ) -> ChangeSet:
        entity_id = str(entity["id"])
        if operation == "create":
            if current is not None:
                raise AlreadyExists(f"entity {entity_id} already exists", entityId=entity_id)
            return updates.create_entity(entity, now)
        if operation.startswith("upsert-"):
            if current is None:
                return updates.create_entity(entity, now)
            if operation == "upsert-replace":
                return updates.replace_entity(current, entity, now)
            return updates.append_attributes(
                _merge_types(current, entity), attributes_of(entity), now, overwrite=True
            )
        # batch update: append attributes of existing entities
        if current is None:
            raise _not_found(entity_id)
        change = updates.append_attributes(
            current, attributes_of(entity), now, overwrite=operation == "update"
        )
        return change
