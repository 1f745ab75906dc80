"""The benchmark scripts run (``--quick``, SQLite) and print their figures. Never timed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run(script: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_store_ingest_prints_figures() -> None:
    output = run("store_ingest.py")
    assert "values/s" in output
    assert "backend      sqlite" in output


def test_store_query_prints_a_table() -> None:
    output = run("store_query.py")
    assert "p95 ms" in output
    for query in ("type+q", "type+near", "temporal"):
        assert query in output
