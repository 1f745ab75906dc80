"""One Settings object for the whole program, read from CETATE_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'cetate.db'}"


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as ``CETATE_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="CETATE_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    """``sqlite:///path/to/file.db`` (embedded default) or ``postgresql://user@host/db``."""

    open_access: bool = False
    """No authentication at all (``cetate serve --open``); only allowed on loopback."""

    secret_key: str = ""
    """Signs console session cookies. Generated and kept in the database when empty."""

    max_payload_bytes: int = 4 * 1024 * 1024
    """Largest accepted request body; larger ones get HTTP 413."""

    max_batch_entities: int = 10_000
    """Largest number of entities in one batch operation."""

    default_limit: int = 20
    max_limit: int = 1000

    default_tenant: str = "default"
    """Tenant used when a request sends no NGSILD-Tenant header."""

    map_tile_url: str = ""
    """Tile URL template for the console map (``https://tile.example/{z}/{x}/{y}.png``). Empty:
    no tile layer, a neutral background (works offline)."""
