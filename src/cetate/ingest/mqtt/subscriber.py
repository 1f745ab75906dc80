"""Cetate's MQTT client: receives every device's measurements and acknowledges each message
only after the handler has taken it.

The subscriber subscribes to ``cetate/+/+/attrs`` at QoS 1 with a persistent session (fixed
client id, clean session off), on the built-in broker or on an external one such as
Mosquitto. Every message goes to an async handler as a :class:`ReceivedMessage`. The PUBACK
goes out only when the handler has returned, in the order the messages arrived (MQTT 3.1.1
§4.6); the handler returns once the message is durably stored. When a handler raises, nothing
after it is acknowledged: the subscriber disconnects, waits (exponential backoff) and
reconnects, and the broker delivers every unacknowledged message again. Handlers must
therefore be idempotent, and must not raise for a message that can never succeed (they put it
in the dead-letter store instead) or it comes back forever.

aiomqtt 2.5 has no public manual-acknowledgement switch (empicano/aiomqtt#345); paho-mqtt
underneath has one (``manual_ack_set`` / ``ack``), reached through ``client._client`` in
:class:`_ManualAck` and nowhere else.

**Buffered reads.** paho reads every packet with two or three ``recv`` calls (type byte,
length, body) and aiomqtt's reader callback runs once per readable event, so each message
cost one event-loop turn and three system calls, each releasing the GIL and waiting to get it
back from the thread that writes the previous batch. :class:`_ManualAck` therefore also puts a
:class:`_BufferedSocket` between paho and the socket: it reads up to 64 KiB at once and reports
what it holds through ``pending()``, which aiomqtt's reader callback already drains (it does so
for TLS sockets), so one readable event takes every message that has arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import aiomqtt

from cetate.ingest.mqtt.topics import ATTRS_FILTER, TopicError, parse_topic

logger = logging.getLogger(__name__)

DEFAULT_CLIENT_ID: Final = "cetate-ingest"


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One measurement message as it came from the broker."""

    tenant: str
    device: str
    payload: bytes
    topic: str
    mid: int
    """MQTT packet id: unique only among the messages in flight on this connection."""
    received_at: datetime
    """When the subscriber received it (UTC)."""


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    """A message on a topic that does not follow the scheme (possible on an external broker
    whose ACL is looser than ours)."""

    topic: str
    payload: bytes
    received_at: datetime
    reason: str


MessageHandler = Callable[[ReceivedMessage], Awaitable[object]]
"""A coroutine function, or a function that returns a future (no task per message then)."""
RejectHandler = Callable[[RejectedMessage], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class BrokerConnection:
    """Where and as whom the subscriber connects."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    client_id: str = DEFAULT_CLIENT_ID

    @classmethod
    def from_url(cls, url: str, *, client_id: str = DEFAULT_CLIENT_ID) -> BrokerConnection:
        """``mqtt://user:password@host:1883`` or ``mqtts://user:password@host:8883``."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(
                f"invalid MQTT broker URL {_redact(url)!r}: expected "
                "mqtt://user:password@host:1883 or mqtts://user:password@host:8883"
            )
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ValueError(f"invalid port in MQTT broker URL {_redact(url)!r}") from None
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            tls=tls,
            client_id=client_id,
        )


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


READ_BUFFER_BYTES: Final = 65536
"""Bytes the subscriber asks the socket for at once (many messages per system call)."""


class _BufferedSocket:
    """paho's socket, read in large chunks and written in large chunks.

    ``recv(n)`` is served from a buffer; ``pending()`` says how many bytes the buffer (and a
    TLS layer) still holds. While :attr:`corked` (paho writing its queued packets: a PUBACK
    each), ``send`` only collects the bytes and :meth:`flush` writes them in one system call;
    bytes a full socket did not take stay first in line. Closing flushes first. Everything
    else goes to the socket itself."""

    def __init__(self, sock: Any, size: int = READ_BUFFER_BYTES) -> None:
        self._sock = sock
        self._size = size
        self._buffer = bytearray()
        self._out = bytearray()
        self.corked = False

    def send(self, data: bytes | bytearray | memoryview) -> int:
        if not self.corked and not self._out:
            sent: int = self._sock.send(data)
            return sent
        self._out += data
        return len(data)

    def flush(self) -> bool:
        """Write the collected bytes; whether all were taken (else call again when the
        socket is writable). A broken connection raises."""
        while self._out:
            try:
                sent = self._sock.send(self._out)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return False
            if sent <= 0:
                return False
            del self._out[:sent]
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.flush()
        self._out.clear()  # not taken before the close: the broker redelivers those messages
        self._sock.close()

    def recv(self, bufsize: int) -> bytes:
        if not self._buffer:
            data: bytes = self._sock.recv(max(bufsize, self._size))
            if len(data) <= bufsize:
                return data
            self._buffer += memoryview(data)[bufsize:]
            return data[:bufsize]
        chunk = bytes(self._buffer[:bufsize])
        del self._buffer[:bufsize]
        return chunk

    def pending(self) -> int:
        inner = getattr(self._sock, "pending", None)
        return len(self._buffer) + (inner() if callable(inner) else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _ManualAck:
    """The one place that reaches into aiomqtt and paho: manual acknowledgement; the buffered
    socket (installed when paho opens the connection, before aiomqtt sees it) with paho's
    writes corked and flushed once per ``loop_write``; and aiomqtt's message queue, taken
    without a task per message."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client
        self._paho = paho = client._client
        paho.manual_ack_set(True)
        opened = paho.on_socket_open
        write = paho.loop_write

        def on_socket_open(client: Any, userdata: Any, sock: Any) -> None:
            client._sock = _BufferedSocket(sock)
            if opened is not None:
                opened(client, userdata, sock)

        def loop_write() -> Any:
            sock = paho._sock
            if not isinstance(sock, _BufferedSocket):
                return write()
            sock.corked = True
            try:
                result = write()
            finally:
                sock.corked = False
            if not sock.flush():
                paho._call_socket_register_write()  # the rest when the socket is writable
            return result

        paho.on_socket_open = on_socket_open
        paho.loop_write = loop_write  # type: ignore[method-assign]

    def queued(self) -> aiomqtt.Message | None:
        """A message aiomqtt has already received, or None (then wait on its iterator,
        which also notices a lost connection)."""
        try:
            return self._client._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def ack(self, message: aiomqtt.Message) -> None:
        if message.qos > 0:
            self._paho.ack(message.mid, message.qos)


class _HandlerFailed(Exception):
    """The handler raised; its exception is the cause."""


_YIELD_EVERY: Final = 100
"""Messages taken from aiomqtt's queue in a row before the receiver lets other tasks run."""


class _InFlight:
    """Messages taken from the broker with their handler futures, in arrival order (``None``
    ends the acknowledger), and the room for more: a handler starts only when fewer than
    ``limit`` messages are started and not yet acknowledged."""

    def __init__(self, limit: int) -> None:
        self.queue: asyncio.Queue[tuple[aiomqtt.Message, asyncio.Future[object]] | None] = (
            asyncio.Queue()
        )
        self.room = asyncio.Semaphore(limit)


class AttrsSubscriber:
    """Receives ``cetate/+/+/attrs`` (or ``topic_filter``: the command results use
    ``cetate/+/+/cmdexe``) at QoS 1 and hands each message to ``handler``.

    ``max_in_flight`` handler calls may run at once (started in arrival order, acknowledged in
    arrival order), so a handler that batches writes can collect a batch; 1 means strictly one
    after the other. Run it with ``await run()`` (until cancelled) or ``start()`` /
    ``await stop()``. :attr:`subscribed` is set while a subscription is active.
    """

    def __init__(
        self,
        connection: BrokerConnection,
        handler: MessageHandler,
        *,
        on_rejected: RejectHandler | None = None,
        topic_filter: str = ATTRS_FILTER,
        max_in_flight: int = 1,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        timeout: float = 10.0,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.connection = connection
        self._handler = handler
        self._on_rejected = on_rejected or _log_rejected
        self._topic_filter = topic_filter
        self._max_in_flight = max_in_flight
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._timeout = timeout
        self._stopping = asyncio.Event()
        self._drain_timeout = 5.0
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        self.connections = 0
        """Successful connections so far (tests watch reconnects with it)."""
        self.acknowledged = 0
        """Messages acknowledged so far."""

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Run in a background task."""
        if self._task is not None:
            raise RuntimeError("subscriber already started")
        self._stopping.clear()
        self._task = asyncio.create_task(self.run(), name="cetate-mqtt-subscriber")

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Stop receiving, let the handlers already running finish and acknowledge them (up
        to ``drain_timeout`` seconds), then disconnect. Unacknowledged messages stay with the
        broker for the next start."""
        self._drain_timeout = drain_timeout
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(task, drain_timeout + self._timeout)
        except TimeoutError:
            logger.warning("MQTT subscriber did not stop in time; cancelled")

    async def run(self) -> None:
        """Connect, receive, and reconnect with backoff after any failure, until
        :meth:`stop` (or cancellation)."""
        delay = self._backoff_initial
        while not self._stopping.is_set():
            connected_before = self.connections
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                logger.warning(
                    "MQTT connection to %s:%d lost or refused: %s",
                    self.connection.host,
                    self.connection.port,
                    exc,
                )
            except _HandlerFailed as exc:
                logger.error(
                    "MQTT message handler failed, reconnecting so the broker redelivers",
                    exc_info=exc.__cause__,
                )
            finally:
                self.subscribed.clear()
            if self._stopping.is_set():
                break
            if self.connections > connected_before:
                delay = self._backoff_initial  # it worked for a while: start over
            pause = delay * (0.5 + random.random() / 2)
            delay = min(delay * 2, self._backoff_max)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)

    # -- one connection -----------------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        c = self.connection
        return aiomqtt.Client(
            c.host,
            c.port,
            username=c.username,
            password=c.password,
            identifier=c.client_id,
            clean_session=False,
            timeout=self._timeout,
            tls_context=ssl.create_default_context() if c.tls else None,
        )

    async def _session(self) -> None:
        client = self._client()
        acker = _ManualAck(client)  # before connecting: queued messages arrive at once
        async with client:
            self.connections += 1
            # Receive and acknowledge before subscribing: with a persistent session the broker
            # sends what it kept for us first, and amqtt waits for those PUBACKs before it
            # answers the SUBSCRIBE.
            in_flight = _InFlight(self._max_in_flight)
            receiver = asyncio.create_task(self._receive(client, acker, in_flight))
            acknowledger = asyncio.create_task(self._acknowledge(acker, in_flight))
            stopping = asyncio.create_task(self._stopping.wait())
            subscribing = asyncio.create_task(self._subscribe(client))
            try:
                await asyncio.wait(
                    (receiver, acknowledger, stopping, subscribing),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if subscribing.done() and subscribing.exception() is None:
                    await asyncio.wait(
                        (receiver, acknowledger, stopping), return_when=asyncio.FIRST_COMPLETED
                    )
                if stopping.done() and not acknowledger.done():
                    # Drain: no new messages; finish and acknowledge those already taken.
                    receiver.cancel()
                    await asyncio.gather(receiver, return_exceptions=True)
                    in_flight.queue.put_nowait(None)
                    try:
                        await asyncio.wait_for(acknowledger, self._drain_timeout)
                    except TimeoutError:
                        logger.warning("MQTT handlers still busy at shutdown; left unacknowledged")
                for part in (subscribing, receiver, acknowledger):
                    if part.done() and not part.cancelled():
                        failure = part.exception()
                        if failure is not None:
                            raise failure
            finally:
                for waiter in (subscribing, receiver, acknowledger, stopping):
                    waiter.cancel()
                await asyncio.gather(
                    subscribing, receiver, acknowledger, stopping, return_exceptions=True
                )
                _cancel_queued(in_flight)

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        await client.subscribe(self._topic_filter, qos=1)
        self.subscribed.set()
        logger.info(
            "MQTT subscriber on %s:%d subscribed to %s",
            self.connection.host,
            self.connection.port,
            self._topic_filter,
        )

    async def _receive(
        self,
        client: aiomqtt.Client,
        acker: _ManualAck,
        in_flight: _InFlight,
    ) -> None:
        messages = aiter(client.messages)
        taken = 0
        while True:
            message = acker.queued()
            if message is None:
                try:
                    message = await anext(messages)
                except StopAsyncIteration:
                    break
            else:
                taken += 1
                if taken % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let the rest of the loop run
            await in_flight.room.acquire()
            received_at = datetime.now(UTC)
            topic = message.topic.value
            payload = _payload_bytes(message.payload)
            task: asyncio.Future[object]
            try:
                parsed = parse_topic(topic)
            except TopicError as exc:
                rejected = RejectedMessage(topic, payload, received_at, exc.detail)
                task = asyncio.ensure_future(self._on_rejected(rejected))
            else:
                received = ReceivedMessage(
                    tenant=parsed.tenant,
                    device=parsed.device,
                    payload=payload,
                    topic=topic,
                    mid=message.mid,
                    received_at=received_at,
                )
                task = asyncio.ensure_future(self._handler(received))
            in_flight.queue.put_nowait((message, task))
        raise aiomqtt.MqttError("message stream ended")

    async def _acknowledge(
        self,
        acker: _ManualAck,
        in_flight: _InFlight,
    ) -> None:
        while True:
            item = await in_flight.queue.get()
            if item is None:
                return
            message, task = item
            try:
                await task
            except Exception as exc:
                raise _HandlerFailed(str(exc)) from exc
            acker.ack(message)
            self.acknowledged += 1
            in_flight.room.release()


def _cancel_queued(
    in_flight: _InFlight,
) -> None:
    """Handler tasks started but not acknowledged: cancelled; the broker redelivers them."""
    while not in_flight.queue.empty():
        item = in_flight.queue.get_nowait()
        if item is not None:
            item[1].cancel()


def _payload_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    return b"" if payload is None else str(payload).encode()


async def _log_rejected(message: RejectedMessage) -> None:
    logger.warning(
        "MQTT message on %r rejected (%s); %d bytes dropped",
        message.topic,
        message.reason,
        len(message.payload),
    )
