"""Write transactions of the PostgreSQL store.

Writes are buffered per entity and sent in bulk when the transaction commits (or before it
reads): many documents through ``COPY`` into a temporary table and one ``INSERT``/``UPDATE …
FROM``, few with pipelined ``executemany``; history with ``COPY``. Geometry and type index rows
are rewritten only for entities whose geometries or types changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import psycopg
from psycopg.types.json import Jsonb

from cetate.errors import AlreadyExists, ResourceNotFound
from cetate.ngsi.model import ENTITY_KEYWORDS, EntityDoc
from cetate.store.base import HistoryRow, StoreTransaction
from cetate.store.postgres.connections import Conn
from cetate.store.postgres.copy_format import array_literal, copy_text
from cetate.store.postgres.history_storage import HistoryStorage, month_start
from cetate.store.postgres.queues import QueuedItems, insert_items, queued_items
from cetate.store.sql_common import dumps, number_value

Geometries = list[tuple[str, str, Any]]
"""(attr, datasetId or '', GeoJSON geometry) of every GeoProperty instance of an entity"""


def geometries_of(entity: EntityDoc) -> Geometries:
    found: Geometries = []
    for key, instances in entity.items():
        if key in ENTITY_KEYWORDS or not isinstance(instances, list):
            continue
        for inst in instances:
            if type(inst) is dict and inst.get("type") == "GeoProperty":
                value = inst.get("value")
                if isinstance(value, dict):
                    found.append((key, str(inst.get("datasetId") or ""), value))
    return found


_UPDATE_ENTITY: Final = "UPDATE entities SET types = %s, doc = %s WHERE tenant = %s AND id = %s"
_INSERT_ENTITY: Final = (
    "INSERT INTO entities (tenant, id, types, doc) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (tenant, id) DO NOTHING"
)
_INSERT_GEOMETRY: Final = (
    "INSERT INTO entity_geometries (tenant, entity_id, attr, dataset_id, geom) "
    "VALUES (%s, %s, %s, %s, ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326))"
)
_COPY_THRESHOLD: Final = 64
"""from this many documents in one flush on, stage them with COPY instead of executemany"""
_COPY_HISTORY: Final = "COPY history (series_id, observed_at, number, instance) FROM STDIN"


class PostgresTransaction(StoreTransaction):
    """Buffers writes; :meth:`flush` sends them in bulk (before reads and at commit).

    Only the last write of each entity id matters, so pending writes are kept per id."""

    def __init__(self, history: HistoryStorage, conn: Conn, tenant: str) -> None:
        self._history_storage = history
        self._conn = conn
        self._tenant = tenant
        self._pending: dict[str, EntityDoc | None] = {}
        """id → new document (insert or replace) or None (delete)"""
        self._new_ids: set[str] = set()
        """pending ids that must not exist in the database yet (inserts)"""
        self._exists: dict[str, bool] = {}
        """what this transaction knows about the database (before its pending writes)"""
        self._geometries: dict[str, Geometries] = {}
        self._types: dict[str, tuple[str, ...]] = {}
        """type IRIs in the database of the entities this transaction has read or written"""
        """geometry rows in the database of the entities this transaction has read or written"""
        self._history: list[HistoryRow] = []
        self._queued: QueuedItems = []
        """queue rows of :meth:`enqueue`, inserted by :meth:`flush` in this transaction"""

    # what the caller sees: the database plus the pending writes
    def _known_to_exist(self, entity_id: str) -> bool | None:
        if entity_id in self._pending:
            return self._pending[entity_id] is not None
        return self._exists.get(entity_id)

    def get_for_update(self, entity_ids: Sequence[str]) -> dict[str, EntityDoc]:
        self.flush()
        ids = list(dict.fromkeys(entity_ids))
        if not ids:
            return {}
        rows = self._conn.execute(
            "SELECT id, doc FROM entities WHERE tenant = %s AND id = ANY(%s) ORDER BY id "
            "FOR UPDATE",
            (self._tenant, ids),
        ).fetchall()
        found = {row[0]: row[1] for row in rows}
        for entity_id in ids:
            self._exists[entity_id] = entity_id in found
            doc = found.get(entity_id)
            self._geometries[entity_id] = geometries_of(doc) if doc else []
            self._types[entity_id] = tuple(doc.get("type", ())) if doc else ()
        return found

    def _exists_now(self, entity_id: str) -> bool:
        """Whether the entity exists for the caller, asking the database when not known yet."""
        known = self._known_to_exist(entity_id)
        if known is None:
            row = self._conn.execute(
                "SELECT 1 FROM entities WHERE tenant = %s AND id = %s",
                (self._tenant, entity_id),
            ).fetchone()
            known = row is not None
            self._exists[entity_id] = known
        return known

    def insert(self, entity: EntityDoc) -> None:
        entity_id = entity["id"]
        if self._exists_now(entity_id):
            raise AlreadyExists(f"entity {entity_id} already exists", entityId=entity_id)
        if not self._exists.get(entity_id, False):
            self._new_ids.add(entity_id)
        self._pending[entity_id] = entity

    def _require(self, entity_id: str) -> None:
        if not self._exists_now(entity_id):
            raise ResourceNotFound(f"entity {entity_id} does not exist")

    def replace(self, entity: EntityDoc) -> None:
        self._require(entity["id"])
        self._pending[entity["id"]] = entity

    def delete(self, entity_id: str) -> None:
        self._require(entity_id)
        self._pending[entity_id] = None
        self._new_ids.discard(entity_id)

    def append_history(self, rows: Sequence[HistoryRow]) -> None:
        self._history.extend(rows)

    def enqueue(
        self, queue: str, payloads: Sequence[Mapping[str, Any]], *, due_at: datetime | None = None
    ) -> None:
        """Buffered like the other writes: :meth:`flush` inserts the rows on this
        transaction's connection, so they commit (or roll back) with the entity writes."""
        self._queued.extend(queued_items(self._tenant, queue, payloads, due_at))

    def flush(self) -> None:
        """Send the buffered writes."""
        pending, self._pending = self._pending, {}
        new_ids, self._new_ids = self._new_ids, set()
        history, self._history = self._history, []
        queued, self._queued = self._queued, []
        if pending:
            self._flush_entities(pending, new_ids)
        if history:
            self._flush_history(history)
        if queued:
            insert_items(self._conn, queued)

    def _flush_entities(self, pending: dict[str, EntityDoc | None], new_ids: set[str]) -> None:
        conn, tenant = self._conn, self._tenant
        for entity_id, doc in pending.items():
            self._exists[entity_id] = doc is not None
        deleted = [i for i, d in pending.items() if d is None]
        written = [d for d in pending.values() if d is not None]
        # geometries: rewrite only those of entities whose geometries changed
        stale_geometries: list[str] = []
        new_geometries: list[tuple[str, str, str, str, str]] = []
        for doc in written:
            entity_id = doc["id"]
            rows = geometries_of(doc)
            before = self._geometries.get(entity_id)
            if before is not None and before == rows:
                continue
            if before is None or before:
                stale_geometries.append(entity_id)
            new_geometries.extend(
                (tenant, entity_id, attr, dataset_id, dumps(geometry))
                for attr, dataset_id, geometry in rows
            )
            self._geometries[entity_id] = rows
        for entity_id in deleted:
            self._geometries[entity_id] = []
            self._types[entity_id] = ()
        # the entity_types index: rewritten only for entities whose types changed
        stale_types: list[str] = []
        new_types: tuple[list[str], list[str]] = ([], [])
        for doc in written:
            entity_id = doc["id"]
            types = tuple(doc.get("type", ()))
            before_types = self._types.get(entity_id)
            if before_types == types:
                continue
            if before_types is None or before_types:
                stale_types.append(entity_id)
            for type_iri in dict.fromkeys(types):
                new_types[0].append(type_iri)
                new_types[1].append(entity_id)
            self._types[entity_id] = types
        with conn.cursor() as cur:
            if deleted:
                cur.execute(
                    "DELETE FROM entities WHERE tenant = %s AND id = ANY(%s)", (tenant, deleted)
                )
            inserts = [d for d in written if d["id"] in new_ids]
            updates = [d for d in written if d["id"] not in new_ids]
            if len(written) >= _COPY_THRESHOLD:
                self._write_entities_by_copy(cur, inserts, updates)
            else:
                if inserts:
                    cur.executemany(
                        _INSERT_ENTITY,
                        [(tenant, d["id"], list(d.get("type", [])), Jsonb(d)) for d in inserts],
                    )
                    if cur.rowcount != len(inserts):
                        raise _concurrent_insert()
                if updates:
                    cur.executemany(
                        _UPDATE_ENTITY,
                        [(list(d.get("type", [])), Jsonb(d), tenant, d["id"]) for d in updates],
                    )
            if stale_types:
                cur.execute(
                    "DELETE FROM entity_types WHERE tenant = %s AND entity_id = ANY(%s)",
                    (tenant, stale_types),
                )
            if new_types[0]:
                cur.execute(
                    "INSERT INTO entity_types (tenant, type, entity_id) "
                    "SELECT %s, * FROM unnest(%s::text[], %s::text[]) ON CONFLICT DO NOTHING",
                    (tenant, *new_types),
                )
            if stale_geometries:
                cur.execute(
                    "DELETE FROM entity_geometries WHERE tenant = %s AND entity_id = ANY(%s)",
                    (tenant, stale_geometries),
                )
            if new_geometries:
                cur.executemany(_INSERT_GEOMETRY, new_geometries)

    def _write_entities_by_copy(
        self, cur: psycopg.Cursor[Any], inserts: list[EntityDoc], updates: list[EntityDoc]
    ) -> None:
        """Many documents: COPY them into a temporary table, then one INSERT … SELECT each."""
        cur.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS cetate_staged_entities "
            "(is_new boolean NOT NULL, id text NOT NULL, types text[] NOT NULL, doc jsonb NOT NULL)"
            " ON COMMIT DELETE ROWS"
        )
        cur.execute("TRUNCATE cetate_staged_entities")
        lines = [
            "\t".join(
                (
                    flag,
                    copy_text(d["id"]),
                    copy_text(array_literal(d.get("type", []))),
                    copy_text(dumps(d)),
                )
            )
            for flag, docs in (("t", inserts), ("f", updates))
            for d in docs
        ]
        lines.append("")
        with cur.copy("COPY cetate_staged_entities (is_new, id, types, doc) FROM STDIN") as copy:
            copy.write("\n".join(lines).encode())
        if inserts:
            cur.execute(
                "INSERT INTO entities (tenant, id, types, doc) SELECT %s, id, types, doc "
                "FROM cetate_staged_entities WHERE is_new ON CONFLICT (tenant, id) DO NOTHING",
                (self._tenant,),
            )
            if cur.rowcount != len(inserts):
                raise _concurrent_insert()
        if updates:
            cur.execute(
                "UPDATE entities e SET types = s.types, doc = s.doc "
                "FROM cetate_staged_entities s WHERE NOT s.is_new AND e.tenant = %s "
                "AND e.id = s.id",
                (self._tenant,),
            )

    def _flush_history(self, history: list[HistoryRow]) -> None:
        storage = self._history_storage
        moments: dict[datetime, str] = {}
        for r in history:
            if r.observed_at not in moments:
                moment = r.observed_at
                moments[moment] = (
                    moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                ).isoformat()
        storage.ensure_partitions({month_start(m) for m in moments})
        series = storage.series_ids(self._tenant, history)
        tenant = self._tenant
        lines = []
        for r in history:
            number = r.number
            if number is None or isinstance(number, bool):
                number = number_value(r.instance)
            lines.append(
                "\t".join(
                    (
                        str(series[(tenant, r.entity_id, r.attr, r.dataset_id or "")]),
                        moments[r.observed_at],
                        "\\N" if number is None else repr(float(number)),
                        copy_text(dumps(r.instance)),
                    )
                )
            )
        lines.append("")
        with self._conn.cursor() as cur, cur.copy(_COPY_HISTORY) as copy:
            copy.write("\n".join(lines).encode())


def _concurrent_insert() -> AlreadyExists:
    return AlreadyExists("an entity of this batch was created concurrently by another writer")
