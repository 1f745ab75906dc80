"""The dispatcher's decisions that need no device: an expired command is not sent, a broker
that cannot be reached means a retry later (the command stays pending)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from cetate.ingest.mqtt.subscriber import BrokerConnection
from cetate.reactions.commands.dispatcher import CommandDispatcher
from cetate.reactions.commands.service import DELIVERY_QUEUE
from tests.ingest.mqtt.conftest import free_port
from tests.reactions.commands.conftest import CommandWorld


def dispatcher(commands: CommandWorld, port: int) -> CommandDispatcher:
    return CommandDispatcher(
        commands.service,
        BrokerConnection("127.0.0.1", port, username="svc", password="x"),
        clock=commands.clock,
        publish_timeout=2.0,
    )


def test_expired_command_is_not_sent(commands: CommandWorld) -> None:
    service, store = commands.service, commands.world.store
    command = service.send("cluj", "lamp-1", "dim", 1, expires_in=timedelta(seconds=1))
    commands.clock.advance(timedelta(seconds=2))
    worker = dispatcher(commands, free_port())  # nothing listens: sending would fail
    assert asyncio.run(worker.run_once()) == 1
    assert (worker.stats.expired, worker.stats.failures) == (1, 0)
    assert service.get("cluj", command.id).status == "expired"  # type: ignore[union-attr]
    assert store.queue_length(DELIVERY_QUEUE) == 0


def test_broker_error_retries_with_backoff(commands: CommandWorld) -> None:
    service, store = commands.service, commands.world.store
    command = service.send("cluj", "lamp-1", "dim", 1)
    worker = dispatcher(commands, free_port())
    assert asyncio.run(worker.run_once()) == 1
    assert worker.stats.failures == 1
    assert service.get("cluj", command.id).status == "pending"  # type: ignore[union-attr]
    assert store.queue_length(DELIVERY_QUEUE) == 1
    # not due again before the backoff has passed, due after it
    now = commands.clock()
    assert store.claim(DELIVERY_QUEUE, worker="t", limit=5, lease=timedelta(1), now=now) == []
    later = store.claim(
        DELIVERY_QUEUE, worker="t", limit=5, lease=timedelta(1), now=now + timedelta(seconds=2)
    )
    assert [item.payload["id"] for item in later] == [command.id]
    assert later[0].attempts == 2
    assert later[0].last_error


def test_other_statuses_are_skipped(commands: CommandWorld) -> None:
    service, store = commands.service, commands.world.store
    command = service.send("cluj", "lamp-1", "dim", 1)
    service.mark_delivered("cluj", command.id)
    worker = dispatcher(commands, free_port())
    assert asyncio.run(worker.run_once()) == 1
    assert worker.stats.skipped == 1
    assert store.queue_length(DELIVERY_QUEUE) == 0
