"""The simulated devices: paho clients publishing at QoS 1, in worker processes.

Each worker process holds one MQTT connection per device and publishes round-robin with at
most :data:`WINDOW` unacknowledged messages per connection. When the broker goes away (the
built-in one dies with a killed server) paho reconnects within a second and resends every
message the broker had not acknowledged; publishing goes on into paho's queue meanwhile.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Final

from cetate.loadtest.provisioning import payload

WINDOW: Final = 200
"""Most QoS 1 messages a connection has sent and not yet had acknowledged (paho keys pending
messages by a 16-bit id and never checks for collisions, so stay far below 65,535)."""


def mqtt_client(username: str, password: str) -> Any:
    """A paho client (MQTT 3.1.1, clean session) that reconnects quickly after a broker
    outage and queues without limit while disconnected."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"loadtest-{username.replace('/', '-')}-{secrets.token_hex(3)}",
        protocol=mqtt.MQTTv311,
    )
    client.username_pw_set(username, password)
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=1, max_delay=1)
    return client


@dataclass(frozen=True)
class PublisherJob:
    """What one worker process publishes: (username, password, topic) per device."""

    devices: tuple[tuple[str, str, str], ...]
    indices: tuple[int, ...]
    """Each device's place among all load devices of the run (in ``shared_seqs``)."""
    port: int
    duration: float
    rate: float
    """Messages/s for this process; 0 = as fast as the window allows."""
    start_at: float
    """``time.time()`` at which publishing starts (all processes together)."""


def publisher_process(job: PublisherJob, results: Any, shared_seqs: Any, release: Any) -> None:
    """Run ``job``; put a dict on ``results``: ``published``, ``acked`` (PUBACKs received),
    ``seconds`` of publishing and ``last`` (device → last sequence number), or ``error``.
    ``shared_seqs`` (a shared integer array over all devices of the run, indexed by
    ``job.indices``) holds each device's last published sequence number as it goes. The devices stay
    connected, as real ones do, until ``release`` (an event) is set: the end of the run."""
    connected = threading.Semaphore(0)
    clients = []
    count = len(job.devices)
    pending = [0] * count
    acked = [0] * count
    lock = threading.Lock()

    for index, (username, password, _topic) in enumerate(job.devices):
        client = mqtt_client(username, password)

        def on_publish(_c: Any, _u: Any, _mid: int, _rc: Any, _p: Any, i: int = index) -> None:
            with lock:
                pending[i] -= 1
                acked[i] += 1

        def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if not reason.is_failure:
                connected.release()

        client.on_publish = on_publish
        client.on_connect = on_connect
        client.connect("127.0.0.1", job.port, keepalive=60)
        client.loop_start()
        clients.append(client)
    for _ in clients:
        if not connected.acquire(timeout=30):
            results.put({"error": "publisher connections timed out"})
            return
    seqs = [0] * count
    published = 0
    turn = 0
    while time.time() < job.start_at:
        time.sleep(0.001)
    began = time.monotonic()
    end = began + job.duration
    interval = 1.0 / job.rate if job.rate > 0 else 0.0
    topics = [topic for _u, _p, topic in job.devices]
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
        for k in range(count):
            i = (turn + k) % count
            client = clients[i]
            if pending[i] >= WINDOW:
                continue
            seqs[i] += 1
            with lock:
                pending[i] += 1
            client.publish(topics[i], payload(seqs[i]), qos=1)
            shared_seqs[job.indices[i]] = seqs[i]
            published += 1
            progressed = True
            if interval:  # one message per due time; the next device goes next
                turn = i + 1
                break
        if not progressed:
            time.sleep(0.0005)
    publish_seconds = time.monotonic() - began
    deadline = time.monotonic() + 120
    while any(pending) and time.monotonic() < deadline:
        time.sleep(0.01)
    report = {
        "published": published,
        "acked": sum(acked),
        "seconds": publish_seconds,
        "cpu": time.process_time(),
        "last": {topics[i].split("/")[2]: seqs[i] for i in range(count)},
    }
    results.put(report)
    release.wait(3600)
    for client in clients:
        client.disconnect()
        client.loop_stop()
