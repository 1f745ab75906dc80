"""The simulator: diurnal shape, gaps, faulty sensors, bad arguments, the command line."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cetate.domains.environment.errors import EnvironmentInputError
from cetate.domains.environment.simulator import concentrations, main, simulate_city
from cetate.domains.environment.store_input import station_series
from cetate.entities import EntityService
from cetate.store.base import ContextStore, open_store

END = datetime(2026, 1, 15, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_diurnal_cycle() -> None:
    rng = random.Random(3)

    def mean(pollutant: str, utc_hour: int, kind: str = "traffic") -> float:
        day = datetime(2026, 7, 1, utc_hour, tzinfo=UTC)
        return sum(concentrations(day, kind, rng)[pollutant] for _ in range(200)) / 200

    assert mean("no2", 6) > 2 * mean("no2", 1)  # 08:00 local rush hour vs 03:00
    assert mean("o3", 13) > 2 * mean("o3", 4)  # afternoon sun
    assert mean("so2", 6, "industrial") > 3 * mean("so2", 6, "background")


def test_gaps_outage_and_series(store: ContextStore) -> None:
    sim = simulate_city(
        EntityService(store),
        "brasov",
        city="brasov",
        stations=3,
        hours=24,
        end=END,
        gap_rate=0.1,
        faulty=0,
        seed=5,
    )
    assert sim.kinds == {
        s: k for s, k in zip(sim.stations, ("traffic", "background", "background"), strict=True)
    }
    outage = sim.missing_hours[sim.stations[-1]]
    assert len(outage) >= 6
    for ident in sim.stations:
        got = station_series(store, "brasov", ident, END - 24 * H, END, now=END)
        missing = set(sim.missing_hours[ident])
        assert set(got.series["no2"]) == {END - k * H for k in range(1, 25)} - missing
        assert not got.rejected
    assert sim.readings == 5 * sum(24 - len(m) for m in sim.missing_hours.values())
    # deterministic: the same seed gives the same gaps
    again = simulate_city(
        EntityService(store),
        "brasov",
        city="brasov",
        stations=3,
        hours=24,
        end=END,
        gap_rate=0.1,
        faulty=0,
        seed=5,
    )
    assert again.missing_hours == sim.missing_hours


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"city": "atlantis"}, "unknown city 'atlantis'"),
        ({"stations": 0}, "stations must be 1-500"),
        ({"hours": 0}, "hours must be at least 1"),
        ({"gap_rate": 1.0}, "gap_rate"),
        ({"faulty": 9}, "faulty must be 0-6"),
    ],
)
def test_bad_arguments(store: ContextStore, options: dict[str, object], message: str) -> None:
    with pytest.raises(EnvironmentInputError, match=message):
        simulate_city(EntityService(store), "brasov", **options)  # type: ignore[arg-type]


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    assert (
        main(
            [
                "--database-url",
                url,
                "--tenant",
                "cluj",
                "--city",
                "cluj",
                "--stations",
                "2",
                "--hours",
                "3",
                "--gap-rate",
                "0",
            ]
        )
        == 0
    )
    assert "2 stations, 30 readings written to cluj" in capsys.readouterr().out
    store = open_store(url)
    try:
        assert store.get_tenant("cluj") is not None
        assert store.get_entity("cluj", "urn:ngsi-ld:AirQualityObserved:cluj:sim-002") is not None
    finally:
        store.close()
    with pytest.raises(SystemExit):
        main(["--database-url", url, "--tenant", "cluj", "--stations", "0"])
    assert "stations must be 1-500" in capsys.readouterr().err
