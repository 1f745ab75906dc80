"""What staff do with a report besides moving its status: route it to another department,
assign it to a colleague, write internal comments, post public updates, and list reports with
filters (department, assignee, workflow status, overdue)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from cetate.domains.citizens import entity as model
from cetate.domains.citizens import workflow
from cetate.domains.citizens.moderation import ATTRIBUTE as MODERATION
from cetate.domains.citizens.reports import ReportService, moderation_state
from cetate.domains.citizens.status import (
    FINISHED,
    WORKFLOW_STATUSES,
    IllegalTransition,
    WorkflowStatus,
)
from cetate.errors import BadRequestData
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.query_language import map_attribute_names, parse_q
from cetate.ngsi.representation import expand_attributes
from cetate.ngsi.timestamps import format_datetime
from cetate.store.base import EntityQuery

MODERATION_STATES: Final = ("pending", "approved", "rejected")
STAFF_ROLES: Final = ("operator", "admin")
SCAN_BATCH: Final = 500


def _text(text: str, name: str, limit: int) -> str:
    value = text.strip()
    if not value:
        raise BadRequestData(f"{name} is empty")
    if len(value) > limit:
        raise BadRequestData(f"{name} has {len(value)} characters; at most {limit}")
    return value


def reroute(
    reports: ReportService, tenant: str, request_id: str, department_id: str, author: str
) -> dict[str, Any]:
    """Send the report to another department (``routedBy`` becomes ``staff``)."""
    reports.entity(tenant, request_id)
    department = reports.config.department(tenant, department_id)
    if department is None:
        known = ", ".join(d.id for d in reports.config.departments_for(tenant)) or "none"
        raise BadRequestData(
            f"department {department_id!r} is not one of this tenant's departments: {known}"
        )
    attrs = model.department_attrs(department, reports.config)
    reports.entities.append_attributes(
        tenant, model.entity_id(request_id), expand_attributes(attrs, reports.context)
    )
    stamp = format_datetime(reports.clock())

    def change(data: dict[str, Any]) -> None:
        data["department"] = department.id
        data["routedBy"] = "staff"
        data["comments"].append(
            {"at": stamp, "author": author, "text": f"→ {department.id}", "kind": "route"}
        )

    workflow.update(reports.store, tenant, request_id, change)
    return reports.staff_view(tenant, request_id)


def assign(
    reports: ReportService, tenant: str, request_id: str, assignee: str | None, author: str
) -> dict[str, Any]:
    """Assign the report to a console user who is operator or admin of the tenant (None
    unassigns)."""
    reports.entity(tenant, request_id)
    if assignee is not None:
        user = reports.store.get_user(assignee)
        role = None if user is None else user.roles.get(tenant)
        if user is None:
            raise BadRequestData(f"there is no console user {assignee!r}")
        if role not in STAFF_ROLES:
            raise BadRequestData(
                f"{assignee!r} is not an operator or admin of {tenant!r}; only staff of the "
                "tenant can be assigned"
            )
    stamp = format_datetime(reports.clock())

    def change(data: dict[str, Any]) -> None:
        data["assignee"] = assignee
        data["comments"].append(
            {"at": stamp, "author": author, "text": f"→ {assignee or '-'}", "kind": "assign"}
        )

    workflow.update(reports.store, tenant, request_id, change)
    return reports.staff_view(tenant, request_id)


def comment(
    reports: ReportService, tenant: str, request_id: str, text: str, author: str
) -> dict[str, Any]:
    """An internal comment: staff only, never in Open311 or on the tracking page."""
    reports.entity(tenant, request_id)
    body = _text(text, "text", reports.config.limits.max_description)
    stamp = format_datetime(reports.clock())

    def change(data: dict[str, Any]) -> None:
        data["comments"].append({"at": stamp, "author": author, "text": body, "kind": "comment"})

    workflow.update(reports.store, tenant, request_id, change)
    return reports.staff_view(tenant, request_id)


def public_update(
    reports: ReportService, tenant: str, request_id: str, note: str, author: str
) -> dict[str, Any]:
    """A public note without a status change: Open311 ``status_notes`` and the tracking
    page (no e-mail: those go out at status changes)."""
    current = reports.key_values(reports.entity(tenant, request_id))
    body = _text(note, "note", reports.config.limits.max_short_text)
    status = model.workflow_status(current)
    now = reports.clock()
    attrs = {
        "status_notes": {"type": "Property", "value": body},
        "updated_datetime": {
            "type": "Property",
            "value": {"@type": "DateTime", "@value": format_datetime(now)},
        },
    }
    reports.entities.append_attributes(
        tenant, model.entity_id(request_id), expand_attributes(attrs, reports.context)
    )
    stamp = format_datetime(now)

    def change(data: dict[str, Any]) -> None:
        data["updates"].append({"at": stamp, "status": status, "note": body, "author": author})

    workflow.update(reports.store, tenant, request_id, change)
    return reports.staff_view(tenant, request_id)


@dataclass(frozen=True, slots=True)
class StaffFilter:
    statuses: tuple[WorkflowStatus, ...] = ()
    department: str | None = None
    assignee: str | None = None
    overdue: bool | None = None
    moderation: str | None = None
    """``pending`` (waiting for a moderator), ``approved`` or ``rejected``"""
    page: int = 1
    page_size: int = 100


def parse_statuses(text: str | None) -> tuple[WorkflowStatus, ...]:
    out: list[WorkflowStatus] = []
    for part in (text or "").split(","):
        name = part.strip()
        if not name:
            continue
        match = [s for s in WORKFLOW_STATUSES if s == name]
        if not match:
            raise BadRequestData(f"status {name!r} is not one of {', '.join(WORKFLOW_STATUSES)}")
        out.append(match[0])
    return tuple(dict.fromkeys(out))


def _scan(reports: ReportService, tenant: str, where: StaffFilter) -> Iterator[dict[str, Any]]:
    terms: list[str] = []
    statuses = where.statuses
    if where.overdue:
        statuses = tuple(
            s for s in statuses or WORKFLOW_STATUSES if s in ("new", "acknowledged", "in_progress")
        )
        if not statuses:
            return
    if statuses:
        terms.append("workflowStatus==" + ",".join(f'"{s}"' for s in statuses))
    if where.department is not None:
        terms.append(f'department=="{where.department}"')
    if where.moderation is not None:
        if where.moderation not in MODERATION_STATES:
            raise BadRequestData(
                f"moderation {where.moderation!r} is not one of {', '.join(MODERATION_STATES)}"
            )
        terms.append(f'{MODERATION}=="{where.moderation}"')
    q = (
        map_attribute_names(parse_q(";".join(terms)), reports.context.expand_term)
        if terms
        else None
    )
    offset = 0
    while True:
        result = reports.store.query_entities(
            tenant,
            EntityQuery(
                types=TypeName(model.ENTITY_TYPE_IRI), q=q, limit=SCAN_BATCH, offset=offset
            ),
        )
        for found in result.entities:
            yield reports.summary(tenant, reports.key_values(found))
        if len(result.entities) < SCAN_BATCH:
            return
        offset += SCAN_BATCH


def list_reports(
    reports: ReportService, tenant: str, where: StaffFilter
) -> tuple[list[dict[str, Any]], int]:
    """One page of the tenant's reports for staff, oldest first, and the total. Overdue and
    assignee are evaluated on each report at read time."""
    if where.department is not None and not reports.config.department(tenant, where.department):
        raise BadRequestData(f"department {where.department!r} is not one of this tenant's")
    rows = [
        row
        for row in _scan(reports, tenant, where)
        if (where.assignee is None or row["assignee"] == where.assignee)
        and (where.overdue is None or row["sla"]["overdue"] == where.overdue)
    ]
    start = (where.page - 1) * where.page_size
    return rows[start : start + where.page_size], len(rows)


def moderate(
    reports: ReportService,
    tenant: str,
    request_id: str,
    decision: str,
    author: str,
    *,
    reason: str | None = None,
    description: str | None = None,
    tracking_base: str | None = None,
) -> dict[str, Any]:
    """A moderator's decision on a report waiting for one: ``approve`` makes it public
    (``description``, when given, replaces the text first, e.g. with the phone number
    removed); ``reject`` keeps it hidden and rejects the report with ``reason`` (the reporter
    is e-mailed). 409 when the report is not waiting for a moderator."""
    current = reports.key_values(reports.entity(tenant, request_id))
    if decision not in ("approve", "reject"):
        raise BadRequestData(f"decision {decision!r} must be approve or reject")
    if moderation_state(current) != "pending":
        raise IllegalTransition(
            f"report {request_id} is not waiting for a moderator "
            f"(moderation: {moderation_state(current)})"
        )
    now = reports.clock()
    attrs: dict[str, Any] = {
        MODERATION: {
            "type": "Property",
            "value": "approved" if decision == "approve" else "rejected",
        }
    }
    if decision == "approve" and description is not None:
        limit = reports.config.limits.max_description
        if len(description) > limit:
            raise BadRequestData(f"description has {len(description)} characters; at most {limit}")
        attrs["description"] = {"type": "Property", "value": description}
    if decision == "reject" and (not reason or not reason.strip()):
        raise BadRequestData("reason is required to reject: why the report is not published")
    reports.entities.append_attributes(
        tenant, model.entity_id(request_id), expand_attributes(attrs, reports.context)
    )
    stamp = format_datetime(now)

    def change(data: dict[str, Any]) -> None:
        entry = data.get("moderation") or {"flags": [], "decisions": []}
        entry.setdefault("decisions", []).append(
            {"at": stamp, "author": author, "decision": decision, "reason": reason}
        )
        data["moderation"] = entry

    workflow.update(reports.store, tenant, request_id, change)
    if decision == "reject" and model.workflow_status(current) not in FINISHED:
        reports.change_status(
            tenant,
            request_id,
            "rejected",
            reason=reason,
            author=author,
            tracking_base=tracking_base,
        )
    return reports.staff_view(tenant, request_id)
