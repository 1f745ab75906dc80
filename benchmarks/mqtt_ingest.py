"""MQTT ingest end to end: devices publish over MQTT (QoS 1), ``cetate serve`` stores the values.

What a city's sensor fleet does: N devices, each with its own credentials, publish JSON with
three numeric values per message at QoS 1 to ``cetate/<tenant>/<device>/attrs``; the server
(``cetate serve`` as a separate process, as in production, notification worker off, device
rate limit off) maps every message through the device's profile and stores it. The script:

1. creates a database (temp SQLite unless ``--database-url``), a tenant, a profile (three
   numbers ``a`` ``b`` ``c``; ``a`` is the message's sequence number, ``ts`` its publish time
   in ms, used as ``observedAt``) and N devices with credentials (``DeviceService``);
2. starts the broker: the built-in one inside ``cetate serve`` on a free port
   (``--broker builtin``), or a Mosquitto it starts itself (``--broker mosquitto``) with a
   password file made from the devices' credentials and Cetate's ACL;
3. checks the path end to end with a probe device, then runs the publishers (paho, one
   connection per device, in ``--publisher-processes`` processes) for ``--duration`` seconds
   at full speed or ``--rate`` messages/s in total;
4. waits until every message the broker acknowledged is stored (or ``--drain-timeout``) and
   counts the stored messages from the history (``query_temporal``): lost = sent − stored.

Latency, two ways:

* **publish → queryable** (sampled): a probe device publishes a few messages per second during
  the run and polls ``GET /ngsi-ld/v1/entities/{id}`` until the new value is visible;
* **publish → stored** (every message): ``modifiedAt`` of each history instance (set by the
  platform in the write) minus its ``observedAt`` (the publish time).

Usage::

    .venv/bin/python benchmarks/mqtt_ingest.py --broker builtin --devices 50 --duration 20
    .venv/bin/python benchmarks/mqtt_ingest.py --broker mosquitto --devices 50 --duration 20
    .venv/bin/python benchmarks/mqtt_ingest.py --rate 2000          # paced, messages/s total
    .venv/bin/python benchmarks/mqtt_ingest.py --quick              # smoke run

Targets (issue 4), 2 cores: ≥ 10,000 messages/s through Mosquitto, ≥ 5,000 through the
built-in broker, p99 ≤ 1 s, lost 0. The publishers share the machine with the server and the
broker, so on a small box the figures are lower bounds.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import multiprocessing
import os
import pwd
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import backend_of, machine, temporary_sqlite_url

PROFILE_NAME = "bench-3values"
ENTITY_TYPE = "BenchSensor"
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
SEQ_ATTR = DEFAULT_VOCAB + "a"
PROBE_DEVICE = "probe"
SERVICE_USER = "cetate-service"
MOSQUITTO = Path(os.environ.get("CETATE_BENCH_MOSQUITTO", "/usr/sbin/mosquitto"))
WINDOW = 200
"""Most QoS 1 messages a publisher connection has sent and not yet had acknowledged (paho keys
pending messages by a 16-bit id and never checks for collisions, so stay far below 65,535)."""


def entity_id(device: str) -> str:
    return f"urn:ngsi-ld:{ENTITY_TYPE}:{device}"


def profile_document() -> dict[str, Any]:
    return {
        "name": PROFILE_NAME,
        "entityType": ENTITY_TYPE,
        "entityIdTemplate": f"urn:ngsi-ld:{ENTITY_TYPE}:{{device}}",
        "createEntityOnFirstMessage": True,
        "observedAt": {"key": "ts", "format": "epoch_ms"},
        "unknownKeys": "reject",
        "maxFutureSeconds": 300,
        "measurements": [
            {"key": "a", "attribute": "a", "type": "integer"},
            {"key": "b", "attribute": "b", "type": "number"},
            {"key": "c", "attribute": "c", "type": "number"},
        ],
    }


def payload(seq: int) -> bytes:
    """One message: ``a`` is the sequence number (so every message is distinct and countable),
    ``ts`` the publish time in ms (the reading's observedAt)."""
    ts = time.time_ns() // 1_000_000
    return b'{"a":%d,"b":%.1f,"c":%.2f,"ts":%d}' % (seq, (seq % 500) * 0.1, seq * 0.01, ts)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """In a child before exec: Linux sends it SIGTERM when this script dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


# -- setup ----------------------------------------------------------------------------------


@dataclass
class Device:
    device: str
    username: str
    password: str
    mosquitto_hash: str

    @property
    def topic(self) -> str:
        return f"cetate/{self.username}/attrs"


def provision(url: str, tenant: str, count: int) -> list[Device]:
    """Profile and ``count`` devices (plus the probe) with MQTT credentials, via DeviceService."""
    from cetate.entities import EntityService
    from cetate.ingest.devices.cache import VerifiedDeviceCache
    from cetate.ingest.devices.credentials import DeviceCredentials
    from cetate.ingest.devices.model import DeviceSpec
    from cetate.ingest.devices.service import DeviceService
    from cetate.ingest.devices.store_registry import StoreDeviceRegistry
    from cetate.ngsi.jsonld import ContextResolver
    from cetate.store.base import open_store

    store = open_store(url)
    try:
        store.migrate()
        registry = StoreDeviceRegistry(store)
        credentials = DeviceCredentials(
            registry, VerifiedDeviceCache(registry.credentials_generation)
        )
        service = DeviceService(store, EntityService(store), credentials, ContextResolver())
        service.put_profile(tenant, profile_document())
        devices = []
        for name in [PROBE_DEVICE] + [f"dev-{n:05d}" for n in range(count)]:
            spec = DeviceSpec.model_validate(
                {"deviceId": name, "profile": PROFILE_NAME, "transport": "mqtt"}
            )
            issued = service.provision(tenant, spec)
            assert issued.mqtt_password is not None
            assert issued.mqtt_username is not None
            assert issued.record.mosquitto_password_hash is not None
            devices.append(
                Device(
                    name,
                    issued.mqtt_username,
                    issued.mqtt_password,
                    issued.record.mosquitto_password_hash,
                )
            )
        return devices
    finally:
        store.close()


@dataclass
class Mosquitto:
    base_dir: Path
    port: int
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            text = (self.base_dir / "mosquitto.log").read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return "(no log)"


@contextlib.contextmanager
def running_mosquitto(devices: list[Device], service_password: str) -> Iterator[Mosquitto]:
    """Mosquitto on a free loopback port: devices' password file (their stored ``$7$`` hashes),
    Cetate's ACL, no queue limit (the default 1000 drops QoS 1 messages of a slow subscriber)."""
    from cetate.ingest.devices.mosquitto import mosquitto_password_hash
    from cetate.ingest.mqtt.topics import mosquitto_acl

    if not MOSQUITTO.is_file():
        raise SystemExit(f"{MOSQUITTO} not found: apt-get install mosquitto (or run .ci/run)")
    base_dir = Path(tempfile.mkdtemp(prefix="cetate-bench-mosquitto-"))
    process = None
    try:
        lines = [f"{d.username}:{d.mosquitto_hash}" for d in devices]
        lines.append(f"{SERVICE_USER}:{mosquitto_password_hash(service_password)}")
        (base_dir / "passwords").write_text("\n".join(lines) + "\n")
        (base_dir / "passwords").chmod(0o600)
        (base_dir / "acl").write_text(mosquitto_acl(SERVICE_USER))
        port = free_port()
        (base_dir / "mosquitto.conf").write_text(
            "\n".join(
                [
                    f"listener {port} 127.0.0.1",
                    "persistence false",
                    f"log_dest file {base_dir / 'mosquitto.log'}",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "max_queued_messages 0",
                    "allow_anonymous false",
                    f"password_file {base_dir / 'passwords'}",
                    f"acl_file {base_dir / 'acl'}",
                ]
            )
            + "\n"
        )
        if os.geteuid() == 0:  # Mosquitto drops root for the mosquitto user: give it its files
            with contextlib.suppress(KeyError):
                pw = pwd.getpwnam("mosquitto")
                for path in (base_dir, *base_dir.iterdir()):
                    os.chown(path, pw.pw_uid, pw.pw_gid)
        with (base_dir / "stdout.log").open("ab") as out:
            process = subprocess.Popen(
                [str(MOSQUITTO), "-c", str(base_dir / "mosquitto.conf")],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
        broker = Mosquitto(base_dir, port, process)
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"Mosquitto did not start:\n{broker.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.05)
        yield broker
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(base_dir, ignore_errors=True)


@contextlib.contextmanager
def running_server(url: str, http_port: int, env: dict[str, str], log: Path) -> Iterator[Any]:
    """``cetate serve --open`` as a subprocess (open mode: loopback only, no API auth)."""
    cetate = Path(sys.executable).parent / "cetate"
    command = [str(cetate)] if cetate.is_file() else [sys.executable, "-m", "cetate.cli"]
    command += ["serve", "--open", "--host", "127.0.0.1", "--port", str(http_port)]
    command += ["--database-url", url]
    full_env = {**os.environ, **env}
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- publishers -----------------------------------------------------------------------------


def _client(device_username: str, password: str, port: int) -> Any:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"bench-{device_username.replace('/', '-')}-{secrets.token_hex(3)}",
        protocol=mqtt.MQTTv311,
    )
    client.username_pw_set(device_username, password)
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    return client


def publisher_process(
    devices: list[tuple[str, str, str]],
    port: int,
    duration: float,
    rate: float,
    start_at: float,
    results: Any,
) -> None:
    """One process: a paho connection per device, round-robin publishing at QoS 1 with at most
    WINDOW unacknowledged messages per connection, for ``duration`` seconds from ``start_at``
    (``time.time()``); ``rate`` (messages/s for this process, 0 = as fast as possible).
    Puts (published, acknowledged, last seq per device) on ``results``."""
    connected = threading.Semaphore(0)
    clients = []
    pending = [0] * len(devices)
    acked = [0] * len(devices)
    lock = threading.Lock()

    for index, (username, password, _topic) in enumerate(devices):
        client = _client(username, password, port)

        def on_publish(_c: Any, _u: Any, _mid: int, _rc: Any, _p: Any, i: int = index) -> None:
            with lock:
                pending[i] -= 1
                acked[i] += 1

        def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if not reason.is_failure:
                connected.release()

        client.on_publish = on_publish
        client.on_connect = on_connect
        client.connect("127.0.0.1", port, keepalive=60)
        client.loop_start()
        clients.append(client)
    for _ in clients:
        if not connected.acquire(timeout=30):
            results.put({"error": "publisher connections timed out"})
            return
    seqs = [0] * len(devices)
    published = 0
    while time.time() < start_at:
        time.sleep(0.001)
    began = time.monotonic()
    end = began + duration
    interval = 1.0 / rate if rate > 0 else 0.0
    topics = [topic for _u, _p, topic in devices]
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if interval:
            due = began + published * interval
            if due > now:
                time.sleep(min(due - now, 0.01))
                continue
        progressed = False
        for i, client in enumerate(clients):
            if pending[i] >= WINDOW:
                continue
            seqs[i] += 1
            with lock:
                pending[i] += 1
            client.publish(topics[i], payload(seqs[i]), qos=1)
            published += 1
            progressed = True
            if interval:
                break
        if not progressed:
            time.sleep(0.0005)
    publish_seconds = time.monotonic() - began
    deadline = time.monotonic() + 120
    while any(pending) and time.monotonic() < deadline:
        time.sleep(0.01)
    for client in clients:
        client.disconnect()
        client.loop_stop()
    results.put(
        {
            "published": published,
            "acked": sum(acked),
            "seconds": publish_seconds,
            "last": {topics[i].split("/")[2]: seqs[i] for i in range(len(devices))},
        }
    )


# -- probe: publish → queryable -------------------------------------------------------------


@dataclass
class Probe:
    device: Device
    port: int
    http: Any
    tenant: str
    latencies: list[float] = field(default_factory=list)
    seq: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = _client(self.device.username, self.device.password, self.port)
        self.client.connect("127.0.0.1", self.port, keepalive=60)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def visible_seq(self) -> int | None:
        response = self.http.get(
            f"/ngsi-ld/v1/entities/{entity_id(self.device.device)}",
            params={"options": "keyValues", "attrs": "a"},
            headers={"NGSILD-Tenant": self.tenant},
        )
        if response.status_code != 200:
            return None
        value = response.json().get("a")
        return value if isinstance(value, int) else None

    def one(self, timeout: float) -> float | None:
        """Publish the next probe message; seconds until GET shows it (None: not in time)."""
        self.seq += 1
        began = time.perf_counter()
        self.client.publish(self.device.topic, payload(self.seq), qos=1)
        deadline = began + timeout
        while time.perf_counter() < deadline:
            try:
                if self.visible_seq() == self.seq:
                    return time.perf_counter() - began
            except Exception as exc:  # the server may be busy: keep polling
                self.errors.append(repr(exc))
            time.sleep(0.01)
        return None

    def run(self, every: float) -> None:
        while not self.stop.is_set():
            took = self.one(timeout=30)
            if took is None:
                self.errors.append(f"probe message {self.seq} not visible within 30 s")
            else:
                self.latencies.append(took)
            self.stop.wait(every)


# -- counting -------------------------------------------------------------------------------


def current_seqs(http: Any, tenant: str) -> dict[str, int]:
    """Device → the sequence number of its newest stored message (from the current values)."""
    response = http.get(
        "/ngsi-ld/v1/entities",
        params={"type": ENTITY_TYPE, "options": "keyValues", "attrs": "a", "limit": 1000},
        headers={"NGSILD-Tenant": tenant},
    )
    response.raise_for_status()
    prefix = f"urn:ngsi-ld:{ENTITY_TYPE}:"
    return {e["id"].removeprefix(prefix): e.get("a", 0) for e in response.json()}


def count_history(
    url: str, tenant: str, devices: list[str]
) -> tuple[dict[str, set[int]], int, list[float]]:
    """Per device, the distinct sequence numbers in the history of ``a``; the number of
    history rows of ``a``; and modifiedAt − observedAt in seconds for each row."""
    from cetate.store.base import EntityQuery, TemporalQuery, open_store

    store = open_store(url)
    seqs: dict[str, set[int]] = {}
    rows = 0
    delays: list[float] = []
    try:
        for device in devices:
            query = TemporalQuery(
                entities=EntityQuery(ids=(entity_id(device),), limit=1),
                attrs=frozenset({SEQ_ATTR}),
            )
            found: set[int] = set()
            for entity in store.query_temporal(tenant, query):
                for instance in entity.history.get(SEQ_ATTR, []):
                    rows += 1
                    value = instance.get("value")
                    if isinstance(value, list):  # expanded form
                        value = value[0].get("@value") if value else None
                    if isinstance(value, int | float):
                        found.add(int(value))
                    observed, modified = instance.get("observedAt"), instance.get("modifiedAt")
                    if isinstance(observed, str) and isinstance(modified, str):
                        delays.append((_parse(modified) - _parse(observed)).total_seconds())
            seqs[device] = found
    finally:
        store.close()
    return seqs, rows, delays


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- main -----------------------------------------------------------------------------------


def wait_until(condition: Any, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready within {timeout:.0f} s (last error: {last!r})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp dir")
    parser.add_argument("--broker", choices=("builtin", "mosquitto"), default="builtin")
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of publishing")
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s in total; 0 = max")
    parser.add_argument("--publisher-processes", type=int, default=1)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--probe-every", type=float, default=0.2, help="seconds between probes")
    parser.add_argument("--quick", action="store_true", help="a few devices for 3 s (smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.devices, args.duration = min(args.devices, 5), min(args.duration, 3.0)
        args.rate = args.rate or 200.0
        args.drain_timeout = min(args.drain_timeout, 60.0)

    import httpx

    keep = None
    url = args.database_url
    if url is None:
        url, keep = temporary_sqlite_url("mqtt-ingest.db")
    workdir = Path(tempfile.mkdtemp(prefix="cetate-bench-mqtt-"))
    tenant = "bench-" + secrets.token_hex(3)
    server_log = workdir / "server.log"
    try:
        devices = provision(url, tenant, args.devices)
        probe_device, load_devices = devices[0], devices[1:]
        http_port = free_port()
        env = {
            "CETATE_NOTIFICATION_WORKER": "false",
            "CETATE_DEVICE_RATE_PER_SECOND": "0",
        }
        with contextlib.ExitStack() as stack:
            if args.broker == "mosquitto":
                service_password = secrets.token_urlsafe(24)
                broker = stack.enter_context(running_mosquitto(devices, service_password))
                mqtt_port = broker.port
                env["CETATE_MQTT_EXTERNAL_URL"] = (
                    f"mqtt://{SERVICE_USER}:{service_password}@127.0.0.1:{mqtt_port}"
                )
                env["CETATE_MQTT_BUILTIN"] = "false"
            else:
                mqtt_port = free_port()
                env |= {"CETATE_MQTT_BUILTIN": "true", "CETATE_MQTT_PORT": str(mqtt_port)}
            server = stack.enter_context(running_server(url, http_port, env, server_log))
            http = stack.enter_context(
                httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=30)
            )

            def server_up() -> bool:
                if server.poll() is not None:
                    raise SystemExit(f"cetate serve exited:\n{server_log.read_text()[-3000:]}")
                return http.get("/ngsi-ld/v1/types").status_code < 500

            wait_until(server_up, 60, "cetate serve")
            wait_until(
                lambda: socket.create_connection(("127.0.0.1", mqtt_port), 1).close() is None,
                30,
                "MQTT broker",
            )
            probe = Probe(probe_device, mqtt_port, http, tenant)
            stack.callback(probe.close)
            # End to end before the load: the subscriber is connected once a probe is visible.
            wait_until(lambda: probe.one(timeout=2) is not None, 60, "ingest path", 0.0)

            processes = max(1, min(args.publisher_processes, len(load_devices)))
            context = multiprocessing.get_context("spawn")
            results = context.Queue()
            start_at = time.time() + 2 + 0.05 * len(load_devices)
            workers = []
            for p in range(processes):
                chunk = [(d.username, d.password, d.topic) for d in load_devices[p::processes]]
                worker = context.Process(
                    target=publisher_process,
                    args=(
                        chunk,
                        mqtt_port,
                        args.duration,
                        args.rate / processes,
                        start_at,
                        results,
                    ),
                    daemon=True,
                )
                worker.start()
                workers.append(worker)
            prober = threading.Thread(target=probe.run, args=(args.probe_every,), daemon=True)
            while time.time() < start_at:
                time.sleep(0.005)
            began = time.monotonic()
            prober.start()
            reports = [results.get(timeout=args.duration + 300) for _ in workers]
            for worker in workers:
                worker.join(timeout=30)
            errors = [r["error"] for r in reports if "error" in r]
            if errors:
                raise SystemExit(f"publisher failed: {errors[0]}")
            last: dict[str, int] = {}
            for report in reports:
                last |= report["last"]
            published = sum(r["published"] for r in reports)
            sent = sum(r["acked"] for r in reports)
            publish_seconds = max(r["seconds"] for r in reports)

            drained = True

            def all_stored() -> bool:
                current = current_seqs(http, tenant)
                return all(current.get(d, 0) >= seq for d, seq in last.items())

            try:
                wait_until(all_stored, args.drain_timeout, "storage of every message", 0.05)
            except TimeoutError:
                drained = False
            stored_seconds = time.monotonic() - began
            probe.stop.set()
            prober.join(timeout=35)
        seqs, rows, delays = count_history(url, tenant, list(last))
    finally:
        if keep is not None:
            keep.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)

    stored = sum(len(s) for s in seqs.values())
    lost = sum(max(0, last[d] - len(seqs.get(d, ()))) for d in last)
    missing_examples = [
        f"{d}#{n}" for d in last for n in range(1, last[d] + 1) if n not in seqs.get(d, set())
    ][:5]
    lat = probe.latencies
    print(f"mqtt_ingest: {args.devices} devices, QoS 1, 3 values/message, cetate serve subprocess")
    print(f"  backend        {backend_of(url)}")
    print(f"  broker         {args.broker}")
    print(f"  machine        {machine()}")
    rate_text = f"{args.rate:,.0f} messages/s" if args.rate else "max"
    print(f"  publishers     {processes} process(es), paho, rate {rate_text}")
    print(
        f"  duration       {publish_seconds:.1f} s publishing, {stored_seconds:.1f} s until stored"
    )
    print(f"  published      {published} messages ({published / publish_seconds:,.0f}/s offered)")
    print(f"  sent           {sent} messages acknowledged by the broker (PUBACK)")
    print(f"  stored         {stored} messages, {rows} history rows of 'a'")
    print(f"  messages/s     {stored / stored_seconds:,.0f} stored")
    print(f"  values/s       {3 * stored / stored_seconds:,.0f} stored")
    if delays:
        p50, p99 = percentile(delays, 50), percentile(delays, 99)
        print(f"  stored lat.    p50 {p50:.3f} s  p99 {p99:.3f} s  (publish → modifiedAt, all)")
    if lat:
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        print(
            f"  latency        p50 {p50:.3f} s  p99 {p99:.3f} s  "
            f"(publish → queryable, {len(lat)} probes, median {statistics.median(lat):.3f})"
        )
    else:
        print("  latency        no probe samples")
    if probe.errors:
        print(f"  probe errors   {len(probe.errors)}, e.g. {probe.errors[0]}")
    print(f"  lost           {lost}" + (f"  e.g. {', '.join(missing_examples)}" if lost else ""))
    if not drained:
        print(
            f"  NOT DRAINED    within {args.drain_timeout:.0f} s: 'lost' counts messages not "
            "stored yet (still queued in the broker or server), not proven lost"
        )
    return 0 if lost == 0 and drained else 1


if __name__ == "__main__":
    sys.exit(main())
