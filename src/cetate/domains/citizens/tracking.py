"""The public tracking data of a report, found by its token (the link in the reporter's
e-mails): the report as Open311 shows it and its public updates — never the reporter, the
assignee, internal comments or who wrote an update. A report merged into another also shows
the other one (whose updates its reporter now follows)."""

from __future__ import annotations

from typing import Any

from cetate.domains.citizens import workflow
from cetate.domains.citizens.reports import TOKEN_KIND, ReportService
from cetate.errors import ResourceNotFound


def _public(reports: ReportService, tenant: str, request_id: str) -> dict[str, Any]:
    view = reports.get_any(tenant, request_id)
    if view is None:
        raise ResourceNotFound("no report for this tracking link")
    data = workflow.load(reports.store, tenant, request_id)
    updates = [
        {"at": u.get("at"), "status": u.get("status"), "note": u.get("note")}
        for u in data.get("updates") or []
    ]
    return {"request": view, "updates": updates}


def track(reports: ReportService, tenant: str, token: str) -> dict[str, Any]:
    """The tracking data for ``token``; ResourceNotFound (404) when unknown."""
    record = reports.store.get_record(tenant, TOKEN_KIND, token) if len(token) <= 64 else None
    if record is None:
        raise ResourceNotFound("no report for this tracking link")
    request_id = str(record.data["requestId"])
    out = _public(reports, tenant, request_id)
    merged_into = workflow.load(reports.store, tenant, request_id).get("mergedInto")
    out["merged_into"] = None if merged_into is None else _public(reports, tenant, str(merged_into))
    return out
