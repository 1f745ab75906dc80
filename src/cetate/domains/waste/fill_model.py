"""Fill model per bin from its ``fillingLevel`` history, and the probability that it overflows
before the next collection opportunity.

**Cleaning** (each dropped reading is flagged with its reason, never silently):

* *rejected* — not a number, negative or above 1 (100 %): left out;
* *spike* — one reading that jumps by ≥ ``spike`` (0.25) from both neighbours, which agree with
  each other within 0.1 (a sensor glitch, not a fill or an emptying): left out;
* *stuck* — a run of identical readings (within 0.005) at the end of the history that lasts at
  least ``stuck_hours`` (48 h) over ≥ 4 readings while the bin otherwise fills: the run is left
  out, the estimate is flagged ``stuck`` and the current level is extrapolated from the last
  reading before the run.

**Emptyings** are drops of ≥ ``drop`` (0.2) between consecutive clean readings; they split the
history into fill cycles.

**Rate** (fraction of the bin per day): each cycle spanning ≥ 6 h gets a Theil–Sen slope (the
median of pairwise slopes, robust to noise). The bin's rate is the median of its cycle slopes,
and its spread σ is 1.4826 × their median absolute deviation when there are ≥ 3 cycles; with
fewer, σ = ``prior_cv`` (0.35) × rate. Negative slopes count as 0.

**Weekday pattern**: with ≥ 21 days of history and every weekday seen on ≥ 2 days, factor(w) is
the fill observed on weekday w per hour divided by the overall fill per hour (e.g. 1.4 for a
Monday after a weekend of markets); otherwise all factors are 1.

**Overflow probability** until a time T: with L₀ the current level, E the effective days until T
(elapsed days weighted by the weekday factors) and σ_L = 0.03 the sensor noise,
level(T) ~ Normal(L₀ + r·E, √((σ·E)² + σ_L²)) and P(overflow) = P(level(T) ≥ 1).

**Bins without sensors** take the median rate (and spread) of the estimated bins of the same
waste type — and the same capacity when at least 3 such bins exist — and a level grown from 0
at their last emptying.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from cetate.domains.waste.entities import FILLING_LEVEL, WasteContainer
from cetate.domains.waste.errors import WasteInputError
from cetate.ngsi.timestamps import parse_datetime
from cetate.store.base import ContextStore, EntityQuery, TemporalQuery

DAY: Final = 86400.0
SENSOR_NOISE: Final = 0.03


@dataclass(frozen=True, slots=True)
class FillParams:
    drop: float = 0.2
    spike: float = 0.25
    stuck_hours: float = 48.0
    stuck_min_readings: int = 4
    prior_cv: float = 0.35
    min_cycle_hours: float = 6.0
    weekday_min_days: int = 21


@dataclass(frozen=True, slots=True)
class Flag:
    kind: str
    """rejected | spike | stuck"""
    at: datetime
    value: object
    reason: str


@dataclass(slots=True)
class FillEstimate:
    bin_id: str
    level: float
    """current level (0..1) at ``at``"""
    at: datetime
    rate: float
    """fraction of the bin per day"""
    rate_sd: float
    weekday: tuple[float, ...] = (1.0,) * 7
    """factor per weekday, Monday first"""
    emptyings: list[datetime] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    stuck: bool = False
    source: str = "sensor"
    """sensor | similar bins"""

    def effective_days(self, until: datetime) -> float:
        """Days from ``at`` to ``until``, each weighted by its weekday factor."""
        if until <= self.at:
            return 0.0
        total, moment = 0.0, self.at
        while moment < until:
            next_day = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time())
            step_end = min(until, next_day.replace(tzinfo=moment.tzinfo))
            total += (step_end - moment).total_seconds() / DAY * self.weekday[moment.weekday()]
            moment = step_end
        return total

    def expected_level(self, until: datetime) -> float:
        return self.level + self.rate * self.effective_days(until)

    def overflow_probability(self, until: datetime) -> float:
        """P(level ≥ 1 at ``until``) under the model of the module docstring."""
        days = self.effective_days(until)
        mean = self.level + self.rate * days
        sd = math.hypot(self.rate_sd * days, SENSOR_NOISE)
        return 1.0 - _phi((1.0 - mean) / sd)

    def days_to_full(self) -> float | None:
        """Expected days until full at the mean rate (None when it does not fill)."""
        if self.rate <= 0:
            return None
        return max(0.0, (1.0 - self.level) / self.rate)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def estimate(
    bin_id: str,
    readings: Iterable[tuple[datetime, object]],
    now: datetime,
    params: FillParams = FillParams(),
) -> FillEstimate | None:
    """The fill estimate of one bin from its readings, or None when too few remain."""
    if now.tzinfo is None:
        raise WasteInputError("now needs a time zone")
    flags: list[Flag] = []
    clean: dict[datetime, float] = {}
    for at, value in readings:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            flags.append(Flag("rejected", at, value, "not a number"))
        elif value < 0:
            flags.append(Flag("rejected", at, value, "negative fill"))
        elif value > 1:
            flags.append(Flag("rejected", at, value, "fill above 100 %"))
        elif at > now:
            flags.append(Flag("rejected", at, value, "timestamp in the future"))
        else:
            clean[at] = float(value)
    points = sorted(clean.items())
    points = _drop_spikes(points, params, flags)
    points, stuck = _drop_stuck(points, params, flags)
    if len(points) < 2:
        return None
    cycles, emptyings = _cycles(points, params)
    slopes = [s for s in (_theil_sen(c) for c in cycles if _span_h(c) >= params.min_cycle_hours)]
    slopes = [max(0.0, s) for s in slopes]
    if not slopes:
        return None
    rate = statistics.median(slopes)
    if len(slopes) >= 3:
        mad = statistics.median(abs(s - rate) for s in slopes)
        sd = max(1.4826 * mad, 0.05 * rate)
    else:
        sd = params.prior_cv * rate
    last_at, last_level = points[-1]
    result = FillEstimate(
        bin_id,
        level=last_level,
        at=last_at,
        rate=rate,
        rate_sd=sd,
        weekday=_weekday_factors(cycles, rate, params),
        emptyings=emptyings,
        flags=flags,
        stuck=stuck,
    )
    if now > last_at:
        result.level = min(1.0, result.expected_level(now))
        result.at = now
    return result


def _span_h(points: Sequence[tuple[datetime, float]]) -> float:
    return (points[-1][0] - points[0][0]).total_seconds() / 3600.0


def _drop_spikes(
    points: list[tuple[datetime, float]], params: FillParams, flags: list[Flag]
) -> list[tuple[datetime, float]]:
    kept: list[tuple[datetime, float]] = []
    for i, (at, value) in enumerate(points):
        if 0 < i < len(points) - 1:
            before, after = points[i - 1][1], points[i + 1][1]
            if (
                abs(before - after) < 0.1
                and abs(value - before) >= params.spike
                and abs(value - after) >= params.spike
            ):
                flags.append(Flag("spike", at, value, "isolated jump, neighbours agree"))
                continue
        kept.append((at, value))
    return kept


def _drop_stuck(
    points: list[tuple[datetime, float]], params: FillParams, flags: list[Flag]
) -> tuple[list[tuple[datetime, float]], bool]:
    if len(points) < params.stuck_min_readings + 2:
        return points, False
    last = points[-1][1]
    start = len(points) - 1
    while start > 0 and abs(points[start - 1][1] - last) <= 0.005:
        start -= 1
    run = points[start:]
    hours = _span_h(run)
    rest = points[:start]
    fills_otherwise = len(rest) >= 2 and max(v for _, v in rest) - min(v for _, v in rest) > 0.05
    if len(run) >= params.stuck_min_readings and hours >= params.stuck_hours and fills_otherwise:
        flags.append(
            Flag("stuck", run[0][0], last, f"same reading for {hours:.0f} h ({len(run)} readings)")
        )
        return [*rest, run[0]], True
    return points, False


def _cycles(
    points: list[tuple[datetime, float]], params: FillParams
) -> tuple[list[list[tuple[datetime, float]]], list[datetime]]:
    cycles: list[list[tuple[datetime, float]]] = [[points[0]]]
    emptyings: list[datetime] = []
    for prev, cur in itertools.pairwise(points):
        if prev[1] - cur[1] >= params.drop:
            emptyings.append(cur[0])
            cycles.append([cur])
        else:
            cycles[-1].append(cur)
    return [c for c in cycles if len(c) >= 2], emptyings


def _theil_sen(points: Sequence[tuple[datetime, float]]) -> float:
    """Median pairwise slope, per day."""
    step = max(1, len(points) // 60)  # at most ~60 points: O(n²) stays small
    sample = points[::step]
    slopes = []
    for i, (t1, v1) in enumerate(sample):
        for t2, v2 in sample[i + 1 :]:
            dt = (t2 - t1).total_seconds() / DAY
            if dt > 0:
                slopes.append((v2 - v1) / dt)
    return statistics.median(slopes) if slopes else 0.0


def _weekday_factors(
    cycles: list[list[tuple[datetime, float]]], rate: float, params: FillParams
) -> tuple[float, ...]:
    flat = (1.0,) * 7
    if rate <= 0 or not cycles:
        return flat
    first, last = cycles[0][0][0], cycles[-1][-1][0]
    if (last - first).days < params.weekday_min_days:
        return flat
    fill = [0.0] * 7
    hours = [0.0] * 7
    days: list[set[object]] = [set() for _ in range(7)]
    for cycle in cycles:
        for (t1, v1), (t2, v2) in itertools.pairwise(cycle):
            mid = t1 + (t2 - t1) / 2
            w = mid.weekday()
            fill[w] += max(0.0, v2 - v1)
            hours[w] += (t2 - t1).total_seconds() / 3600
            days[w].add(mid.date())
    if any(len(d) < 2 or h <= 0 for d, h in zip(days, hours, strict=True)):
        return flat
    per_hour = sum(fill) / sum(hours)
    if per_hour <= 0:
        return flat
    return tuple((f / h) / per_hour for f, h in zip(fill, hours, strict=True))


def similar_rate(
    bin_: WasteContainer,
    estimates: Mapping[str, FillEstimate],
    bins: Mapping[str, WasteContainer],
) -> tuple[float, float] | None:
    """(rate, σ) of the estimated bins like ``bin_`` (see the module docstring)."""
    same_type = [
        e
        for b_id, e in estimates.items()
        if b_id in bins and bins[b_id].waste_type == bin_.waste_type
    ]
    same_size = [e for e in same_type if bins[e.bin_id].capacity_l == bin_.capacity_l]
    pool = same_size if len(same_size) >= 3 else same_type
    if not pool:
        return None
    rates = [e.rate for e in pool]
    rate = statistics.median(rates)
    spread = statistics.pstdev(rates) if len(rates) > 1 else 0.0
    return rate, max(spread, 0.35 * rate)


def unsensored_estimate(
    bin_: WasteContainer, rate: float, sd: float, last_emptied: datetime, now: datetime
) -> FillEstimate:
    """A bin without a sensor: level grown from 0 at ``last_emptied`` at the similar bins' rate."""
    days = max(0.0, (now - last_emptied).total_seconds() / DAY)
    return FillEstimate(
        bin_.id,
        level=min(1.0, rate * days),
        at=now,
        rate=rate,
        rate_sd=sd,
        source="similar bins",
    )


def fill_histories(
    store: ContextStore,
    tenant: str,
    bin_ids: Sequence[str],
    start: datetime,
    end: datetime,
) -> dict[str, list[tuple[datetime, object]]]:
    """bin id → its (observedAt, fillingLevel) readings in [start, end), from the temporal API.
    Instances without a valid ``observedAt`` are skipped."""
    if start.tzinfo is None or end.tzinfo is None:
        raise WasteInputError("start and end need a time zone")
    out: dict[str, list[tuple[datetime, object]]] = {b: [] for b in bin_ids}
    for offset in range(0, len(bin_ids), 100):
        chunk = tuple(bin_ids[offset : offset + 100])
        query = TemporalQuery(
            entities=EntityQuery(ids=chunk, limit=len(chunk)),
            timerel="between",
            time_at=start,
            end_time_at=end,
            attrs=frozenset({FILLING_LEVEL}),
        )
        for entity in store.query_temporal(tenant, query):
            for instance in entity.history.get(FILLING_LEVEL, []):
                stamp = instance.get("observedAt")
                try:
                    at = parse_datetime(str(stamp))
                except Exception:  # noqa: S112 - an instance without a time cannot be placed
                    continue
                out.setdefault(entity.id, []).append((at, instance.get("value")))
    return out
