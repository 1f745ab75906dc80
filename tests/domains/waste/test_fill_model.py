"""The fill model on synthetic histories: emptyings, spikes, stuck sensors, weekday pattern."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from cetate.domains.waste.entities import WasteContainer
from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.fill_model import (
    FillEstimate,
    estimate,
    similar_rate,
    unsensored_estimate,
)

START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)


def history(
    days: int, rate: float, *, empty_every: int = 7, noise: float = 0.0, seed: int = 1
) -> list[tuple[datetime, object]]:
    """A reading every 6 h; the bin fills at ``rate``/day and is emptied every ``empty_every``
    days at 06:00."""
    rng = random.Random(seed)
    out: list[tuple[datetime, object]] = []
    level = 0.05
    for step in range(days * 4):
        at = START + step * 6 * H
        if step > 4 and step % (empty_every * 4) == 1:
            level = 0.02
        out.append((at, round(min(1.0, max(0.0, level + rng.gauss(0, noise))), 3)))
        level += rate / 4
    return out


def test_rate_and_emptyings_from_a_clean_history() -> None:
    readings = history(28, 0.1)
    now = readings[-1][0]
    found = estimate("b", readings, now)
    assert found is not None
    assert found.rate == pytest.approx(0.1, abs=0.005)
    assert len(found.emptyings) == 3
    assert found.flags == []
    assert not found.stuck
    assert found.weekday == pytest.approx((1.0,) * 7, abs=0.05)


def test_noisy_history_still_gives_a_robust_rate() -> None:
    found = estimate("b", history(28, 0.1, noise=0.02), START + timedelta(days=28))
    assert found is not None
    assert found.rate == pytest.approx(0.1, abs=0.015)
    assert found.rate_sd < 0.05


def test_spikes_are_ignored_and_flagged() -> None:
    readings = history(14, 0.1)
    readings[10] = (readings[10][0], 0.95)  # a jump up
    readings[40] = (readings[40][0], 0.0)  # a false emptying that recovers
    found = estimate("b", readings, readings[-1][0])
    assert found is not None
    assert [f.kind for f in found.flags] == ["spike", "spike"]
    assert len(found.emptyings) == 1  # only the real one on day 7
    assert found.rate == pytest.approx(0.1, abs=0.005)


def test_a_stuck_sensor_is_flagged_and_the_level_extrapolated() -> None:
    readings = history(6, 0.1, empty_every=30)
    frozen_at, frozen = readings[-1]
    readings += [(frozen_at + k * 6 * H, frozen) for k in range(1, 13)]  # 3 days unchanged
    now = readings[-1][0]
    found = estimate("b", readings, now)
    assert found is not None
    assert found.stuck
    assert [f.kind for f in found.flags] == ["stuck"]
    assert found.level == pytest.approx(float(frozen) + 0.3, abs=0.02)  # type: ignore[arg-type]


def test_a_stable_bin_is_not_called_stuck() -> None:
    readings = [(START + k * 6 * H, 0.4) for k in range(40)]
    found = estimate("b", readings, readings[-1][0])
    assert found is not None
    assert not found.stuck
    assert found.rate == 0.0
    assert found.days_to_full() is None


def test_bad_readings_are_rejected_with_their_reason() -> None:
    readings = history(7, 0.1, empty_every=30)
    readings += [
        (START + 2 * H, 1.4),
        (START + 3 * H, -0.1),
        (START + 4 * H, "full"),
        (START + timedelta(days=30), 0.5),
    ]
    found = estimate("b", readings, START + timedelta(days=7))
    assert found is not None
    reasons = sorted(f.reason for f in found.flags)
    assert reasons == [
        "fill above 100 %",
        "negative fill",
        "not a number",
        "timestamp in the future",
    ]
    assert found.rate == pytest.approx(0.1, abs=0.005)


def test_too_little_history_gives_no_estimate() -> None:
    assert estimate("b", [(START, 0.2)], START + H) is None
    assert estimate("b", [], START) is None
    with pytest.raises(WasteInputError, match="time zone"):
        estimate("b", [], datetime(2026, 1, 1))


def test_weekday_pattern_when_history_supports_it() -> None:
    # Mondays fill three times as fast as the other days
    readings: list[tuple[datetime, object]] = []
    level = 0.0
    for step in range(35 * 4):
        at = START + step * 6 * H
        if at.weekday() == 3 and at.hour == 0:  # emptied every Thursday at midnight
            level = 0.0
        readings.append((at, round(level, 4)))
        level += (0.3 if at.weekday() == 0 else 0.1) / 4
    found = estimate("b", readings, readings[-1][0])
    assert found is not None
    monday, tuesday = found.weekday[0], found.weekday[1]
    assert monday / tuesday == pytest.approx(3.0, rel=0.1)
    sunday_night = datetime(2026, 11, 8, 23, tzinfo=UTC)
    found.level, found.at = 0.5, sunday_night
    # Sunday 23:00 → Monday 23:00: one hour of Sunday, 23 of Monday
    expected = 0.5 + found.rate * (found.weekday[6] / 24 + found.weekday[0] * 23 / 24)
    assert found.expected_level(sunday_night + 24 * H) == pytest.approx(expected)


def test_short_history_has_no_weekday_pattern() -> None:
    found = estimate("b", history(14, 0.1), START + timedelta(days=14))
    assert found is not None
    assert found.weekday == (1.0,) * 7


def test_overflow_probability() -> None:
    at = START
    e = FillEstimate("b", level=0.7, at=at, rate=0.1, rate_sd=0.03)
    assert e.overflow_probability(at + timedelta(days=3)) == pytest.approx(0.5, abs=0.01)
    p1 = e.overflow_probability(at + timedelta(days=1))
    p2 = e.overflow_probability(at + timedelta(days=2))
    p5 = e.overflow_probability(at + timedelta(days=5))
    assert p1 < 0.01 < p2 < 0.5 < p5
    assert e.overflow_probability(at - H) < 0.01
    assert e.days_to_full() == pytest.approx(3.0)
    wider = FillEstimate("b", level=0.7, at=at, rate=0.1, rate_sd=0.1)
    assert wider.overflow_probability(at + timedelta(days=2)) > p2


def test_bins_without_sensors_take_the_rate_of_similar_bins() -> None:
    def bin_(i: int, kind: str, size: int) -> WasteContainer:
        return WasteContainer(f"b{i}", 46.77, 23.59, size, waste_type=kind)

    bins = {
        b.id: b for b in [bin_(1, "mixed", 1100), bin_(2, "mixed", 1100), bin_(3, "paper", 1100)]
    }
    estimates = {
        "b1": FillEstimate("b1", 0.2, START, 0.10, 0.01),
        "b2": FillEstimate("b2", 0.2, START, 0.20, 0.01),
        "b3": FillEstimate("b3", 0.2, START, 0.90, 0.01),
    }
    unsensored = bin_(4, "mixed", 240)
    found = similar_rate(unsensored, estimates, bins)
    assert found is not None
    rate, sd = found
    assert rate == pytest.approx(0.15)
    assert sd >= 0.35 * rate
    guess = unsensored_estimate(unsensored, rate, sd, START, START + timedelta(days=4))
    assert guess.level == pytest.approx(0.6)
    assert guess.source == "similar bins"
    assert similar_rate(bin_(5, "glass", 240), estimates, bins) is None
