"""Loading the data files in ``data/`` (breakpoint tables, limit sets, advice, thresholds).

Each file carries its version key (or set key) and its source; loaded once and cached."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed data file ``data/<name>.json``."""
    text = resources.files("cetate.domains.environment").joinpath("data", f"{name}.json")
    data: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return data
