"""What a command may look like: its name, its value and its expiry."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from datetime import timedelta
from typing import Any, Final

from cetate.errors import BadRequestData

NAME_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_VALUE_BYTES: Final = 16 * 1024
MIN_EXPIRY: Final = timedelta(seconds=1)
MAX_EXPIRY: Final = timedelta(days=7)


def check_name(name: Any) -> str:
    """``name`` unchanged, or BadRequestData."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise BadRequestData(
            f"invalid command name {name!r}: use 1-64 letters, digits, '_', '.' or '-'"
        )
    return name


def check_value(value: Any) -> Any:
    """``value`` as plain JSON (what it will read back as), or BadRequestData when it is not
    JSON (NaN, infinity, sets, objects …) or its JSON encoding exceeds 16 KiB."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise BadRequestData(f"the command value is not JSON: {exc}") from None
    size = len(text.encode())
    if size > MAX_VALUE_BYTES:
        raise BadRequestData(
            f"the command value is {size} bytes of JSON; at most {MAX_VALUE_BYTES} are allowed"
        )
    return json.loads(text)


def check_expiry(expires_in: Any) -> timedelta:
    """``expires_in`` unchanged when it is a timedelta from 1 s to 7 days, else
    BadRequestData."""
    if not isinstance(expires_in, timedelta):
        raise BadRequestData(f"the expiry must be a duration, not {expires_in!r}")
    if not MIN_EXPIRY <= expires_in <= MAX_EXPIRY:
        raise BadRequestData(
            f"the expiry {expires_in.total_seconds():g} s is out of range: "
            "from 1 second (PT1S) to 7 days (P7D)"
        )
    return expires_in


_last_ms = 0
_counter = 0
_lock = threading.Lock()


def new_command_id() -> str:
    """An id that sorts by creation time (in this process strictly, across processes to the
    millisecond): 12 hex digits of Unix milliseconds, 4 of a per-millisecond counter, 8 random.
    """
    global _last_ms, _counter
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            now = _last_ms
            _counter += 1
        else:
            _last_ms, _counter = now, 0
        counter = _counter & 0xFFFF
    return f"{now:012x}{counter:04x}{secrets.token_hex(4)}"
