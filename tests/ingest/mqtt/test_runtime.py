"""The built-in broker inside the application's lifespan, external-broker settings, and
clear errors when the broker cannot start."""

from __future__ import annotations

import socket
from pathlib import Path

import aiomqtt
import pytest
from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.config import Settings
from cetate.ingest.mqtt.auth import StaticDeviceAuthenticator
from cetate.ingest.mqtt.broker import SERVICE_USERNAME, BrokerStartError, BuiltinBroker
from cetate.ingest.mqtt.runtime import MqttMode, mqtt_mode, mqtt_runtime
from cetate.ingest.mqtt.subscriber import BrokerConnection
from tests.ingest.mqtt.conftest import free_port, run


async def _can_log_in(port: int, username: str, password: str) -> bool:
    try:
        async with aiomqtt.Client(
            "127.0.0.1", port, username=username, password=password, timeout=5
        ):
            return True
    except aiomqtt.MqttError:
        return False


def test_the_lifespan_starts_and_stops_the_builtin_broker(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cetate.db'}", mqtt_builtin=True, mqtt_port=port
    )
    with TestClient(create_app(settings)) as client:
        mqtt = client.app.state.mqtt  # type: ignore[attr-defined]
        assert mqtt.mode is MqttMode.builtin
        assert mqtt.broker.running
        assert mqtt.connection.port == port
        password = mqtt.broker.service_password
        assert run(_can_log_in(port, SERVICE_USERNAME, password), timeout=10)
        # No device registry yet: no device can log in.
        assert not run(_can_log_in(port, "cluj/bin-1", "anything"), timeout=10)
        assert client.get("/health").status_code == 200
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass


def test_modes() -> None:
    assert mqtt_mode(Settings()) is MqttMode.off  # the test suite defaults the builtin off
    assert mqtt_mode(Settings(mqtt_builtin=True)) is MqttMode.builtin
    assert mqtt_mode(Settings(mqtt_builtin=False)) is MqttMode.off
    external = Settings(mqtt_builtin=True, mqtt_external_url="mqtt://cetate:pw@broker:1883")
    assert mqtt_mode(external) is MqttMode.external


def test_external_mode_runs_no_broker() -> None:
    settings = Settings(mqtt_external_url="mqtts://cetate:p%40ss@mqtt.example:8884")

    async def scenario() -> None:
        async with mqtt_runtime(settings) as runtime:
            assert runtime.broker is None
            assert runtime.subscriber is None
            assert runtime.connection == BrokerConnection(
                "mqtt.example", 8884, "cetate", "p@ss", tls=True
            )

    run(scenario())


def test_broker_urls() -> None:
    assert BrokerConnection.from_url("mqtt://localhost") == BrokerConnection("localhost", 1883)
    assert BrokerConnection.from_url("mqtts://h").port == 8883
    for bad in ("http://h:1883", "mqtt://", "h:1883", "mqtt://u:secret@h:notaport"):
        with pytest.raises(ValueError, match="MQTT broker URL") as info:
            BrokerConnection.from_url(bad)
        assert "secret" not in str(info.value)


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = BuiltinBroker("127.0.0.1", port, StaticDeviceAuthenticator({}))
        with pytest.raises(BrokerStartError) as info:
            run(broker.start())
    assert f"127.0.0.1:{port}" in info.value.detail
    assert "CETATE_MQTT_PORT" in info.value.detail
    assert "CETATE_MQTT_BUILTIN=false" in info.value.detail
    assert not broker.running
