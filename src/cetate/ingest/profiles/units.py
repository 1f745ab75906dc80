"""UN/CEFACT Recommendation 20 unit codes, as NGSI-LD ``unitCode`` carries them.

Recommendation 20 lists about two thousand codes; :data:`KNOWN_UNIT_CODES` is the small subset
that smart-city sensors use (air and water quality, waste, lighting, energy, mobility, weather).
A profile may use any other well-formed code (two or three upper-case letters or digits): it is
accepted with a warning, since a typo is more likely than an exotic unit. Anything else (``%``,
``ug/m3``, ``celsius``, lower case) is an error; :func:`suggest_unit_code` proposes the code
that was probably meant.
"""

from __future__ import annotations

import re
from typing import Final

KNOWN_UNIT_CODES: Final[dict[str, str]] = {
    # dimensionless
    "P1": "percent",
    "C62": "unit one: a dimensionless number or fraction",
    # temperature
    "CEL": "degree Celsius",
    "FAH": "degree Fahrenheit",
    "KEL": "kelvin",
    # concentrations (air and water quality)
    "GQ": "microgram per cubic metre",
    "GP": "milligram per cubic metre",
    "59": "part per million",
    "61": "part per billion",
    "M1": "milligram per litre",
    "G42": "microsiemens per centimetre",
    # sound, light
    "2N": "decibel",
    "LUX": "lux",
    "CDL": "candela",
    "A24": "candela per square metre",
    # electricity and energy
    "VLT": "volt",
    "2Z": "millivolt",
    "AMP": "ampere",
    "4K": "milliampere",
    "AMH": "ampere hour",
    "WTT": "watt",
    "KWT": "kilowatt",
    "MAW": "megawatt",
    "WHR": "watt hour",
    "KWH": "kilowatt hour",
    "MWH": "megawatt hour",
    "KVA": "kilovolt-ampere",
    "D54": "watt per square metre",
    "HTZ": "hertz",
    # pressure
    "PAL": "pascal",
    "A97": "hectopascal",
    "KPA": "kilopascal",
    "MBR": "millibar",
    "BAR": "bar",
    # length, speed, angle
    "MMT": "millimetre",
    "CMT": "centimetre",
    "MTR": "metre",
    "KMT": "kilometre",
    "MTS": "metre per second",
    "KMH": "kilometre per hour",
    "KNT": "knot",
    "DD": "degree (angle)",
    # volume, flow, mass
    "LTR": "litre",
    "MTQ": "cubic metre",
    "MQH": "cubic metre per hour",
    "L2": "litre per minute",
    "GRM": "gram",
    "KGM": "kilogram",
    "TNE": "tonne",
    # time
    "SEC": "second",
    "MIN": "minute",
    "HUR": "hour",
    "DAY": "day",
}
"""Accepted without a warning: code → name of the unit."""

UNIT_CODE_SHAPE: Final = re.compile(r"[A-Z0-9]{2,3}")
"""The shape of every Recommendation 20 code."""

_ALIASES: Final[dict[str, str]] = {
    "%": "P1",
    "percent": "P1",
    "pct": "P1",
    "°c": "CEL",
    "degc": "CEL",
    "celsius": "CEL",
    "c": "CEL",
    "°f": "FAH",
    "degf": "FAH",
    "fahrenheit": "FAH",
    "f": "FAH",
    "k": "KEL",
    "kelvin": "KEL",
    "ug/m3": "GQ",
    "µg/m3": "GQ",
    "µg/m³": "GQ",
    "μg/m3": "GQ",
    "μg/m³": "GQ",
    "mg/m3": "GP",
    "mg/m³": "GP",
    "ppm": "59",
    "ppb": "61",
    "mg/l": "M1",
    "us/cm": "G42",
    "µs/cm": "G42",
    "db": "2N",
    "dba": "2N",
    "db(a)": "2N",
    "lx": "LUX",
    "v": "VLT",
    "mv": "2Z",
    "a": "AMP",
    "ma": "4K",
    "w": "WTT",
    "kw": "KWT",
    "wh": "WHR",
    "kwh": "KWH",
    "w/m2": "D54",
    "w/m²": "D54",
    "hz": "HTZ",
    "pa": "PAL",
    "hpa": "A97",
    "kpa": "KPA",
    "mbar": "MBR",
    "mm": "MMT",
    "cm": "CMT",
    "m": "MTR",
    "km": "KMT",
    "m/s": "MTS",
    "km/h": "KMH",
    "l": "LTR",
    "m3": "MTQ",
    "m³": "MTQ",
    "g": "GRM",
    "kg": "KGM",
    "t": "TNE",
    "s": "SEC",
    "h": "HUR",
    "one": "C62",
    "fraction": "C62",
    "ratio": "C62",
}


def suggest_unit_code(text: str) -> str | None:
    """The Recommendation 20 code someone probably meant by ``text`` (``"%"`` → ``P1``,
    ``"cel"`` → ``CEL``), or ``None``."""
    if text.upper() in KNOWN_UNIT_CODES:
        return text.upper()
    return _ALIASES.get(text.strip().lower())


def describe_unit(code: str) -> str:
    """``"P1 (percent)"`` for known codes, the code alone otherwise."""
    name = KNOWN_UNIT_CODES.get(code)
    return f"{code} ({name})" if name else code
