from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """T0 (2026-11-23 10:00 UTC) plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)
