"""The FastAPI application: NGSI-LD API, health endpoint, and the console when installed."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cetate import __version__ as cetate_version
from cetate.api import commands, dead_letters, devices_admin, devices_http, rules
from cetate.api.ngsild import ngsild_router
from cetate.api.paths import EchoTenant, PathSegments
from cetate.api.problems import install_problem_handlers
from cetate.api.responses import json_response
from cetate.config import Settings
from cetate.entities import CompositeObserver, EntityService
from cetate.ingest.devices.cache import VerifiedDeviceCache
from cetate.ingest.devices.credentials import DeviceCredentials, RegistryDeviceAuthenticator
from cetate.ingest.devices.service import DeviceService
from cetate.ingest.devices.store_registry import StoreDeviceRegistry
from cetate.ingest.mqtt.runtime import mqtt_runtime
from cetate.ingest.pipeline import IngestPipeline, RateLimiter
from cetate.ngsi.jsonld import ContextResolver
from cetate.reactions.commands import CommandService
from cetate.reactions.rules.service import AlertService, RuleService
from cetate.reactions.scheduler import Scheduler
from cetate.reactions.subscriptions.outbox import SubscriptionMatcher
from cetate.reactions.subscriptions.repository import SubscriptionRepository
from cetate.reactions.subscriptions.worker import NotificationWorker
from cetate.store.base import ContextStore, open_store

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Cetate's context store through the NGSI-LD API (ETSI GS CIM 009): entities, batch
operations, types and attributes, and attribute history (temporal API).

Send `NGSILD-Tenant` to choose a municipality's tenant. Send the JSON-LD @context in a
`Link` header with `application/json` bodies, or inside the body with `application/ld+json`.
Errors are `application/problem+json` ProblemDetails.
"""


def create_app(settings: Settings, store: ContextStore | None = None) -> FastAPI:
    """The whole HTTP application. Opens (and migrates) the store from
    ``settings.database_url`` when none is given, and then also closes it on shutdown; a
    given store is migrated too but left open (its owner closes it)."""
    owns_store = store is None
    the_store = store if store is not None else open_store(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker: NotificationWorker = app.state.notification_worker
        scheduler: Scheduler = app.state.scheduler
        try:
            async with mqtt_runtime(
                settings,
                authenticator=RegistryDeviceAuthenticator(app.state.device_credentials),
                handler=app.state.ingest.handle_mqtt,
            ) as app.state.mqtt:
                if settings.notification_worker:
                    worker.start()
                if settings.scheduler:
                    scheduler.start()
                try:
                    yield
                finally:
                    await scheduler.stop()
                    await worker.stop()
        finally:
            if owns_store:
                await run_in_threadpool(the_store.close)

    the_store.migrate()
    app = FastAPI(
        title="Cetate",
        version=_version(),
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = the_store
    app.state.context_resolver = ContextResolver()
    subscriptions = SubscriptionRepository(the_store, resolver=app.state.context_resolver)
    app.state.subscriptions = subscriptions
    app.state.write_observers = CompositeObserver(SubscriptionMatcher(subscriptions))
    app.state.entity_service = EntityService(the_store, app.state.write_observers)
    app.state.notification_worker = NotificationWorker(
        the_store,
        subscriptions,
        default_tenant=settings.default_tenant,
        poll_interval=settings.notification_poll_interval,
    )
    app.state.scheduler = Scheduler(the_store)
    _install_devices(app, settings, the_store)
    _install_commands(app, settings, the_store)
    _install_rules(app, settings, the_store)
    install_problem_handlers(app)
    app.add_middleware(EchoTenant)
    app.add_middleware(PathSegments)
    app.include_router(ngsild_router())
    app.include_router(devices_http.router)
    app.include_router(dead_letters.router)
    app.include_router(devices_admin.router)
    app.include_router(commands.router)
    app.include_router(rules.router)

    @app.get("/health", tags=["platform"], summary="Liveness and store check")
    def health() -> Response:
        the_store.get_setting("health-check")
        return json_response({"status": "ok", "version": _version()})

    _mount_console(app)
    return app


def _install_devices(app: FastAPI, settings: Settings, store: ContextStore) -> None:
    """The device registry, profiles and the ingest pipeline, at ``app.state``."""
    registry = StoreDeviceRegistry(store)
    credentials = DeviceCredentials(registry, VerifiedDeviceCache(registry.credentials_generation))
    resolver: ContextResolver = app.state.context_resolver
    app.state.device_credentials = credentials
    app.state.devices = DeviceService(store, app.state.entity_service, credentials, resolver)
    limiter = (
        RateLimiter(settings.device_rate_per_second, settings.device_rate_burst)
        if settings.device_rate_per_second > 0
        else None
    )
    app.state.ingest = IngestPipeline(
        store, app.state.entity_service, resolver, rate_limiter=limiter
    )
    app.state.http_device_counters = devices_http.HttpDeviceCounters()


def _install_commands(app: FastAPI, settings: Settings, store: ContextStore) -> None:
    """Commands to devices, at ``app.state.commands``."""
    app.state.commands = CommandService(store)


def _install_rules(app: FastAPI, settings: Settings, store: ContextStore) -> None:
    """Rules and alerts, at ``app.state.rules`` and ``app.state.alerts``."""
    app.state.rules = RuleService(app.state.entity_service)
    app.state.alerts = AlertService(app.state.entity_service)


def _version() -> str:
    return str(cetate_version)


def _mount_console(app: FastAPI) -> None:
    """``cetate.web.mount_console(app)`` when the console package is present."""
    try:
        web = importlib.import_module("cetate.web")
    except ImportError as exc:
        logger.info("console not mounted: %s", exc)
        return
    mount = getattr(web, "mount_console", None)
    if mount is not None:
        mount(app)
