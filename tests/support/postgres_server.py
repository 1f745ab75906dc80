"""Pytest plug-in: a real PostgreSQL + PostGIS server on loopback, one per test session.

The server comes from Debian's packages (``postgresql-15``, ``postgresql-15-postgis-3``): it is
created with ``initdb`` in a fresh temporary directory, listens only on 127.0.0.1 at a free
port, runs with ``fsync=off`` (test data need not survive a crash) and is stopped when the
session ends. When the tests run as root (as CI does) the server runs as the ``postgres``
system user, because PostgreSQL refuses to run as root.

Fixtures:

* ``postgres_server`` (session): the running server (:class:`PostgresServer`).
* ``postgres_database_url`` (function): a fresh database created from a template that already
  has ``CREATE EXTENSION postgis``; dropped after the test.

Every session (and every pytest-xdist worker) gets its own directory and port, so several can
run at once. When the binaries are missing the tests fail (never skip) and say how to install
them: run ``.ci/run``.
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
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

POSTGRES_BIN = Path(os.environ.get("CETATE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
TEMPLATE_DB = "cetate_template"
SUPERUSER = "postgres"
START_TIMEOUT_S = 60.0


@dataclass
class PostgresServer:
    """A running server: connect as ``postgres`` (trust authentication) to 127.0.0.1:port."""

    base_dir: Path
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url(), autocommit=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGINT is PostgreSQL's "fast shutdown": disconnect clients, stop cleanly.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _missing_binaries_message() -> str:
    return (
        f"PostgreSQL binaries not found in {POSTGRES_BIN} (initdb, postgres). The tests marked "
        "'postgres' need Debian's postgresql-15 and postgresql-15-postgis-3 packages: run "
        ".ci/run (it installs them and runs the tests), or `apt-get install postgresql "
        "postgresql-15-postgis-3`. Deselect these tests with `-m 'not postgres'` only if you "
        "know what you are leaving untested."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root privileges to the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return {}
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "running as root, but there is no 'postgres' system user to run PostgreSQL as "
            "(PostgreSQL refuses to run as root): install Debian's postgresql package "
            "(run .ci/run)",
            pytrace=False,
        )
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _stop_with_parent() -> None:
    """In the server's process before exec: Linux sends it SIGINT (fast shutdown) when the
    test process dies, so a killed test run leaves no server behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _chown_for_server(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _initdb(base_dir: Path, data_dir: Path, run_as: dict[str, Any]) -> None:
    cmd = [
        str(POSTGRES_BIN / "initdb"),
        "-D",
        str(data_dir),
        "-U",
        SUPERUSER,
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
    ]
    result = subprocess.run(cmd, cwd=base_dir, capture_output=True, check=False, **run_as)
    if result.returncode != 0:
        pytest.fail(
            f"initdb failed ({result.returncode}):\n{result.stdout.decode(errors='replace')}"
            f"\n{result.stderr.decode(errors='replace')}",
            pytrace=False,
        )


def _start(base_dir: Path, data_dir: Path, run_as: dict[str, Any]) -> PostgresServer:
    log_path = base_dir / "postgres.log"
    last_log = ""
    for _attempt in range(5):
        port = _free_port()
        cmd = [
            str(POSTGRES_BIN / "postgres"),
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={base_dir}",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=128MB",
            "-c",
            "logging_collector=off",
        ]
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                cmd,
                cwd=base_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_stop_with_parent if sys.platform == "linux" else None,
                **run_as,
            )
        server = PostgresServer(base_dir, data_dir, port, process, log_path)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                with server.admin() as conn:
                    conn.execute("SELECT 1")
                return server
            except psycopg.OperationalError:
                time.sleep(0.05)
        last_log = server.log_tail()
        server.stop()
        if "could not bind" not in last_log and "already in use" not in last_log:
            break  # not a port race: retrying will not help
    pytest.fail(f"PostgreSQL did not start; server log:\n{last_log}", pytrace=False)


def _create_template(server: PostgresServer) -> None:
    with server.admin() as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    with psycopg.connect(server.url(TEMPLATE_DB), autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION postgis")
        except psycopg.Error as e:
            pytest.fail(
                f"CREATE EXTENSION postgis failed ({e}): install postgresql-15-postgis-3 "
                "(run .ci/run)",
                pytrace=False,
            )
    with server.admin() as conn:
        conn.execute(f"ALTER DATABASE {TEMPLATE_DB} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")


@contextlib.contextmanager
def running_postgres_server() -> Iterator[PostgresServer]:
    """Start a throw-away server with a PostGIS template database; stop and delete it after."""
    if not (POSTGRES_BIN / "initdb").is_file() or not (POSTGRES_BIN / "postgres").is_file():
        pytest.fail(_missing_binaries_message(), pytrace=False)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    base_dir = Path(tempfile.mkdtemp(prefix=f"cetate-pg-{worker}-"))
    server: PostgresServer | None = None
    try:
        run_as = _run_as()
        _chown_for_server(base_dir)
        data_dir = base_dir / "data"
        _initdb(base_dir, data_dir, run_as)
        server = _start(base_dir, data_dir, run_as)
        _create_template(server)
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres_server() as server:
        yield server


def create_database(server: PostgresServer) -> str:
    """A new database cloned from the PostGIS template; returns its name."""
    name = f"cetate_test_{uuid.uuid4().hex[:16]}"
    with server.admin() as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB} STRATEGY FILE_COPY")
    return name


def drop_database(server: PostgresServer, name: str) -> None:
    with server.admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres_database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """``postgresql://`` URL of a fresh database with PostGIS; dropped after the test."""
    name = create_database(postgres_server)
    try:
        yield postgres_server.url(name)
    finally:
        drop_database(postgres_server, name)
