"""The SQLite store: the :class:`~cetate.store.base.ContextStore` of the modules beside it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

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
from cetate.store.sql_common import dumps
from cetate.store.sqlite import schema, summaries, temporal
from cetate.store.sqlite.accounts import SQLiteAccounts
from cetate.store.sqlite.connections import SQLiteConnections, database_path
from cetate.store.sqlite.dead_letters import SQLiteDeadLetters
from cetate.store.sqlite.documents import entity_doc
from cetate.store.sqlite.entity_queries import EntityQueryRunner
from cetate.store.sqlite.interning import InternedIds
from cetate.store.sqlite.leases import SQLiteLeases
from cetate.store.sqlite.queues import SQLiteQueues
from cetate.store.sqlite.records import SQLiteRecords
from cetate.store.sqlite.temporal import TemporalQueryRunner
from cetate.store.sqlite.transaction import SQLiteTransaction


class SQLiteStore(
    SQLiteAccounts, SQLiteRecords, SQLiteQueues, SQLiteDeadLetters, SQLiteLeases, ContextStore
):
    """The context store in one SQLite file."""

    def __init__(self, database_url: str) -> None:
        self.path = database_path(database_url)
        self._db = SQLiteConnections(self.path)
        self._ids = InternedIds()

    # -- lifecycle -----------------------------------------------------------------------
    def migrate(self) -> None:
        schema.migrate(self._db)

    def schema_version(self) -> int:
        return schema.schema_version(self._db)

    def close(self) -> None:
        self._db.close()

    # -- entities ------------------------------------------------------------------------
    def transaction(self, tenant: str) -> AbstractContextManager[StoreTransaction]:
        return self._transaction(tenant)

    @contextmanager
    def _transaction(self, tenant: str) -> Iterator[StoreTransaction]:
        tx: SQLiteTransaction | None = None
        with self._db.write() as conn:
            tx = SQLiteTransaction(self._ids, conn, tenant)
            yield tx
            tx.flush()
        # committed: the names and series created in it are now real
        self._ids.names.update(tx.new_names)
        self._ids.series.update(tx.new_series)

    def get_entity(self, tenant: str, entity_id: str) -> EntityDoc | None:
        row = (
            self._db.reader()
            .execute("SELECT doc FROM entities WHERE tenant = ? AND eid = ?", (tenant, entity_id))
            .fetchone()
        )
        return None if row is None else entity_doc(row[0])

    def get_entities(self, tenant: str, entity_ids: Sequence[str]) -> dict[str, EntityDoc]:
        if not entity_ids:
            return {}
        rows = (
            self._db.reader()
            .execute(
                "SELECT eid, doc FROM entities WHERE tenant = ? "
                "AND eid IN (SELECT value FROM json_each(?))",
                (tenant, dumps(list(entity_ids))),
            )
            .fetchall()
        )
        return {eid: entity_doc(doc) for eid, doc in rows}

    def iter_entities(self, tenant: str, batch_size: int = 1000) -> Iterator[EntityDoc]:
        after = ""
        while True:
            rows = (
                self._db.reader()
                .execute(
                    "SELECT eid, doc FROM entities WHERE tenant = ? AND eid > ? "
                    "ORDER BY eid LIMIT ?",
                    (tenant, after, batch_size),
                )
                .fetchall()
            )
            for _, doc in rows:
                yield entity_doc(doc)
            if len(rows) < batch_size:
                return
            after = rows[-1][0]

    def query_entities(self, tenant: str, query: EntityQuery) -> QueryResult:
        with self._db.read() as conn:
            return EntityQueryRunner(self._ids, conn, tenant).run(query)

    def entity_types(self, tenant: str) -> list[TypeSummary]:
        with self._db.read() as conn:
            return summaries.entity_types(conn, tenant)

    def attributes(self, tenant: str) -> list[AttributeSummary]:
        with self._db.read() as conn:
            return summaries.attributes(conn, tenant)

    # -- history -------------------------------------------------------------------------
    def query_temporal(self, tenant: str, query: TemporalQuery) -> list[TemporalEntity]:
        with self._db.read() as conn:
            return TemporalQueryRunner(self._ids, conn, tenant).run(query)

    def delete_history(self, tenant: str, entity_id: str, attributes: Sequence[str]) -> int:
        with self._db.write() as conn:
            return temporal.delete_history(conn, tenant, entity_id, attributes)
