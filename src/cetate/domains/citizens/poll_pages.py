"""Polls in the console (login): ``GET /citizens/polls`` lists the selected tenant's polls
with their results and links to the CSV export; operators and admins get a form to create one
(``POST /citizens/polls``, CSRF token of the session, the same code as the staff API, logged
in the audit log); a refused poll re-renders the form with the reason (400)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from cetate.domains.citizens import polls
from cetate.domains.citizens.audit import record_action
from cetate.domains.citizens.runtime import runtime_of
from cetate.errors import CetateError
from cetate.web.actions import no_tenant, redirect, refused, tenant_name
from cetate.web.rendering import render
from cetate.web.session import ConsoleContext, ConsoleContextDep

router = APIRouter(include_in_schema=False)


def _page(
    context: ConsoleContext,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    runtime = runtime_of(context.request.app)
    tenant = tenant_name(context)
    now = runtime.reports.clock()
    shown = [
        polls.results(runtime.store, tenant, str(p["id"]), now)
        for p in polls.list_polls(runtime.store, tenant, now)
    ]
    return render(
        context.request,
        "citizens/staff_polls.html",
        context,
        status_code=status_code,
        polls=shown,
        error=error,
        values=values or {},
    )


@router.get("/citizens/polls", response_class=HTMLResponse)
def polls_page(context: ConsoleContextDep) -> Response:
    if context.tenant is None:
        return no_tenant(context)
    return _page(context)


def _body(form: Any) -> dict[str, Any]:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def moment(name: str) -> str:
        value = text(name)
        # <input type="datetime-local"> gives no offset: the city's local time is not known
        # here, so the value is read as UTC unless it carries an offset
        return value + ":00Z" if len(value) == 16 else value

    return {
        "question": text("question"),
        "options": [line.strip() for line in text("options").splitlines() if line.strip()],
        "opensAt": moment("opensAt"),
        "closesAt": moment("closesAt"),
        "area": text("area") or None,
    }


@router.post("/citizens/polls", response_class=HTMLResponse)
async def create(context: ConsoleContextDep) -> Response:
    form = await context.request.form(max_files=0, max_fields=20)
    csrf = form.get("csrf")
    if (answer := refused(context, csrf if isinstance(csrf, str) else "")) is not None:
        return answer
    runtime = runtime_of(context.request.app)
    tenant = tenant_name(context)
    body = _body(form)
    try:
        poll = await run_in_threadpool(
            lambda: polls.create_poll(
                runtime.store,
                tenant,
                body,
                author=context.principal.name,
                now=runtime.reports.clock(),
            )
        )
    except CetateError as exc:
        detail, code = exc.detail, exc.status
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        return await run_in_threadpool(
            lambda: _page(context, error=detail, values=values, status_code=code)
        )
    await run_in_threadpool(
        lambda: record_action(
            runtime.store,
            tenant,
            actor=context.principal.name,
            action="poll.create",
            target=str(poll["id"]),
            at=runtime.reports.clock(),
            details={"via": "console"},
        )
    )
    return redirect("/citizens/polls")
