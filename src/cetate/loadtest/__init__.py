"""``cetate loadtest``: simulated devices publish over MQTT (QoS 1) to a real ``cetate serve``.

N devices, each with its own credentials, publish JSON with three values per message to
``cetate/<tenant>/<device>/attrs`` for a fixed time on loopback; the run reports messages/s and
values/s stored, publish → queryable latency (p50/p99) and lost = sent − stored. With
``kill_at`` the server is killed with SIGKILL mid-run and restarted, and the report adds the
downtime and the time to catch up. ``benchmarks/mqtt_ingest.py`` runs the same code.

Modules: :mod:`.options` (what to run, validated), :mod:`.provisioning` (tenant, profile,
devices), :mod:`.broker` (a Mosquitto process), :mod:`.server` (the ``cetate serve`` process),
:mod:`.publishers` (paho device clients in worker processes), :mod:`.probe` (publish →
queryable), :mod:`.counting` (what was stored), :mod:`.report` (the figures),
:mod:`.runner` (all of it in order).
"""

from __future__ import annotations

from cetate.loadtest.options import Broker, LoadtestError, LoadtestOptions
from cetate.loadtest.report import Report
from cetate.loadtest.runner import run_loadtest

__all__ = ["Broker", "LoadtestError", "LoadtestOptions", "Report", "run_loadtest"]
