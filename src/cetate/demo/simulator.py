"""Live demo devices: fill sensors that publish over MQTT while ``cetate serve --simulate``
runs.

At start the simulator rotates the MQTT credentials of ``count`` demo fill sensors (registered
by ``cetate demo``, :mod:`cetate.demo.devices`): secrets are only ever stored hashed, so fresh
ones are the only way to get a password, and they live only in this process. Each sensor then
logs in to the broker as itself (``<tenant>/<device>``) and publishes
``{"f": <percent>, "t": <°C>, "ts": <epoch ms>}`` at QoS 1 to ``cetate/<tenant>/<device>/attrs``
every ``interval`` seconds, continuing the demo city's patterns from the container's current
values: waste arriving mostly in the morning and evening, emptied at 06:00 on collection days,
the bin's temperature following the day and the sun, with a little sensor noise.

:func:`with_simulator` runs it inside an application's lifespan, once the MQTT runtime is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import aiomqtt
import orjson
from fastapi import FastAPI

from cetate.demo.city import (
    CONTEXTS,
    DEMO_TENANT,
    LOCAL_TIME,
    WASTE_KINDS,
    _activity_weights,
    solar_elevation,
)
from cetate.demo.devices import CONTAINER_ID, FILL_SENSOR_PROFILE_NAME, fill_sensor_ids
from cetate.ingest.devices.service import DeviceService
from cetate.ingest.mqtt.topics import format_topic
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import LOCATION
from cetate.store.base import ContextStore

logger = logging.getLogger(__name__)

DEFAULT_COUNT: Final = 12
DEFAULT_INTERVAL: Final = 5.0
_HOURLY_WEIGHTS: Final = [weight * 24 for weight in _activity_weights()]
"""how much waste arrives in each local hour, 1 on an average hour"""


@dataclass(slots=True)
class FillSensor:
    """One simulated sensor and the state of its container."""

    device: str
    username: str
    password: str
    lon: float
    lat: float
    level: float
    """true fill level, 0…1"""
    daily_rate: float
    """fraction of the container filled per day"""
    collection_days: tuple[int, ...]
    heat_offset: float
    """the container's temperature minus the day's shape (sun, hour): its ambient level"""
    last_emptied: str = ""
    """local date of the last emptying"""

    def reading(self, now: datetime, seconds: float, rng: random.Random) -> dict[str, Any]:
        """The sensor's payload at ``now``, ``seconds`` after the previous one."""
        local = now.astimezone(LOCAL_TIME)
        day = local.date().isoformat()
        if local.hour == 6 and local.weekday() in self.collection_days and day != self.last_emptied:
            self.level = rng.uniform(0.0, 0.03)
            self.last_emptied = day
        weight = _HOURLY_WEIGHTS[local.hour]
        self.level += self.daily_rate * weight * seconds / 86_400 * rng.uniform(0.6, 1.4)
        # a lid opened, a bag thrown in: now and then a visible step
        if rng.random() < 0.15 * weight:
            self.level += rng.uniform(0.002, 0.02)
        self.level = min(self.level, 1.0)
        measured = min(100.0, max(0.0, 100 * self.level + rng.gauss(0, 0.4)))
        temperature = self.heat_offset + _heat_shape(now, self.lon, self.lat) + rng.gauss(0, 0.3)
        return {
            "f": round(measured, 1),
            "t": round(temperature, 1),
            "ts": int(now.timestamp() * 1000),
        }


def _heat_shape(moment: datetime, lon: float, lat: float) -> float:
    """The part of a container's temperature that follows the hour and the sun (as the demo
    city computes it)."""
    hour = moment.astimezone(LOCAL_TIME)
    h = hour.hour + hour.minute / 60
    sun = max(0.0, math.sin(math.radians(solar_elevation(moment, lon, lat))))
    return 5.0 * math.cos(2 * math.pi * (h - 15) / 24) + 7 * sun


def _current(entity: Mapping[str, Any], iri: str) -> Any:
    instances = entity.get(iri) or []
    return instances[0].get("value") if instances else None


def prepare_sensors(
    store: ContextStore,
    devices: DeviceService,
    *,
    tenant: str = DEMO_TENANT,
    count: int = DEFAULT_COUNT,
    seed: int | None = None,
) -> list[FillSensor]:
    """Fresh MQTT credentials and the starting state of up to ``count`` registered demo fill
    sensors (synchronous: run it in a thread from async code)."""
    rng = random.Random(seed)
    context = ContextResolver().resolve(CONTEXTS["WasteContainer"])
    fill_iri = context.expand_term("fillingLevel")
    temp_iri = context.expand_term("temperature")
    registered = {
        info.device
        for info in devices.list_devices(tenant)
        if info.profile == FILL_SENSOR_PROFILE_NAME
    }
    sensors: list[FillSensor] = []
    now = datetime.now(UTC)
    for number, device in enumerate(fill_sensor_ids(), start=1):
        if len(sensors) >= count:
            break
        if device not in registered:
            continue
        container = store.get_entity(tenant, CONTAINER_ID.format(device=device))
        if container is None:
            continue
        lon, lat = container[LOCATION][0]["value"]["coordinates"]
        _kinds, (low, high), days = WASTE_KINDS[(number - 1) % len(WASTE_KINDS)]
        level = _current(container, fill_iri)
        temperature = _current(container, temp_iri)
        issued = devices.rotate(tenant, device, transport="mqtt")
        if issued.mqtt_username is None or issued.mqtt_password is None:  # pragma: no cover
            continue
        sensors.append(
            FillSensor(
                device=device,
                username=issued.mqtt_username,
                password=issued.mqtt_password,
                lon=float(lon),
                lat=float(lat),
                level=float(level) if isinstance(level, int | float) else rng.uniform(0.05, 0.5),
                daily_rate=rng.uniform(low, high),
                collection_days=days,
                heat_offset=(
                    float(temperature) - _heat_shape(now, lon, lat)
                    if isinstance(temperature, int | float)
                    else 10.0
                ),
            )
        )
    return sensors


async def run_simulator(
    store: ContextStore,
    devices: DeviceService,
    host: str,
    port: int,
    *,
    tenant: str = DEMO_TENANT,
    count: int = DEFAULT_COUNT,
    interval: float = DEFAULT_INTERVAL,
    rounds: int | None = None,
    seed: int | None = None,
) -> None:
    """Publish readings of ``count`` demo fill sensors every ``interval`` seconds, forever or
    for ``rounds`` rounds. Each sensor is its own MQTT client, logged in as itself."""
    sensors = await asyncio.to_thread(
        prepare_sensors, store, devices, tenant=tenant, count=count, seed=seed
    )
    if not sensors:
        logger.warning(
            "demo simulator: tenant %r has no demo fill sensors; run `cetate demo` first", tenant
        )
        return
    logger.info("demo simulator: %d fill sensors publish every %.1f s", len(sensors), interval)
    rng = random.Random(seed)
    await asyncio.gather(
        *(
            _publish_loop(sensor, tenant, host, port, interval, rounds, random.Random(rng.random()))
            for sensor in sensors
        )
    )


async def _publish_loop(
    sensor: FillSensor,
    tenant: str,
    host: str,
    port: int,
    interval: float,
    rounds: int | None,
    rng: random.Random,
) -> None:
    topic = format_topic(tenant, sensor.device, "attrs")
    await asyncio.sleep(rng.uniform(0, min(interval, 2.0)))  # not all at the same instant
    sent = 0
    last = time.monotonic()
    while rounds is None or sent < rounds:
        try:
            async with aiomqtt.Client(
                host,
                port,
                username=sensor.username,
                password=sensor.password,
                identifier=f"demo-{tenant}-{sensor.device}",
                timeout=10,
            ) as client:
                while rounds is None or sent < rounds:
                    now = time.monotonic()
                    payload = sensor.reading(datetime.now(UTC), now - last, rng)
                    last = now
                    await client.publish(topic, orjson.dumps(payload), qos=1)
                    sent += 1
                    if rounds is None or sent < rounds:
                        await asyncio.sleep(interval * rng.uniform(0.9, 1.1))
        except aiomqtt.MqttError as exc:
            logger.warning("demo sensor %s: %s; retrying", sensor.device, exc)
            await asyncio.sleep(interval)


LifespanFactory = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def with_simulator(
    app: FastAPI,
    *,
    tenant: str = DEMO_TENANT,
    count: int = DEFAULT_COUNT,
    interval: float = DEFAULT_INTERVAL,
) -> FastAPI:
    """``app`` whose lifespan also runs the simulator once the application (and its MQTT
    runtime) has started, and stops it first on shutdown. Needs the built-in broker."""
    inner: LifespanFactory = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with inner(application) as state:
            task = _start(application, tenant, count, interval)
            try:
                yield state
            finally:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app.router.lifespan_context = lifespan
    return app


def _start(app: FastAPI, tenant: str, count: int, interval: float) -> asyncio.Task[None] | None:
    runtime = getattr(app.state, "mqtt", None)
    connection = getattr(runtime, "connection", None)
    if runtime is None or runtime.broker is None or connection is None:
        logger.warning("demo simulator not started: it needs the built-in MQTT broker")
        return None
    coroutine: Awaitable[None] = run_simulator(
        app.state.store,
        app.state.devices,
        connection.host,
        connection.port,
        tenant=tenant,
        count=count,
        interval=interval,
    )
    task = asyncio.ensure_future(coroutine)
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("demo simulator stopped", exc_info=task.exception())
