"""Short real load tests: ``cetate serve`` as a subprocess on a SQLite file, paho devices at
QoS 1, through a real Mosquitto and through the built-in broker; and a SIGKILL of the server
mid-run through Mosquitto. Never timed: the assertions are on counts, never on speed."""

from __future__ import annotations

import re

import pytest

from cetate.loadtest import Broker, LoadtestOptions, Report, run_loadtest


def short_run(broker: Broker, **overrides: float) -> Report:
    options = LoadtestOptions(
        broker=broker, devices=3, duration=2.0, rate=300.0, drain_timeout=60.0, probe_every=0.2
    )
    for name, value in overrides.items():
        options = LoadtestOptions(**{**options.__dict__, name: value})
    lines: list[str] = []
    report = run_loadtest(options, lines.append)
    assert any("ingest path checked" in line for line in lines), lines
    return report


def assert_figures(report: Report) -> str:
    text = "\n".join(report.lines())
    for figure in ("messages/s", "values/s", "p50", "p99", "published", "sent", "stored"):
        assert figure in text, text
    lost = re.search(r"^\s+lost\s+(\d+)", text, re.MULTILINE)
    assert lost is not None, text
    assert int(lost.group(1)) == report.lost
    return text


@pytest.mark.parametrize("broker", [Broker.mosquitto, Broker.builtin])
def test_short_run_stores_every_message(broker: Broker) -> None:
    report = short_run(broker)
    text = assert_figures(report)
    assert report.sent > 0, text
    assert report.lost == 0, text
    assert report.drained, text
    assert report.stored == report.sent, text
    assert report.probe_latencies, text
    assert f"broker         {broker.value}" in text
    assert report.kill is None
    assert "downtime" not in text


def test_sigkill_mid_run_through_mosquitto_loses_nothing() -> None:
    report = short_run(Broker.mosquitto, duration=3.0, kill_at=1.0)
    text = assert_figures(report)
    assert report.kill is not None, text
    assert report.kill.downtime > 0, text
    assert report.kill.catch_up is not None, text
    assert report.sent > 0, text
    assert report.lost == 0, text
    assert report.drained, text
    assert report.stored == report.sent, text
    for figure in ("killed at", "downtime", "catch-up"):
        assert figure in text, text
