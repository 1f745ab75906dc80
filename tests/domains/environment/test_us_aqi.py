"""The US EPA AQI (2024 PM2.5 breakpoints) and the NowCast."""

from __future__ import annotations

import pytest

from cetate.domains.environment import us_aqi
from cetate.domains.environment.errors import EnvironmentInputError, InsufficientSamples

PM25_ROWS = [  # (C_lo, C_hi, I_lo, I_hi), EPA 2024
    (0.0, 9.0, 0, 50),
    (9.1, 35.4, 51, 100),
    (35.5, 55.4, 101, 150),
    (55.5, 125.4, 151, 200),
    (125.5, 225.4, 201, 300),
    (225.5, 325.4, 301, 500),
]


@pytest.mark.parametrize(("c_lo", "c_hi", "i_lo", "i_hi"), PM25_ROWS)
def test_pm25_breakpoints_map_to_the_row_ends(
    c_lo: float, c_hi: float, i_lo: int, i_hi: int
) -> None:
    assert us_aqi.sub_index("pm25", c_lo).aqi == i_lo
    assert us_aqi.sub_index("pm25", c_hi).aqi == i_hi


def test_truncation_and_categories() -> None:
    # 9.09 truncates to 9.0 (good, 50), not into the next row
    assert us_aqi.sub_index("pm25", 9.09).aqi == 50
    assert us_aqi.sub_index("pm25", 9.1).category == "moderate"
    # 12.0: (100-51)/(35.4-9.1)*(12.0-9.1)+51 = 56.40 -> 56
    assert us_aqi.sub_index("pm25", 12.0).aqi == 56
    assert us_aqi.sub_index("pm10", 154.9).aqi == 100
    assert us_aqi.sub_index("pm10", 155).category == "unhealthy-for-sensitive-groups"
    assert us_aqi.sub_index("no2", 100).aqi == 100
    assert us_aqi.sub_index("o3", 0.0709).aqi == 100
    top = us_aqi.sub_index("pm25", 400.0)
    assert top.beyond_scale
    assert top.aqi > 500
    assert top.category == "hazardous"


def test_overall_is_the_highest_sub_index() -> None:
    aqi, category, subs = us_aqi.overall({"pm25": 40.0, "no2": 30})
    assert aqi == us_aqi.sub_index("pm25", 40.0).aqi == 112
    assert category == "unhealthy-for-sensitive-groups"
    assert len(subs) == 2


def test_gases_in_ugm3_convert_at_25_degrees() -> None:
    # 188 µg/m³ NO2 × 24.45 / 46.0055 = 99.9 ppb -> truncated 99 -> AQI 99
    assert us_aqi.gas_sub_index("no2", 188.0).aqi == 99


def test_nowcast_worked_example() -> None:
    # min/max = 10/40 = 0.25 -> w = 0.5
    # (40 + 0.5·30 + 0.25·20 + 0.125·10) / (1 + 0.5 + 0.25 + 0.125) = 61.25 / 1.875
    assert us_aqi.nowcast([40, 30, 20, 10]) == pytest.approx(32.6667, abs=1e-4)
    # steady air: w = 1, a plain mean; a missing hour keeps its exponent
    assert us_aqi.nowcast([10, None, 10, 10]) == pytest.approx(10.0)
    # min/max = 0.8 -> w = 0.8: (10 + 0.8·8) / 1.8
    assert us_aqi.nowcast([10, 8]) == pytest.approx(16.4 / 1.8)


def test_nowcast_needs_two_of_the_three_latest_hours() -> None:
    with pytest.raises(InsufficientSamples, match="two of the three most recent hours"):
        us_aqi.nowcast([10, None, None, 10, 10])


def test_bad_input() -> None:
    with pytest.raises(EnvironmentInputError, match="cannot be negative"):
        us_aqi.sub_index("pm25", -0.1)
    with pytest.raises(EnvironmentInputError, match="unknown pollutant 'nh3'"):
        us_aqi.sub_index("nh3", 1)
    with pytest.raises(EnvironmentInputError, match="needs another averaging time"):
        us_aqi.sub_index("o3", 0.25)
    with pytest.raises(EnvironmentInputError, match="not a gas"):
        us_aqi.gas_sub_index("pm25", 10)
    with pytest.raises(EnvironmentInputError, match="no concentrations"):
        us_aqi.overall({})
