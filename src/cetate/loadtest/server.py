"""``cetate serve --open`` as a separate process (as in production), which the load test can
SIGKILL and start again on the same database, ports and broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cetate.loadtest.options import LoadtestError
from cetate.loadtest.processes import cpu_seconds, die_with_parent, wait_until


class ServerProcess:
    """One ``cetate serve`` at a time on 127.0.0.1:``http_port``; output appended to ``log``.

    ``env`` holds the settings on top of this process's environment (broker, rate limit off,
    notification worker off)."""

    def __init__(self, url: str, http_port: int, env: dict[str, str], log: Path) -> None:
        self.url = url
        self.http_port = http_port
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.cpu_of_killed = 0.0
        """CPU seconds used by the server processes killed so far."""

    def command(self) -> list[str]:
        cetate = Path(sys.executable).parent / "cetate"
        command = [str(cetate)] if cetate.is_file() else [sys.executable, "-m", "cetate.cli"]
        command += ["serve", "--open", "--host", "127.0.0.1", "--port", str(self.http_port)]
        return [*command, "--database-url", self.url]

    def start(self) -> None:
        """Start the server (do not wait for it; see :meth:`wait_ready`)."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("cetate serve is already running")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own command line)
                self.command(),
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
        self.starts += 1

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def cpu_total(self) -> float:
        """CPU seconds used by every server process of this run so far."""
        return self.cpu_of_killed + cpu_seconds(self.pid)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def wait_ready(self, http: httpx.Client, timeout: float = 60) -> None:
        """Until the HTTP API answers; :class:`LoadtestError` with the log if it exited."""

        def up() -> bool:
            if self.process is None or self.process.poll() is not None:
                raise LoadtestError(f"cetate serve exited:\n{self.log_tail()}")
            return http.get("/ngsi-ld/v1/types").status_code < 500

        try:
            wait_until(up, timeout, "cetate serve", interval=0.05)
        except TimeoutError as exc:
            raise LoadtestError(f"{exc}\n{self.log_tail()}") from None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no drain, no acknowledgement of what was in flight."""
        if self.process is not None and self.process.poll() is None:
            self.cpu_of_killed += cpu_seconds(self.process.pid)
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Stop gracefully (SIGINT, as Ctrl-C), or kill after 20 s."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart_after_kill(self, http: httpx.Client) -> float:
        """SIGKILL, start again, wait until it answers; the downtime in seconds."""
        began = time.monotonic()
        self.kill()
        self.start()
        self.wait_ready(http)
        return time.monotonic() - began
