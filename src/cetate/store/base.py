"""The context store interface that both backends (SQLite, PostgreSQL) implement.

The store is deliberately thin: it keeps entity documents in stored form
(:mod:`cetate.ngsi.model`), their attribute history, and the platform's tenants, users and API
tokens. The NGSI-LD semantics of *how* an update changes an entity (append, merge-patch, …) live
in pure code in :mod:`cetate.ngsi`; the store offers transactions in which the caller reads the
current documents, computes new ones, and writes them with their history rows.

All methods are synchronous; the web layer runs them in a thread pool. Every method takes the
tenant first, and no method ever returns another tenant's data.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from cetate.ngsi.model import AttributeInstance, EntityDoc
from cetate.ngsi.query_ast import QueryNode, TypeExpr

Georel = Literal["near", "within", "contains", "intersects", "equals", "disjoint", "overlaps"]


@dataclass(frozen=True, slots=True)
class GeoQuery:
    """A parsed geo-query (§4.10). ``geometry`` is a GeoJSON geometry dict (lon, lat, WGS84)."""

    georel: Georel
    geometry: Mapping[str, Any]
    geoproperty: str = "https://uri.etsi.org/ngsi-ld/location"
    max_distance: float | None = None
    """metres, for ``near``"""
    min_distance: float | None = None
    """metres, for ``near``"""


@dataclass(frozen=True, slots=True)
class EntityQuery:
    """What GET /entities asks for, with every attribute name and type already expanded."""

    types: TypeExpr | None = None
    ids: tuple[str, ...] = ()
    id_pattern: str | None = None
    """a regular expression (Python ``re`` syntax, matched with ``re.search`` semantics anchored
    by the pattern itself)"""
    attrs: frozenset[str] | None = None
    """entities that have at least one of these attributes (projection is done by the caller)"""
    q: QueryNode | None = None
    geo: GeoQuery | None = None
    limit: int = 20
    offset: int = 0
    count: bool = False
    """also return the total number of matches (NGSILD-Results-Count)"""


@dataclass(frozen=True, slots=True)
class QueryResult:
    entities: list[EntityDoc]
    """in a stable order: by id"""
    total: int | None = None
    """total matches ignoring limit/offset, when ``EntityQuery.count`` was set"""


Timerel = Literal["before", "after", "between"]
AggregateMethod = Literal["totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev"]
TimeProperty = Literal["observedAt", "createdAt", "modifiedAt"]


@dataclass(frozen=True, slots=True)
class TemporalQuery:
    """What GET /temporal/entities asks for. The entity part selects entities by their current
    state; the temporal part selects history instances."""

    entities: EntityQuery
    timerel: Timerel | None = None
    time_at: datetime | None = None
    end_time_at: datetime | None = None
    timeproperty: TimeProperty = "observedAt"
    attrs: frozenset[str] | None = None
    """only these attributes' history (expanded IRIs); None means all"""
    last_n: int | None = None
    """only the newest N instances per attribute (and datasetId), returned oldest first"""
    aggr_methods: tuple[AggregateMethod, ...] = ()
    aggr_period: timedelta | None = None
    """bucket width; None means one bucket over the whole requested interval"""


@dataclass(slots=True)
class HistoryRow:
    """One attribute instance as it was at one moment; appended on every write of an attribute."""

    entity_id: str
    attr: str
    """expanded IRI"""
    instance: AttributeInstance
    """the instance in stored form, as written"""
    observed_at: datetime
    """``observedAt`` of the instance, or the write time when it has none"""
    dataset_id: str | None = None
    number: float | None = None
    """the value when it is a number (bool excluded): what aggregations run on"""
    entity_type: str = ""
    """the entity's first type IRI"""


@dataclass(slots=True)
class TemporalEntity:
    """One entity in a temporal answer: its history per attribute, oldest first."""

    id: str
    types: list[str]
    history: dict[str, list[AttributeInstance]] = field(default_factory=dict)
    """attr IRI → instances; each instance gets ``observedAt`` (and ``datasetId`` when set)"""
    aggregates: dict[str, dict[str, list[tuple[Any, str, str]]]] = field(default_factory=dict)
    """attr IRI → method → [(value, bucket start ISO, bucket end ISO), …]"""


@dataclass(frozen=True, slots=True)
class TypeSummary:
    type: str
    """expanded type IRI"""
    entity_count: int
    attributes: frozenset[str]
    """expanded attribute IRIs seen on entities of this type"""


@dataclass(frozen=True, slots=True)
class AttributeSummary:
    attribute: str
    """expanded IRI"""
    attribute_count: int
    types: frozenset[str]
    """entity type IRIs that have it"""
    attribute_types: frozenset[str]
    """Property, Relationship, GeoProperty …"""


Role = Literal["admin", "operator", "viewer"]


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    """as sent in NGSILD-Tenant; lowercase letters, digits, ``-`` and ``_``"""
    title: str
    public_types: frozenset[str] = frozenset()
    """expanded type IRIs anyone may read without credentials"""


@dataclass(frozen=True, slots=True)
class User:
    username: str
    password_hash: str
    display_name: str
    roles: Mapping[str, Role]
    """tenant name → role"""


@dataclass(frozen=True, slots=True)
class ApiToken:
    token_id: str
    token_hash: str
    """SHA-256 hex of the secret; the secret itself is shown once and never stored"""
    tenant: str
    role: Role
    label: str
    created_at: datetime
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Record:
    """A small JSON document of a platform feature (a subscription, a rule, a device's
    credentials, a rule's evaluation state …), kept per tenant under ``(kind, key)``."""

    tenant: str
    kind: str
    """what it is: ``subscription``, ``rule``, ``device-credentials`` …"""
    key: str
    data: dict[str, Any]
    version: int
    """1 on insert, +1 on every replace (optimistic concurrency)"""
    updated_at: datetime
    lookup: str | None = None
    """an optional second key, unique per kind across all tenants (e.g. a token key)"""


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One unit of work in a durable queue (the notification outbox, …)."""

    id: int
    tenant: str
    queue: str
    payload: dict[str, Any]
    attempts: int
    """how many times it has been claimed, this claim included"""
    due_at: datetime
    created_at: datetime
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected device message, kept with its raw payload so it can be replayed."""

    id: int
    tenant: str
    source: str
    """``mqtt`` or ``http``"""
    device: str | None
    received_at: datetime
    reason: str
    """a reason code (``malformed_json``, ``out_of_range`` …)"""
    detail: str
    payload: bytes
    replayed_at: datetime | None = None


class StoreTransaction(abc.ABC):
    """Writes of one tenant that commit together or not at all.

    The instance lists and instances of documents handed to or returned by a transaction are
    not to be changed in place while it runs: a changed attribute is written as a new list, in
    a document that may share the attributes that did not change (as :mod:`cetate.ngsi.updates`
    builds them). Backends may rely on it: SQLite skips re-indexing an attribute whose list is
    the very object it read or last wrote."""

    @abc.abstractmethod
    def get_for_update(self, entity_ids: Sequence[str]) -> dict[str, EntityDoc]:
        """Current documents of those ids that exist, locked until the transaction ends."""

    @abc.abstractmethod
    def insert(self, entity: EntityDoc) -> None:
        """Add a new entity. Raises :class:`cetate.errors.AlreadyExists` if the id is taken."""

    @abc.abstractmethod
    def replace(self, entity: EntityDoc) -> None:
        """Overwrite an existing entity's document (same id)."""

    @abc.abstractmethod
    def delete(self, entity_id: str) -> None:
        """Remove an entity (its history stays)."""

    @abc.abstractmethod
    def append_history(self, rows: Sequence[HistoryRow]) -> None:
        """Record attribute instances in the history."""

    @abc.abstractmethod
    def enqueue(
        self, queue: str, payloads: Sequence[Mapping[str, Any]], *, due_at: datetime | None = None
    ) -> None:
        """Add work items for this transaction's tenant that become visible only when the
        transaction commits (the transactional outbox: a notification is queued if and only
        if the change that caused it is stored)."""


class ContextStore(abc.ABC):
    """The one Python interface to the context store."""

    # -- lifecycle -----------------------------------------------------------------------
    @abc.abstractmethod
    def migrate(self) -> None:
        """Bring the schema to the newest version (idempotent)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- entities --------------------------------------------------------------------------
    @abc.abstractmethod
    def transaction(self, tenant: str) -> AbstractContextManager[StoreTransaction]:
        """A write transaction for one tenant; commits on normal exit, rolls back on error."""

    @abc.abstractmethod
    def get_entity(self, tenant: str, entity_id: str) -> EntityDoc | None: ...

    @abc.abstractmethod
    def get_entities(self, tenant: str, entity_ids: Sequence[str]) -> dict[str, EntityDoc]: ...

    @abc.abstractmethod
    def query_entities(self, tenant: str, query: EntityQuery) -> QueryResult: ...

    @abc.abstractmethod
    def iter_entities(self, tenant: str, batch_size: int = 1000) -> Iterator[EntityDoc]:
        """Every entity of a tenant, for export."""

    @abc.abstractmethod
    def entity_types(self, tenant: str) -> list[TypeSummary]: ...

    @abc.abstractmethod
    def attributes(self, tenant: str) -> list[AttributeSummary]: ...

    # -- history ---------------------------------------------------------------------------
    @abc.abstractmethod
    def query_temporal(self, tenant: str, query: TemporalQuery) -> list[TemporalEntity]:
        """History (or, with ``aggr_methods``, aggregates computed in the database)."""

    @abc.abstractmethod
    def delete_history(self, tenant: str, entity_id: str, attributes: Sequence[str]) -> int:
        """Erase history (e.g. personal data under the GDPR): remove every history instance
        of those attributes (expanded IRIs) of that entity in that tenant, of all datasetIds,
        whatever their time. The current entity document is not touched. Returns the number
        of instances removed; an unknown entity or attribute removes 0."""

    # -- tenants, users, tokens -------------------------------------------------------------
    @abc.abstractmethod
    def list_tenants(self) -> list[Tenant]: ...

    @abc.abstractmethod
    def get_tenant(self, name: str) -> Tenant | None: ...

    @abc.abstractmethod
    def put_tenant(self, tenant: Tenant) -> None:
        """Create or update a tenant."""

    @abc.abstractmethod
    def get_user(self, username: str) -> User | None: ...

    @abc.abstractmethod
    def put_user(self, user: User) -> None:
        """Create or update a user with its roles."""

    @abc.abstractmethod
    def list_users(self, tenant: str) -> list[User]: ...

    @abc.abstractmethod
    def put_token(self, token: ApiToken) -> None: ...

    @abc.abstractmethod
    def find_token(self, token_hash: str) -> ApiToken | None: ...

    @abc.abstractmethod
    def revoke_token(self, token_id: str) -> None: ...

    def list_tokens(self, tenant: str) -> list[ApiToken]:
        """The API tokens of one tenant (revoked ones included), oldest first.

        Not abstract so that backends written before it was added still load; backends should
        override it (the console lists tokens and :mod:`cetate.auth.tokens` checks a token's
        tenant before revoking it)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement list_tokens")

    @abc.abstractmethod
    def get_setting(self, key: str) -> str | None:
        """Platform-wide key/value settings (e.g. the generated session secret)."""

    @abc.abstractmethod
    def put_setting(self, key: str, value: str) -> None: ...

    # -- records: small documents of platform features -------------------------------------
    @abc.abstractmethod
    def get_record(self, tenant: str, kind: str, key: str) -> Record | None: ...

    @abc.abstractmethod
    def find_record(self, kind: str, lookup: str) -> Record | None:
        """The record of this kind whose ``lookup`` key this is, in any tenant."""

    @abc.abstractmethod
    def put_record(
        self,
        tenant: str,
        kind: str,
        key: str,
        data: Mapping[str, Any],
        *,
        expected_version: int | None,
        lookup: str | None = None,
    ) -> Record:
        """Insert (``expected_version=None``; :class:`cetate.errors.AlreadyExists` when the key
        or the lookup is taken) or replace (only if the stored version equals
        ``expected_version``, else :class:`cetate.errors.RecordConflict`; a replace writes
        ``data`` and ``lookup`` as given, so ``lookup=None`` clears it, and a lookup taken by
        another record is :class:`cetate.errors.AlreadyExists`). Increases
        :meth:`records_generation` of the kind in the same transaction."""

    @abc.abstractmethod
    def delete_record(self, tenant: str, kind: str, key: str) -> bool:
        """Whether there was one. Increases :meth:`records_generation` of the kind when there
        was."""

    @abc.abstractmethod
    def list_records(
        self, tenant: str | None, kind: str, *, limit: int = 1000, offset: int = 0
    ) -> list[Record]:
        """Records of a kind ordered by key; ``tenant=None`` lists every tenant's (for
        workers that serve all tenants)."""

    @abc.abstractmethod
    def records_generation(self, kind: str) -> int:
        """A number that grows whenever a record of this kind is put or deleted, read fresh
        from the database: caches compare it to know they are stale."""

    # -- durable work queues -----------------------------------------------------------------
    @abc.abstractmethod
    def enqueue(
        self,
        tenant: str,
        queue: str,
        payloads: Sequence[Mapping[str, Any]],
        *,
        due_at: datetime | None = None,
    ) -> None:
        """Add work items now (outside any entity transaction)."""

    @abc.abstractmethod
    def claim(
        self, queue: str, *, worker: str, limit: int, lease: timedelta, now: datetime | None = None
    ) -> list[QueueItem]:
        """Up to ``limit`` items that are due and not leased by a live worker, oldest due
        first, leased to ``worker`` for ``lease``; ``attempts`` is incremented. Safe with many
        workers in many processes: an item is never handed to two workers while leased."""

    @abc.abstractmethod
    def complete(self, item_ids: Sequence[int]) -> None:
        """Done: remove the items."""

    @abc.abstractmethod
    def retry(self, item_id: int, *, due_at: datetime, error: str) -> None:
        """Release the lease and make the item due again at ``due_at``."""

    @abc.abstractmethod
    def queue_length(self, queue: str, tenant: str | None = None) -> int: ...

    # -- dead letters --------------------------------------------------------------------------
    @abc.abstractmethod
    def add_dead_letter(
        self,
        tenant: str,
        *,
        source: str,
        device: str | None,
        received_at: datetime,
        reason: str,
        detail: str,
        payload: bytes,
    ) -> int: ...

    @abc.abstractmethod
    def list_dead_letters(
        self,
        tenant: str,
        *,
        device: str | None = None,
        reason: str | None = None,
        include_replayed: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[DeadLetter]:
        """Newest first."""

    @abc.abstractmethod
    def get_dead_letter(self, tenant: str, dead_letter_id: int) -> DeadLetter | None: ...

    @abc.abstractmethod
    def mark_replayed(self, tenant: str, dead_letter_id: int, at: datetime) -> None: ...

    @abc.abstractmethod
    def count_dead_letters(self, tenant: str) -> dict[str, int]:
        """Not-yet-replayed dead letters per reason."""

    # -- leases: one process at a time runs a job ---------------------------------------------
    @abc.abstractmethod
    def acquire_lease(
        self, name: str, holder: str, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        """True when ``holder`` now holds the lease ``name`` until now + ttl: it was free,
        expired, or already held by ``holder`` (renewal). Atomic across processes."""

    @abc.abstractmethod
    def release_lease(self, name: str, holder: str) -> None: ...


def open_store(database_url: str) -> ContextStore:
    """The backend for a database URL: ``sqlite:///path`` or ``postgresql://…``."""
    if database_url.startswith("sqlite:"):
        from cetate.store.sqlite import SQLiteStore

        return SQLiteStore(database_url)
    if database_url.startswith(("postgresql:", "postgres:")):
        from cetate.store.postgres import PostgresStore

        return PostgresStore(database_url)
    from cetate.errors import InvalidRequest

    raise InvalidRequest(
        f"unsupported database URL {database_url!r}: use sqlite:///path/to/file.db "
        "or postgresql://user@host/dbname"
    )
