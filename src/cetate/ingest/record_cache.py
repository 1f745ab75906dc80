"""An in-process cache of the registry records the ingest pipeline reads for every message:
devices and device profiles (and what is derived from a record, such as a loaded profile).

Without it a group commit reads each of its devices and their profiles from the database —
one query each, for every batch. With it a batch costs one query per kind
(:meth:`RecordCache.sync`) while nothing changed.

**Why a change is seen at once.** The cache is tied to the registry's *generation* of each
kind (:meth:`~cetate.store.base.ContextStore.records_generation`), a number the store increases
in the same transaction as every put or delete of a record of that kind. :meth:`sync`, called
at the start of every batch, reads the current generations; a kind whose generation differs
from the one its entries were read at is emptied, so every batch that starts after a change has
committed — in this process or in another sharing the database — reads the record again.
Entries are stored with the generation read *before* the lookup and dropped if it has moved on
since, so a slow lookup can never put back a record older than a change. Missing records are
cached too (a flood from an unregistered device does not query each message); registering the
device increases the generation and empties them. At most ``max_entries`` are kept per kind,
least recently used first out. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, TypeVar, cast

from cetate.store.base import ContextStore, Record

DEFAULT_MAX_ENTRIES: Final = 100_000

T = TypeVar("T")


@dataclass(slots=True)
class _Kind:
    """The cached records of one kind, read at ``generation``."""

    generation: int | None = None
    records: OrderedDict[tuple[str, str], Record | None] = field(default_factory=OrderedDict)
    derived: dict[tuple[str, str], object] = field(default_factory=dict)

    def clear(self, generation: int) -> None:
        self.generation = generation
        self.records.clear()
        self.derived.clear()


class RecordCache:
    """Records of ``kinds`` by ``(tenant, key)``, emptied per kind whenever its
    ``records_generation`` changes. Call :meth:`sync` before a series of lookups."""

    def __init__(
        self,
        store: ContextStore,
        kinds: Iterable[str],
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._store = store
        self._max_entries = max_entries
        self._kinds = {kind: _Kind() for kind in kinds}
        if not self._kinds:
            raise ValueError("name at least one record kind")
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def sync(self) -> None:
        """Read the generation of every kind (one query each); empty the kinds that changed."""
        current = {kind: self._store.records_generation(kind) for kind in self._kinds}
        with self._lock:
            for kind, generation in current.items():
                cached = self._kinds[kind]
                if cached.generation != generation:
                    cached.clear(generation)

    def get(self, tenant: str, kind: str, key: str) -> Record | None:
        """The record (cached, or read from the store and cached), or None when missing."""
        cached = self._kind(kind)
        slot = (tenant, key)
        with self._lock:
            if slot in cached.records:
                cached.records.move_to_end(slot)
                self.hits += 1
                return cached.records[slot]
            generation = cached.generation
            self.misses += 1
        record = self._store.get_record(tenant, kind, key)
        with self._lock:
            if generation is not None and cached.generation == generation:
                cached.records[slot] = record
                while len(cached.records) > self._max_entries:
                    evicted, _ = cached.records.popitem(last=False)
                    cached.derived.pop(evicted, None)
        return record

    def derive(
        self, tenant: str, kind: str, key: str, build: Callable[[Record], T]
    ) -> tuple[Record, T] | None:
        """The record and ``build(record)``, built once per cached record (a loaded profile);
        None when the record is missing. ``build`` may raise; nothing is cached then."""
        cached = self._kind(kind)
        record = self.get(tenant, kind, key)
        if record is None:
            return None
        slot = (tenant, key)
        with self._lock:
            entry = cached.derived.get(slot)
            if entry is not None:
                built_from, value = cast(tuple[Record, T], entry)
                if built_from is record:
                    return record, value
        value = build(record)
        with self._lock:
            if cached.records.get(slot) is record:
                cached.derived[slot] = (record, value)
        return record, value

    def __len__(self) -> int:
        with self._lock:
            return sum(len(k.records) for k in self._kinds.values())

    def _kind(self, kind: str) -> _Kind:
        try:
            return self._kinds[kind]
        except KeyError:
            raise ValueError(f"record kind {kind!r} is not cached here") from None
