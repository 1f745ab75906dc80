"""Dead letters (rejected device messages) in the SQLite store: times are integer
microseconds, the raw payload a BLOB."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cetate.store.base import DeadLetter
from cetate.store.platform_rows import DEAD_LETTER_COLUMNS, dead_letter_from_row
from cetate.store.sql_common import from_us, to_us
from cetate.store.sqlite.connections import SQLiteConnections


def _dead_letter(row: Sequence[Any]) -> DeadLetter:
    return dead_letter_from_row(row, from_us)


class SQLiteDeadLetters:
    """The dead-letter methods of :class:`~.store.SQLiteStore`."""

    _db: SQLiteConnections

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
        with self._db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO dead_letters (tenant, source, device, received_at, reason, detail, "
                "payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tenant, source, device, to_us(received_at), reason, detail, bytes(payload)),
            )
            return int(cursor.lastrowid or 0)

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
        conditions = ["tenant = ?"]
        params: list[Any] = [tenant]
        if device is not None:
            conditions.append("device = ?")
            params.append(device)
        if reason is not None:
            conditions.append("reason = ?")
            params.append(reason)
        if not include_replayed:
            conditions.append("replayed_at IS NULL")
        rows = (
            self._db.reader()
            .execute(
                f"SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE "
                + " AND ".join(conditions)
                + " ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            )
            .fetchall()
        )
        return [_dead_letter(row) for row in rows]

    def get_dead_letter(self, tenant: str, dead_letter_id: int) -> DeadLetter | None:
        row = (
            self._db.reader()
            .execute(
                f"SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE tenant = ? AND id = ?",
                (tenant, dead_letter_id),
            )
            .fetchone()
        )
        return None if row is None else _dead_letter(row)

    def mark_replayed(self, tenant: str, dead_letter_id: int, at: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE dead_letters SET replayed_at = ? WHERE tenant = ? AND id = ?",
                (to_us(at), tenant, dead_letter_id),
            )

    def count_dead_letters(self, tenant: str) -> dict[str, int]:
        rows = (
            self._db.reader()
            .execute(
                "SELECT reason, count(*) FROM dead_letters WHERE tenant = ? "
                "AND replayed_at IS NULL GROUP BY reason ORDER BY reason",
                (tenant,),
            )
            .fetchall()
        )
        return {str(reason): int(count) for reason, count in rows}
