"""The loop of a store-queue consumer (the notification worker, the command dispatcher): an
asyncio task that runs rounds, the next one at once while rounds find work, else after a poll
interval or as soon as :meth:`RoundLoop.wake` is called from any thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class RoundLoop:
    """Runs ``run_round`` (which answers how many items it handled) in a task named
    ``name``; a round that raises is logged on ``log`` with ``failure`` and the loop goes
    on."""

    def __init__(
        self,
        name: str,
        run_round: Callable[[], Awaitable[int]],
        *,
        poll_interval: float,
        failure: str,
        log: logging.Logger,
    ) -> None:
        self.name = name
        self.run_round = run_round
        self.poll_interval = poll_interval
        self.failure = failure
        self.log = log
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start the task in the running event loop (a no-op when it runs already)."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        """Run a round now (thread-safe; a no-op when not running)."""
        loop, wake = self._loop, self._wake
        if loop is None or self._task is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(wake.set)

    async def stop(self, timeout: float) -> None:
        """Stop after the current round; cancel it when it takes over ``timeout`` seconds."""
        task = self._task
        if task is not None:
            self._stopping.set()
            self._wake.set()
            try:
                await asyncio.wait_for(task, timeout=timeout)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None
        self._loop = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            handled = 0
            try:
                handled = await self.run_round()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception(self.failure)
            if handled == 0 and not self._stopping.is_set():
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
