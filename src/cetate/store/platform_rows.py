"""Rows of the records, queue, dead-letter and lease tables as the dataclasses of :mod:`.base`.

Both backends select the same columns in the same order; only how a column is stored differs
(JSON text or JSONB, integer microseconds or ``timestamptz``, BLOB or ``bytea``), so the caller
hands in how to decode a JSON column and a time column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from cetate.store.base import DeadLetter, QueueItem, Record

RECORD_COLUMNS: Final = "tenant, kind, key, data, version, updated_at, lookup"
QUEUE_ITEM_COLUMNS: Final = "id, tenant, queue, payload, attempts, due_at, created_at, last_error"
DEAD_LETTER_COLUMNS: Final = (
    "id, tenant, source, device, received_at, reason, detail, payload, replayed_at"
)

DecodeJson = Callable[[Any], Any]
DecodeTime = Callable[[Any], datetime]


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one is taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_now(now: datetime | None = None) -> datetime:
    """``now`` (as UTC) when given, else the current time."""
    return datetime.now(UTC) if now is None else utc(now)


def record_from_row(row: Sequence[Any], json: DecodeJson, time: DecodeTime) -> Record:
    """A row of :data:`RECORD_COLUMNS`."""
    return Record(
        tenant=row[0],
        kind=row[1],
        key=row[2],
        data=json(row[3]),
        version=int(row[4]),
        updated_at=time(row[5]),
        lookup=row[6],
    )


def queue_item_from_row(row: Sequence[Any], json: DecodeJson, time: DecodeTime) -> QueueItem:
    """A row of :data:`QUEUE_ITEM_COLUMNS`."""
    return QueueItem(
        id=int(row[0]),
        tenant=row[1],
        queue=row[2],
        payload=json(row[3]),
        attempts=int(row[4]),
        due_at=time(row[5]),
        created_at=time(row[6]),
        last_error=row[7],
    )


def claim_order(items: list[QueueItem]) -> list[QueueItem]:
    """Claimed items oldest due first (``UPDATE … RETURNING`` does not keep an order)."""
    return sorted(items, key=lambda item: (item.due_at, item.id))


def dead_letter_from_row(row: Sequence[Any], time: DecodeTime) -> DeadLetter:
    """A row of :data:`DEAD_LETTER_COLUMNS`."""
    return DeadLetter(
        id=int(row[0]),
        tenant=row[1],
        source=row[2],
        device=row[3],
        received_at=time(row[4]),
        reason=row[5],
        detail=row[6],
        payload=bytes(row[7]),
        replayed_at=None if row[8] is None else time(row[8]),
    )
