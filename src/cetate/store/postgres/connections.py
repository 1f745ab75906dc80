"""Connections to PostgreSQL: a main pool for every call, and a small side pool on which
partitions and history series are created outside a writer's transaction (a separate pool
cannot deadlock against the writer holding a connection of the main one)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from cetate.errors import StoreUnavailable

Conn = psycopg.Connection[tuple[Any, ...]]


def _json_dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def _configure(conn: Conn) -> None:
    set_json_dumps(_json_dumps, conn)
    set_json_loads(orjson.loads, conn)


def redact(url: str) -> str:
    """The URL without its password, for error messages."""
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", url)


def normalised_url(database_url: str) -> str:
    """``postgres://…`` → ``postgresql://…``."""
    if database_url.startswith("postgres://"):
        return "postgresql://" + database_url[len("postgres://") :]
    return database_url


class PostgresConnections:
    """The two pools of one store; opening waits for the first connection."""

    def __init__(self, url: str, *, min_connections: int, max_connections: int) -> None:
        settings = {"autocommit": True, "options": "-c TimeZone=UTC"}
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            url,
            min_size=min_connections,
            max_size=max_connections,
            kwargs=settings,
            configure=_configure,
            open=False,
            timeout=30.0,
            name="cetate",
        )
        self._side_pool: ConnectionPool[Conn] = ConnectionPool(
            url,
            min_size=0,
            max_size=2,
            kwargs=settings,
            configure=_configure,
            open=False,
            timeout=30.0,
            name="cetate-side",
        )
        try:
            self._pool.open(wait=True, timeout=30.0)
            self._side_pool.open()
        except PoolTimeout as e:
            self.close()
            raise StoreUnavailable(
                f"cannot connect to PostgreSQL at {redact(url)}: {e}; check that the server "
                "runs and the URL (user, password, host, port, database) is right"
            ) from e

    @contextmanager
    def connection(self, *, side: bool = False) -> Iterator[Conn]:
        """A connection of the main pool (or of the side pool), in autocommit mode."""
        pool = self._side_pool if side else self._pool
        try:
            with pool.connection() as conn:
                yield conn
        except PoolTimeout as e:
            raise StoreUnavailable(f"no PostgreSQL connection available: {e}") from e
        except psycopg.OperationalError as e:
            raise StoreUnavailable(f"PostgreSQL is unavailable: {e}") from e

    def close(self) -> None:
        self._pool.close()
        self._side_pool.close()
