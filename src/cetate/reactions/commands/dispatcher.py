"""Publishing queued commands to devices over MQTT.

:class:`CommandDispatcher` is an asyncio task started and stopped by the application's
lifespan when the MQTT runtime has a broker connection (built-in or external). Each round it
claims due items of the store queue ``device-commands`` (leased, so an item of a process that
died is claimed again) and, per command:

* gone, or no longer ``pending`` → the item is completed, nothing is sent;
* past its expiry → marked ``expired``, not sent;
* else published as JSON ``{"id", "name", "value", "expiresAt"}`` at QoS 1, not retained, to
  ``cetate/<tenant>/<device>/cmd``, and marked ``delivered`` once the broker acknowledged the
  publish (PUBACK). ``delivered`` therefore means *accepted by the broker for the device*: the
  broker forwards it to the device's subscription (or keeps it in the device's persistent
  session); it does not mean the device has read it — the device's result says that.
* a broker error (refused, disconnected, no PUBACK in time) → the item is retried with
  exponential backoff (``store.retry``) and the connection is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiomqtt
import orjson

from cetate.ingest.mqtt.subscriber import BrokerConnection
from cetate.ingest.mqtt.topics import Channel, format_topic
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.commands.model import device_message
from cetate.reactions.commands.service import DELIVERY_QUEUE, CommandService
from cetate.reactions.rounds import RoundLoop
from cetate.store.base import QueueItem

logger = logging.getLogger(__name__)


def backoff(attempt: int) -> timedelta:
    """1 s, 2 s, 4 s … at most 60 s before the next attempt."""
    return timedelta(seconds=min(2 ** max(attempt - 1, 0), 60))


@dataclass
class DispatcherStats:
    published: int = 0
    expired: int = 0
    skipped: int = 0
    failures: int = 0


class CommandDispatcher:
    """Claims ``device-commands`` items and publishes them (see the module docstring)."""

    def __init__(
        self,
        service: CommandService,
        connection: BrokerConnection,
        *,
        worker_id: str | None = None,
        batch_size: int = 50,
        lease: timedelta = timedelta(minutes=1),
        poll_interval: float = 0.2,
        publish_timeout: float = 10.0,
        delay: Callable[[int], timedelta] = backoff,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.service = service
        self.store = service.store
        self.worker_id = worker_id or f"commands-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.connection = connection
        self.batch_size = batch_size
        self.lease = lease
        self.poll_interval = poll_interval
        self.publish_timeout = publish_timeout
        self.delay = delay
        self.clock = clock
        self.stats = DispatcherStats()
        self._client: aiomqtt.Client | None = None
        self._exit: contextlib.AsyncExitStack | None = None
        self._rounds = RoundLoop(
            f"cetate-{self.worker_id}",
            self.run_once,
            poll_interval=poll_interval,
            failure="command dispatcher round failed; trying again",
            log=logger,
        )

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._rounds.start()

    def wake(self) -> None:
        """Look at the queue now (thread-safe; a no-op when not running)."""
        self._rounds.wake()

    async def stop(self) -> None:
        """Stop after the current round; claimed, unsent items are claimed again when their
        lease runs out."""
        await self._rounds.stop(timeout=self.publish_timeout + 5)
        await self._disconnect()

    # -- one round ----------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim due items and handle them; the number of items handled."""
        items = await asyncio.to_thread(
            self.store.claim,
            DELIVERY_QUEUE,
            worker=self.worker_id,
            limit=self.batch_size,
            lease=self.lease,
        )
        for item in items:
            await self._dispatch(item)
        return len(items)

    async def _dispatch(self, item: QueueItem) -> None:
        command_id = item.payload.get("id")
        command = (
            await asyncio.to_thread(self.service.get, item.tenant, command_id)
            if isinstance(command_id, str)
            else None
        )
        if command is None or command.status != "pending":
            self.stats.skipped += 1
            await asyncio.to_thread(self.store.complete, [item.id])
            return
        if command.is_overdue(self.clock()):
            await asyncio.to_thread(self.service.expire, item.tenant, command.id)
            self.stats.expired += 1
            await asyncio.to_thread(self.store.complete, [item.id])
            return
        topic = format_topic(command.tenant, command.device, Channel.cmd)
        try:
            client = await self._connected()
            await client.publish(
                topic,
                orjson.dumps(device_message(command)),
                qos=1,
                retain=False,
                timeout=self.publish_timeout,
            )
        except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
            self.stats.failures += 1
            await self._disconnect()
            due = self.clock() + self.delay(item.attempts)
            logger.warning(
                "command %s to %s/%s not published (%s); next attempt at %s",
                command.id,
                command.tenant,
                command.device,
                exc,
                due.isoformat(),
            )
            await asyncio.to_thread(self.store.retry, item.id, due_at=due, error=str(exc))
            return
        await asyncio.to_thread(self.service.mark_delivered, item.tenant, command.id)
        self.stats.published += 1
        await asyncio.to_thread(self.store.complete, [item.id])

    # -- the MQTT connection ------------------------------------------------------------------
    async def _connected(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        c = self.connection
        client = aiomqtt.Client(
            c.host,
            c.port,
            username=c.username,
            password=c.password,
            identifier=f"{c.client_id}-cmd-{uuid.uuid4().hex[:8]}",
            clean_session=True,
            timeout=self.publish_timeout,
            tls_context=ssl.create_default_context() if c.tls else None,
        )
        stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(client)
        self._client, self._exit = client, stack
        return client

    async def _disconnect(self) -> None:
        stack, self._exit, self._client = self._exit, None, None
        if stack is not None:
            with contextlib.suppress(Exception):
                await stack.aclose()
