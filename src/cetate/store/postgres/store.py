"""The PostgreSQL store: the :class:`~cetate.store.base.ContextStore` of the modules beside it.

The store is thread-safe: every call takes a connection from a pool.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import cast

from cetate.ngsi.model import EntityDoc
from cetate.store.base import (
    AttributeSummary,
    ContextStore,
    EntityQuery,
    QueryResult,
    StoreTransaction,
    TemporalEntity,
    TemporalQuery,
    TypeSummary,
)
from cetate.store.postgres import schema, summaries, temporal
from cetate.store.postgres.accounts import PostgresAccounts
from cetate.store.postgres.connections import Conn, PostgresConnections, normalised_url
from cetate.store.postgres.dead_letters import PostgresDeadLetters
from cetate.store.postgres.entity_queries import select
from cetate.store.postgres.history_storage import HistoryStorage
from cetate.store.postgres.leases import PostgresLeases
from cetate.store.postgres.queues import PostgresQueues
from cetate.store.postgres.records import PostgresRecords
from cetate.store.postgres.transaction import PostgresTransaction


class PostgresStore(
    PostgresAccounts,
    PostgresRecords,
    PostgresQueues,
    PostgresDeadLetters,
    PostgresLeases,
    ContextStore,
):
    def __init__(
        self, database_url: str, *, min_connections: int = 1, max_connections: int = 16
    ) -> None:
        self._url = normalised_url(database_url)
        self._db = PostgresConnections(
            self._url, min_connections=min_connections, max_connections=max_connections
        )
        self._history = HistoryStorage(self._db)

    @contextmanager
    def _connection(self, *, side: bool = False) -> Iterator[Conn]:
        with self._db.connection(side=side) as conn:
            yield conn

    # -- lifecycle ---------------------------------------------------------------------------
    def migrate(self) -> None:
        schema.migrate(self._db)

    def schema_version(self) -> int:
        return schema.schema_version(self._db)

    def close(self) -> None:
        self._db.close()

    # -- history partitions (retention) -------------------------------------------------------
    def history_partitions(self) -> list[str]:
        """Names of the monthly history partitions (and the default one)."""
        return self._history.partitions()

    def drop_history_before(self, cutoff: datetime) -> list[str]:
        """Retention: drop every monthly partition that ends at or before ``cutoff`` and delete
        older rows of the default partition. Returns the dropped partitions."""
        return self._history.drop_before(cutoff)

    # -- entities ----------------------------------------------------------------------------
    @contextmanager
    def transaction(self, tenant: str) -> Iterator[StoreTransaction]:
        with self._db.connection() as conn, conn.transaction():
            tx = PostgresTransaction(self._history, conn, tenant)
            yield tx
            tx.flush()

    def get_entity(self, tenant: str, entity_id: str) -> EntityDoc | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT doc FROM entities WHERE tenant = %s AND id = %s", (tenant, entity_id)
            ).fetchone()
        return cast(EntityDoc, row[0]) if row else None

    def get_entities(self, tenant: str, entity_ids: Sequence[str]) -> dict[str, EntityDoc]:
        ids = list(dict.fromkeys(entity_ids))
        if not ids:
            return {}
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT id, doc FROM entities WHERE tenant = %s AND id = ANY(%s)", (tenant, ids)
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    def query_entities(self, tenant: str, query: EntityQuery) -> QueryResult:
        docs, total = select(self._db, tenant, query)
        return QueryResult(entities=docs, total=total)

    def iter_entities(self, tenant: str, batch_size: int = 1000) -> Iterator[EntityDoc]:
        last = ""
        while True:
            with self._db.connection() as conn:
                rows = conn.execute(
                    "SELECT id, doc FROM entities WHERE tenant = %s AND id > %s "
                    "ORDER BY id LIMIT %s",
                    (tenant, last, batch_size),
                ).fetchall()
            if not rows:
                return
            for row in rows:
                yield row[1]
            last = rows[-1][0]

    def entity_types(self, tenant: str) -> list[TypeSummary]:
        return summaries.entity_types(self._db, tenant)

    def attributes(self, tenant: str) -> list[AttributeSummary]:
        return summaries.attributes(self._db, tenant)

    # -- history -----------------------------------------------------------------------------
    def query_temporal(self, tenant: str, query: TemporalQuery) -> list[TemporalEntity]:
        return temporal.query_temporal(self._db, tenant, query)

    def delete_history(self, tenant: str, entity_id: str, attributes: Sequence[str]) -> int:
        return self._history.delete(tenant, entity_id, attributes)
