"""Leases (one holder at a time per named job) in the PostgreSQL store: one ``INSERT … ON
CONFLICT DO UPDATE … WHERE`` that only takes over an expired lease or renews the holder's."""

from __future__ import annotations

from datetime import datetime, timedelta

from cetate.store.platform_rows import utc_now
from cetate.store.postgres.connections import PostgresConnections


class PostgresLeases:
    """The lease methods of :class:`~.store.PostgresStore`."""

    _db: PostgresConnections

    def acquire_lease(
        self, name: str, holder: str, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        moment = utc_now(now)
        with self._db.connection() as conn:
            cursor = conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
                "expires_at = EXCLUDED.expires_at "
                "WHERE leases.expires_at <= %s OR leases.holder = EXCLUDED.holder",
                (name, holder, moment + ttl, moment),
            )
            return cursor.rowcount == 1

    def release_lease(self, name: str, holder: str) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM leases WHERE name = %s AND holder = %s", (name, holder))
