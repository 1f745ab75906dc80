"""Date-times and ISO 8601 durations as NGSI-LD writes them.

Every timestamp the platform stores is UTC with milliseconds and a ``Z``
(``2026-11-23T10:00:00.000Z``), so stored timestamps compare correctly as strings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cetate.errors import InvalidRequest

_FRACTION = re.compile(r"(\.\d+)")


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 date-time (``Z`` or offset; naive means UTC) as an aware UTC datetime.
    Raises :class:`cetate.errors.InvalidRequest` (for query parameters) on bad input.

    Fractions of a second with more than six digits are truncated to microseconds; a plain
    date (``2026-11-23``) is midnight UTC of that day.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest(f"expected an ISO 8601 date-time, got {text!r}")
    raw = text.strip()
    normalised = raw
    if normalised[-1:] in ("Z", "z"):
        normalised = normalised[:-1] + "+00:00"
    # Python accepts at most 6 fraction digits on 3.11 for some forms; trim extra precision.
    normalised = _FRACTION.sub(lambda m: m.group(1)[:7], normalised, count=1)
    try:
        moment = datetime.fromisoformat(normalised)
    except ValueError:
        raise InvalidRequest(
            f"{raw!r} is not an ISO 8601 date-time; "
            "expected for example 2026-11-23T10:00:00Z or 2026-11-23T12:00:00+02:00"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_datetime(moment: datetime) -> str:
    """UTC, milliseconds, ``Z``: ``2026-11-23T10:00:00.000Z``. A naive datetime is taken as
    UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def utc_now() -> datetime:
    """The current moment, aware, in UTC."""
    return datetime.now(UTC)


_DURATION = re.compile(
    r"""
    ^(?P<sign>[-+])?P
    (?:(?P<years>\d+(?:[.,]\d+)?)Y)?
    (?:(?P<months>\d+(?:[.,]\d+)?)M)?
    (?:(?P<weeks>\d+(?:[.,]\d+)?)W)?
    (?:(?P<days>\d+(?:[.,]\d+)?)D)?
    (?:T
        (?:(?P<hours>\d+(?:[.,]\d+)?)H)?
        (?:(?P<minutes>\d+(?:[.,]\d+)?)M)?
        (?:(?P<seconds>\d+(?:[.,]\d+)?)S)?
    )?$
    """,
    re.VERBOSE | re.IGNORECASE,
)


def parse_duration(text: str) -> timedelta:
    """ISO 8601 duration (``PT1H``, ``P1D``, ``P1W``, ``PT15M``, ``PT0.5S``, ``P1DT12H``);
    months and years are rejected with InvalidRequest (no fixed length). Any component may
    carry a decimal fraction (``PT1.5H``); a leading ``-`` gives a negative duration."""
    raw = text.strip() if isinstance(text, str) else ""
    match = _DURATION.match(raw)
    if (
        match is None
        or raw.upper().endswith("T")
        or not any(match.group(k) for k in _DURATION.groupindex if k != "sign")
    ):
        raise InvalidRequest(
            f"{text!r} is not an ISO 8601 duration; expected for example PT1H, PT15M, P1D, "
            "P1W or P1DT12H"
        )
    if match.group("years") or match.group("months"):
        raise InvalidRequest(
            f"duration {text!r} uses years or months, which have no fixed length; "
            "use weeks (W), days (D), hours (H), minutes (M) or seconds (S) instead"
        )

    def part(name: str) -> float:
        value = match.group(name)
        return float(value.replace(",", ".")) if value else 0.0

    result = timedelta(
        weeks=part("weeks"),
        days=part("days"),
        hours=part("hours"),
        minutes=part("minutes"),
        seconds=part("seconds"),
    )
    return -result if match.group("sign") == "-" else result
