"""Dead letters (rejected device messages) in the PostgreSQL store: times are
``timestamptz``, the raw payload ``bytea``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cetate.store.base import DeadLetter
from cetate.store.platform_rows import DEAD_LETTER_COLUMNS, dead_letter_from_row, utc
from cetate.store.postgres.connections import PostgresConnections


def _dead_letter(row: Sequence[Any]) -> DeadLetter:
    return dead_letter_from_row(row, utc)


class PostgresDeadLetters:
    """The dead-letter methods of :class:`~.store.PostgresStore`."""

    _db: PostgresConnections

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
    ) -> int:
        with self._db.connection() as conn:
            row = conn.execute(
                "INSERT INTO dead_letters (tenant, source, device, received_at, reason, detail, "
                "payload) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (tenant, source, device, utc(received_at), reason, detail, bytes(payload)),
            ).fetchone()
        assert row is not None
        return int(row[0])

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
        conditions = ["tenant = %s"]
        params: list[Any] = [tenant]
        if device is not None:
            conditions.append("device = %s")
            params.append(device)
        if reason is not None:
            conditions.append("reason = %s")
            params.append(reason)
        if not include_replayed:
            conditions.append("replayed_at IS NULL")
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE "
                + " AND ".join(conditions)
                + " ORDER BY received_at DESC, id DESC LIMIT %s OFFSET %s",
                (*params, limit, offset),
            ).fetchall()
        return [_dead_letter(row) for row in rows]

    def get_dead_letter(self, tenant: str, dead_letter_id: int) -> DeadLetter | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE tenant = %s AND id = %s",
                (tenant, dead_letter_id),
            ).fetchone()
        return _dead_letter(row) if row else None

    def mark_replayed(self, tenant: str, dead_letter_id: int, at: datetime) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE dead_letters SET replayed_at = %s WHERE tenant = %s AND id = %s",
                (utc(at), tenant, dead_letter_id),
            )

    def count_dead_letters(self, tenant: str) -> dict[str, int]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT reason, count(*) FROM dead_letters WHERE tenant = %s "
                "AND replayed_at IS NULL GROUP BY reason ORDER BY reason",
                (tenant,),
            ).fetchall()
        return {str(reason): int(count) for reason, count in rows}
