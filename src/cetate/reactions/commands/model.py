"""A command and its lifecycle (interface fixed; the helper implementing commands fills in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

CommandStatus = Literal["pending", "delivered", "succeeded", "failed", "expired"]
COMMAND_STATUSES: Final[tuple[CommandStatus, ...]] = (
    "pending",
    "delivered",
    "succeeded",
    "failed",
    "expired",
)


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
