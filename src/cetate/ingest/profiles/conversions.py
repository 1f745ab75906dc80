"""Value conversions of a device profile: linear (``value × scale + offset``) or named.

Arithmetic is done in :class:`decimal.Decimal` on the shortest decimal text of each number and
only the result is turned into a float, so ``57 %`` becomes ``0.57`` rather than
``0.5700000000000001`` (``57 * 0.01`` in binary floating point).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

NamedConversion = Literal[
    "percent_to_fraction",
    "fraction_to_percent",
    "fahrenheit_to_celsius",
    "kelvin_to_celsius",
    "millivolt_to_volt",
    "milliampere_to_ampere",
    "watt_to_kilowatt",
    "watt_hour_to_kilowatt_hour",
    "millimetre_to_metre",
    "centimetre_to_metre",
    "hectopascal_to_kilopascal",
]


@dataclass(frozen=True, slots=True)
class ConversionRule:
    """``(value + before) × multiply / divide + after``; the unit codes it goes between."""

    before: Decimal
    multiply: Decimal
    divide: Decimal
    after: Decimal
    from_unit: str
    to_unit: str
    description: str


def _rule(
    from_unit: str,
    to_unit: str,
    description: str,
    *,
    before: str = "0",
    multiply: str = "1",
    divide: str = "1",
    after: str = "0",
) -> ConversionRule:
    return ConversionRule(
        Decimal(before),
        Decimal(multiply),
        Decimal(divide),
        Decimal(after),
        from_unit,
        to_unit,
        description,
    )


NAMED_CONVERSIONS: Final[dict[str, ConversionRule]] = {
    "percent_to_fraction": _rule("P1", "C62", "value / 100", divide="100"),
    "fraction_to_percent": _rule("C62", "P1", "value × 100", multiply="100"),
    "fahrenheit_to_celsius": _rule(
        "FAH", "CEL", "(value − 32) × 5 / 9", before="-32", multiply="5", divide="9"
    ),
    "kelvin_to_celsius": _rule("KEL", "CEL", "value − 273.15", after="-273.15"),
    "millivolt_to_volt": _rule("2Z", "VLT", "value / 1000", divide="1000"),
    "milliampere_to_ampere": _rule("4K", "AMP", "value / 1000", divide="1000"),
    "watt_to_kilowatt": _rule("WTT", "KWT", "value / 1000", divide="1000"),
    "watt_hour_to_kilowatt_hour": _rule("WHR", "KWH", "value / 1000", divide="1000"),
    "millimetre_to_metre": _rule("MMT", "MTR", "value / 1000", divide="1000"),
    "centimetre_to_metre": _rule("CMT", "MTR", "value / 100", divide="100"),
    "hectopascal_to_kilopascal": _rule("A97", "KPA", "value / 10", divide="10"),
}
"""Every named conversion: name → rule."""


def to_decimal(value: int | float) -> Decimal:
    """The number as a Decimal of its shortest decimal text (``0.1`` → ``Decimal("0.1")``)."""
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(value))


def apply_named(rule: ConversionRule, value: int | float) -> float:
    """The rule applied to a finite number."""
    number = (to_decimal(value) + rule.before) * rule.multiply / rule.divide + rule.after
    return float(number)


def apply_linear(scale: float, offset: float, value: int | float) -> float:
    """``value × scale + offset`` for finite numbers."""
    return float(to_decimal(value) * to_decimal(scale) + to_decimal(offset))


def round_to(value: float, decimals: int) -> float:
    """``value`` rounded half-even to ``decimals`` decimal places, decimally (``0.125`` → 0.12
    with 2 decimals, as its decimal text says, not as its binary value says)."""
    quantum = Decimal(1).scaleb(-decimals)
    try:
        return float(to_decimal(value).quantize(quantum))
    except InvalidOperation:  # more digits than Decimal's precision: nothing to round
        return value
