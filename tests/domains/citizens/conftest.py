"""Fixtures of the citizens domain tests: the real application on each store backend, with
tenants ``oradea`` and ``cluj``, an Open311 app key for each, and staff tokens."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from importlib import resources

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from cetate.api.app import create_app
from cetate.auth.tokens import issue_token
from cetate.config import Settings
from cetate.domains.citizens.api_keys import issue_key
from cetate.domains.citizens.config import CitizensConfig, parse_config
from cetate.domains.citizens.runtime import CitizensRuntime, build_runtime
from cetate.store.base import ContextStore, Role, Tenant, User
from tests.reactions.delivery.receivers import SmtpReceiver, free_port, running_smtp_receiver

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


# -- the staff desk: departments, SLA, duplicates, a movable clock, a real SMTP server ------


CENTRE = {
    "type": "Polygon",
    "coordinates": [
        [[21.90, 47.06], [21.94, 47.06], [21.94, 47.08], [21.90, 47.08], [21.90, 47.06]]
    ],
}
"""Oradea's centre (the reports of :func:`report` fall inside)."""
OUTSIDE = {"lat": "47.0400", "long": "21.9500"}
"""A point outside :data:`CENTRE`."""
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the tests move; the domain reads "now" from it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def desk_config() -> CitizensConfig:
    """The default services with SLA targets for potholes, three departments (one with an
    area) and a 100 m / 48 h duplicate rule."""
    raw = json.loads(
        resources.files("cetate.domains.citizens").joinpath("default_services.json").read_text()
    )
    for service in raw["services"]:
        if service["service_code"] == "pothole":
            service["sla"] = {"acknowledge_hours": 24, "resolve_hours": 72}
    raw["departments"] = [
        {
            "id": "centre",
            "name": {"ro": "Administrare Centru", "en": "Centre Administration"},
            "email": "centru@oradea.ro",
            "area": CENTRE,
        },
        {
            "id": "roads",
            "name": {"ro": "Drumuri", "en": "Roads"},
            "email": "drumuri@oradea.ro",
            "categories": ["pothole"],
        },
        {"id": "general", "name": {"ro": "Dispecerat", "en": "Dispatch"}},
    ]
    raw["duplicates"] = {"radius_m": 100, "window_hours": 48}
    return parse_config(raw)


@dataclass
class Desk:
    """The application's citizens runtime with :func:`desk_config`, a clock and e-mail to a
    real local SMTP server."""

    client: TestClient
    keys: Keys
    clock: Clock
    runtime: CitizensRuntime
    smtp: SmtpReceiver
    store: ContextStore


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with running_smtp_receiver() as s:
        yield s


@pytest.fixture
def desk(app: FastAPI, keys: Keys, smtp: SmtpReceiver, store: ContextStore) -> Iterator[Desk]:
    clock = Clock()
    settings = Settings(
        database_url="sqlite://",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_from="Primăria Oradea <sesizari@oradea.ro>",
        smtp_starttls=False,
    )
    runtime = build_runtime(app, desk_config(), clock=clock, settings=settings)
    staff: tuple[tuple[str, Role], ...] = (("maria", "operator"), ("ion", "viewer"))
    for name, role in staff:
        store.put_user(
            User(
                username=name,
                password_hash="-",
                display_name=name.title(),
                roles={"oradea": role},
            )
        )
    with TestClient(app) as c:
        yield Desk(c, keys, clock, runtime, smtp, store)


@pytest.fixture
def app_settings_for_down_smtp() -> Settings:
    """SMTP settings naming a port where nothing listens."""
    return Settings(
        database_url="sqlite://",
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_from="sesizari@oradea.ro",
        smtp_starttls=False,
    )


def sent_messages(smtp: SmtpReceiver) -> list[EmailMessage]:
    """The messages the SMTP server accepted, parsed."""
    out: list[EmailMessage] = []
    for envelope in smtp.recorder.envelopes:
        content = envelope.content
        raw = content.encode() if isinstance(content, str) else bytes(content or b"")
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        out.append(parsed)
    return out
