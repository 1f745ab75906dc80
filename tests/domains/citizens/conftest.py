"""Fixtures of the citizens domain tests: the real application on each store backend, with
tenants ``oradea`` and ``cluj``, an Open311 app key for each, and staff tokens."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from cetate.api.app import create_app
from cetate.auth.tokens import issue_token
from cetate.config import Settings
from cetate.domains.citizens.api_keys import issue_key
from cetate.store.base import ContextStore, Tenant

TENANTS = ("oradea", "cluj")


@dataclass(frozen=True)
class Keys:
    """Open311 app keys and staff bearer headers per tenant."""

    api_key: dict[str, str]
    operator: dict[str, dict[str, str]]
    viewer: dict[str, dict[str, str]]
    admin: dict[str, dict[str, str]]


@pytest.fixture
def app(database_url: str, store: ContextStore) -> FastAPI:
    settings = Settings(
        database_url=database_url,
        mqtt_builtin=False,
        notification_worker=False,
        scheduler=False,
    )
    for name in TENANTS:
        store.put_tenant(Tenant(name=name, title=name.title()))
    return create_app(settings, store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def _bearer(store: ContextStore, tenant: str, role: str) -> dict[str, str]:
    _, secret = issue_token(store, tenant, role, f"{role} of {tenant}")  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def keys(store: ContextStore) -> Keys:
    return Keys(
        api_key={t: issue_key(store, t, f"app of {t}")[1] for t in TENANTS},
        operator={t: _bearer(store, t, "operator") for t in TENANTS},
        viewer={t: _bearer(store, t, "viewer") for t in TENANTS},
        admin={t: _bearer(store, t, "admin") for t in TENANTS},
    )


def jpeg_with_gps(size: tuple[int, int] = (2400, 1200)) -> bytes:
    """A JPEG whose EXIF names a camera and a GPS position (Oradea)."""
    image = Image.new("RGB", size, (180, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "CetateTestCam"  # Make
    gps = exif.get_ifd(0x8825)  # GPSInfo
    gps.update({1: "N", 2: (47.0, 3.0, 30.0), 3: "E", 4: (21.0, 55.0, 10.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def report(api_key: str, service_code: str = "pothole", **extra: str) -> dict[str, str]:
    """A valid POST requests form for a report in Oradea's centre."""
    form = {
        "api_key": api_key,
        "service_code": service_code,
        "lat": "47.0722",
        "long": "21.9211",
        "description": "Groapă mare lângă stația de tramvai",
        "email": "ana.pop@example.ro",
        "first_name": "Ana",
        "last_name": "Pop",
        "phone": "+40 722 123 456",
    }
    form.update(extra)
    return form
