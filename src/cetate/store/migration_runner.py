"""Applying numbered SQL migration files, shared by both backends.

A backend keeps its migrations as ``NNNN_name.sql`` files in a package of its own and says,
through a :class:`MigrationTarget`, how one file runs in its database: in which transaction,
how to tell whether it was applied, how to run and record it.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import resources
from typing import Final, Protocol

_MIGRATION_FILE: Final = re.compile(r"^(\d{4})_[\w-]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    """the file name, e.g. ``0001_initial.sql``"""
    sql: str


def migrations_in(package: str) -> list[Migration]:
    """Every migration file of a package, oldest first."""
    found: list[Migration] = []
    for entry in resources.files(package).iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match:
            found.append(
                Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8"))
            )
    found.sort(key=lambda migration: (migration.version, migration.name))
    return found


class MigrationTarget(Protocol):
    """How migrations run in one database."""

    def step(self) -> AbstractContextManager[object]:
        """The transaction around one migration (its check, statements and record)."""

    def is_applied(self, migration: Migration) -> bool: ...

    def apply(self, migration: Migration) -> None:
        """Run the migration's statements and record its version."""


def apply_missing(target: MigrationTarget, migrations: list[Migration]) -> None:
    """Apply, in order, the migrations the database has not seen yet."""
    for migration in migrations:
        with target.step():
            if not target.is_applied(migration):
                target.apply(migration)
