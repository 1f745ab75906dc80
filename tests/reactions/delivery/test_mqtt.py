"""MQTT delivery against a real Mosquitto broker (tests/support/mosquitto_server.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiomqtt
import pytest

from cetate.reactions.delivery.mqtt import InvalidMqttEndpoint, MqttSender, MqttTarget, mqtt_payload
from cetate.reactions.delivery.outcome import DeliveryOutcome
from cetate.reactions.subscriptions.notification import NotificationRequest
from tests.reactions.delivery.receivers import closed_port
from tests.reactions.delivery.support import notification_request, run
from tests.support.mosquitto_server import MosquittoFactory, MosquittoServer

RECEIVE_TIMEOUT = 5.0


async def send_and_receive(
    broker: MosquittoServer,
    request: NotificationRequest,
    notifier_info: Any,
    topic: str,
    *,
    credentials: tuple[str, str] | None = None,
) -> tuple[DeliveryOutcome, aiomqtt.Message]:
    """Subscribe (QoS 2) as a real client, send, and return the outcome and the message."""
    username, password = credentials or (None, None)
    async with aiomqtt.Client(
        broker.host, broker.port, username=username, password=password, timeout=5
    ) as client:
        await client.subscribe(topic, qos=2)
        outcome = await MqttSender(timeout=5).send(request, notifier_info)
        async with asyncio.timeout(RECEIVE_TIMEOUT):
            message = await anext(aiter(client.messages))
        return outcome, message


@pytest.mark.parametrize(
    ("qos", "version"),
    [
        ("0", "mqtt3.1.1"),
        ("1", "mqtt3.1.1"),
        ("2", "mqtt3.1.1"),
        ("1", "mqtt5.0"),
        ("2", "mqtt5.0"),
    ],
)
def test_published_with_metadata_and_body(
    mosquitto_session_server: MosquittoServer, qos: str, version: str
) -> None:
    broker = mosquitto_session_server
    topic = f"cetate/notify/q{qos}-{version}"
    request, sub = notification_request(
        f"mqtt://{broker.host}:{broker.port}/{topic}",
        receiverInfo=[{"key": "X-Origin", "value": "Cluj-Napoca"}],
        notifierInfo=[{"key": "MQTT-QoS", "value": qos}, {"key": "MQTT-Version", "value": version}],
    )
    outcome, message = run(
        send_and_receive(broker, request, sub.notification.endpoint.notifier_info, topic)
    )
    assert (outcome.kind, outcome.reason, outcome.status_code) == ("ok", "delivered", None)
    assert outcome.duration > 0
    assert str(message.topic) == topic
    assert message.qos == int(qos)
    assert isinstance(message.payload, bytes)
    received = json.loads(message.payload.decode("utf-8"))
    assert received == {"metadata": request.headers, "body": request.body}
    assert received["metadata"] == {
        "Content-Type": "application/json",
        "Link": request.headers["Link"],
        "NGSILD-Tenant": "cluj",
        "X-Origin": "Cluj-Napoca",
    }
    assert received["body"]["type"] == "Notification"
    assert "lângă fântână".encode() in message.payload  # UTF-8 JSON, not \u escapes


def test_ld_json_notification_carries_its_context_in_the_body(
    mosquitto_session_server: MosquittoServer,
) -> None:
    broker = mosquitto_session_server
    topic = "cetate/ld/notify"
    request, _ = notification_request(
        f"mqtt://{broker.host}:{broker.port}/{topic}", accept="application/ld+json", tenant=None
    )
    _, message = run(send_and_receive(broker, request, (), topic))
    assert isinstance(message.payload, bytes)
    received = json.loads(message.payload)
    assert received["metadata"] == {"Content-Type": "application/ld+json"}
    assert "@context" in received["body"]
    assert message.qos == 0  # no notifierInfo: QoS 0


def test_credentials_from_the_uri(mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory(passwords={"notifier": "p@ss:wörd", "reader": "r"})
    topic = "alerts/cluj"
    uri = f"mqtt://notifier:p%40ss%3Aw%C3%B6rd@{broker.host}:{broker.port}/{topic}"
    request, _ = notification_request(uri)
    outcome, message = run(
        send_and_receive(broker, request, {"MQTT-QoS": "1"}, topic, credentials=("reader", "r"))
    )
    assert outcome.ok, outcome
    assert isinstance(message.payload, bytes)
    assert json.loads(message.payload)["body"] == request.body


@pytest.mark.parametrize("version", ["mqtt3.1.1", "mqtt5.0"])
@pytest.mark.parametrize("userinfo", ["notifier:wrong@", ""])
def test_refused_login_is_permanent(
    mosquitto_factory: MosquittoFactory, userinfo: str, version: str
) -> None:
    broker = mosquitto_factory(passwords={"notifier": "right"})
    request, _ = notification_request(f"mqtt://{userinfo}{broker.host}:{broker.port}/a")
    outcome = run(MqttSender(timeout=5).send(request, {"MQTT-Version": version}))
    assert (outcome.kind, outcome.reason) == ("permanent", "auth_refused"), outcome
    assert "wrong" not in outcome.detail


def test_connection_refused_is_retryable() -> None:
    request, _ = notification_request(f"mqtt://127.0.0.1:{closed_port()}/a")
    outcome = run(MqttSender(timeout=5).send(request))
    assert (outcome.kind, outcome.reason) == ("retryable", "connection_refused"), outcome


def test_silent_broker_times_out(silent_port: int) -> None:
    request, _ = notification_request(f"mqtt://127.0.0.1:{silent_port}/a")
    outcome = run(MqttSender(timeout=0.5).send(request, {"MQTT-QoS": "1"}))
    assert (outcome.kind, outcome.reason) == ("retryable", "timeout"), outcome
    assert outcome.duration < 5


def test_tls_to_a_plain_broker_fails_retryably(mosquitto_session_server: MosquittoServer) -> None:
    broker = mosquitto_session_server
    request, _ = notification_request(f"mqtts://{broker.host}:{broker.port}/a")
    outcome = run(MqttSender(timeout=3).send(request))
    assert outcome.retryable, outcome


@pytest.mark.parametrize(
    ("uri", "info", "message"),
    [
        ("http://h/t", {}, "not an MQTT URI"),
        ("mqtt://h:1883", {}, "no topic"),
        ("mqtt://h:1883/", {}, "no topic"),
        ("mqtt://h/a/+/b", {}, "wildcard"),
        ("mqtt://h/a/#", {}, "wildcard"),
        ("mqtt://h/a?x=1", {}, "query"),
        ("mqtt://h:99999/a", {}, "invalid MQTT URI"),
        ("mqtt:///a", {}, "no host"),
        ("mqtt://h/a", {"MQTT-QoS": "3"}, "MQTT-QoS"),
        ("mqtt://h/a", {"MQTT-Version": "mqtt4"}, "MQTT-Version"),
    ],
)
def test_invalid_endpoints(uri: str, info: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidMqttEndpoint, match=message):
        MqttTarget.parse(uri, info)
    request = NotificationRequest(uri=uri, headers={}, body={})
    outcome = run(MqttSender().send(request, info))
    assert (outcome.kind, outcome.reason) == ("permanent", "invalid_endpoint")


def test_target_parsing() -> None:
    target = MqttTarget.parse(
        "mqtts://u%20x:p%2Fw@Broker.example/city/cluj%2Fbins/full",
        [("MQTT-QoS", "2"), ("MQTT-Version", "mqtt5.0")],
    )
    assert target == MqttTarget(
        host="broker.example",
        port=8883,
        topic="city/cluj/bins/full",
        tls=True,
        username="u x",
        password="p/w",
        qos=2,
        version="mqtt5.0",
    )
    assert MqttTarget.parse("mqtt://h/t").port == 1883


def test_payload_shape() -> None:
    request = NotificationRequest("mqtt://h/t", {"Content-Type": "application/json"}, {"a": "ș"})
    assert (
        mqtt_payload(request)
        == '{"metadata":{"Content-Type":"application/json"},"body":{"a":"ș"}}'.encode()
    )
