"""The European Air Quality Index: every band boundary of every pollutant in each version, the
worst-pollutant rule, the EEA station rule and bad input."""

from __future__ import annotations

import pytest

from cetate.domains.environment import eaqi
from cetate.domains.environment.advice import advice
from cetate.domains.environment.errors import EnvironmentInputError

# Written out from the EEA tables (not read from the data files), so a wrong data file fails.
EXPECTED: dict[str, dict[str, tuple[int, ...]]] = {
    "eea-2024": {
        "pm25": (5, 15, 50, 90, 140),
        "pm10": (15, 45, 120, 195, 270),
        "no2": (10, 25, 60, 100, 150),
        "o3": (60, 100, 120, 160, 180),
        "so2": (20, 40, 125, 190, 275),
    },
    "eea-2021": {
        "pm25": (10, 20, 25, 50, 75),
        "pm10": (20, 40, 50, 100, 150),
        "no2": (40, 90, 120, 230, 340),
        "o3": (50, 100, 130, 240, 380),
        "so2": (100, 200, 350, 500, 750),
    },
    "eea-2017": {
        "pm25": (10, 20, 25, 50),
        "pm10": (20, 35, 50, 100),
        "no2": (40, 100, 200, 400),
        "o3": (80, 120, 180, 240),
        "so2": (100, 200, 350, 500),
    },
}
BAND_NAMES_6 = ("good", "fair", "moderate", "poor", "very-poor", "extremely-poor")

CASES = [
    (version, pollutant, number, bound)
    for version, table in EXPECTED.items()
    for pollutant, bounds in table.items()
    for number, bound in enumerate(bounds, start=1)
]


@pytest.mark.parametrize(("version", "pollutant", "number", "bound"), CASES)
def test_a_value_on_a_breakpoint_falls_in_the_lower_band(
    version: str, pollutant: str, number: int, bound: float
) -> None:
    scale = eaqi.scale(version)
    assert scale.band_of(pollutant, bound) == number
    assert scale.band_of(pollutant, bound + 0.01) == number + 1
    assert scale.band_of(pollutant, bound - 0.01) == number


@pytest.mark.parametrize("version", list(EXPECTED))
def test_zero_is_good_and_the_last_band_is_open(version: str) -> None:
    scale = eaqi.scale(version)
    for pollutant in EXPECTED[version]:
        assert scale.band_of(pollutant, 0) == 1
        assert scale.band_of(pollutant, 1e6) == len(scale.bands)
    assert scale.bands == BAND_NAMES_6[: len(scale.bands)]
    assert scale.source


def test_the_worst_sub_index_decides_and_names_its_pollutant() -> None:
    index = eaqi.station_index({"pm25": 4.0, "pm10": 50.0, "no2": 20.0, "o3": 70.0, "so2": 5.0})
    assert index.band == 3
    assert index.name == "moderate"
    assert index.drivers == ("pm10",)
    assert index.driver == "pm10"
    assert {s.pollutant: s.band for s in index.sub_indices} == {
        "pm25": 1,
        "pm10": 3,
        "no2": 2,
        "o3": 2,
        "so2": 1,
    }


def test_ties_list_every_driving_pollutant_in_fixed_order() -> None:
    index = eaqi.station_index({"o3": 130.0, "no2": 70.0, "pm25": 60.0})
    assert index.band == 4
    assert index.drivers == ("pm25", "no2", "o3")
    assert eaqi.describe(index) == "poor (driven by PM2.5, NO2, O3)"


def test_the_same_hour_differs_between_versions() -> None:
    hour = {"pm25": 12.0, "no2": 45.0, "o3": 40.0}
    assert eaqi.station_index(hour, version="eea-2024").name == "moderate"
    assert eaqi.station_index(hour, version="eea-2021").name == "fair"


def test_background_station_needs_no2_o3_and_pm() -> None:
    index = eaqi.station_index({"pm10": 10.0, "no2": 5.0})
    assert not index.sufficient
    assert index.band is None
    assert index.missing == ("o3",)
    assert eaqi.describe(index) == "insufficient data (missing o3)"
    # either PM fraction satisfies the PM requirement
    assert eaqi.station_index({"pm10": 10.0, "no2": 5.0, "o3": 10.0}).sufficient
    assert eaqi.station_index({"pm25": 3.0, "no2": 5.0, "o3": 10.0}).sufficient
    missing_pm = eaqi.station_index({"no2": 5.0, "o3": 10.0, "so2": 300.0})
    assert missing_pm.missing == ("pm25|pm10",)
    # a hour with a pollutant given as None is "not measured this hour"
    assert not eaqi.station_index({"pm25": 3.0, "no2": None, "o3": 10.0}).sufficient


def test_traffic_station_needs_no2_and_pm_only() -> None:
    index = eaqi.station_index({"pm25": 20.0, "no2": 5.0}, kind="traffic")
    assert index.name == "moderate"
    assert index.drivers == ("pm25",)
    assert eaqi.station_index({"pm25": 20.0, "o3": 5.0}, kind="traffic").missing == ("no2",)


def test_hourly_indices_over_a_series() -> None:
    from datetime import UTC, datetime, timedelta

    h0 = datetime(2026, 5, 1, tzinfo=UTC)
    h1 = h0 + timedelta(hours=1)
    series = {
        "pm25": {h0: 3.0, h1: 95.0},
        "no2": {h0: 5.0, h1: 5.0},
        "o3": {h0: 5.0},
        "co": {h0: 1.0},
    }
    indices = eaqi.hourly_indices(series, [h0, h1])
    assert indices[h0].name == "good"
    assert not indices[h1].sufficient
    assert indices[h1].missing == ("o3",)


@pytest.mark.parametrize(
    ("concentrations", "message"),
    [
        ({"pm25": -1.0, "no2": 1.0, "o3": 1.0}, "cannot be negative"),
        ({"nh3": 1.0}, "unknown pollutant 'nh3'"),
        ({"co": 1.0}, "unknown pollutant 'co' for the European index"),
        ({"pm25": float("nan")}, "must be finite"),
        ({"pm25": "12"}, "must be a number"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_error(concentrations: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(EnvironmentInputError, match=message) as caught:
        eaqi.station_index(concentrations)
    assert caught.value.status == 400
    assert caught.value.problem()["detail"]


def test_unknown_version_and_station_kind() -> None:
    with pytest.raises(EnvironmentInputError, match="unknown index version 'eea-1999'"):
        eaqi.station_index({"pm25": 1.0}, version="eea-1999")
    with pytest.raises(EnvironmentInputError, match="unknown station kind"):
        eaqi.station_index({"pm25": 1.0}, kind="rural")  # type: ignore[arg-type]


def test_health_advice_per_band_in_both_languages() -> None:
    for band in BAND_NAMES_6:
        for lang in ("ro", "en"):
            text = advice(band, lang)
            assert text.general
            assert text.sensitive
            assert text.label
    assert advice("good", "en").label == "Good"
    assert advice("extremely-poor", "ro").sensitive == "Evitați efortul fizic în aer liber."
    assert advice("moderate", "en").general != advice("moderate", "en").sensitive
    with pytest.raises(EnvironmentInputError, match="unknown index band"):
        advice("awful")
    with pytest.raises(EnvironmentInputError, match="unsupported language"):
        advice("good", "de")
