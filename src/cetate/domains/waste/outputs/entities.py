"""Routes stored as entities: one ``WasteCollectionRoute`` (Cetate type, no FIWARE model fits
a planned collection round) per truck and day, created or replaced through EntityService.

Attributes: ``refVehicle`` (Relationship), ``collectionDate``, ``routeStops`` (ordered ids of
the bins), ``refWasteContainer`` (ListRelationship to the same bins), ``totalDistance`` (m),
``totalDuration`` (s), ``trips``, ``distanceEstimate`` (true when not measured on roads) and
``location``, the route's LineString (along the roads when planned on a network)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from cetate.domains.waste.entities import CETATE_WASTE
from cetate.domains.waste.outputs.model import PlannedRoute
from cetate.entities import BatchResult, EntityService
from cetate.ngsi.model import LOCATION, EntityDoc

ROUTE_TYPE: Final = CETATE_WASTE + "WasteCollectionRoute"


def route_id(tenant: str, route: PlannedRoute) -> str:
    truck = route.truck.rsplit(":", 1)[-1]
    return f"urn:ngsi-ld:WasteCollectionRoute:{tenant}:{route.day.isoformat()}:{truck}"


def route_to_entity(tenant: str, route: PlannedRoute) -> EntityDoc:
    bins = [s.id for s in route.bins]
    doc: EntityDoc = {
        "id": route_id(tenant, route),
        "type": [ROUTE_TYPE],
        CETATE_WASTE + "refVehicle": [{"type": "Relationship", "object": route.truck}],
        CETATE_WASTE + "collectionDate": [{"type": "Property", "value": route.day.isoformat()}],
        CETATE_WASTE + "routeStops": [{"type": "Property", "value": bins}],
        CETATE_WASTE + "totalDistance": [{"type": "Property", "value": route.distance_m}],
        CETATE_WASTE + "totalDuration": [{"type": "Property", "value": route.duration_s}],
        CETATE_WASTE + "trips": [{"type": "Property", "value": route.trips}],
        CETATE_WASTE + "distanceEstimate": [{"type": "Property", "value": route.estimate}],
    }
    if bins:
        doc[CETATE_WASTE + "refWasteContainer"] = [{"type": "ListRelationship", "objectList": bins}]
    coords = [[lon, lat] for lat, lon in route.line]
    if len({tuple(c) for c in coords}) >= 2:
        doc[LOCATION] = [
            {"type": "GeoProperty", "value": {"type": "LineString", "coordinates": coords}}
        ]
    return doc


def save_routes(service: EntityService, tenant: str, routes: Sequence[PlannedRoute]) -> BatchResult:
    """Create or replace the route entities of a plan in one batch."""
    return service.batch_upsert(tenant, [route_to_entity(tenant, r) for r in routes])
