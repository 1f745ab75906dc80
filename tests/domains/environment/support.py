"""What the environment tests share: the application on a store, a tenant whose air-quality
stations are public."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from cetate.api.app import create_app
from cetate.config import Settings
from cetate.domains.environment.public_data import air_type_iri
from cetate.store.base import ContextStore, Tenant

TENANT = "constanta"
PRIVATE = "brasov"


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite:///unused.db",
        "default_tenant": TENANT,
        "secret_key": "environment-test-secret-0123456789",
        "mqtt_builtin": False,
        "notification_worker": False,
        "scheduler": False,
        **overrides,
    }
    return Settings(**values)


def public_tenants(store: ContextStore) -> None:
    """``constanta`` publishes its AirQualityObserved stations; ``brasov`` does not."""
    store.put_tenant(
        Tenant(name=TENANT, title="Constanța", public_types=frozenset({air_type_iri()}))
    )
    store.put_tenant(Tenant(name=PRIVATE, title="Brașov"))


def application(store: ContextStore, **overrides: Any) -> FastAPI:
    return create_app(settings(**overrides), store)
