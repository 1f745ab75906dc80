"""Bathing sites and their seasons, from stored entities (Directive 2006/7/EC).

**Model.** A bathing site is a ``BathingWater`` entity (name, location, ``waterType``
``coastal`` / ``transitional`` / ``inland``, optional ``shortSeason`` true). Each lab sample is
one observation of the site: the Properties ``intestinalEnterococci`` and ``escherichiaColi``
(cfu/100 ml; ``unitCode`` absent or ``cfu/100ml``) written with the sampling time as
``observedAt``, so the samples are the temporal history of the site entity. Chosen over one
entity per sample because a sample has no life of its own (it is never updated or related to
anything but its site), the season is then one temporal query by time range, and the rules
engine and open data already work on attribute histories. A sample's two counts carry the same
``observedAt``; a count without its partner still counts for its parameter.

**Season page** (:func:`season`): the samples of calendar year ``year`` and the classification
by :func:`.bathing.classify` over the **assessment period** — that season and the three before
(Directive 2006/7/EC Article 4(2)) — with the percentiles of each parameter, or why there is no
class (the sample-count rule: at least 16 samples per parameter, 12 for a short season).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from cetate.domains.environment import bathing, stored
from cetate.domains.environment.errors import EnvironmentInputError, InsufficientSamples
from cetate.errors import CetateError
from cetate.ngsi.timestamps import parse_datetime
from cetate.store.base import ContextStore, EntityQuery, TemporalQuery

SITE_TYPE: Final = "BathingWater"
PARAMETERS: Final = {"intestinalEnterococci": "enterococci", "escherichiaColi": "e_coli"}
UNITS: Final = (None, "cfu/100ml")
ASSESSMENT_SEASONS: Final = 4


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    water_type: str
    short_season: bool
    location: tuple[float, float] | None


@dataclass(frozen=True, slots=True)
class Sample:
    taken: datetime
    enterococci: float | None
    e_coli: float | None


@dataclass(frozen=True, slots=True)
class Season:
    site: Site
    year: int
    samples: tuple[Sample, ...]
    """the samples of the season itself"""
    period: tuple[int, int]
    """first and last season of the assessment period"""
    counts: dict[str, int]
    """parameter → samples over the assessment period"""
    minimum: int
    assessment: bathing.BathingAssessment | None
    problem: str | None
    """why there is no class (too few samples, bad data)"""
    rejected: tuple[str, ...]


def site(entity: dict[str, Any]) -> Site:
    kind = stored.value(entity, "waterType")
    return Site(
        str(entity["id"]),
        stored.name_of(entity),
        kind if kind in bathing.WATER_TYPES else "coastal",
        stored.value(entity, "shortSeason") is True,
        stored.point(entity),
    )


def sites(store: ContextStore, tenant: str) -> list[Site]:
    found = [site(e) for e in stored.of_type(store, tenant, SITE_TYPE)]
    return sorted(found, key=lambda s: (s.name.lower(), s.id))


def _samples(
    store: ContextStore, tenant: str, site_id: str, first: int, last: int
) -> tuple[list[Sample], list[str]]:
    by_iri = {stored.iri(term): key for term, key in PARAMETERS.items()}
    found = store.query_temporal(
        tenant,
        TemporalQuery(
            entities=EntityQuery(ids=(site_id,)),
            timerel="between",
            time_at=datetime(first, 1, 1, tzinfo=UTC),
            end_time_at=datetime(last + 1, 1, 1, tzinfo=UTC),
            attrs=frozenset(by_iri),
        ),
    )
    rows: dict[datetime, dict[str, float]] = {}
    rejected: list[str] = []
    for entity in found:
        for attribute, history in entity.history.items():
            key = by_iri.get(attribute)
            if key is None:
                continue
            for instance in history:
                count = instance.get("value")
                stamp = str(instance.get("observedAt", ""))
                try:
                    taken = parse_datetime(stamp)
                except CetateError:
                    rejected.append(f"{key}: no valid observedAt ({stamp!r})")
                    continue
                if instance.get("unitCode") not in UNITS:
                    rejected.append(f"{key} {stamp}: unit {instance.get('unitCode')!r}")
                elif (
                    isinstance(count, bool)
                    or not isinstance(count, int | float)
                    or not math.isfinite(count)
                    or count < 0
                ):
                    rejected.append(f"{key} {stamp}: {count!r} is not a count")
                else:
                    rows.setdefault(taken, {})[key] = float(count)
    samples = [Sample(t, v.get("enterococci"), v.get("e_coli")) for t, v in sorted(rows.items())]
    return samples, rejected


def season(store: ContextStore, tenant: str, entity: dict[str, Any], year: int) -> Season:
    chosen = site(entity)
    first = year - ASSESSMENT_SEASONS + 1
    samples, rejected = _samples(store, tenant, chosen.id, first, year)
    enterococci = [s.enterococci for s in samples if s.enterococci is not None]
    e_coli = [s.e_coli for s in samples if s.e_coli is not None]
    minimum = bathing.minimum_samples(chosen.short_season)
    assessment: bathing.BathingAssessment | None = None
    problem: str | None = None
    try:
        assessment = bathing.classify(
            chosen.water_type, enterococci, e_coli, short_season=chosen.short_season
        )
    except InsufficientSamples as error:
        problem = error.detail
    except EnvironmentInputError as error:
        problem = error.detail
    return Season(
        chosen,
        year,
        tuple(s for s in samples if s.taken.year == year),
        (first, year),
        {"enterococci": len(enterococci), "e_coli": len(e_coli)},
        minimum,
        assessment,
        problem,
        tuple(rejected),
    )
