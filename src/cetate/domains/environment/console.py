"""The domain's console part: the public air pages (:mod:`.pages`), their templates
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
    from cetate.domains.environment import pages

    router = APIRouter()
    router.include_router(pages.router)

    @router.get("/air", include_in_schema=False)
    def air_home(request: Request) -> RedirectResponse:
        """The air page of the default tenant."""
        return RedirectResponse(f"/air/{get_settings(request).default_tenant}", status_code=303)

    return ConsoleDomain(
        name="environment",
        nav=[
            NavEntry(
                "/air", {"ro": MESSAGES["ro"]["air.nav"], "en": MESSAGES["en"]["air.nav"]}, "☁"
            )
        ],
        router=router,
        templates_dir=TEMPLATES,
        messages=MESSAGES,
    )
