"""Fixtures for the HTTP API: the app on a real store of each backend, and clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.config import Settings
from cetate.store.base import ContextStore


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Open access (no authentication): what most API tests need."""
    return Settings(database_url=database_url, open_access=True)


@pytest.fixture
def app(settings: Settings, store: ContextStore) -> FastAPI:
    return create_app(settings, store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
