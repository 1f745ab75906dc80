"""NoiseLevelObserved levels: units, ranges and timestamps (pure; the pages are tested in
test_health_water_pages.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from cetate.domains.environment import stored
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.noise import check_level, reading

NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("unit", [None, "2N"])
def test_levels_in_decibel_are_accepted(unit: str | None) -> None:
    assert check_level("LAeq", 0, unit) == 0.0
    assert check_level("LAmax", 194, unit) == 194.0


@pytest.mark.parametrize(
    ("value", "unit", "message"),
    [
        (55, "GQ", "unit 'GQ' is not decibel"),
        ("loud", "2N", "'loud' is not a number"),
        (True, None, "True is not a number"),
        (float("nan"), None, "nan is not a number"),
        (-1, None, "-1 dB(A) is outside 0…194"),
        (194.5, None, "194.5 dB(A) is outside"),
    ],
)
def test_bad_levels_are_refused(value: Any, unit: str | None, message: str) -> None:
    with pytest.raises(EnvironmentInputError, match=re.escape(message)):
        check_level("LAeq", value, unit)


def _prop(value: Any, observed: str, unit: str | None = "2N") -> list[dict[str, Any]]:
    item: dict[str, Any] = {"type": "Property", "value": value, "observedAt": observed}
    if unit:
        item["unitCode"] = unit
    return [item]


def test_reading_keeps_good_levels_and_says_why_others_are_left_out() -> None:
    entity = {
        "id": "urn:ngsi-ld:NoiseLevelObserved:x:1",
        stored.iri("LAeq"): _prop(58.25, "2026-07-01T11:00:00Z"),
        stored.iri("LAmax"): _prop(71, "2026-07-01T13:00:00Z"),  # after NOW
        stored.iri("dateObservedFrom"): [{"type": "Property", "value": "2026-07-01T10:00:00Z"}],
    }
    got = reading(entity, NOW)
    assert [(level.attribute, level.value) for level in got.levels] == [("LAeq", 58.25)]
    assert got.rejected == ("LAmax: observedAt is in the future",)
    assert got.period == ("2026-07-01T10:00:00Z", None)
    assert got.name == "1"


def test_tables_carry_their_verification_status() -> None:
    """Values entered from memory keep their "unverified" mark until checked (docs, Sources)."""
    from cetate.domains.environment import tables

    for name in ("eaqi_2024", "eaqi_pre2024", "limits_2024_2881", "water_thresholds"):
        assert "UNVERIFIED" in tables.load(name)["verification"], name
    assert tables.load("limits_2008_50_ec")["verification"].startswith("Verified")
