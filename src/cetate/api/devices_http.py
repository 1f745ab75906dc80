"""The HTTP device endpoint: devices send the same payloads as over MQTT.

``POST /devices/v1/{tenant}/{device}/attrs`` with ``Authorization: Bearer cdev_…`` (the
device's own token) and a JSON body: one reading (an object) or a batch (an array). The
answer is 200 with what was stored, or a ProblemDetails:

* 401 for missing or bad credentials (counted, never dead-lettered, the same answer whatever
  was wrong so nobody learns which devices exist), 403 when the token is another device's;
* 413 for a body over ``CETATE_DEVICE_MAX_PAYLOAD_BYTES`` (refused before it is read; counted);
* 415 for a body that is not JSON by its Content-Type;
* for a message the pipeline rejects: 400 (422 when the device's profile or target entity is
  missing, 413 for a payload over the profile's limit, 429 when rate-limited), with ``reason``
  and ``deadLetterId`` — the message is kept as a dead letter.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Annotated, Any, ClassVar, Final

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cetate.api.deps import SettingsDep
from cetate.api.problems import problem_response
from cetate.api.responses import json_response
from cetate.config import Settings
from cetate.errors import CetateError, PayloadTooLarge, Unauthenticated, UnsupportedMediaType
from cetate.ingest.devices.credentials import DeviceCredentials
from cetate.ingest.pipeline import IngestOutcome, IngestPipeline
from cetate.ngsi.timestamps import utc_now

router = APIRouter(tags=["devices"])

_STATUS_OF_REASON: Final = {
    "rate_limited": 429,
    "oversized": 413,
    "unknown_device": 422,
    "unknown_profile": 422,
    "unknown_entity": 422,
    "internal_error": 500,
}


class DeviceRefused(CetateError):
    status: ClassVar[int] = 403
    problem_type = "urn:cetate:errors:DeviceRefused"
    title = "Device refused"


class MessageRejected(CetateError):
    status: ClassVar[int] = 400
    problem_type = "urn:cetate:errors:MessageRejected"
    title = "Message rejected"


class _Rejected(MessageRejected):
    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self._status = status

    def problem(self) -> dict[str, Any]:
        body = super().problem()
        body["status"] = self._status
        return body


class HttpDeviceCounters:
    """Requests refused before the pipeline, by reason (bad credentials are only counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.refused: Counter[str] = Counter()

    def count(self, reason: str) -> None:
        with self._lock:
            self.refused[reason] += 1


def refuse(request: Request, reason: str, error: CetateError) -> Response:
    """The ProblemDetails answer to a device request refused before the pipeline, counted
    under ``reason`` (with the Bearer challenge on 401)."""
    counters: HttpDeviceCounters = request.app.state.http_device_counters
    counters.count(reason)
    challenge = {"WWW-Authenticate": 'Bearer realm="cetate-devices"'}
    return problem_response(error, challenge if error.status == 401 else None)


async def authorize_device(
    request: Request, tenant: str, device: str, authorization: str | None, *, foreign: str
) -> Response | None:
    """None when ``authorization`` is the device token of ``device`` in ``tenant``, else the
    refusal to send: 401 for a missing or bad token, 403 (detail ``foreign``) for another
    device's."""
    credentials: DeviceCredentials = request.app.state.device_credentials
    if not authorization:
        return refuse(request, "missing_credentials", Unauthenticated("device token required"))
    verification = await run_in_threadpool(credentials.verify_http, authorization)
    identity = verification.identity
    if identity is None:
        reason = verification.failure.value if verification.failure else "refused"
        return refuse(request, reason, Unauthenticated("invalid device credentials"))
    if (identity.tenant, identity.device) != (tenant, device):
        return refuse(request, "foreign_device", DeviceRefused(foreign))
    return None


async def _read_within(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is over ``limit`` bytes (stops reading there)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def limited_body(request: Request, settings: Settings) -> bytes | Response:
    """The body of a device request, or the counted 413 refusal when it is over
    ``CETATE_DEVICE_MAX_PAYLOAD_BYTES`` (refused on Content-Length, else reading stops there)."""
    limit = settings.device_max_payload_bytes
    body = await _read_within(request, limit)
    if body is not None:
        return body
    return refuse(
        request,
        "oversized",
        PayloadTooLarge(
            f"the request body exceeds {limit} bytes (setting CETATE_DEVICE_MAX_PAYLOAD_BYTES)"
        ),
    )


def outcome_json(outcome: IngestOutcome) -> dict[str, Any]:
    """What the pipeline stored, as device and dead-letter routes answer it."""
    return {
        "status": outcome.status,
        "entityId": outcome.entity_id,
        "readings": outcome.readings,
        "values": outcome.values,
        "duplicates": outcome.duplicates,
    }


@router.post(
    "/devices/v1/{tenant}/{device}/attrs",
    summary="A device sends measurements (one reading or an array of readings)",
)
async def post_attrs(
    tenant: str,
    device: str,
    request: Request,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    received_at = utc_now()
    pipeline: IngestPipeline = request.app.state.ingest
    refused = await authorize_device(
        request,
        tenant,
        device,
        authorization,
        foreign="this token belongs to another device; a device may only send its own readings",
    )
    if refused is not None:
        return refused
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media not in ("application/json", "application/ld+json", "text/plain", ""):
        return refuse(
            request,
            "unsupported_media_type",
            UnsupportedMediaType(f"send JSON (application/json), not {media!r}"),
        )
    body = await limited_body(request, settings)
    if isinstance(body, Response):
        return body
    outcome = await pipeline.ingest_async(tenant, device, body, received_at, "http")
    if outcome.accepted:
        return json_response(outcome_json(outcome))
    status = _STATUS_OF_REASON.get(outcome.reason or "", 400)
    error = _Rejected(
        status,
        outcome.detail,
        reason=outcome.reason,
        deadLetterId=outcome.dead_letter_id,
    )
    response = problem_response(error)
    response.status_code = status
    return response
