"""Bathing-water classification by Directive 2006/7/EC Annex II (``data/bathing_2006_7_ec.json``).

**Percentile method** (Annex II, point 4 note): take log10 of every enumeration in the
assessment set; μ is their arithmetic mean and σ their standard deviation (sample standard
deviation, n − 1); the upper 90-percentile is ``10^(μ + 1.282 σ)`` and the upper
95-percentile ``10^(μ + 1.65 σ)``. A zero count (below detection) is replaced by the detection
limit of the method, which must then be given.

**Classes**, per parameter (intestinal enterococci, E. coli; cfu/100 ml) and then the worse of
the two: *excellent* when the 95-percentile is at most the excellent value, *good* when the
95-percentile is at most the good value, *sufficient* when the 90-percentile is at most the
sufficient value, *poor* otherwise. Values on a threshold pass it ("equal to or better
than"; compared with a relative tolerance of 10⁻⁹ so that floating-point error in the antilog
does not fail a value on the threshold).

**Sample count** (Article 4 and Annex IV): the assessment set needs at least 16 samples, or 12
for a bathing season of no more than eight weeks or with special geographical constraints.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from cetate.domains.environment import tables
from cetate.domains.environment.errors import EnvironmentInputError, InsufficientSamples

WaterType = Literal["coastal", "inland"]
Parameter = Literal["intestinal_enterococci", "e_coli"]
BathingClass = Literal["excellent", "good", "sufficient", "poor"]
CLASS_ORDER: Final[tuple[BathingClass, ...]] = ("excellent", "good", "sufficient", "poor")
RELATIVE_TOLERANCE: Final = 1e-9
WATER_TYPES: Final = {"coastal": "coastal", "transitional": "coastal", "inland": "inland"}


@dataclass(frozen=True, slots=True)
class Percentiles:
    mean_log10: float
    sd_log10: float
    p90: float
    p95: float


@dataclass(frozen=True, slots=True)
class ParameterAssessment:
    parameter: Parameter
    samples: int
    percentiles: Percentiles
    classification: BathingClass


@dataclass(frozen=True, slots=True)
class BathingAssessment:
    water_type: str
    classification: BathingClass
    enterococci: ParameterAssessment
    e_coli: ParameterAssessment
    source: str


def percentiles(
    counts: Sequence[float], *, detection_limit: float | None = None, parameter: str = "samples"
) -> Percentiles:
    """The Annex II log10 upper 90- and 95-percentiles of ``counts`` (cfu/100 ml)."""
    data = tables.load("bathing_2006_7_ec")
    if len(counts) < 2:
        raise InsufficientSamples(f"{parameter}: at least two samples are needed for a percentile")
    logs: list[float] = []
    for count in counts:
        if (
            isinstance(count, bool)
            or not isinstance(count, int | float)
            or not math.isfinite(count)
        ):
            raise EnvironmentInputError(f"{parameter}: {count!r} is not a count")
        if count < 0:
            raise EnvironmentInputError(f"{parameter}: a count cannot be negative ({count})")
        if count == 0:
            if detection_limit is None or detection_limit <= 0:
                raise EnvironmentInputError(
                    f"{parameter}: a zero count needs the method's detection limit "
                    "(Annex II: use log10 of the detection limit instead)"
                )
            count = detection_limit
        logs.append(math.log10(count))
    mu = statistics.fmean(logs)
    sigma = statistics.stdev(logs)
    return Percentiles(
        mu,
        sigma,
        10 ** (mu + float(data["z90"]) * sigma),
        10 ** (mu + float(data["z95"]) * sigma),
    )


def minimum_samples(short_season: bool = False) -> int:
    """The samples per parameter an assessment needs (16, or 12 for a short season)."""
    data = tables.load("bathing_2006_7_ec")
    return int(data["min_samples_short_season" if short_season else "min_samples"])


def _at_most(value: float, limit: float) -> bool:
    """``value <= limit`` up to floating-point error (10^log10(200) is 200.00000000000003)."""
    return value <= limit * (1 + RELATIVE_TOLERANCE)


def _class(p: Percentiles, limits: dict[str, float]) -> BathingClass:
    if _at_most(p.p95, limits["excellent"]):
        return "excellent"
    if _at_most(p.p95, limits["good"]):
        return "good"
    if _at_most(p.p90, limits["sufficient"]):
        return "sufficient"
    return "poor"


def classify(
    water_type: str,
    enterococci: Sequence[float],
    e_coli: Sequence[float],
    *,
    short_season: bool = False,
    detection_limit: float | None = None,
) -> BathingAssessment:
    """The class of a bathing water over its assessment period.

    ``water_type``: ``coastal``, ``transitional`` (classified as coastal) or ``inland``;
    ``short_season``: the season is at most eight weeks or has special geographical
    constraints (12 samples suffice instead of 16)."""
    data = tables.load("bathing_2006_7_ec")
    kind = WATER_TYPES.get(water_type)
    if kind is None:
        raise EnvironmentInputError(
            f"unknown water type {water_type!r}; known: coastal, transitional, inland"
        )
    minimum = minimum_samples(short_season)
    assessed: list[ParameterAssessment] = []
    parameters: tuple[Parameter, Parameter] = ("intestinal_enterococci", "e_coli")
    for parameter, counts in zip(parameters, (enterococci, e_coli), strict=True):
        if len(counts) < minimum:
            raise InsufficientSamples(
                f"{parameter}: {len(counts)} samples, the assessment needs at least {minimum}"
                + ("" if short_season else " (12 for a season of at most eight weeks)"),
                parameter=parameter,
                samples=len(counts),
                minimum=minimum,
            )
        p = percentiles(counts, detection_limit=detection_limit, parameter=parameter)
        assessed.append(
            ParameterAssessment(
                parameter, len(counts), p, _class(p, data["thresholds"][kind][parameter])
            )
        )
    worst = max(assessed, key=lambda a: CLASS_ORDER.index(a.classification)).classification
    return BathingAssessment(kind, worst, assessed[0], assessed[1], str(data["source"]))
