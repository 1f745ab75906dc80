"""CommandService on a real store (both backends): validation, storage, listing, the status
transitions with optimistic concurrency, results and expiry."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest

from cetate.errors import BadRequestData, RecordConflict, ResourceNotFound
from cetate.reactions.commands.dispatcher import backoff
from cetate.reactions.commands.model import may_change
from cetate.reactions.commands.results import (
    CommandResult,
    ResultRejected,
    parse_json,
    parse_result,
)
from cetate.reactions.commands.service import DELIVERY_QUEUE, EXPIRY_QUEUE
from tests.reactions.commands.conftest import CommandWorld


def test_send_stores_pending_and_queues(commands: CommandWorld) -> None:
    service, store = commands.service, commands.world.store
    command = service.send("cluj", "lamp-1", "dim", {"level": 40}, source="rule:r1")
    assert command.status == "pending"
    assert command.delivery == "mqtt"
    assert command.source == "rule:r1"
    assert command.expires_at - command.created_at == timedelta(minutes=5)
    assert service.get("cluj", command.id) == command
    assert service.get("iasi", command.id) is None
    assert store.queue_length(DELIVERY_QUEUE, "cluj") == 1
    assert store.queue_length(EXPIRY_QUEUE, "cluj") == 1
    http_only = service.send("cluj", "meter-1", "reset")
    assert http_only.delivery == "http"
    assert store.queue_length(DELIVERY_QUEUE, "cluj") == 1


BAD_SENDS: list[tuple[str, str, object, timedelta, type[Exception], str]] = [
    ("ghost", "dim", 1, timedelta(minutes=1), ResourceNotFound, "no device 'ghost'"),
    ("lamp-1", "", 1, timedelta(minutes=1), BadRequestData, "invalid command name"),
    ("lamp-1", "dim it", 1, timedelta(minutes=1), BadRequestData, "invalid command name"),
    ("lamp-1", "x" * 65, 1, timedelta(minutes=1), BadRequestData, "1-64"),
    ("lamp-1", "dim", math.nan, timedelta(minutes=1), BadRequestData, "not JSON"),
    ("lamp-1", "dim", {1, 2}, timedelta(minutes=1), BadRequestData, "not JSON"),
    ("lamp-1", "dim", "x" * 16400, timedelta(minutes=1), BadRequestData, "16384"),
    ("lamp-1", "dim", 1, timedelta(milliseconds=999), BadRequestData, "out of range"),
    ("lamp-1", "dim", 1, timedelta(days=7, seconds=1), BadRequestData, "out of range"),
]


def test_send_refuses_bad_input(commands: CommandWorld) -> None:
    for device, name, value, expires_in, error, words in BAD_SENDS:
        with pytest.raises(error, match=words):
            commands.service.send("cluj", device, name, value, expires_in=expires_in)
    assert commands.service.list("cluj") == []


def test_limits_are_inclusive(commands: CommandWorld) -> None:
    service = commands.service
    service.send("cluj", "lamp-1", "a" * 64, "x" * (16 * 1024 - 2), expires_in=timedelta(days=7))
    service.send("cluj", "lamp-1", "A_b.c-9", None, expires_in=timedelta(seconds=1))
    assert len(service.list("cluj")) == 2


def test_list_newest_first_per_device_and_tenant(commands: CommandWorld) -> None:
    service = commands.service
    sent = [service.send("cluj", "lamp-1", f"step{i}", i) for i in range(5)]
    other = service.send("cluj", "lamp-2", "dim", 1)
    service.send("iasi", "lamp-1", "dim", 1)
    assert [c.id for c in service.list("cluj", device="lamp-1")] == [c.id for c in sent][::-1]
    assert [c.id for c in service.list("cluj", device="lamp-1", limit=2)] == [
        sent[4].id,
        sent[3].id,
    ]
    assert service.list("cluj", device="lamp-2") == [other]
    assert len(service.list("cluj")) == 6
    assert len(service.list("iasi")) == 1


def test_transitions() -> None:
    assert may_change("pending", "delivered")
    assert may_change("pending", "succeeded")
    assert may_change("pending", "expired")
    assert may_change("delivered", "failed")
    assert may_change("delivered", "expired")
    assert not may_change("delivered", "pending")
    assert not may_change("succeeded", "failed")
    assert not may_change("expired", "delivered")
    assert not may_change("failed", "expired")


def test_delivered_then_succeeded_and_idempotent(commands: CommandWorld) -> None:
    service = commands.service
    command = service.send("cluj", "lamp-1", "dim", 40)
    delivered = service.mark_delivered("cluj", command.id)
    assert delivered is not None
    assert delivered.status == "delivered"
    assert delivered.delivered_at is not None
    assert service.mark_delivered("cluj", command.id) is None  # only from pending
    answer = CommandResult(command.id, "succeeded", {"level": 40})
    done = service.record_result("cluj", "lamp-1", answer)
    assert (done.status, done.result, done.error) == ("succeeded", {"level": 40}, None)
    assert done.completed_at is not None
    again = service.record_result("cluj", "lamp-1", answer)
    assert again.version == done.version  # nothing written
    with pytest.raises(ResultRejected) as caught:
        service.record_result("cluj", "lamp-1", CommandResult(command.id, "failed", None, "x"))
    assert caught.value.reason == "already_completed"
    assert service.get("cluj", command.id) == done


def test_result_before_delivery_and_failure(commands: CommandWorld) -> None:
    service = commands.service
    command = service.send("cluj", "lamp-1", "reboot")
    failed = service.record_result(
        "cluj", "lamp-1", CommandResult(command.id, "failed", None, "relay stuck")
    )
    assert (failed.status, failed.error) == ("failed", "relay stuck")
    assert service.mark_delivered("cluj", command.id) is None
    assert service.get("cluj", command.id) == failed


def test_results_refused(commands: CommandWorld) -> None:
    service = commands.service
    command = service.send("cluj", "lamp-1", "dim", 1)
    cases = [
        ("cluj", "lamp-1", "nope", "unknown_command"),
        ("cluj", "lamp-2", command.id, "not_your_command"),
        ("iasi", "lamp-1", command.id, "unknown_command"),
    ]
    for tenant, device, command_id, reason in cases:
        with pytest.raises(ResultRejected) as caught:
            service.record_result(tenant, device, CommandResult(command_id, "succeeded"))
        assert caught.value.reason == reason
    assert service.get("cluj", command.id) == command


def test_optimistic_concurrency(commands: CommandWorld) -> None:
    service = commands.service
    command = service.send("cluj", "lamp-1", "dim", 1)
    assert service.mark_delivered("cluj", command.id) is not None
    stale = replace(command, status="expired")  # version of before the delivery
    with pytest.raises(RecordConflict):
        service._write(stale)
    current = service.get("cluj", command.id)
    assert current is not None
    with pytest.raises(ValueError, match="illegal"):
        service._write(replace(current, status="pending"))


def test_expiry(commands: CommandWorld) -> None:
    service, clock = commands.service, commands.clock
    short = service.send("cluj", "lamp-1", "dim", 1, expires_in=timedelta(seconds=2))
    delivered = service.send("cluj", "lamp-2", "dim", 2, expires_in=timedelta(seconds=2))
    answered = service.send("cluj", "lamp-1", "dim", 3, expires_in=timedelta(seconds=2))
    long = service.send("cluj", "lamp-1", "dim", 4, expires_in=timedelta(minutes=5))
    service.mark_delivered("cluj", delivered.id)
    service.record_result("cluj", "lamp-1", CommandResult(answered.id, "succeeded"))
    assert service.expire_due() == 0
    clock.advance(timedelta(seconds=3))
    assert service.expire_due() == 2
    assert [service.get("cluj", c.id).status for c in (short, delivered, answered, long)] == [  # type: ignore[union-attr]
        "expired",
        "expired",
        "succeeded",
        "pending",
    ]
    assert service.expire_due() == 0
    with pytest.raises(ResultRejected) as caught:
        service.record_result("cluj", "lamp-1", CommandResult(short.id, "succeeded"))
    assert caught.value.reason == "command_expired"
    # a late result of an open command past its expiry: expired, refused
    late = service.send("cluj", "lamp-1", "dim", 5, expires_in=timedelta(seconds=1))
    clock.advance(timedelta(seconds=2))
    with pytest.raises(ResultRejected) as caught:
        service.record_result("cluj", "lamp-1", CommandResult(late.id, "succeeded"))
    assert caught.value.reason == "command_expired"
    assert service.get("cluj", late.id).status == "expired"  # type: ignore[union-attr]


def test_poll_hands_out_pending_once(commands: CommandWorld) -> None:
    service, clock = commands.service, commands.clock
    first = service.send("cluj", "meter-1", "reset")
    second = service.send("cluj", "meter-1", "read", {"register": 3})
    service.send("cluj", "lamp-1", "dim", 1)
    stale = service.send("cluj", "meter-1", "old", expires_in=timedelta(seconds=1))
    clock.advance(timedelta(seconds=1))
    handed = service.poll("cluj", "meter-1")
    assert [c.id for c in handed] == [first.id, second.id]
    assert {c.status for c in handed} == {"delivered"}
    assert service.poll("cluj", "meter-1") == []
    assert service.get("cluj", stale.id).status == "pending"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{nope", "malformed_json"),
        (b"[1]", "invalid_result"),
        (b'{"status": "OK"}', "invalid_result"),
        (b'{"id": "x", "status": "maybe"}', "invalid_result"),
        (b'{"id": "x", "status": "ERROR", "error": 5}', "invalid_result"),
    ],
)
def test_parse_refuses(payload: bytes, reason: str) -> None:
    with pytest.raises(ResultRejected) as caught:
        parse_result(parse_json(payload))
    assert caught.value.reason == reason


def test_parse_accepts_ok_error() -> None:
    assert parse_result({"id": "a", "status": "OK"}).status == "succeeded"
    assert parse_result({"id": "a", "status": "error", "error": "e"}) == CommandResult(
        "a", "failed", None, "e"
    )
    assert parse_result({"id": "a", "status": "succeeded", "result": [1]}).result == [1]


def test_backoff() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 8)] == [1, 2, 4, 60]
