"""The US EPA Air Quality Index (optional), with the PM2.5 breakpoints of the 2024 revision
and the NowCast for particulate matter (``data/us_aqi_2024.json``).

**Conventions** (EPA Technical Assistance Document, 2024): the concentration is *truncated*
to the table's precision (PM2.5 to 0.1 µg/m³, PM10 to 1 µg/m³, O3 to 0.001 ppm, NO2 and SO2
to 1 ppb, CO to 0.1 ppm) and then placed in the breakpoint row whose ``[low, high]`` holds it;
the index is ``(I_hi − I_lo) / (C_hi − C_lo) × (C − C_lo) + I_lo`` rounded to the nearest
integer (halves up). A concentration above the top row extends the top row's line (the
answer is then above 500 and flagged ``beyond_scale``). O3 here is the 8-hour value, which the
EPA defines up to 0.200 ppm; above that the 1-hour O3 table would apply and an error is raised.
SO2 above 304 ppb needs 24-hour averages and is rejected too.

Inputs in µg/m³ for the gases convert to ppb / ppm at 25 °C (:func:`ugm3_to_ppb`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import cache
from typing import Final

from cetate.domains.environment import tables
from cetate.domains.environment.errors import EnvironmentInputError, InsufficientSamples
from cetate.domains.environment.pollutants import LABELS, check_concentration, ugm3_to_ppb

VERSION: Final = "epa-2024"


@dataclass(frozen=True, slots=True)
class Row:
    c_lo: Decimal
    c_hi: Decimal
    i_lo: int
    i_hi: int


@dataclass(frozen=True, slots=True)
class UsAqi:
    pollutant: str
    concentration: Decimal
    """truncated, in the table's unit"""
    aqi: int
    category: str
    beyond_scale: bool = False


@cache
def _table() -> tuple[dict[str, tuple[int, tuple[Row, ...]]], tuple[tuple[int, int, str], ...]]:
    data = tables.load("us_aqi_2024")
    rows: dict[str, tuple[int, tuple[Row, ...]]] = {}
    for pollutant, spec in data["pollutants"].items():
        built = tuple(
            Row(Decimal(str(c[0])), Decimal(str(c[1])), int(i[0]), int(i[1]))
            for c, i in zip(spec["breakpoints"], spec["indices"], strict=True)
        )
        rows[pollutant] = (int(spec["decimals"]), built)
    categories = tuple((int(a), int(b), str(n)) for a, b, n in data["categories"])
    return rows, categories


def category_of(aqi: int) -> str:
    _, categories = _table()
    for low, high, name in categories:
        if low <= aqi <= high:
            return name
    return categories[-1][2]


def sub_index(pollutant: str, concentration: float) -> UsAqi:
    """The AQI of one pollutant; ``concentration`` in the table's unit (µg/m³ for PM, ppm for
    O3 8-hour and CO, ppb for NO2 and SO2)."""
    rows_by_pollutant, _ = _table()
    if pollutant not in rows_by_pollutant:
        raise EnvironmentInputError(
            f"unknown pollutant {pollutant!r} for the US AQI; known: "
            f"{', '.join(rows_by_pollutant)}",
            pollutant=pollutant,
        )
    decimals, rows = rows_by_pollutant[pollutant]
    value = check_concentration(pollutant, concentration)
    quantum = Decimal(1).scaleb(-decimals)
    c = Decimal(repr(value)).quantize(quantum, rounding=ROUND_DOWN)
    top = rows[-1]
    if c > top.c_hi and pollutant in ("o3", "so2"):
        raise EnvironmentInputError(
            f"{LABELS[pollutant]} {c} is above the last row of the table the AQI uses for it "
            f"({top.c_hi}); that range needs another averaging time",
            pollutant=pollutant,
        )
    row = next((r for r in rows if r.c_lo <= c <= r.c_hi), top)
    slope = Decimal(row.i_hi - row.i_lo) / (row.c_hi - row.c_lo)
    aqi = int((slope * (c - row.c_lo) + row.i_lo).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return UsAqi(pollutant, c, aqi, category_of(aqi), beyond_scale=c > top.c_hi)


def gas_sub_index(pollutant: str, ugm3: float) -> UsAqi:
    """The AQI of a gas given in µg/m³ (CO in mg/m³), converted at 25 °C."""
    check_concentration(pollutant, ugm3)
    ppb = ugm3_to_ppb(pollutant, ugm3)
    if pollutant in ("o3", "co"):
        return sub_index(pollutant, ppb / 1000)
    return sub_index(pollutant, ppb)


def overall(concentrations: Mapping[str, float]) -> tuple[int, str, tuple[UsAqi, ...]]:
    """The AQI (the highest sub-index), its category and the sub-indices, from concentrations
    in the tables' units."""
    if not concentrations:
        raise EnvironmentInputError("no concentrations given for the US AQI")
    subs = tuple(sub_index(p, v) for p, v in concentrations.items())
    worst = max(s.aqi for s in subs)
    return worst, category_of(worst), subs


def nowcast(hourly: Sequence[float | None]) -> float:
    """The EPA NowCast of PM2.5 or PM10 from the last 12 hourly values, **most recent first**
    (None for a missing hour).

    weight factor w = min/max of the available values, at least 0.5; NowCast =
    Σ wⁱ⁻¹·cᵢ / Σ wⁱ⁻¹ over the available hours (a missing hour keeps its exponent). At least
    two of the three most recent hours must be present."""
    values = list(hourly[:12])
    if sum(v is not None for v in values[:3]) < 2:
        raise InsufficientSamples(
            "NowCast needs valid values in at least two of the three most recent hours"
        )
    present = [(i, check_concentration("pm", v)) for i, v in enumerate(values) if v is not None]
    highest = max(c for _, c in present)
    lowest = min(c for _, c in present)
    ratio = 1.0 if highest == 0 else lowest / highest
    weight = max(ratio, 0.5)
    numerator = sum(weight**i * c for i, c in present)
    denominator = sum(weight**i for i, _ in present)
    result = numerator / denominator
    return 0.0 if math.isclose(result, 0.0, abs_tol=1e-12) else result
