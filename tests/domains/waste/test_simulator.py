"""The simulator: both policies on the same demand, deterministic per seed, its outputs (JSON,
PNG, the stored run) and the ``simulate`` command, with bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.simulator import (
    SimulationParams,
    SimulationResult,
    build_city,
    latest_run,
    plot,
    save_json,
    save_to_store,
    simulate,
)
from cetate.domains.waste.simulator_command import register
from cetate.entities import EntityService
from cetate.store.base import open_store

SMALL = SimulationParams(bins=60, trucks=2, days=7, seed=3, seconds_per_day=0.2)


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    return simulate(SMALL)


def test_the_city_and_its_demand_are_fixed_by_the_seed() -> None:
    one, again, other = (
        build_city(SMALL),
        build_city(SMALL),
        build_city(SimulationParams(bins=60, trucks=2, days=7, seed=4)),
    )
    assert np.array_equal(one.increments, again.increments)
    assert [b.id for b in one.bins] == [b.id for b in again.bins]
    assert not np.array_equal(one.increments, other.increments)
    # heterogeneous rates, every bin on at least one fixed weekday
    assert one.rates.max() > 2 * one.rates.min()
    assert all(days for days in one.fixed_days)


def test_both_policies_run_on_the_same_days(result: SimulationResult) -> None:
    assert [d.day for d in result.fixed.daily] == [d.day for d in result.sensor.daily]
    assert len(result.fixed.daily) == SMALL.days
    sunday = result.fixed.daily[6]
    assert sunday.emptied == 0
    assert sunday.km == 0.0
    assert result.fixed.infeasible_days == 0
    assert result.sensor.infeasible_days == 0


def test_the_fixed_schedule_empties_exactly_its_scheduled_bins(result: SimulationResult) -> None:
    city = build_city(SMALL)
    scheduled = sum(1 for days in city.fixed_days for w in range(6) if w in days)
    assert result.fixed.emptied == scheduled  # one week: each scheduled visit once


def test_the_sensor_policy_empties_fuller_bins(result: SimulationResult) -> None:
    assert 0 < result.sensor.emptied < result.fixed.emptied
    assert result.sensor.average_fill > result.fixed.average_fill
    assert result.sensor.km > 0
    assert result.sensor.hours > 0


def test_a_rerun_with_the_seed_gives_the_same_fixed_figures(result: SimulationResult) -> None:
    again = simulate(SMALL)
    assert [d.emptied for d in again.fixed.daily] == [d.emptied for d in result.fixed.daily]
    assert [d.overflows for d in again.fixed.daily] == [d.overflows for d in result.fixed.daily]
    assert again.fixed.average_fill == pytest.approx(result.fixed.average_fill)


def test_summary_json_and_plot(result: SimulationResult, tmp_path: Path) -> None:
    text = result.summary()
    assert "fixed" in text
    assert "sensor" in text
    assert "estimate" in text
    data = json.loads(save_json(result, tmp_path / "run.json").read_text())
    assert data["policies"]["fixed"]["totals"]["bins_emptied"] == result.fixed.emptied
    assert len(data["policies"]["sensor"]["daily"]) == SMALL.days
    png = plot(result, tmp_path / "run.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 5000


def test_the_run_is_kept_per_tenant(result: SimulationResult, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'sim.db'}")
    try:
        store.migrate()
        assert latest_run(store, "cluj") is None
        save_to_store(EntityService(store), "cluj", result)
        kept = latest_run(store, "cluj")
        assert kept is not None
        assert kept["policies"]["sensor"]["totals"]["overflows"] == result.sensor.overflows
        assert latest_run(store, "iasi") is None
    finally:
        store.close()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("bins", 0, "bins must be"),
        ("trucks", 0, "trucks must be"),
        ("days", 0, "days must be"),
        ("zones", 4, "zones must be 1, 2, 3 or 6"),
        ("seconds_per_day", 0.0, "seconds per day"),
    ],
)
def test_bad_parameters_say_what_is_wrong(field: str, value: object, words: str) -> None:
    with pytest.raises(WasteInputError) as caught:
        SimulationParams(**{field: value})  # type: ignore[arg-type]
    assert words in caught.value.detail


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a group, so "simulate" is a sub-command
    return app


def test_the_command_prints_writes_and_keeps(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    out = tmp_path / "out"
    got = CliRunner().invoke(
        _app(),
        [
            "simulate",
            "--bins",
            "30",
            "--trucks",
            "1",
            "--days",
            "2",
            "--seconds",
            "0.1",
            "--out",
            str(out),
            "--tenant",
            "cluj",
            "--database-url",
            url,
            "--quiet",
        ],
    )
    assert got.exit_code == 0, got.output
    assert "sensor-driven saves" in got.output
    assert (out / "simulation.png").exists()
    assert (out / "simulation.json").exists()
    store = open_store(url)
    try:
        kept = latest_run(store, "cluj")
        assert kept is not None
        assert kept["params"]["bins"] == 30
    finally:
        store.close()


def test_the_command_refuses_bad_zones(tmp_path: Path) -> None:
    got = CliRunner().invoke(
        _app(), ["simulate", "--zones", "5", "--out", str(tmp_path), "--days", "1"]
    )
    assert got.exit_code == 2
    assert "zones must be 1, 2, 3 or 6" in got.output
