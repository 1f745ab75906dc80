"""Sending commands and recording what became of them.

A command is a store record (kind ``device-command``, key = its id, which sorts by creation
time). :meth:`CommandService.send` writes it ``pending`` and queues it in two durable store
queues, so a restart loses nothing: ``device-commands`` (published to the device's MQTT
``cmd`` topic by :class:`~cetate.reactions.commands.dispatcher.CommandDispatcher`; only for
devices with MQTT credentials) and ``device-command-expiry`` (due at the expiry; the scheduler
job ``commands.expire`` claims what is due and marks still-open commands ``expired``).

Every status change is a replace with ``expected_version`` (retried a few times on a
conflict) and only along the transitions of :mod:`.model`.
"""

from __future__ import annotations

import builtins
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final

from cetate.errors import RecordConflict, ResourceNotFound
from cetate.ingest.devices.service import DEVICE_KIND
from cetate.ingest.devices.store_registry import StoreDeviceRegistry
from cetate.ingest.mqtt.topics import check_device, check_tenant
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.commands.model import (
    COMMAND_KIND,
    Command,
    CommandStatus,
    command_data,
    command_from_record,
    may_change,
)
from cetate.reactions.commands.results import CommandResult, ResultReason, ResultRejected
from cetate.reactions.commands.validation import (
    check_expiry,
    check_name,
    check_value,
    new_command_id,
)
from cetate.store.base import ContextStore, Record

logger = logging.getLogger(__name__)

DEFAULT_EXPIRY: Final = timedelta(minutes=5)
DELIVERY_QUEUE: Final = "device-commands"
"""Store queue of commands to publish over MQTT (payload ``{"id": …}``)."""
EXPIRY_QUEUE: Final = "device-command-expiry"
"""Store queue with one item per command, due at its expiry (payload ``{"id": …}``)."""
_PAGE: Final = 1000
_CONFLICT_RETRIES: Final = 5


class CommandService:
    """Synchronous; safe to call from any thread."""

    def __init__(self, store: ContextStore, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.clock = clock
        self.on_queued: Callable[[], None] | None = None
        """Called (from any thread) after a command was queued for MQTT delivery: the
        dispatcher's ``wake``."""
        self._registry = StoreDeviceRegistry(store)
        self._worker = f"commands-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    # -- the fixed interface ------------------------------------------------------------------
    def send(
        self,
        tenant: str,
        device: str,
        name: str,
        value: Any = None,
        *,
        expires_in: timedelta = DEFAULT_EXPIRY,
        source: str = "api",
    ) -> Command:
        """Record a ``pending`` command and queue it for delivery. ResourceNotFound for an
        unknown device, BadRequestData for a bad name, value or expiry."""
        check_tenant(tenant)
        check_device(device)
        check_name(name)
        plain_value = check_value(value)
        check_expiry(expires_in)
        if self.store.get_record(tenant, DEVICE_KIND, device) is None:
            raise ResourceNotFound(f"tenant {tenant!r} has no device {device!r}")
        credentials = self._registry.get_credentials(tenant, device)
        over_mqtt = credentials is not None and credentials.transport in ("mqtt", "both")
        now = self.clock()
        command = Command(
            id=new_command_id(),
            tenant=tenant,
            device=device,
            name=name,
            value=plain_value,
            status="pending",
            created_at=now,
            expires_at=now + expires_in,
            updated_at=now,
            source=source,
            delivery="mqtt" if over_mqtt else "http",
        )
        # The expiry item first: should the process die before the record is written, the
        # item names no command and is dropped; after it, the command expires in any case.
        self.store.enqueue(tenant, EXPIRY_QUEUE, [{"id": command.id}], due_at=command.expires_at)
        self.store.put_record(
            tenant, COMMAND_KIND, command.id, command_data(command), expected_version=None
        )
        if over_mqtt:
            self.store.enqueue(tenant, DELIVERY_QUEUE, [{"id": command.id}])
            if self.on_queued is not None:
                self.on_queued()
        stored = self.get(tenant, command.id)
        return stored if stored is not None else command

    def get(self, tenant: str, command_id: str) -> Command | None:
        record = self.store.get_record(tenant, COMMAND_KIND, command_id)
        return None if record is None else _from_record(record)

    def list(self, tenant: str, *, device: str | None = None, limit: int = 100) -> list[Command]:
        """Newest first."""
        found = [c for c in self._all(tenant) if device is None or c.device == device]
        found.sort(key=lambda c: c.id, reverse=True)
        return found[:limit]

    # -- status changes -----------------------------------------------------------------------
    def mark_delivered(self, tenant: str, command_id: str) -> Command | None:
        """``pending`` → ``delivered``; None when it is no longer pending (or gone)."""
        return self._change(
            tenant, command_id, lambda c, now: _delivered(c, now) if c.status == "pending" else None
        )

    def expire(self, tenant: str, command_id: str) -> Command | None:
        """An open command past its expiry → ``expired``; None when it is not."""
        return self._change(
            tenant, command_id, lambda c, now: _expired(c, now) if c.is_overdue(now) else None
        )

    def record_result(self, tenant: str, device: str, answer: CommandResult) -> Command:
        """Store what ``device`` answered. A repeated identical answer changes nothing.
        ResultRejected (``unknown_command``, ``not_your_command``, ``command_expired``,
        ``already_completed``) when it cannot be recorded."""
        for _ in range(_CONFLICT_RETRIES):
            record = self.store.get_record(tenant, COMMAND_KIND, answer.id)
            if record is None:
                raise ResultRejected(
                    "unknown_command", f"there is no command {answer.id!r}", commandId=answer.id
                )
            current = _from_record(record)
            if current.device != device:
                raise ResultRejected(
                    "not_your_command",
                    f"command {answer.id!r} was not sent to device {device!r}",
                    commandId=answer.id,
                )
            if _same_answer(current, answer):
                return current
            now = self.clock()
            if current.is_overdue(now):
                self._write(_expired(current, now))
                raise ResultRejected(
                    "command_expired",
                    f"command {answer.id!r} expired at {current.expires_at.isoformat()}",
                    commandId=answer.id,
                )
            if not may_change(current.status, answer.status):
                reason: ResultReason = (
                    "command_expired" if current.status == "expired" else "already_completed"
                )
                raise ResultRejected(
                    reason,
                    f"command {answer.id!r} is already {current.status}",
                    commandId=answer.id,
                )
            changed = replace(
                current,
                status=answer.status,
                result=answer.result,
                error=answer.error,
                completed_at=now,
                updated_at=now,
            )
            try:
                return self._write(changed)
            except RecordConflict:
                continue
        raise RecordConflict(f"command {answer.id!r} kept changing; try again")

    def poll(self, tenant: str, device: str) -> builtins.list[Command]:
        """The device's pending, unexpired commands (oldest first), marked ``delivered``: what
        an HTTP device fetches."""
        now = self.clock()
        handed: builtins.list[Command] = []
        candidates = sorted(
            (
                c
                for c in self._all(tenant)
                if c.device == device and c.status == "pending" and not c.is_overdue(now)
            ),
            key=lambda c: c.id,
        )
        for command in candidates:
            delivered = self.mark_delivered(tenant, command.id)
            if delivered is not None:
                handed.append(delivered)
        return handed

    def expire_due(self, *, batch: int = 200) -> int:
        """Claim the due items of the expiry queue and mark their still-open commands
        ``expired`` (what the ``commands.expire`` job runs); the number marked."""
        expired = 0
        while True:
            items = self.store.claim(
                EXPIRY_QUEUE,
                worker=self._worker,
                limit=batch,
                lease=timedelta(minutes=1),
                now=self.clock(),
            )
            for item in items:
                command_id = item.payload.get("id")
                if isinstance(command_id, str) and self.expire(item.tenant, command_id):
                    expired += 1
            if items:
                self.store.complete([item.id for item in items])
            if len(items) < batch:
                return expired

    # -- internals ----------------------------------------------------------------------------
    def _all(self, tenant: str) -> Iterator[Command]:
        offset = 0
        while True:
            page = self.store.list_records(tenant, COMMAND_KIND, limit=_PAGE, offset=offset)
            for record in page:
                try:
                    yield _from_record(record)
                except ValueError:
                    logger.exception("skipping damaged command record %s", record.key)
            if len(page) < _PAGE:
                return
            offset += _PAGE

    def _change(
        self,
        tenant: str,
        command_id: str,
        compute: Callable[[Command, datetime], Command | None],
    ) -> Command | None:
        for _ in range(_CONFLICT_RETRIES):
            record = self.store.get_record(tenant, COMMAND_KIND, command_id)
            if record is None:
                return None
            changed = compute(_from_record(record), self.clock())
            if changed is None:
                return None
            try:
                return self._write(changed)
            except RecordConflict:
                continue
        raise RecordConflict(f"command {command_id!r} kept changing; try again")

    def _write(self, command: Command) -> Command:
        """Replace the record if the change is legal and nobody changed it since it was read
        (``expected_version``); RecordConflict otherwise."""
        record = self.store.get_record(command.tenant, COMMAND_KIND, command.id)
        if record is None:
            raise ResourceNotFound(f"there is no command {command.id!r}")
        stored_status = _from_record(record).status
        if record.version != command.version:
            raise RecordConflict(f"command {command.id!r} changed meanwhile")
        if stored_status != command.status and not may_change(stored_status, command.status):
            raise ValueError(f"illegal command transition {stored_status} → {command.status}")
        written = self.store.put_record(
            command.tenant,
            COMMAND_KIND,
            command.id,
            command_data(command),
            expected_version=command.version,
        )
        return _from_record(written)


def _from_record(record: Record) -> Command:
    return command_from_record(record.tenant, record.key, record.data, record.version)


def _delivered(command: Command, now: datetime) -> Command:
    return replace(command, status="delivered", delivered_at=now, updated_at=now)


def _expired(command: Command, now: datetime) -> Command:
    return replace(command, status="expired", completed_at=now, updated_at=now)


def _same_answer(command: Command, answer: CommandResult) -> bool:
    status: CommandStatus = answer.status
    return (
        command.status == status
        and command.result == answer.result
        and command.error == answer.error
    )
