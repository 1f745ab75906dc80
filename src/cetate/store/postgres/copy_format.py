"""Values in the text format of PostgreSQL's ``COPY … FROM STDIN``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

_COPY_ESCAPES: Final = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def array_literal(items: Sequence[str]) -> str:
    """A ``text[]`` literal: ``{"a","b"}``."""
    quoted = ('"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "{" + ",".join(quoted) + "}"


def copy_text(value: str) -> str:
    """A value in COPY's text format: backslash, newline, carriage return and tab escaped."""
    if "\\" in value or "\n" in value or "\r" in value or "\t" in value:
        return value.translate(_COPY_ESCAPES)
    return value
