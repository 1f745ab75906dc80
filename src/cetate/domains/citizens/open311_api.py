"""Open311 GeoReport v2 at ``/open311/v2``, in JSON and XML.

=========================================  ===============================================
``GET services.{fmt}``                     the jurisdiction's services (categories)
``GET services/{service_code}.{fmt}``      a service definition (its attributes)
``POST requests.{fmt}``                    submit a report (``api_key`` required; form or
                                           multipart with a ``media`` photo)
``GET requests.{fmt}``                     reports, with ``service_request_id``,
                                           ``service_code``, ``start_date``, ``end_date``,
                                           ``status``, ``page``/``page_size``
``GET requests/{service_request_id}.{fmt}``  one report
``GET tokens/{token}.{fmt}``               the service request id of a token
``GET media/{media_id}.{ext}``             a report's cleaned photo
=========================================  ===============================================

``jurisdiction_id`` picks the tenant (see :meth:`CitizensRuntime.tenant_for`); ``locale``
(``ro``/``en``, else ``Accept-Language``) the language of service names. Every error, even an
unknown path under ``/open311/v2``, is the Open311 error list in the format asked for, with a
fitting HTTP status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from cetate.domains.citizens.api_keys import authenticate_key
from cetate.domains.citizens.config import LANGUAGES, Service, pick
from cetate.domains.citizens.errors import Open311Error, bad_request, from_cetate_error, not_found
from cetate.domains.citizens.formats import Format, render, render_error
from cetate.domains.citizens.intake import accept_report
from cetate.domains.citizens.media import load_media
from cetate.domains.citizens.photos import PhotoTooLarge
from cetate.domains.citizens.reports import (
    MAX_IDS,
    Open311Status,
    RequestFilter,
    check_service_codes,
)
from cetate.domains.citizens.runtime import CitizensRuntime, get_runtime
from cetate.errors import CetateError
from cetate.ngsi.timestamps import parse_datetime

log = logging.getLogger(__name__)

PREFIX: Final = "/open311/v2"
FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
FORM_OVERHEAD: Final = 1_000_000
"""Bytes a POST body may have beyond the photo limit (the other form fields)."""

router = APIRouter(tags=["open311"])


async def _answer(fmt_text: str, work: Callable[[Format], Awaitable[Response]]) -> Response:
    """Run ``work`` in the requested format; any error becomes an Open311 error response."""
    fmt: Format = "json"
    try:
        fmt = _format(fmt_text)
        return await work(fmt)
    except Open311Error as error:
        return render_error(error, fmt)
    except CetateError as error:
        return render_error(from_cetate_error(error), fmt)
    except Exception:
        log.exception("Open311 request failed")
        return render_error(Open311Error(500, "an unexpected error occurred"), fmt)


def _format(text: str) -> Format:
    if text.lower() == "json":
        return "json"
    if text.lower() == "xml":
        return "xml"
    raise not_found(f"format {text!r} is not offered; use .json or .xml")


def _language(request: Request, runtime: CitizensRuntime) -> str:
    asked = request.query_params.get("locale") or request.headers.get("accept-language") or ""
    for part in asked.replace("_", "-").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return runtime.config.default_language


def _service_json(service: Service, lang: str) -> dict[str, Any]:
    return {
        "service_code": service.service_code,
        "service_name": pick(service.service_name, lang),
        "description": pick(service.description, lang),
        "metadata": service.metadata,
        "type": service.type,
        "keywords": ", ".join(service.keywords),
        "group": pick(service.group, lang) if service.group else None,
    }


def _definition_json(service: Service, lang: str) -> dict[str, Any]:
    return {
        "service_code": service.service_code,
        "attributes": [
            {
                "variable": attribute.variable,
                "code": attribute.code,
                "datatype": attribute.datatype,
                "required": attribute.required,
                "datatype_description": (
                    pick(attribute.datatype_description, lang)
                    if attribute.datatype_description
                    else None
                ),
                "order": attribute.order,
                "description": pick(attribute.description, lang),
                **(
                    {
                        "values": [
                            {"key": value.key, "name": pick(value.name, lang)}
                            for value in attribute.values
                        ]
                    }
                    if attribute.values
                    else {}
                ),
            }
            for attribute in sorted(service.attributes, key=lambda a: a.order)
        ],
    }


def _tenant(request: Request, runtime: CitizensRuntime) -> str:
    return runtime.tenant_for(request.query_params.get("jurisdiction_id"))


# -- services ---------------------------------------------------------------------------------


@router.get(PREFIX + "/services.{fmt}", summary="Open311: list services")
async def list_services(fmt: str, request: Request) -> Response:
    async def work(f: Format) -> Response:
        runtime = get_runtime(request)
        tenant = await run_in_threadpool(_tenant, request, runtime)
        lang = _language(request, runtime)
        services = [_service_json(s, lang) for s in runtime.config.services_for(tenant)]
        return render(services, f, root="services")

    return await _answer(fmt, work)


@router.get(PREFIX + "/services/{name}", summary="Open311: a service definition")
async def service_definition(name: str, request: Request) -> Response:
    code, fmt_text = _split(name)

    async def work(f: Format) -> Response:
        runtime = get_runtime(request)
        tenant = await run_in_threadpool(_tenant, request, runtime)
        service = runtime.config.service(tenant, code)
        if service is None:
            raise not_found(f"service_code {code!r} is not one of this jurisdiction's services")
        return render(
            _definition_json(service, _language(request, runtime)), f, root="service_definition"
        )

    return await _answer(fmt_text, work)


def _split(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    return (stem, extension) if dot and stem else (name, "")


# -- requests: POST ---------------------------------------------------------------------------


async def read_form(request: Request, limit: int) -> FormData:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in FORM_TYPES:
        raise Open311Error(
            415,
            f"Content-Type {media_type or '(none)'!r} is not accepted: send "
            "application/x-www-form-urlencoded or multipart/form-data",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PhotoTooLarge(f"the request has {declared} bytes; at most {limit} are accepted")
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PhotoTooLarge(f"the request exceeds {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    replay = Request(request.scope, receive)
    try:
        return await replay.form(max_files=2, max_fields=200)
    except Exception as exc:
        raise bad_request(f"the form could not be read: {exc}") from None


def _first_fields(form: FormData) -> tuple[dict[str, str], list[tuple[str, str]]]:
    fields: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, value)
            pairs.append((key, value))
    return fields, pairs


@router.post(PREFIX + "/requests.{fmt}", summary="Open311: submit a service request")
async def post_request(fmt: str, request: Request) -> Response:
    async def work(f: Format) -> Response:
        runtime = get_runtime(request)
        limits = runtime.config.limits
        form = await read_form(request, limits.max_photo_bytes + FORM_OVERHEAD)
        fields, pairs = _first_fields(form)
        api_key = fields.get("api_key") or request.query_params.get("api_key") or ""
        key = await run_in_threadpool(authenticate_key, runtime.store, api_key.strip())
        if key is None:
            raise Open311Error(403, "invalid api_key: ask the city for a key for your app")
        jurisdiction = fields.get("jurisdiction_id") or request.query_params.get("jurisdiction_id")
        tenant = key.tenant
        if jurisdiction:
            tenant = await run_in_threadpool(runtime.tenant_for, jurisdiction)
            if tenant != key.tenant:
                raise Open311Error(403, "this api_key is not valid for that jurisdiction_id")
        upload = form.get("media")
        media = await upload.read() if isinstance(upload, UploadFile) else None
        await form.close()
        created = await accept_report(
            runtime,
            tenant,
            fields,
            pairs,
            media,
            jurisdiction_id=jurisdiction or tenant,
            base_url=str(request.base_url),
            language=_language(request, runtime),
            client=f"key:{key.key_id}",
        )
        body = [
            {
                "service_request_id": created.service_request_id,
                "token": created.token,
                "service_notice": None,
                "account_id": None,
            }
        ]
        return render(body, f, root="service_requests", status_code=201)

    return await _answer(fmt, work)


# -- requests: GET ----------------------------------------------------------------------------


def _split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _date(request: Request, name: str) -> datetime | None:
    text = request.query_params.get(name)
    if text is None or not text.strip():
        return None
    try:
        return parse_datetime(text)
    except CetateError:
        raise bad_request(
            f"{name} {text!r} is not a date-time; use W3C format such as "
            "2026-11-23T10:00:00Z or 2026-11-23T12:00:00+02:00"
        ) from None


def _positive(request: Request, name: str, default: int, maximum: int) -> int:
    text = request.query_params.get(name)
    if text is None or not text.strip():
        return default
    if not text.strip().isdigit() or not 1 <= int(text) <= maximum:
        raise bad_request(f"{name} {text!r} must be a whole number from 1 to {maximum}")
    return int(text)


def parse_filter(request: Request, max_page_size: int) -> RequestFilter:
    """The GET requests parameters, checked (Open311 400 naming the bad one)."""
    ids = _split_list(request.query_params.get("service_request_id"))
    if len(ids) > MAX_IDS:
        raise bad_request(f"at most {MAX_IDS} service_request_id values at once")
    statuses: list[Open311Status] = []
    for status in _split_list(request.query_params.get("status")):
        if status == "open":
            statuses.append("open")
        elif status == "closed":
            statuses.append("closed")
        else:
            raise bad_request(f"status {status!r} is not open or closed")
    start, end = _date(request, "start_date"), _date(request, "end_date")
    if start is not None and end is not None and start > end:
        raise bad_request("start_date is after end_date")
    return RequestFilter(
        service_request_ids=tuple(ids),
        service_codes=check_service_codes(_split_list(request.query_params.get("service_code"))),
        statuses=tuple(dict.fromkeys(statuses)),
        start=start,
        end=end,
        page=_positive(request, "page", 1, 1_000_000),
        page_size=_positive(request, "page_size", 100, max_page_size),
    )


@router.get(PREFIX + "/requests.{fmt}", summary="Open311: list service requests")
async def list_requests(fmt: str, request: Request) -> Response:
    async def work(f: Format) -> Response:
        runtime = get_runtime(request)
        tenant = await run_in_threadpool(_tenant, request, runtime)
        where = parse_filter(request, runtime.config.limits.max_page_size)
        page = await run_in_threadpool(runtime.reports.list, tenant, where)
        response = render(page.requests, f, root="service_requests")
        response.headers["X-Total-Count"] = str(page.total)
        return response

    return await _answer(fmt, work)


@router.get(PREFIX + "/requests/{name}", summary="Open311: one service request")
async def get_request(name: str, request: Request) -> Response:
    request_id, fmt_text = _split(name)

    async def work(f: Format) -> Response:
        runtime = get_runtime(request)
        tenant = await run_in_threadpool(_tenant, request, runtime)
        found = await run_in_threadpool(runtime.reports.get, tenant, request_id)
        if found is None:
            raise not_found(f"service request {request_id!r} does not exist here")
        return render([found], f, root="service_requests")

    return await _answer(fmt_text, work)


@router.get(PREFIX + "/tokens/{name}", summary="Open311: service request id of a token")
async def get_token(name: str, request: Request) -> Response:
    token, fmt_text = _split(name)

    async def work(f: Format) -> Response:
        runtime = get_runtime(request)
        tenant = await run_in_threadpool(_tenant, request, runtime)
        request_id = await run_in_threadpool(runtime.reports.request_for_token, tenant, token)
        body = [{"service_request_id": request_id, "token": token}]
        return render(body, f, root="service_requests")

    return await _answer(fmt_text, work)


# -- media ------------------------------------------------------------------------------------


@router.get(PREFIX + "/media/{name}", summary="A report's photo")
async def get_media(name: str, request: Request) -> Response:
    media_id, extension = _split(name)

    async def work(f: Format) -> Response:
        runtime = get_runtime(request)
        found = await run_in_threadpool(load_media, runtime.store, media_id)
        if found is None or found.extension != extension:
            raise not_found(f"no media {name!r}")
        return Response(
            found.data,
            media_type=found.content_type,
            headers={
                "Cache-Control": "public, max-age=86400",
                "X-Content-Type-Options": "nosniff",
                "Content-Disposition": f'inline; filename="{media_id}.{extension}"',
            },
        )

    return await _answer("json", work)


# -- anything else under the prefix --------------------------------------------------------------


@router.api_route(
    PREFIX + "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown(rest: str) -> Response:
    fmt: Format = "xml" if rest.lower().endswith(".xml") else "json"
    return render_error(Open311Error(404, f"no Open311 resource at {PREFIX}/{rest}"), fmt)
