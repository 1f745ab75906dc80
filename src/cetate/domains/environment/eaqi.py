"""The European Air Quality Index (EEA) for one station and one hour.

**Versions.** The breakpoint tables are data (``data/eaqi_*.json``), selected by version key:
``eea-2024`` (the 2024 revision, six bands, the default), ``eea-2021`` (the six-band version
in use before it, for historical data) and ``eea-2017`` (the first, five-band version).

**Boundary convention.** Each band is closed at its upper bound: a concentration exactly on a
breakpoint falls in the *better* (lower) band. With the 2024 PM2.5 table, 5 µg/m³ is *good*,
5.01 is *fair*, 15 is *fair*, 15.01 is *moderate*. The first band starts at 0 inclusive; the
last band is open-ended. Values are compared as given (no rounding).

**Sub-index and index.** A pollutant's sub-index is its band (1 = good … 6 = extremely poor);
the station's index is the worst sub-index, and the pollutants that reach it drive it (ties are
listed in the order PM2.5, PM10, NO2, O3, SO2; the first is *the* driving pollutant).

**Which stations get an index** (EEA rule, see docs): a traffic station needs NO2 and PM
(PM2.5 or PM10); any other station needs NO2, O3 and PM (PM2.5 or PM10). SO2 counts when
measured. Without the required pollutants the answer is "insufficient data", never a band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Final, Literal

from cetate.domains.environment import tables
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.pollutants import LABELS, check_concentration

StationKind = Literal["traffic", "background", "industrial"]

VERSION_FILES: Final = {
    "eea-2024": "eaqi_2024",
    "eea-2021": "eaqi_pre2024",
    "eea-2017": "eaqi_2017",
}
DEFAULT_VERSION: Final = "eea-2024"
INDEX_POLLUTANTS: Final = ("pm25", "pm10", "no2", "o3", "so2")


@dataclass(frozen=True, slots=True)
class IndexScale:
    """One version of the index: band names and, per pollutant, the upper bound of each band
    except the last."""

    version: str
    title: str
    source: str
    bands: tuple[str, ...]
    upper_bounds: Mapping[str, tuple[float, ...]]

    def band_of(self, pollutant: str, concentration: float) -> int:
        """The sub-index (1-based band number) of ``concentration`` µg/m³ of ``pollutant``."""
        bounds = self.upper_bounds.get(pollutant)
        if bounds is None:
            raise EnvironmentInputError(
                f"the {self.version} index has no band table for pollutant {pollutant!r}; "
                f"known: {', '.join(self.upper_bounds)}",
                pollutant=pollutant,
            )
        value = check_concentration(pollutant, concentration)
        for number, upper in enumerate(bounds, start=1):
            if value <= upper:
                return number
        return len(bounds) + 1


@cache
def scale(version: str = DEFAULT_VERSION) -> IndexScale:
    """The index scale of ``version`` (``eea-2024``, ``eea-2021``, ``eea-2017``)."""
    try:
        data = tables.load(VERSION_FILES[version])
    except KeyError:
        raise EnvironmentInputError(
            f"unknown index version {version!r}; known: {', '.join(VERSION_FILES)}"
        ) from None
    bands = tuple(data["bands"])
    bounds = {p: tuple(float(b) for b in v) for p, v in data["upper_bounds"].items()}
    for pollutant, values in bounds.items():
        if len(values) != len(bands) - 1 or list(values) != sorted(values):
            raise ValueError(f"{version}: bad breakpoints for {pollutant}")
    return IndexScale(data["version"], data["title"], data["source"], bands, bounds)


@dataclass(frozen=True, slots=True)
class SubIndex:
    pollutant: str
    concentration: float
    band: int
    """1 = good …"""
    name: str
    """the band's key, e.g. ``moderate``"""


@dataclass(frozen=True, slots=True)
class StationIndex:
    """The index of one station for one hour, or why there is none."""

    version: str
    band: int | None
    """None when the data does not support an index ("insufficient data")"""
    name: str | None
    drivers: tuple[str, ...]
    """the pollutants at the worst sub-index, tie order PM2.5, PM10, NO2, O3, SO2"""
    sub_indices: tuple[SubIndex, ...]
    missing: tuple[str, ...] = ()
    """what the station rule needed and did not get (e.g. ``no2``, ``pm25|pm10``)"""

    @property
    def sufficient(self) -> bool:
        return self.band is not None

    @property
    def driver(self) -> str | None:
        return self.drivers[0] if self.drivers else None


def required_pollutants(kind: StationKind) -> tuple[tuple[str, ...], ...]:
    """The EEA station rule as alternatives: each inner tuple needs at least one member."""
    if kind == "traffic":
        return (("no2",), ("pm25", "pm10"))
    if kind in ("background", "industrial"):
        return (("no2",), ("o3",), ("pm25", "pm10"))
    raise EnvironmentInputError(
        f"unknown station kind {kind!r}; known: traffic, background, industrial"
    )


def sub_indices(
    concentrations: Mapping[str, float | None], version: str = DEFAULT_VERSION
) -> tuple[SubIndex, ...]:
    """The sub-index of each pollutant given (None values are "not measured this hour")."""
    index_scale = scale(version)
    result: list[SubIndex] = []
    for pollutant in concentrations:
        if pollutant not in INDEX_POLLUTANTS:
            raise EnvironmentInputError(
                f"unknown pollutant {pollutant!r} for the European index; known: "
                f"{', '.join(INDEX_POLLUTANTS)}",
                pollutant=pollutant,
            )
    for pollutant in INDEX_POLLUTANTS:
        value = concentrations.get(pollutant)
        if value is None:
            continue
        band = index_scale.band_of(pollutant, value)
        result.append(SubIndex(pollutant, float(value), band, index_scale.bands[band - 1]))
    return tuple(result)


def station_index(
    concentrations: Mapping[str, float | None],
    *,
    kind: StationKind = "background",
    version: str = DEFAULT_VERSION,
) -> StationIndex:
    """The index of a station for one hour from its hourly concentrations (µg/m³)."""
    subs = sub_indices(concentrations, version)
    measured = {s.pollutant for s in subs}
    missing = tuple(
        "|".join(group)
        for group in required_pollutants(kind)
        if not any(p in measured for p in group)
    )
    if missing:
        return StationIndex(version, None, None, (), subs, missing)
    return _worst(version, subs)


def _worst(version: str, subs: Sequence[SubIndex]) -> StationIndex:
    worst = max(s.band for s in subs)
    drivers = tuple(s.pollutant for s in subs if s.band == worst)
    return StationIndex(version, worst, scale(version).bands[worst - 1], drivers, tuple(subs))


def describe(index: StationIndex) -> str:
    """A one-line English description, e.g. ``moderate (driven by NO2)``."""
    if index.name is None:
        return "insufficient data (missing " + ", ".join(index.missing) + ")"
    return f"{index.name} (driven by {', '.join(LABELS[p] for p in index.drivers)})"


def hourly_indices(
    series: Mapping[str, Mapping[datetime, float]],
    hours: Sequence[datetime],
    *,
    kind: StationKind = "background",
    version: str = DEFAULT_VERSION,
) -> dict[datetime, StationIndex]:
    """The index of each hour (hour starts, UTC) from a station's hourly series."""
    return {
        hour: station_index(
            {p: s.get(hour) for p, s in series.items() if p in INDEX_POLLUTANTS},
            kind=kind,
            version=version,
        )
        for hour in hours
    }
