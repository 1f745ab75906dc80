"""One load test from start to end: provision, start the broker and ``cetate serve``, check the
ingest path, publish (killing and restarting the server on the way when asked), wait for the
drain and count."""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cetate.loadtest.broker import SERVICE_USER, running_mosquitto
from cetate.loadtest.counting import count_history, current_seqs
from cetate.loadtest.options import Broker, LoadtestError, LoadtestOptions
from cetate.loadtest.probe import Probe
from cetate.loadtest.processes import cpu_seconds, free_port, port_open, wait_until
from cetate.loadtest.provisioning import Fleet, provision
from cetate.loadtest.publishers import PublisherJob, publisher_process
from cetate.loadtest.report import KillFigures, Report
from cetate.loadtest.server import ServerProcess

Progress = Callable[[str], None]
PROGRESS_EVERY = 2.0
"""Seconds between progress lines while publishing."""
SETTLE_SECONDS = 5.0
"""Built-in broker after a kill: the drain ends when nothing new was stored for this long."""


def _quiet(_line: str) -> None:
    pass


def backend_of(url: str) -> str:
    return "postgresql" if url.startswith(("postgresql:", "postgres:")) else "sqlite"


def run_loadtest(options: LoadtestOptions, progress: Progress = _quiet) -> Report:
    """Run ``options`` (validated first: :class:`LoadtestError` for bad ones or a part that
    does not start) and return the figures; ``progress`` gets a line per step."""
    options.validate()
    workdir = Path(tempfile.mkdtemp(prefix="cetate-loadtest-"))
    try:
        url = options.database_url or f"sqlite:///{workdir / 'loadtest.db'}"
        return _Run(options, url, workdir, progress).run()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class _Published:
    published: int
    sent: int
    seconds: float
    last: dict[str, int]
    cpu: float
    """CPU seconds of the publisher processes."""


class _Run:
    def __init__(
        self, options: LoadtestOptions, url: str, workdir: Path, progress: Progress
    ) -> None:
        self.options = options
        self.url = url
        self.workdir = workdir
        self.say = progress
        self.tenant = "loadtest-" + secrets.token_hex(3)
        self.kill_figures: KillFigures | None = None
        self.kill_error: BaseException | None = None
        self.finished = threading.Event()
        self.done_killing = threading.Event()
        """Set when the run is over: the thread that restarted the server may end."""

    # -- setup ----------------------------------------------------------------------------------

    def run(self) -> Report:
        o = self.options
        self.say(
            f"provisioning {o.devices} devices in tenant {self.tenant} ({backend_of(self.url)})"
        )
        fleet = provision(self.url, self.tenant, o.devices)
        http_port = free_port()
        env = {"CETATE_NOTIFICATION_WORKER": "false", "CETATE_DEVICE_RATE_PER_SECOND": "0"}
        broker_pid: int | None = None
        with contextlib.ExitStack() as stack:
            if o.broker is Broker.mosquitto:
                service_password = secrets.token_urlsafe(24)
                broker = stack.enter_context(running_mosquitto(fleet.all, service_password))
                mqtt_port = broker.port
                broker_pid = broker.process.pid
                self.say(f"Mosquitto on 127.0.0.1:{mqtt_port} ({broker.config_path})")
                env["CETATE_MQTT_EXTERNAL_URL"] = (
                    f"mqtt://{SERVICE_USER}:{service_password}@127.0.0.1:{mqtt_port}"
                )
                env["CETATE_MQTT_BUILTIN"] = "false"
            else:
                mqtt_port = free_port()
                env |= {"CETATE_MQTT_BUILTIN": "true", "CETATE_MQTT_PORT": str(mqtt_port)}
            server = ServerProcess(self.url, http_port, env, self.workdir / "server.log")
            # Runs after server.stop: the thread that restarted the server must outlive it
            # (Linux sends the parent-death signal when the spawning *thread* exits).
            stack.callback(self.finished.set)
            stack.callback(server.stop)
            server.start()
            self.say(f"cetate serve (pid {server.pid}) on http://127.0.0.1:{http_port}")
            http = stack.enter_context(
                httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=30)
            )
            server.wait_ready(http)
            try:
                wait_until(lambda: port_open(mqtt_port), 30, "MQTT broker", 0.05)
            except TimeoutError as exc:
                raise LoadtestError(f"{exc}\n{server.log_tail()}") from None
            probe = Probe(fleet.probe, mqtt_port, http, self.tenant)
            stack.callback(probe.close)
            # End to end before the load: the subscriber is connected once a probe is visible.
            try:
                wait_until(lambda: probe.one(timeout=2) is not None, 60, "ingest path", 0.0)
            except TimeoutError as exc:
                raise LoadtestError(f"{exc}\n{server.log_tail()}") from None
            self.say("ingest path checked: a probe message is queryable")
            cpu_server, cpu_broker = server.cpu_total(), cpu_seconds(broker_pid)
            began, published, prober = self._publish(fleet, mqtt_port, server, http, probe, stack)
            drained = self._drain(http, published.last)
            stored_seconds = time.monotonic() - began
            cpu = {"server": server.cpu_total() - cpu_server}
            if broker_pid is not None:
                cpu["mosquitto"] = cpu_seconds(broker_pid) - cpu_broker
            cpu["publishers"] = published.cpu
            probe.stop.set()
            prober.join(timeout=5)
        self.say("counting the stored history")
        count = count_history(self.url, self.tenant, list(published.last))
        return Report(
            broker=o.broker.value,
            backend=backend_of(self.url),
            devices=o.devices,
            rate=o.rate,
            publisher_processes=max(1, min(o.publisher_processes, o.devices)),
            published=published.published,
            sent=published.sent,
            stored=count.stored,
            history_rows=count.rows,
            lost=count.lost(published.last),
            publish_seconds=published.seconds,
            stored_seconds=stored_seconds,
            drained=drained,
            drain_timeout=o.drain_timeout,
            probe_latencies=probe.latencies,
            stored_delays=count.delays,
            probe_errors=probe.errors,
            missing_examples=count.missing_examples(published.last),
            kill=self.kill_figures,
            cpu=cpu,
        )

    # -- publishing ---------------------------------------------------------------------------

    def _publish(
        self,
        fleet: Fleet,
        mqtt_port: int,
        server: ServerProcess,
        http: httpx.Client,
        probe: Probe,
        stack: contextlib.ExitStack,
    ) -> tuple[float, _Published, threading.Thread]:
        o = self.options
        processes = max(1, min(o.publisher_processes, len(fleet.load)))
        context = multiprocessing.get_context("spawn")
        results: Any = context.Queue()
        start_at = time.time() + 2 + 0.05 * len(fleet.load)
        workers = []
        shared_seqs: Any = context.RawArray("q", len(fleet.load))
        self.release = context.Event()
        for p in range(processes):
            job = PublisherJob(
                devices=tuple((d.username, d.password, d.topic) for d in fleet.load[p::processes]),
                indices=tuple(range(len(fleet.load)))[p::processes],
                port=mqtt_port,
                duration=o.duration,
                rate=o.rate / processes,
                start_at=start_at,
            )
            worker = context.Process(
                target=publisher_process,
                args=(job, results, shared_seqs, self.release),
                daemon=True,
            )
            worker.start()
            workers.append(worker)
        self.say(
            f"{processes} publisher process(es) connecting {len(fleet.load)} devices; "
            f"publishing for {o.duration:g} s"
        )
        prober = threading.Thread(target=probe.run, args=(o.probe_every,), daemon=True)
        while time.time() < start_at:
            time.sleep(0.005)
        began = time.monotonic()
        prober.start()
        killer = None
        if o.kill_at is not None:
            killer = threading.Thread(
                target=self._kill_and_restart,
                args=(began + o.kill_at, server, probe, fleet, shared_seqs),
                daemon=True,
            )
            killer.start()
        reports: list[dict[str, Any]] = []
        next_line = began + PROGRESS_EVERY
        deadline = began + o.duration + 300
        while len(reports) < len(workers):
            with contextlib.suppress(queue.Empty):
                reports.append(results.get(timeout=0.2))
            now = time.monotonic()
            if now >= next_line:
                next_line += PROGRESS_EVERY
                self._progress_line(now - began, sum(shared_seqs), http)
            if now > deadline or (
                all(not w.is_alive() for w in workers)
                and results.empty()
                and len(reports) < len(workers)
            ):
                raise LoadtestError("a publisher process died without a report")
        stack.callback(self._release_devices, workers)
        if killer is not None:
            self.done_killing.wait()
            if self.kill_error is not None:
                raise self.kill_error
        errors = [r["error"] for r in reports if "error" in r]
        if errors:
            raise LoadtestError(f"publisher failed: {errors[0]}")
        last: dict[str, int] = {}
        for report in reports:
            last |= report["last"]
        published = _Published(
            published=sum(r["published"] for r in reports),
            sent=sum(r["acked"] for r in reports),
            seconds=max(r["seconds"] for r in reports),
            last=last,
            cpu=sum(r.get("cpu", 0.0) for r in reports),
        )
        self.say(
            f"published {published.published:,} messages in {published.seconds:.1f} s, "
            f"{published.sent:,} acknowledged by the broker"
        )
        return began, published, prober

    def _release_devices(self, workers: list[Any]) -> None:
        """End of the run: the devices disconnect and their processes end."""
        self.release.set()
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()

    def _progress_line(self, elapsed: float, published: int, http: httpx.Client) -> None:
        try:
            stored = f"{sum(current_seqs(http, self.tenant).values()):,}"
        except httpx.HTTPError:
            stored = "? (server down)"
        self.say(f"{elapsed:5.1f} s  published {published:,}  stored {stored}")

    # -- kill and restart ---------------------------------------------------------------------

    def _kill_and_restart(
        self,
        at: float,
        server: ServerProcess,
        probe: Probe,
        fleet: Fleet,
        shared_seqs: Any,
    ) -> None:
        try:
            while time.monotonic() < at:
                time.sleep(0.005)
            killed_at = time.monotonic() - (at - (self.options.kill_at or 0.0))
            pid = server.pid
            probe.paused.set()
            with httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30) as http:
                self.say(f"SIGKILL cetate serve (pid {pid}) at {killed_at:.1f} s; restarting")
                downtime = server.restart_after_kill(http)
                published = {d.device: shared_seqs[n] for n, d in enumerate(fleet.load)}
                self.say(
                    f"cetate serve back (pid {server.pid}) after {downtime:.1f} s down; "
                    f"catching up with the {sum(published.values()):,} messages published so far"
                )
                probe.paused.clear()
                catch_up = self._catch_up(http, published)
            if catch_up is None:
                self.say("did not catch up (messages lost, or not within the drain timeout)")
            else:
                self.say(f"caught up {catch_up:.1f} s after the restart")
            self.kill_figures = KillFigures(at=killed_at, downtime=downtime, catch_up=catch_up)
        except BaseException as exc:  # handed to the main thread
            self.kill_error = exc
        self.done_killing.set()
        self.finished.wait()

    def _catch_up(self, http: httpx.Client, published: dict[str, int]) -> float | None:
        """Seconds from now until every device's newest stored message is at least the one it
        had published at the restart: all it published before (and during) the downtime is
        stored or lost. None when that does not happen within the drain timeout, or (built-in
        broker) when nothing new is stored for :data:`SETTLE_SECONDS`."""
        began = changed = time.monotonic()
        seen = -1
        while time.monotonic() - began < self.options.drain_timeout:
            with contextlib.suppress(httpx.HTTPError):
                current = current_seqs(http, self.tenant)
                if all(current.get(d, 0) >= seq for d, seq in published.items()):
                    return time.monotonic() - began
                total = sum(current.get(d, 0) for d in published)
                if total != seen:
                    seen, changed = total, time.monotonic()
                elif (
                    self.options.broker is Broker.builtin
                    and time.monotonic() - changed > SETTLE_SECONDS
                ):
                    return None
            time.sleep(0.1)
        return None

    # -- drain ----------------------------------------------------------------------------------

    def _drain(self, http: httpx.Client, last: dict[str, int]) -> bool:
        """Wait until every device's last message is stored. After a kill with the built-in
        broker some messages are gone for good (the broker died with them), so there the wait
        also ends once nothing new has been stored for :data:`SETTLE_SECONDS`."""
        o = self.options
        self.say(f"waiting until every message is stored (at most {o.drain_timeout:g} s)")
        may_settle = o.kill_at is not None and o.broker is Broker.builtin
        seen = -1
        changed = time.monotonic()
        next_line = changed + PROGRESS_EVERY
        expected = sum(last.values())

        def all_stored() -> bool:
            nonlocal seen, changed
            current = current_seqs(http, self.tenant)
            if all(current.get(d, 0) >= seq for d, seq in last.items()):
                return True
            total = sum(current.get(d, 0) for d in last)  # the probe keeps publishing
            nonlocal next_line
            if time.monotonic() >= next_line:
                next_line = time.monotonic() + PROGRESS_EVERY
                self.say(f"draining: newest stored {total:,} of {expected:,}")
            if total != seen:
                seen, changed = total, time.monotonic()
            elif may_settle and time.monotonic() - changed > SETTLE_SECONDS:
                self.say(f"nothing new stored for {SETTLE_SECONDS:g} s: counting what arrived")
                return True
            return False

        try:
            wait_until(all_stored, o.drain_timeout, "storage of every message", 0.25)
        except TimeoutError:
            return False
        return True
