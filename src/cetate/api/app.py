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
from cetate.api import (
    commands,
    dead_letters,
    device_commands_http,
    devices_admin,
    devices_http,
    rules,
)
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
                results_handler=app.state.command_inbox.handle_mqtt,
            ) as app.state.mqtt:
                _start_command_dispatcher(app)
                if settings.notification_worker:
                    worker.start()
                if settings.scheduler:
                    scheduler.start()
                try:
                    yield
                finally:
                    await scheduler.stop()
                    await worker.stop()
                    if app.state.command_dispatcher is not None:
                        await app.state.command_dispatcher.stop()
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
    _install_mosquitto_sync(app, settings, the_store)
    install_problem_handlers(app)
    app.add_middleware(EchoTenant)
    app.add_middleware(PathSegments)
    app.include_router(ngsild_router())
    app.include_router(devices_http.router)
    app.include_router(dead_letters.router)
    app.include_router(devices_admin.router)
    app.include_router(commands.router)
    app.include_router(device_commands_http.router)
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
    """Commands to devices, at ``app.state.commands``; device results at
    ``app.state.command_inbox``; the job ``commands.expire`` (every 10 s)."""
    from datetime import timedelta

    from cetate.reactions.commands.inbox import CommandInbox
    from cetate.reactions.scheduler import JobContext

    service = CommandService(store)
    app.state.commands = service
    app.state.command_inbox = CommandInbox(service)
    app.state.command_dispatcher = None

    def expire_commands(context: JobContext) -> None:
        service.expire_due()

    scheduler: Scheduler = app.state.scheduler
    scheduler.register("commands.expire", timedelta(seconds=10), expire_commands)


def _start_command_dispatcher(app: FastAPI) -> None:
    """Start the MQTT command dispatcher, kept at ``app.state.command_dispatcher``, when the
    MQTT runtime has a broker connection (built-in or external)."""
    from cetate.reactions.commands.dispatcher import CommandDispatcher

    connection = app.state.mqtt.connection
    if connection is None:
        return
    dispatcher = CommandDispatcher(app.state.commands, connection)
    app.state.commands.on_queued = dispatcher.wake
    app.state.command_dispatcher = dispatcher
    dispatcher.start()


def _install_mosquitto_sync(app: FastAPI, settings: Settings, store: ContextStore) -> None:
    """When a Mosquitto password file and ACL file are configured: the job
    ``devices.mosquitto-sync`` (every 2 s) rewrites them after any credential change and
    signals Mosquitto; the sync object (or None) at ``app.state.mosquitto_sync``."""
    from datetime import timedelta

    from cetate.ingest.devices.mosquitto_sync import sync_from_settings
    from cetate.reactions.scheduler import JobContext

    sync = sync_from_settings(store, settings)
    app.state.mosquitto_sync = sync
    if sync is None:
        return

    def mosquitto_sync_job(context: JobContext) -> None:
        sync.sync()

    scheduler: Scheduler = app.state.scheduler
    scheduler.register("devices.mosquitto-sync", timedelta(seconds=2), mosquitto_sync_job)


def _install_rules(app: FastAPI, settings: Settings, store: ContextStore) -> None:
    """Rules and alerts, at ``app.state.rules`` and ``app.state.alerts``; their write
    observer, the engine (``app.state.rule_engine``) and the action deliverer
    (``app.state.rule_actions``), run by the scheduler jobs ``rules.evaluate`` (1 s),
    ``rules.actions`` (1 s) and ``rules.tick`` (30 s)."""
    from datetime import timedelta

    from cetate.reactions.rules.actions import ActionDeliverer
    from cetate.reactions.rules.engine import RuleEngine
    from cetate.reactions.rules.observer import RuleObserver
    from cetate.reactions.rules.repository import RuleCache
    from cetate.reactions.scheduler import JobContext

    cache = RuleCache(store, app.state.context_resolver)
    app.state.rule_cache = cache
    app.state.rules = RuleService(app.state.entity_service, cache)
    app.state.alerts = AlertService(app.state.entity_service)
    app.state.write_observers.add(RuleObserver(cache))

    def tenants() -> list[str]:
        names = [t.name for t in store.list_tenants()]
        return names if settings.default_tenant in names else [settings.default_tenant, *names]

    engine = RuleEngine(store, app.state.entity_service, cache, tenants=tenants)
    actions = ActionDeliverer(store, app.state.alerts, settings, app.state.commands)
    app.state.rule_engine = engine
    app.state.rule_actions = actions

    async def deliver(context: JobContext) -> None:
        await actions.deliver()

    def evaluate(context: JobContext) -> None:
        engine.drain()

    def tick(context: JobContext) -> None:
        engine.tick()

    scheduler: Scheduler = app.state.scheduler
    scheduler.register("rules.evaluate", timedelta(seconds=1), evaluate)
    scheduler.register("rules.actions", timedelta(seconds=1), deliver)
    scheduler.register("rules.tick", timedelta(seconds=30), tick)


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
