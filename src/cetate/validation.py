"""Pydantic validation errors as problem lines a person can act on (``where: message``).

The documents users write — device specs, device profiles, rules — are pydantic models, and a
bad one is refused with *every* problem at once, one line each. :func:`validation_problems`
makes those lines; the caller raises them in its own :class:`cetate.errors.BadRequestData`
(``InvalidDeviceSpec``, ``InvalidProfile`` …). How a location is spelled and whether pydantic's
terse messages get plainer words stay the caller's choice, so that every message keeps its
wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from pydantic import ValidationError

Location = Callable[[Sequence[int | str]], str]
"""Spells a pydantic error location (``("measurements", 0, "key")``) for a person; ``""``
when the error is about the document as a whole."""

PLAIN_MESSAGES: Final[Mapping[str, str]] = {
    "extra_forbidden": "unknown field; remove it or check its spelling",
    "missing": "required, but missing",
}
"""Plainer words for pydantic's ``Extra inputs are not permitted`` and ``Field required``,
keyed by pydantic's error type."""

_VALUE_ERROR: Final = "Value error, "
"""What pydantic puts before the message of a ValueError raised by a validator."""


def dotted_location(loc: Sequence[int | str]) -> str:
    """``("measurements", 0, "key")`` → ``measurements.0.key``."""
    return ".".join(str(part) for part in loc)


def validation_problems(
    error: ValidationError,
    *,
    location: Location = dotted_location,
    messages: Mapping[str, str] | None = None,
) -> list[str]:
    """One line per error of ``error``: ``where: message``, or only the message where
    ``location`` gives ``""``. A validator's own message loses pydantic's ``Value error, ``
    prefix; an error whose type is in ``messages`` (for example :data:`PLAIN_MESSAGES`) gets
    that text instead of pydantic's."""
    replacements = messages or {}
    problems: list[str] = []
    for item in error.errors(include_url=False):
        where = location(item["loc"])
        message = replacements.get(item["type"]) or str(item["msg"]).removeprefix(_VALUE_ERROR)
        problems.append(f"{where}: {message}" if where else message)
    return problems
