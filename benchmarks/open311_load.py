"""Open311 load: report submissions with a 2 MB photo and the ``GET requests`` listing on a
large store, against ``cetate serve`` on loopback (a separate process, started with
:class:`cetate.loadtest.server.ServerProcess`).

1. *Seeds* ``--reports`` reports (default 100,000) directly through the domain's Python API
   (:meth:`ReportService.submit`, the same code as a POST: entity, routing, moderation,
   records; the duplicate search only with ``--seed-duplicates``, see :func:`seed`) into a
   temporary SQLite database (or ``--database-url``).
2. Starts ``cetate serve --open`` on that database with a citizens configuration whose rate
   limit is out of the way.
3. *Submissions*: ``--submissions`` POST ``requests.json`` (multipart, a ~2 MB JPEG of noise
   that is cleaned and re-encoded by the server), ``--concurrency`` clients at once;
   p50/p95 latency and throughput.
4. *Listing*: ``--list-requests`` GET ``requests.json?jurisdiction_id=…`` (default page of
   100, also ``status=open`` and ``service_code=pothole``), one keep-alive client; p50/p95.
   Target (issue 7): p95 ≤ 50 ms.

Usage::

    .venv/bin/python benchmarks/open311_load.py                 # 100,000 reports
    .venv/bin/python benchmarks/open311_load.py --reports 2000 --submissions 20   # smoke run
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import backend_of, machine, temporary_sqlite_url

TENANT = "oradea"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def photo_of_about(size: int) -> bytes:
    """A JPEG of random noise of about ``size`` bytes (noise does not compress)."""
    side = int((size / 1.1) ** 0.5)
    rng = random.Random(7)
    while True:
        raw = bytes(rng.getrandbits(8) for _ in range(side * side * 3))
        out = io.BytesIO()
        Image.frombytes("RGB", (side, side), raw).save(out, format="JPEG", quality=85)
        if out.tell() >= size * 0.97:
            return out.getvalue()
        side = int(side * (size / out.tell()) ** 0.5) + 8


def write_config(path: Path) -> None:
    from importlib import resources

    raw = json.loads(
        resources.files("cetate.domains.citizens").joinpath("default_services.json").read_text()
    )
    raw["limits"] = {"submissions_per_window": 1_000_000_000}
    path.write_text(json.dumps(raw))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def seed(url: str, count: int, *, duplicates: bool) -> tuple[str, float]:
    """``count`` reports through the domain's Python API; the app key and seconds taken.
    Without ``duplicates`` the duplicate search is skipped while seeding: it is one store
    query per report over the open reports of the category, so seeding 100,000 reports with it
    grows quadratically (about 10,000 reports per 95 s at 30,000 already)."""
    if not duplicates:
        import cetate.domains.citizens.reports as reports_module

        reports_module.find_original = lambda *args, **kwargs: None  # type: ignore[assignment]
    from fastapi import FastAPI

    from cetate.api.app import create_app
    from cetate.config import Settings
    from cetate.domains.citizens.api_keys import issue_key
    from cetate.domains.citizens.config import load_config
    from cetate.domains.citizens.runtime import build_runtime
    from cetate.domains.citizens.submission import check_submission
    from cetate.store.base import Tenant, open_store

    store = open_store(url)
    store.migrate()
    store.put_tenant(Tenant(name=TENANT, title="Oradea"))
    app: FastAPI = create_app(
        Settings(database_url=url, mqtt_builtin=False, notification_worker=False, scheduler=False),
        store,
    )
    runtime = build_runtime(app, load_config())
    _, key = issue_key(store, TENANT, "benchmark")
    rng = random.Random(42)
    codes = ["pothole", "streetlight", "illegal_dumping", "graffiti"]
    limits = runtime.config.limits
    began = time.perf_counter()
    for i in range(count):
        code = codes[i % len(codes)]
        fields = {
            "service_code": code,
            "lat": f"{47.00 + rng.random() * 0.15:.6f}",
            "long": f"{21.85 + rng.random() * 0.15:.6f}",
            "description": f"Sesizare de test nr. {i}",
            "email": f"locuitor{i}@example.ro",
        }
        submission = check_submission(
            fields,
            list(fields.items()),
            runtime.config.service(TENANT, code),
            limits,
            has_media_file=False,
        )
        runtime.reports.submit(
            TENANT,
            submission,
            jurisdiction_id=TENANT,
            photo=None,
            media_base_url="http://127.0.0.1/open311/v2/media",
            language="ro",
        )
        if (i + 1) % 10_000 == 0:
            print(f"  seeded {i + 1:,} in {time.perf_counter() - began:.0f} s", flush=True)
    seconds = time.perf_counter() - began
    store.close()
    return key, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--list-requests", type=int, default=200)
    parser.add_argument(
        "--list-seconds",
        type=float,
        default=60.0,
        help="time budget per listing query (stops early, after at least 5 requests)",
    )
    parser.add_argument("--photo-bytes", type=int, default=2_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--seed-duplicates",
        action="store_true",
        help="run the duplicate search for each seeded report too (slow beyond ~20,000)",
    )
    args = parser.parse_args()

    from cetate.loadtest.server import ServerProcess

    holder: tempfile.TemporaryDirectory[str] | None = None
    url = args.database_url
    if url is None:
        url, holder = temporary_sqlite_url("open311.db")
    work = Path(tempfile.mkdtemp(prefix="cetate-open311-"))
    config = work / "citizens.json"
    write_config(config)
    os.environ["CETATE_CITIZENS_CONFIG"] = str(config)
    print(f"machine: {machine()}")
    print(f"store: {backend_of(url)}")
    print(
        f"seeding {args.reports:,} reports through ReportService.submit "
        f"({'with' if args.seed_duplicates else 'without'} the duplicate search) …",
        flush=True,
    )
    key, seeded = seed(url, args.reports, duplicates=args.seed_duplicates)
    print(f"seeded {args.reports:,} reports in {seeded:.1f} s ({args.reports / seeded:.0f}/s)")

    port = free_port()
    server = ServerProcess(
        url,
        port,
        {
            "CETATE_CITIZENS_CONFIG": str(config),
            "CETATE_MQTT_BUILTIN": "false",
            "CETATE_NOTIFICATION_WORKER": "false",
        },
        work / "server.log",
    )
    base = f"http://127.0.0.1:{port}"
    server.start()
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            server.wait_ready(http)
            photo = photo_of_about(args.photo_bytes)
            print(f"photo: {len(photo):,} bytes (JPEG)")
            form = {
                "api_key": key,
                "service_code": "pothole",
                "lat": "47.0722",
                "long": "21.9211",
                "description": "Groapă mare (benchmark)",
            }

            def submit(_: int) -> float:
                with httpx.Client(base_url=base, timeout=120) as own:
                    began = time.perf_counter()
                    answer = own.post(
                        "/open311/v2/requests.json",
                        params={"jurisdiction_id": TENANT},
                        data=form,
                        files={"media": ("photo.jpg", photo, "image/jpeg")},
                    )
                    took = time.perf_counter() - began
                    if answer.status_code != 201:
                        raise RuntimeError(f"POST answered {answer.status_code}: {answer.text}")
                    return took

            submit(-1)  # warm-up
            began = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                latencies = list(pool.map(submit, range(args.submissions)))
            wall = time.perf_counter() - began
            print(
                f"submissions with a {len(photo) / 1e6:.1f} MB photo, {args.concurrency} "
                f"clients: {args.submissions} in {wall:.1f} s = "
                f"{args.submissions / wall:.1f} reports/s; latency "
                f"p50 {1000 * statistics.median(latencies):.0f} ms, "
                f"p95 {1000 * percentile(latencies, 95):.0f} ms"
            )
            for label, params in (
                ("default page", {}),
                ("status=open", {"status": "open"}),
                ("service_code=pothole", {"service_code": "pothole"}),
            ):
                query = {"jurisdiction_id": TENANT, **params}
                first = http.get("/open311/v2/requests.json", params=query)
                first.raise_for_status()
                total = first.headers.get("X-Total-Count")
                times = []
                budget = time.perf_counter() + args.list_seconds
                for n in range(args.list_requests):
                    if n >= 5 and time.perf_counter() > budget:
                        break
                    began = time.perf_counter()
                    answer = http.get("/open311/v2/requests.json", params=query)
                    times.append(time.perf_counter() - began)
                    answer.raise_for_status()
                p95 = 1000 * percentile(times, 95)
                print(
                    f"GET requests ({label}, {len(first.json())} rows of {total}, "
                    f"{len(times)} requests): "
                    f"p50 {1000 * statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
                    f"({'meets' if p95 <= 50 else 'misses'} the 50 ms target)"
                )
    finally:
        server.stop()
        if holder is not None:
            holder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
