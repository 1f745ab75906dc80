"""Which bins to empty: required, optional with a prize, or left for later.

A bin is **required** when its level is ≥ ``must_fill`` (0.8) or its probability of overflowing
before the *next* collection opportunity (if not emptied now) is ≥ ``must_probability`` (0.5),
or its sensor reports ``status`` "full". It is **optional** when its level is ≥
``optional_fill`` (0.6) or that probability is ≥ ``optional_probability`` (0.1); an optional bin
carries a prize in metres of driving (the routing objective trades it against distance):

    prize = overflow_cost_m × P(overflow before the next opportunity) + fill_value_m × level

(defaults 20 000 m and 2 000 m: a detour of up to 20 km is worth making to avoid a certain
overflow; a full bin is worth 2 km on its own). Bins ``dropped`` or ``burning`` are not routed
and are reported for attention; bins without an estimate are reported too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from cetate.domains.waste.entities import WasteContainer
from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.fill_model import FillEstimate

BLOCKED_STATUSES: Final = frozenset({"dropped", "burning"})


@dataclass(frozen=True, slots=True)
class SelectionParams:
    must_fill: float = 0.8
    must_probability: float = 0.5
    optional_fill: float = 0.6
    optional_probability: float = 0.1
    overflow_cost_m: int = 20_000
    fill_value_m: int = 2_000

    def __post_init__(self) -> None:
        for name in ("must_fill", "must_probability", "optional_fill", "optional_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise WasteInputError(f"{name} must be within 0..1 (got {value})")
        if self.optional_fill > self.must_fill:
            raise WasteInputError("optional_fill must not exceed must_fill")
        if self.optional_probability > self.must_probability:
            raise WasteInputError("optional_probability must not exceed must_probability")
        if self.overflow_cost_m < 0 or self.fill_value_m < 0:
            raise WasteInputError("prize weights must be ≥ 0")


@dataclass(frozen=True, slots=True)
class Choice:
    bin_id: str
    required: bool
    prize: int
    level: float
    p_overflow: float
    reason: str


@dataclass(slots=True)
class Selection:
    chosen: list[Choice] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    attention: dict[str, str] = field(default_factory=dict)
    """bin id → why it is not routed (blocked status, no estimate)"""

    @property
    def required(self) -> list[Choice]:
        return [c for c in self.chosen if c.required]

    @property
    def optional(self) -> list[Choice]:
        return [c for c in self.chosen if not c.required]


def select(
    bins: Sequence[WasteContainer],
    estimates: Mapping[str, FillEstimate],
    collect_at: datetime,
    next_opportunity: datetime,
    params: SelectionParams = SelectionParams(),
) -> Selection:
    """Choose the bins of a collection at ``collect_at``; a bin left out waits until
    ``next_opportunity``."""
    if next_opportunity <= collect_at:
        raise WasteInputError("the next collection opportunity must come after this one")
    result = Selection()
    for bin_ in bins:
        if bin_.status in BLOCKED_STATUSES:
            result.attention[bin_.id] = f"status {bin_.status}: not routed"
            continue
        found = estimates.get(bin_.id)
        if found is None:
            result.attention[bin_.id] = "no fill estimate (no readings and no similar bins)"
            continue
        level = min(1.0, max(0.0, found.expected_level(collect_at)))
        risk = found.overflow_probability(next_opportunity)
        if bin_.status == "full" or level >= params.must_fill:
            reason = "reported full" if bin_.status == "full" else f"fill {level:.0%}"
            result.chosen.append(Choice(bin_.id, True, 0, level, risk, reason))
        elif risk >= params.must_probability:
            result.chosen.append(Choice(bin_.id, True, 0, level, risk, f"P(overflow) {risk:.0%}"))
        elif level >= params.optional_fill or risk >= params.optional_probability:
            prize = round(params.overflow_cost_m * risk + params.fill_value_m * level)
            result.chosen.append(Choice(bin_.id, False, prize, level, risk, "optional"))
        else:
            result.left.append(bin_.id)
    return result
