"""What a device answers about a command, and why an answer is refused.

A result is a JSON object ``{"id": "<command id>", "status": "succeeded" | "failed",
"result": <any JSON>, "error": "<text>"}``; ``status`` may also be ``OK`` / ``ERROR`` (any
case). Over HTTP a device may send a list of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

import orjson

from cetate.errors import CetateError

MAX_ERROR_CHARS: Final = 1000

_STATUS_WORDS: Final[dict[str, Literal["succeeded", "failed"]]] = {
    "succeeded": "succeeded",
    "ok": "succeeded",
    "failed": "failed",
    "error": "failed",
}

ResultReason = Literal[
    "malformed_json",
    "invalid_result",
    "unknown_command",
    "not_your_command",
    "command_expired",
    "already_completed",
]


class ResultRejected(CetateError):
    """A result that cannot be recorded; ``reason`` is the dead-letter reason code."""

    status: ClassVar[int] = 400
    problem_type = "urn:cetate:errors:CommandResultRejected"
    title = "Command result rejected"

    _STATUS_OF: ClassVar[dict[str, int]] = {
        "malformed_json": 400,
        "invalid_result": 400,
        "unknown_command": 404,
        "not_your_command": 404,
        "command_expired": 409,
        "already_completed": 409,
    }

    def __init__(self, reason: ResultReason, detail: str, **extra: Any) -> None:
        super().__init__(detail, reason=reason, **extra)
        self.reason: ResultReason = reason

    def problem(self) -> dict[str, Any]:
        body = super().problem()
        body["status"] = self.http_status
        return body

    @property
    def http_status(self) -> int:
        return self._STATUS_OF.get(self.reason, 400)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """One parsed answer."""

    id: str
    status: Literal["succeeded", "failed"]
    result: Any = None
    error: str | None = None


def parse_json(payload: bytes) -> Any:
    """The JSON of a payload, or ResultRejected ``malformed_json``."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise ResultRejected("malformed_json", f"the result is not JSON: {exc}") from None


def parse_result(document: Any) -> CommandResult:
    """One result object, or ResultRejected ``invalid_result`` saying what is wrong."""
    if not isinstance(document, dict):
        raise ResultRejected(
            "invalid_result",
            'a result must be a JSON object {"id": …, "status": "succeeded"|"failed"}',
        )
    command_id = document.get("id")
    if not isinstance(command_id, str) or not command_id:
        raise ResultRejected("invalid_result", "the result has no command id (member 'id')")
    word = document.get("status")
    status = _STATUS_WORDS.get(word.lower()) if isinstance(word, str) else None
    if status is None:
        raise ResultRejected(
            "invalid_result",
            f"result status {word!r} is not one of succeeded, failed, OK, ERROR",
            commandId=command_id,
        )
    error = document.get("error")
    if error is not None and not isinstance(error, str):
        raise ResultRejected("invalid_result", "the result's 'error' must be text")
    return CommandResult(
        id=command_id,
        status=status,
        result=document.get("result"),
        error=error[:MAX_ERROR_CHARS] if error is not None else None,
    )
