"""Durable work queues in the PostgreSQL store.

Payloads are JSONB. Claiming is one ``UPDATE`` of the rows a ``SELECT … FOR UPDATE SKIP
LOCKED`` picked: concurrent claimers in any process skip each other's rows, and a row leased
meanwhile fails the re-checked condition, so no item is handed to two workers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from cetate.store.base import QueueItem
from cetate.store.platform_rows import (
    QUEUE_ITEM_COLUMNS,
    claim_order,
    queue_item_from_row,
    utc,
    utc_now,
)
from cetate.store.postgres.connections import Conn, PostgresConnections

QueuedItems = list[tuple[str, str, Jsonb, datetime, datetime]]
"""(tenant, queue, payload, due_at, created_at) rows waiting to be inserted"""


def _as_is(value: Any) -> Any:
    return value


def queued_items(
    tenant: str, queue: str, payloads: Sequence[Mapping[str, Any]], due_at: datetime | None
) -> QueuedItems:
    """The rows that :func:`insert_items` writes (built when enqueued: the creation time)."""
    now = utc_now()
    due = now if due_at is None else utc(due_at)
    return [(tenant, queue, Jsonb(dict(payload)), due, now) for payload in payloads]


def insert_items(conn: Conn, items: QueuedItems) -> None:
    """Queue rows on ``conn``, in whatever transaction it is in (the outbox uses the entity
    transaction's)."""
    if not items:
        return
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO queue_items (tenant, queue, payload, attempts, due_at, created_at) "
            "VALUES (%s, %s, %s, 0, %s, %s)",
            items,
        )


class PostgresQueues:
    """The queue methods of :class:`~.store.PostgresStore`."""

    _db: PostgresConnections

    def enqueue(
        self,
        tenant: str,
        queue: str,
        payloads: Sequence[Mapping[str, Any]],
        *,
        due_at: datetime | None = None,
    ) -> None:
        items = queued_items(tenant, queue, payloads, due_at)
        if not items:
            return
        with self._db.connection() as conn, conn.transaction():
            insert_items(conn, items)

    def claim(
        self, queue: str, *, worker: str, limit: int, lease: timedelta, now: datetime | None = None
    ) -> list[QueueItem]:
        if limit <= 0:
            return []
        moment = utc_now(now)
        with self._db.connection() as conn:
            rows = conn.execute(
                "WITH picked AS (SELECT id AS picked_id FROM queue_items WHERE queue = %s "
                "AND due_at <= %s AND (leased_until IS NULL OR leased_until <= %s) "
                "ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
                "UPDATE queue_items SET leased_by = %s, leased_until = %s, "
                "attempts = attempts + 1 FROM picked WHERE id = picked.picked_id "
                f"RETURNING {QUEUE_ITEM_COLUMNS}",
                (queue, moment, moment, limit, worker, moment + lease),
            ).fetchall()
        return claim_order([queue_item_from_row(row, _as_is, utc) for row in rows])

    def complete(self, item_ids: Sequence[int]) -> None:
        if not item_ids:
            return
        with self._db.connection() as conn:
            conn.execute(
                "DELETE FROM queue_items WHERE id = ANY(%s)", ([int(i) for i in item_ids],)
            )

    def retry(self, item_id: int, *, due_at: datetime, error: str) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE queue_items SET leased_by = NULL, leased_until = NULL, due_at = %s, "
                "last_error = %s WHERE id = %s",
                (utc(due_at), error, item_id),
            )

    def queue_length(self, queue: str, tenant: str | None = None) -> int:
        with self._db.connection() as conn:
            if tenant is None:
                row = conn.execute(
                    "SELECT count(*) FROM queue_items WHERE queue = %s", (queue,)
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT count(*) FROM queue_items WHERE queue = %s AND tenant = %s",
                    (queue, tenant),
                ).fetchone()
        return int(row[0]) if row else 0
