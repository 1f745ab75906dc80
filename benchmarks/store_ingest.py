"""Ingest throughput: attribute values appended per second through ``EntityService.batch_upsert``.

What a city's sensor fleet does: 1000 entities each report three numeric readings with their
``observedAt``, once per round; each round is one ``batch_upsert(mode="update")`` (one
transaction), which rewrites the current documents and appends one history row per value.

Usage::

    .venv/bin/python benchmarks/store_ingest.py                       # SQLite in a temp dir
    .venv/bin/python benchmarks/store_ingest.py --database-url postgresql://user@host/db
    .venv/bin/python benchmarks/store_ingest.py --quick               # smoke run
    .venv/bin/python benchmarks/store_ingest.py --with-subscriptions  # as the API writes:
                                  # the subscription matcher registered (tenant has none)

Target (issue): ≥ 50,000 values/s on SQLite on one core.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import backend_of, machine, temporary_sqlite_url

from cetate.auth.users import ensure_tenant
from cetate.entities import EntityService
from cetate.ngsi.model import LOCATION, EntityDoc
from cetate.ngsi.timestamps import format_datetime
from cetate.store.base import open_store

SDM = "https://smartdatamodels.org/dataModel.Environment/"
TYPE = SDM + "AirQualityObserved"
ATTRIBUTES = (SDM + "pm25", SDM + "no2", SDM + "temperature")


def entity(number: int) -> EntityDoc:
    lon = 23.55 + (number % 100) * 0.001
    lat = 46.75 + (number // 100) * 0.001
    doc: EntityDoc = {
        "id": f"urn:ngsi-ld:AirQualityObserved:bench:{number:06d}",
        "type": [TYPE],
        LOCATION: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}],
    }
    for attr in ATTRIBUTES:
        doc[attr] = [{"type": "Property", "value": 0.0}]
    return doc


def readings(number: int, round_index: int, observed_at: str) -> EntityDoc:
    doc: EntityDoc = {"id": f"urn:ngsi-ld:AirQualityObserved:bench:{number:06d}", "type": [TYPE]}
    for offset, attr in enumerate(ATTRIBUTES):
        value = ((number * 7 + round_index * 13 + offset * 3) % 1000) / 10
        doc[attr] = [{"type": "Property", "value": value, "observedAt": observed_at}]
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp dir")
    parser.add_argument("--entities", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="a few small rounds (smoke run)")
    parser.add_argument(
        "--with-subscriptions",
        action="store_true",
        help="register the subscription matcher on the service, as the API does",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.entities, args.rounds = min(args.entities, 200), min(args.rounds, 3)

    keep = None
    url = args.database_url
    if url is None:
        url, keep = temporary_sqlite_url("ingest.db")
    store = open_store(url)
    try:
        store.migrate()
        tenant = "bench-" + secrets.token_hex(3)
        ensure_tenant(store, tenant)
        service = EntityService(store)
        if args.with_subscriptions:
            from cetate.reactions.subscriptions.outbox import SubscriptionMatcher
            from cetate.reactions.subscriptions.repository import SubscriptionRepository

            service.observer = SubscriptionMatcher(SubscriptionRepository(store))
        created = service.batch_upsert(tenant, [entity(n) for n in range(args.entities)])
        if created.errors:
            print(f"setup failed: {created.errors[0].error.detail}", file=sys.stderr)
            return 1
        start_time = datetime(2026, 1, 1, tzinfo=UTC)
        batches = [
            [
                readings(n, r, format_datetime(start_time + timedelta(minutes=r)))
                for n in range(args.entities)
            ]
            for r in range(args.rounds)
        ]
        began = time.perf_counter()
        for batch in batches:
            result = service.batch_upsert(tenant, batch, mode="update")
            if result.errors:
                print(f"round failed: {result.errors[0].error.detail}", file=sys.stderr)
                return 1
        seconds = time.perf_counter() - began
    finally:
        store.close()
        if keep is not None:
            keep.cleanup()

    values = args.entities * args.rounds * len(ATTRIBUTES)
    print("store_ingest: batch_upsert(mode=update), 3 attributes with observedAt per entity")
    print(f"  backend      {backend_of(url)}")
    print(f"  machine      {machine()}")
    print(f"  entities     {args.entities}")
    print(f"  rounds       {args.rounds} (one transaction each)")
    print(f"  matcher      {'registered' if args.with_subscriptions else 'none'}")
    print(f"  rows         {values} history rows ({values} attribute values)")
    print(f"  seconds      {seconds:.3f}")
    print(f"  values/s     {values / seconds:,.0f}")
    print(f"  entities/s   {args.entities * args.rounds / seconds:,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
