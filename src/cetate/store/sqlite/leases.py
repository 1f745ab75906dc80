"""Leases (one holder at a time per named job) in the SQLite store: an UPSERT whose update
only happens when the lease expired or is renewed by its holder, in one writer transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from cetate.store.platform_rows import utc_now
from cetate.store.sql_common import to_us
from cetate.store.sqlite.connections import SQLiteConnections


class SQLiteLeases:
    """The lease methods of :class:`~.store.SQLiteStore`."""

    _db: SQLiteConnections

    def acquire_lease(
        self, name: str, holder: str, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        moment = utc_now(now)
        with self._db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at "
                "WHERE leases.expires_at <= ? OR leases.holder = excluded.holder",
                (name, holder, to_us(moment + ttl), to_us(moment)),
            )
            return cursor.rowcount == 1

    def release_lease(self, name: str, holder: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
