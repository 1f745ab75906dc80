"""Connections to the SQLite file: one reader per thread, one writer, a WAL checkpointer.

The file is in WAL mode with ``synchronous=NORMAL``. Reads run on a connection of their own
thread; writes run on the one writer connection, in ``BEGIN IMMEDIATE`` transactions
serialised by a lock. The writer's commits do not checkpoint the WAL: a background thread does.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from cetate.errors import InvalidRequest, StoreUnavailable


def database_path(database_url: str) -> str:
    """``sqlite:///relative/or/absolute`` → the file path (``sqlite:////abs`` also works)."""
    if not database_url.startswith("sqlite:"):
        raise InvalidRequest(f"not a SQLite URL: {database_url!r}")
    rest = database_url[len("sqlite:") :]
    if rest.startswith("///"):
        rest = rest[3:]
        if rest.startswith("/"):
            rest = "/" + rest.lstrip("/")
    elif rest.startswith("//"):
        rest = rest[2:]
    if not rest or rest == ":memory:":
        raise InvalidRequest(
            "the SQLite store needs a file (several connections share it): "
            "use sqlite:///path/to/file.db"
        )
    return rest


def _regexp(pattern: str, value: Any) -> bool:
    return isinstance(value, str) and re.search(pattern, value) is not None


class SQLiteConnections:
    """Every connection to one database file, and the lock that serialises its writers."""

    def __init__(self, path: str) -> None:
        self.path = path
        parent = Path(path).parent
        if not parent.exists():
            parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._closed = False
        self._stop = threading.Event()
        self._committed = threading.Event()
        self._checkpointer: threading.Thread | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=30.0,
                cached_statements=512,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA mmap_size=268435456")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite database {self.path}: {exc}") from exc
        conn.create_function("regexp", 2, _regexp, deterministic=True)
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    # -- reading -------------------------------------------------------------------------
    def reader(self) -> sqlite3.Connection:
        """This thread's reading connection (autocommit: each statement its own snapshot)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for a multi-statement read."""
        conn = self.reader()
        if conn.in_transaction:  # re-entrant use on the same thread
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # -- writing -------------------------------------------------------------------------
    def _writer_connection(self) -> sqlite3.Connection:
        """The one writing connection (call with the write lock held). Its commits do not
        checkpoint the WAL: a background thread does, so the writer never waits for the copy
        of pages into the database file and its fsync."""
        if self._writer is None:
            self._writer = self._connect()
            self._writer.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="cetate-sqlite-checkpoint", daemon=True
            )
            self._checkpointer.start()
        return self._writer

    def _checkpoint_loop(self) -> None:
        try:
            conn = self._connect()
        except StoreUnavailable:
            return
        while not self._stop.is_set():
            if not self._committed.wait(0.5):
                continue
            self._committed.clear()
            if self._stop.wait(0.2):  # let a burst of commits gather
                break
            with suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @contextmanager
    def exclusive_writer(self) -> Iterator[sqlite3.Connection]:
        """The writer connection, with the write lock held, outside any transaction."""
        with self._write_lock:
            yield self._writer_connection()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction on the writer: commits on normal exit."""
        with self._write_lock:
            conn = self._writer_connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._committed.set()

    # -- closing -------------------------------------------------------------------------
    def close(self) -> None:
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
            self._checkpointer = None
        with self._write_lock:
            if self._writer is not None:
                with suppress(sqlite3.Error):
                    self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with self._connections_lock:
            connections, self._connections = self._connections, []
            self._closed = True
        for conn in connections:
            with suppress(sqlite3.Error):
                conn.close()
        self._writer = None
