"""Citizens (Oradea City Report): residents report problems in the city — Open311 GeoReport v2
with photos, each report an NGSI-LD entity (``service_requests``) with a staff workflow.

Plugged in through the ``cetate.domains`` entry point ``citizens``
(:func:`console_domain`); see docs/domains/citizens.md.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib import resources
from typing import Final

from fastapi import APIRouter, FastAPI

from cetate.web.registry import ConsoleDomain, NavEntry

EMAIL_JOB: Final = "citizens.email"
EMAIL_EVERY: Final = timedelta(seconds=5)
RETENTION_JOB: Final = "citizens.retention"
RETENTION_EVERY: Final = timedelta(hours=1)


def register_jobs(app: FastAPI) -> None:
    """Register the domain's scheduler jobs ``citizens.email`` (the reporter e-mails and poll
    confirmations) and ``citizens.retention`` (erases reporter data of reports finished longer
    ago than ``limits.retention_days``, hourly) on the application's scheduler, once. The
    runtime is looked up when a job runs."""
    from cetate.domains.citizens.runtime import runtime_of
    from cetate.reactions.scheduler import JobContext, Scheduler

    scheduler: Scheduler | None = getattr(app.state, "scheduler", None)
    if scheduler is None or EMAIL_JOB in scheduler.jobs:
        return

    async def send_emails(context: JobContext) -> None:
        await runtime_of(app).mailer.run_once()

    async def retention(context: JobContext) -> None:
        import asyncio

        from cetate.domains.citizens.gdpr import apply_retention_everywhere

        await asyncio.to_thread(apply_retention_everywhere, runtime_of(app))

    scheduler.register(EMAIL_JOB, EMAIL_EVERY, send_emails)
    scheduler.register(RETENTION_JOB, RETENTION_EVERY, retention)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Merged into the application's lifespan by ``include_router``: runs after the core
    started its scheduler (a job registered on a running scheduler starts at once)."""
    register_jobs(app)
    yield


def _messages() -> dict[str, dict[str, str]]:
    """The pages' texts per language (``messages/ro.json``, ``messages/en.json``)."""
    folder = resources.files(__name__).joinpath("messages")
    return {
        lang: json.loads(folder.joinpath(f"{lang}.json").read_text(encoding="utf-8"))
        for lang in ("ro", "en")
    }


def console_domain() -> ConsoleDomain:
    """The domain as the console registry loads it: the Open311 API, the staff API, the
    residents' pages (report form, tracking page, public map), the staff inbox, its texts and
    templates, and its scheduler job (registered when the application starts)."""
    from cetate.domains.citizens import (
        dashboard_pages,
        inbox_pages,
        open311_api,
        poll_pages,
        polls_api,
        portal_pages,
        privacy_api,
        staff_api,
    )
    from cetate.domains.citizens.page_support import TEMPLATES_DIR

    messages = _messages()
    router = APIRouter(lifespan=_lifespan)
    router.include_router(staff_api.router)
    router.include_router(polls_api.router)
    router.include_router(privacy_api.router)
    router.include_router(dashboard_pages.router)
    router.include_router(polls_api.pages)
    router.include_router(dashboard_pages.pages)
    router.include_router(poll_pages.router)
    router.include_router(open311_api.router)
    router.include_router(portal_pages.router)
    router.include_router(inbox_pages.router)
    return ConsoleDomain(
        name="citizens",
        nav=[
            NavEntry(
                path="/citizens/inbox",
                labels={lang: texts["citizens.nav.inbox"] for lang, texts in messages.items()},
                icon="✎",
            ),
            NavEntry(
                path="/citizens/dashboard",
                labels={lang: texts["citizens.dashboard.nav"] for lang, texts in messages.items()},
                icon="▦",
            ),
            NavEntry(
                path="/citizens/polls",
                labels={lang: texts["citizens.polls.nav"] for lang, texts in messages.items()},
                icon="☑",
            ),
        ],
        router=router,
        templates_dir=TEMPLATES_DIR,
        messages=messages,
    )
