"""Citizens (Oradea City Report): residents report problems in the city — Open311 GeoReport v2
with photos, each report an NGSI-LD entity (``service_requests``) with a staff workflow.

Plugged in through the ``cetate.domains`` entry point ``citizens``
(:func:`console_domain`); see docs/domains/citizens.md.
"""

from __future__ import annotations

from fastapi import APIRouter

from cetate.web.registry import ConsoleDomain


def console_domain() -> ConsoleDomain:
    """The domain as the console registry loads it: the Open311 API and the staff API (pages
    come later)."""
    from cetate.domains.citizens import open311_api, staff_api

    router = APIRouter()
    router.include_router(staff_api.router)
    router.include_router(open311_api.router)
    return ConsoleDomain(name="citizens", router=router)
