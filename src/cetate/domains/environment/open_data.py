"""Open data: a station's hourly values over a period as CSV or GeoJSON.

One row (CSV) or one Point feature (GeoJSON) per hour that has at least one valid value, in
time order; columns ``pm25 pm10 no2 o3 so2 co`` in µg/m³ (empty / null when not measured that
hour), and the European index of the hour (``eea-2024``; empty when the data does not support
one). Hours are the UTC starts of the hourly means built by :mod:`.store_input` — rejected
readings (negative, unknown unit, future, duplicates) are not in the values, and their count is
given in the GeoJSON's ``rejectedReadings`` and the CSV's ``X-Rejected-Readings`` header.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Final

from cetate.domains.environment import eaqi
from cetate.domains.environment.pollutants import POLLUTANTS
from cetate.domains.environment.public_data import Station, index_kind
from cetate.domains.environment.store_input import StationSeries
from cetate.ngsi.timestamps import format_datetime

CSV_COLUMNS: Final = ("station", "hour_start_utc", *POLLUTANTS, "eaqi_2024")
UNIT_NOTE: Final = "µg/m³, hourly means; hour_start_utc is the start of the hour"


def _hours(got: StationSeries) -> list[datetime]:
    return sorted({h for s in got.series.values() for h in s})


def _index(got: StationSeries, hour: datetime, kind: str) -> str:
    return eaqi.station_index(got.hour(hour), kind=index_kind(kind)).name or ""


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def hourly_csv(station: Station, got: StationSeries) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for hour in _hours(got):
        values = [_round(got.series.get(p, {}).get(hour)) for p in POLLUTANTS]
        writer.writerow(
            [
                station.id,
                format_datetime(hour),
                *("" if v is None else f"{v:g}" for v in values),
                _index(got, hour, station.kind),
            ]
        )
    return out.getvalue()


def hourly_geojson(station: Station, got: StationSeries) -> dict[str, Any]:
    geometry: dict[str, Any] | None = None
    if station.longitude is not None and station.latitude is not None:
        geometry = {"type": "Point", "coordinates": [station.longitude, station.latitude]}
    features = [
        {
            "type": "Feature",
            "geometry": geometry,
            "properties": {
                "station": station.id,
                "name": station.name,
                "hourStart": format_datetime(hour),
                **{p: _round(got.series.get(p, {}).get(hour)) for p in POLLUTANTS},
                "eaqi2024": _index(got, hour, station.kind) or None,
            },
        }
        for hour in _hours(got)
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "unit": UNIT_NOTE,
        "rejectedReadings": len(got.rejected),
    }
