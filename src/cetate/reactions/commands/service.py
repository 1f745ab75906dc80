"""Sending commands and recording what became of them (interface fixed; to be implemented)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from cetate.reactions.commands.model import Command
from cetate.store.base import ContextStore

DEFAULT_EXPIRY: Final = timedelta(minutes=5)


class CommandService:
    """Synchronous; safe to call from any thread."""

    def __init__(self, store: ContextStore) -> None:
        self.store = store

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
        raise NotImplementedError

    def get(self, tenant: str, command_id: str) -> Command | None:
        raise NotImplementedError

    def list(self, tenant: str, *, device: str | None = None, limit: int = 100) -> list[Command]:
        """Newest first."""
        raise NotImplementedError
