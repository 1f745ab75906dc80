"""MQTT delivery of NGSI-LD notifications (ETSI GS CIM 009 §7.2, the MQTT notification binding).

The endpoint is ``mqtt[s]://[user[:password]@]host[:port]/topic[/subtopic]*``: port 1883 by
default (8883 for ``mqtts``, TLS with the system's trust store); user and password
percent-decoded from the URI; the topic is the path without its leading ``/``.

The message is a JSON object with two members, as the standard says and as Orion-LD and
Stellio send it::

    {"metadata": {"Content-Type": "application/json", "Link": "<…>; rel=…", <receiverInfo>},
     "body": <the notification>}

``metadata`` holds what HTTP would send as headers: exactly the headers of the
:class:`NotificationRequest` from :func:`~cetate.reactions.subscriptions.notification.
build_request` (Content-Type, Link, NGSILD-Tenant, receiverInfo).

The endpoint's ``notifierInfo`` gives ``MQTT-QoS`` (0, 1, 2; default 0) and
``MQTT-Version`` (``mqtt3.1.1`` or ``mqtt5.0``; default as the subscription model says,
``mqtt3.1.1``). With QoS 1 and 2 an attempt is ``ok`` only once the broker acknowledged the
message (PUBACK / PUBCOMP); with QoS 0 once it was written to the connection.

One attempt per call, one connection per attempt (connect, publish, disconnect). Outcomes:

=====================================  ==========  ======================
what happened                          kind        reason
=====================================  ==========  ======================
published (and acknowledged)           ok          ``delivered``
broker not listening                   retryable   ``connection_refused``
DNS, TLS or socket failure             retryable   ``connect_error``
no CONNACK / PUBACK in time            retryable   ``timeout``
broker unavailable, busy, quota        retryable   ``broker_refused``
bad user name or password, not         permanent   ``auth_refused``
authorised
unsupported protocol version           permanent   ``broker_refused``
not an MQTT URI, no topic, wildcard    permanent   ``invalid_endpoint``
in topic, bad notifierInfo
=====================================  ==========  ======================
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import ssl
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from cetate.reactions.delivery.outcome import DeliveryOutcome
from cetate.reactions.subscriptions.model import MQTT_QOS, MQTT_VERSION
from cetate.reactions.subscriptions.notification import NotificationRequest

DEFAULT_TIMEOUT: Final = 10.0
"""Seconds for the whole attempt: connect, CONNACK, publish, acknowledgement."""
DEFAULT_PORTS: Final = {"mqtt": 1883, "mqtts": 8883}
_VERSIONS: Final = {
    "mqtt3.1.1": aiomqtt.ProtocolVersion.V311,
    "mqtt5.0": aiomqtt.ProtocolVersion.V5,
}
_DEFAULT_VERSION: Final = "mqtt3.1.1"
_MAX_TOPIC_BYTES: Final = 65535

# CONNACK return codes (MQTT 3.1.1 §3.2.2.3) and reason codes (MQTT 5 §3.2.2.2).
_AUTH_CODES: Final = frozenset({4, 5, 0x86, 0x87, 0x8C})
_PERMANENT_CODES: Final = frozenset({1, 0x84, 0x85, 0x90, 0x9A})
"""Unsupported protocol version, client id refused, topic name invalid, retain not
supported: the broker will answer the same next time."""


class InvalidMqttEndpoint(ValueError):
    """The endpoint URI or notifierInfo cannot be used (a permanent failure)."""


@dataclass(frozen=True, slots=True)
class MqttTarget:
    """Where and how to publish, parsed from an endpoint URI and its notifierInfo."""

    host: str
    port: int
    topic: str
    tls: bool = False
    username: str | None = None
    password: str | None = None
    qos: int = 0
    version: str = _DEFAULT_VERSION

    @classmethod
    def parse(
        cls,
        uri: str,
        notifier_info: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> MqttTarget:
        """Parse ``uri`` and ``notifier_info``; :class:`InvalidMqttEndpoint` says what is
        wrong."""
        info = dict(notifier_info.items() if isinstance(notifier_info, Mapping) else notifier_info)
        if "#" in uri:
            raise InvalidMqttEndpoint("the MQTT URI has a '#': topics may not have a wildcard")
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError as exc:
            raise InvalidMqttEndpoint(f"invalid MQTT URI: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise InvalidMqttEndpoint(f"not an MQTT URI (scheme {scheme!r}); use mqtt or mqtts")
        if not parts.hostname:
            raise InvalidMqttEndpoint("the MQTT URI has no host")
        topic = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if parts.query or parts.fragment:
            raise InvalidMqttEndpoint("the MQTT URI may not have a query or a fragment")
        if not topic:
            raise InvalidMqttEndpoint("the MQTT URI has no topic: write mqtt://host:1883/topic")
        if "+" in topic or "#" in topic or "\x00" in topic:
            raise InvalidMqttEndpoint(f"topic {topic!r} has a wildcard or NUL; one may not")
        if len(topic.encode()) > _MAX_TOPIC_BYTES:
            raise InvalidMqttEndpoint("the topic is longer than MQTT allows (65535 bytes)")
        qos_text = info.get(MQTT_QOS, "0").strip()
        if qos_text not in ("0", "1", "2"):
            raise InvalidMqttEndpoint(f"{MQTT_QOS} must be 0, 1 or 2, not {qos_text!r}")
        version = info.get(MQTT_VERSION, _DEFAULT_VERSION).strip()
        if version not in _VERSIONS:
            raise InvalidMqttEndpoint(
                f"{MQTT_VERSION} must be one of {', '.join(_VERSIONS)}, not {version!r}"
            )
        return cls(
            host=parts.hostname,
            port=port or DEFAULT_PORTS[scheme],
            topic=topic,
            tls=scheme == "mqtts",
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
            qos=int(qos_text),
            version=version,
        )


def mqtt_payload(request: NotificationRequest) -> bytes:
    """The MQTT message of a notification: ``{"metadata": headers, "body": notification}``
    as UTF-8 JSON."""
    message = {"metadata": dict(request.headers), "body": request.body}
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def _code(rc: int | ReasonCode | None) -> int | None:
    if isinstance(rc, ReasonCode):
        return int(rc.value)
    return rc


def _classify(exc: aiomqtt.MqttError, target: MqttTarget) -> DeliveryOutcome:
    where = f"{target.host}:{target.port}"
    if isinstance(exc, aiomqtt.MqttCodeError):
        code = _code(exc.rc)
        if isinstance(exc, aiomqtt.exceptions.MqttConnectError):
            if code in _AUTH_CODES:
                return DeliveryOutcome(
                    "permanent", "auth_refused", f"broker {where} refused the login: {exc}"
                )
            if code in _PERMANENT_CODES:
                return DeliveryOutcome(
                    "permanent", "broker_refused", f"broker {where} refused: {exc}"
                )
            return DeliveryOutcome("retryable", "broker_refused", f"broker {where}: {exc}")
        if code in _AUTH_CODES or code in _PERMANENT_CODES:
            return DeliveryOutcome(
                "permanent", "broker_refused", f"broker {where} refused the message: {exc}"
            )
    text = str(exc)
    lowered = text.lower()
    if "refused" in lowered:
        return DeliveryOutcome(
            "retryable", "connection_refused", f"cannot connect to {where}: {text}"
        )
    if "timed out" in lowered or "timeout" in lowered:
        return DeliveryOutcome("retryable", "timeout", f"{where}: {text}")
    return DeliveryOutcome("retryable", "connect_error", f"{where}: {text or type(exc).__name__}")


class MqttSender:
    """Publishes notifications to MQTT brokers, one attempt (and one connection) per call.

    ``tls_context`` is used for ``mqtts`` endpoints (default: the system's trust store,
    host names checked)."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        tls_context: ssl.SSLContext | None = None,
        client_id_prefix: str = "cetate-notify",
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._timeout = timeout
        self._tls_context = tls_context
        self._client_id_prefix = client_id_prefix

    async def send(
        self,
        request: NotificationRequest,
        notifier_info: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> DeliveryOutcome:
        """One attempt to publish ``request`` to its ``mqtt(s)://`` endpoint;
        ``notifier_info`` is the endpoint's notifierInfo (``Endpoint.notifier_info``)."""
        started = time.monotonic()
        try:
            target = MqttTarget.parse(request.uri, notifier_info)
        except InvalidMqttEndpoint as exc:
            outcome = DeliveryOutcome("permanent", "invalid_endpoint", str(exc))
        else:
            outcome = await self.publish(target, mqtt_payload(request))
        return dataclasses.replace(outcome, duration=time.monotonic() - started)

    async def publish(self, target: MqttTarget, payload: bytes) -> DeliveryOutcome:
        """One attempt to publish ``payload`` as described by ``target``."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                await self._publish(target, payload)
        except TimeoutError:
            outcome = DeliveryOutcome(
                "retryable",
                "timeout",
                f"{target.host}:{target.port} did not complete within {self._timeout:g} s",
            )
        except aiomqtt.MqttError as exc:
            outcome = _classify(exc, target)
        except ssl.SSLError as exc:
            outcome = DeliveryOutcome(
                "retryable", "connect_error", f"TLS with {target.host}:{target.port}: {exc}"
            )
        except OSError as exc:
            outcome = _classify(aiomqtt.MqttError(str(exc)), target)
        else:
            outcome = DeliveryOutcome.success(detail=f"published to {target.topic!r}")
        return dataclasses.replace(outcome, duration=time.monotonic() - started)

    async def _publish(self, target: MqttTarget, payload: bytes) -> None:
        tls_context = None
        if target.tls:
            tls_context = self._tls_context or ssl.create_default_context()
        client = aiomqtt.Client(
            target.host,
            target.port,
            username=target.username,
            password=target.password,
            identifier=f"{self._client_id_prefix}-{uuid.uuid4().hex[:16]}",
            protocol=_VERSIONS[target.version],
            timeout=self._timeout,
            tls_context=tls_context,
        )
        async with client:
            await client.publish(target.topic, payload, qos=target.qos)
