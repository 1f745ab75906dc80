"""The ``cetate loadtest`` command, and :func:`run_and_print` that it shares with
``benchmarks/mqtt_ingest.py``: progress lines on stderr while it runs, the figures on stdout."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from cetate.loadtest.options import Broker, LoadtestError, LoadtestOptions


def run_and_print(options: LoadtestOptions, *, quick: bool = False) -> int:
    """Run, printing progress to stderr and the report to stdout. Exit code: 0 nothing lost,
    1 messages lost or not drained, 2 the run could not start (the message says why)."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    began = time.monotonic()

    def progress(line: str) -> None:
        err.print(f"[dim]{time.monotonic() - began:6.1f} s[/]  {escape(line)}")

    from cetate.loadtest.runner import run_loadtest  # httpx etc. only when it runs

    try:
        if quick:
            options = options.quick()
        report = run_loadtest(options, progress)
    except LoadtestError as exc:
        err.print(f"[bold red]cetate loadtest:[/] {escape(str(exc))}")
        return 2
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def loadtest(
    broker: Annotated[
        Broker, typer.Option(help="builtin: amqtt inside cetate serve; mosquitto: a Mosquitto.")
    ] = Broker.builtin,
    devices: Annotated[int, typer.Option(help="Simulated devices, one connection each.")] = 50,
    duration: Annotated[float, typer.Option(help="Seconds of publishing.")] = 20.0,
    rate: Annotated[float, typer.Option(help="Messages/s over all devices; 0 = max.")] = 0.0,
    database_url: Annotated[
        str | None,
        typer.Option(help="Database to load (default: a new SQLite file in a temp dir)."),
    ] = None,
    kill_at: Annotated[
        float | None,
        typer.Option(
            help="SIGKILL cetate serve this many seconds into publishing, then restart it."
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Smoke run: at most 5 devices, 3 s, 200 messages/s.")
    ] = False,
    publisher_processes: Annotated[int, typer.Option(help="Processes running devices.")] = 1,
    drain_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the last messages to be stored.")
    ] = 120.0,
    probe_every: Annotated[
        float, typer.Option(help="Seconds between publish → queryable probes.")
    ] = 0.2,
) -> None:
    """MQTT ingest load test: devices publish 3 values/message at QoS 1 to a real cetate serve
    on loopback; prints messages/s, values/s, latency p50/p99 and lost (must be 0)."""
    options = LoadtestOptions(
        broker=broker,
        devices=devices,
        duration=duration,
        rate=rate,
        database_url=database_url,
        kill_at=kill_at,
        publisher_processes=publisher_processes,
        drain_timeout=drain_timeout,
        probe_every=probe_every,
    )
    code = run_and_print(options, quick=quick)
    if code:
        raise typer.Exit(code)
