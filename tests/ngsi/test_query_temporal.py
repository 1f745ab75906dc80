"""``q`` and typed date-time, date and time values: literals (valid and malformed), temporal
keys, and evaluation on stored form."""

from __future__ import annotations

from typing import Any

import pytest

from cetate.errors import InvalidRequest
from cetate.ngsi.query_ast import Comparison
from cetate.ngsi.query_language import (
    INVALID_TEMPORAL_KEY,
    TemporalValue,
    evaluate_q,
    literal_temporal_key,
    parse_q,
    temporal_index_key,
    temporal_key,
    typed_temporal_value,
)


@pytest.mark.parametrize(
    ("kind", "text", "key"),
    [
        ("DateTime", "2026-01-01T00:00:00Z", "dt:2026-01-01T00:00:00.000Z"),
        ("DateTime", "2026-01-01T02:00:00+02:00", "dt:2026-01-01T00:00:00.000Z"),
        ("DateTime", "2026-01-01T00:00:00-0130", "dt:2026-01-01T01:30:00.000Z"),
        ("DateTime", "2026-01-01t00:00z", "dt:2026-01-01T00:00:00.000Z"),
        ("DateTime", "2026-01-01T00:00:00", "dt:2026-01-01T00:00:00.000Z"),
        ("DateTime", "2026-01-01T00:00:00.98765Z", "dt:2026-01-01T00:00:00.987Z"),
        ("DateTime", "0999-01-01T00:00:00Z", "dt:0999-01-01T00:00:00.000Z"),
        ("DateTime", "2024-02-29T00:00:00Z", "dt:2024-02-29T00:00:00.000Z"),
        ("DateTime", "2025-02-29T00:00:00Z", None),
        ("DateTime", "2026-01-01T24:00:00Z", None),
        ("DateTime", "2026-01-01T10:00:60Z", None),
        ("DateTime", "2026-01-01T10:00:00+24:00", None),
        ("DateTime", "0001-01-01T00:00:00+01:00", None),
        ("DateTime", "2026-01-01", None),
        ("Date", "2026-01-01", "d:2026-01-01"),
        ("Date", "2026-02-30", None),
        ("Date", "2026-01-01T00:00:00Z", None),
        ("Time", "08:30", "t:08:30:00.000"),
        ("Time", "08:30:15.5Z", "t:08:30:15.500"),
        ("Time", "01:00:00+02:00", "t:23:00:00.000"),
        ("Time", "23:30:00-01:00", "t:00:30:00.000"),
        ("Time", "24:00", None),
    ],
)
def test_temporal_keys(kind: Any, text: str, key: str | None) -> None:
    assert temporal_key(kind, text) == key


def test_keys_of_a_kind_sort_as_moments() -> None:
    moments = ["0999-12-31T23:59:59Z", "2026-01-01T01:00:00+02:00", "2026-01-01T00:30:00Z"]
    keys = [temporal_key("DateTime", moment) for moment in moments]
    assert keys == sorted(keys)  # type: ignore[type-var]


def test_literals_name_their_kind() -> None:
    assert literal_temporal_key("2026-01-01T00:00:00Z") == (
        "DateTime",
        "dt:2026-01-01T00:00:00.000Z",
    )
    assert literal_temporal_key("2026-01-01") == ("Date", "d:2026-01-01")
    assert literal_temporal_key("10:00") == ("Time", "t:10:00:00.000")
    assert literal_temporal_key("full") is None
    assert literal_temporal_key(2026) is None


def test_typed_values() -> None:
    assert typed_temporal_value({"@type": "DateTime", "@value": "2026-01-01T00:00:00Z"}) == (
        TemporalValue("DateTime", "dt:2026-01-01T00:00:00.000Z")
    )
    assert typed_temporal_value({"@type": "xsd:date", "@value": "2026-01-01"}) == TemporalValue(
        "Date", "d:2026-01-01"
    )
    assert typed_temporal_value({"@type": "Duration", "@value": "PT1H"}) is None
    assert typed_temporal_value("2026-01-01T00:00:00Z") is None
    assert temporal_index_key({"@type": "DateTime", "@value": "yesterday"}) == (
        INVALID_TEMPORAL_KEY
    )
    assert temporal_index_key({"@type": "Time", "@value": 8}) == INVALID_TEMPORAL_KEY


def test_unquoted_date_times_are_normalised_to_utc() -> None:
    node = parse_q("a>=2026-01-01T02:00:00+02:00")
    assert isinstance(node, Comparison)
    assert node.value == "2026-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("a>2026-13-01T00:00:00Z", 3, "'2026-13-01T00:00:00Z' is not a valid date-time"),
        ("a>2026-01-01T25:00Z", 3, "'2026-01-01T25:00Z' is not a valid date-time"),
        ("a>2026-01-01T10:00:00+25:00", 3, "is not a valid date-time"),
        ("a>2026-01-01T10:00:00ZZ", 3, "is not a valid date-time"),
        ("a==1;b==2026-1-1T00:00:00Z", 9, "is not a valid date-time"),
        ("a==2026-01-01T00:00:00Z..2026-02-30T00:00:00Z", 26, "is not a valid date-time"),
        ("a==2026-02-30", 4, "'2026-02-30' is not a valid date"),
        ("a==2026-1-5", 4, "'2026-1-5' is not a valid date"),
        ("a<24:00", 3, "'24:00' is not a valid time"),
        ("a<9:00", 3, "'9:00' is not a valid time"),
    ],
)
def test_malformed_temporal_literals_are_refused(text: str, position: int, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_q(text)
    assert f"position {position}:" in caught.value.detail
    assert message in caught.value.detail
    assert "e.g." in caught.value.detail


def test_quoted_malformed_date_time_is_a_plain_string() -> None:
    node = parse_q('a<"2026-02-30T00:00:00Z"')
    assert isinstance(node, Comparison)
    assert node.value == "2026-02-30T00:00:00Z"


def typed(text: str, type_name: str = "DateTime") -> dict[str, Any]:
    return {"type": "Property", "value": {"@type": type_name, "@value": text}}


@pytest.fixture
def doc() -> dict[str, Any]:
    return {
        "id": "urn:x",
        "type": ["T"],
        "when": [typed("2026-01-01T02:00:00+02:00")],
        "day": [typed("2026-01-01", "Date")],
        "at": [typed("08:30:00Z", "https://uri.etsi.org/ngsi-ld/Time")],
        "bad": [typed("2026-02-30T00:00:00Z")],
        "both": [typed("2020-01-01T00:00:00Z"), typed("2030-01-01T00:00:00Z")],
        "text": [{"type": "Property", "value": "2026-01-01T00:00:00.000Z"}],
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("when==2026-01-01T00:00:00Z", True),
        ('when=="2026-01-01T00:00:00Z"', True),
        ("when==2026-01-01T03:00:00+03:00", True),
        ("when!=2026-01-01T00:00:00Z", False),
        ("when!=2026-01-01T00:00:01Z", True),
        ("when>2025-12-31T23:59:59.999Z", True),
        ("when>2026-01-01T00:00:00Z", False),
        ("when>=2026-01-01T00:00:00Z", True),
        ("when<2026-01-01T00:00:00.001Z", True),
        ("when<2026-01-01T00:00:00Z", False),
        ("when<=2026-01-01T00:00:00Z", True),
        ("when==2025-01-01T00:00:00Z..2026-01-01T00:00:00Z", True),
        ("when==2026-01-01T00:00:01Z..2027-01-01T00:00:00Z", False),
        ("when!=2026-01-01T00:00:01Z..2027-01-01T00:00:00Z", True),
        ("when!=2025-01-01T00:00:00Z..2026-01-01", False),
        ("when==2025-01-01T00:00:00Z,2026-01-01T00:00:00Z", True),
        ("when!=2025-01-01T00:00:00Z,2026-01-01T00:00:00Z", False),
        ('when!="x",2025-01-01T00:00:00Z', True),
        ('when!="x"', False),
        ("when==2026-01-01", False),
        ("when==1", False),
        ("when~=2026", False),
        ("when!~=2026", False),
        ("when", True),
        ("day==2026-01-01", True),
        ("day>2025-12-31", True),
        ('day<"2026-01-02"', True),
        ("day==2026-01-01T00:00:00Z", False),
        ("at==08:30", True),
        ("at==10:30:00+02:00", True),
        ("at>08:29:59.999", True),
        ("at<08:30", False),
        ("bad==2026-03-02T00:00:00Z", False),
        ("bad!=2026-03-02T00:00:00Z", False),
        ("bad", True),
        ("both>2029-01-01T00:00:00Z", True),
        ("both<2021-01-01T00:00:00Z", True),
        ("both==2025-01-01T00:00:00Z", False),
        ("both!=2020-01-01T00:00:00Z", True),
        ("text==2026-01-01T00:00:00Z", True),
        ("text>2025-01-01T00:00:00Z", True),
    ],
)
def test_evaluation_of_typed_values(q: str, expected: bool, doc: dict[str, Any]) -> None:
    assert evaluate_q(parse_q(q), doc) is expected
