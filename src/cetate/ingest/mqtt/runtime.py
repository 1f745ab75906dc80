"""MQTT inside the server process: which broker, started and stopped with the application.

``mqtt_runtime(settings)`` is entered by the FastAPI lifespan (:mod:`cetate.api.app`):

* built-in mode (``CETATE_MQTT_BUILTIN``, the default): starts the amqtt broker on
  ``CETATE_MQTT_HOST:CETATE_MQTT_PORT`` and stops it on shutdown;
* external mode (``CETATE_MQTT_EXTERNAL_URL`` set): runs no broker; Cetate is a client of it;
* off: neither.

When a ``handler`` is given, an :class:`~cetate.ingest.mqtt.subscriber.AttrsSubscriber`
delivers every device's measurements to it, from either broker. When a ``results_handler`` is
given, a second subscriber (its own client id: ``<client id>-cmdexe``) delivers every device's
command results (``cetate/+/+/cmdexe``, QoS 1, acknowledged after the handler returns). The
application passes a :class:`~cetate.ingest.devices.credentials.RegistryDeviceAuthenticator`
over the store's device registry, :meth:`cetate.ingest.pipeline.IngestPipeline.handle_mqtt` as
the handler and :meth:`cetate.reactions.commands.inbox.CommandInbox.handle_mqtt` as the results
handler.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum

from cetate.config import Settings
from cetate.ingest.mqtt.auth import DeviceAuthenticator, StaticDeviceAuthenticator
from cetate.ingest.mqtt.broker import BuiltinBroker
from cetate.ingest.mqtt.subscriber import (
    DEFAULT_CLIENT_ID,
    AttrsSubscriber,
    BrokerConnection,
    MessageHandler,
)
from cetate.ingest.mqtt.topics import CMDEXE_FILTER

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 1000
"""Messages the subscriber hands to the handler before their PUBACKs: the ingest pipeline
stores the ones handled at the same time in one group commit."""

_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - names, not a bind


class MqttMode(StrEnum):
    builtin = "builtin"
    external = "external"
    off = "off"


def mqtt_mode(settings: Settings) -> MqttMode:
    """External when a URL is set, else built-in when enabled, else off."""
    if settings.mqtt_external_url:
        return MqttMode.external
    return MqttMode.builtin if settings.mqtt_builtin else MqttMode.off


@dataclass
class MqttRuntime:
    """What is running: kept at ``app.state.mqtt``."""

    mode: MqttMode
    broker: BuiltinBroker | None = None
    connection: BrokerConnection | None = None
    """How Cetate's own client reaches the broker (``None`` when off)."""
    subscriber: AttrsSubscriber | None = None
    results_subscriber: AttrsSubscriber | None = None
    """Receives command results (``cmdexe``) when a results handler was given."""


def _connection(settings: Settings, broker: BuiltinBroker | None) -> BrokerConnection | None:
    if broker is not None:
        host = "127.0.0.1" if settings.mqtt_host in _WILDCARD_HOSTS else settings.mqtt_host
        # A fresh client id per process: the built-in broker's sessions die with the process,
        # and an id nobody can guess cannot be used to push Cetate's client off the broker.
        return BrokerConnection(
            host=host,
            port=broker.port,
            username=broker.service_username,
            password=broker.service_password,
            client_id=f"{DEFAULT_CLIENT_ID}-{secrets.token_hex(8)}",
        )
    if settings.mqtt_external_url:
        return BrokerConnection.from_url(settings.mqtt_external_url)
    return None


@asynccontextmanager
async def mqtt_runtime(
    settings: Settings,
    *,
    authenticator: DeviceAuthenticator | None = None,
    handler: MessageHandler | None = None,
    results_handler: MessageHandler | None = None,
) -> AsyncIterator[MqttRuntime]:
    """Start what ``settings`` ask for; stop it all on exit."""
    mode = mqtt_mode(settings)
    runtime = MqttRuntime(mode)
    if mode is MqttMode.builtin:
        runtime.broker = BuiltinBroker(
            settings.mqtt_host,
            settings.mqtt_port,
            authenticator or StaticDeviceAuthenticator({}),
        )
        await runtime.broker.start()
    try:
        runtime.connection = _connection(settings, runtime.broker)
        if handler is not None and runtime.connection is not None:
            runtime.subscriber = AttrsSubscriber(
                runtime.connection, handler, max_in_flight=MAX_IN_FLIGHT
            )
            runtime.subscriber.start()
        elif mode is MqttMode.external:
            logger.info("external MQTT broker configured but no handler given: no subscriber")
        if results_handler is not None and runtime.connection is not None:
            results_connection = dataclasses.replace(
                runtime.connection, client_id=f"{runtime.connection.client_id}-cmdexe"
            )
            runtime.results_subscriber = AttrsSubscriber(
                results_connection, results_handler, topic_filter=CMDEXE_FILTER
            )
            runtime.results_subscriber.start()
        yield runtime
    finally:
        if runtime.results_subscriber is not None:
            await runtime.results_subscriber.stop()
        if runtime.subscriber is not None:
            await runtime.subscriber.stop()
        if runtime.broker is not None:
            await runtime.broker.stop()
