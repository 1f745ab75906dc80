"""The reporters' rights (GDPR): export and erase a reporter's personal data, and the
retention period of personal data of finished reports.

A reporter is found by the ``email`` they gave (every report of theirs) or by one
``service_request_id``. *Export* gives their contact data and their reports as JSON. *Erase*
keeps each report (the city still has to fix the pothole) but deletes the
``citizen-reporter`` record (e-mail, name, phone, device and account ids — so no further
e-mail reaches them) and, where the moderation filter found personal data (an e-mail, a phone
number, a personal numeric code, an identity card) in the description or address, replaces
those matches by :data:`REDACTED` in the entity, deletes the history of the redacted
attributes (the old texts, readable through the temporal API) and drops the matches from the
moderation flags.

:func:`apply_retention` (the scheduler job ``citizens.retention``) erases the reporter data of
reports finished (resolved, closed, rejected) more than ``limits.retention_days`` ago.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from cetate.domains.citizens import entity as model
from cetate.domains.citizens import reporters, workflow
from cetate.domains.citizens.reports import ReportService
from cetate.errors import BadRequestData, ResourceNotFound

if TYPE_CHECKING:
    from cetate.domains.citizens.runtime import CitizensRuntime
from cetate.ngsi.representation import expand_attributes
from cetate.ngsi.timestamps import format_datetime, parse_datetime

REDACTED: Final = "[date personale șterse / personal data removed]"
PERSONAL_FLAGS: Final = frozenset({"email", "phone", "cnp", "id_number"})
BATCH: Final = 1000


def _reporter_records(reports: ReportService, tenant: str) -> Iterator[tuple[str, dict[str, Any]]]:
    offset = 0
    while True:
        batch = reports.store.list_records(tenant, reporters.KIND, limit=BATCH, offset=offset)
        for record in batch:
            yield record.key, record.data
        if len(batch) < BATCH:
            return
        offset += BATCH


def find_requests(
    reports: ReportService, tenant: str, *, email: str | None, request_id: str | None
) -> list[str]:
    """The ids of the reports of the reporter named by ``email`` or ``request_id`` (400
    without either; 404 when nothing matches)."""
    if request_id:
        if reports.get_any(tenant, request_id) is None:
            raise ResourceNotFound(f"service request {request_id!r} does not exist")
        return [request_id]
    if not email or "@" not in email:
        raise BadRequestData("give the reporter's email or a service_request_id")
    wanted = email.strip().casefold()
    found = [
        key
        for key, data in _reporter_records(reports, tenant)
        if str(data.get("email", "")).strip().casefold() == wanted
    ]
    if not found:
        raise ResourceNotFound("no report of this tenant has a reporter with that email")
    return sorted(found, key=lambda key: (len(key), key))


def export_personal_data(
    reports: ReportService, tenant: str, *, email: str | None, request_id: str | None
) -> dict[str, Any]:
    """Everything kept about the reporter: contact data, language and their reports."""
    ids = find_requests(reports, tenant, email=email, request_id=request_id)
    return {
        "tenant": tenant,
        "exportedAt": format_datetime(reports.clock()),
        "reports": [
            {
                "service_request_id": rid,
                "reporter": reporters.load_reporter(reports.store, tenant, rid),
                "language": workflow.load(reports.store, tenant, rid).get("language"),
                "report": reports.get_any(tenant, rid),
            }
            for rid in ids
        ],
    }


def _redact(text: Any, matches: list[str]) -> Any:
    if not isinstance(text, str):
        return text
    for match in sorted(matches, key=len, reverse=True):
        text = text.replace(match, REDACTED)
    return text


def erase_report(reports: ReportService, tenant: str, request_id: str) -> dict[str, Any]:
    """Erase the personal data of one report; what was done."""
    removed = reports.store.delete_record(tenant, reporters.KIND, request_id)
    data = workflow.load(reports.store, tenant, request_id)
    flags = (data.get("moderation") or {}).get("flags") or []
    matches = [str(f.get("match")) for f in flags if f.get("kind") in PERSONAL_FLAGS]
    redacted: list[str] = []
    if matches:
        current = reports.key_values(reports.entity(tenant, request_id))
        attrs: dict[str, Any] = {}
        for name in ("description", "address_string"):
            new = _redact(current.get(name), matches)
            if new != current.get(name):
                attrs[name] = {"type": "Property", "value": new}
                redacted.append(name)
        if attrs:
            expanded = expand_attributes(attrs, reports.context)
            entity_id = model.entity_id(request_id)
            reports.entities.append_attributes(tenant, entity_id, expanded)
            # the old texts stay in the attribute history otherwise: the redacted current
            # value is the only copy left
            reports.store.delete_history(tenant, entity_id, sorted(expanded))

        def forget(record: dict[str, Any]) -> None:
            entry = record.get("moderation") or {}
            entry["flags"] = [
                f if f.get("kind") not in PERSONAL_FLAGS else {"kind": f.get("kind"), "match": None}
                for f in entry.get("flags") or []
            ]
            record["moderation"] = entry

        workflow.update(reports.store, tenant, request_id, forget)
    return {"service_request_id": request_id, "reporter_removed": removed, "redacted": redacted}


def erase_personal_data(
    reports: ReportService, tenant: str, *, email: str | None, request_id: str | None
) -> list[dict[str, Any]]:
    """Erase the reporter's personal data from each of their reports (kept otherwise)."""
    ids = find_requests(reports, tenant, email=email, request_id=request_id)
    return [erase_report(reports, tenant, rid) for rid in ids]


def apply_retention(reports: ReportService, tenant: str, now: datetime | None = None) -> list[str]:
    """Erase the reporter data of reports finished more than ``retention_days`` ago; the
    request ids erased."""
    moment = now or reports.clock()
    limit = moment - timedelta(days=reports.config.limits.retention_days)
    erased: list[str] = []
    for key, _ in list(_reporter_records(reports, tenant)):
        finished = workflow.load(reports.store, tenant, key).get("resolvedAt")
        if not finished or parse_datetime(str(finished)) > limit:
            continue
        current = reports.get_any(tenant, key)
        if current is None or current.get("workflow_status") not in (
            "resolved",
            "closed",
            "rejected",
        ):
            continue
        erase_report(reports, tenant, key)
        erased.append(key)
    return erased


def apply_retention_everywhere(runtime: CitizensRuntime) -> dict[str, list[str]]:
    """:func:`apply_retention` on every tenant (the scheduler job); erased ids per tenant."""
    names = {runtime.default_tenant, *(t.name for t in runtime.store.list_tenants())}
    done = {name: apply_retention(runtime.reports, name) for name in sorted(names)}
    return {name: ids for name, ids in done.items() if ids}
