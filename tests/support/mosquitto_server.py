"""Pytest plug-in: a real Mosquitto broker on loopback, from Debian's ``mosquitto`` package.

Each broker gets a fresh temporary directory with a generated ``mosquitto.conf``, listens only
on 127.0.0.1 at a free port, and is stopped (and its directory deleted) afterwards. With
``passwords`` the broker refuses anonymous clients and checks a password file written with
``mosquitto_passwd``; with ``acl`` it enforces that ACL file text (Mosquitto's own syntax,
``pattern write cetate/%u/attrs`` etc.).

Fixtures:

* ``mosquitto_server`` (function): an anonymous broker, one per test.
* ``mosquitto_factory`` (function): ``start(passwords=..., acl=..., extra_config=...)`` for
  brokers with credentials and an ACL; all stopped at the end of the test.
* ``mosquitto_session_server`` (session): one anonymous broker shared by the session.
* ``mosquitto_files`` (function): a directory Mosquitto may read, with the paths of a
  password file, an ACL file and a pid file that something else (Cetate's sync) writes;
  ``mosquitto_factory(files=mosquitto_files)`` starts a broker on those files (no anonymous
  clients), which reloads them on SIGHUP.

When the binaries are missing the tests fail (never skip) and say how to install them: run
``.ci/run``.

The plug-in also makes the suite default ``CETATE_MQTT_BUILTIN`` to ``false``: every test that
builds the application through the FastAPI lifespan would otherwise start the built-in broker
on the fixed port 1883, and test sessions running side by side would fight over it. Tests that
want the built-in broker start it on a free port themselves.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MOSQUITTO = Path(os.environ.get("CETATE_TEST_MOSQUITTO", "/usr/sbin/mosquitto"))
MOSQUITTO_PASSWD = Path(os.environ.get("CETATE_TEST_MOSQUITTO_PASSWD", "/usr/bin/mosquitto_passwd"))
START_TIMEOUT_S = 15.0


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("CETATE_MQTT_BUILTIN", "false")


@dataclass
class MosquittoServer:
    """A running broker on ``127.0.0.1:port``."""

    base_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no broker log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass(frozen=True)
class MosquittoFiles:
    """Files written by the code under test, read by the broker: ``password_file``,
    ``acl_file``, and ``pid_file`` (written by Mosquitto)."""

    directory: Path

    @property
    def password_file(self) -> Path:
        return self.directory / "passwords"

    @property
    def acl_file(self) -> Path:
        return self.directory / "acl"

    @property
    def pid_file(self) -> Path:
        return self.directory / "mosquitto.pid"


def _missing_binaries_message() -> str:
    return (
        f"Mosquitto not found ({MOSQUITTO}, {MOSQUITTO_PASSWD}). The MQTT tests run against "
        "Debian's mosquitto package: run .ci/run (it installs it and runs the tests), or "
        "`apt-get install mosquitto`."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stop_with_parent() -> None:
    """In the broker's process before exec: Linux sends it SIGTERM when the test process
    dies, so a killed test run leaves no broker behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _write_password_file(path: Path, passwords: Mapping[str, str]) -> None:
    path.write_text("")
    for username, password in passwords.items():
        # -b: password on the command line (test credentials only).
        result = subprocess.run(
            [str(MOSQUITTO_PASSWD), "-b", str(path), username, password],
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"mosquitto_passwd failed for {username!r}: "
                f"{result.stderr.decode(errors='replace')}",
                pytrace=False,
            )


def _config(
    base_dir: Path,
    port: int,
    passwords: Mapping[str, str] | None,
    acl: str | None,
    extra_config: str,
    files: MosquittoFiles | None = None,
) -> str:
    lines = [
        f"listener {port} 127.0.0.1",
        "persistence false",
        f"log_dest file {base_dir / 'mosquitto.log'}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
        # Measured: the default limit of 1000 drops QoS 1 messages for a slow subscriber.
        "max_queued_messages 0",
    ]
    if files is not None:
        lines += [
            "allow_anonymous false",
            f"password_file {files.password_file}",
            f"acl_file {files.acl_file}",
            f"pid_file {files.pid_file}",
        ]
    elif passwords is None:
        lines.append("allow_anonymous true")
    else:
        password_file = base_dir / "passwords"
        _write_password_file(password_file, passwords)
        lines += ["allow_anonymous false", f"password_file {password_file}"]
    if acl is not None:
        acl_file = base_dir / "acl"
        acl_file.write_text(acl)
        lines.append(f"acl_file {acl_file}")
    if extra_config:
        lines.append(extra_config)
    return "\n".join(lines) + "\n"


def _hand_over(base_dir: Path) -> None:
    """As root, Mosquitto drops privileges to the ``mosquitto`` user: give it its directory
    (configuration, password file, ACL, log)."""
    if os.geteuid() != 0:
        return
    try:
        pw = pwd.getpwnam("mosquitto")
    except KeyError:
        return  # no such user: Mosquitto keeps running as root
    for path in (base_dir, *base_dir.iterdir()):
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _wait_until_listening(server: MosquittoServer, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection((server.host, server.port), 1):
            return True
        time.sleep(0.02)
    return False


@contextlib.contextmanager
def running_mosquitto(
    passwords: Mapping[str, str] | None = None,
    acl: str | None = None,
    extra_config: str = "",
    files: MosquittoFiles | None = None,
) -> Iterator[MosquittoServer]:
    """Start a throw-away broker; stop it and delete its directory after. With ``files``
    (instead of ``passwords`` and ``acl``) it uses those files, which must exist."""
    if files is not None and (passwords is not None or acl is not None):
        raise ValueError("give files, or passwords and acl, not both")
    if not MOSQUITTO.is_file() or (passwords is not None and not MOSQUITTO_PASSWD.is_file()):
        pytest.fail(_missing_binaries_message(), pytrace=False)
    base_dir = Path(tempfile.mkdtemp(prefix="cetate-mosquitto-"))
    server: MosquittoServer | None = None
    try:
        last_log = ""
        for _attempt in range(5):
            port = _free_port()
            conf = base_dir / "mosquitto.conf"
            conf.write_text(_config(base_dir, port, passwords, acl, extra_config, files))
            _hand_over(base_dir)
            log_path = base_dir / "mosquitto.log"
            with (base_dir / "stdout.log").open("ab") as out:
                process = subprocess.Popen(
                    [str(MOSQUITTO), "-c", str(conf)],
                    cwd=base_dir,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    preexec_fn=_stop_with_parent if sys.platform == "linux" else None,
                )
            server = MosquittoServer(base_dir, port, process, log_path, dict(passwords or {}))
            if _wait_until_listening(server, time.monotonic() + START_TIMEOUT_S):
                break
            stdout = (base_dir / "stdout.log").read_text(errors="replace")
            last_log = f"{server.log_tail()}\n{stdout}"
            server.stop()
            server = None
            if "Address already in use" not in last_log:
                break  # not a port race: retrying will not help
        if server is None:
            pytest.fail(f"Mosquitto did not start; its log:\n{last_log}", pytrace=False)
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


MosquittoFactory = Callable[..., MosquittoServer]


@pytest.fixture
def mosquitto_factory() -> Iterator[MosquittoFactory]:
    """``start(passwords=None, acl=None, extra_config="", files=None)`` → a running broker;
    all of them are stopped when the test ends."""
    with contextlib.ExitStack() as stack:

        def start(
            passwords: Mapping[str, str] | None = None,
            acl: str | None = None,
            extra_config: str = "",
            files: MosquittoFiles | None = None,
        ) -> MosquittoServer:
            return stack.enter_context(running_mosquitto(passwords, acl, extra_config, files))

        yield start


@pytest.fixture
def mosquitto_files() -> Iterator[MosquittoFiles]:
    """An empty directory for a broker's password, ACL and pid files, owned by the
    ``mosquitto`` user when the tests run as root (so the broker, after dropping its
    privileges, can read files written there that keep the directory's owner)."""
    directory = Path(tempfile.mkdtemp(prefix="cetate-mosquitto-files-"))
    try:
        _hand_over(directory)
        yield MosquittoFiles(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def mosquitto_server() -> Iterator[MosquittoServer]:
    """An anonymous broker for this test only."""
    with running_mosquitto() as server:
        yield server


@pytest.fixture(scope="session")
def mosquitto_session_server() -> Iterator[MosquittoServer]:
    """An anonymous broker shared by the whole session."""
    with running_mosquitto() as server:
        yield server
