"""Selection thresholds and prizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cetate.domains.waste.entities import WasteContainer
from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.fill_model import FillEstimate
from cetate.domains.waste.selection import SelectionParams, select

NOW = datetime(2026, 11, 24, 6, tzinfo=UTC)
NEXT = NOW + timedelta(days=2)


def bin_(name: str, status: str = "ok") -> WasteContainer:
    return WasteContainer(name, 46.77, 23.59, 1100, status=status)


def est(name: str, level: float, rate: float = 0.0, sd: float = 0.0) -> FillEstimate:
    return FillEstimate(name, level, NOW, rate, sd)


def test_thresholds_and_prizes() -> None:
    bins = [bin_(n) for n in ("full", "risky", "mid", "low", "edge")]
    bins += [bin_("reported", status="full"), bin_("fallen", status="dropped"), bin_("nosensor")]
    estimates = {
        "full": est("full", 0.85),
        "risky": est("risky", 0.5, rate=0.3, sd=0.05),  # 1.1 expected by NEXT
        "mid": est("mid", 0.65, rate=0.1, sd=0.03),  # 0.85 by NEXT: small risk
        "low": est("low", 0.2, rate=0.05, sd=0.01),
        "edge": est("edge", 0.8),
        "reported": est("reported", 0.3),
        "fallen": est("fallen", 0.9),
    }
    s = select(bins, estimates, NOW, NEXT)
    by_id = {c.bin_id: c for c in s.chosen}
    assert sorted(c.bin_id for c in s.required) == ["edge", "full", "reported", "risky"]
    assert by_id["risky"].reason.startswith("P(overflow)")
    assert [c.bin_id for c in s.optional] == ["mid"]
    mid = by_id["mid"]
    assert mid.prize == round(20_000 * mid.p_overflow + 2_000 * 0.65)
    assert s.left == ["low"]
    assert set(s.attention) == {"fallen", "nosensor"}


def test_prize_grows_with_risk() -> None:
    bins = [bin_("a"), bin_("b")]
    estimates = {"a": est("a", 0.6, rate=0.1, sd=0.02), "b": est("b", 0.6, rate=0.15, sd=0.02)}
    s = select(bins, estimates, NOW, NEXT)
    prizes = {c.bin_id: c.prize for c in s.optional}
    assert prizes["b"] > prizes["a"] > 0


def test_custom_thresholds() -> None:
    params = SelectionParams(must_fill=0.9, optional_fill=0.5)
    s = select([bin_("a")], {"a": est("a", 0.85)}, NOW, NEXT, params)
    assert s.required == []
    assert [c.bin_id for c in s.optional] == ["a"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"must_fill": 1.2}, "must_fill must be within 0..1"),
        ({"optional_fill": 0.9}, "optional_fill must not exceed must_fill"),
        ({"optional_probability": 0.7}, "optional_probability must not exceed"),
        ({"overflow_cost_m": -1}, "prize weights"),
    ],
)
def test_bad_parameters(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(WasteInputError, match=message):
        SelectionParams(**kwargs)  # type: ignore[arg-type]


def test_next_opportunity_must_be_later() -> None:
    with pytest.raises(WasteInputError, match="next collection opportunity"):
        select([], {}, NOW, NOW)
