"""What a load test runs: :class:`LoadtestOptions`, checked before anything starts."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path


class LoadtestError(Exception):
    """The load test cannot run as asked; the message says why and what to do."""


class Broker(StrEnum):
    """Which MQTT broker the devices publish to."""

    builtin = "builtin"
    """The amqtt broker inside ``cetate serve`` (dies with the server)."""
    mosquitto = "mosquitto"
    """A Mosquitto process the load test starts (outlives a killed server)."""


def mosquitto_binary() -> Path:
    """The Mosquitto executable: ``CETATE_LOADTEST_MOSQUITTO`` or Debian's path."""
    return Path(os.environ.get("CETATE_LOADTEST_MOSQUITTO", "/usr/sbin/mosquitto"))


@dataclass(frozen=True)
class LoadtestOptions:
    """One run. ``rate`` is messages/s over all devices (0: as fast as they can);
    ``kill_at`` seconds into publishing the server gets SIGKILL and is restarted (None: never);
    ``database_url`` None means a new SQLite file in a temporary directory."""

    broker: Broker = Broker.builtin
    devices: int = 50
    duration: float = 20.0
    rate: float = 0.0
    database_url: str | None = None
    kill_at: float | None = None
    publisher_processes: int = 1
    drain_timeout: float = 120.0
    probe_every: float = 0.2

    def quick(self) -> LoadtestOptions:
        """The smoke-run version: at most 5 devices for at most 3 s at 200 messages/s."""
        duration = min(self.duration, 3.0)
        kill_at = self.kill_at
        if kill_at is not None and kill_at >= duration:
            kill_at = duration / 2
        return replace(
            self,
            devices=min(self.devices, 5),
            duration=duration,
            rate=self.rate or 200.0,
            drain_timeout=min(self.drain_timeout, 60.0),
            kill_at=kill_at,
        )

    def validate(self) -> LoadtestOptions:
        """Raise :class:`LoadtestError` naming the first bad option; else return ``self``."""
        broker_names = ", ".join(b.value for b in Broker)
        if not isinstance(self.broker, Broker):
            try:
                Broker(self.broker)
            except ValueError:
                raise LoadtestError(
                    f"--broker {self.broker!r} is not a broker: use one of {broker_names}"
                ) from None
        if self.devices < 1:
            raise LoadtestError(f"--devices must be at least 1, got {self.devices}")
        if not self.duration > 0:
            raise LoadtestError(f"--duration must be more than 0 seconds, got {self.duration:g}")
        if self.rate < 0:
            raise LoadtestError(
                f"--rate must be 0 (as fast as possible) or more messages/s, got {self.rate:g}"
            )
        if self.kill_at is not None and not 0 < self.kill_at < self.duration:
            raise LoadtestError(
                f"--kill-at {self.kill_at:g} s is outside the publishing time: it must be more "
                f"than 0 and less than --duration ({self.duration:g} s)"
            )
        if self.publisher_processes < 1:
            raise LoadtestError(
                f"--publisher-processes must be at least 1, got {self.publisher_processes}"
            )
        if not self.drain_timeout > 0:
            raise LoadtestError(
                f"--drain-timeout must be more than 0 s, got {self.drain_timeout:g}"
            )
        if not self.probe_every > 0:
            raise LoadtestError(f"--probe-every must be more than 0 s, got {self.probe_every:g}")
        if Broker(self.broker) is Broker.mosquitto and not mosquitto_binary().is_file():
            raise LoadtestError(
                f"Mosquitto is not installed ({mosquitto_binary()} not found): "
                "install it with `apt-get install mosquitto`, or use --broker builtin"
            )
        return self
