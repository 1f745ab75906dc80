"""The staff inbox in the console (login; operators and admins act, viewers only read):

==========================================  ==============================================
``GET /citizens/inbox``                     reports with filters: workflow status,
                                            department, overdue, moderation
``GET /citizens/inbox/{id}``                one report: details, photo, reporter, SLA,
                                            moderation flags, history, the staff forms
``POST /citizens/inbox/{id}/{action}``      ``status``, ``assign``, ``comment``,
                                            ``update``, ``merge``, ``moderate`` — the same
                                            code as the staff API (:mod:`.desk`,
                                            :mod:`.duplicates`, :class:`.ReportService`)
==========================================  ==============================================
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from cetate.domains.citizens import desk, duplicates
from cetate.domains.citizens.audit import record_action
from cetate.domains.citizens.config import pick
from cetate.domains.citizens.page_support import service_label
from cetate.domains.citizens.runtime import CitizensRuntime, runtime_of
from cetate.domains.citizens.status import FINISHED, REOPEN, TRANSITIONS, WORKFLOW_STATUSES
from cetate.errors import BadRequestData, CetateError
from cetate.web.actions import message_page, no_tenant, redirect, refused, tenant_name
from cetate.web.present import format_timestamp
from cetate.web.rendering import render, translator
from cetate.web.session import ConsoleContext, ConsoleContextDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE: Final = 100
ACTIONS: Final = ("status", "assign", "comment", "update", "merge", "moderate")


def _runtime(context: ConsoleContext) -> CitizensRuntime:
    return runtime_of(context.request.app)


def _choice(value: str, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


@router.get("/citizens/inbox", response_class=HTMLResponse)
def inbox(
    context: ConsoleContextDep,
    status: str = "",
    department: str = "",
    overdue: str = "",
    moderation: str = "",
) -> Response:
    if context.tenant is None:
        return no_tenant(context)
    runtime = _runtime(context)
    tenant = tenant_name(context)
    departments = runtime.config.departments_for(tenant)
    where = desk.StaffFilter(
        statuses=desk.parse_statuses(_choice(status, WORKFLOW_STATUSES)),
        department=department if any(d.id == department for d in departments) else None,
        overdue={"yes": True, "no": False}.get(overdue),
        moderation=_choice(moderation, desk.MODERATION_STATES),
        page_size=PAGE_SIZE,
    )
    rows, total = desk.list_reports(runtime.reports, tenant, where)
    names = {d.id: pick(d.name, context.lang) for d in departments}
    return render(
        context.request,
        "citizens/inbox.html",
        context,
        rows=[
            {
                **row,
                "category": service_label(runtime, tenant, row.get("service_code"), context.lang),
                "department_name": names.get(row.get("department") or "", row.get("department")),
                "received": format_timestamp(row.get("requested_datetime")),
            }
            for row in rows
        ],
        total=total,
        statuses=WORKFLOW_STATUSES,
        departments=[(d.id, names[d.id]) for d in departments],
        moderation_states=desk.MODERATION_STATES,
        chosen={
            "status": where.statuses[0] if where.statuses else "",
            "department": where.department or "",
            "overdue": overdue if overdue in ("yes", "no") else "",
            "moderation": where.moderation or "",
        },
    )


def _detail(
    context: ConsoleContext,
    request_id: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    runtime = _runtime(context)
    tenant = tenant_name(context)
    try:
        view = runtime.reports.staff_view(tenant, request_id)
    except CetateError as exc:
        return message_page(context, exc.status, "citizens.inbox.title", exc.detail)
    data = view["workflow"]
    current = view["workflow_status"]
    moves = sorted(TRANSITIONS[current], key=WORKFLOW_STATUSES.index)
    if current in FINISHED:
        moves = [m for m in moves if m != "acknowledged"]
    staff = [
        u.username
        for u in context.store.list_users(tenant)
        if u.roles.get(tenant) in desk.STAFF_ROLES
    ]
    history = [
        {**u, "public": True, "at_text": format_timestamp(u.get("at"))}
        for u in data.get("updates") or []
    ] + [
        {**c, "public": False, "at_text": format_timestamp(c.get("at"))}
        for c in data.get("comments") or []
    ]
    history.sort(key=lambda entry: str(entry.get("at")))
    moderation = data.get("moderation") or {}
    token = data.get("token")
    return render(
        context.request,
        "citizens/detail.html",
        context,
        status_code=status_code,
        report=view,
        category=service_label(runtime, tenant, view.get("service_code"), context.lang),
        received=format_timestamp(view.get("requested_datetime")),
        moves=moves,
        can_reopen=current in FINISHED,
        reopen=REOPEN,
        staff=sorted(staff),
        history=history,
        flags=moderation.get("flags") or [],
        tracking_url=f"/city/{tenant}/track/{token}" if token else None,
        sla={
            "acknowledge_by": format_timestamp(view["sla"].get("acknowledge_by")),
            "resolve_by": format_timestamp(view["sla"].get("resolve_by")),
            "overdue": view["sla"].get("overdue"),
        },
        error=error,
        notice=notice,
    )


@router.get("/citizens/inbox/{request_id}", response_class=HTMLResponse)
def detail(context: ConsoleContextDep, request_id: str, done: str = "") -> Response:
    if context.tenant is None:
        return no_tenant(context)
    t = translator(context.request, context.lang)
    return _detail(context, request_id, notice=t("citizens.detail.done") if done else None)


def _tracking_base(request: Request, tenant: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/v1/{tenant}/citizens/track"


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _apply(context: ConsoleContext, request_id: str, action: str, form: Any) -> None:
    runtime = _runtime(context)
    reports = runtime.reports
    tenant = tenant_name(context)
    author = context.principal.name
    base = _tracking_base(context.request, tenant)
    if action == "status":
        status = _field(form, "status")
        if status is None:
            raise BadRequestData("choose the status the report moves to")
        reports.change_status(
            tenant,
            request_id,
            status,
            note=_field(form, "note"),
            reason=_field(form, "reason"),
            author=author,
            tracking_base=base,
        )
    elif action == "assign":
        desk.assign(reports, tenant, request_id, _field(form, "assignee"), author)
    elif action == "comment":
        desk.comment(reports, tenant, request_id, _field(form, "text") or "", author)
    elif action == "update":
        desk.public_update(reports, tenant, request_id, _field(form, "note") or "", author)
    elif action == "merge":
        duplicates.merge(
            reports, tenant, request_id, _field(form, "into"), author=author, tracking_base=base
        )
    else:
        description = form.get("description")
        desk.moderate(
            reports,
            tenant,
            request_id,
            _field(form, "decision") or "",
            author,
            reason=_field(form, "reason"),
            description=description.strip() if isinstance(description, str) else None,
            tracking_base=base,
        )


@router.post("/citizens/inbox/{request_id}/{action}", response_class=HTMLResponse)
async def act(context: ConsoleContextDep, request_id: str, action: str) -> Response:
    form = await context.request.form(max_files=0, max_fields=20)
    csrf = form.get("csrf")
    if (answer := refused(context, csrf if isinstance(csrf, str) else "")) is not None:
        return answer
    if action not in ACTIONS:
        return message_page(context, 404, "error.title", context.t("error.not_found"))
    try:
        await run_in_threadpool(_apply, context, request_id, action, form)
        runtime = _runtime(context)
        await run_in_threadpool(
            lambda: record_action(
                runtime.store,
                tenant_name(context),
                actor=context.principal.name,
                action=action,
                target=request_id,
                at=runtime.reports.clock(),
                details={"via": "console"},
            )
        )
    except CetateError as exc:
        detail, code = exc.detail, exc.status
        return await run_in_threadpool(
            lambda: _detail(context, request_id, error=detail, status_code=code)
        )
    return redirect(f"/citizens/inbox/{request_id}?" + urlencode({"done": action}))
