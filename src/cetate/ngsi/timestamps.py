"""Date-times and ISO 8601 durations as NGSI-LD writes them."""

from __future__ import annotations

from datetime import datetime, timedelta


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 date-time (``Z`` or offset; naive means UTC) as an aware UTC datetime.
    Raises :class:`cetate.errors.InvalidRequest` (for query parameters) on bad input."""
    raise NotImplementedError


def format_datetime(moment: datetime) -> str:
    """UTC, milliseconds, ``Z``: ``2026-11-23T10:00:00.000Z``."""
    raise NotImplementedError


def utc_now() -> datetime:
    raise NotImplementedError


def parse_duration(text: str) -> timedelta:
    """ISO 8601 duration (``PT1H``, ``P1D``, ``P1W``, ``PT15M``); months and years are
    rejected with InvalidRequest (no fixed length)."""
    raise NotImplementedError
