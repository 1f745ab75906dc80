"""Compliance per station and calendar year: data capture rules, exceedances across year
boundaries, O3 8-hour means, the report as CSV and HTML, limit sets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cetate.domains.environment.compliance import compliance_report
from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.limits import custom_limit_set, limit_set
from cetate.domains.environment.report_render import to_csv, to_html
from cetate.domains.environment.series import (
    daily_means,
    days_by_hours,
    eight_hour_mean,
    max_daily_8h_means,
)

H = timedelta(hours=1)


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def hours(start: datetime, count: int) -> list[datetime]:
    return [start + k * H for k in range(count)]


def filled(stamps: Iterable[datetime], value: float) -> dict[datetime, float]:
    return dict.fromkeys(stamps, value)


def result(report, pollutant: str, period: str):  # type: ignore[no-untyped-def]
    return next(
        r for r in report.results if r.limit.pollutant == pollutant and r.limit.period == period
    )


def test_daily_mean_needs_75_percent_of_the_hours() -> None:
    day = date(2025, 3, 1)
    days = {day: hours(at(2025, 3, 1), 24)}
    eighteen = filled(hours(at(2025, 3, 1), 18), 60.0)
    assert daily_means(eighteen, days)[day].value == 60.0
    seventeen = filled(hours(at(2025, 3, 1), 17), 60.0)
    aggregate = daily_means(seventeen, days)[day]
    assert aggregate.value is None
    assert (aggregate.valid, aggregate.expected) == (17, 24)


def test_days_follow_the_time_zone_and_dst() -> None:
    bucharest = ZoneInfo("Europe/Bucharest")
    days = days_by_hours(at(2025, 3, 29, 22), at(2025, 3, 31, 21), bucharest)
    assert len(days[date(2025, 3, 30)]) == 23  # spring forward
    days = days_by_hours(at(2025, 10, 25, 21), at(2025, 10, 27, 22), bucharest)
    assert len(days[date(2025, 10, 26)]) == 25  # fall back


def test_eight_hour_mean_needs_six_of_eight_hours() -> None:
    last = at(2025, 6, 1, 7)
    six = filled(hours(at(2025, 6, 1, 2), 6), 90.0)
    assert eight_hour_mean(six, last) == 90.0
    five = filled(hours(at(2025, 6, 1, 3), 5), 90.0)
    assert eight_hour_mean(five, last) is None
    mixed = {
        **filled(hours(at(2025, 6, 1), 4), 100.0),
        **filled(hours(at(2025, 6, 1, 4), 4), 140.0),
    }
    assert eight_hour_mean(mixed, last) == 120.0


def test_max_daily_8h_mean_uses_windows_ending_in_the_day() -> None:
    day = date(2025, 7, 1)
    days = {day: hours(at(2025, 7, 1), 24)}
    series = {**filled(hours(at(2025, 6, 30, 17), 7), 130.0), **filled(days[day], 100.0)}
    # the first window of 1 July runs 30 June 17:00 – 1 July 01:00: (7·130 + 100) / 8
    assert max_daily_8h_means(series, days)[day].value == pytest.approx(126.25)
    only_day = filled(days[day], 100.0)
    assert max_daily_8h_means(only_day, days)[day].value == 100.0
    # 17 valid windows of 24 are not enough (windows ending 00:00–06:00 lack hours)
    sparse = filled(hours(at(2025, 7, 1, 2), 22), 100.0)
    aggregate = max_daily_8h_means(sparse, days)[day]
    assert aggregate.value is None
    assert aggregate.valid == 17


def test_exceedances_are_counted_within_the_calendar_year_only() -> None:
    no2 = {
        at(2024, 12, 31, 23): 250.0,  # 2024
        at(2025, 1, 1, 0): 250.0,  # 2025
        at(2025, 12, 31, 23): 201.0,  # 2025
        at(2026, 1, 1, 0): 300.0,  # 2026
        at(2025, 6, 1, 12): 200.0,  # on the limit: not an exceedance
    }
    pm10 = {
        **filled(hours(at(2024, 12, 31), 24), 80.0),
        **filled(hours(at(2025, 1, 1), 24), 80.0),
        **filled(hours(at(2025, 12, 31), 24), 51.0),
        **filled(hours(at(2026, 1, 1), 24), 80.0),
    }
    report = compliance_report("st-1", 2025, {"no2": no2, "pm10": pm10}, limit_set("eu-2008-50"))
    assert result(report, "no2", "hour").exceedances == 2
    assert result(report, "pm10", "day").exceedances == 2
    assert result(report, "pm10", "day").valid_periods == 2
    assert result(report, "pm10", "day").expected_periods == 365
    # a local year: 2024-12-31 22:00 UTC is already 2025 in Bucharest (UTC+2)
    local = compliance_report(
        "st-1",
        2025,
        {"no2": {at(2024, 12, 31, 22): 250.0, at(2025, 12, 31, 22): 250.0}},
        limit_set("eu-2008-50"),
        tz=ZoneInfo("Europe/Bucharest"),
    )
    assert result(local, "no2", "hour").exceedances == 1


def test_o3_target_counts_days_and_reaches_back_into_december() -> None:
    jan1 = hours(at(2025, 1, 1), 24)
    with_december = {**filled(hours(at(2024, 12, 31, 17), 7), 130.0), **filled(jan1, 100.0)}
    report = compliance_report("st-1", 2025, {"o3": with_december}, limit_set("eu-2008-50"))
    assert result(report, "o3", "max-daily-8h").exceedances == 1
    without = compliance_report("st-1", 2025, {"o3": filled(jan1, 100.0)}, limit_set("eu-2008-50"))
    assert result(without, "o3", "max-daily-8h").exceedances == 0


def test_status_rules_for_counts() -> None:
    # 36 days above 50 in January–February: exceeded whatever the capture
    bad = filled(hours(at(2025, 1, 1), 36 * 24), 60.0)
    report = compliance_report("st-1", 2025, {"pm10": bad}, limit_set("eu-2008-50"))
    day = result(report, "pm10", "day")
    assert (day.status, day.exceedances, day.valid_periods) == ("exceeded", 36, 36)
    assert day.data_capture == pytest.approx(36 / 365)
    # 35 is allowed, but with little data the answer is "insufficient data"
    allowed = filled(hours(at(2025, 1, 1), 35 * 24), 60.0)
    report = compliance_report("st-1", 2025, {"pm10": allowed}, limit_set("eu-2008-50"))
    assert result(report, "pm10", "day").status == "insufficient data"
    assert result(report, "no2", "hour").status == "not measured"


def test_annual_mean_needs_90_percent_capture() -> None:
    year_hours = hours(at(2025, 1, 1), 8760)
    enough = filled(year_hours[:7884], 30.0)  # exactly 90 %
    report = compliance_report("st-1", 2025, {"no2": enough}, limit_set("eu-2008-50"))
    annual = result(report, "no2", "year")
    assert (annual.status, annual.statistic) == ("compliant", 30.0)
    assert annual.data_capture == pytest.approx(0.9)
    assert report.hourly_capture["no2"] == pytest.approx(0.9)
    # the same data breaks the 2030 value of 20 µg/m³
    assert (
        result(
            compliance_report("st-1", 2025, {"no2": enough}, limit_set("eu-2024-2881")),
            "no2",
            "year",
        ).status
        == "exceeded"
    )
    short = filled(year_hours[:7883], 30.0)
    report = compliance_report("st-1", 2025, {"no2": short}, limit_set("eu-2008-50"))
    assert result(report, "no2", "year").status == "insufficient data"


def test_report_as_csv_and_html() -> None:
    no2 = filled(hours(at(2025, 1, 1), 8760), 45.0)
    no2[at(2025, 5, 5, 5)] = 210.0
    report = compliance_report(
        "urn:ngsi-ld:AirQualityObserved:ct-1", 2025, {"no2": no2}, limit_set("eu-2008-50")
    )
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert len(rows) == len(report.limit_set.values)
    hourly = next(r for r in rows if r["pollutant"] == "no2" and r["period"] == "hour")
    assert hourly["exceedances"] == "1"
    assert hourly["data_capture_percent"] == "100.0"
    assert hourly["status"] == "compliant"
    yearly = next(r for r in rows if r["pollutant"] == "no2" and r["period"] == "year")
    assert yearly["status"] == "exceeded"
    assert yearly["allowed_exceedances"] == ""
    html = to_html(report, "ro")
    assert '<html lang="ro">' in html
    assert "depășit" in html
    assert "100.0 % (8760/8760)" in html
    assert "nemăsurat" in html
    assert "exceeded" in to_html(report, "en")
    with pytest.raises(EnvironmentInputError, match="unsupported language"):
        to_html(report, "fr")


def test_limit_sets_are_data_with_citations() -> None:
    old = limit_set("eu-2008-50")
    assert "2008/50/EC" in old.source
    pm10_day = next(v for v in old.values if v.pollutant == "pm10" and v.period == "day")
    assert (pm10_day.value, pm10_day.allowed) == (50.0, 35)
    new = limit_set("eu-2024-2881")
    assert "2024/2881" in new.source
    pm25_day = next(v for v in new.values if v.pollutant == "pm25" and v.period == "day")
    assert (pm25_day.value, pm25_day.allowed) == (25.0, 18)
    with pytest.raises(EnvironmentInputError, match="unknown limit set"):
        limit_set("eu-1999")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"pollutant": "nh3", "period": "day", "value": 1, "allowed": 1}, "unknown pollutant"),
        (
            {"pollutant": "no2", "period": "week", "value": 1, "allowed": 1},
            "unknown averaging period",
        ),
        ({"pollutant": "no2", "period": "day", "value": 1}, "non-negative integer 'allowed'"),
        ({"pollutant": "no2", "period": "day", "value": -5, "allowed": 1}, "must be positive"),
        ({"pollutant": "no2", "period": "day", "value": "x", "allowed": 1}, "not a number"),
        ({"period": "day", "value": 1, "allowed": 1}, "needs 'pollutant'"),
    ],
)
def test_custom_limit_sets_reject_bad_values(item: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(EnvironmentInputError, match=message):
        custom_limit_set("who-2021", [item])


def test_a_custom_set_is_applied() -> None:
    who = custom_limit_set(
        "who-2021", [{"pollutant": "pm25", "period": "day", "value": 15, "allowed": 3}]
    )
    pm25 = filled(hours(at(2025, 1, 1), 4 * 24), 16.0)
    report = compliance_report("st-1", 2025, {"pm25": pm25}, who)
    assert result(report, "pm25", "day").status == "exceeded"
