"""The figures of a run and their printed form (the same for ``cetate loadtest`` and
``benchmarks/mqtt_ingest.py``)."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from cetate.loadtest.probe import percentile
from cetate.loadtest.provisioning import VALUES_PER_MESSAGE


def machine() -> str:
    """CPU model, logical CPUs, Python and kernel."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


@dataclass(frozen=True)
class KillFigures:
    """What happened around the SIGKILL."""

    at: float
    """Seconds into publishing when the server was killed."""
    downtime: float
    """SIGKILL → the restarted server answers HTTP."""
    catch_up: float | None
    """Restarted server answers → every device's newest stored message is at least the one it
    had published by then: the backlog of the downtime is stored (None: not within the drain
    timeout, or messages lost)."""


@dataclass
class Report:
    """Everything a run measured. ``sent`` counts the messages the broker acknowledged (PUBACK)
    to the devices; ``lost`` those of them not in the stored history."""

    broker: str
    backend: str
    devices: int
    rate: float
    publisher_processes: int
    published: int
    sent: int
    stored: int
    history_rows: int
    lost: int
    publish_seconds: float
    stored_seconds: float
    drained: bool
    drain_timeout: float
    probe_latencies: list[float] = field(default_factory=list)
    stored_delays: list[float] = field(default_factory=list)
    probe_errors: list[str] = field(default_factory=list)
    missing_examples: list[str] = field(default_factory=list)
    kill: KillFigures | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds per part (server, broker, publishers) from the start of publishing until
    everything was stored."""
    machine: str = field(default_factory=machine)

    @property
    def messages_per_second(self) -> float:
        return self.stored / self.stored_seconds if self.stored_seconds > 0 else math.nan

    @property
    def values_per_second(self) -> float:
        return VALUES_PER_MESSAGE * self.messages_per_second

    @property
    def latency_p50(self) -> float:
        return percentile(self.probe_latencies, 50)

    @property
    def latency_p99(self) -> float:
        return percentile(self.probe_latencies, 99)

    @property
    def ok(self) -> bool:
        """Nothing lost and everything drained."""
        return self.lost == 0 and self.drained

    def rows(self) -> list[tuple[str, str]]:
        """(label, text) pairs, in print order."""
        rate = f"{self.rate:,.0f} messages/s" if self.rate else "max"
        offered = self.published / self.publish_seconds if self.publish_seconds else math.nan
        rows = [
            ("backend", self.backend),
            ("broker", self.broker),
            ("machine", self.machine),
            ("publishers", f"{self.publisher_processes} process(es), paho, rate {rate}"),
            (
                "duration",
                f"{self.publish_seconds:.1f} s publishing, "
                f"{self.stored_seconds:.1f} s until stored",
            ),
            ("published", f"{self.published} messages ({offered:,.0f}/s offered)"),
            ("sent", f"{self.sent} messages acknowledged by the broker (PUBACK)"),
            ("stored", f"{self.stored} messages, {self.history_rows} history rows of 'a'"),
            ("messages/s", f"{self.messages_per_second:,.0f} stored"),
            ("values/s", f"{self.values_per_second:,.0f} stored"),
        ]
        if self.stored_delays:
            p50, p99 = percentile(self.stored_delays, 50), percentile(self.stored_delays, 99)
            rows.append(
                ("stored lat.", f"p50 {p50:.3f} s  p99 {p99:.3f} s  (publish → modifiedAt, all)")
            )
        if self.probe_latencies:
            rows.append(
                (
                    "latency",
                    f"p50 {self.latency_p50:.3f} s  p99 {self.latency_p99:.3f} s  "
                    f"(publish → queryable, {len(self.probe_latencies)} probes)",
                )
            )
        else:
            rows.append(("latency", "no probe samples"))
        if self.probe_errors:
            rows.append(("probe errors", f"{len(self.probe_errors)}, e.g. {self.probe_errors[0]}"))
        if self.cpu:
            parts = ", ".join(
                f"{name} {seconds:.1f} s ({100 * seconds / self.stored_seconds:.0f}% of a core)"
                for name, seconds in self.cpu.items()
            )
            rows.append(("cpu", parts))
        if self.kill is not None:
            catch_up = (
                f"{self.kill.catch_up:.1f} s (restart → all published until then stored)"
                if self.kill.catch_up is not None
                else "never (messages lost, or not within the drain timeout)"
            )
            rows += [
                ("killed at", f"{self.kill.at:.1f} s into publishing (SIGKILL cetate serve)"),
                ("downtime", f"{self.kill.downtime:.1f} s (SIGKILL → restarted server answers)"),
                ("catch-up", catch_up),
            ]
        lost = str(self.lost)
        if self.lost:
            lost += f"  e.g. {', '.join(self.missing_examples)}"
            if self.kill is not None and self.broker == "builtin":
                lost += (
                    "  (acknowledged by the built-in broker, which died with the server, "
                    "before Cetate stored them)"
                )
        rows.append(("lost", lost))
        if not self.drained:
            rows.append(
                (
                    "NOT DRAINED",
                    f"within {self.drain_timeout:.0f} s: 'lost' counts messages not stored yet "
                    "(still queued in the broker or server), not proven lost",
                )
            )
        return rows

    def title(self) -> str:
        return (
            f"mqtt_ingest: {self.devices} devices, QoS 1, {VALUES_PER_MESSAGE} values/message, "
            "cetate serve subprocess"
        )

    def lines(self) -> list[str]:
        """The plain-text report: a title and one ``  label  value`` row per figure."""
        return [self.title()] + [f"  {label:<14} {text}" for label, text in self.rows()]
