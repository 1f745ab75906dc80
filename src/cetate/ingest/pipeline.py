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

**Group commit.** The async entry points (:meth:`IngestPipeline.handle_mqtt`,
:meth:`IngestPipeline.ingest_async`) queue the message; a group commit takes the queued
messages (up to ``max_batch``, waiting up to ``max_delay`` for more), runs each through the
steps above in arrival order in one worker thread, and writes all their accepted readings with
one ``batch_upsert`` per tenant (one transaction); each message's outcome is returned (→ PUBACK)
only after that commit. Per-entity errors of the batch write are mapped back to the messages
that wrote that entity (``store_rejected``); a batch write that raises is redone one message at
a time; a store that is unavailable fails every message of the commit.

**What a commit reads.** Device and profile records, and loaded profiles, come from
:attr:`IngestPipeline.records` (:class:`~cetate.ingest.record_cache.RecordCache`: two
generation numbers per commit while the registry is unchanged, so a changed profile applies
from the next commit); the commit's target entities are read in one query per tenant; then
each entity's :class:`_EntityState` is built once and updated by every message taken.

**Duplicates.** A redelivered MQTT message, or a device that resends, carries the same readings
again. A value is skipped when the entity's current instance of that attribute (same
``datasetId``) has the same ``observedAt`` and the same value — so the same reading is stored
once. Readings of one device are processed in arrival order (the queue of group commits). When a
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final, Literal, TypeVar

from cetate.entities import EntityService
from cetate.errors import BadRequestData, CetateError, ResourceNotFound, StoreUnavailable
from cetate.ingest.devices.service import DEVICE_KIND, PROFILE_KIND
from cetate.ingest.mqtt.subscriber import ReceivedMessage
from cetate.ingest.profiles import DeviceProfile, MappingResult, load_profile, map_payload
from cetate.ingest.record_cache import RecordCache
from cetate.ngsi.jsonld import ContextResolver, LdContext
from cetate.ngsi.model import VALUE_KEYS, AttributeInstance, EntityDoc
from cetate.ngsi.timestamps import parse_datetime, utc_now
from cetate.store.base import ContextStore, EntityQuery, Record, TemporalQuery

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


_Slot = tuple[str, str | None]
"""(attribute, datasetId): one instance of an entity's attribute"""
_HistoryKey = tuple[str, str | None, tuple[Any, ...]]
"""an attribute instance: its slot and essence"""


@dataclass(slots=True)
class _EntityState:
    """What duplicate suppression needs of an entity, per attribute instance: the essence of
    the current instance and its observedAt; and the instances a group commit writes. Built
    once per entity and batch, then updated by each message taken, so a message costs what
    it carries, not what the entity holds."""

    exists: bool
    latest: dict[_Slot, tuple[Any, ...]] = field(default_factory=dict)
    newest: dict[_Slot, str] = field(default_factory=dict)
    """observedAt of the current instance, when it has one"""
    written: set[_HistoryKey] = field(default_factory=set)

    @classmethod
    def of(cls, current: EntityDoc | None) -> _EntityState:
        state = cls(exists=current is not None)
        if current is not None:
            for name, instances in current.items():
                if isinstance(instances, list):
                    for instance in instances:
                        if isinstance(instance, dict):
                            slot = (name, instance.get("datasetId"))
                            state.latest[slot] = _essence(instance)
                            observed = instance.get("observedAt")
                            if isinstance(observed, str):
                                state.newest[slot] = observed
        return state

    def older_observations(self, documents: list[EntityDoc]) -> list[str]:
        """observedAt values of instances in ``documents`` no newer than the current instance
        of their attribute: a resent older message, to be checked against the history."""
        older: list[str] = []
        newest = self.newest
        if not newest:
            return older
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

    def suppress_duplicates(
        self, documents: list[EntityDoc], keep_first: bool, history: set[_HistoryKey]
    ) -> tuple[list[EntityDoc], int]:
        """``documents`` without the attribute instances that equal (same observedAt and
        value) the instance they would replace, seen in order, or an instance of ``history``
        or of :attr:`written`; how many were dropped. The state is not changed (see
        :meth:`take`)."""
        local: dict[_Slot, tuple[Any, ...]] = {}
        latest, written = self.latest, self.written
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
                    previous = local[slot] if slot in local else latest.get(slot)
                    seen = (*slot, essence)
                    if previous == essence or seen in written or seen in history:
                        dropped += 1
                        continue
                    local[slot] = essence
                    fresh.append(instance)
                if fresh:
                    out[name] = fresh
                    has_attributes = True
            if has_attributes or (keep_first and position == 0):
                kept.append(out)
        return kept, dropped

    def take(self, documents: list[EntityDoc]) -> None:
        """A message of the batch writes ``documents``: they are the current instances now."""
        self.exists = True
        for document in documents:
            for name, value in document.items():
                if name in ("id", "type") or not isinstance(value, list):
                    continue
                for instance in value:
                    slot = (name, instance.get("datasetId"))
                    essence = _essence(instance)
                    self.latest[slot] = essence
                    self.written.add((*slot, essence))
                    observed = instance.get("observedAt")
                    if isinstance(observed, str):
                        self.newest[slot] = observed
                    else:
                        self.newest.pop(slot, None)


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


_Step = TypeVar("_Step")


@dataclass(slots=True)
class _Prepared:
    """A message that passed every check: what it writes."""

    target: str
    documents: list[EntityDoc]
    readings: int
    values: int
    duplicates: int
    create: bool

    def outcome(self, *, created: bool) -> IngestOutcome:
        return IngestOutcome(
            "stored",
            readings=self.readings,
            values=self.values,
            duplicates=self.duplicates,
            entity_id=self.target,
            created=created,
        )


@dataclass(slots=True)
class _Overlay:
    """A group commit's view of its entities, per (tenant, entity): as stored before it (read
    in one query per tenant) and, once a message of the batch targets one, its
    :class:`_EntityState` with what the messages already taken will write."""

    entities: dict[tuple[str, str], _EntityState] = field(default_factory=dict)
    stored: dict[tuple[str, str], EntityDoc | None] = field(default_factory=dict)
    """the batch's entities as stored before it"""


_Device = IngestOutcome | tuple[Record, tuple[DeviceProfile, LdContext]]
"""a device's record and loaded profile, or why it has none"""


@dataclass(slots=True)
class _Mapped:
    """A message mapped by its profile, before duplicate suppression."""

    tenant: str
    target: str
    fragments: list[EntityDoc]
    result: MappingResult
    profile: DeviceProfile


@dataclass(slots=True)
class _Waiting:
    """A message waiting for the next group commit."""

    tenant: str
    device: str
    payload: bytes
    received_at: datetime
    source: Source
    future: asyncio.Future[IngestOutcome]


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
        max_batch: int = 500,
        max_delay: float = 0.002,
    ) -> None:
        if max_batch < 1 or max_delay < 0:
            raise ValueError("max_batch must be at least 1 and max_delay not negative")
        self.store = store
        self.entities = entities
        self.resolver = resolver
        self.rate_limiter = rate_limiter
        self.counters = IngestCounters()
        self._counts_lock = threading.Lock()
        self.records = RecordCache(store, (DEVICE_KIND, PROFILE_KIND))
        """device and profile records (and loaded profiles), kept between group commits"""
        self.max_batch = max_batch
        """most messages in one group commit"""
        self.max_delay = max_delay
        """seconds a group commit waits for more messages when it has fewer than max_batch"""
        self._waiting: list[_Waiting] = []
        self._flusher: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self.commits = 0
        """group commits so far (each one batch write per tenant)"""

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
        outcome = self._rate_limited(tenant, device)
        if outcome is None:
            outcome = self.process(tenant, device, payload, received_at)
        outcome = self._settle(tenant, device, payload, received_at, source, outcome)
        self._count(outcome)
        return outcome

    def _rate_limited(self, tenant: str, device: str) -> IngestOutcome | None:
        if self.rate_limiter is None or self.rate_limiter.allow(tenant, device):
            return None
        return IngestOutcome(
            "rejected",
            "rate_limited",
            f"device {device!r} sent more than {self.rate_limiter.rate:g} messages/s "
            f"(burst {self.rate_limiter.burst:g})",
        )

    def _settle(
        self,
        tenant: str,
        device: str,
        payload: bytes,
        received_at: datetime,
        source: Source,
        outcome: IngestOutcome,
    ) -> IngestOutcome:
        """A rejected outcome with its dead letter stored; any other as it is."""
        if outcome.status != "rejected":
            return outcome
        dead_letter_id = self.store.add_dead_letter(
            tenant,
            source=source,
            device=device,
            received_at=received_at,
            reason=outcome.reason or "internal_error",
            detail=outcome.detail,
            payload=payload,
        )
        return IngestOutcome(
            "rejected",
            outcome.reason,
            outcome.detail,
            entity_id=outcome.entity_id,
            dead_letter_id=dead_letter_id,
        )

    def ingest_batch(self, items: list[_Waiting]) -> list[IngestOutcome]:
        """:meth:`ingest` for many messages, in order, with one
        :meth:`~cetate.entities.EntityService.batch_upsert` (one transaction) per tenant for
        all accepted readings: the group commit. Each message gets the outcome it would get
        alone. Raises (nothing is acknowledged then) when the store is unavailable."""
        outcomes: list[IngestOutcome | None] = [None] * len(items)
        prepared: dict[int, _Prepared] = {}
        by_tenant: dict[str, list[int]] = {}
        overlay = _Overlay()
        self.records.sync()
        # 1. rate limit and mapping (records and profiles from the cache), in arrival order
        mapped: dict[int, _Mapped] = {}
        devices: dict[tuple[str, str], _Device] = {}
        for index, item in enumerate(items):
            early = self._rate_limited(item.tenant, item.device)
            if early is None:
                mapping = self._guarded(
                    item,
                    partial(
                        self._map, item.tenant, item.device, item.payload, item.received_at, devices
                    ),
                )
                if isinstance(mapping, _Mapped):
                    mapped[index] = mapping
                    continue
                early = mapping
            outcomes[index] = early
        # 2. the batch's entities as stored, one query per tenant
        self._prefetch(overlay, mapped.values())
        # 3. duplicate suppression against what is stored and what earlier messages write
        for index, message in mapped.items():
            done = self._guarded(items[index], partial(self._complete, message, overlay))
            if isinstance(done, _Prepared):
                prepared[index] = done
                by_tenant.setdefault(message.tenant, []).append(index)
            else:
                outcomes[index] = done
        for tenant, indexes in by_tenant.items():
            documents = [d for i in indexes for d in prepared[i].documents]
            try:
                written = self.entities.batch_upsert(tenant, documents, mode="update")
            except StoreUnavailable:
                raise
            except Exception:
                # the whole write failed (nothing committed): one message at a time, so one
                # bad message is dead-lettered alone, as without group commit
                logger.exception("group commit of %d messages failed, one by one", len(indexes))
                for i in indexes:
                    item = items[i]
                    outcomes[i] = self.process(
                        item.tenant, item.device, item.payload, item.received_at
                    )
                continue
            failed = {error.entity_id: error.error for error in written.errors}
            created = set(written.created)
            for i in indexes:
                entry = prepared[i]
                error = failed.get(entry.target)
                if error is not None:
                    outcomes[i] = IngestOutcome(
                        "rejected", "store_rejected", error.detail, entity_id=entry.target
                    )
                else:
                    outcomes[i] = entry.outcome(created=entry.create and entry.target in created)
        self.commits += 1
        settled: list[IngestOutcome] = []
        for item, outcome in zip(items, outcomes, strict=True):
            assert outcome is not None
            outcome = self._settle(
                item.tenant, item.device, item.payload, item.received_at, item.source, outcome
            )
            self._count(outcome)
            settled.append(outcome)
        return settled

    @staticmethod
    def _guarded(item: _Waiting, step: Callable[[], _Step]) -> _Step | IngestOutcome:
        """``step()``, or the outcome of its failure (as :meth:`process`)."""
        try:
            return step()
        except StoreUnavailable:
            raise
        except CetateError as exc:
            return IngestOutcome("rejected", "store_rejected", exc.detail[:MAX_DETAIL_CHARS])
        except Exception as exc:
            logger.exception("ingest of a message of %s/%s failed", item.tenant, item.device)
            return IngestOutcome(
                "rejected", "internal_error", f"{type(exc).__name__}: {exc}"[:MAX_DETAIL_CHARS]
            )

    def _prefetch(self, overlay: _Overlay, mapped: Iterable[_Mapped]) -> None:
        """Read the target entities of a batch, one query per tenant, into ``overlay``. When
        that read fails (but the store is up), each message reads its entity alone."""
        targets: dict[str, dict[str, None]] = {}
        for entry in mapped:
            targets.setdefault(entry.tenant, {})[entry.target] = None
        for tenant, ids in targets.items():
            try:
                found = self.store.get_entities(tenant, list(ids))
            except StoreUnavailable:
                raise
            except Exception:
                logger.exception("reading the %d entities of a group commit failed", len(ids))
                continue
            for entity_id in ids:
                overlay.stored[(tenant, entity_id)] = found.get(entity_id)

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
        if letter.source not in ("mqtt", "http"):
            raise BadRequestData(
                f"dead letter {dead_letter_id} is not a measurement message (source "
                f"{letter.source!r}) and cannot be replayed through the ingest pipeline"
            )
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
        self.records.sync()
        prepared = self._prepare(tenant, device, payload, received_at, None)
        if isinstance(prepared, IngestOutcome):
            return prepared
        written = self.entities.batch_upsert(tenant, prepared.documents, mode="update")
        if written.errors:
            error = written.errors[0].error
            return IngestOutcome(
                "rejected", "store_rejected", error.detail, entity_id=prepared.target
            )
        return prepared.outcome(created=bool(written.created))

    def _prepare(
        self,
        tenant: str,
        device: str,
        payload: bytes,
        received_at: datetime,
        overlay: _Overlay | None,
    ) -> IngestOutcome | _Prepared:
        """Everything of :meth:`_process` but the write: the documents to write, or the
        outcome when there is nothing to write. ``overlay`` holds what earlier messages of the
        same group commit will write (their entities' state and instances), so duplicate
        suppression and entity creation see them as if they were already stored."""
        mapped = self._map(tenant, device, payload, received_at)
        if isinstance(mapped, IngestOutcome):
            return mapped
        return self._complete(mapped, overlay)

    def _map(
        self,
        tenant: str,
        device: str,
        payload: bytes,
        received_at: datetime,
        devices: dict[tuple[str, str], _Device] | None = None,
    ) -> IngestOutcome | _Mapped:
        """The device's record and profile, and the payload mapped by the profile (or why
        not). ``devices`` keeps what a group commit looked up, per device."""
        found = devices.get((tenant, device)) if devices is not None else None
        if found is None:
            found = self._device(tenant, device)
            if devices is not None:
                devices[(tenant, device)] = found
        if isinstance(found, IngestOutcome):
            return found
        record, (profile, context) = found
        result = map_payload(profile, device, payload, received_at, context)
        if not result.accepted:
            return IngestOutcome(
                "rejected", result.reason, _detail(result), entity_id=result.entity_id
            )
        override = record.data.get("entity_id")
        target = str(override) if override else result.entity_id
        assert target is not None
        fragments = [{**f, "id": target} for f in result.entity_fragments()]
        return _Mapped(tenant, target, fragments, result, profile)

    def _device(self, tenant: str, device: str) -> _Device:
        """The device's record and its loaded profile, or why not. Records and loaded
        profiles come from :attr:`records` once it is synced (a group commit), else straight
        from the store."""
        record = self._record(tenant, DEVICE_KIND, device)
        if record is None:
            return IngestOutcome(
                "rejected", "unknown_device", f"tenant {tenant!r} has no device {device!r}"
            )
        profile_name = str(record.data.get("profile", ""))
        loaded = self.records.derive(tenant, PROFILE_KIND, profile_name, self._load_profile)
        if loaded is None:
            return IngestOutcome(
                "rejected",
                "unknown_profile",
                f"device {device!r} is assigned profile {profile_name!r}, which does not exist",
            )
        return record, loaded[1]

    def _load_profile(self, record: Record) -> tuple[DeviceProfile, LdContext]:
        profile = load_profile(record.data)
        return profile, profile.resolve_context(self.resolver)

    def _complete(self, mapped: _Mapped, overlay: _Overlay | None) -> IngestOutcome | _Prepared:
        """Duplicate suppression and entity creation for a mapped message: what it writes."""
        tenant, target, fragments, result = (
            mapped.tenant,
            mapped.target,
            mapped.fragments,
            mapped.result,
        )
        key = (tenant, target)
        state = overlay.entities.get(key) if overlay is not None else None
        if state is None:
            if overlay is not None and key in overlay.stored:
                state = _EntityState.of(overlay.stored[key])
            else:
                state = _EntityState.of(self.store.get_entity(tenant, target))
            if overlay is not None:
                overlay.entities[key] = state
        create = not state.exists
        if create:
            if result.new_entity is None:
                return IngestOutcome(
                    "rejected",
                    "unknown_entity",
                    f"entity {target} does not exist and profile {mapped.profile.name!r} does "
                    "not create entities on the first message (createEntityOnFirstMessage)",
                    entity_id=target,
                )
            fragments = [{**result.new_entity, "id": target}, *fragments[1:]]
        stored = self._stored_history(
            tenant, target, state.older_observations(fragments), fragments
        )
        documents, duplicates = state.suppress_duplicates(fragments, create, stored)
        total = result.value_count
        if not documents:
            return IngestOutcome(
                "duplicate",
                readings=len(result.readings),
                duplicates=duplicates,
                entity_id=target,
            )
        if overlay is not None:
            state.take(documents)
        return _Prepared(
            target=target,
            documents=documents,
            readings=len(result.readings),
            values=total - duplicates,
            duplicates=duplicates,
            create=create,
        )

    def _record(self, tenant: str, kind: str, key: str) -> Record | None:
        """A registry record: from the cache (read once per change of the registry)."""
        return self.records.get(tenant, kind, key)

    def _stored_history(
        self, tenant: str, target: str, older: list[str], fragments: list[EntityDoc]
    ) -> set[_HistoryKey]:
        """The stored history instances that a resent older message could repeat (one
        temporal query, only when the message has readings no newer than the current ones:
        their observedAt values are ``older``)."""
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
    def handle_mqtt(self, message: ReceivedMessage) -> asyncio.Future[IngestOutcome]:
        """The MQTT subscriber's handler: queues the message at once (no task per message) and
        returns the future of its outcome, done when the message is stored or dead-lettered
        (in a group commit with the messages handled at the same time); it fails only when
        the store is unavailable (no PUBACK then, for any message of the commit). Call it in
        the event loop."""
        return self.enqueue(
            message.tenant, message.device, message.payload, message.received_at, "mqtt"
        )

    async def ingest_async(
        self, tenant: str, device: str, payload: bytes, received_at: datetime, source: Source
    ) -> IngestOutcome:
        """:meth:`ingest` in a worker thread (group commit), in order with the device's other
        messages."""
        return await self.enqueue(tenant, device, payload, received_at, source)

    async def submit(
        self, tenant: str, device: str, payload: bytes, received_at: datetime, source: Source
    ) -> IngestOutcome:
        """Queue one message for the next group commit and wait for its outcome."""
        return await self.enqueue(tenant, device, payload, received_at, source)

    def enqueue(
        self, tenant: str, device: str, payload: bytes, received_at: datetime, source: Source
    ) -> asyncio.Future[IngestOutcome]:
        """Queue one message for the next group commit; the future of its outcome.

        Messages are taken in the order they are queued and group commits run one after
        the other, so a device's messages are stored in arrival order. A commit takes what
        is queued, waiting up to :attr:`max_delay` for more while it has fewer than
        :attr:`max_batch`; messages that arrive during a commit go into the next one."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestOutcome] = loop.create_future()
        self._waiting.append(_Waiting(tenant, device, payload, received_at, source, future))
        wakeup = self._wakeup
        if len(self._waiting) >= self.max_batch and wakeup is not None and not wakeup.done():
            wakeup.set_result(None)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return future

    async def _flush(self) -> None:
        """Group commits until nothing is queued."""
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                if len(self._waiting) < self.max_batch and self.max_delay > 0:
                    self._wakeup = loop.create_future()
                    await asyncio.wait([self._wakeup], timeout=self.max_delay)
                    self._wakeup = None
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                batch = [w for w in batch if not w.future.done()]  # cancelled waiters
                if not batch:
                    continue
                try:
                    outcomes = await asyncio.to_thread(self.ingest_batch, batch)
                except BaseException as exc:  # every message of the commit fails
                    for waiting in batch:
                        if waiting.future.done():
                            continue
                        if isinstance(exc, Exception):
                            waiting.future.set_exception(exc)
                        else:
                            waiting.future.cancel()
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for waiting, outcome in zip(batch, outcomes, strict=True):
                    if not waiting.future.done():
                        waiting.future.set_result(outcome)
        finally:
            self._wakeup = None
            if asyncio.current_task() is self._flusher:
                self._flusher = None
            for waiting in self._waiting:  # only when cancelled: nothing runs them now
                if not waiting.future.done():
                    waiting.future.cancel()
            self._waiting.clear()
