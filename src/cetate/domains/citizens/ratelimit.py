"""A limit on repeated submissions from one client: at most ``limit`` reports per ``window``
seconds per client key (``key:{id}`` for an Open311 app key, ``ip:{address}`` for the public
form). Kept in memory per process (a sliding window of timestamps), so several server
processes each allow the limit; enough against a script hammering one server."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final

MAX_CLIENTS: Final = 100_000
"""clients tracked at most; the idle ones are forgotten first"""


class RateLimiter:
    """Sliding-window counter per client key (thread-safe)."""

    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> float | None:
        """Count one submission of ``client`` and return ``None`` when it is allowed; when
        the client is over the limit nothing is counted and the seconds to wait are
        returned."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get(client)
            if hits is None:
                if len(self._hits) >= MAX_CLIENTS:
                    self._forget_idle(now)
                hits = self._hits[client] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 0.0)
            hits.append(now)
            return None

    def _forget_idle(self, now: float) -> None:
        for name in [n for n, h in self._hits.items() if not h or h[-1] <= now - self.window]:
            del self._hits[name]
        if len(self._hits) >= MAX_CLIENTS:
            self._hits.clear()
