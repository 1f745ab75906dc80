"""The built-in MQTT broker (amqtt) that ``cetate serve`` runs by default.

Devices log in with ``<tenant>/<device>`` and their own password, checked by a
:class:`~cetate.ingest.mqtt.auth.DeviceAuthenticator`; the topic rules of
:mod:`cetate.ingest.mqtt.topics` are enforced on every publish, subscribe and delivery. Cetate's
own subscriber logs in as an internal service user whose password is generated at every start
and never leaves the process.

amqtt keeps everything in memory and measured about 3x slower than Mosquitto here (3.6k QoS 1
messages/s on 2 cores), so it is the one-process default; production points
``CETATE_MQTT_EXTERNAL_URL`` at Mosquitto (see docs/devices.md).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, Final

from amqtt.broker import Broker
from amqtt.contexts import Action, BrokerConfig, ListenerConfig, ListenerType
from amqtt.errors import BrokerError
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from cetate.errors import CetateError
from cetate.ingest.mqtt.auth import DeviceAuthenticator
from cetate.ingest.mqtt.topics import may_publish, may_subscribe

logger = logging.getLogger(__name__)

SERVICE_USERNAME: Final = "cetate-service"
"""Username of Cetate's own client on the built-in broker. It has no ``/``, so no device
username can ever be equal to it."""


class BrokerStartError(CetateError):
    """The built-in broker could not start (most often: its port is taken)."""

    title = "MQTT broker did not start"


@dataclass
class BrokerCounters:
    """What the broker refused since it started (read by tests, later by metrics)."""

    refused_logins: int = 0
    refused_publishes: int = 0
    refused_subscriptions: int = 0
    refused_deliveries: int = 0


@dataclass
class BrokerGate:
    """Authentication and topic rules of the built-in broker, shared by its two plug-ins."""

    authenticator: DeviceAuthenticator
    service_password: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    counters: BrokerCounters = field(default_factory=BrokerCounters)

    async def authenticate(self, username: str | None, password: str | None) -> bool:
        if not username or password is None:
            self.counters.refused_logins += 1
            return False
        if username == SERVICE_USERNAME:
            ok = hmac.compare_digest(self.service_password.encode(), password.encode())
        else:
            try:
                identity = await self.authenticator.authenticate(username, password)
            except Exception:
                logger.exception("device authenticator failed for %r; refusing", username)
                identity = None
            ok = identity is not None and identity.username == username
        if not ok:
            self.counters.refused_logins += 1
            logger.info("MQTT login refused for %r", username)
        return ok

    def allows(self, username: str | None, topic: str, action: Action) -> bool:
        if username == SERVICE_USERNAME:
            return True
        if action == Action.PUBLISH:
            allowed = may_publish(username, topic)
            if not allowed:
                self.counters.refused_publishes += 1
                logger.warning("MQTT publish by %r to %r refused (not its topic)", username, topic)
        elif action == Action.SUBSCRIBE:
            allowed = may_subscribe(username, topic)
            if not allowed:
                self.counters.refused_subscriptions += 1
                logger.warning("MQTT subscription by %r to %r refused", username, topic)
        else:  # RECEIVE: a message about to be delivered to a subscriber
            allowed = may_subscribe(username, topic)
            if not allowed:
                self.counters.refused_deliveries += 1
        return allowed


class CetateAuthPlugin(BaseAuthPlugin):
    """amqtt authentication plug-in: asks the :class:`BrokerGate`."""

    @dataclass
    class Config:
        gate: Any = None

    async def authenticate(self, *, session: Session) -> bool | None:
        gate: BrokerGate = self.config.gate
        return await gate.authenticate(session.username, session.password)


class CetateTopicPlugin(BaseTopicPlugin):
    """amqtt topic plug-in: the ACL of :mod:`cetate.ingest.mqtt.topics`."""

    @dataclass
    class Config:
        gate: Any = None

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        gate: BrokerGate = self.config.gate
        if session is None or topic is None or action is None:
            return False
        return gate.allows(session.username, topic, action)


class BuiltinBroker:
    """An amqtt broker on ``host:port`` with Cetate's authentication and topic rules.

    ``await start()`` binds the port (or raises :class:`BrokerStartError`), ``await stop()``
    closes every connection. Cetate's own client logs in with :attr:`service_username` and
    :attr:`service_password`."""

    def __init__(self, host: str, port: int, authenticator: DeviceAuthenticator) -> None:
        self.host = host
        self.port = port
        self.gate = BrokerGate(authenticator)
        self._broker: Broker | None = None

    @property
    def service_username(self) -> str:
        return SERVICE_USERNAME

    @property
    def service_password(self) -> str:
        return self.gate.service_password

    @property
    def counters(self) -> BrokerCounters:
        return self.gate.counters

    def _config(self) -> BrokerConfig:
        plugin_config = {"gate": self.gate}
        return BrokerConfig(
            listeners={
                "default": ListenerConfig(type=ListenerType.TCP, bind=f"{self.host}:{self.port}")
            },
            plugins={
                f"{__name__}.CetateAuthPlugin": plugin_config,
                f"{__name__}.CetateTopicPlugin": plugin_config,
            },
        )

    async def start(self) -> None:
        if self._broker is not None:
            raise RuntimeError("the built-in MQTT broker is already running")
        broker = Broker(self._config())
        try:
            await broker.start()
        except BrokerError as exc:
            raise BrokerStartError(
                f"the built-in MQTT broker could not listen on {self.host}:{self.port} "
                f"({exc.__cause__ or exc}). Another broker or another Cetate worker may hold the "
                "port: choose another with CETATE_MQTT_PORT, point CETATE_MQTT_EXTERNAL_URL at "
                "your broker, or turn the built-in one off with CETATE_MQTT_BUILTIN=false."
            ) from exc
        self._broker = broker
        logger.info("built-in MQTT broker listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.shutdown()
            logger.info("built-in MQTT broker stopped")

    @property
    def running(self) -> bool:
        return self._broker is not None
