"""End to end on both backends: AirQualityObserved entities with history written through
EntityService, read back as hourly series, then the index and a compliance report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cetate.domains.environment import eaqi
from cetate.domains.environment.compliance import compliance_report
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.limits import limit_set
from cetate.domains.environment.report_render import to_csv
from cetate.domains.environment.store_input import attribute_iris, station_series, to_ugm3
from cetate.entities import EntityService
from cetate.ngsi.timestamps import format_datetime
from cetate.store.base import ContextStore

TENANT = "constanta"
STATION = "urn:ngsi-ld:AirQualityObserved:constanta:tomis"
TYPE = "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"
START = datetime(2025, 12, 31, 12, tzinfo=UTC)
END = datetime(2026, 1, 2, tzinfo=UTC)  # 36 hours
NOW = datetime(2026, 1, 10, tzinfo=UTC)
H = timedelta(hours=1)
IRI = attribute_iris()


def reading(value: Any, moment: datetime, unit: str | None = "GQ") -> list[dict[str, Any]]:
    instance: dict[str, Any] = {"type": "Property", "value": value}
    instance["observedAt"] = format_datetime(moment)
    if unit is not None:
        instance["unitCode"] = unit
    return [instance]


def write_station(service: EntityService) -> None:
    service.create(TENANT, {"id": STATION, "type": [TYPE]})
    hour = START
    while hour < END:
        if hour == datetime(2026, 1, 1, 5, tzinfo=UTC):  # a gap: nothing this hour
            hour += H
            continue
        no2 = (
            250.0
            if hour in (datetime(2025, 12, 31, 20, tzinfo=UTC), datetime(2026, 1, 1, 3, tzinfo=UTC))
            else 30.0
        )
        attrs = {
            IRI["pm25"]: reading(12.0, hour),
            IRI["pm10"]: reading(20.0, hour),
            IRI["no2"]: reading(no2, hour),
            IRI["o3"]: reading(40.0, hour, unit=None),  # no unit: µg/m³ by default
        }
        service.append_attributes(TENANT, STATION, attrs)
        hour += H
    noon = datetime(2026, 1, 1, 12, tzinfo=UTC)
    # sub-hourly PM2.5: 12 at :00, 20 at :15 and 40 at :45 -> mean 24 (moderate in 2024)
    for minutes, value in ((15, 20.0), (45, 40.0)):
        service.append_attributes(
            TENANT, STATION, {IRI["pm25"]: reading(value, noon + timedelta(minutes=minutes))}
        )
    # SO2 in ppb: 10 ppb × 64.066 / 24.06 = 26.63 µg/m³
    service.append_attributes(TENANT, STATION, {IRI["so2"]: reading(10.0, noon, unit="61")})
    # rejected readings
    service.append_attributes(
        TENANT, STATION, {IRI["pm10"]: reading(-3.0, noon + timedelta(minutes=30))}
    )
    service.append_attributes(
        TENANT, STATION, {IRI["pm10"]: reading(5.0, noon + timedelta(minutes=40), unit="XYZ")}
    )
    service.append_attributes(
        TENANT, STATION, {IRI["pm10"]: reading("high", noon + timedelta(minutes=50))}
    )


def test_index_and_report_from_stored_history(store: ContextStore) -> None:
    write_station(EntityService(store))
    got = station_series(store, TENANT, STATION, START - 12 * H, END, now=NOW)
    assert set(got.series) == {"pm25", "pm10", "no2", "o3", "so2"}
    assert len(got.series["no2"]) == 35  # 36 hours, one gap
    assert datetime(2026, 1, 1, 5, tzinfo=UTC) not in got.series["no2"]
    noon = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert got.series["pm25"][noon] == pytest.approx(24.0)
    assert got.series["so2"][noon] == pytest.approx(10 * 64.066 / 24.06)
    assert sorted(r.reason for r in got.rejected) == [
        "negative concentration",
        "not a number",
        "unknown or unsupported unit 'XYZ' for pm10",
    ]

    index = eaqi.station_index(got.hour(noon))
    assert (index.name, index.drivers) == ("moderate", ("pm25", "no2"))
    index_2021 = eaqi.station_index(got.hour(noon), version="eea-2021")
    assert (index_2021.name, index_2021.drivers) == ("moderate", ("pm25",))
    assert not eaqi.station_index(got.hour(datetime(2026, 1, 1, 5, tzinfo=UTC))).sufficient
    hourly = eaqi.hourly_indices(got.series, [START, START + H])
    assert hourly[START].name == "moderate"

    report = compliance_report(STATION, 2026, got.series, limit_set("eu-2008-50"))
    no2_hour = next(
        r for r in report.results if r.limit.pollutant == "no2" and r.limit.period == "hour"
    )
    assert no2_hour.exceedances == 1  # the 2025 one is not counted in 2026
    assert no2_hour.valid_periods == 23  # 1 January 00:00–23:00 minus the gap
    assert no2_hour.status == "insufficient data"
    assert report.hourly_capture["no2"] == pytest.approx(23 / 8760)
    assert STATION in to_csv(report)

    # the period bounds: [start, end)
    narrow = station_series(store, TENANT, STATION, START, START + H, now=NOW)
    assert list(narrow.series["no2"]) == [START]


def test_future_timestamps_and_duplicates_are_flagged(store: ContextStore) -> None:
    service = EntityService(store)
    service.create(TENANT, {"id": STATION, "type": [TYPE]})
    moment = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    service.append_attributes(TENANT, STATION, {IRI["no2"]: reading(10.0, moment)})
    service.append_attributes(TENANT, STATION, {IRI["no2"]: reading(30.0, moment)})
    later = datetime(2026, 1, 1, 12, tzinfo=UTC)
    service.append_attributes(TENANT, STATION, {IRI["no2"]: reading(99.0, later)})
    got = station_series(
        store, TENANT, STATION, START, END, now=datetime(2026, 1, 1, 11, tzinfo=UTC)
    )
    assert got.series["no2"] == {datetime(2026, 1, 1, 10, tzinfo=UTC): 30.0}
    assert {r.reason for r in got.rejected} == {
        "timestamp in the future",
        "duplicate timestamp (the later reading is kept)",
    }
    # another tenant sees nothing
    assert station_series(store, "other", STATION, START, END, now=NOW).series == {}


def test_bad_requests(store: ContextStore) -> None:
    with pytest.raises(EnvironmentInputError, match="end must be after start"):
        station_series(store, TENANT, STATION, END, START)
    with pytest.raises(EnvironmentInputError, match="need a time zone"):
        station_series(store, TENANT, STATION, START.replace(tzinfo=None), END)
    with pytest.raises(EnvironmentInputError, match="unknown pollutant 'nh3'"):
        station_series(store, TENANT, STATION, START, END, pollutants=["nh3"])


def test_unit_conversions() -> None:
    assert to_ugm3("pm10", 0.05, "GP") == pytest.approx(50.0)
    assert to_ugm3("co", 1.0, "59") == pytest.approx(1000 * 28.010 / 24.06)
    with pytest.raises(EnvironmentInputError, match="unknown or unsupported unit '61' for pm25"):
        to_ugm3("pm25", 1.0, "61")
