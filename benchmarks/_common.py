"""Helpers shared by the benchmark scripts (machine description, temporary databases)."""

from __future__ import annotations

import os
import platform
import tempfile
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    return (
        f"{cpu_model()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def backend_of(url: str) -> str:
    return "postgresql" if url.startswith(("postgresql:", "postgres:")) else "sqlite"


def temporary_sqlite_url(name: str) -> tuple[str, tempfile.TemporaryDirectory[str]]:
    directory = tempfile.TemporaryDirectory(prefix="cetate-bench-")
    return f"sqlite:///{Path(directory.name) / name}", directory
