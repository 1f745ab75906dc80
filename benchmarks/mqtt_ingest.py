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

With ``--kill-at S`` the server gets SIGKILL S seconds into publishing and is restarted on
the same database and broker; the report adds the downtime and the time to catch up. Through
Mosquitto (which keeps Cetate's persistent QoS 1 session) lost must still be 0; the built-in
broker dies with the server, and what it had acknowledged but Cetate had not stored is lost.

The code lives in :mod:`cetate.loadtest`; ``cetate loadtest`` runs the same thing with the same
options and output.

Usage::

    .venv/bin/python benchmarks/mqtt_ingest.py --broker builtin --devices 50 --duration 20
    .venv/bin/python benchmarks/mqtt_ingest.py --broker mosquitto --devices 50 --duration 20
    .venv/bin/python benchmarks/mqtt_ingest.py --rate 2000          # paced, messages/s total
    .venv/bin/python benchmarks/mqtt_ingest.py --quick              # smoke run
    .venv/bin/python benchmarks/mqtt_ingest.py --broker mosquitto --kill-at 8 --duration 20

Targets (issue 4), 2 cores: ≥ 10,000 messages/s through Mosquitto, ≥ 5,000 through the
built-in broker, p99 ≤ 1 s, lost 0. The publishers share the machine with the server and the
broker, so on a small box the figures are lower bounds.
"""

from __future__ import annotations

import argparse
import sys

from cetate.loadtest.command import run_and_print
from cetate.loadtest.options import Broker, LoadtestOptions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp dir")
    parser.add_argument("--broker", choices=[b.value for b in Broker], default="builtin")
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of publishing")
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s in total; 0 = max")
    parser.add_argument(
        "--kill-at", type=float, default=None, help="SIGKILL cetate serve after S s; restart"
    )
    parser.add_argument("--publisher-processes", type=int, default=1)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--probe-every", type=float, default=0.2, help="seconds between probes")
    parser.add_argument("--quick", action="store_true", help="a few devices for 3 s (smoke run)")
    args = parser.parse_args(argv)
    options = LoadtestOptions(
        broker=Broker(args.broker),
        devices=args.devices,
        duration=args.duration,
        rate=args.rate,
        database_url=args.database_url,
        kill_at=args.kill_at,
        publisher_processes=args.publisher_processes,
        drain_timeout=args.drain_timeout,
        probe_every=args.probe_every,
    )
    return run_and_print(options, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
