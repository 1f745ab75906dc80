"""A store for the waste console pages: tenants cluj and iasi, their users, bins with fill
history in cluj (one fast, one slow, one without readings), one bin in iasi, and a small stored
simulation run in cluj."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from fastapi import FastAPI

from cetate.api.app import create_app
from cetate.auth.users import create_user, ensure_tenant
from cetate.config import Settings
from cetate.domains.waste.entities import (
    CETATE_WASTE,
    CONTAINER_TYPE,
    FILLING_LEVEL,
    WasteContainer,
    save,
)
from cetate.domains.waste.outputs.entities import ROUTE_TYPE
from cetate.domains.waste.simulator import SimulationParams, save_to_store, simulate
from cetate.entities import EntityService
from cetate.ngsi.model import EntityDoc
from cetate.store.base import ContextStore, HistoryRow, open_store

OPERATOR: Final = ("ana", "operator-password-1")
VIEWER: Final = ("vlad", "viewer-password-1")
STRANGER: Final = ("ion", "iasi-password-11")
# bin 1 fills fast (red by fill), bin 2 slowly, bin 3 has no history
BINS: Final = [
    WasteContainer("urn:ngsi-ld:WasteContainer:cluj:b1", 46.7712, 23.5899, 1100),
    WasteContainer("urn:ngsi-ld:WasteContainer:cluj:b2", 46.7685, 23.6031, 1100),
    WasteContainer("urn:ngsi-ld:WasteContainer:cluj:b3", 46.7749, 23.5781, 240),
]
RATES: Final = {"b1": 0.3, "b2": 0.05}
PLAN_DAY: Final = "2026-11-24"


def _history(store: ContextStore, now: datetime) -> None:
    rows: list[HistoryRow] = []
    for name, rate in RATES.items():
        for hours in range(72, -1, -6):
            at = now - timedelta(hours=hours)
            level = round(min(0.95, 0.05 + rate * (72 - hours) / 24), 3)
            stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            rows.append(
                HistoryRow(
                    entity_id=f"urn:ngsi-ld:WasteContainer:cluj:{name}",
                    attr=FILLING_LEVEL,
                    instance={"type": "Property", "value": level, "observedAt": stamp},
                    observed_at=at,
                    number=level,
                    entity_type=CONTAINER_TYPE,
                )
            )
    with store.transaction("cluj") as tx:
        tx.append_history(rows)


def seeded_store(path: Path) -> ContextStore:
    store = open_store(f"sqlite:///{path}")
    store.migrate()
    ensure_tenant(store, "cluj", "Cluj-Napoca")
    ensure_tenant(store, "iasi", "Iași")
    create_user(store, OPERATOR[0], OPERATOR[1], roles={"cluj": "operator"})
    create_user(store, VIEWER[0], VIEWER[1], roles={"cluj": "viewer"})
    create_user(store, STRANGER[0], STRANGER[1], roles={"iasi": "operator"})
    service = EntityService(store)
    save(service, "cluj", BINS)
    save(
        service,
        "iasi",
        [WasteContainer("urn:ngsi-ld:WasteContainer:iasi:x9", 47.16, 27.58, 1100)],
    )
    _history(store, datetime.now(UTC).replace(microsecond=0))
    run = simulate(SimulationParams(bins=30, trucks=1, days=3, seed=2, seconds_per_day=0.1))
    save_to_store(service, "cluj", run)
    service.batch_upsert("cluj", [_route("t1", 12_345, ["b1", "b2"]), _route("t2", 7_655, ["b3"])])
    return store


def _route(truck: str, metres: int, bins: list[str]) -> EntityDoc:
    """A stored route as ``cetate waste plan`` writes it (outputs/entities.py)."""

    def prop(value: object) -> list[dict[str, object]]:
        return [{"type": "Property", "value": value}]

    return {
        "id": f"urn:ngsi-ld:WasteCollectionRoute:cluj:{PLAN_DAY}:{truck}",
        "type": [ROUTE_TYPE],
        CETATE_WASTE + "collectionDate": prop(PLAN_DAY),
        CETATE_WASTE + "routeStops": prop([f"urn:ngsi-ld:WasteContainer:cluj:{b}" for b in bins]),
        CETATE_WASTE + "totalDistance": prop(metres),
        CETATE_WASTE + "totalDuration": prop(3600),
        CETATE_WASTE + "trips": prop(1),
        CETATE_WASTE + "distanceEstimate": prop(True),
    }


def application(store: ContextStore, path: Path) -> FastAPI:
    settings = Settings(
        database_url=f"sqlite:///{path}",
        default_tenant="cluj",
        secret_key="waste-pages-secret-0123456789",
        mqtt_builtin=False,
        notification_worker=False,
        scheduler=False,
    )
    return create_app(settings, store)
