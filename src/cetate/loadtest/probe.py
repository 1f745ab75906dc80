"""Publish → queryable latency: a probe device publishes and polls the NGSI-LD API until its
new value is visible."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import httpx

from cetate.loadtest.provisioning import Device, entity_id, payload
from cetate.loadtest.publishers import mqtt_client

POLL_SECONDS = 0.02
"""Between reads of the probe entity: fine enough for latency, light on the server (it shares
its process, and the GIL, with the ingest)."""


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


class Probe:
    """One device's MQTT connection plus the HTTP client that reads its entity back.

    :meth:`run` (in a thread) publishes every ``every`` seconds and records each latency in
    :attr:`latencies`; while :attr:`paused` is set (the server is known to be down) it neither
    starts probes nor records the failing reads as errors."""

    def __init__(self, device: Device, port: int, http: httpx.Client, tenant: str) -> None:
        self.device = device
        self.http = http
        self.tenant = tenant
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.seq = 0
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.client: Any = mqtt_client(device.username, device.password)
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def visible_seq(self) -> int | None:
        """The sequence number the API shows for this device now (None: no entity yet)."""
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
        """Publish the next message; seconds until GET shows it (None: not within
        ``timeout``)."""
        self.seq += 1
        began = time.perf_counter()
        self.client.publish(self.device.topic, payload(self.seq), qos=1)
        deadline = began + timeout
        while time.perf_counter() < deadline and not self.stop.is_set():
            try:
                if self.visible_seq() == self.seq:
                    return time.perf_counter() - began
            except httpx.HTTPError as exc:  # busy or restarting: keep polling
                if not self.paused.is_set():
                    self.errors.append(repr(exc))
            time.sleep(POLL_SECONDS)
        return None

    def run(self, every: float) -> None:
        while not self.stop.is_set():
            if self.paused.is_set():
                self.stop.wait(0.05)
                continue
            took = self.one(timeout=60)
            if took is None and not self.stop.is_set():
                self.errors.append(f"probe message {self.seq} not visible within 60 s")
            elif took is not None:
                self.latencies.append(took)
            self.stop.wait(every)
