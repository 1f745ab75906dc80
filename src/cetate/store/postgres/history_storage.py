"""Where history goes in PostgreSQL: monthly partitions of ``history`` and the
``history_series`` rows (entity, attribute, datasetId) that history rows refer to.

Partitions are created on demand before inserts, so retention drops whole partitions. Both
partitions and series are created on the side pool, in short transactions of their own, and
their names and ids are cached.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from psycopg import sql

from cetate.store.base import HistoryRow
from cetate.store.postgres.connections import PostgresConnections


def month_start(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class HistoryStorage:
    def __init__(self, db: PostgresConnections) -> None:
        self._db = db
        self._known_partitions: set[datetime] = set()
        self._side_lock = threading.Lock()
        self._series: dict[tuple[str, str, str, str], int] = {}
        """(tenant, entity id, attr, datasetId or '') → history series id"""

    def ensure_partitions(self, months: set[datetime]) -> None:
        if months <= self._known_partitions:
            return
        with self._side_lock:
            missing = sorted(months - self._known_partitions)
            if not missing:
                return
            # in its own short transaction: the writer's transaction does not hold the DDL lock
            with self._db.connection(side=True) as conn:
                conn.execute(
                    "SELECT cetate_ensure_history_partition(m) FROM unnest(%s::date[]) AS m",
                    ([m.date() for m in missing],),
                )
            self._known_partitions.update(missing)

    def series_ids(
        self, tenant: str, rows: Sequence[HistoryRow]
    ) -> dict[tuple[str, str, str, str], int]:
        """Ids of the history series of these rows, created when new (in their own short
        transaction: a series row without history is harmless, and the cache stays valid
        whatever happens to the writer's transaction)."""
        cache = self._series
        missing: dict[tuple[str, str, str, str], str] = {}
        for r in rows:
            key = (tenant, r.entity_id, r.attr, r.dataset_id or "")
            if key not in cache and key not in missing:
                missing[key] = r.entity_type
        if missing:
            keys = list(missing)
            columns = (
                [k[1] for k in keys],
                [k[2] for k in keys],
                [k[3] for k in keys],
                [missing[k] for k in keys],
            )
            with self._db.connection(side=True) as conn:
                conn.execute(
                    "INSERT INTO history_series (tenant, entity_id, attr, dataset_id, entity_type)"
                    " SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[])"
                    " ON CONFLICT (tenant, entity_id, attr, dataset_id) DO NOTHING",
                    (tenant, *columns),
                )
                found = conn.execute(
                    "SELECT s.id, s.entity_id, s.attr, s.dataset_id FROM history_series s"
                    " JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(entity_id, attr, ds)"
                    " ON s.entity_id = k.entity_id AND s.attr = k.attr AND s.dataset_id = k.ds"
                    " WHERE s.tenant = %s",
                    (*columns[:3], tenant),
                ).fetchall()
            for series_id, entity_id, attr, dataset_id in found:
                cache[(tenant, entity_id, attr, dataset_id)] = int(series_id)
        return cache

    def delete(self, tenant: str, entity_id: str, attributes: Sequence[str]) -> int:
        """Delete every history row (all partitions) of those attributes of one entity, all
        datasetIds; the number deleted. The ``history_series`` rows stay (their ids are
        cached; a series without history yields nothing in a temporal query)."""
        if not attributes:
            return 0
        with self._db.connection() as conn:
            cursor = conn.execute(
                "DELETE FROM history WHERE series_id IN ("
                " SELECT id FROM history_series"
                " WHERE tenant = %s AND entity_id = %s AND attr = ANY(%s))",
                (tenant, entity_id, sorted(set(attributes))),
            )
            return max(cursor.rowcount, 0)

    def partitions(self) -> list[str]:
        """Names of the monthly history partitions (and the default one)."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'history'::regclass ORDER BY c.relname"
            ).fetchall()
        return [r[0] for r in rows]

    def drop_before(self, cutoff: datetime) -> list[str]:
        """Retention: drop every monthly partition that ends at or before ``cutoff`` and delete
        older rows of the default partition. Returns the dropped partitions."""
        dropped: list[str] = []
        with self._db.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('cetate.history_partitions'))")
            for name in self.partitions():
                match = re.fullmatch(r"history_y(\d{4})m(\d{2})", name)
                if not match:
                    continue
                start = datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC)
                end = month_start(start + timedelta(days=32))
                if end <= cutoff:
                    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
                    dropped.append(name)
                    self._known_partitions.discard(start)
            conn.execute("DELETE FROM history_default WHERE observed_at < %s", (cutoff,))
        return dropped
