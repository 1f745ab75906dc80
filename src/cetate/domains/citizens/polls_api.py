"""Polls over HTTP: the staff API and the residents' pages.

Staff (operators and admins of the tenant; every action in the audit log):

* ``POST /api/v1/{tenant}/citizens/polls`` ``{"question", "options", "opensAt", "closesAt",
  "area"}`` → 201 the poll;
* ``GET /api/v1/{tenant}/citizens/polls`` and ``GET …/polls/{poll_id}`` (with results);
* ``GET …/polls/{poll_id}/votes.csv`` — the counted votes for an audit (voter hash, choice,
  time).

Residents (no login): ``GET /city/{tenant}/polls`` (the polls), ``GET
/city/{tenant}/polls/{poll_id}`` (question, vote form, live results), ``POST
…/polls/{poll_id}/vote`` (e-mail and choice → "check your e-mail", a confirmation link is
sent), ``GET …/polls/{poll_id}/confirm/{token}`` (counts the vote), ``GET
…/polls/{poll_id}/results.json`` (the live counts).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from cetate.api.deps import PayloadDep, PrincipalDep
from cetate.api.platform import tenant_to_write
from cetate.api.responses import json_response
from cetate.domains.citizens import polls
from cetate.domains.citizens.page_support import (
    page_language,
    public_message,
    public_tenant,
    render_public,
)
from cetate.domains.citizens.runtime import get_runtime
from cetate.domains.citizens.staff_api import _audit
from cetate.errors import CetateError

router = APIRouter()
pages = APIRouter(include_in_schema=False)


@router.post("/api/v1/{tenant}/citizens/polls", summary="Create a poll", tags=["citizens"])
async def create_poll(
    tenant: str, principal: PrincipalDep, payload: PayloadDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    runtime = get_runtime(request)
    body = payload.object()
    poll = await run_in_threadpool(
        lambda: polls.create_poll(
            runtime.store, name, body, author=principal.name, now=runtime.reports.clock()
        )
    )
    await _audit(request, principal, name, "poll.create", str(poll["id"]))
    return json_response(poll, status_code=201)


@router.get("/api/v1/{tenant}/citizens/polls", summary="The polls", tags=["citizens"])
async def list_polls(tenant: str, principal: PrincipalDep, request: Request) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    runtime = get_runtime(request)
    now = runtime.reports.clock()
    return json_response(await run_in_threadpool(polls.list_polls, runtime.store, name, now))


@router.get(
    "/api/v1/{tenant}/citizens/polls/{poll_id}", summary="A poll with results", tags=["citizens"]
)
async def poll_results(
    tenant: str, poll_id: str, principal: PrincipalDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    runtime = get_runtime(request)
    now = runtime.reports.clock()
    return json_response(await run_in_threadpool(polls.results, runtime.store, name, poll_id, now))


@router.get(
    "/api/v1/{tenant}/citizens/polls/{poll_id}/votes.csv",
    summary="A poll's votes (CSV, for an audit)",
    tags=["citizens"],
)
async def poll_votes(
    tenant: str, poll_id: str, principal: PrincipalDep, request: Request
) -> Response:
    name = tenant_to_write(principal, tenant, explain=False)
    runtime = get_runtime(request)
    text = await run_in_threadpool(polls.votes_csv, runtime.store, name, poll_id)
    await _audit(request, principal, name, "poll.export", poll_id)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="poll-{poll_id}.csv"'},
    )


# -- the residents' pages ------------------------------------------------------------------


def _t(request: Request) -> Any:
    from cetate.web.rendering import translator

    return translator(request, page_language(request))


def _poll_page(
    request: Request,
    tenant: str,
    poll_id: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    email: str = "",
    status_code: int = 200,
) -> Response:
    runtime = get_runtime(request)
    try:
        shown = polls.results(runtime.store, tenant, poll_id, runtime.reports.clock())
    except CetateError as exc:
        t = _t(request)
        return public_message(request, exc.status, t("error.title"), exc.detail)
    return render_public(
        request,
        "citizens/poll.html",
        status_code=status_code,
        tenant=tenant,
        poll=shown,
        error=error,
        notice=notice,
        email=email,
    )


@pages.get("/city/{tenant}/polls", response_class=Response)
async def polls_page(tenant: str, request: Request) -> Response:
    runtime = get_runtime(request)
    name = await run_in_threadpool(public_tenant, runtime, tenant)
    if name is None:
        t = _t(request)
        return public_message(request, 404, t("error.title"), t("error.not_found"))
    now = runtime.reports.clock()
    shown = await run_in_threadpool(polls.list_polls, runtime.store, name, now)
    return render_public(request, "citizens/polls.html", tenant=name, polls=shown)


@pages.get("/city/{tenant}/polls/{poll_id}", response_class=Response)
async def poll_page(tenant: str, poll_id: str, request: Request) -> Response:
    runtime = get_runtime(request)
    name = await run_in_threadpool(public_tenant, runtime, tenant)
    if name is None:
        t = _t(request)
        return public_message(request, 404, t("error.title"), t("error.not_found"))
    return await run_in_threadpool(lambda: _poll_page(request, name, poll_id))


@pages.get("/city/{tenant}/polls/{poll_id}/results.json", response_class=Response)
async def poll_results_json(tenant: str, poll_id: str, request: Request) -> Response:
    runtime = get_runtime(request)
    name = await run_in_threadpool(public_tenant, runtime, tenant)
    if name is None:
        return json_response({"detail": "unknown tenant"}, status_code=404)
    try:
        shown = await run_in_threadpool(
            polls.results, runtime.store, name, poll_id, runtime.reports.clock()
        )
    except CetateError as exc:
        return json_response({"detail": exc.detail}, status_code=exc.status)
    return json_response(shown)


@pages.post("/city/{tenant}/polls/{poll_id}/vote", response_class=Response)
async def vote(tenant: str, poll_id: str, request: Request) -> Response:
    runtime = get_runtime(request)
    name = await run_in_threadpool(public_tenant, runtime, tenant)
    if name is None:
        t = _t(request)
        return public_message(request, 404, t("error.title"), t("error.not_found"))
    form = await request.form()
    email = str(form.get("email") or "")
    base = str(request.base_url).rstrip("/")
    lang = page_language(request)
    t = _t(request)
    try:
        await run_in_threadpool(
            lambda: polls.request_vote(
                runtime.store,
                name,
                poll_id,
                email=email,
                choice=form.get("choice"),
                language=lang,
                confirm_base=f"{base}/city/{quote(name)}/polls/{quote(poll_id)}/confirm",
                now=runtime.reports.clock(),
            )
        )
    except CetateError as exc:
        status = exc.status
        message = (
            t("citizens.polls.already_voted") if isinstance(exc, polls.AlreadyVoted) else exc.detail
        )
        return await run_in_threadpool(
            lambda: _poll_page(
                request,
                name,
                poll_id,
                error=t("citizens.polls.error", detail=message),
                email=email,
                status_code=status,
            )
        )
    return await run_in_threadpool(
        lambda: _poll_page(request, name, poll_id, notice=t("citizens.polls.check_email"))
    )


@pages.get("/city/{tenant}/polls/{poll_id}/confirm/{token}", response_class=Response)
async def confirm(tenant: str, poll_id: str, token: str, request: Request) -> Response:
    runtime = get_runtime(request)
    name = await run_in_threadpool(public_tenant, runtime, tenant)
    t = _t(request)
    if name is None:
        return public_message(request, 404, t("error.title"), t("error.not_found"))
    try:
        await run_in_threadpool(
            polls.confirm_vote, runtime.store, name, poll_id, token, runtime.reports.clock()
        )
    except CetateError as exc:
        status = exc.status
        message = (
            t("citizens.polls.already_voted") if isinstance(exc, polls.AlreadyVoted) else exc.detail
        )
        return await run_in_threadpool(
            lambda: _poll_page(
                request,
                name,
                poll_id,
                error=t("citizens.polls.error", detail=message),
                status_code=status,
            )
        )
    return await run_in_threadpool(
        lambda: _poll_page(request, name, poll_id, notice=t("citizens.polls.counted"))
    )
