"""Query latency through HTTP: p50/p95 of three typical NGSI-LD queries on a loaded store.

Loads 100,000 entities of 5 types around Cluj-Napoca (plus a day of half-hourly history for
2,000 air-quality stations), starts ``cetate serve --open`` on loopback as a separate process
and measures, with one keep-alive httpx client sending requests one after another:

* ``type+q``      GET /entities?type=WasteContainer&q=fillingLevel>X
* ``type+near``   GET /entities?type=Streetlight&georel=near;maxDistance==300&geometry=Point…
* ``temporal``    GET /temporal/entities/{id}?attrs=pm25&options=aggregatedValues
                  &aggrMethods=avg&aggrPeriodDuration=PT1H over 24 h (one entity)

Usage::

    .venv/bin/python benchmarks/store_query.py                      # SQLite in a temp dir
    .venv/bin/python benchmarks/store_query.py --database-url postgresql://user@host/db
    .venv/bin/python benchmarks/store_query.py --quick              # smoke run

Target (issue): p95 ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import backend_of, machine, temporary_sqlite_url

from cetate.auth.users import ensure_tenant
from cetate.entities import EntityService
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import LOCATION, EntityDoc
from cetate.ngsi.timestamps import format_datetime
from cetate.store.base import open_store

TENANT = "bench"
TYPES = (
    "WasteContainer",
    "Streetlight",
    "AirQualityObserved",
    "TrafficFlowObserved",
    "ParkingSpot",
)
NUMERIC = {
    "WasteContainer": ("fillingLevel", "temperature"),
    "Streetlight": ("illuminanceLevel", "powerConsumption"),
    "AirQualityObserved": ("pm25", "no2"),
    "TrafficFlowObserved": ("intensity", "averageVehicleSpeed"),
    "ParkingSpot": ("availableSpotNumber", "occupancy"),
}
BBOX = (23.50, 46.72, 23.68, 46.81)
DAY_START = datetime(2026, 1, 5, tzinfo=UTC)


def _point(rng: random.Random) -> list[float]:
    return [round(rng.uniform(BBOX[0], BBOX[2]), 6), round(rng.uniform(BBOX[1], BBOX[3]), 6)]


def load(url: str, entities: int, history_entities: int) -> tuple[float, int]:
    """Fill the store; returns (seconds, history rows written)."""
    core = ContextResolver().resolve(None)
    rng = random.Random(7)
    store = open_store(url)
    rows = 0
    began = time.perf_counter()
    try:
        store.migrate()
        ensure_tenant(store, TENANT)
        service = EntityService(store)
        batch: list[EntityDoc] = []
        for number in range(entities):
            kind = TYPES[number % len(TYPES)]
            doc: EntityDoc = {
                "id": f"urn:ngsi-ld:{kind}:bench:{number:07d}",
                "type": [core.expand_term(kind)],
                LOCATION: [
                    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": _point(rng)}}
                ],
            }
            for term in NUMERIC[kind]:
                doc[core.expand_term(term)] = [
                    {"type": "Property", "value": round(rng.random(), 3)}
                ]
                rows += 1
            batch.append(doc)
            if len(batch) >= 5000:
                service.batch_upsert(TENANT, batch)
                batch = []
        if batch:
            service.batch_upsert(TENANT, batch)
        pm25 = core.expand_term("pm25")
        stations = [
            f"urn:ngsi-ld:AirQualityObserved:bench:{number:07d}"
            for number in range(2, entities, len(TYPES))
        ][:history_entities]
        air_type = core.expand_term("AirQualityObserved")
        for step in range(48):
            observed_at = format_datetime(DAY_START + timedelta(minutes=30 * step))
            updates: list[EntityDoc] = [
                {
                    "id": station,
                    "type": [air_type],
                    pm25: [
                        {
                            "type": "Property",
                            "value": round(10 + 10 * rng.random(), 1),
                            "observedAt": observed_at,
                        }
                    ],
                }
                for station in stations
            ]
            for start in range(0, len(updates), 5000):
                service.batch_upsert(TENANT, updates[start : start + 5000], mode="update")
            rows += len(updates)
    finally:
        store.close()
    return time.perf_counter() - began, rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-c",
        "from cetate.cli import app; app()",
        "serve",
        "--open",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database-url",
        url,
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = server.stderr.read().decode() if server.stderr else ""
            raise RuntimeError(f"the server exited with {server.returncode}:\n{stderr}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not answer /health within 120 s")


def measure(
    client: httpx.Client, make_request: Callable[[random.Random], str], count: int
) -> tuple[list[float], int]:
    """Latencies in ms of ``count`` requests (after 5 warm-up ones); and entities returned."""
    rng = random.Random(11)
    headers = {"NGSILD-Tenant": TENANT, "Accept": "application/json"}
    for _ in range(5):
        client.get(make_request(rng), headers=headers).raise_for_status()
    latencies: list[float] = []
    returned = 0
    for _ in range(count):
        path = make_request(rng)
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        latencies.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
        body = response.json()
        returned += len(body) if isinstance(body, list) else 1
    return latencies, returned


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp dir")
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--history-entities", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300, help="per query")
    parser.add_argument("--quick", action="store_true", help="a small store, few requests")
    args = parser.parse_args(argv)
    if args.quick:
        args.entities = min(args.entities, 2000)
        args.history_entities = min(args.history_entities, 50)
        args.requests = min(args.requests, 20)

    keep = None
    url = args.database_url
    if url is None:
        url, keep = temporary_sqlite_url("query.db")
    try:
        load_seconds, rows = load(url, args.entities, args.history_entities)
        print(
            f"loaded {args.entities} entities and {rows} history rows in {load_seconds:.1f} s",
            flush=True,
        )
        port = free_port()
        server = start_server(url, port)
        try:
            results = run_queries(port, args.requests)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        if keep is not None:
            keep.cleanup()

    print(f"store_query: {args.entities} entities, 5 types; HTTP on loopback, open mode")
    print(f"  backend  {backend_of(url)}")
    print(f"  machine  {machine()}")
    print(f"  {'query':<12} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'hits':>6}")
    for name, (latencies, returned) in results.items():
        print(
            f"  {name:<12} {len(latencies):>8} {percentile(latencies, 0.5):>8.1f} "
            f"{percentile(latencies, 0.95):>8.1f} {statistics.fmean(latencies):>8.1f} "
            f"{returned / len(latencies):>6.1f}"
        )
    return 0


def run_queries(port: int, count: int) -> dict[str, tuple[list[float], int]]:
    base = f"http://127.0.0.1:{port}/ngsi-ld/v1"
    station = "urn:ngsi-ld:AirQualityObserved:bench:0000002"
    day_end = DAY_START + timedelta(hours=24)

    def type_q(rng: random.Random) -> str:
        return f"{base}/entities?type=WasteContainer&q=fillingLevel>{rng.uniform(0.5, 0.99):.3f}"

    def type_near(rng: random.Random) -> str:
        point = json.dumps(_point(rng), separators=(",", ":"))
        return (
            f"{base}/entities?type=Streetlight&georel=near;maxDistance==300"
            f"&geometry=Point&coordinates={point}"
        )

    def temporal(_rng: random.Random) -> str:
        return (
            f"{base}/temporal/entities/{station}?attrs=pm25&options=aggregatedValues"
            f"&aggrMethods=avg&aggrPeriodDuration=PT1H&timerel=between"
            f"&timeAt={format_datetime(DAY_START)}&endTimeAt={format_datetime(day_end)}"
        )

    results: dict[str, tuple[list[float], int]] = {}
    with httpx.Client(timeout=30) as client:
        for name, make_request in (
            ("type+q", type_q),
            ("type+near", type_near),
            ("temporal", temporal),
        ):
            results[name] = measure(client, make_request, count)
    return results


if __name__ == "__main__":
    sys.exit(main())
