"""The ``cetate`` command line: serve, init, token, import, export, demo.

Thin on purpose: each command parses its options, opens the store and calls the module that does
the work (:mod:`cetate.auth`, :mod:`cetate.ingest.files`, :mod:`cetate.export`,
:mod:`cetate.demo`). Messages go to stderr; what a command produces (a token, an export) goes
to stdout, so it can be piped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Annotated, Any

import typer
from fastapi import FastAPI
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cetate.config import Settings
from cetate.errors import CetateError, NonexistentTenant
from cetate.loadtest.command import loadtest

app = typer.Typer(
    name="cetate",
    help="Cetate: an open-source NGSI-LD urban data platform for municipalities.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="API tokens for integrations.", no_args_is_help=True)
app.add_typer(token_app, name="token")
devices_app = typer.Typer(help="Devices: import, list, rotate, revoke.", no_args_is_help=True)
app.add_typer(devices_app, name="devices")
profiles_app = typer.Typer(help="Device profiles (payload mappings).", no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")

err = Console(stderr=True)
out = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="sqlite:///path/to/file.db or postgresql://user@host/db "
        "[default: $CETATE_DATABASE_URL, else sqlite:///./cetate.db]",
        show_default=False,
    ),
]
TenantOption = Annotated[
    str, typer.Option("--tenant", "-t", help="Tenant (municipality) name, e.g. cluj.")
]


class Role(StrEnum):
    admin = "admin"
    operator = "operator"
    viewer = "viewer"


class ImportFormat(StrEnum):
    ngsi_ld = "ngsi-ld"
    geojson = "geojson"
    csv = "csv"


class ExportFormat(StrEnum):
    ngsi_ld = "ngsi-ld"
    geojson = "geojson"


def _settings(database_url: str | None) -> Settings:
    if database_url:
        return Settings(database_url=database_url)
    return Settings()


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def _store(database_url: str | None) -> Iterator[Any]:
    """An open, migrated store; CetateErrors inside become a message and exit code 2."""
    from cetate.store.base import open_store

    settings = _settings(database_url)
    try:
        store = open_store(settings.database_url)
    except CetateError as exc:
        raise _fail(exc.detail) from None
    try:
        store.migrate()
        yield store
    except CetateError as exc:
        raise _fail(exc.detail) from None
    finally:
        store.close()


def _require_tenant(store: Any, tenant: str) -> None:
    if store.get_tenant(tenant) is None:
        raise NonexistentTenant(
            f"tenant {tenant!r} does not exist; create it with "
            f"`cetate init --tenant {tenant} --admin <user>`"
        )


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


# -- serve ----------------------------------------------------------------------------------


def asgi_app_from_environment() -> FastAPI:
    """The application built from CETATE_* environment variables (uvicorn factory for
    ``cetate serve --workers N``, where each worker builds its own)."""
    from cetate.api.app import create_app

    return create_app(Settings())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    database_url: DatabaseUrl = None,
    open_access: Annotated[
        bool,
        typer.Option(
            "--open",
            help="No authentication at all, for trying Cetate on your own machine. "
            "Only on a loopback address.",
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (stateless; share the database).")
    ] = 1,
    simulate: Annotated[
        bool,
        typer.Option(
            "--simulate",
            help="Run the demo's fill sensors live: they publish over the built-in MQTT broker "
            "(needs `cetate demo` first).",
        ),
    ] = False,
) -> None:
    """Serve the NGSI-LD API and the console over HTTP (uvicorn)."""
    import uvicorn

    from cetate.auth.loopback import is_loopback_host, open_mode_warning

    if open_access and not is_loopback_host(host):
        raise _fail(
            f"refusing to start in open mode (no authentication) on {host!r}: --open only "
            "binds to a loopback address (127.0.0.1, ::1 or localhost). Drop --open to serve "
            "other machines with authentication, or use --host 127.0.0.1."
        )
    if simulate and workers > 1:
        raise _fail("--simulate runs in one process: drop --workers or --simulate")
    settings = _settings(database_url)
    os.environ["CETATE_DATABASE_URL"] = settings.database_url
    os.environ["CETATE_OPEN_ACCESS"] = "true" if open_access else "false"
    settings = Settings()
    with _store(settings.database_url):
        pass  # migrate once, before any worker starts
    if open_access:
        err.print(Text(open_mode_warning(host, port), style="bold red"), soft_wrap=True)
    err.print(
        f"Cetate on [bold]http://{host}:{port}/[/] with {_redact(settings.database_url)}",
        highlight=False,
    )
    if workers > 1:
        uvicorn.run(
            "cetate.cli:asgi_app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
        )
    else:
        asgi_app = asgi_app_from_environment()
        if simulate:
            from cetate.demo.simulator import with_simulator

            asgi_app = with_simulator(asgi_app)
        uvicorn.run(asgi_app, host=host, port=port, proxy_headers=True)


def _redact(url: str) -> str:
    """A database URL without its password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, location = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{location}"


# -- init and tokens --------------------------------------------------------------------------


@app.command()
def init(
    tenant: TenantOption,
    admin: Annotated[str, typer.Option("--admin", help="Username of the tenant's admin.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="The admin's password (at least 10 characters); asked when not given.",
        ),
    ],
    title: Annotated[
        str | None, typer.Option(help="Human name of the tenant, e.g. Cluj-Napoca.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a tenant (municipality) and its admin user; creates the database if needed."""
    from cetate.auth.users import ensure_admin, ensure_tenant

    with _store(database_url) as store:
        existed = store.get_tenant(tenant) is not None
        user_existed = store.get_user(admin.strip().lower()) is not None
        ensure_tenant(store, tenant, title)
        user = ensure_admin(store, tenant, admin, password)
    err.print(
        f"Tenant [bold]{tenant}[/] {'exists' if existed else 'created'}; "
        f"[bold]{user.username}[/] is its admin"
        + (" (existing user, password unchanged)." if user_existed else "."),
        highlight=False,
    )


@token_app.command("create")
def token_create(
    tenant: TenantOption,
    role: Annotated[Role, typer.Option(help="What the token may do in the tenant.")],
    label: Annotated[
        str | None, typer.Option(help="Who or what uses the token (shown in token lists).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Issue an API bearer token; it is printed once and never shown again."""
    from cetate.auth.tokens import issue_token

    with _store(database_url) as store:
        record, secret = issue_token(
            store,
            tenant,
            role.value,
            label or f"created with `cetate token create` on {date.today().isoformat()}",
        )
    err.print(
        f"API token [bold]{record.token_id}[/] for tenant [bold]{tenant}[/] with role "
        f"[bold]{record.role}[/]. Copy it now: it is not shown again.",
        highlight=False,
    )
    out.print(secret, highlight=False, soft_wrap=True)


# -- import and export ----------------------------------------------------------------------


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="The file to import.", show_default=False)],
    tenant: TenantOption,
    file_format: Annotated[
        ImportFormat | None,
        typer.Option("--format", "-f", help="File format [default: from the file extension]."),
    ] = None,
    entity_type: Annotated[
        str | None,
        typer.Option("--type", help="Entity type for GeoJSON features and CSV rows."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(help="CSV column mapping (JSON); see docs/operations.md."),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            "-c",
            help="CSV column to attribute: COLUMN=ATTRIBUTE[:TYPE] (repeatable).",
        ),
    ] = None,
    context: Annotated[
        str | None,
        typer.Option(help="@context URL for records without their own @context."),
    ] = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Entities per write transaction.")] = 500,
    database_url: DatabaseUrl = None,
) -> None:
    """Import entities from NGSI-LD JSON, GeoJSON or CSV; reports rejected rows (exit 1)."""
    from cetate.entities import EntityService
    from cetate.ingest.files.csv_mapping import load_mapping, parse_column_options
    from cetate.ingest.files.importer import guess_format, import_items, read_file
    from cetate.ngsi.jsonld import ContextResolver
    from cetate.reactions.subscriptions.outbox import SubscriptionMatcher
    from cetate.reactions.subscriptions.repository import SubscriptionRepository

    with _store(database_url) as store:
        _require_tenant(store, tenant)
        chosen = file_format.value if file_format else guess_format(file)
        parsed = read_file(
            file,
            chosen,
            ContextResolver(),
            entity_type=entity_type,
            mapping=load_mapping(mapping) if mapping else None,
            columns=parse_column_options(column or []),
            context=context,
        )
        with _progress() as progress:
            task = progress.add_task(f"Importing {file.name}", total=parsed.total)
            report = import_items(
                parsed.items,
                # imported changes queue their notifications; the server's worker sends them
                EntityService(store, SubscriptionMatcher(SubscriptionRepository(store))),
                tenant,
                chunk_size=chunk_size,
                on_progress=lambda done: progress.advance(task, done),
            )
    out.print(
        f"{file.name}: {report.rows} records read, {report.stored} entities stored, "
        f"{len(report.rejected)} rejected.",
        highlight=False,
        soft_wrap=True,
    )
    if report.rejected:
        _print_rejected(report.rejected)
        raise typer.Exit(1)


def _print_rejected(rejected: list[Any]) -> None:
    """A table on a terminal; one ``row N (id): reason`` line each otherwise (for scripts)."""
    if not out.is_terminal:
        for failure in rejected:
            out.print(
                f"row {failure.row} ({failure.entity_id or 'no id'}): {failure.reason}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        return
    table = Table(title="Rejected records", show_lines=False, expand=False)
    table.add_column("row", justify="right")
    table.add_column("id", overflow="fold")
    table.add_column("reason", overflow="fold")
    for failure in rejected:
        table.add_row(str(failure.row), Text(failure.entity_id or "—"), Text(failure.reason))
    out.print(table)


@app.command("export")
def export_command(
    tenant: TenantOption,
    file_format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ExportFormat.ngsi_ld,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output file [default: stdout].")
    ] = None,
    context: Annotated[
        str | None,
        typer.Option(help="@context URL to compact names with [default: NGSI-LD core]."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export every entity of a tenant as NGSI-LD JSON or GeoJSON (re-importable)."""
    from cetate.export import export_tenant
    from cetate.ngsi.jsonld import ContextResolver

    with _store(database_url) as store:
        _require_tenant(store, tenant)
        ld_context = ContextResolver().resolve(context)
        if output is None:
            count = export_tenant(
                store, tenant, ld_context, sys.stdout, file_format=file_format.value
            )
        else:
            with output.open("w", encoding="utf-8") as handle:
                count = export_tenant(
                    store, tenant, ld_context, handle, file_format=file_format.value
                )
    err.print(
        f"Exported {count} entities of tenant {tenant}" + (f" to {output}." if output else "."),
        highlight=False,
    )


# -- demo ---------------------------------------------------------------------------------------


@app.command()
def demo(
    database_url: DatabaseUrl = None,
    tenant: TenantOption = "cluj",
    hours: Annotated[
        int, typer.Option(min=1, max=24 * 31, help="Hours of history to generate.")
    ] = 7 * 24,
) -> None:
    """Create the demo city: Cluj-Napoca with a few hundred assets and sensors, a week of
    hourly readings and its fill sensors registered as MQTT devices (idempotent)."""
    from cetate.demo.city import DEMO_ADMIN, DEMO_PASSWORD
    from cetate.demo.devices import provision_demo_devices
    from cetate.demo.load import load_demo

    with _store(database_url) as store, _progress() as progress:
        task = progress.add_task("Writing the demo city", total=None)
        report = load_demo(
            store,
            tenant=tenant,
            hours=hours,
            on_start=lambda total: progress.update(task, total=total),
            on_progress=lambda done: progress.advance(task, done),
        )
        registered = provision_demo_devices(store, tenant)
    if report.already_loaded:
        err.print(
            f"The demo city is already in tenant [bold]{tenant}[/]; nothing written.",
            highlight=False,
        )
    else:
        err.print(
            f"Demo city written to tenant [bold]{tenant}[/]: {report.entities} entities, "
            f"{report.readings} readings of history.",
            highlight=False,
        )
    if registered:
        err.print(
            f"{registered} fill sensors registered as MQTT devices; `cetate serve --simulate` "
            "makes them publish live.",
            highlight=False,
        )
    password_line = (
        f"password: [bold]{DEMO_PASSWORD}[/]"
        if report.admin_created
        else f"password: unchanged (the demo sets [bold]{DEMO_PASSWORD}[/] when it creates "
        "the user)"
    )
    out.print(
        Panel(
            f"Sign in as [bold]{DEMO_ADMIN}[/]  {password_line}\n"
            f"Tenant: [bold]{tenant}[/] (send NGSILD-Tenant: {tenant})",
            title="Demo city (Cluj-Napoca)",
            border_style="green",
        ),
        highlight=False,
    )


# -- devices and profiles ---------------------------------------------------------------------


def _device_service(store: Any) -> Any:
    from cetate.entities import EntityService
    from cetate.ingest.devices.cache import VerifiedDeviceCache
    from cetate.ingest.devices.credentials import DeviceCredentials
    from cetate.ingest.devices.service import DeviceService
    from cetate.ingest.devices.store_registry import StoreDeviceRegistry
    from cetate.ngsi.jsonld import ContextResolver
    from cetate.reactions.subscriptions.outbox import SubscriptionMatcher
    from cetate.reactions.subscriptions.repository import SubscriptionRepository

    registry = StoreDeviceRegistry(store)
    credentials = DeviceCredentials(registry, VerifiedDeviceCache(registry.credentials_generation))
    entities = EntityService(store, SubscriptionMatcher(SubscriptionRepository(store)))
    return DeviceService(store, entities, credentials, ContextResolver())


@profiles_app.command("put")
def profiles_put(
    file: Annotated[Path, typer.Argument(help="The profile (JSON).", show_default=False)],
    tenant: TenantOption,
    database_url: DatabaseUrl = None,
) -> None:
    """Create or replace a device profile (by its name)."""
    try:
        document = file.read_bytes()
    except OSError as exc:
        raise _fail(f"{file}: {exc.strerror}") from None
    with _store(database_url) as store:
        profile, warnings = _device_service(store).put_profile(tenant, document)
    for warning in warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    out.print(f"profile {profile.name} stored in tenant {tenant}", highlight=False)


@profiles_app.command("list")
def profiles_list(tenant: TenantOption, database_url: DatabaseUrl = None) -> None:
    """The tenant's device profiles."""
    with _store(database_url) as store:
        for profile in _device_service(store).list_profiles(tenant):
            typer.echo(f"{profile.name}\t{profile.entity_type}")


@devices_app.command("import")
def devices_import(
    file: Annotated[Path, typer.Argument(help="Devices CSV.", show_default=False)],
    tenant: TenantOption,
    credentials_out: Annotated[
        Path,
        typer.Option(
            "--credentials-out",
            help="New file for the issued secrets (mode 0600; never overwritten).",
        ),
    ],
    profile: Annotated[
        str | None, typer.Option(help="Profile of rows with an empty or no profile column.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register devices from a CSV: each gets its Device entity and its own credentials,
    written once to --credentials-out. Bad rows are listed; exit code 1 when any."""
    from cetate.ingest.devices.csv_import import (
        CREDENTIALS_WARNING,
        DeviceRow,
        DeviceRowError,
        read_devices_csv,
        write_credentials_csv,
    )

    with _store(database_url) as store:
        service = _device_service(store)
        known = {p.name for p in service.list_profiles(tenant)}
        if profile is not None and profile not in known:
            raise _fail(f"tenant {tenant!r} has no device profile {profile!r}")
        parsed = read_devices_csv(file, known_profiles=known, default_profile=profile)
        rejected: list[DeviceRowError] = []
        with _progress() as progress:
            task = progress.add_task(f"Registering {file.name}", total=parsed.total)

            def issued() -> Iterator[Any]:
                for item in parsed.items:
                    progress.advance(task)
                    if not isinstance(item, DeviceRow):
                        rejected.append(item)
                        continue
                    try:
                        yield service.provision(tenant, item.spec)
                    except CetateError as exc:
                        rejected.append(DeviceRowError(item.row, item.spec.device_id, exc.detail))

            count = write_credentials_csv(credentials_out, issued())
    out.print(
        f"{file.name}: {count} devices registered, {len(rejected)} rejected; credentials in "
        f"{credentials_out}.",
        highlight=False,
        soft_wrap=True,
    )
    err.print(CREDENTIALS_WARNING, highlight=False, soft_wrap=True)
    if rejected:
        for failure in rejected:
            out.print(
                f"row {failure.row} ({failure.device_id or 'no id'}): {failure.reason}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        raise typer.Exit(1)


@devices_app.command("list")
def devices_list(tenant: TenantOption, database_url: DatabaseUrl = None) -> None:
    """The tenant's devices: id, profile, transport, state."""
    with _store(database_url) as store:
        service = _device_service(store)
        records = {r.device: r for r in service.credentials.registry.list_credentials(tenant)}
        for info in service.list_devices(tenant):
            record = records.get(info.device)
            transport = record.transport if record else "-"
            state = (
                "no credentials" if record is None else ("revoked" if record.revoked else "active")
            )
            typer.echo(f"{info.device}\t{info.profile}\t{transport}\t{state}")


@devices_app.command("rotate")
def devices_rotate(
    device: Annotated[str, typer.Argument(help="Device id.", show_default=False)],
    tenant: TenantOption,
    database_url: DatabaseUrl = None,
) -> None:
    """New secrets for a device (the old ones stop working at once); printed once."""
    with _store(database_url) as store:
        issued = _device_service(store).rotate(tenant, device)
    err.print("New credentials; copy them now: they are not shown again.", highlight=False)
    if issued.http_token:
        out.print(f"http_token={issued.http_token}", highlight=False, markup=False)
    if issued.mqtt_password:
        out.print(f"mqtt_username={issued.mqtt_username}", highlight=False, markup=False)
        out.print(f"mqtt_password={issued.mqtt_password}", highlight=False, markup=False)


@devices_app.command("revoke")
def devices_revoke(
    device: Annotated[str, typer.Argument(help="Device id.", show_default=False)],
    tenant: TenantOption,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a device's credentials at once."""
    with _store(database_url) as store:
        _device_service(store).revoke(tenant, device)
    out.print(f"device {device} of tenant {tenant}: credentials revoked", highlight=False)


@devices_app.command("mosquitto-sync")
def devices_mosquitto_sync(
    password_file: Annotated[
        Path, typer.Option("--password-file", help="Mosquitto password_file to write.")
    ],
    acl_file: Annotated[Path, typer.Option("--acl-file", help="Mosquitto acl_file to write.")],
    pid_file: Annotated[
        Path | None,
        typer.Option("--pid-file", help="Mosquitto's pid_file: send that process SIGHUP."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write Mosquitto's password file (every tenant's MQTT devices, revoked ones left out,
    and the service user) and ACL file once, atomically with mode 0600; then signal
    Mosquitto to reload. The service password comes from $CETATE_MOSQUITTO_SERVICE_PASSWORD
    (else from $CETATE_MQTT_EXTERNAL_URL)."""
    from cetate.ingest.devices.mosquitto_sync import (
        MosquittoSync,
        MosquittoSyncError,
        sync_from_settings,
    )

    settings = _settings(database_url)
    with _store(database_url) as store:
        try:
            configured = sync_from_settings(
                store,
                settings.model_copy(
                    update={
                        "mosquitto_password_file": str(password_file),
                        "mosquitto_acl_file": str(acl_file),
                        "mosquitto_pid_file": str(pid_file) if pid_file else "",
                    }
                ),
            )
            assert isinstance(configured, MosquittoSync)
            result = configured.sync(force=True)
        except MosquittoSyncError as exc:
            raise _fail(str(exc)) from None
        except OSError as exc:
            raise _fail(f"cannot write {exc.filename}: {exc.strerror}") from None
    out.print(
        f"{password_file}: {result.devices} device logins and the service user; {acl_file}: ACL",
        highlight=False,
        soft_wrap=True,
    )
    if pid_file is not None:
        if result.signal_error is not None:
            raise _fail(f"files written, Mosquitto not reloaded: {result.signal_error}", 1)
        out.print(f"Mosquitto (pid file {pid_file}) told to reload", highlight=False)


app.command("loadtest")(loadtest)


def add_domain_commands(root: typer.Typer, eps: Iterable[EntryPoint] | None = None) -> list[str]:
    """Every domain of the ``cetate.domains`` entry-point group whose object has a ``cli``
    attribute (a :class:`typer.Typer`, or a callable returning one) adds its commands under
    the entry point's name (``cetate environment simulate``). A domain that fails to load is
    reported on stderr and skipped: one broken plug-in never takes the CLI down. Returns the
    names added."""
    from importlib.metadata import entry_points

    added: list[str] = []
    for ep in entry_points(group="cetate.domains") if eps is None else eps:
        try:
            commands = getattr(ep.load(), "cli", None)
            if callable(commands) and not isinstance(commands, typer.Typer):
                commands = commands()
        except Exception as exc:  # a plug-in's failure of any kind
            err.print(
                f"[yellow]warning:[/] domain {escape(ep.name)!r} not loaded: {escape(str(exc))}",
                highlight=False,
                soft_wrap=True,
            )
            continue
        if isinstance(commands, typer.Typer):
            root.add_typer(commands, name=ep.name)
            added.append(ep.name)
    return added


add_domain_commands(app)


def main() -> None:  # pragma: no cover - the console script calls ``app`` directly
    app()
