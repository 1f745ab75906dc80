"""The air pollutants the domain knows, their attribute names and unit handling.

Concentrations are in µg/m³ throughout (CO in mg/m³ where a table says so). Gas volume ratios
(ppb, ppm) convert to mass concentrations at the EU reference conditions of Directive
2008/50/EC Annex VI and 2024/2881 (293.15 K, 101.3 kPa; molar volume 24.06 l/mol); the US AQI
converts the other way at 25 °C (24.45 l/mol), as the EPA does.
"""

from __future__ import annotations

import math
from typing import Final, Literal

from cetate.domains.environment.errors import EnvironmentInputError

Pollutant = Literal["pm25", "pm10", "no2", "o3", "so2", "co"]
POLLUTANTS: Final[tuple[Pollutant, ...]] = ("pm25", "pm10", "no2", "o3", "so2", "co")
"""Also the order used to break ties (the first listed is reported first)."""

LABELS: Final[dict[str, str]] = {
    "pm25": "PM2.5",
    "pm10": "PM10",
    "no2": "NO2",
    "o3": "O3",
    "so2": "SO2",
    "co": "CO",
}

MOLAR_MASS: Final[dict[str, float]] = {"no2": 46.0055, "o3": 47.9982, "so2": 64.066, "co": 28.010}
"""g/mol, for ppb ↔ µg/m³ conversions of the gases"""

MOLAR_VOLUME_EU: Final = 24.06
"""l/mol at 293.15 K and 101.3 kPa (EU reporting conditions)"""
MOLAR_VOLUME_EPA: Final = 24.45
"""l/mol at 298.15 K and 101.325 kPa (US EPA)"""


def check_pollutant(name: str) -> Pollutant:
    """``name`` as a known pollutant, or a clear error."""
    for known in POLLUTANTS:
        if name == known:
            return known
    raise EnvironmentInputError(
        f"unknown pollutant {name!r}; known: {', '.join(POLLUTANTS)}", pollutant=name
    )


def check_concentration(pollutant: str, value: float) -> float:
    """A finite, non-negative concentration, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EnvironmentInputError(
            f"{LABELS.get(pollutant, pollutant)} concentration must be a number, got {value!r}",
            pollutant=pollutant,
        )
    number = float(value)
    if not math.isfinite(number):
        raise EnvironmentInputError(
            f"{LABELS.get(pollutant, pollutant)} concentration must be finite, got {value!r}",
            pollutant=pollutant,
        )
    if number < 0:
        raise EnvironmentInputError(
            f"{LABELS.get(pollutant, pollutant)} concentration cannot be negative ({value})",
            pollutant=pollutant,
        )
    return number


def ppb_to_ugm3(pollutant: str, ppb: float, molar_volume: float = MOLAR_VOLUME_EU) -> float:
    """Mass concentration (µg/m³) of a gas given as a volume ratio in ppb."""
    return ppb * _molar_mass(pollutant) / molar_volume


def ugm3_to_ppb(pollutant: str, ugm3: float, molar_volume: float = MOLAR_VOLUME_EPA) -> float:
    """Volume ratio (ppb) of a gas given as a mass concentration in µg/m³."""
    return ugm3 * molar_volume / _molar_mass(pollutant)


def _molar_mass(pollutant: str) -> float:
    try:
        return MOLAR_MASS[pollutant]
    except KeyError:
        raise EnvironmentInputError(
            f"{LABELS.get(pollutant, pollutant)} is not a gas; ppb/ppm do not apply",
            pollutant=pollutant,
        ) from None
