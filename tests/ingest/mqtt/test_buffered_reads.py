"""The subscriber reads the broker's stream in large chunks and writes its PUBACKs in large
chunks: packets split across chunks and messages larger than the buffer arrive intact, in
order, and are all acknowledged, through both brokers."""

from __future__ import annotations

import asyncio
import socket

import pytest

from cetate.ingest.mqtt.subscriber import ReceivedMessage, _BufferedSocket
from tests.ingest.mqtt.conftest import BrokerStarter, run
from tests.ingest.mqtt.test_ingest_over_brokers import WAIT_S, fast, running


def test_reads_are_served_from_one_large_recv() -> None:
    left, right = socket.socketpair()
    with left, right:
        right.setblocking(False)
        buffered = _BufferedSocket(right, size=8)
        left.sendall(b"abcdefghij")
        assert buffered.recv(1) == b"a"  # one recv of 8 bytes: 7 kept
        assert buffered.pending() == 7
        assert buffered.recv(3) == b"bcd"
        assert buffered.recv(10) == b"efgh"  # what the buffer holds, no new recv
        assert buffered.pending() == 0
        assert buffered.recv(10) == b"ij"
        with pytest.raises(BlockingIOError):
            buffered.recv(1)
        assert buffered.fileno() == right.fileno()  # the rest is the socket's
        left.close()
        assert buffered.recv(1) == b""  # closed by the other side


def test_corked_writes_go_out_in_one_piece_and_in_order() -> None:
    left, right = socket.socketpair()
    with left, right:
        right.setblocking(False)
        buffered = _BufferedSocket(right)
        assert buffered.send(b"direct") == 6  # not corked: straight to the socket
        buffered.corked = True
        for ack in (b"A1", b"A2", b"A3"):
            assert buffered.send(ack) == 2
        left.setblocking(False)
        assert left.recv(100) == b"direct"  # the corked bytes are not sent yet
        assert buffered.flush()
        assert left.recv(100) == b"A1A2A3"


def test_what_a_full_socket_did_not_take_stays_first_in_line() -> None:
    left, right = socket.socketpair()
    with left, right:
        right.setblocking(False)
        buffered = _BufferedSocket(right)
        buffered.corked = True
        chunk = bytes(range(256)) * 64
        total = 0
        for _ in range(200):  # far more than the socket buffers hold
            total += buffered.send(chunk)
        assert not buffered.flush()
        buffered.corked = False
        assert buffered.send(b"END") == 3  # queued behind the rest, not sent ahead
        received = bytearray()
        left.settimeout(5)
        while len(received) < total + 3:
            buffered.flush()
            received += left.recv(1 << 20)
        assert bytes(received) == chunk * 200 + b"END"
        buffered.corked = True
        buffered.send(b"last")
        buffered.close()  # flushes first
        assert left.recv(10) == b"last"


def test_many_messages_and_one_larger_than_the_buffer_arrive_intact(
    start_broker: BrokerStarter,
) -> None:
    payloads = [b"%05d" % i * 20 for i in range(300)]
    payloads.insert(150, bytes(range(256)) * 1024)  # 256 KiB: several reads

    async def scenario() -> None:
        async with start_broker() as broker:
            got: list[bytes] = []
            done = asyncio.Event()

            async def handler(message: ReceivedMessage) -> None:
                got.append(message.payload)
                if len(got) == len(payloads):
                    done.set()

            connection = broker.service(client_id="cetate-ingest-buffer-test")
            async with running(fast(connection, handler, max_in_flight=100)):  # type: ignore[arg-type]
                pass  # the persistent session: the burst queues while away
            async with broker.client("cluj/bin-1") as device:
                for payload in payloads:
                    await device.publish("cetate/cluj/bin-1/attrs", payload, qos=1)
            subscriber = fast(connection, handler, max_in_flight=100)  # type: ignore[arg-type]
            async with running(subscriber):
                await asyncio.wait_for(done.wait(), WAIT_S)
                async with asyncio.timeout(WAIT_S):
                    while subscriber.acknowledged < len(payloads):
                        await asyncio.sleep(0.01)
            assert got == payloads

    run(scenario())


@pytest.mark.parametrize("limit", [1, 7])
def test_a_burst_never_runs_more_handlers_than_max_in_flight(
    start_broker: BrokerStarter, limit: int
) -> None:
    async def scenario() -> None:
        async with start_broker() as broker:
            running_now = 0
            most = 0
            got: list[bytes] = []

            async def handler(message: ReceivedMessage) -> None:
                nonlocal running_now, most
                running_now += 1
                most = max(most, running_now)
                await asyncio.sleep(0.001)
                got.append(message.payload)
                running_now -= 1

            connection = broker.service(client_id=f"cetate-ingest-limit-{limit}")
            async with running(fast(connection, handler, max_in_flight=limit)):  # type: ignore[arg-type]
                pass
            async with broker.client("cluj/bin-1") as device:
                for i in range(40):
                    await device.publish("cetate/cluj/bin-1/attrs", b"%d" % i, qos=1)
            subscriber = fast(connection, handler, max_in_flight=limit)  # type: ignore[arg-type]
            async with running(subscriber):
                async with asyncio.timeout(WAIT_S):
                    while subscriber.acknowledged < 40:
                        await asyncio.sleep(0.01)
            sent = [b"%d" % i for i in range(40)]
            assert sorted(got, key=int) == sent
            if limit == 1:
                assert got == sent  # strictly one after the other
            assert most <= limit

    run(scenario())
