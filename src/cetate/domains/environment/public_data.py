"""What the public air pages read: a tenant's stations, their current index and recent series.

Everything here reads only the AirQualityObserved type, and :func:`public_tenant` lets a
request through only when the reader may read that type in the tenant — for a visitor without
credentials, when the tenant marks it **public** (``Tenant.public_types``, docs/security.md);
otherwise 401 (or 403 for a user without a role there), as the NGSI-LD API answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from fastapi import Request

from cetate.api.deps import get_principal, get_settings, get_store
from cetate.auth.principal import require_read
from cetate.domains.environment import eaqi
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.series import HOUR, hour_start
from cetate.domains.environment.store_input import (
    ENVIRONMENT_CONTEXT,
    StationSeries,
    station_series,
)
from cetate.errors import NonexistentTenant, ResourceNotFound
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.query_ast import TypeName
from cetate.store.base import ContextStore, EntityQuery, Tenant

AIR_TERM: Final = "AirQualityObserved"
LOCATION_IRI: Final = "https://uri.etsi.org/ngsi-ld/location"
MAX_STATIONS: Final = 1000
RECENT: Final = timedelta(hours=3)
"""how old the newest hour may be for a station's "current" index"""

BAND_COLOURS: Final = {
    "good": "#50f0e6",
    "fair": "#50ccaa",
    "moderate": "#f0e641",
    "poor": "#ff5050",
    "very-poor": "#960032",
    "extremely-poor": "#7d2181",
}
"""The EEA map colours of the bands; insufficient data is grey."""
NO_INDEX_COLOUR: Final = "#9aa0a6"
TEXT_ON_BAND: Final = {"very-poor": "#ffffff", "extremely-poor": "#ffffff"}


def _terms() -> dict[str, str]:
    resolved = ContextResolver().resolve(ENVIRONMENT_CONTEXT)
    return {t: resolved.expand_term(t) for t in (AIR_TERM, "name", "stationKind")}


def air_type_iri() -> str:
    return _terms()[AIR_TERM]


def public_tenant(request: Request, name: str) -> Tenant:
    """The tenant ``name`` if the request may read its air-quality stations (see above)."""
    store = get_store(request)
    settings = get_settings(request)
    tenant = store.get_tenant(name)
    if tenant is None:
        raise NonexistentTenant(f"tenant {name!r} does not exist", tenant=name)
    principal = get_principal(request, settings, store)
    require_read(principal, tenant, [air_type_iri()])
    return tenant


@dataclass(frozen=True, slots=True)
class Station:
    id: str
    name: str
    kind: str
    """traffic, background or industrial (background when not said)"""
    longitude: float | None
    latitude: float | None


def _value(entity: dict[str, Any], iri: str) -> Any:
    instances = entity.get(iri)
    if isinstance(instances, list):
        for instance in instances:
            if isinstance(instance, dict) and "datasetId" not in instance:
                return instance.get("value")
    return None


def _station(entity: dict[str, Any], terms: dict[str, str]) -> Station:
    name = _value(entity, terms["name"])
    kind = _value(entity, terms["stationKind"])
    point = _value(entity, LOCATION_IRI)
    lon = lat = None
    if isinstance(point, dict) and point.get("type") == "Point":
        coordinates = point.get("coordinates")
        if isinstance(coordinates, list) and len(coordinates) >= 2:
            lon, lat = float(coordinates[0]), float(coordinates[1])
    return Station(
        id=str(entity["id"]),
        name=name if isinstance(name, str) and name else str(entity["id"]).rsplit(":", 1)[-1],
        kind=kind if kind in ("traffic", "background", "industrial") else "background",
        longitude=lon,
        latitude=lat,
    )


def stations(store: ContextStore, tenant: str) -> list[Station]:
    """The tenant's AirQualityObserved stations, by name."""
    terms = _terms()
    found: list[Station] = []
    offset = 0
    while offset < MAX_STATIONS:
        page = store.query_entities(
            tenant, EntityQuery(types=TypeName(terms[AIR_TERM]), limit=100, offset=offset)
        )
        found.extend(_station(e, terms) for e in page.entities)
        if len(page.entities) < 100:
            break
        offset += 100
    return sorted(found, key=lambda s: (s.name.lower(), s.id))


def station(store: ContextStore, tenant: str, station_id: str) -> Station:
    """One station, or 404 (also for an entity of another type)."""
    terms = _terms()
    entity = store.get_entity(tenant, station_id)
    if entity is None or terms[AIR_TERM] not in (entity.get("type") or []):
        raise ResourceNotFound(f"no air-quality station {station_id!r} in tenant {tenant!r}")
    return _station(entity, terms)


@dataclass(frozen=True, slots=True)
class CurrentIndex:
    hour: datetime | None
    """the hour the index is of (its start, UTC); None without recent data"""
    index: eaqi.StationIndex | None

    @property
    def band(self) -> str | None:
        return self.index.name if self.index is not None else None

    @property
    def colour(self) -> str:
        return BAND_COLOURS.get(self.band or "", NO_INDEX_COLOUR)

    @property
    def text_colour(self) -> str:
        return TEXT_ON_BAND.get(self.band or "", "#111111")


def current_index(
    got: StationSeries, kind: str, now: datetime, *, exclude: Iterable[str] = ()
) -> CurrentIndex:
    """The index of the newest hour with data no older than :data:`RECENT`, leaving out the
    pollutants in ``exclude`` (sensors found faulty by :mod:`.station_status`: a broken
    sensor must not colour the public map)."""
    left_out = set(exclude)
    series = {p: s for p, s in got.series.items() if p not in left_out}
    newest = max((h for s in series.values() for h in s), default=None)
    if newest is None or newest < hour_start(now) - RECENT:
        return CurrentIndex(None, None)
    hour = {p: v for p, v in got.hour(newest).items() if p not in left_out}
    return CurrentIndex(newest, eaqi.station_index(hour, kind=index_kind(kind)))


def index_kind(kind: str) -> eaqi.StationKind:
    if kind == "traffic":
        return "traffic"
    if kind == "industrial":
        return "industrial"
    return "background"


def recent_series(
    store: ContextStore, tenant: str, station_id: str, now: datetime, hours: int = 48
) -> StationSeries:
    """The last ``hours`` whole hours up to the current one."""
    end = hour_start(now) + HOUR
    return station_series(store, tenant, station_id, end - hours * HOUR, end, now=now)


def parse_period(start: str, end: str, *, max_days: int = 366) -> tuple[datetime, datetime]:
    """A download period from ISO 8601 ``start`` and ``end`` (dates or date-times; a date is
    00:00 UTC), at most ``max_days`` long."""
    from cetate.ngsi.timestamps import parse_datetime

    bounds: list[datetime] = []
    for name, text in (("start", start), ("end", end)):
        if not text:
            raise EnvironmentInputError(f"{name} is required (ISO 8601, e.g. 2026-11-01)")
        try:
            bounds.append(parse_datetime(text))
        except Exception:
            raise EnvironmentInputError(
                f"{name} {text!r} is not an ISO 8601 date or date-time with a time zone"
            ) from None
    first, last = bounds
    if last <= first:
        raise EnvironmentInputError("end must be after start")
    if last - first > timedelta(days=max_days):
        raise EnvironmentInputError(f"the period is longer than {max_days} days; ask for less")
    return first, last
