"""The alerts page of the console: a tenant's alerts by status (open, acknowledged,
resolved) with severity badges, description, source entity and issue time, and the
Acknowledge and Resolve buttons of operators and admins. Through ``app.state.alerts``
(:class:`~cetate.reactions.rules.service.AlertService`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response

from cetate.api.paths import path_segment
from cetate.errors import CetateError, OperationNotSupported, ResourceNotFound
from cetate.reactions.rules.alerts import ALERT_STATUSES, AlertStatus
from cetate.web.actions import (
    Unavailable,
    call,
    message_page,
    no_tenant,
    redirect,
    refused,
    service,
    tenant_name,
    unavailable_page,
)
from cetate.web.pages import entity_url
from cetate.web.present import format_timestamp, short_id
from cetate.web.rendering import render
from cetate.web.session import ConsoleContext, ConsoleContextDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE: Final = 100
DEFAULT_STATUS: Final[AlertStatus] = "open"


def alert_url(alert_id: str) -> str:
    return "/alerts/" + path_segment(alert_id)


def _value(alert: Mapping[str, Any], name: str) -> Any:
    """An attribute's value (Property) or object (Relationship), in normalized or concise
    form; a typed literal (``{"@type": "DateTime", "@value": …}``) as its text."""
    attribute = alert.get(name)
    if isinstance(attribute, Mapping):
        attribute = attribute["value"] if "value" in attribute else attribute.get("object")
    if isinstance(attribute, Mapping) and "@value" in attribute:
        attribute = attribute["@value"]
    return attribute


def _row(alert: Mapping[str, Any]) -> dict[str, Any]:
    source = _value(alert, "alertSource")
    status = _value(alert, "status")
    return {
        "id": str(alert.get("id", "")),
        "url": alert_url(str(alert.get("id", ""))),
        "severity": str(_value(alert, "severity") or ""),
        "description": str(_value(alert, "description") or ""),
        "source": source if isinstance(source, str) else None,
        "source_short": short_id(source) if isinstance(source, str) else "",
        "source_url": entity_url(source) if isinstance(source, str) else None,
        "issued": format_timestamp(_value(alert, "dateIssued")),
        "status": status if status in ALERT_STATUSES else "open",
        "acknowledged_by": _value(alert, "acknowledgedBy"),
        "resolved_by": _value(alert, "resolvedBy"),
    }


def _status(text: str) -> AlertStatus | None:
    """The status filter; ``all`` (or anything unknown) is no filter."""
    if text == "":
        return DEFAULT_STATUS
    return text if text in ALERT_STATUSES else None


def _page(
    context: ConsoleContext,
    status_text: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    status = _status(status_text)
    try:
        alerts = call(
            service(context, "alerts").list, tenant_name(context), status=status, limit=PAGE_SIZE
        )
    except Unavailable:
        return unavailable_page(context, "alerts.title")
    tabs = [
        {
            "key": key,
            "url": "/alerts?" + urlencode({"status": key}),
            "current": (status or "all") == key,
        }
        for key in (*ALERT_STATUSES, "all")
    ]
    return render(
        context.request,
        "console/alerts.html",
        context,
        status_code=status_code,
        rows=[_row(alert) for alert in alerts],
        tabs=tabs,
        status=status or "all",
        notice=notice,
        error=error,
    )


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(context: ConsoleContextDep, status: str = "", done: str = "") -> Response:
    if context.tenant is None:
        return no_tenant(context)
    notice = context.t(f"alerts.done.{done}") if done in ("acknowledge", "resolve") else None
    return _page(context, status, notice=notice)


def _act(
    context: ConsoleContext,
    alert_id: str,
    action: Literal["acknowledge", "resolve"],
    csrf: str,
    back: str,
) -> Response:
    if (answer := refused(context, csrf)) is not None:
        return answer
    alerts = service(context, "alerts")
    method = alerts.acknowledge if action == "acknowledge" else alerts.resolve
    try:
        call(method, tenant_name(context), alert_id, context.principal.name)
    except Unavailable:
        return unavailable_page(context, "alerts.title")
    except ResourceNotFound:
        return message_page(
            context, 404, "alerts.title", context.t("alerts.not_found", id=alert_id)
        )
    except OperationNotSupported:
        error = context.t(f"alerts.error.{action}", id=alert_id)
        return _page(context, back, error=error, status_code=409)
    except CetateError as exc:
        return _page(context, back, error=exc.detail, status_code=exc.status)
    return redirect("/alerts?" + urlencode({"status": back or DEFAULT_STATUS, "done": action}))


@router.post("/alerts/{alert_id:segment}/acknowledge", response_class=HTMLResponse)
def acknowledge_alert(
    context: ConsoleContextDep,
    alert_id: str,
    csrf: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    return _act(context, alert_id, "acknowledge", csrf, back)


@router.post("/alerts/{alert_id:segment}/resolve", response_class=HTMLResponse)
def resolve_alert(
    context: ConsoleContextDep,
    alert_id: str,
    csrf: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    return _act(context, alert_id, "resolve", csrf, back)
