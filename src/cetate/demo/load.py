"""Loading the demo city into a store: tenant, admin user, entities and a week of history.

Everything is written through :class:`cetate.entities.EntityService` (entities with one batch
upsert, then one ``update`` batch per hour whose instances carry ``observedAt``), so the
readings land in the history table exactly as live sensor data would.

Loading is idempotent: when the tenant already holds the demo entities, only the tenant and the
admin user are checked, nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cetate.auth.users import ensure_admin, ensure_tenant
from cetate.demo.city import (
    CONTEXTS,
    DEMO_ADMIN,
    DEMO_PASSWORD,
    DEMO_TENANT,
    DEMO_TITLE,
    HOURS,
    PUBLIC_TYPES,
    build_city,
)
from cetate.entities import EntityService
from cetate.errors import CetateError
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import EntityDoc
from cetate.store.base import ContextStore

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class DemoReport:
    tenant: str
    admin: str
    admin_created: bool
    already_loaded: bool
    entities: int
    readings: int
    """attribute values written as history (0 when already loaded)"""


def load_demo(
    store: ContextStore,
    *,
    tenant: str = DEMO_TENANT,
    admin: str = DEMO_ADMIN,
    password: str = DEMO_PASSWORD,
    end: datetime | None = None,
    hours: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> DemoReport:
    """Create (or find) the demo city in ``tenant``. ``on_start`` receives the number of write
    steps (one per hour), ``on_progress`` is called with 1 after each."""
    resolver = ContextResolver()
    public = [resolver.resolve(CONTEXTS[name]).expand_term(name) for name in PUBLIC_TYPES]
    ensure_tenant(store, tenant, DEMO_TITLE, public_types=public)
    admin_created = store.get_user(admin) is None
    ensure_admin(store, tenant, admin, password, display_name="Demo administrator")

    city = build_city(end, hours=hours or HOURS, resolver=resolver)
    first = city.entities[0].doc["id"]
    if store.get_entity(tenant, first) is not None:
        return DemoReport(tenant, admin, admin_created, True, len(city.entities), 0)

    service = EntityService(store)
    if on_start is not None:
        on_start(len(city.hours))
    _write(service, tenant, city.initial_entities(), "replace")
    if on_progress is not None:
        on_progress(1)
    for _moment, batch in city.hourly_updates():
        _write(service, tenant, batch, "update")
        if on_progress is not None:
            on_progress(1)
    return DemoReport(tenant, admin, admin_created, False, len(city.entities), city.reading_count)


def _write(
    service: EntityService,
    tenant: str,
    entities: list[EntityDoc],
    mode: Literal["replace", "update"],
) -> None:
    for start in range(0, len(entities), CHUNK):
        chunk = entities[start : start + CHUNK]
        result = service.batch_upsert(tenant, chunk, mode=mode)
        if result.errors:
            failure = result.errors[0]
            raise CetateError(
                f"the demo city could not be written: {failure.entity_id}: {failure.error.detail}"
            )
