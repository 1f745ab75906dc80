"""EU limit (and target) values as configurable sets.

Two sets ship as data with their citations: ``eu-2008-50`` (Directive 2008/50/EC) and
``eu-2024-2881`` (Directive (EU) 2024/2881, values to be attained by 1 January 2030). A city
can build its own set with :func:`custom_limit_set` (e.g. WHO guideline levels)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from cetate.domains.environment import tables
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.pollutants import check_pollutant

Period = Literal["hour", "day", "year", "max-daily-8h"]
PERIODS: Final[tuple[Period, ...]] = ("hour", "day", "year", "max-daily-8h")
LIMIT_SET_FILES: Final = {"eu-2008-50": "limits_2008_50_ec", "eu-2024-2881": "limits_2024_2881"}


@dataclass(frozen=True, slots=True)
class LimitValue:
    pollutant: str
    period: Period
    value: float
    """µg/m³; a period's value *exceeds* it when strictly greater"""
    allowed: int | None
    """exceedances allowed per calendar year (None for annual means)"""
    kind: str = "limit"
    """``limit`` or ``target``"""
    reference: str = ""


@dataclass(frozen=True, slots=True)
class LimitSet:
    key: str
    title: str
    source: str
    values: tuple[LimitValue, ...]


def _period(value: Any) -> Period:
    for period in PERIODS:
        if value == period:
            return period
    raise EnvironmentInputError(f"unknown averaging period {value!r}; known: {', '.join(PERIODS)}")


def _limit_value(item: Mapping[str, Any]) -> LimitValue:
    try:
        pollutant = check_pollutant(str(item["pollutant"]))
        period = _period(item["period"])
        value = float(item["value"])
        allowed = item.get("allowed")
    except KeyError as missing:
        raise EnvironmentInputError(f"a limit value needs {missing.args[0]!r}") from None
    except (TypeError, ValueError):
        raise EnvironmentInputError(f"limit value {item.get('value')!r} is not a number") from None
    if value <= 0:
        raise EnvironmentInputError(f"limit value must be positive, got {value}")
    if period == "year":
        allowed = None
    elif not isinstance(allowed, int) or isinstance(allowed, bool) or allowed < 0:
        raise EnvironmentInputError(
            f"a {period} limit needs a non-negative integer 'allowed' exceedance count"
        )
    return LimitValue(
        pollutant,
        period,
        value,
        allowed,
        str(item.get("kind", "limit")),
        str(item.get("reference", "")),
    )


def custom_limit_set(
    key: str, values: Iterable[Mapping[str, Any]], *, title: str = "", source: str = ""
) -> LimitSet:
    """A limit set from plain mappings (``pollutant``, ``period``, ``value``, ``allowed``)."""
    built = tuple(_limit_value(item) for item in values)
    if not built:
        raise EnvironmentInputError("a limit set needs at least one limit value")
    return LimitSet(key, title or key, source, built)


def limit_set(key: str) -> LimitSet:
    """A shipped limit set: ``eu-2008-50`` or ``eu-2024-2881``."""
    try:
        data = tables.load(LIMIT_SET_FILES[key])
    except KeyError:
        raise EnvironmentInputError(
            f"unknown limit set {key!r}; known: {', '.join(LIMIT_SET_FILES)}"
        ) from None
    return custom_limit_set(data["key"], data["values"], title=data["title"], source=data["source"])
