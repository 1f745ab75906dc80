"""Dead letters over HTTP: rejected device messages, listed and replayed (operators and
admins of the tenant only).

* ``GET /api/v1/{tenant}/dead-letters`` — newest first, filters ``device``, ``reason``,
  ``includeReplayed``, ``limit``/``offset``; the answer also counts the not-yet-replayed ones
  per reason.
* ``POST /api/v1/{tenant}/dead-letters/{id}/replay`` — run the message through the pipeline
  again with the device's current profile; 200 and marked replayed when stored, else a
  ProblemDetails with the reason it is still rejected.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cetate.api.deps import PrincipalDep, StoreDep
from cetate.api.devices_http import outcome_json
from cetate.api.platform import tenant_to_write
from cetate.api.responses import json_response
from cetate.errors import CetateError
from cetate.ingest.pipeline import IngestPipeline
from cetate.store.base import DeadLetter

router = APIRouter(tags=["devices"])

_PREVIEW_BYTES = 2048


class StillRejected(CetateError):
    status: ClassVar[int] = 422
    problem_type = "urn:cetate:errors:MessageRejected"
    title = "Message still rejected"


def dead_letter_json(letter: DeadLetter) -> dict[str, Any]:
    text = letter.payload[:_PREVIEW_BYTES].decode("utf-8", "replace")
    return {
        "id": letter.id,
        "device": letter.device,
        "source": letter.source,
        "receivedAt": letter.received_at.isoformat(),
        "reason": letter.reason,
        "detail": letter.detail,
        "size": len(letter.payload),
        "payloadText": text,
        "payloadBase64": base64.b64encode(letter.payload).decode("ascii"),
        "replayedAt": letter.replayed_at.isoformat() if letter.replayed_at else None,
    }


@router.get("/api/v1/{tenant}/dead-letters", summary="Rejected device messages")
def list_dead_letters(
    tenant: str,
    principal: PrincipalDep,
    store: StoreDep,
    device: str | None = None,
    reason: str | None = None,
    include_replayed: Annotated[bool, Query(alias="includeReplayed")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    letters = store.list_dead_letters(
        name,
        device=device,
        reason=reason,
        include_replayed=include_replayed,
        limit=limit,
        offset=offset,
    )
    return json_response(
        {
            "counts": store.count_dead_letters(name),
            "items": [dead_letter_json(letter) for letter in letters],
        }
    )


@router.post(
    "/api/v1/{tenant}/dead-letters/{dead_letter_id}/replay",
    summary="Run a rejected message through the pipeline again",
)
async def replay_dead_letter(
    tenant: str, dead_letter_id: int, principal: PrincipalDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    pipeline: IngestPipeline = request.app.state.ingest
    return json_response(await run_in_threadpool(replay, pipeline, name, dead_letter_id))


def replay(pipeline: IngestPipeline, tenant: str, dead_letter_id: int) -> dict[str, Any]:
    """Replay one dead letter of ``tenant`` (the caller has checked the right to): what was
    stored, as the API answers it. :class:`StillRejected` when the pipeline rejects it again;
    ResourceNotFound or BadRequestData (already replayed, no device) from the pipeline."""
    outcome = pipeline.replay(tenant, dead_letter_id)
    if not outcome.accepted:
        raise StillRejected(outcome.detail, reason=outcome.reason)
    return outcome_json(outcome)
