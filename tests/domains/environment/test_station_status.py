"""Station status: online, stale, faulty sensor (flat line, out of range), from readings and
from the stored history of simulated stations (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.simulator import simulate_city
from cetate.domains.environment.station_status import StatusRules, assess, station_status
from cetate.entities import EntityService
from cetate.store.base import ContextStore

NOW = datetime(2026, 11, 23, 12, 10, tzinfo=UTC)
H = timedelta(hours=1)


def _hours(values: list[float], last: datetime = NOW - 10 * H / 60) -> list[tuple[datetime, float]]:
    return [(last - (len(values) - 1 - k) * H, v) for k, v in enumerate(values)]


def test_online_stale_and_no_data() -> None:
    varying = {"pm25": _hours([10, 12, 11, 14, 13, 12]), "no2": _hours([30, 28, 35, 31, 29, 33])}
    assert assess("s", varying, NOW).status == "online"
    old = {"pm25": _hours([10, 12, 11], last=NOW - 2 * H - timedelta(minutes=1))}
    result = assess("s", old, NOW)
    assert (result.status, result.last_seen) == ("stale", NOW - 2 * H - timedelta(minutes=1))
    assert assess("s", {"pm25": _hours([10], last=NOW - 2 * H)}, NOW).status == "online"
    assert assess("s", {}, NOW).status == "stale"


def test_flat_line_needs_the_whole_run() -> None:
    five = {"pm25": _hours([9, 17, 17, 17, 17, 17])}
    assert assess("s", five, NOW).status == "online"  # five equal readings are not enough
    six = {"pm25": _hours([9, 17, 17, 17, 17, 17, 17]), "o3": _hours([40, 50, 60])}
    result = assess("s", six, NOW)
    assert result.status == "faulty"
    [finding] = result.findings
    assert (finding.sensor, finding.problem) == ("pm25", "flat-line")
    assert "17" in finding.detail
    tolerant = StatusRules(flat_tolerance=0.5)
    wobble = {"pm25": _hours([17.0, 17.2, 16.9, 17.1, 17.0, 17.3])}
    assert assess("s", wobble, NOW, tolerant).findings[0].problem == "flat-line"
    assert assess("s", wobble, NOW).status == "online"


def test_out_of_range_latest_reading() -> None:
    result = assess("s", {"no2": _hours([30, 32, 5000]), "temperature": _hours([21, -55])}, NOW)
    assert result.status == "faulty"
    assert {(f.sensor, f.problem) for f in result.findings} == {
        ("no2", "out-of-range"),
        ("temperature", "out-of-range"),
    }
    # a past spike followed by normal readings is not a fault now
    assert assess("s", {"no2": _hours([5000, 30, 31])}, NOW).status == "online"
    # stale wins: a silent station is reported as not reporting
    assert assess("s", {"no2": _hours([5000], last=NOW - 5 * H)}, NOW).status == "stale"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"flat_count": 1}, "flat_count"),
        ({"stale_after": timedelta(0)}, "positive"),
        ({"flat_tolerance": -1.0}, "flat_tolerance"),
    ],
)
def test_bad_rules(options: dict[str, object], message: str) -> None:
    with pytest.raises(EnvironmentInputError, match=message):
        StatusRules(**options)  # type: ignore[arg-type]


def test_status_of_simulated_stations(store: ContextStore) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    sim = simulate_city(
        EntityService(store),
        "timisoara",
        city="timisoara",
        stations=4,
        hours=12,
        end=now,
        gap_rate=0.0,
        faulty=2,
    )
    statuses = {s: station_status(store, "timisoara", s, now=now) for s in sim.stations}
    [flat] = sim.flat_line
    [spike] = sim.out_of_range
    assert statuses[flat].status == "faulty"
    assert [(f.sensor, f.problem) for f in statuses[flat].findings] == [("pm25", "flat-line")]
    assert statuses[spike].status == "faulty"
    assert [(f.sensor, f.problem) for f in statuses[spike].findings] == [("no2", "out-of-range")]
    healthy = [s for s in sim.stations if s not in sim.faulty]
    assert all(statuses[s].status == "online" for s in healthy)
    assert statuses[healthy[0]].sensors == ("no2", "o3", "pm10", "pm25", "so2")
    # two hours later without readings, every station is stale
    later = station_status(store, "timisoara", sim.stations[0], now=now + 3 * H)
    assert later.status == "stale"
    assert station_status(store, "timisoara", "urn:ngsi-ld:X:none", now=now).status == "stale"
