"""Bathing-water classification (Directive 2006/7/EC Annex II) against a hand-worked example."""

from __future__ import annotations

import math

import pytest

from cetate.domains.environment.bathing import classify, percentiles
from cetate.domains.environment.errors import EnvironmentInputError, InsufficientSamples

# Hand-worked: 8 samples of 10 and 8 of 100 cfu/100 ml.
#   log10 values: eight 1s and eight 2s -> μ = 1.5
#   σ (n − 1) = sqrt(16 · 0.25 / 15) = sqrt(4/15) = 0.516398
#   P95 = 10^(1.5 + 1.65 · 0.516398)  = 10^2.352057 = 224.9
#   P90 = 10^(1.5 + 1.282 · 0.516398) = 10^2.162022 = 145.2
MIXED = [10.0] * 8 + [100.0] * 8


def test_percentiles_of_the_hand_worked_example() -> None:
    p = percentiles(MIXED)
    assert p.mean_log10 == pytest.approx(1.5)
    assert p.sd_log10 == pytest.approx(math.sqrt(4 / 15))
    assert p.p95 == pytest.approx(224.9, abs=0.05)
    assert p.p90 == pytest.approx(145.2, abs=0.05)


def test_coastal_classification_of_the_example() -> None:
    # IE: P95 224.9 > 200 (not good), P90 145.2 <= 185 -> sufficient
    # E. coli: P95 224.9 <= 250 -> excellent; the water is as good as its worse parameter
    result = classify("coastal", MIXED, MIXED)
    assert result.enterococci.classification == "sufficient"
    assert result.e_coli.classification == "excellent"
    assert result.classification == "sufficient"
    assert "2006/7/EC" in result.source


def test_inland_classification_of_the_example() -> None:
    # IE: P95 224.9 <= 400 but > 200 -> good; E. coli 224.9 <= 500 -> excellent
    result = classify("inland", MIXED, MIXED)
    assert (result.enterococci.classification, result.e_coli.classification) == (
        "good",
        "excellent",
    )
    assert result.classification == "good"


@pytest.mark.parametrize(
    ("water", "ie", "expected"),
    [
        # a constant set has σ = 0, so both percentiles equal the value: thresholds exactly
        ("coastal", 100.0, "excellent"),
        ("coastal", 100.5, "good"),
        ("coastal", 185.0, "good"),  # P95 = 185 <= 200
        ("coastal", 200.0, "good"),
        ("coastal", 200.5, "poor"),  # P95 > 200 and P90 > 185
        ("inland", 200.0, "excellent"),
        ("inland", 400.0, "good"),
        ("inland", 400.5, "poor"),  # P90 400.5 > 330
        ("transitional", 100.0, "excellent"),
    ],
)
def test_thresholds_are_inclusive(water: str, ie: float, expected: str) -> None:
    assert classify(water, [ie] * 16, [1.0] * 16).classification == expected


def test_e_coli_thresholds() -> None:
    assert classify("coastal", [1.0] * 16, [250.0] * 16).classification == "excellent"
    assert classify("coastal", [1.0] * 16, [500.0] * 16).classification == "good"
    assert classify("coastal", [1.0] * 16, [501.0] * 16).classification == "poor"
    assert classify("inland", [1.0] * 16, [1000.0] * 16).classification == "good"
    assert classify("inland", [1.0] * 16, [1001.0] * 16).classification == "poor"


def test_sufficient_by_the_90_percentile() -> None:
    # coastal IE: P95 above 200 but P90 at most 185 -> sufficient (the example scaled)
    counts = [12.0] * 8 + [120.0] * 8  # P95 = 269.9, P90 = 174.2
    p = percentiles(counts)
    assert p.p95 > 200
    assert p.p90 <= 185
    assert classify("coastal", counts, [1.0] * 16).classification == "sufficient"


def test_sample_count_rules() -> None:
    with pytest.raises(
        InsufficientSamples, match="15 samples, the assessment needs at least 16"
    ) as caught:
        classify("coastal", [10.0] * 15, [10.0] * 16)
    assert caught.value.status == 400
    assert caught.value.problem()["minimum"] == 16
    # a short season (at most eight weeks): 12 are enough, 11 are not
    assert (
        classify("coastal", [10.0] * 12, [10.0] * 12, short_season=True).classification
        == "excellent"
    )
    with pytest.raises(InsufficientSamples, match="needs at least 12"):
        classify("coastal", [10.0] * 11, [10.0] * 12, short_season=True)


def test_zero_counts_need_the_detection_limit() -> None:
    counts = [0.0] + [10.0] * 15
    with pytest.raises(EnvironmentInputError, match="detection limit"):
        classify("coastal", counts, [10.0] * 16)
    result = classify("coastal", counts, [10.0] * 16, detection_limit=1.0)
    assert result.enterococci.percentiles.mean_log10 == pytest.approx(15 / 16)


@pytest.mark.parametrize(
    ("counts", "message"),
    [([-1.0] + [10.0] * 15, "cannot be negative"), (["x"] + [10.0] * 15, "is not a count")],
)
def test_bad_counts(counts: list, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(EnvironmentInputError, match=message):
        classify("coastal", counts, [10.0] * 16)


def test_unknown_water_type() -> None:
    with pytest.raises(EnvironmentInputError, match="unknown water type 'pool'"):
        classify("pool", [10.0] * 16, [10.0] * 16)
