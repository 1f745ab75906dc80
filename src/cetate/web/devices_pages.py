"""The devices pages of the console: the list with a "new device" form, one device's page
(credentials, recent dead letters, commands), and the provision, rotate, revoke and
send-command actions. Everything goes through ``app.state.devices``
(:class:`~cetate.ingest.devices.service.DeviceService`) and ``app.state.commands``
(:class:`~cetate.reactions.commands.service.CommandService`).

New secrets (provision, rotate) are shown once, in the answer to the form, never stored or
shown again."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response

from cetate.api.paths import path_segment
from cetate.errors import AlreadyExists, CetateError, ResourceNotFound
from cetate.ingest.devices.credentials import DeviceCredentialRecord, IssuedCredentials
from cetate.ingest.devices.model import DEVICE_ID_RE, DeviceSpec, device_entity_id
from cetate.ingest.devices.service import DeviceInfo, DeviceService
from cetate.ngsi.representation import is_uri
from cetate.reactions.commands.model import Command
from cetate.web.actions import (
    NO_STORE,
    Unavailable,
    call,
    cannot_write,
    confirm_page,
    message_page,
    no_tenant,
    redirect,
    refused,
    service,
    tenant_name,
)
from cetate.web.pages import entity_url
from cetate.web.present import format_timestamp
from cetate.web.rendering import render
from cetate.web.session import ConsoleContext, ConsoleContextDep

router = APIRouter(include_in_schema=False)

FORM_TRANSPORTS: Final = ("mqtt", "http")
RECENT_DEAD_LETTERS: Final = 10
RECENT_COMMANDS: Final = 50
MAX_EXPIRY_MINUTES: Final = 7 * 24 * 60
PREVIEW_CHARS: Final = 300


def device_url(device: str) -> str:
    return "/devices/" + path_segment(device)


def _devices(context: ConsoleContext) -> DeviceService:
    devices: DeviceService = service(context, "devices")
    return devices


def _credentials(context: ConsoleContext) -> dict[str, DeviceCredentialRecord]:
    registry = _devices(context).credentials.registry
    return {r.device: r for r in registry.list_credentials(tenant_name(context))}


def _state(record: DeviceCredentialRecord | None) -> str:
    if record is None:
        return "none"
    return "revoked" if record.revoked else "active"


def _row(info: DeviceInfo, record: DeviceCredentialRecord | None, tenant: str) -> dict[str, Any]:
    target = info.entity_id or device_entity_id(tenant, info.device)
    return {
        "id": info.device,
        "url": device_url(info.device),
        "profile": info.profile,
        "transport": record.transport if record is not None else "",
        "state": _state(record),
        "entity_id": target,
        "entity_url": entity_url(target),
        "created": format_timestamp(info.created_at) if info.created_at else "",
    }


def _list_page(
    context: ConsoleContext,
    *,
    q: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    issued: dict[str, Any] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tenant = tenant_name(context)
    devices = _devices(context)
    credentials = _credentials(context)
    text = q.strip().lower()
    rows = [
        _row(info, credentials.get(info.device), tenant)
        for info in sorted(devices.list_devices(tenant), key=lambda d: d.device)
        if not text or text in info.device.lower()
    ]
    return render(
        context.request,
        "console/devices.html",
        context,
        status_code=status_code,
        headers=NO_STORE if issued else None,
        rows=rows,
        q=q,
        profiles=sorted(p.name for p in devices.list_profiles(tenant)),
        transports=FORM_TRANSPORTS,
        form=form or {"transport": "mqtt"},
        errors=errors or {},
        issued=issued,
        notice=notice,
    )


def _issued(credentials: IssuedCredentials) -> dict[str, Any]:
    return {
        "device": credentials.device,
        "url": device_url(credentials.device),
        "http_token": credentials.http_token,
        "mqtt_username": credentials.mqtt_username,
        "mqtt_password": credentials.mqtt_password,
    }


@router.get("/devices", response_class=HTMLResponse)
def devices_page(context: ConsoleContextDep, q: str = "") -> Response:
    if context.tenant is None:
        return no_tenant(context)
    return _list_page(context, q=q)


def _form_errors(
    context: ConsoleContext, form: dict[str, str], profiles: set[str]
) -> dict[str, str]:
    """Per-field problems of the "new device" form, in the user's language."""
    errors: dict[str, str] = {}
    if not DEVICE_ID_RE.fullmatch(form["device_id"]):
        errors["device_id"] = context.t("devices.error.id")
    if form["profile"] not in profiles:
        errors["profile"] = context.t("devices.error.profile")
    if form["transport"] not in FORM_TRANSPORTS:
        errors["transport"] = context.t("devices.error.transport")
    if form["entity_id"] and not is_uri(form["entity_id"]):
        errors["entity_id"] = context.t("devices.error.entity_id")
    return errors


@router.post("/devices", response_class=HTMLResponse)
def provision_device(
    context: ConsoleContextDep,
    csrf: Annotated[str, Form()] = "",
    device_id: Annotated[str, Form()] = "",
    profile: Annotated[str, Form()] = "",
    transport: Annotated[str, Form()] = "mqtt",
    entity_id: Annotated[str, Form()] = "",
) -> Response:
    if (answer := refused(context, csrf)) is not None:
        return answer
    tenant = tenant_name(context)
    form = {
        "device_id": device_id.strip(),
        "profile": profile.strip(),
        "transport": transport.strip(),
        "entity_id": entity_id.strip(),
    }
    devices = _devices(context)
    errors = _form_errors(context, form, {p.name for p in devices.list_profiles(tenant)})
    if not errors:
        try:
            spec = DeviceSpec.model_validate(
                {
                    "deviceId": form["device_id"],
                    "profile": form["profile"],
                    "transport": form["transport"],
                    "entityId": form["entity_id"] or None,
                }
            )
            issued = devices.provision(tenant, spec)
        except AlreadyExists:
            errors["device_id"] = context.t("devices.error.duplicate", id=form["device_id"])
        except (CetateError, ValueError) as exc:
            errors["form"] = context.t("devices.error.other", detail=str(exc))
        else:
            return _list_page(context, issued=_issued(issued), status_code=201)
    return _list_page(context, form=form, errors=errors, status_code=422)


# -- one device -----------------------------------------------------------------------------


def _dead_letters(context: ConsoleContext, device: str) -> list[dict[str, Any]]:
    letters = context.store.list_dead_letters(
        tenant_name(context), device=device, include_replayed=True, limit=RECENT_DEAD_LETTERS
    )
    return [
        {
            "id": letter.id,
            "received": format_timestamp(letter.received_at.isoformat()),
            "reason": letter.reason,
            "detail": letter.detail,
            "replayed": letter.replayed_at is not None,
        }
        for letter in letters
    ]


def _command_row(command: Command) -> dict[str, Any]:
    return {
        "id": command.id,
        "name": command.name,
        "value": json.dumps(command.value, ensure_ascii=False),
        "status": command.status,
        "created": format_timestamp(command.created_at.isoformat()),
        "expires": format_timestamp(command.expires_at.isoformat()),
        "source": command.source,
        "error": command.error,
    }


def _commands(context: ConsoleContext, device: str) -> list[dict[str, Any]] | None:
    """The device's commands, newest first; None when this server has no command service."""
    commands = service(context, "commands")
    try:
        found = call(commands.list, tenant_name(context), device=device, limit=RECENT_COMMANDS)
    except Unavailable:
        return None
    return [_command_row(command) for command in found]


def _not_found(context: ConsoleContext, device: str) -> HTMLResponse:
    return message_page(context, 404, "devices.title", context.t("devices.not_found", id=device))


def _device_page(
    context: ConsoleContext,
    device: str,
    *,
    issued: dict[str, Any] | None = None,
    notice: str | None = None,
    command_form: dict[str, str] | None = None,
    command_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tenant = tenant_name(context)
    info = _devices(context).get_device(tenant, device)
    if info is None:
        return _not_found(context, device)
    record = _devices(context).credentials.registry.get_credentials(tenant, device)
    return render(
        context.request,
        "console/device.html",
        context,
        status_code=status_code,
        headers=NO_STORE if issued else None,
        device=_row(info, record, tenant),
        device_entity_url=entity_url(device_entity_id(tenant, device)),
        record=record,
        rotated=format_timestamp(record.rotated_at.isoformat())
        if record and record.rotated_at
        else "",
        revoked=format_timestamp(record.revoked_at.isoformat())
        if record and record.revoked_at
        else "",
        dead_letters=_dead_letters(context, device),
        commands=_commands(context, device),
        command_form=command_form or {"name": "", "value": "", "expiry": "5"},
        command_error=command_error,
        issued=issued,
        notice=notice,
    )


@router.get("/devices/{device:segment}", response_class=HTMLResponse)
def device_page(context: ConsoleContextDep, device: str, done: str = "") -> Response:
    if context.tenant is None:
        return no_tenant(context)
    notice = context.t(f"devices.done.{done}") if done in ("revoked", "sent") else None
    return _device_page(context, device, notice=notice)


@router.post("/devices/{device:segment}/rotate", response_class=HTMLResponse)
def rotate_device(
    context: ConsoleContextDep, device: str, csrf: Annotated[str, Form()] = ""
) -> Response:
    if (answer := refused(context, csrf)) is not None:
        return answer
    try:
        issued = _devices(context).rotate(tenant_name(context), device)
    except ResourceNotFound:
        return _not_found(context, device)
    except CetateError as exc:
        return message_page(context, exc.status, "devices.title", exc.detail)
    return _device_page(context, device, issued=_issued(issued))


@router.get("/devices/{device:segment}/revoke", response_class=HTMLResponse)
def confirm_revoke(context: ConsoleContextDep, device: str) -> Response:
    if (answer := cannot_write(context)) is not None:
        return answer
    if _devices(context).get_device(tenant_name(context), device) is None:
        return _not_found(context, device)
    return confirm_page(
        context,
        title=context.t("devices.revoke"),
        question=context.t("devices.revoke_question", id=device),
        action=device_url(device) + "/revoke",
        submit=context.t("devices.revoke_confirm"),
        cancel_url=device_url(device),
    )


@router.post("/devices/{device:segment}/revoke", response_class=HTMLResponse)
def revoke_device(
    context: ConsoleContextDep,
    device: str,
    csrf: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    if (answer := refused(context, csrf)) is not None:
        return answer
    if confirm != "yes":
        return redirect(device_url(device) + "/revoke")
    try:
        _devices(context).revoke(tenant_name(context), device)
    except ResourceNotFound:
        return _not_found(context, device)
    except CetateError as exc:
        return message_page(context, exc.status, "devices.title", exc.detail)
    return redirect(device_url(device) + "?done=revoked")


@router.post("/devices/{device:segment}/commands", response_class=HTMLResponse)
def send_command(
    context: ConsoleContextDep,
    device: str,
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    expiry: Annotated[str, Form()] = "5",
) -> Response:
    if (answer := refused(context, csrf)) is not None:
        return answer
    form = {"name": name.strip(), "value": value, "expiry": expiry.strip()}
    return _send(context, device, form)


def _parse_command(context: ConsoleContext, form: dict[str, str]) -> tuple[Any, timedelta] | str:
    """The command's value and expiry, or what is wrong with them (in the user's language)."""
    if not form["name"]:
        return context.t("commands.error.name")
    try:
        parsed = json.loads(form["value"]) if form["value"].strip() else None
    except ValueError as exc:
        return context.t("commands.error.value", detail=str(exc))
    if not form["expiry"].isdigit() or not 1 <= int(form["expiry"]) <= MAX_EXPIRY_MINUTES:
        return context.t("commands.error.expiry", max=MAX_EXPIRY_MINUTES)
    return parsed, timedelta(minutes=int(form["expiry"]))


def _send(context: ConsoleContext, device: str, form: dict[str, str]) -> Response:
    parsed = _parse_command(context, form)
    if isinstance(parsed, str):
        return _device_page(
            context, device, command_form=form, command_error=parsed, status_code=422
        )
    value, expires_in = parsed
    commands = service(context, "commands")
    try:
        call(
            commands.send,
            tenant_name(context),
            device,
            form["name"],
            value,
            expires_in=expires_in,
            source=f"console:{context.principal.name}",
        )
    except Unavailable:
        return _device_page(
            context,
            device,
            command_form=form,
            command_error=context.t("ops.unavailable"),
            status_code=503,
        )
    except CetateError as exc:
        return _device_page(
            context,
            device,
            command_form=form,
            command_error=context.t("commands.error.refused", detail=exc.detail),
            status_code=404 if isinstance(exc, ResourceNotFound) else 422,
        )
    return redirect(device_url(device) + "?done=sent")
