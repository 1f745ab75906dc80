"""Health stations (Timișoara): a station groups environmental sensors and kiosk readings.

**Model.** A ``HealthStation`` entity (name, location) points at its members with the
Relationship ``hasMember``: one instance per member, each with its own ``datasetId`` (or a
single default instance). A member is any stored entity — an ``AirQualityObserved`` station,
a ``NoiseLevelObserved`` sensor, the kiosk's own device entity whose numeric attributes are
readings (temperature, humidity …). Members stay ordinary entities with their own history, so
the air pages, the rules engine and the open-data downloads see them as before; the health
station only groups them.

**What a station shows** (:func:`overview`): each member's status (:mod:`.station_status`:
online, stale, faulty sensor), the current European index of each air member (faulty sensors
left out, :func:`.public_data.current_index`) and its noise levels (:mod:`.noise`). The
station's **band** is the worst current band of its air members; the health advice shown is
that band's (:mod:`.advice`). The station's **status**: ``stale`` without members or when none
reports; ``faulty`` when a member has a faulty sensor or does not report while others do;
``online`` when every member is online. Members whose type the reader may not read (not
public, for a visitor) are left out of everything a page shows.

**City trend** (:func:`city_trend`): per UTC day of the last ``days`` days, how many
station-hours of the tenant's air stations fell in each band, and how many had no index
("insufficient data", including hours without data).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from cetate.domains.environment import eaqi, public_data, stored
from cetate.domains.environment.noise import NOISE_TYPE, NoiseReading, reading
from cetate.domains.environment.series import HOUR, hour_start
from cetate.domains.environment.station_status import StationStatus, station_status
from cetate.domains.environment.store_input import station_series
from cetate.store.base import ContextStore

HEALTH_TYPE: Final = "HealthStation"
AIR_TYPE: Final = "AirQualityObserved"
MEMBER: Final = "hasMember"
STATUS_ORDER: Final = ("online", "faulty", "stale")
NO_INDEX: Final = "insufficient"


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    kind: str
    """``air``, ``noise``, ``kiosk`` (any other type) or ``missing`` (not stored)"""
    name: str
    status: StationStatus | None
    current: public_data.CurrentIndex | None = None
    noise: NoiseReading | None = None


@dataclass(frozen=True, slots=True)
class HealthStation:
    id: str
    name: str
    location: tuple[float, float] | None
    members: tuple[Member, ...]
    status: str
    band: str | None
    """the worst current band of the air members (None without a current index)"""


MayRead = Callable[[Iterable[str]], bool]


def _everyone(types: Iterable[str]) -> bool:
    return True


def _member(
    store: ContextStore, tenant: str, member_id: str, now: datetime, may_read: MayRead
) -> Member | None:
    entity = store.get_entity(tenant, member_id)
    if entity is None:
        return Member(member_id, "missing", member_id.rsplit(":", 1)[-1], None)
    if not may_read(entity.get("type") or []):
        return None  # a member the reader may not read is left out entirely
    status = station_status(store, tenant, member_id, now=now)
    name = stored.name_of(entity)
    if stored.is_a(entity, AIR_TYPE):
        got = public_data.recent_series(store, tenant, member_id, now, hours=4)
        kind = public_data.index_kind(str(stored.value(entity, "stationKind")))
        faulty = [f.sensor for f in status.findings]
        current = public_data.current_index(got, kind, now, exclude=faulty)
        return Member(member_id, "air", name, status, current=current)
    if stored.is_a(entity, NOISE_TYPE):
        return Member(member_id, "noise", name, status, noise=reading(entity, now))
    return Member(member_id, "kiosk", name, status)


def _status(members: list[Member]) -> str:
    known = [m.status.status for m in members if m.status is not None]
    if not known or all(s == "stale" for s in known):
        return "stale"
    if len(known) == len(members) and all(s == "online" for s in known):
        return "online"
    return "faulty"


def _worst_band(members: list[Member]) -> str | None:
    bands = [
        m.current.index
        for m in members
        if m.current is not None and m.current.index is not None and m.current.index.band
    ]
    worst = max(bands, key=lambda index: index.band or 0, default=None)
    return worst.name if worst is not None else None


def overview(
    store: ContextStore,
    tenant: str,
    entity: dict[str, Any],
    now: datetime,
    may_read: MayRead = _everyone,
) -> HealthStation:
    """The station with its members; members whose type ``may_read`` refuses are left out."""
    found = [_member(store, tenant, m, now, may_read) for m in stored.objects(entity, MEMBER)]
    members = [m for m in found if m is not None]
    return HealthStation(
        str(entity["id"]),
        stored.name_of(entity),
        stored.point(entity),
        tuple(members),
        _status(members),
        _worst_band(members),
    )


def stations(
    store: ContextStore, tenant: str, now: datetime, may_read: MayRead = _everyone
) -> list[HealthStation]:
    found = [
        overview(store, tenant, e, now, may_read)
        for e in stored.of_type(store, tenant, HEALTH_TYPE)
    ]
    return sorted(found, key=lambda s: (s.name.lower(), s.id))


def status_counts(statuses: Iterable[str]) -> dict[str, int]:
    counted = Counter(statuses)
    return {status: counted.get(status, 0) for status in STATUS_ORDER}


@dataclass(frozen=True, slots=True)
class TrendDay:
    day: date
    counts: dict[str, int]
    """band name (and ``insufficient``) → station-hours"""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def city_trend(store: ContextStore, tenant: str, now: datetime, days: int = 30) -> list[TrendDay]:
    """The daily index distribution of the tenant's air stations over the last ``days``
    whole or current UTC days (oldest first)."""
    end = hour_start(now) + HOUR
    first_day = (end - HOUR).date() - timedelta(days=days - 1)
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=end.tzinfo)
    names = eaqi.scale().bands
    counts = {
        first_day + timedelta(days=d): dict.fromkeys((*names, NO_INDEX), 0) for d in range(days)
    }
    hours = [start + k * HOUR for k in range(int((end - start) / HOUR))]
    for item in public_data.stations(store, tenant):
        got = station_series(store, tenant, item.id, start, end, now=now)
        kind = public_data.index_kind(item.kind)
        for hour, index in eaqi.hourly_indices(got.series, hours, kind=kind).items():
            counts[hour.date()][index.name or NO_INDEX] += 1
    return [TrendDay(day, counted) for day, counted in counts.items()]
