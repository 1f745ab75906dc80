"""The citizens domain's services for one application, built on first use and kept at
``app.state.citizens`` (tests and embedding applications may set it beforehand, e.g. with
their own :class:`~cetate.domains.citizens.config.CitizensConfig`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from fastapi import FastAPI, Request

from cetate.api.deps import TENANT_NAME_RE
from cetate.config import Settings
from cetate.domains.citizens.config import CitizensConfig, load_config
from cetate.domains.citizens.errors import Open311Error, not_found
from cetate.domains.citizens.notifications import ReporterMailer
from cetate.domains.citizens.ratelimit import RateLimiter
from cetate.domains.citizens.reports import ReportService
from cetate.ngsi.timestamps import utc_now
from cetate.store.base import ContextStore

STATE_NAME: Final = "citizens"
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class CitizensRuntime:
    config: CitizensConfig
    store: ContextStore
    reports: ReportService
    default_tenant: str
    mailer: ReporterMailer
    limiter: RateLimiter
    """repeated submissions per app key / IP address (:mod:`.ratelimit`)"""

    def check_rate(self, client: str) -> None:
        """Count a submission of ``client``; Open311 429 when it is over the limit."""
        wait = self.limiter.allow(client)
        if wait is not None:
            limits = self.config.limits
            raise Open311Error(
                429,
                f"too many reports from this client: at most {limits.submissions_per_window} "
                f"every {limits.submission_window_seconds} s; try again in {int(wait) + 1} s",
            )

    def tenant_for(self, jurisdiction_id: str | None) -> str:
        """The tenant an Open311 ``jurisdiction_id`` names: a configured alias, or the tenant's
        own name; the default tenant when none is given. Open311 404 for anything else."""
        if jurisdiction_id is None or not jurisdiction_id.strip():
            return self.default_tenant
        name = self.config.jurisdictions.get(jurisdiction_id, jurisdiction_id)
        if TENANT_NAME_RE.fullmatch(name) and (
            name == self.default_tenant or self.store.get_tenant(name) is not None
        ):
            return name
        raise not_found(f"jurisdiction_id {jurisdiction_id!r} is not served here")


def build_runtime(
    app: FastAPI,
    config: CitizensConfig | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    settings: Settings | None = None,
) -> CitizensRuntime:
    """The domain's services on the application's store, entity service and @context
    resolver, stored at ``app.state.citizens``. ``clock`` gives "now" (tests move it);
    ``settings`` (default: the application's) give the SMTP server of reporter e-mails."""
    app_settings: Settings = app.state.settings
    chosen = config if config is not None else load_config()
    built = CitizensRuntime(
        config=chosen,
        store=app.state.store,
        reports=ReportService(
            app.state.store,
            app.state.entity_service,
            app.state.context_resolver,
            chosen,
            clock=clock,
        ),
        default_tenant=app_settings.default_tenant,
        mailer=ReporterMailer(app.state.store, settings or app_settings, clock=clock),
        limiter=RateLimiter(
            chosen.limits.submissions_per_window, chosen.limits.submission_window_seconds
        ),
    )
    setattr(app.state, STATE_NAME, built)
    return built


def get_runtime(request: Request) -> CitizensRuntime:
    """The application's :class:`CitizensRuntime`, built on first use."""
    return runtime_of(request.app)


def runtime_of(app: FastAPI) -> CitizensRuntime:
    """:func:`get_runtime` for code that has the application rather than a request."""
    found = getattr(app.state, STATE_NAME, None)
    if isinstance(found, CitizensRuntime):
        return found
    with _lock:
        found = getattr(app.state, STATE_NAME, None)
        if isinstance(found, CitizensRuntime):
            return found
        return build_runtime(app)
