"""Shared fixtures. Real servers only: SQLite files in tmp dirs, a real PostgreSQL+PostGIS
server started from Debian's packages (tests/support/postgres_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cetate.store.base import ContextStore, open_store

pytest_plugins = ["tests.support.postgres_server", "tests.support.mosquitto_server"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cetate.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[ContextStore]:
    """A migrated context store on each backend."""
    s = open_store(database_url)
    s.migrate()
    yield s
    s.close()
