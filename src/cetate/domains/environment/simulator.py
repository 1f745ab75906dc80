"""A city's air-quality stations with realistic diurnal series, for the demo and the tests.

:func:`simulate_city` creates ``stations`` AirQualityObserved entities around a city centre
(name, location, ``stationKind`` traffic / background / industrial) and writes hourly readings
through :class:`~cetate.entities.EntityService` (so they go through the same write path, history
and rules observer as real data):

* **NO2** peaks with the morning (08:00) and evening (19:00) traffic, higher at traffic
  stations; **O3** peaks in the afternoon sun (15:00) and is lower where NO2 is high; **PM2.5**
  and **PM10** are higher at night and in the evening (heating, inversions) and in winter;
  **SO2** stays low except at industrial stations; multiplicative noise, all µg/m³ (``GQ``);
* **gaps**: each station-hour is missing with probability ``gap_rate``, and (over 24 hours or
  more) one station has a six-hour outage;
* **faulty sensors**: ``faulty`` stations get a broken sensor — the first one a PM2.5 sensor
  that flat-lines over the last eight hours, the second an NO2 sensor reporting impossible
  values (out of range) over them, then alternating.

Deterministic for a given ``seed``. Run ``python -m cetate.domains.environment.simulator
--help`` for the command line (the ``cetate`` CLI has no plug-in hook for domain commands).
"""

from __future__ import annotations

import contextlib
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.series import HOUR, hour_start
from cetate.domains.environment.store_input import ENVIRONMENT_CONTEXT, attribute_iris
from cetate.entities import EntityService
from cetate.errors import AlreadyExists
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.timestamps import format_datetime, utc_now

AIR_TYPE: Final = "AirQualityObserved"
CITIES: Final[dict[str, tuple[float, float]]] = {
    "constanta": (44.1733, 28.6383),
    "timisoara": (45.7489, 21.2087),
    "bucuresti": (44.4268, 26.1025),
    "brasov": (45.6427, 25.5887),
    "cluj": (46.7712, 23.6236),
}
"""city → (latitude, longitude) of its centre"""
KINDS: Final = ("traffic", "background", "background", "industrial")
MAX_STATION_HOURS: Final = 2_000_000


@dataclass(slots=True)
class Simulation:
    tenant: str
    stations: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    faulty: dict[str, str] = field(default_factory=dict)
    """station id → the broken sensor's pollutant"""
    flat_line: list[str] = field(default_factory=list)
    out_of_range: list[str] = field(default_factory=list)
    missing_hours: dict[str, list[datetime]] = field(default_factory=dict)
    readings: int = 0


def _terms() -> dict[str, str]:
    resolved = ContextResolver().resolve(ENVIRONMENT_CONTEXT)
    return {t: resolved.expand_term(t) for t in (AIR_TYPE, "name", "stationKind")}


def station_id(tenant: str, number: int) -> str:
    return f"urn:ngsi-ld:{AIR_TYPE}:{tenant}:sim-{number:03d}"


def _bump(hour_of_day: float, centre: float, width: float) -> float:
    distance = min(abs(hour_of_day - centre), 24 - abs(hour_of_day - centre))
    return math.exp(-((distance / width) ** 2))


def concentrations(
    moment: datetime, kind: str, rng: random.Random, *, utc_offset: int = 2
) -> dict[str, float]:
    """One hour's concentrations (µg/m³) of a station of ``kind`` at ``moment`` (UTC)."""
    local = (moment.hour + utc_offset) % 24
    winter = 0.5 + 0.5 * math.cos(2 * math.pi * (moment.timetuple().tm_yday - 15) / 365)
    traffic = 1.6 if kind == "traffic" else 1.0
    rush = _bump(local, 8, 2.0) + 0.8 * _bump(local, 19, 2.5)
    no2 = (12 + 45 * rush) * traffic
    sun = _bump(local, 15, 4.0) * (0.6 + 0.4 * (1 - winter))
    o3 = max(5.0, 25 + 85 * sun - 0.4 * no2)
    night = _bump(local, 22, 4.0)
    pm25 = (6 + 10 * winter + 12 * night * (0.5 + winter)) * (1.2 if kind == "traffic" else 1.0)
    pm10 = pm25 * 1.6 + 4
    so2 = 3 + (25 * rush if kind == "industrial" else 2)

    def noisy(value: float) -> float:
        return round(max(0.0, value * rng.lognormvariate(0, 0.18)), 1)

    return {
        "pm25": noisy(pm25),
        "pm10": noisy(pm10),
        "no2": noisy(no2),
        "o3": noisy(o3),
        "so2": noisy(so2),
    }


def simulate_city(
    service: EntityService,
    tenant: str,
    *,
    city: str = "constanta",
    stations: int = 6,
    hours: int = 48,
    end: datetime | None = None,
    gap_rate: float = 0.02,
    faulty: int = 1,
    seed: int = 1,
) -> Simulation:
    """Create ``stations`` stations of ``city`` and write ``hours`` hourly readings ending with
    the hour before ``end`` (default: now). Existing stations are reused (readings added)."""
    if city not in CITIES:
        raise EnvironmentInputError(f"unknown city {city!r}; known: {', '.join(CITIES)}")
    if not 1 <= stations <= 500:
        raise EnvironmentInputError(f"stations must be 1-500, got {stations}")
    if hours < 1 or stations * hours > MAX_STATION_HOURS:
        raise EnvironmentInputError(
            f"hours must be at least 1 and stations × hours at most {MAX_STATION_HOURS}"
        )
    if not 0 <= gap_rate < 1:
        raise EnvironmentInputError(f"gap_rate must be in [0, 1), got {gap_rate}")
    if not 0 <= faulty <= stations:
        raise EnvironmentInputError(f"faulty must be 0-{stations}, got {faulty}")
    rng = random.Random(seed)
    last = hour_start(end or utc_now())
    first = last - hours * HOUR
    iris = attribute_iris()
    terms = _terms()
    lat0, lon0 = CITIES[city]
    result = Simulation(tenant)
    for number in range(1, stations + 1):
        ident = station_id(tenant, number)
        kind = KINDS[(number - 1) % len(KINDS)]
        angle, radius = rng.uniform(0, 2 * math.pi), rng.uniform(0.005, 0.04)
        location = [
            round(lon0 + radius * math.cos(angle) * 1.4, 5),
            round(lat0 + radius * math.sin(angle), 5),
        ]
        doc: dict[str, Any] = {
            "id": ident,
            "type": [terms[AIR_TYPE]],
            terms["name"]: [{"type": "Property", "value": f"{city.title()} {number:03d}"}],
            terms["stationKind"]: [{"type": "Property", "value": kind}],
            "https://uri.etsi.org/ngsi-ld/location": [
                {"type": "GeoProperty", "value": {"type": "Point", "coordinates": location}}
            ],
        }
        with contextlib.suppress(AlreadyExists):
            service.create(tenant, doc)
        result.stations.append(ident)
        result.kinds[ident] = kind
    broken = result.stations[:faulty]
    for position, ident in enumerate(broken):
        if position % 2 == 0:
            result.faulty[ident] = "pm25"
            result.flat_line.append(ident)
        else:
            result.faulty[ident] = "no2"
            result.out_of_range.append(ident)
    outage = result.stations[-1] if stations > faulty and hours >= 24 else None
    outage_start = first + (hours // 3) * HOUR
    for ident in result.stations:
        missing = result.missing_hours.setdefault(ident, [])
        hour = first
        while hour < last:
            in_outage = ident == outage and outage_start <= hour < outage_start + 6 * HOUR
            if in_outage or rng.random() < gap_rate:
                missing.append(hour)
                hour += HOUR
                continue
            values = concentrations(hour, result.kinds[ident], rng)
            _break(values, ident, result, hour, last)
            observed = format_datetime(hour + timedelta(minutes=30))
            attrs = {
                iris[p]: [
                    {"type": "Property", "value": v, "observedAt": observed, "unitCode": "GQ"}
                ]
                for p, v in values.items()
            }
            service.append_attributes(tenant, ident, attrs)
            result.readings += len(attrs)
            hour += HOUR
    return result


def _break(
    values: dict[str, float], ident: str, result: Simulation, hour: datetime, last: datetime
) -> None:
    pollutant = result.faulty.get(ident)
    if pollutant is None or hour < last - 8 * HOUR:
        return
    if ident in result.flat_line:
        values[pollutant] = 17.0
    else:
        values[pollutant] = 5000.0 + 10 * hour.hour  # impossible values, still varying


def main(argv: list[str] | None = None) -> int:
    """``python -m cetate.domains.environment.simulator`` — simulate a city into a database."""
    import argparse

    from cetate.store.base import Tenant, open_store

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", required=True, help="e.g. sqlite:///cetate.db")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--city", default="constanta", choices=sorted(CITIES))
    parser.add_argument("--stations", type=int, default=6)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--gap-rate", type=float, default=0.02)
    parser.add_argument("--faulty", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    store = open_store(args.database_url)
    try:
        store.migrate()
        if store.get_tenant(args.tenant) is None:
            store.put_tenant(Tenant(name=args.tenant, title=args.tenant))
        done = simulate_city(
            EntityService(store),
            args.tenant,
            city=args.city,
            stations=args.stations,
            hours=args.hours,
            gap_rate=args.gap_rate,
            faulty=args.faulty,
            seed=args.seed,
        )
    except EnvironmentInputError as error:
        parser.error(error.detail)
    finally:
        store.close()
    print(f"{len(done.stations)} stations, {done.readings} readings written to {args.tenant}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
