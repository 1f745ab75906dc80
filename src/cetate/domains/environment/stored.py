"""Reading the domain's stored entities: term expansion, property and relationship values,
every entity of a type, and the public-read check for a set of types.

Terms are expanded with the Smart Data Models Environment @context
(:data:`.store_input.ENVIRONMENT_CONTEXT`); terms it does not define (``HealthStation``,
``BathingWater``, ``WaterQualityObserved`` …) fall to the NGSI-LD default vocabulary, exactly as
they do when a client posts the entity with that @context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import cache
from typing import Any, Final

from fastapi import Request

from cetate.api.deps import get_principal, get_settings, get_store
from cetate.auth.principal import require_read
from cetate.domains.environment.store_input import ENVIRONMENT_CONTEXT
from cetate.errors import CetateError, NonexistentTenant, ResourceNotFound
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.timestamps import parse_datetime
from cetate.store.base import ContextStore, EntityQuery, Tenant

LOCATION_IRI: Final = "https://uri.etsi.org/ngsi-ld/location"
MAX_ENTITIES: Final = 2000
PAGE: Final = 100


@cache
def iri(term: str) -> str:
    """``term`` expanded with the Environment @context."""
    return ContextResolver().resolve(ENVIRONMENT_CONTEXT).expand_term(term)


def instances(entity: dict[str, Any], term: str) -> list[dict[str, Any]]:
    found = entity.get(iri(term))
    return [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []


def value(entity: dict[str, Any], term: str) -> Any:
    """The default instance's value (Property) or object (Relationship), or None."""
    for instance in instances(entity, term):
        if "datasetId" not in instance:
            return instance.get("value", instance.get("object"))
    return None


def observed_at(entity: dict[str, Any], term: str) -> datetime | None:
    for instance in instances(entity, term):
        if "datasetId" not in instance:
            try:
                return parse_datetime(str(instance.get("observedAt", "")))
            except CetateError:
                return None
    return None


def objects(entity: dict[str, Any], term: str) -> list[str]:
    """Every object of a (possibly multi-instance) Relationship, in stored order."""
    found: list[str] = []
    for instance in instances(entity, term):
        target = instance.get("object")
        if isinstance(target, str) and target not in found:
            found.append(target)
    return found


def name_of(entity: dict[str, Any]) -> str:
    given = value(entity, "name")
    return given if isinstance(given, str) and given else str(entity["id"]).rsplit(":", 1)[-1]


def point(entity: dict[str, Any]) -> tuple[float, float] | None:
    """(longitude, latitude) of a Point location."""
    for instance in entity.get(LOCATION_IRI) or []:
        geometry = instance.get("value") if isinstance(instance, dict) else None
        if isinstance(geometry, dict) and geometry.get("type") == "Point":
            coordinates = geometry.get("coordinates")
            if isinstance(coordinates, list) and len(coordinates) >= 2:
                return float(coordinates[0]), float(coordinates[1])
    return None


def of_type(store: ContextStore, tenant: str, term: str) -> Iterator[dict[str, Any]]:
    """Every entity of type ``term`` in the tenant (by id), at most :data:`MAX_ENTITIES`."""
    offset = 0
    while offset < MAX_ENTITIES:
        page = store.query_entities(
            tenant, EntityQuery(types=TypeName(iri(term)), limit=PAGE, offset=offset)
        ).entities
        yield from page
        if len(page) < PAGE:
            return
        offset += PAGE


def is_a(entity: dict[str, Any] | None, term: str) -> bool:
    return entity is not None and iri(term) in (entity.get("type") or [])


def one(store: ContextStore, tenant: str, entity_id: str, term: str, what: str) -> dict[str, Any]:
    """The entity ``entity_id`` of type ``term``, or 404 saying ``what`` was not found."""
    entity = store.get_entity(tenant, entity_id)
    if entity is None or not is_a(entity, term):
        raise ResourceNotFound(f"no {what} {entity_id!r} in tenant {tenant!r}")
    return entity


def readable_tenant(request: Request, name: str, terms: tuple[str, ...]) -> Tenant:
    """The tenant ``name`` if the request may read every type in ``terms`` there: for a visitor
    without credentials, when the tenant lists them in its public types; 401/403 otherwise."""
    store = get_store(request)
    tenant = store.get_tenant(name)
    if tenant is None:
        raise NonexistentTenant(f"tenant {name!r} does not exist", tenant=name)
    principal = get_principal(request, get_settings(request), store)
    require_read(principal, tenant, [iri(t) for t in terms])
    return tenant


def reader(request: Request, tenant: Tenant) -> Callable[[Iterable[str]], bool]:
    """Whether the request may read entities of all these type IRIs in ``tenant`` (used to
    leave out grouped members whose type is not public to a visitor)."""
    store = get_store(request)
    principal = get_principal(request, get_settings(request), store)
    return lambda types: principal.can_read(tenant, list(types))
