"""Fixtures for commands: a store with devices (cluj/lamp-1 and lamp-2 over MQTT and HTTP,
cluj/meter-1 over HTTP only, iasi/lamp-1) and a command service with a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from cetate.ngsi.timestamps import utc_now
from cetate.reactions.commands.service import CommandService
from cetate.store.base import ContextStore
from tests.ingest.conftest import BIN_PROFILE, DeviceWorld, make_world


@dataclass
class Clock:
    """Starts at the real time; ``advance`` moves it."""

    now: datetime = field(default_factory=utc_now)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class CommandWorld:
    world: DeviceWorld
    clock: Clock
    service: CommandService
    secrets: dict[str, tuple[str | None, str | None]]
    """``tenant/device`` → (HTTP token, MQTT password)"""


def provision_devices(world: DeviceWorld) -> dict[str, tuple[str | None, str | None]]:
    found: dict[str, tuple[str | None, str | None]] = {}
    for tenant in ("cluj", "iasi"):
        world.devices.put_profile(tenant, BIN_PROFILE)
    for tenant, device, transport in (
        ("cluj", "lamp-1", "both"),
        ("cluj", "lamp-2", "both"),
        ("cluj", "meter-1", "http"),
        ("iasi", "lamp-1", "both"),
    ):
        found[f"{tenant}/{device}"] = world.provision(tenant, device, transport=transport)
    return found


@pytest.fixture
def commands(store: ContextStore) -> CommandWorld:
    world = make_world(store)
    secrets = provision_devices(world)
    clock = Clock()
    return CommandWorld(world, clock, CommandService(store, clock=clock), secrets)
