"""The dead-letters page of the console: rejected device messages, newest first, filtered by
reason and device, with counts per reason, an escaped preview of the raw payload, and a
Replay button that does what ``POST /api/v1/{tenant}/dead-letters/{id}/replay`` does
(:func:`cetate.api.dead_letters.replay`)."""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response

from cetate.api.dead_letters import StillRejected, replay
from cetate.errors import CetateError
from cetate.store.base import DeadLetter
from cetate.web.actions import message_page, no_tenant, refused, service, tenant_name
from cetate.web.devices_pages import device_url
from cetate.web.present import format_timestamp
from cetate.web.rendering import render
from cetate.web.session import ConsoleContext, ConsoleContextDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE: Final = 50
PREVIEW_BYTES: Final = 400


def _row(letter: DeadLetter) -> dict[str, Any]:
    preview = letter.payload[:PREVIEW_BYTES].decode("utf-8", "replace")
    return {
        "id": letter.id,
        "device": letter.device,
        "device_url": device_url(letter.device) if letter.device else None,
        "source": letter.source,
        "received": format_timestamp(letter.received_at.isoformat()),
        "reason": letter.reason,
        "detail": letter.detail,
        "size": len(letter.payload),
        "preview": preview,
        "truncated": len(letter.payload) > PREVIEW_BYTES,
        "replayed": format_timestamp(letter.replayed_at.isoformat())
        if letter.replayed_at
        else None,
    }


def _filters(reason: str, device: str, replayed: bool) -> dict[str, str]:
    params = {"reason": reason.strip(), "device": device.strip()}
    found = {key: value for key, value in params.items() if value}
    if replayed:
        found["replayed"] = "1"
    return found


def _page(
    context: ConsoleContext,
    *,
    reason: str = "",
    device: str = "",
    replayed: bool = False,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tenant = tenant_name(context)
    letters = context.store.list_dead_letters(
        tenant,
        device=device.strip() or None,
        reason=reason.strip() or None,
        include_replayed=replayed,
        limit=PAGE_SIZE,
    )
    counts = context.store.count_dead_letters(tenant)
    params = _filters(reason, device, replayed)
    return render(
        context.request,
        "console/dead_letters.html",
        context,
        status_code=status_code,
        rows=[_row(letter) for letter in letters],
        counts=sorted(counts.items()),
        reason=reason,
        device=device,
        replayed=replayed,
        back="/dead-letters" + ("?" + urlencode(params) if params else ""),
        notice=notice,
        error=error,
    )


@router.get("/dead-letters", response_class=HTMLResponse)
def dead_letters_page(
    context: ConsoleContextDep, reason: str = "", device: str = "", replayed: str = ""
) -> Response:
    if context.tenant is None:
        return no_tenant(context)
    if not context.can_write:  # raw payloads: operators and admins only, as in the API
        return message_page(context, 403, "error.title", context.t("ops.operators_only"))
    return _page(context, reason=reason, device=device, replayed=replayed == "1")


@router.post("/dead-letters/{dead_letter_id}/replay", response_class=HTMLResponse)
def replay_page(
    context: ConsoleContextDep,
    dead_letter_id: int,
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    device: Annotated[str, Form()] = "",
    replayed: Annotated[str, Form()] = "",
) -> Response:
    if (answer := refused(context, csrf)) is not None:
        return answer

    def page(**values: Any) -> HTMLResponse:
        return _page(context, reason=reason, device=device, replayed=replayed == "1", **values)

    try:
        result = replay(service(context, "ingest"), tenant_name(context), dead_letter_id)
    except StillRejected as exc:
        message = context.t(
            "dead.still_rejected",
            id=dead_letter_id,
            reason=exc.extra.get("reason", ""),
            detail=exc.detail,
        )
        return page(error=message, status_code=422)
    except CetateError as exc:
        message = context.t("dead.replay_failed", id=dead_letter_id, detail=exc.detail)
        return page(error=message, status_code=exc.status)
    notice = context.t("dead.replayed_ok", id=dead_letter_id, entity=result.get("entityId") or "—")
    return page(notice=notice)
