"""An in-process cache of device credential records, so that a flood of messages does not cost
one registry (database) lookup each.

What is cached are :class:`~cetate.ingest.devices.credentials.DeviceCredentialRecord` values —
hashes, never secrets. A hit still hashes the presented secret and compares it in constant
time with the cached hash (SHA-256 of a 40-character secret: well under a microsecond), so the
cache never accepts anything the registry would refuse, and a device that floods with a wrong
secret is refused without touching the database.

**Why revocation is immediate.** The cache is tied to the registry's *generation*, a number the
registry increases in the same transaction as every credential change (issue, rotate, revoke,
certificate change, delete). Before every lookup, :meth:`VerifiedDeviceCache.sync` reads the
current generation; when it differs from the one the cache was filled at, the whole cache is
emptied and the next lookups go to the registry. So any verification that starts after a
rotation or revocation has committed — in this process or any other sharing the registry —
sees it. Entries read from the registry are stored with the generation read *before* the
lookup; if the generation moved on meanwhile the entry is dropped, so a slow lookup can never
put a pre-revocation record back. (Changes are rare next to messages, so emptying the whole
cache is cheap overall and simpler than per-device bookkeeping.) In the same process,
:class:`~cetate.ingest.devices.credentials.DeviceCredentials` also invalidates the device
directly.

Entries also expire after ``ttl_seconds`` (defence in depth, and memory hygiene), and at most
``max_entries`` are kept, least recently used first out. Unknown devices are not cached, so
random keys cannot fill it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from cetate.ingest.devices.credentials import DeviceCredentialRecord

DEFAULT_MAX_ENTRIES: Final = 100_000
DEFAULT_TTL_SECONDS: Final = 300.0


class VerifiedDeviceCache:
    """LRU + TTL cache of credential records by ``(tenant, device)`` and by token key,
    emptied whenever ``generation()`` changes. Thread-safe."""

    def __init__(
        self,
        generation: Callable[[], int],
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._generation = generation
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], tuple[DeviceCredentialRecord, float]] = (
            OrderedDict()
        )
        self._by_key: dict[str, tuple[str, str]] = {}
        self._seen: int | None = None
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def sync(self) -> int:
        """Read the registry's generation, empty the cache if it changed, and return it (pass
        it to :meth:`put` with what you then read from the registry)."""
        current = self._generation()
        with self._lock:
            if current != self._seen:
                self._entries.clear()
                self._by_key.clear()
                self._seen = current
        return current

    def get_by_device(self, tenant: str, device: str) -> DeviceCredentialRecord | None:
        """The cached record of a device, or None (call :meth:`sync` first)."""
        with self._lock:
            return self._get((tenant, device))

    def get_by_token_key(self, token_key: str) -> DeviceCredentialRecord | None:
        """The cached record with this token key, or None (call :meth:`sync` first)."""
        with self._lock:
            slot = self._by_key.get(token_key)
            record = self._get(slot) if slot is not None else None
            if slot is None:
                self.misses += 1
            return record

    def put(self, record: DeviceCredentialRecord, generation: int) -> None:
        """Cache a record read from the registry at ``generation`` (the value :meth:`sync`
        returned before the read); ignored if the generation has moved on since."""
        with self._lock:
            if generation != self._seen:
                return
            slot = (record.tenant, record.device)
            self._remove(slot)
            self._entries[slot] = (record, self._clock() + self._ttl)
            self._by_key[record.token_key] = slot
            while len(self._entries) > self._max_entries:
                oldest, (evicted, _) = self._entries.popitem(last=False)
                self._drop_key(evicted.token_key, oldest)

    def invalidate(self, tenant: str, device: str) -> None:
        """Forget one device."""
        with self._lock:
            self._remove((tenant, device))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_key.clear()

    def _get(self, slot: tuple[str, str]) -> DeviceCredentialRecord | None:
        entry = self._entries.get(slot)
        if entry is None:
            self.misses += 1
            return None
        record, expires = entry
        if self._clock() >= expires:
            self._remove(slot)
            self.misses += 1
            return None
        self._entries.move_to_end(slot)
        self.hits += 1
        return record

    def _remove(self, slot: tuple[str, str]) -> None:
        entry = self._entries.pop(slot, None)
        if entry is not None:
            self._drop_key(entry[0].token_key, slot)

    def _drop_key(self, token_key: str, slot: tuple[str, str]) -> None:
        if self._by_key.get(token_key) == slot:
            del self._by_key[token_key]
