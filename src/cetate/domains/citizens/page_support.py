"""What the citizens pages share: rendering a public page (no session) in the visitor's
language, the tenant of a public URL, the domain's own static files, and labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse

from cetate.api.deps import TENANT_NAME_RE
from cetate.domains.citizens.config import pick
from cetate.domains.citizens.runtime import CitizensRuntime
from cetate.web.i18n import LANGUAGE_NAMES, LANGUAGES, pick_language
from cetate.web.rendering import translator
from cetate.web.session import current_path, request_language
from cetate.web.state import console_state

PACKAGE_DIR: Final = Path(__file__).parent
TEMPLATES_DIR: Final = PACKAGE_DIR / "templates"
STATIC_DIR: Final = PACKAGE_DIR / "static"
STATIC_FILES: Final = {"report.js", "map.js", "dashboard.js", "citizens.css"}


def page_language(request: Request) -> str:
    """``?lang=ro|en`` when given, else the console's language cookie, else Romanian."""
    asked = request.query_params.get("lang")
    return pick_language(asked) if asked in LANGUAGES else request_language(request)


def render_public(
    request: Request, template: str, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """A page for residents: the console's shell without navigation or session."""
    lang = page_language(request)
    html = (
        console_state(request)
        .env.get_template(template)
        .render(
            request=request,
            console=None,
            lang=lang,
            t=translator(request, lang),
            nav=[],
            languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            here=current_path(request),
            **values,
        )
    )
    return HTMLResponse(html, status_code=status_code)


def public_message(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return render_public(
        request, "console/message.html", status_code=status_code, title=title, message=message
    )


def public_tenant(runtime: CitizensRuntime, tenant: str) -> str | None:
    """The tenant a public URL names when it exists (the default tenant always does)."""
    if not TENANT_NAME_RE.fullmatch(tenant):
        return None
    if tenant == runtime.default_tenant or runtime.store.get_tenant(tenant) is not None:
        return tenant
    return None


def service_label(runtime: CitizensRuntime, tenant: str, code: Any, lang: str) -> str:
    """A category's name in ``lang`` (the code itself for a category no longer offered)."""
    service = runtime.config.service(tenant, str(code))
    return pick(service.service_name, lang) if service is not None else str(code)
