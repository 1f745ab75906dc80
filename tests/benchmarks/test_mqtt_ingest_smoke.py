"""benchmarks/mqtt_ingest.py runs (``--quick``, built-in broker, SQLite) and prints its figures
with nothing lost. Never timed: no assertion on speed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "mqtt_ingest.py"


def test_mqtt_ingest_quick_builtin_prints_figures_and_loses_nothing() -> None:
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--broker", "builtin"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = completed.stdout
    assert completed.returncode == 0, output + completed.stderr
    for figure in ("messages/s", "values/s", "p50", "p99", "broker         builtin"):
        assert figure in output, output
    lost = re.search(r"^\s+lost\s+(\d+)", output, re.MULTILINE)
    assert lost is not None, output
    assert int(lost.group(1)) == 0, output
    stored = re.search(r"^\s+stored\s+(\d+) messages", output, re.MULTILINE)
    assert stored is not None, output
    assert int(stored.group(1)) > 0, output
