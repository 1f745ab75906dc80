"""Brokers under test: the built-in amqtt broker and a real Mosquitto, each on a free loopback
port with the same devices, and helpers to run a scenario with a hard time limit."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import aiomqtt
import pytest

from cetate.ingest.mqtt.auth import StaticDeviceAuthenticator
from cetate.ingest.mqtt.broker import SERVICE_USERNAME, BrokerCounters, BuiltinBroker
from cetate.ingest.mqtt.subscriber import BrokerConnection
from cetate.ingest.mqtt.topics import mosquitto_acl
from tests.support.mosquitto_server import MosquittoFactory

DEVICES = {
    "cluj/bin-1": "secret-bin-1",
    "cluj/bin-2": "secret-bin-2",
    "iasi/lamp-7": "secret-lamp-7",
}
SERVICE_PASSWORD = "service-secret"
SCENARIO_TIMEOUT_S = 20.0

T = TypeVar("T")


def run(scenario: Coroutine[Any, Any, T], timeout: float = SCENARIO_TIMEOUT_S) -> T:
    """Run an async scenario; a hang fails the test after ``timeout`` seconds."""

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await scenario

    return asyncio.run(bounded())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class BrokerUnderTest:
    """A running broker, with the credentials of Cetate's service user and the devices."""

    kind: str
    host: str
    port: int
    service_password: str
    counters: BrokerCounters | None = None
    """The built-in broker's refusal counters (None on Mosquitto)."""

    def service(self, client_id: str | None = None) -> BrokerConnection:
        return BrokerConnection(
            host=self.host,
            port=self.port,
            username=SERVICE_USERNAME,
            password=self.service_password,
            client_id=client_id or f"cetate-ingest-test-{uuid.uuid4().hex[:8]}",
        )

    def client(
        self, username: str | None, password: str | None = None, **kwargs: Any
    ) -> aiomqtt.Client:
        """An MQTT client logging in as ``username`` (with its own password by default)."""
        if username is not None and password is None:
            password = DEVICES.get(username, SERVICE_PASSWORD)
        return aiomqtt.Client(
            self.host, self.port, username=username, password=password, timeout=5, **kwargs
        )


BrokerStarter = Callable[[], AbstractAsyncContextManager[BrokerUnderTest]]


@pytest.fixture(params=["builtin", "mosquitto"])
def start_broker(
    request: pytest.FixtureRequest, mosquitto_factory: MosquittoFactory
) -> Iterator[BrokerStarter]:
    """``async with start_broker() as broker`` inside the test's event loop: the built-in
    broker (started in that loop) or Mosquitto (a process, started before)."""
    if request.param == "mosquitto":
        server = mosquitto_factory(
            passwords={**DEVICES, SERVICE_USERNAME: SERVICE_PASSWORD},
            acl=mosquitto_acl(SERVICE_USERNAME),
        )

        @asynccontextmanager
        async def mosquitto() -> AsyncIterator[BrokerUnderTest]:
            yield BrokerUnderTest("mosquitto", server.host, server.port, SERVICE_PASSWORD)

        yield mosquitto
        return

    @asynccontextmanager
    async def builtin() -> AsyncIterator[BrokerUnderTest]:
        broker = BuiltinBroker("127.0.0.1", free_port(), StaticDeviceAuthenticator(DEVICES))
        await broker.start()
        try:
            yield BrokerUnderTest(
                "builtin", broker.host, broker.port, broker.service_password, broker.counters
            )
        finally:
            await broker.stop()

    yield builtin
