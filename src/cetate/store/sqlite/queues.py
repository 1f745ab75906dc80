"""Durable work queues in the SQLite store.

Payloads are JSON text, times integer microseconds. Claiming runs in one ``BEGIN IMMEDIATE``
transaction of the single writer, which excludes every other writer in any process: the due,
unleased items it selects are leased before anyone else can look.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from cetate.store.base import QueueItem
from cetate.store.platform_rows import (
    QUEUE_ITEM_COLUMNS,
    claim_order,
    queue_item_from_row,
    utc_now,
)
from cetate.store.sql_common import dumps, from_us, loads, to_us
from cetate.store.sqlite.connections import SQLiteConnections


def insert_items(
    conn: sqlite3.Connection,
    tenant: str,
    queue: str,
    payloads: Sequence[Mapping[str, Any]],
    due_at: datetime | None,
) -> None:
    """Queue rows on ``conn``, in whatever transaction it is in (the outbox uses the entity
    transaction's)."""
    if not payloads:
        return
    now = to_us(utc_now())
    due = now if due_at is None else to_us(due_at)
    conn.executemany(
        "INSERT INTO queue_items (tenant, queue, payload, attempts, due_at, created_at) "
        "VALUES (?, ?, ?, 0, ?, ?)",
        [(tenant, queue, dumps(dict(payload)), due, now) for payload in payloads],
    )


class SQLiteQueues:
    """The queue methods of :class:`~.store.SQLiteStore`."""

    _db: SQLiteConnections

    def enqueue(
        self,
        tenant: str,
        queue: str,
        payloads: Sequence[Mapping[str, Any]],
        *,
        due_at: datetime | None = None,
    ) -> None:
        if not payloads:
            return
        with self._db.write() as conn:
            insert_items(conn, tenant, queue, payloads, due_at)

    def claim(
        self, queue: str, *, worker: str, limit: int, lease: timedelta, now: datetime | None = None
    ) -> list[QueueItem]:
        if limit <= 0:
            return []
        moment = utc_now(now)
        now_us = to_us(moment)
        with self._db.write() as conn:
            rows = conn.execute(
                "UPDATE queue_items SET leased_by = ?, leased_until = ?, attempts = attempts + 1 "
                "WHERE id IN (SELECT id FROM queue_items WHERE queue = ? AND due_at <= ? "
                "AND (leased_until IS NULL OR leased_until <= ?) ORDER BY due_at, id LIMIT ?) "
                f"RETURNING {QUEUE_ITEM_COLUMNS}",
                (worker, to_us(moment + lease), queue, now_us, now_us, limit),
            ).fetchall()
        return claim_order([queue_item_from_row(row, loads, from_us) for row in rows])

    def complete(self, item_ids: Sequence[int]) -> None:
        if not item_ids:
            return
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM queue_items WHERE id IN (SELECT value FROM json_each(?))",
                (dumps([int(i) for i in item_ids]),),
            )

    def retry(self, item_id: int, *, due_at: datetime, error: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE queue_items SET leased_by = NULL, leased_until = NULL, due_at = ?, "
                "last_error = ? WHERE id = ?",
                (to_us(due_at), error, item_id),
            )

    def queue_length(self, queue: str, tenant: str | None = None) -> int:
        if tenant is None:
            row = (
                self._db.reader()
                .execute("SELECT count(*) FROM queue_items WHERE queue = ?", (queue,))
                .fetchone()
            )
        else:
            row = (
                self._db.reader()
                .execute(
                    "SELECT count(*) FROM queue_items WHERE queue = ? AND tenant = ?",
                    (queue, tenant),
                )
                .fetchone()
            )
        return int(row[0])
