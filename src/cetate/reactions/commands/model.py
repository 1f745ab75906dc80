"""A command and its lifecycle: the statuses, which changes between them are legal, the
stored document (store record kind ``device-command``) and the camelCase JSON of the API.

::

    pending ──► delivered ──► succeeded | failed
       │            │
       │            └──► expired
       ├──► succeeded | failed      (a result may arrive before the delivery is recorded)
       └──► expired

``succeeded``, ``failed`` and ``expired`` are final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from cetate.ngsi.timestamps import format_datetime, parse_datetime

CommandStatus = Literal["pending", "delivered", "succeeded", "failed", "expired"]
COMMAND_STATUSES: Final[tuple[CommandStatus, ...]] = (
    "pending",
    "delivered",
    "succeeded",
    "failed",
    "expired",
)
COMMAND_KIND: Final = "device-command"
"""The store record kind of commands (key = the command id)."""

FINAL_STATUSES: Final[frozenset[CommandStatus]] = frozenset({"succeeded", "failed", "expired"})
OPEN_STATUSES: Final[frozenset[CommandStatus]] = frozenset({"pending", "delivered"})

TRANSITIONS: Final[dict[CommandStatus, frozenset[CommandStatus]]] = {
    "pending": frozenset({"delivered", "succeeded", "failed", "expired"}),
    "delivered": frozenset({"succeeded", "failed", "expired"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "expired": frozenset(),
}


def may_change(current: CommandStatus, new: CommandStatus) -> bool:
    """Whether ``current`` → ``new`` is a legal transition."""
    return new in TRANSITIONS[current]


@dataclass(frozen=True, slots=True)
class Command:
    """One command sent to one device."""

    id: str
    tenant: str
    device: str
    name: str
    """what to do, e.g. ``dim``"""
    value: Any
    """its argument (any JSON), e.g. ``40``"""
    status: CommandStatus
    created_at: datetime
    expires_at: datetime
    updated_at: datetime
    source: str = "api"
    """who sent it: ``api``, ``console:<user>``, ``rule:<rule id>``"""
    delivered_at: datetime | None = None
    completed_at: datetime | None = None
    result: Any = None
    """what the device answered (any JSON), for succeeded and failed"""
    error: str | None = None
    version: int = 1
    """the store record's version (optimistic concurrency)"""
    delivery: Literal["mqtt", "http"] = "mqtt"
    """how it reaches the device: published on its ``cmd`` topic (``mqtt``, for devices with
    MQTT credentials) or only fetched by the device over HTTP (``http``)"""

    def is_open(self) -> bool:
        """pending or delivered: a device may still act on it."""
        return self.status in OPEN_STATUSES

    def is_overdue(self, now: datetime) -> bool:
        """Open and past its expiry."""
        return self.is_open() and now >= self.expires_at


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_datetime(value)


def _parse_time(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) and value else None


def command_data(command: Command) -> dict[str, Any]:
    """The stored document of a command (the record's ``data``)."""
    return {
        "device": command.device,
        "name": command.name,
        "value": command.value,
        "status": command.status,
        "createdAt": _time(command.created_at),
        "expiresAt": _time(command.expires_at),
        "updatedAt": _time(command.updated_at),
        "source": command.source,
        "deliveredAt": _time(command.delivered_at),
        "completedAt": _time(command.completed_at),
        "result": command.result,
        "error": command.error,
        "delivery": command.delivery,
    }


def command_from_record(tenant: str, key: str, data: dict[str, Any], version: int) -> Command:
    """A command from its stored document."""
    status = data.get("status")
    delivery = data.get("delivery")
    created = _parse_time(data.get("createdAt"))
    expires = _parse_time(data.get("expiresAt"))
    updated = _parse_time(data.get("updatedAt"))
    if status not in COMMAND_STATUSES or created is None or expires is None:
        raise ValueError(f"command record {tenant}/{key} is damaged: {data!r}")
    error = data.get("error")
    return Command(
        id=key,
        tenant=tenant,
        device=str(data.get("device", "")),
        name=str(data.get("name", "")),
        value=data.get("value"),
        status=status,
        created_at=created,
        expires_at=expires,
        updated_at=updated or created,
        source=str(data.get("source", "api")),
        delivered_at=_parse_time(data.get("deliveredAt")),
        completed_at=_parse_time(data.get("completedAt")),
        result=data.get("result"),
        error=str(error) if error is not None else None,
        version=version,
        delivery="http" if delivery == "http" else "mqtt",
    )


def command_json(command: Command) -> dict[str, Any]:
    """The API representation (camelCase)."""
    return {
        "id": command.id,
        "tenant": command.tenant,
        "device": command.device,
        "name": command.name,
        "value": command.value,
        "status": command.status,
        "source": command.source,
        "delivery": command.delivery,
        "createdAt": _time(command.created_at),
        "expiresAt": _time(command.expires_at),
        "updatedAt": _time(command.updated_at),
        "deliveredAt": _time(command.delivered_at),
        "completedAt": _time(command.completed_at),
        "result": command.result,
        "error": command.error,
    }


def device_message(command: Command) -> dict[str, Any]:
    """What the device receives (on its ``cmd`` topic or from the HTTP poll)."""
    return {
        "id": command.id,
        "name": command.name,
        "value": command.value,
        "expiresAt": _time(command.expires_at),
    }
