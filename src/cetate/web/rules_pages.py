"""The rules pages of the console: the list (name in the user's language, enabled, severity,
a readable condition, scope), a JSON editor to create or change a rule with the validation's
per-field messages, enable/disable, and delete after a confirmation. Through
``app.state.rules`` (:class:`~cetate.reactions.rules.service.RuleService`)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response

from cetate.api.paths import path_segment
from cetate.errors import BadRequestData, CetateError
from cetate.reactions.rules.model import (
    MissingDataCondition,
    Rule,
    SustainedCondition,
    format_duration,
    parse_rule,
)
from cetate.web.actions import (
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
    unavailable_page,
)
from cetate.web.present import readable_term
from cetate.web.rendering import render
from cetate.web.session import ConsoleContext, ConsoleContextDep

router = APIRouter(include_in_schema=False)

EXAMPLE_RULE: Final[dict[str, Any]] = {
    "id": "urn:ngsi-ld:Rule:container-full",
    "name": {"ro": "Container plin", "en": "Container full"},
    "enabled": True,
    "severity": "high",
    "category": "environment",
    "scope": {"entityType": "WasteContainer"},
    "condition": {
        "kind": "sustained",
        "attribute": "fillingLevel",
        "operator": ">",
        "value": 0.8,
        "clearValue": 0.7,
        "duration": "PT10M",
    },
}


def rule_url(rule_id: str) -> str:
    return "/rules/" + path_segment(rule_id)


def describe(context: ConsoleContext, rule: Rule) -> str:
    """The condition in words: its kind in the user's language and its formula."""
    condition = rule.condition
    text = condition.describe()
    if isinstance(condition, SustainedCondition):
        text += " · " + format_duration(condition.duration)
    elif isinstance(condition, MissingDataCondition):
        what = condition.attribute or context.t("rules.any_attribute")
        text = f"{what} · {format_duration(condition.duration)}"
    return f"{context.t('rules.kind.' + condition.kind)}: {text}"


def _scope(rule: Rule) -> str:
    parts = [readable_term(rule.scope.entity_type)]
    if rule.scope.tag:
        parts.append(rule.scope.tag)
    if rule.scope.area is not None:
        parts.append("⬠")
    return " · ".join(parts)


def _row(context: ConsoleContext, rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "url": rule_url(rule.id),
        "name": rule.name.ro if context.lang == "ro" else rule.name.en,
        "enabled": rule.enabled,
        "severity": rule.severity,
        "condition": describe(context, rule),
        "scope": _scope(rule),
    }


@router.get("/rules", response_class=HTMLResponse)
def rules_page(context: ConsoleContextDep, done: str = "") -> Response:
    if context.tenant is None:
        return no_tenant(context)
    try:
        rules = call(service(context, "rules").list, tenant_name(context))
    except Unavailable:
        return unavailable_page(context, "rules.title")
    notice = context.t(f"rules.done.{done}") if done in ("saved", "deleted") else None
    return render(
        context.request,
        "console/rules.html",
        context,
        rows=[_row(context, rule) for rule in sorted(rules, key=lambda r: r.id)],
        notice=notice,
    )


def _editor(
    context: ConsoleContext,
    text: str,
    *,
    editing: str | None = None,
    problems: list[dict[str, str]] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        context.request,
        "console/rule_edit.html",
        context,
        status_code=status_code,
        text=text,
        editing=editing,
        problems=problems or [],
        error=error,
    )


@router.get("/rules/new", response_class=HTMLResponse)
def new_rule(context: ConsoleContextDep) -> Response:
    if (answer := cannot_write(context)) is not None:
        return answer
    return _editor(context, json.dumps(EXAMPLE_RULE, indent=2, ensure_ascii=False))


def _not_found(context: ConsoleContext, rule_id: str) -> HTMLResponse:
    return message_page(context, 404, "rules.title", context.t("rules.not_found", id=rule_id))


def _get(context: ConsoleContext, rule_id: str) -> Rule | HTMLResponse:
    try:
        rule: Rule | None = call(service(context, "rules").get, tenant_name(context), rule_id)
    except Unavailable:
        return unavailable_page(context, "rules.title")
    if rule is None:
        return _not_found(context, rule_id)
    return rule


@router.get("/rules/{rule_id:segment}", response_class=HTMLResponse)
def edit_rule(context: ConsoleContextDep, rule_id: str) -> Response:
    """The rule in the editor (operators and admins) or as read-only JSON (viewers)."""
    if context.tenant is None:
        return no_tenant(context)
    found = _get(context, rule_id)
    if isinstance(found, HTMLResponse):
        return found
    text = json.dumps(found.to_json(), indent=2, ensure_ascii=False)
    return _editor(context, text, editing=found.id)


def _problems(exc: BadRequestData) -> list[dict[str, str]]:
    """``field.path: message`` items of a rule's validation error, split for display."""
    items = exc.extra.get("errors") or [exc.detail]
    problems = []
    for item in items:
        field, sep, message = str(item).partition(": ")
        problems.append(
            {"field": field, "message": message} if sep else {"field": "", "message": field}
        )
    return problems


@router.post("/rules", response_class=HTMLResponse)
def save_rule(
    context: ConsoleContextDep,
    csrf: Annotated[str, Form()] = "",
    document: Annotated[str, Form()] = "",
    editing: Annotated[str, Form()] = "",
) -> Response:
    if (answer := refused(context, csrf)) is not None:
        return answer
    edited = editing or None
    try:
        data = json.loads(document)
    except ValueError as exc:
        message = context.t("rules.error.json", detail=str(exc))
        return _editor(context, document, editing=edited, error=message, status_code=422)
    if not isinstance(data, dict):
        message = context.t("rules.error.object")
        return _editor(context, document, editing=edited, error=message, status_code=422)
    try:
        rule = parse_rule(data)
    except BadRequestData as exc:
        return _editor(
            context,
            document,
            editing=edited,
            error=context.t("rules.error.invalid"),
            problems=_problems(exc),
            status_code=422,
        )
    if edited is not None and rule.id != edited:
        message = context.t("rules.error.id_changed", id=edited)
        return _editor(context, document, editing=edited, error=message, status_code=422)
    try:
        call(service(context, "rules").put, tenant_name(context), data)
    except Unavailable:
        return unavailable_page(context, "rules.title")
    except BadRequestData as exc:
        return _editor(
            context,
            document,
            editing=edited,
            error=context.t("rules.error.invalid"),
            problems=_problems(exc),
            status_code=422,
        )
    except CetateError as exc:
        message = context.t("rules.error.refused", detail=exc.detail)
        return _editor(context, document, editing=edited, error=message, status_code=exc.status)
    return redirect("/rules?done=saved")


@router.post("/rules/{rule_id:segment}/enabled", response_class=HTMLResponse)
def set_enabled(
    context: ConsoleContextDep,
    rule_id: str,
    csrf: Annotated[str, Form()] = "",
    enabled: Annotated[str, Form()] = "",
) -> Response:
    if (answer := refused(context, csrf)) is not None:
        return answer
    found = _get(context, rule_id)
    if isinstance(found, HTMLResponse):
        return found
    document = {**found.to_json(), "enabled": enabled == "1"}
    try:
        call(service(context, "rules").put, tenant_name(context), document)
    except Unavailable:
        return unavailable_page(context, "rules.title")
    except CetateError as exc:
        return message_page(context, exc.status, "rules.title", exc.detail)
    return redirect("/rules?done=saved")


@router.get("/rules/{rule_id:segment}/delete", response_class=HTMLResponse)
def confirm_delete(context: ConsoleContextDep, rule_id: str) -> Response:
    if (answer := cannot_write(context)) is not None:
        return answer
    found = _get(context, rule_id)
    if isinstance(found, HTMLResponse):
        return found
    return confirm_page(
        context,
        title=context.t("rules.delete"),
        question=context.t("rules.delete_question", id=rule_id),
        action=rule_url(rule_id) + "/delete",
        submit=context.t("rules.delete_confirm"),
        cancel_url="/rules",
    )


@router.post("/rules/{rule_id:segment}/delete", response_class=HTMLResponse)
def delete_rule(
    context: ConsoleContextDep,
    rule_id: str,
    csrf: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    if (answer := refused(context, csrf)) is not None:
        return answer
    if confirm != "yes":
        return redirect(rule_url(rule_id) + "/delete")
    try:
        deleted = call(service(context, "rules").delete, tenant_name(context), rule_id)
    except Unavailable:
        return unavailable_page(context, "rules.title")
    if not deleted:
        return _not_found(context, rule_id)
    return redirect("/rules?done=deleted")
