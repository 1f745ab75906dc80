"""Batch-upsert throughput of the PostgreSQL store (values/s through transaction + history).

Usage: .venv/bin/python benchmarks/bench_postgres_store.py [--url postgresql://…]
       [--entities 2000] [--attrs 5] [--rounds 10] [--batch 1000]

Without --url it starts a throw-away server like the tests do (Debian's PostgreSQL 15 with
fsync=off, so the figure is an upper bound for the store's own work). Each round upserts every
entity once (all attributes new values, a point location), in one transaction per batch, the
way ``EntityService.batch_upsert`` does: lock current documents, write documents, append one
history row per attribute value.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cetate.store.base import HistoryRow
from cetate.store.postgres import PostgresStore

TYPE = "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"
LOCATION = "https://uri.etsi.org/ngsi-ld/location"


@contextlib.contextmanager
def database(url: str | None) -> Iterator[tuple[str, int | None]]:
    """(URL, pid of the postmaster when we started the server)."""
    if url:
        yield url, None
        return
    from tests.support.postgres_server import create_database, running_postgres_server

    with running_postgres_server() as server:
        yield server.url(create_database(server)), server.process.pid


def server_cpu(postmaster: int | None) -> float:
    """CPU seconds used so far by the server's processes still running (postmaster and its
    backends), from /proc."""
    if postmaster is None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        if pid == postmaster or int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url")
    parser.add_argument("--entities", type=int, default=2000)
    parser.add_argument("--attrs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    attrs = [f"https://example.org/attr{i}" for i in range(args.attrs)]
    start_time = datetime(2026, 11, 23, tzinfo=UTC)
    with database(args.url) as (url, postmaster):
        store = PostgresStore(url)
        store.migrate()
        server_before = server_cpu(postmaster)
        client_cpu = 0.0
        values = 0
        elapsed = 0.0
        for rnd in range(args.rounds):
            moment = start_time + timedelta(minutes=rnd)
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            for first in range(0, args.entities, args.batch):
                ids = [f"urn:ngsi-ld:AQ:{i:06d}" for i in range(first, first + args.batch)]
                docs = []
                rows = []
                for n, entity_id in enumerate(ids):
                    doc = {
                        "id": entity_id,
                        "type": [TYPE],
                        "createdAt": stamp,
                        "modifiedAt": stamp,
                        LOCATION: [
                            {
                                "type": "GeoProperty",
                                "value": {"type": "Point", "coordinates": [26.1 + n * 1e-4, 44.4]},
                            }
                        ],
                    }
                    for a, attr in enumerate(attrs):
                        instance = {
                            "type": "Property",
                            "value": rnd + a + n / 1000,
                            "observedAt": stamp,
                        }
                        doc[attr] = [instance]
                        rows.append(
                            HistoryRow(
                                entity_id, attr, instance, moment, None, instance["value"], TYPE
                            )
                        )
                    docs.append(doc)
                t0 = time.perf_counter()
                c0 = time.process_time()
                with store.transaction("bench") as tx:
                    current = tx.get_for_update(ids)
                    for doc in docs:
                        if doc["id"] in current:
                            tx.replace(doc)
                        else:
                            tx.insert(doc)
                    tx.append_history(rows)
                elapsed += time.perf_counter() - t0
                client_cpu += time.process_time() - c0
                values += len(rows)
        server_used = server_cpu(postmaster) - server_before
        store.close()
    print(
        f"{values} values ({args.entities} entities × {args.attrs} attributes × {args.rounds} "
        f"rounds, {args.batch} entities per transaction) in {elapsed:.2f} s: "
        f"{values / elapsed:,.0f} values/s, {args.entities * args.rounds / elapsed:,.0f} entities/s"
    )
    if not args.url:
        # wall time depends on what else runs; CPU time does not (much)
        print(
            f"CPU: client {client_cpu:.2f} s, server {server_used:.2f} s → "
            f"{values / (client_cpu + server_used):,.0f} values per CPU-second of both"
        )


if __name__ == "__main__":
    main()
