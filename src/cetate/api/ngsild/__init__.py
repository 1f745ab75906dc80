"""The NGSI-LD API (ETSI GS CIM 009), one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from cetate.api.ngsild import batch, entities, subscriptions, temporal, types


def ngsild_router() -> APIRouter:
    """Every NGSI-LD route under ``/ngsi-ld/v1``."""
    router = APIRouter()
    router.include_router(entities.router)
    router.include_router(batch.router)
    router.include_router(types.router)
    router.include_router(temporal.router)
    router.include_router(subscriptions.router)
    return router
