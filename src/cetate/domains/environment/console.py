"""The domain's console part: the public air, health and water pages (:mod:`.pages`,
:mod:`.health_pages`, :mod:`.water_pages`), their templates
(``templates/environment/``) and texts (:mod:`.messages`), and a navigation entry."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from cetate.api.deps import get_settings
from cetate.domains.environment.messages import MESSAGES
from cetate.web.registry import ConsoleDomain, NavEntry

TEMPLATES = Path(__file__).parent / "templates"


def console_domain() -> ConsoleDomain:
    """The domain as the console registry loads it."""
    from cetate.domains.environment import health_pages, pages, water_pages

    router = APIRouter()
    router.include_router(pages.router)
    router.include_router(health_pages.router)
    router.include_router(water_pages.router)

    @router.get("/air", include_in_schema=False)
    def air_home(request: Request) -> RedirectResponse:
        """The air page of the default tenant."""
        return RedirectResponse(f"/air/{get_settings(request).default_tenant}", status_code=303)

    @router.get("/health-stations", include_in_schema=False)
    def health_home(request: Request) -> RedirectResponse:
        """The health dashboard of the default tenant."""
        return RedirectResponse(
            f"/health-stations/{get_settings(request).default_tenant}", status_code=303
        )

    @router.get("/water", include_in_schema=False)
    def water_home(request: Request) -> RedirectResponse:
        """The water page of the default tenant."""
        return RedirectResponse(f"/water/{get_settings(request).default_tenant}", status_code=303)

    return ConsoleDomain(
        name="environment",
        nav=[
            NavEntry(
                "/air", {"ro": MESSAGES["ro"]["air.nav"], "en": MESSAGES["en"]["air.nav"]}, "☁"
            ),
            NavEntry(
                "/health-stations",
                {"ro": MESSAGES["ro"]["health.nav"], "en": MESSAGES["en"]["health.nav"]},
                "✚",
            ),
            NavEntry(
                "/water",
                {"ro": MESSAGES["ro"]["water.nav"], "en": MESSAGES["en"]["water.nav"]},
                "≈",
            ),
        ],
        router=router,
        templates_dir=TEMPLATES,
        messages=MESSAGES,
    )
