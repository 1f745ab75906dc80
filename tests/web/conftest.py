"""Fixtures of the console tests: a SQLite store with two tenants, users and a few entities with
history, and the real application built on it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.auth.users import create_user, ensure_tenant
from cetate.config import Settings
from cetate.ngsi.model import LOCATION
from cetate.store.base import ContextStore, HistoryRow, open_store

ADMIN: Final = ("admin", "correct-horse-battery")
VIEWER: Final = ("viewer", "viewer-password-1")
OPERATOR: Final = ("operator", "operator-password-1")
WASTE: Final = "https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer"
FILLING: Final = "https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel"
TEMPERATURE: Final = "https://smartdatamodels.org/dataModel.Environment/temperature"
AIR: Final = "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"
PM25: Final = "https://smartdatamodels.org/dataModel.Environment/pm25"
NAME: Final = "https://uri.etsi.org/ngsi-ld/name"
STREETLIGHT: Final = "https://smartdatamodels.org/dataModel.Streetlighting/Streetlight"
BUILDING: Final = "https://smartdatamodels.org/dataModel.Building/Building"
REFERS: Final = "https://uri.etsi.org/ngsi-ld/default-context/refDevice"

# Cluj-Napoca, around the centre
CLUJ_POINTS: Final = [(23.5899, 46.7712), (23.6031, 46.7685), (23.5781, 46.7749)]


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def _prop(value: Any, observed: datetime, unit: str | None = None) -> dict[str, Any]:
    instance: dict[str, Any] = {"type": "Property", "value": value, "observedAt": _ts(observed)}
    if unit:
        instance["unitCode"] = unit
    return instance


def seed(store: ContextStore, now: datetime | None = None) -> None:
    """Tenants ``cluj`` and ``iasi``; ``admin`` (admin in both), ``viewer`` (viewer in cluj),
    ``operator`` (operator in cluj);
    in cluj 3 waste containers with location and 72 h of fill level, an air-quality station
    with pm25 history, and a building without location; in iasi one streetlight."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    ensure_tenant(store, "cluj", "Cluj-Napoca")
    ensure_tenant(store, "iasi", "Iași")
    create_user(
        store, ADMIN[0], ADMIN[1], display_name="Ana Pop", roles={"cluj": "admin", "iasi": "admin"}
    )
    create_user(store, VIEWER[0], VIEWER[1], roles={"cluj": "viewer"})
    create_user(store, OPERATOR[0], OPERATOR[1], roles={"cluj": "operator"})
    stamp = _ts(now)
    with store.transaction("cluj") as tx:
        for index, (lon, lat) in enumerate(CLUJ_POINTS, start=1):
            entity_id = f"urn:ngsi-ld:WasteContainer:cluj:{index:04d}"
            rows: list[HistoryRow] = []
            for hours in range(72, -1, -1):
                observed = now - timedelta(hours=hours)
                level = round(((72 - hours) % 24) / 24 * 0.9 + 0.05 * index, 3)
                rows.append(
                    HistoryRow(
                        entity_id=entity_id,
                        attr=FILLING,
                        instance=_prop(level, observed, "P1"),
                        observed_at=observed,
                        number=level,
                        entity_type=WASTE,
                    )
                )
            current = rows[-1].instance
            tx.insert(
                {
                    "id": entity_id,
                    "type": [WASTE],
                    "createdAt": stamp,
                    "modifiedAt": stamp,
                    FILLING: [current],
                    TEMPERATURE: [_prop(4.5 + index, now, "CEL")],
                    LOCATION: [_point(lon, lat)],
                    NAME: [{"type": "Property", "value": f"Piața Unirii {index}"}],
                    REFERS: [
                        {"type": "Relationship", "object": "urn:ngsi-ld:Device:cluj:sensor-1"}
                    ],
                }
            )
            tx.append_history(rows)
        station = "urn:ngsi-ld:AirQualityObserved:cluj:mărăști"
        pm_rows = [
            HistoryRow(
                entity_id=station,
                attr=PM25,
                instance=_prop(10.0 + h % 7, now - timedelta(hours=h), "GQ"),
                observed_at=now - timedelta(hours=h),
                number=10.0 + h % 7,
                entity_type=AIR,
            )
            for h in range(150, -1, -1)
        ]
        tx.insert(
            {
                "id": station,
                "type": [AIR],
                "createdAt": stamp,
                "modifiedAt": stamp,
                PM25: [pm_rows[-1].instance],
                LOCATION: [_point(23.6236, 46.7798)],
            }
        )
        tx.append_history(pm_rows)
        tx.insert(
            {
                "id": "urn:ngsi-ld:Building:cluj:primaria",
                "type": [BUILDING],
                "createdAt": stamp,
                "modifiedAt": stamp,
                NAME: [{"type": "Property", "value": "Primăria Cluj-Napoca"}],
            }
        )
    with store.transaction("iasi") as tx:
        tx.insert(
            {
                "id": "urn:ngsi-ld:Streetlight:iasi:0001",
                "type": [STREETLIGHT],
                "createdAt": stamp,
                "modifiedAt": stamp,
                LOCATION: [_point(27.5877, 47.1585)],
            }
        )


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded SQLite file, made once (password hashing is deliberately slow) and copied."""
    path = tmp_path_factory.mktemp("console-template") / "console.db"
    store = open_store(f"sqlite:///{path}")
    store.migrate()
    seed(store)
    store.close()
    return path


@pytest.fixture
def console_store(tmp_path: Path, seeded_database: Path) -> Iterator[ContextStore]:
    """A fresh copy of the seeded store for each test."""
    for suffix in ("", "-wal", "-shm"):
        source = seeded_database.with_name(seeded_database.name + suffix)
        if source.exists():
            shutil.copyfile(source, tmp_path / f"console.db{suffix}")
    store = open_store(f"sqlite:///{tmp_path / 'console.db'}")
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def console_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'console.db'}",
        default_tenant="cluj",
        secret_key="test-secret-key-with-enough-length",
    )


@pytest.fixture
def console_app(console_settings: Settings, console_store: ContextStore) -> FastAPI:
    return create_app(console_settings, console_store)


@pytest.fixture
def client(console_app: FastAPI) -> Iterator[httpx.Client]:
    """An httpx client (Starlette's TestClient) that does not follow redirects."""
    with TestClient(console_app, follow_redirects=False) as c:
        yield c


def log_in(client: httpx.Client, user: tuple[str, str] = ADMIN) -> httpx.Response:
    response = client.post("/login", data={"username": user[0], "password": user[1]})
    assert response.status_code == 303, response.text
    return response
