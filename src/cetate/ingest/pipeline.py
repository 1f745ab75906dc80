"""The ingest pipeline: one device message (MQTT or HTTP) to stored attributes or a dead letter.

:meth:`IngestPipeline.ingest` is the one path every device message takes:

1. the per-device rate limit (a token bucket; over it → dead letter ``rate_limited``);
2. the device's record and its profile (missing → ``unknown_device`` / ``unknown_profile``);
3. :func:`~cetate.ingest.profiles.map_payload` (rejected → dead letter with the first
   rejection's reason code and every rejection in the detail);
4. duplicate suppression (below), then one :meth:`~cetate.entities.EntityService.batch_upsert`
   for all readings of the message, in payload order, creating the entity first when the
   profile says so (entity missing and no creation → ``unknown_entity``).

It returns only when the readings or the dead letter are committed, so the MQTT subscriber
acknowledges a message only after it is stored. A store that is unavailable raises
(:class:`~cetate.errors.StoreUnavailable`): the message is then not acknowledged and the broker
delivers it again. Any other failure of one message is dead-lettered (``internal_error``) so
one device's bad input can never stop the others.

**Duplicates.** A redelivered MQTT message, or a device that resends, carries the same readings
again. A value is skipped when the entity's current instance of that attribute (same
``datasetId``) has the same ``observedAt`` and the same value — so the same reading is stored
once. Readings of one device are processed in arrival order (a per-device lock). When a
message has readings no newer than the current instances (a resent batch, or an older message
redelivered after a newer one), the history between their observedAt times is read once and
readings already in it are skipped too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from cetate.entities import EntityService
from cetate.errors import BadRequestData, CetateError, ResourceNotFound, StoreUnavailable
from cetate.ingest.devices.service import DEVICE_KIND, PROFILE_KIND
from cetate.ingest.mqtt.subscriber import ReceivedMessage
from cetate.ingest.profiles import DeviceProfile, MappingResult, load_profile, map_payload
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import VALUE_KEYS, AttributeInstance, EntityDoc
from cetate.ngsi.timestamps import parse_datetime, utc_now
from cetate.store.base import ContextStore, EntityQuery, TemporalQuery

logger = logging.getLogger(__name__)

Source = Literal["mqtt", "http"]
Status = Literal["stored", "duplicate", "rejected"]

PIPELINE_REASONS: Final = (
    "rate_limited",
    "unknown_device",
    "unknown_profile",
    "unknown_entity",
    "store_rejected",
    "internal_error",
)
"""Reason codes of the pipeline itself, next to the mapping's
(:data:`cetate.ingest.profiles.REASON_CODES`)."""

MAX_DETAIL_CHARS: Final = 4000
_MAX_LISTED_REJECTIONS: Final = 20


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What became of one message."""

    status: Status
    reason: str | None = None
    """the reason code when rejected"""
    detail: str = ""
    readings: int = 0
    """readings in the message (accepted ones)"""
    values: int = 0
    """attribute values written"""
    duplicates: int = 0
    """values skipped as already stored"""
    entity_id: str | None = None
    created: bool = False
    """the target entity was created by this message"""
    dead_letter_id: int | None = None

    @property
    def accepted(self) -> bool:
        return self.status != "rejected"


class TokenBucket:
    """``rate`` tokens per second, at most ``burst``; one token per message."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    """A token bucket per device, in memory (per process), least recently used devices
    forgotten past ``max_devices`` (a forgotten device starts with a full bucket)."""

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_devices: int = 100_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max = max_devices
        self._lock = threading.Lock()
        self._buckets: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()

    def allow(self, tenant: str, device: str) -> bool:
        key = (tenant, device)
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = TokenBucket(self.rate, self.burst, now)
                self._buckets[key] = bucket
                if len(self._buckets) > self._max:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
            return bucket.take(now)


def _essence(instance: AttributeInstance) -> tuple[Any, ...]:
    kind = instance.get("type")
    value_key = VALUE_KEYS.get(str(kind), "value")
    return (
        kind,
        instance.get(value_key),
        instance.get("observedAt"),
        instance.get("unitCode"),
    )


def _older_observations(current: EntityDoc | None, documents: list[EntityDoc]) -> list[str]:
    """observedAt values of instances in ``documents`` no newer than the current instance of
    their attribute: a resent older message, to be checked against the history."""
    if current is None:
        return []
    newest: dict[tuple[str, str | None], str] = {}
    for name, instances in current.items():
        if isinstance(instances, list):
            for instance in instances:
                if isinstance(instance, dict) and isinstance(instance.get("observedAt"), str):
                    newest[(name, instance.get("datasetId"))] = instance["observedAt"]
    older: list[str] = []
    for document in documents:
        for name, instances in document.items():
            if name in ("id", "type") or not isinstance(instances, list):
                continue
            for instance in instances:
                observed = instance.get("observedAt")
                latest = newest.get((name, instance.get("datasetId")))
                if isinstance(observed, str) and latest is not None and observed <= latest:
                    older.append(observed)
    return older


def _suppress_duplicates(
    current: EntityDoc | None,
    documents: list[EntityDoc],
    keep_first: bool,
    history: set[tuple[str, str | None, tuple[Any, ...]]] | None = None,
) -> tuple[list[EntityDoc], int]:
    """``documents`` without the attribute instances that equal (same observedAt and value)
    the instance they would replace, seen in order, or an instance of ``history``; how many
    were dropped."""
    seen = history or set()
    state: dict[tuple[str, str | None], tuple[Any, ...]] = {}
    if current is not None:
        for name, instances in current.items():
            if isinstance(instances, list):
                for instance in instances:
                    if isinstance(instance, dict):
                        state[(name, instance.get("datasetId"))] = _essence(instance)
    kept: list[EntityDoc] = []
    dropped = 0
    for position, document in enumerate(documents):
        out: EntityDoc = {}
        has_attributes = False
        for name, value in document.items():
            if name in ("id", "type") or not isinstance(value, list):
                out[name] = value
                continue
            fresh: list[AttributeInstance] = []
            for instance in value:
                slot = (name, instance.get("datasetId"))
                essence = _essence(instance)
                if state.get(slot) == essence or (*slot, essence) in seen:
                    dropped += 1
                    continue
                state[slot] = essence
                fresh.append(instance)
            if fresh:
                out[name] = fresh
                has_attributes = True
        if has_attributes or (keep_first and position == 0):
            kept.append(out)
    return kept, dropped


def _detail(result: MappingResult) -> str:
    lines = [
        (f"reading {r.reading}: " if r.reading is not None else "")
        + (f"{r.key}: " if r.key else "")
        + f"[{r.reason}] {r.message}"
        for r in result.rejections[:_MAX_LISTED_REJECTIONS]
    ]
    if len(result.rejections) > _MAX_LISTED_REJECTIONS:
        lines.append(f"… and {len(result.rejections) - _MAX_LISTED_REJECTIONS} more")
    return "\n".join(lines)[:MAX_DETAIL_CHARS]


@dataclass
class IngestCounters:
    """What the pipeline did, since the process started."""

    messages: Counter[str] = field(default_factory=Counter)
    """by status: stored, duplicate, rejected"""
    rejected: Counter[str] = field(default_factory=Counter)
    """by reason code"""
    values: int = 0
    duplicates: int = 0


class IngestPipeline:
    """Device messages to stored attributes or dead letters. ``ingest`` is synchronous and
    thread-safe; ``handle_mqtt`` is the MQTT subscriber's handler."""

    def __init__(
        self,
        store: ContextStore,
        entities: EntityService,
        resolver: ContextResolver,
        *,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.store = store
        self.entities = entities
        self.resolver = resolver
        self.rate_limiter = rate_limiter
        self.counters = IngestCounters()
        self._counts_lock = threading.Lock()
        self._device_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._device_waiters: Counter[tuple[str, str]] = Counter()

    # ---------------------------------------------------------------------------------------
    def ingest(
        self,
        tenant: str,
        device: str,
        payload: bytes,
        received_at: datetime,
        source: Source,
    ) -> IngestOutcome:
        """Store one message's readings, or dead-letter it; returns when committed."""
        if self.rate_limiter is not None and not self.rate_limiter.allow(tenant, device):
            outcome = IngestOutcome(
                "rejected",
                "rate_limited",
                f"device {device!r} sent more than {self.rate_limiter.rate:g} messages/s "
                f"(burst {self.rate_limiter.burst:g})",
            )
        else:
            outcome = self.process(tenant, device, payload, received_at)
        if outcome.status == "rejected":
            dead_letter_id = self.store.add_dead_letter(
                tenant,
                source=source,
                device=device,
                received_at=received_at,
                reason=outcome.reason or "internal_error",
                detail=outcome.detail,
                payload=payload,
            )
            outcome = IngestOutcome(
                "rejected",
                outcome.reason,
                outcome.detail,
                entity_id=outcome.entity_id,
                dead_letter_id=dead_letter_id,
            )
        self._count(outcome)
        return outcome

    def replay(self, tenant: str, dead_letter_id: int) -> IngestOutcome:
        """Run a dead letter through the pipeline again, with the device's current profile
        (no rate limit, no new dead letter); marks it replayed when it is stored."""
        letter = self.store.get_dead_letter(tenant, dead_letter_id)
        if letter is None:
            raise ResourceNotFound(f"tenant {tenant!r} has no dead letter {dead_letter_id}")
        if letter.replayed_at is not None:
            raise BadRequestData(f"dead letter {dead_letter_id} was already replayed")
        if letter.device is None:
            raise BadRequestData(f"dead letter {dead_letter_id} names no device")
        outcome = self.process(tenant, letter.device, letter.payload, letter.received_at)
        if outcome.accepted:
            self.store.mark_replayed(tenant, dead_letter_id, utc_now())
        self._count(outcome)
        return outcome

    def process(
        self, tenant: str, device: str, payload: bytes, received_at: datetime
    ) -> IngestOutcome:
        """The pipeline without rate limit and dead letter: stores or says why not."""
        try:
            return self._process(tenant, device, payload, received_at)
        except StoreUnavailable:
            raise
        except CetateError as exc:
            return IngestOutcome("rejected", "store_rejected", exc.detail[:MAX_DETAIL_CHARS])
        except Exception as exc:
            logger.exception("ingest of a message of %s/%s failed", tenant, device)
            return IngestOutcome(
                "rejected", "internal_error", f"{type(exc).__name__}: {exc}"[:MAX_DETAIL_CHARS]
            )

    def _process(
        self, tenant: str, device: str, payload: bytes, received_at: datetime
    ) -> IngestOutcome:
        record = self.store.get_record(tenant, DEVICE_KIND, device)
        if record is None:
            return IngestOutcome(
                "rejected", "unknown_device", f"tenant {tenant!r} has no device {device!r}"
            )
        profile_name = str(record.data.get("profile", ""))
        profile_record = self.store.get_record(tenant, PROFILE_KIND, profile_name)
        if profile_record is None:
            return IngestOutcome(
                "rejected",
                "unknown_profile",
                f"device {device!r} is assigned profile {profile_name!r}, which does not exist",
            )
        profile: DeviceProfile = load_profile(profile_record.data)
        context = profile.resolve_context(self.resolver)
        result = map_payload(profile, device, payload, received_at, context)
        if not result.accepted:
            return IngestOutcome(
                "rejected", result.reason, _detail(result), entity_id=result.entity_id
            )
        override = record.data.get("entity_id")
        target = str(override) if override else result.entity_id
        assert target is not None
        fragments = [{**f, "id": target} for f in result.entity_fragments()]
        current = self.store.get_entity(tenant, target)
        create = current is None
        if create:
            if result.new_entity is None:
                return IngestOutcome(
                    "rejected",
                    "unknown_entity",
                    f"entity {target} does not exist and profile {profile.name!r} does not "
                    "create entities on the first message (createEntityOnFirstMessage)",
                    entity_id=target,
                )
            fragments = [{**result.new_entity, "id": target}, *fragments[1:]]
        stored = self._stored_history(tenant, target, current, fragments)
        documents, duplicates = _suppress_duplicates(
            current, fragments, keep_first=create, history=stored
        )
        total = result.value_count
        if not documents:
            return IngestOutcome(
                "duplicate",
                readings=len(result.readings),
                duplicates=duplicates,
                entity_id=target,
            )
        written = self.entities.batch_upsert(tenant, documents, mode="update")
        if written.errors:
            error = written.errors[0].error
            return IngestOutcome("rejected", "store_rejected", error.detail, entity_id=target)
        return IngestOutcome(
            "stored",
            readings=len(result.readings),
            values=total - duplicates,
            duplicates=duplicates,
            entity_id=target,
            created=bool(written.created),
        )

    def _stored_history(
        self, tenant: str, target: str, current: EntityDoc | None, fragments: list[EntityDoc]
    ) -> set[tuple[str, str | None, tuple[Any, ...]]]:
        """The stored history instances that a resent older message could repeat (one
        temporal query, only when the message has readings no newer than the current ones)."""
        older = _older_observations(current, fragments)
        if not older:
            return set()
        start = parse_datetime(min(older))
        end = parse_datetime(max(older)) + timedelta(milliseconds=1)
        names = frozenset(
            name
            for document in fragments
            for name, value in document.items()
            if name not in ("id", "type") and isinstance(value, list)
        )
        query = TemporalQuery(
            entities=EntityQuery(ids=(target,)),
            timerel="between",
            time_at=start,
            end_time_at=end,
            attrs=names,
        )
        found: set[tuple[str, str | None, tuple[Any, ...]]] = set()
        for entity in self.store.query_temporal(tenant, query):
            for name, instances in entity.history.items():
                for instance in instances:
                    found.add((name, instance.get("datasetId"), _essence(instance)))
        return found

    def _count(self, outcome: IngestOutcome) -> None:
        with self._counts_lock:
            counters = self.counters
            counters.messages[outcome.status] += 1
            if outcome.reason is not None:
                counters.rejected[outcome.reason] += 1
            counters.values += outcome.values
            counters.duplicates += outcome.duplicates

    # ---------------------------------------------------------------------------------------
    @asynccontextmanager
    async def _in_order(self, tenant: str, device: str) -> AsyncIterator[None]:
        """One message of a device at a time, in arrival order (asyncio.Lock is FIFO)."""
        key = (tenant, device)
        lock = self._device_locks.get(key)
        if lock is None:
            lock = self._device_locks[key] = asyncio.Lock()
        self._device_waiters[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._device_waiters[key] -= 1
            if self._device_waiters[key] <= 0:
                del self._device_waiters[key]
                self._device_locks.pop(key, None)

    async def handle_mqtt(self, message: ReceivedMessage) -> None:
        """The MQTT subscriber's handler: returns when the message is stored or
        dead-lettered; raises only when the store is unavailable (no PUBACK then)."""
        async with self._in_order(message.tenant, message.device):
            await asyncio.to_thread(
                self.ingest,
                message.tenant,
                message.device,
                message.payload,
                message.received_at,
                "mqtt",
            )

    async def ingest_async(
        self, tenant: str, device: str, payload: bytes, received_at: datetime, source: Source
    ) -> IngestOutcome:
        """:meth:`ingest` in a worker thread, in order with the device's other messages."""
        async with self._in_order(tenant, device):
            return await asyncio.to_thread(
                self.ingest, tenant, device, payload, received_at, source
            )
