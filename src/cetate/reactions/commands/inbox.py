"""Command results coming in from devices, over MQTT (``cetate/<tenant>/<device>/cmdexe``)
or HTTP.

Over MQTT every message is either recorded on its command or kept as a dead letter (source
``mqtt``, reason ``malformed_json``, ``invalid_result``, ``unknown_command``,
``not_your_command``, ``command_expired`` or ``already_completed``) — never dropped. The
handler returns only once one of the two is stored, so the subscriber's PUBACK follows
storage; a store failure raises and the broker delivers the message again (recording is
idempotent).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cetate.ingest.mqtt.subscriber import ReceivedMessage
from cetate.reactions.commands.model import Command
from cetate.reactions.commands.results import (
    ResultRejected,
    parse_json,
    parse_result,
)
from cetate.reactions.commands.service import CommandService


@dataclass(frozen=True, slots=True)
class ResultOutcome:
    """What became of one result: the command as recorded, or why it was refused."""

    command: Command | None = None
    rejected: ResultRejected | None = None
    dead_letter_id: int | None = None


RESULT_SOURCE: Final = "mqtt-cmdexe"
"""The ``source`` of a dead-lettered command result (measurements have ``mqtt``/``http``);
the ingest pipeline refuses to replay these."""


class CommandInbox:
    """Records device answers through :class:`CommandService`."""

    def __init__(self, service: CommandService) -> None:
        self.service = service
        self.store = service.store

    def accept(self, tenant: str, device: str, document: Any) -> ResultOutcome:
        """One parsed JSON result of ``device``."""
        try:
            answer = parse_result(document)
            return ResultOutcome(command=self.service.record_result(tenant, device, answer))
        except ResultRejected as exc:
            return ResultOutcome(rejected=exc)

    def handle_mqtt_payload(
        self, tenant: str, device: str, payload: bytes, received_at: datetime
    ) -> ResultOutcome:
        """One ``cmdexe`` message: recorded, or a dead letter."""
        try:
            document = parse_json(payload)
        except ResultRejected as exc:
            outcome = ResultOutcome(rejected=exc)
        else:
            outcome = self.accept(tenant, device, document)
        if outcome.rejected is None:
            return outcome
        letter = self.store.add_dead_letter(
            tenant,
            source=RESULT_SOURCE,
            device=device,
            received_at=received_at,
            reason=outcome.rejected.reason,
            detail=f"command result: {outcome.rejected.detail}",
            payload=payload,
        )
        return ResultOutcome(rejected=outcome.rejected, dead_letter_id=letter)

    async def handle_mqtt(self, message: ReceivedMessage) -> None:
        """The subscriber's handler for ``cmdexe`` messages."""
        await asyncio.to_thread(
            self.handle_mqtt_payload,
            message.tenant,
            message.device,
            message.payload,
            message.received_at,
        )
