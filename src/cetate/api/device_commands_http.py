"""Commands for HTTP devices: fetch pending commands, answer with results.

Both routes take the device's own token (``Authorization: Bearer cdev_…``), as
``POST /devices/v1/{tenant}/{device}/attrs`` does: 401 for missing or bad credentials, 403
when the token is another device's.

* ``GET /devices/v1/{tenant}/{device}/commands`` — the device's pending, unexpired commands,
  oldest first, as ``[{"id", "name", "value", "expiresAt"}, …]``; each is marked
  ``delivered`` by this answer (it is not handed out again).
* ``POST /devices/v1/{tenant}/{device}/cmdexe`` — one result
  ``{"id", "status": "succeeded"|"failed"|"OK"|"ERROR", "result", "error"}`` (200 with
  ``{"id", "status"}``, or a ProblemDetails with ``reason``: 400 ``malformed_json`` /
  ``invalid_result``, 404 ``unknown_command`` (also for another device's command), 409
  ``command_expired`` / ``already_completed``), or an array of results (200 with one entry
  per result, each ``{"id", "status"}`` or ``{"id", "error": ProblemDetails}``). Sending the
  same result again is harmless.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cetate.api.deps import SettingsDep
from cetate.api.devices_http import authorize_device, limited_body
from cetate.api.problems import problem_response
from cetate.api.responses import json_response
from cetate.reactions.commands.inbox import CommandInbox, ResultOutcome
from cetate.reactions.commands.model import device_message
from cetate.reactions.commands.results import ResultRejected, parse_json
from cetate.reactions.commands.service import CommandService

router = APIRouter(tags=["devices"])

MAX_RESULTS = 100
"""Results in one POST."""


_FOREIGN: Final = (
    "this token belongs to another device; a device may only fetch and answer its own commands"
)


def _rejected_response(error: ResultRejected) -> Response:
    response = problem_response(error)
    response.status_code = error.http_status
    return response


def _entry(outcome: ResultOutcome, document: Any) -> dict[str, Any]:
    if outcome.command is not None:
        return {"id": outcome.command.id, "status": outcome.command.status}
    assert outcome.rejected is not None
    command_id = document.get("id") if isinstance(document, dict) else None
    return {"id": command_id, "error": outcome.rejected.problem()}


@router.get(
    "/devices/v1/{tenant}/{device}/commands",
    summary="A device fetches its pending commands (they become delivered)",
)
async def get_commands(
    tenant: str,
    device: str,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    refused = await authorize_device(request, tenant, device, authorization, foreign=_FOREIGN)
    if refused is not None:
        return refused
    service: CommandService = request.app.state.commands
    commands = await run_in_threadpool(service.poll, tenant, device)
    return json_response([device_message(c) for c in commands])


@router.post(
    "/devices/v1/{tenant}/{device}/cmdexe",
    summary="A device answers commands (one result or an array of results)",
)
async def post_results(
    tenant: str,
    device: str,
    request: Request,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    refused = await authorize_device(request, tenant, device, authorization, foreign=_FOREIGN)
    if refused is not None:
        return refused
    body = await limited_body(request, settings)
    if isinstance(body, Response):
        return body
    inbox: CommandInbox = request.app.state.command_inbox
    try:
        document = parse_json(body)
    except ResultRejected as exc:
        return _rejected_response(exc)
    if isinstance(document, list):
        if len(document) > MAX_RESULTS:
            return _rejected_response(
                ResultRejected(
                    "invalid_result",
                    f"{len(document)} results in one request; at most {MAX_RESULTS}",
                )
            )
        outcomes = [
            await run_in_threadpool(inbox.accept, tenant, device, item) for item in document
        ]
        return json_response([_entry(o, d) for o, d in zip(outcomes, document, strict=True)])
    outcome = await run_in_threadpool(inbox.accept, tenant, device, document)
    if outcome.rejected is not None:
        return _rejected_response(outcome.rejected)
    assert outcome.command is not None
    return json_response({"id": outcome.command.id, "status": outcome.command.status})
