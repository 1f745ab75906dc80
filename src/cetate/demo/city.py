"""The demo city: Cluj-Napoca with a few hundred assets and sensors and a week of readings.

Pure generation, no I/O: :func:`build_city` returns the entities in stored form (their first
readings included) and, for every following hour, the readings of that hour as partial entities
that :meth:`cetate.entities.EntityService.batch_upsert` with ``mode="update"`` appends, so each
reading lands in the history with its ``observedAt``.

The readings follow the patterns a real city shows: traffic with morning and evening rush hours
(quieter at weekends), NO2 following traffic, PM2.5 rising with evening heating, ozone with the
sun, waste containers filling mostly in the day and emptied on a fixed collection schedule (some
overflow before the truck comes), streetlights on from sunset to sunrise and dimmed after
midnight (with one failed lamp and one burning by day), dissolved oxygen and pH in the Someș
following photosynthesis. Everything is seeded, so the same hour range gives the same city.

Attribute and type names are those of the FIWARE Smart Data Models, expanded with each subject's
own @context (:data:`CONTEXTS`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import LOCATION, EntityDoc
from cetate.ngsi.timestamps import format_datetime

DEMO_TENANT: Final = "cluj"
DEMO_ADMIN: Final = "admin"
DEMO_PASSWORD: Final = "cetate-demo"  # noqa: S105 (documented demo password)
"""The documented password of the demo admin (printed by ``cetate demo``)."""
DEMO_TITLE: Final = "Cluj-Napoca"
HOURS: Final = 7 * 24

SDM_CONTEXT: Final = "https://smart-data-models.github.io/dataModel.{}/context.jsonld"
CONTEXTS: Final = {
    "WasteContainer": SDM_CONTEXT.format("WasteManagement"),
    "Streetlight": SDM_CONTEXT.format("Streetlighting"),
    "AirQualityObserved": SDM_CONTEXT.format("Environment"),
    "WaterQualityObserved": SDM_CONTEXT.format("WaterQuality"),
    "TrafficFlowObserved": SDM_CONTEXT.format("Transportation"),
    "Device": SDM_CONTEXT.format("Device"),
}
"""The @context of each demo entity type (its Smart Data Models subject)."""

PUBLIC_TYPES: Final = ("AirQualityObserved", "WaterQualityObserved", "TrafficFlowObserved")
"""Demo types anyone may read without signing in (open data)."""

COUNTS: Final = {
    "WasteContainer": 120,
    "Streetlight": 120,
    "AirQualityObserved": 10,
    "WaterQualityObserved": 4,
    "TrafficFlowObserved": 24,
}


def _bucharest() -> tzinfo:
    try:
        return ZoneInfo("Europe/Bucharest")
    except ZoneInfoNotFoundError:  # pragma: no cover - systems without tzdata
        from datetime import timezone

        return timezone(timedelta(hours=2))


LOCAL_TIME: Final = _bucharest()

# (name, lon, lat) — centres of Cluj-Napoca's neighbourhoods
DISTRICTS: Final = (
    ("Centru", 23.5899, 46.7693),
    ("Mănăștur", 23.5530, 46.7560),
    ("Grigorescu", 23.5530, 46.7720),
    ("Gheorgheni", 23.6280, 46.7640),
    ("Mărăști", 23.6150, 46.7800),
    ("Zorilor", 23.5850, 46.7500),
    ("Bună Ziua", 23.6000, 46.7360),
    ("Andrei Mureșanu", 23.6100, 46.7600),
    ("Gruia", 23.5800, 46.7830),
    ("Iris", 23.5800, 46.7980),
    ("Someșeni", 23.6450, 46.7850),
    ("Între Lacuri", 23.6350, 46.7770),
)

STREETS: Final = (
    ("Calea Dorobanților", (23.6010, 46.7740), (23.6280, 46.7800)),
    ("Bulevardul 21 Decembrie 1989", (23.5930, 46.7710), (23.6080, 46.7745)),
    ("Calea Florești", (23.5480, 46.7540), (23.5100, 46.7530)),
    ("Strada Observatorului", (23.5900, 46.7590), (23.5950, 46.7440)),
    ("Calea Mănăștur", (23.5750, 46.7630), (23.5560, 46.7590)),
    ("Bulevardul Muncii", (23.6300, 46.7880), (23.6550, 46.7800)),
    ("Calea Turzii", (23.6000, 46.7570), (23.6100, 46.7380)),
    ("Strada Alexandru Vaida Voevod", (23.6190, 46.7710), (23.6330, 46.7610)),
)

RIVER_SITES: Final = (
    ("Someșul Mic – Grigorescu", 23.5560, 46.7700),
    ("Someșul Mic – Parcul Central", 23.5780, 46.7705),
    ("Someșul Mic – Podul Porțelanului", 23.6120, 46.7760),
    ("Lacul Gheorgheni", 23.6290, 46.7715),
)

WASTE_KINDS: Final = (
    # (storedWasteKind, daily fill rate range, collection days: weekday numbers, Mon=0)
    (["organic", "inorganic"], (0.35, 0.75), (0, 2, 4, 6)),
    (["plastic", "metal"], (0.2, 0.45), (1, 4)),
    (["paper"], (0.15, 0.35), (1, 4)),
    (["glass"], (0.06, 0.16), (2,)),
)


@dataclass(slots=True)
class SimulatedEntity:
    """One demo entity: its static description and a value per hour of each reading."""

    doc: EntityDoc
    readings: dict[str, list[Any]] = field(default_factory=dict)
    """attribute IRI → one value per hour (None: no reading that hour)"""
    units: dict[str, str] = field(default_factory=dict)
    """attribute IRI → UN/CEFACT unit code"""


@dataclass(slots=True)
class DemoCity:
    hours: list[datetime]
    """the hours of the week of readings, oldest first (UTC)"""
    entities: list[SimulatedEntity]

    @property
    def reading_count(self) -> int:
        """How many attribute values the week of readings holds."""
        return sum(
            sum(value is not None for value in values)
            for entity in self.entities
            for values in entity.readings.values()
        )

    def initial_entities(self) -> list[EntityDoc]:
        """Every entity in stored form with the readings of the first hour."""
        return [self._with_readings(entity, 0, full=True) for entity in self.entities]

    def hourly_updates(self) -> Iterator[tuple[datetime, list[EntityDoc]]]:
        """For each hour after the first: the partial entities carrying that hour's readings."""
        for index in range(1, len(self.hours)):
            batch = [self._with_readings(entity, index, full=False) for entity in self.entities]
            yield self.hours[index], [doc for doc in batch if len(doc) > 2]

    def _with_readings(self, entity: SimulatedEntity, index: int, *, full: bool) -> EntityDoc:
        doc: EntityDoc = dict(entity.doc) if full else {"id": entity.doc["id"]}
        doc["type"] = entity.doc["type"]
        observed_at = format_datetime(self.hours[index])
        for attr, values in entity.readings.items():
            value = values[index]
            if value is None:
                continue
            instance: dict[str, Any] = {"type": "Property", "value": value}
            instance["observedAt"] = observed_at
            unit = entity.units.get(attr)
            if unit:
                instance["unitCode"] = unit
            doc[attr] = [instance]
        return doc


# -- physics of a city ----------------------------------------------------------------------


def solar_elevation(moment: datetime, lon: float, lat: float) -> float:
    """Elevation of the sun in degrees (NOAA's approximation; good to a fraction of a degree)."""
    utc = moment.astimezone(UTC)
    day = utc.timetuple().tm_yday
    hour = utc.hour + utc.minute / 60
    gamma = 2 * math.pi / 365 * (day - 1 + (hour - 12) / 24)
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * math.cos(gamma)
        - 0.032077 * math.sin(gamma)
        - 0.014615 * math.cos(2 * gamma)
        - 0.040849 * math.sin(2 * gamma)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(gamma)
        + 0.070257 * math.sin(gamma)
        - 0.006758 * math.cos(2 * gamma)
        + 0.000907 * math.sin(2 * gamma)
        - 0.002697 * math.cos(3 * gamma)
        + 0.00148 * math.sin(3 * gamma)
    )
    true_solar_minutes = hour * 60 + eqtime + 4 * lon
    hour_angle = math.radians(true_solar_minutes / 4 - 180)
    phi = math.radians(lat)
    cos_zenith = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(
        hour_angle
    )
    return math.degrees(math.asin(max(-1.0, min(1.0, cos_zenith))))


def _local_hour(moment: datetime) -> float:
    local = moment.astimezone(LOCAL_TIME)
    return local.hour + local.minute / 60


def _is_weekend(moment: datetime) -> bool:
    return moment.astimezone(LOCAL_TIME).weekday() >= 5


def traffic_profile(moment: datetime) -> float:
    """Relative traffic (≈0.05 at night, ≈1 at the evening peak)."""
    h = _local_hour(moment)
    if _is_weekend(moment):
        return (
            0.05
            + 0.55 * math.exp(-(((h - 13) / 4.0) ** 2))
            + 0.2 * math.exp(-(((h - 19) / 2.0) ** 2))
        )
    return (
        0.05
        + 0.85 * math.exp(-(((h - 8) / 1.4) ** 2))
        + 0.95 * math.exp(-(((h - 17.5) / 1.8) ** 2))
        + 0.45 * math.exp(-(((h - 12.5) / 2.8) ** 2))
    )


def _activity_weights() -> list[float]:
    """How a day's waste is spread over the local hours (people at home, shops open)."""
    raw = [
        0.1
        + math.exp(-(((h - 8) / 1.5) ** 2))
        + 1.3 * math.exp(-(((h - 19.5) / 2.0) ** 2))
        + 0.4 * math.exp(-(((h - 13) / 3.0) ** 2))
        for h in range(24)
    ]
    total = sum(raw)
    return [weight / total for weight in raw]


class _Weather:
    """One shared weather for the week: temperature, cloudiness, a rain event."""

    def __init__(self, hours: list[datetime], rng: random.Random) -> None:
        day = hours[0].timetuple().tm_yday
        self.season_mean = 10.5 - 12.5 * math.cos(2 * math.pi * (day - 20) / 365)
        self.cold = max(0.0, min(1.0, (16.0 - self.season_mean) / 16.0))
        """how much homes are heated (0 in summer, 1 in deep winter)"""
        walk = 0.0
        self.offset: list[float] = []
        self.clouds: list[float] = []
        cloud = 0.4
        for _ in hours:
            walk = 0.97 * walk + rng.gauss(0, 0.45)
            cloud = min(1.0, max(0.0, cloud + rng.gauss(0, 0.05)))
            self.offset.append(walk)
            self.clouds.append(cloud)
        self.rain_start = rng.randrange(48, max(49, len(hours) - 24))

    def temperature(self, index: int, moment: datetime) -> float:
        amplitude = 5.0 * (1 - 0.5 * self.clouds[index])
        h = _local_hour(moment)
        return (
            self.season_mean
            + self.offset[index]
            + amplitude * math.cos(2 * math.pi * (h - 15) / 24)
        )

    def raining(self, index: int) -> float:
        """Rain intensity 0…1 (one event of about 8 hours)."""
        since = index - self.rain_start
        return math.sin(math.pi * since / 8) if 0 <= since < 8 else 0.0


def _jitter(rng: random.Random, lon: float, lat: float, metres: float) -> tuple[float, float]:
    dlat = rng.uniform(-metres, metres) / 111_320
    dlon = rng.uniform(-metres, metres) / (111_320 * math.cos(math.radians(lat)))
    return round(lon + dlon, 6), round(lat + dlat, 6)


def _point(lon: float, lat: float) -> list[dict[str, Any]]:
    return [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}]


def _prop(value: Any) -> list[dict[str, Any]]:
    return [{"type": "Property", "value": value}]


def _rel(target: str) -> list[dict[str, Any]]:
    return [{"type": "Relationship", "object": target}]


def _address(street: str, district: str) -> list[dict[str, Any]]:
    return _prop(
        {
            "streetAddress": street,
            "district": district,
            "addressLocality": "Cluj-Napoca",
            "addressRegion": "Cluj",
            "addressCountry": "RO",
        }
    )


# -- the generator ------------------------------------------------------------------------------


class _Builder:
    def __init__(self, hours: list[datetime], seed: int, resolver: ContextResolver) -> None:
        self.hours = hours
        self.rng = random.Random(seed)
        self.resolver = resolver
        self.weather = _Weather(hours, self.rng)
        self.temperatures = [self.weather.temperature(i, t) for i, t in enumerate(hours)]
        self.traffic = [traffic_profile(t) for t in hours]
        self.entities: list[SimulatedEntity] = []

    def iri(self, entity_type: str, term: str) -> str:
        return self.resolver.resolve(CONTEXTS[entity_type]).expand_term(term)

    def new(self, entity_type: str, number: int, lon: float, lat: float) -> SimulatedEntity:
        entity_id = f"urn:ngsi-ld:{entity_type}:cluj:{number:04d}"
        doc: EntityDoc = {"id": entity_id, "type": [self.iri(entity_type, entity_type)]}
        doc[LOCATION] = _point(lon, lat)
        entity = SimulatedEntity(doc)
        self.entities.append(entity)
        return entity

    def static(self, entity: SimulatedEntity, entity_type: str, term: str, value: Any) -> None:
        entity.doc[self.iri(entity_type, term)] = value

    def series(
        self,
        entity: SimulatedEntity,
        entity_type: str,
        term: str,
        values: list[Any],
        unit: str | None = None,
    ) -> None:
        attr = self.iri(entity_type, term)
        entity.readings[attr] = values
        if unit:
            entity.units[attr] = unit

    # -- waste ------------------------------------------------------------------------------
    def waste(self) -> None:
        weights = _activity_weights()
        for number in range(1, COUNTS["WasteContainer"] + 1):
            district, dlon, dlat = DISTRICTS[(number - 1) % len(DISTRICTS)]
            lon, lat = _jitter(self.rng, dlon, dlat, 700)
            kinds, (low, high), collection_days = WASTE_KINDS[(number - 1) % len(WASTE_KINDS)]
            street = self.rng.choice(STREETS)[0] if district == "Centru" else f"Cartier {district}"
            wc = self.new("WasteContainer", number, lon, lat)
            device_id = f"urn:ngsi-ld:Device:cluj:{number:04d}"
            capacity = self.rng.choice((1100, 1100, 3000, 5000))
            self.static(wc, "WasteContainer", "name", _prop(f"Container {number:03d} – {district}"))
            self.static(wc, "WasteContainer", "address", _address(street, district))
            self.static(wc, "WasteContainer", "storedWasteKind", _prop(kinds))
            self.static(
                wc,
                "WasteContainer",
                "binCapacity",
                [{"type": "Property", "value": capacity, "unitCode": "LTR"}],
            )
            self.static(wc, "WasteContainer", "status", _prop("ok"))
            self.static(wc, "WasteContainer", "refDevice", _rel(device_id))
            daily = self.rng.uniform(low, high) * (1.3 if district == "Centru" else 1.0)
            level = self.rng.uniform(0.05, 0.5)
            fill: list[Any] = []
            emptied: list[Any] = []
            temperature: list[Any] = []
            for index, moment in enumerate(self.hours):
                local = moment.astimezone(LOCAL_TIME)
                if local.hour == 6 and local.weekday() in collection_days:
                    level = self.rng.uniform(0.0, 0.03)
                    emptied.append({"@type": "DateTime", "@value": format_datetime(moment)})
                else:
                    emptied.append(None)
                level += daily * weights[local.hour] * self.rng.uniform(0.6, 1.4)
                level = min(level, 1.0)
                fill.append(round(level, 3))
                sun = max(0.0, math.sin(math.radians(solar_elevation(moment, lon, lat))))
                temperature.append(
                    round(self.temperatures[index] + 1.5 + 7 * sun + self.rng.gauss(0, 0.4), 1)
                )
            self.series(wc, "WasteContainer", "fillingLevel", fill, "C62")
            self.series(wc, "WasteContainer", "temperature", temperature, "CEL")
            self.series(wc, "WasteContainer", "dateLastEmptying", emptied)

            device = self.new("Device", number, lon, lat)
            self.static(device, "Device", "name", _prop(f"Fill sensor {number:03d}"))
            self.static(device, "Device", "category", _prop(["sensor"]))
            self.static(
                device, "Device", "controlledProperty", _prop(["fillingLevel", "temperature"])
            )
            self.static(device, "Device", "serialNumber", _prop(f"CJ-FS-{10000 + number}"))
            self.static(device, "Device", "controlledAsset", _rel(wc.doc["id"]))
            self.static(device, "Device", "deviceState", _prop("ok"))
            battery = self.rng.uniform(0.35, 1.0)
            drain = self.rng.uniform(0.0002, 0.0006)
            rssi_base = self.rng.uniform(-105, -70)
            levels: list[Any] = []
            rssi: list[Any] = []
            for index in range(len(self.hours)):
                battery = max(0.0, battery - drain)
                status_frame = index % 6 == 0  # the sensor reports its health every 6 hours
                levels.append(round(battery, 4) if status_frame else None)
                rssi.append(round(rssi_base + self.rng.gauss(0, 3)) if status_frame else None)
            self.series(device, "Device", "batteryLevel", levels, "C62")
            self.series(device, "Device", "rssi", rssi, "DBM")

    # -- lighting ---------------------------------------------------------------------------
    def lighting(self) -> None:
        per_street = COUNTS["Streetlight"] // len(STREETS)
        number = 0
        for street_index, (street, (lon0, lat0), (lon1, lat1)) in enumerate(STREETS):
            for position in range(per_street):
                number += 1
                share = (position + 0.5) / per_street
                lon = round(lon0 + (lon1 - lon0) * share, 6)
                lat = round(lat0 + (lat1 - lat0) * share, 6)
                light = self.new("Streetlight", number, lon, lat)
                rated = self.rng.choice((40, 60, 60, 90, 120)) if street_index % 3 else 150
                failed = street_index == 1 and position == 6
                day_burner = street_index == 4 and position == 2
                self.static(light, "Streetlight", "name", _prop(f"{street} – stâlp {position + 1}"))
                self.static(light, "Streetlight", "address", _address(street, "Cluj-Napoca"))
                self.static(
                    light,
                    "Streetlight",
                    "lanternHeight",
                    [{"type": "Property", "value": 10 if rated >= 90 else 8, "unitCode": "MTR"}],
                )
                self.static(
                    light, "Streetlight", "status", _prop("defectiveLamp" if failed else "ok")
                )
                state: list[Any] = []
                level: list[Any] = []
                power: list[Any] = []
                for moment in self.hours:
                    dark = solar_elevation(moment, lon, lat) < -1.0
                    on = dark or day_burner
                    h = _local_hour(moment)
                    dimmed = 0.5 if 0 <= h < 5 else 1.0
                    state.append("on" if on else "off")
                    brightness = (dimmed if dark else 1.0) if on and not failed else 0.0
                    level.append(brightness)
                    watts = rated * brightness * self.rng.uniform(0.97, 1.03) if on else 0.4
                    power.append(round(watts if not failed else 0.4, 1))
                self.series(light, "Streetlight", "powerState", state)
                self.series(light, "Streetlight", "illuminanceLevel", level, "C62")
                self.series(light, "Streetlight", "powerConsumption", power, "WTT")

    # -- environment --------------------------------------------------------------------------
    def air_quality(self) -> None:
        cold = self.weather.cold
        for number in range(1, COUNTS["AirQualityObserved"] + 1):
            district, dlon, dlat = DISTRICTS[(number - 1) % len(DISTRICTS)]
            lon, lat = _jitter(self.rng, dlon, dlat, 200)
            station = self.new("AirQualityObserved", number, lon, lat)
            self.static(station, "AirQualityObserved", "name", _prop(f"Stația {district}"))
            self.static(station, "AirQualityObserved", "address", _address(district, district))
            self.static(station, "AirQualityObserved", "reliability", _prop(0.9))
            busy = 1.4 if district in ("Centru", "Mărăști", "Gheorgheni") else 0.8
            pm25: list[Any] = []
            pm10: list[Any] = []
            no2: list[Any] = []
            o3: list[Any] = []
            humidity: list[Any] = []
            temperature: list[Any] = []
            for index, moment in enumerate(self.hours):
                h = _local_hour(moment)
                traffic = self.traffic[index] * busy
                heating = cold * (
                    math.exp(-(((h - 20.5) / 2.5) ** 2)) + 0.5 * math.exp(-(((h - 7) / 1.5) ** 2))
                )
                rain = self.weather.raining(index)
                wash = 1 - 0.5 * rain
                night_inversion = 1.25 if h < 6 or h > 21 else 1.0
                n = (10 + 38 * traffic) * night_inversion * wash + self.rng.gauss(0, 2.5)
                p25 = (7 + 14 * heating + 6 * traffic) * wash + self.rng.gauss(0, 1.2)
                p10 = p25 * self.rng.uniform(1.45, 1.8) + 5 * traffic * wash
                sun = max(0.0, math.sin(math.radians(solar_elevation(moment, lon, lat))))
                temp = self.temperatures[index] + (0.8 if district == "Centru" else 0.0)
                ozone = 18 + 70 * sun * (0.4 + 0.6 * (1 - cold)) - 0.3 * n + self.rng.gauss(0, 3)
                rh = 0.72 - 0.022 * (temp - self.weather.season_mean) + 0.2 * rain
                no2.append(round(max(n, 2.0), 1))
                pm25.append(round(max(p25, 1.0), 1))
                pm10.append(round(max(p10, 2.0), 1))
                o3.append(round(max(ozone, 2.0), 1))
                humidity.append(round(min(max(rh + self.rng.gauss(0, 0.02), 0.2), 1.0), 2))
                temperature.append(round(temp + self.rng.gauss(0, 0.2), 1))
            self.series(station, "AirQualityObserved", "pm25", pm25, "GQ")
            self.series(station, "AirQualityObserved", "pm10", pm10, "GQ")
            self.series(station, "AirQualityObserved", "no2", no2, "GQ")
            self.series(station, "AirQualityObserved", "o3", o3, "GQ")
            self.series(station, "AirQualityObserved", "temperature", temperature, "CEL")
            self.series(station, "AirQualityObserved", "relativeHumidity", humidity, "C62")

    def water_quality(self) -> None:
        for number, (site, lon, lat) in enumerate(RIVER_SITES, start=1):
            station = self.new("WaterQualityObserved", number, lon, lat)
            self.static(station, "WaterQualityObserved", "name", _prop(site))
            lake = site.startswith("Lacul")
            base_temp = max(2.0, self.weather.season_mean - 1.5) + (1.5 if lake else 0.0)
            conductivity = self.rng.uniform(330, 420)
            temperature: list[Any] = []
            ph: list[Any] = []
            oxygen: list[Any] = []
            cond: list[Any] = []
            turbidity: list[Any] = []
            for index, moment in enumerate(self.hours):
                h = _local_hour(moment)
                photosynthesis = max(0.0, math.cos(2 * math.pi * (h - 15) / 24))
                rain = self.weather.raining(max(0, index - 3))  # the river answers later
                water = (
                    base_temp
                    + 0.2 * self.weather.offset[index]
                    + 1.0 * math.cos(2 * math.pi * (h - 17) / 24)
                )
                saturation = 14.6 - 0.39 * water + 0.007 * water * water
                conductivity += self.rng.gauss(0, 1.5) - 25 * rain / 8
                temperature.append(round(water + self.rng.gauss(0, 0.05), 2))
                ph.append(round(7.55 + 0.3 * photosynthesis + self.rng.gauss(0, 0.03), 2))
                oxygen.append(
                    round(saturation * (0.82 + 0.18 * photosynthesis) + self.rng.gauss(0, 0.1), 2)
                )
                cond.append(round(conductivity, 1))
                turbidity.append(
                    round((4 if lake else 7) + 45 * rain + abs(self.rng.gauss(0, 0.8)), 1)
                )
            self.series(station, "WaterQualityObserved", "temperature", temperature, "CEL")
            self.series(station, "WaterQualityObserved", "pH", ph)
            self.series(station, "WaterQualityObserved", "O2", oxygen, "M1")
            self.series(station, "WaterQualityObserved", "conductivity", cond, "G42")
            self.series(station, "WaterQualityObserved", "turbidity", turbidity)

    # -- mobility ------------------------------------------------------------------------------
    def traffic_flow(self) -> None:
        count = COUNTS["TrafficFlowObserved"]
        for number in range(1, count + 1):
            street, (lon0, lat0), (lon1, lat1) = STREETS[(number - 1) % len(STREETS)]
            share = ((number - 1) // len(STREETS) + 0.5) / math.ceil(count / len(STREETS))
            lon = round(lon0 + (lon1 - lon0) * share, 6)
            lat = round(lat0 + (lat1 - lat0) * share, 6)
            sensor = self.new("TrafficFlowObserved", number, lon, lat)
            direction = "forward" if number % 2 else "backward"
            self.static(sensor, "TrafficFlowObserved", "name", _prop(f"Contor trafic {street}"))
            self.static(sensor, "TrafficFlowObserved", "laneId", _prop(1))
            self.static(sensor, "TrafficFlowObserved", "laneDirection", _prop(direction))
            self.static(sensor, "TrafficFlowObserved", "address", _address(street, "Cluj-Napoca"))
            capacity = self.rng.uniform(900, 1800)
            free_speed = self.rng.choice((50, 50, 60, 70))
            intensity: list[Any] = []
            speed: list[Any] = []
            occupancy: list[Any] = []
            congested: list[Any] = []
            for index in range(len(self.hours)):
                load = min(1.05, self.traffic[index] * self.rng.uniform(0.85, 1.1))
                vehicles = capacity * load
                occ = min(0.95, 0.32 * load**1.6)
                kmh = max(8.0, free_speed * (1 - 0.7 * load**3))
                intensity.append(round(vehicles))
                speed.append(round(kmh, 1))
                occupancy.append(round(occ, 3))
                congested.append(kmh < 0.45 * free_speed)
            self.series(sensor, "TrafficFlowObserved", "intensity", intensity)
            self.series(sensor, "TrafficFlowObserved", "averageVehicleSpeed", speed, "KMH")
            self.series(sensor, "TrafficFlowObserved", "occupancy", occupancy, "C62")
            self.series(sensor, "TrafficFlowObserved", "congested", congested)


def week_ending(end: datetime, hours: int = HOURS) -> list[datetime]:
    """The ``hours`` whole hours up to and including the hour of ``end`` (UTC)."""
    last = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [last - timedelta(hours=hours - 1 - index) for index in range(hours)]


def build_city(
    end: datetime | None = None,
    *,
    hours: int = HOURS,
    seed: int = 2026,
    resolver: ContextResolver | None = None,
) -> DemoCity:
    """The demo city with ``hours`` hourly readings ending at the hour of ``end`` (default
    now)."""
    moments = week_ending(end or datetime.now(UTC), hours)
    builder = _Builder(moments, seed, resolver or ContextResolver())
    builder.waste()
    builder.lighting()
    builder.air_quality()
    builder.water_quality()
    builder.traffic_flow()
    builder.entities.sort(key=lambda entity: entity.doc["id"])
    return DemoCity(moments, builder.entities)
