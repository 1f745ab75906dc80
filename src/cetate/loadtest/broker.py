"""A Mosquitto process for the load test: the devices' password file, Cetate's ACL, and queue
settings that never drop a QoS 1 message while Cetate is slow or down."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cetate.loadtest.options import LoadtestError, mosquitto_binary
from cetate.loadtest.processes import die_with_parent, free_port, port_open
from cetate.loadtest.provisioning import Device

SERVICE_USER: Final = "cetate-service"
"""Cetate's own account on the broker (its subscriber)."""


def mosquitto_config(base_dir: Path, port: int) -> str:
    """``mosquitto.conf`` for a run; every setting that decides whether a queued QoS 1 message
    can be dropped is explicit, with the reason."""
    return "\n".join(
        [
            f"listener {port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {base_dir / 'passwords'}",
            f"acl_file {base_dir / 'acl'}",
            f"log_dest file {base_dir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "",
            "# Cetate subscribes with a fixed client id and clean session off, so while it is",
            "# slow, or down (killed and restarting), Mosquitto queues its QoS 1 messages in",
            "# the session. The defaults would drop them:",
            "# - max_queued_messages defaults to 1000 per client; beyond that Mosquitto drops",
            "#   QoS 1 messages ('Outgoing messages are being dropped'). 0 = no limit.",
            "max_queued_messages 0",
            "# - max_queued_bytes: 0 = no limit on the queued payload bytes either.",
            "max_queued_bytes 0",
            "# - max_inflight_messages (default 20): messages sent to a client and not yet",
            "#   acknowledged. Not a loss risk (unacknowledged ones are resent when the session",
            "#   resumes) but a throughput limit: Cetate takes up to 1000 at a time",
            "#   (MAX_IN_FLIGHT in cetate.ingest.mqtt.runtime) to batch its writes.",
            "max_inflight_messages 1000",
            "max_inflight_bytes 0",
            "# - persistent_client_expiration: unset = a disconnected persistent session never",
            "#   expires, however long Cetate is down.",
            "# - persistence false: the queue lives in the broker's memory. The load test kills",
            "#   Cetate, never the broker, so the session survives; persistence true would",
            "#   only add periodic snapshots to disk (and would still lose what arrived after",
            "#   the last snapshot if the broker itself were killed).",
            "persistence false",
            "",
        ]
    )


@dataclass
class Mosquitto:
    """A running broker on 127.0.0.1:``port``."""

    base_dir: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def config_path(self) -> Path:
        return self.base_dir / "mosquitto.conf"

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            text = (self.base_dir / "mosquitto.log").read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return "(no log)"


@contextlib.contextmanager
def running_mosquitto(devices: Iterable[Device], service_password: str) -> Iterator[Mosquitto]:
    """Mosquitto on a free loopback port with the devices' stored hashes, Cetate's service
    account and ACL; stopped and its directory removed on exit."""
    from cetate.ingest.devices.mosquitto import mosquitto_password_hash
    from cetate.ingest.mqtt.topics import mosquitto_acl

    binary = mosquitto_binary()
    if not binary.is_file():
        raise LoadtestError(
            f"Mosquitto is not installed ({binary} not found): "
            "install it with `apt-get install mosquitto`, or use --broker builtin"
        )
    base_dir = Path(tempfile.mkdtemp(prefix="cetate-loadtest-mosquitto-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        lines = [f"{d.username}:{d.mosquitto_hash}" for d in devices]
        lines.append(f"{SERVICE_USER}:{mosquitto_password_hash(service_password)}")
        (base_dir / "passwords").write_text("\n".join(lines) + "\n")
        (base_dir / "passwords").chmod(0o600)
        (base_dir / "acl").write_text(mosquitto_acl(SERVICE_USER))
        port = free_port()
        (base_dir / "mosquitto.conf").write_text(mosquitto_config(base_dir, port))
        if os.geteuid() == 0:  # Mosquitto drops root for the mosquitto user: give it its files
            with contextlib.suppress(KeyError):
                pw = pwd.getpwnam("mosquitto")
                for path in (base_dir, *base_dir.iterdir()):
                    os.chown(path, pw.pw_uid, pw.pw_gid)
        with (base_dir / "stdout.log").open("ab") as out:
            process = subprocess.Popen(  # noqa: S603 (our own command line)
                [str(binary), "-c", str(base_dir / "mosquitto.conf")],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
        broker = Mosquitto(base_dir, port, process)
        deadline = time.monotonic() + 15
        while not port_open(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise LoadtestError(f"Mosquitto did not start:\n{broker.log_tail()}")
            time.sleep(0.05)
        yield broker
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(base_dir, ignore_errors=True)
