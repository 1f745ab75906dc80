"""Value conversions and the unit-code table."""

from __future__ import annotations

import typing

import pytest

from cetate.ingest.profiles.conversions import (
    NAMED_CONVERSIONS,
    NamedConversion,
    apply_linear,
    apply_named,
    round_to,
)
from cetate.ingest.profiles.units import (
    KNOWN_UNIT_CODES,
    UNIT_CODE_SHAPE,
    describe_unit,
    suggest_unit_code,
)


def test_every_named_conversion_has_a_rule_and_the_other_way_round() -> None:
    assert set(typing.get_args(NamedConversion)) == set(NAMED_CONVERSIONS)


def test_named_conversions_go_between_known_units() -> None:
    for name, rule in NAMED_CONVERSIONS.items():
        assert rule.from_unit in KNOWN_UNIT_CODES, name
        assert rule.to_unit in KNOWN_UNIT_CODES, name


@pytest.mark.parametrize(
    ("name", "given", "expected"),
    [
        ("percent_to_fraction", 63, 0.63),
        ("percent_to_fraction", 57, 0.57),  # 57 * 0.01 is 0.5700000000000001 in floats
        ("percent_to_fraction", 0, 0.0),
        ("percent_to_fraction", 100, 1.0),
        ("percent_to_fraction", 12.5, 0.125),
        ("fraction_to_percent", 0.07, 7.0),  # 0.07 * 100 is 7.000000000000001 in floats
        ("fahrenheit_to_celsius", 212, 100.0),
        ("fahrenheit_to_celsius", 32, 0.0),
        ("fahrenheit_to_celsius", -40, -40.0),
        ("fahrenheit_to_celsius", 98.6, 37.0),
        ("kelvin_to_celsius", 273.15, 0.0),
        ("kelvin_to_celsius", 300, 26.85),
        ("millivolt_to_volt", 3300, 3.3),
        ("millivolt_to_volt", 3, 0.003),
        ("milliampere_to_ampere", 250, 0.25),
        ("watt_to_kilowatt", 1500, 1.5),
        ("watt_hour_to_kilowatt_hour", 123456, 123.456),
        ("millimetre_to_metre", 1234, 1.234),
        ("centimetre_to_metre", 55, 0.55),
        ("hectopascal_to_kilopascal", 1013.25, 101.325),
    ],
)
def test_named_conversions(name: str, given: float, expected: float) -> None:
    assert apply_named(NAMED_CONVERSIONS[name], given) == expected


def test_fahrenheit_to_celsius_of_a_non_terminating_value_is_the_nearest_float() -> None:
    assert apply_named(NAMED_CONVERSIONS["fahrenheit_to_celsius"], 50.5) == 10.277777777777779


@pytest.mark.parametrize(
    ("scale", "offset", "given", "expected"),
    [
        (1.0, 0.0, 42, 42.0),
        (0.01, 0.0, 57, 0.57),
        (0.1, -40.0, 653, 25.3),
        (-1.0, 0.0, 3.5, -3.5),
        (2.0, 0.5, -1, -1.5),
        (1e-3, 0.0, 1e300, 1e297),
    ],
)
def test_linear_conversion(scale: float, offset: float, given: float, expected: float) -> None:
    assert apply_linear(scale, offset, given) == expected


def test_linear_conversion_can_overflow_to_infinity() -> None:
    assert apply_linear(1e300, 0.0, 1e300) == float("inf")


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (0.6349, 2, 0.63),
        (0.635, 2, 0.64),  # decimally half-even: 0.635 → 0.64 (its float is 0.63499…)
        (0.625, 2, 0.62),  # half-even
        (25.333333, 1, 25.3),
        (7.0, 0, 7.0),
        (1e30, 3, 1e30),  # more digits than Decimal's precision: left alone
    ],
)
def test_round_to(value: float, decimals: int, expected: float) -> None:
    assert round_to(value, decimals) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("%", "P1"),
        ("percent", "P1"),
        ("°C", "CEL"),
        ("celsius", "CEL"),
        ("cel", "CEL"),
        ("µg/m³", "GQ"),
        ("ug/m3", "GQ"),
        ("ppm", "59"),
        ("dB", "2N"),
        ("mV", "2Z"),
        ("kWh", "KWH"),
        ("hPa", "A97"),
        ("zzz", None),
    ],
)
def test_suggest_unit_code(text: str, code: str | None) -> None:
    assert suggest_unit_code(text) == code


def test_unit_table_codes_are_well_formed() -> None:
    for code in KNOWN_UNIT_CODES:
        assert UNIT_CODE_SHAPE.fullmatch(code), code
    assert describe_unit("GQ") == "GQ (microgram per cubic metre)"
    assert describe_unit("XYZ") == "XYZ"
