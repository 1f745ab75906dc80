"""Date-times and ISO 8601 durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cetate.errors import InvalidRequest
from cetate.ngsi.timestamps import format_datetime, parse_datetime, parse_duration, utc_now


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T10:00:00Z", datetime(2026, 11, 23, 10, tzinfo=UTC)),
        ("2026-11-23T10:00:00.000Z", datetime(2026, 11, 23, 10, tzinfo=UTC)),
        ("2026-11-23T10:00:00z", datetime(2026, 11, 23, 10, tzinfo=UTC)),
        ("2026-11-23T12:00:00+02:00", datetime(2026, 11, 23, 10, tzinfo=UTC)),
        ("2026-11-23T05:30:00-04:30", datetime(2026, 11, 23, 10, tzinfo=UTC)),
        ("2026-11-23T10:00:00", datetime(2026, 11, 23, 10, tzinfo=UTC)),
        ("2026-11-23T10:00", datetime(2026, 11, 23, 10, tzinfo=UTC)),
        ("2026-11-23", datetime(2026, 11, 23, tzinfo=UTC)),
        (" 2026-11-23T10:00:00Z ", datetime(2026, 11, 23, 10, tzinfo=UTC)),
        (
            "2026-11-23T10:00:00.123456789Z",
            datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC),
        ),
        ("2026-11-23T10:00:00.5Z", datetime(2026, 11, 23, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_parse_datetime(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["", "   ", "yesterday", "2026-13-01T00:00:00Z", "2026-11-23T25:00:00Z", "23/11/2026"]
)
def test_parse_datetime_rejects(text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_datetime(text)
    assert "ISO 8601" in caught.value.detail


def test_format_datetime() -> None:
    assert format_datetime(datetime(2026, 11, 23, 10, tzinfo=UTC)) == "2026-11-23T10:00:00.000Z"
    assert (
        format_datetime(
            datetime(2026, 11, 23, 12, 0, 0, 123999, tzinfo=timezone(timedelta(hours=2)))
        )
        == "2026-11-23T10:00:00.123Z"
    )
    assert format_datetime(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"


def test_round_trip_and_string_order() -> None:
    earlier = format_datetime(parse_datetime("2026-01-01T00:00:00Z"))
    later = format_datetime(parse_datetime("2026-01-01T00:00:00.001Z"))
    assert earlier < later
    assert parse_datetime(earlier) == datetime(2026, 1, 1, tzinfo=UTC)


def test_utc_now_is_aware_and_current() -> None:
    before = datetime.now(UTC)
    now = utc_now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT1H", timedelta(hours=1)),
        ("PT15M", timedelta(minutes=15)),
        ("PT30S", timedelta(seconds=30)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("PT1,25S", timedelta(seconds=1.25)),
        ("P1D", timedelta(days=1)),
        ("P1W", timedelta(weeks=1)),
        ("P2W3D", timedelta(days=17)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P1DT2H3M4.5S", timedelta(days=1, hours=2, minutes=3, seconds=4.5)),
        ("PT1.5H", timedelta(minutes=90)),
        ("pt1h", timedelta(hours=1)),
        ("-PT1H", timedelta(hours=-1)),
        ("PT0S", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "1H", "PT1X", "P1H", "PTH", "P1.D"])
def test_parse_duration_rejects_bad_syntax(text: str) -> None:
    with pytest.raises(InvalidRequest, match="not an ISO 8601 duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P1Y2M", "P1MT1H"])
def test_parse_duration_rejects_months_and_years(text: str) -> None:
    with pytest.raises(InvalidRequest, match="no fixed length"):
        parse_duration(text)
