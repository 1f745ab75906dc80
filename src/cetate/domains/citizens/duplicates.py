"""Likely duplicates, and how staff merge or split them.

When a report with coordinates arrives, :func:`find_original` looks for an **open** report of
the **same category** within ``duplicates.radius_m`` metres that arrived at most
``duplicates.window_hours`` before (configuration; defaults 50 m and 72 h). The nearest one
(or, when it is itself a likely duplicate, the report it duplicates) becomes the new entity's
``likelyDuplicateOf`` relationship. Nothing else changes: staff decide.

* **merge** (:func:`merge`): the duplicate is closed (``closed``, a public note naming the
  original), gets ``mergedInto``; its reporter — and the reporters that followed it — now
  follow the original: they get its status e-mails, and the duplicate's tracking page shows
  the original's updates.
* **split** (:func:`split`): a likely duplicate loses the link; a merged one also leaves the
  original's followers and is reopened (``acknowledged``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cetate.domains.citizens import entity as model
from cetate.domains.citizens import workflow
from cetate.domains.citizens.areas import distance_m
from cetate.domains.citizens.notifications import enqueue_status_emails
from cetate.domains.citizens.status import FINISHED, IllegalTransition
from cetate.domains.citizens.submission import Submission
from cetate.errors import BadRequestData
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.query_language import map_attribute_names, parse_q
from cetate.ngsi.representation import expand_attributes
from cetate.ngsi.timestamps import format_datetime
from cetate.store.base import EntityQuery, GeoQuery

if TYPE_CHECKING:
    from cetate.domains.citizens.reports import ReportService

CANDIDATES = 50


def find_original(
    reports: ReportService, tenant: str, submission: Submission, now: datetime
) -> str | None:
    """The request id of the open report a new ``submission`` likely duplicates, or None."""
    if submission.lat is None or submission.long is None:
        return None
    rule = reports.config.duplicates
    since = now - timedelta(hours=rule.window_hours)
    code = submission.service.service_code
    text = (
        f'service_code=="{code}";status=="open";'
        f"requested_datetime.observedAt>={format_datetime(since)}"
    )
    q = map_attribute_names(parse_q(text), reports.context.expand_term)
    point = {"type": "Point", "coordinates": [submission.long, submission.lat]}
    result = reports.store.query_entities(
        tenant,
        EntityQuery(
            types=TypeName(model.ENTITY_TYPE_IRI),
            q=q,
            geo=GeoQuery("near", point, max_distance=rule.radius_m),
            limit=CANDIDATES,
        ),
    )
    best: tuple[float, str] | None = None
    for found in result.entities:
        key_values = reports.key_values(found)
        view = model.to_open311(key_values)
        if view["lat"] is None or view["long"] is None:
            continue
        distance = distance_m(submission.long, submission.lat, view["long"], view["lat"])
        if distance > rule.radius_m:
            continue
        original = model.duplicate_of(key_values) or str(view["service_request_id"])
        if best is None or distance < best[0]:
            best = (distance, original)
    return None if best is None else best[1]


def _relationship(target: str) -> dict[str, Any]:
    return {"type": "Relationship", "object": model.entity_id(target)}


MERGE_NOTE = {
    "ro": "Sesizare unită cu sesizarea nr. {id}",
    "en": "Merged into report no. {id}",
}

SPLIT_NOTE = {
    "ro": "Sesizarea a fost separată și redeschisă",
    "en": "The report was split off and reopened",
}


def merge(
    reports: ReportService,
    tenant: str,
    request_id: str,
    into: str | None,
    *,
    author: str | None,
    tracking_base: str | None,
) -> dict[str, Any]:
    """Merge report ``request_id`` into ``into`` (default: the report it likely
    duplicates). Returns the staff view of the merged report."""
    duplicate = reports.key_values(reports.entity(tenant, request_id))
    data = workflow.load(reports.store, tenant, request_id)
    if data.get("mergedInto"):
        raise IllegalTransition(
            f"report {request_id} is already merged into report {data['mergedInto']}"
        )
    target = into or model.duplicate_of(duplicate)
    if target is None:
        raise BadRequestData(
            f"report {request_id} is not linked as a likely duplicate: say which report to "
            "merge it into ('into')"
        )
    if target == request_id:
        raise BadRequestData("a report cannot be merged into itself")
    reports.entity(tenant, target)
    target_data = workflow.load(reports.store, tenant, target)
    if target_data.get("mergedInto"):
        raise IllegalTransition(
            f"report {target} is itself merged into report {target_data['mergedInto']}; "
            "merge into that one"
        )
    status = model.workflow_status(duplicate)
    if status in FINISHED:
        raise IllegalTransition(
            f"report {request_id} is {status}; only open reports can be merged",
            current=status,
        )
    note = MERGE_NOTE[reports.config.default_language].format(id=target)
    now = reports.clock()
    moved = [request_id, *[str(f) for f in data.get("followers") or []]]

    def follow(target_record: dict[str, Any]) -> None:
        followers = [str(f) for f in target_record.get("followers") or []]
        target_record["followers"] = list(dict.fromkeys([*followers, *moved]))

    workflow.update(reports.store, tenant, target, follow)
    attrs = model.status_update("closed", note, now)
    attrs[model.MERGED_INTO] = _relationship(target)
    reports.entities.append_attributes(
        tenant, model.entity_id(request_id), expand_attributes(attrs, reports.context)
    )
    stamp = format_datetime(now)

    def closed(record: dict[str, Any]) -> None:
        record["mergedInto"] = target
        record["followers"] = []
        record["resolvedAt"] = stamp
        record["updates"].append({"at": stamp, "status": "closed", "note": note, "author": author})

    workflow.update(reports.store, tenant, request_id, closed)
    code = str(duplicate.get("service_code", ""))
    service = reports.config.service(tenant, code)
    token = target_data.get("token")
    enqueue_status_emails(
        reports.store,
        tenant,
        request_id,
        status="closed",
        note=note,
        service_name=service.service_name if service is not None else {"en": code},
        link=f"{tracking_base}/{token}" if tracking_base and token else None,
        now=now,
    )
    return reports.staff_view(tenant, request_id)


def split(
    reports: ReportService,
    tenant: str,
    request_id: str,
    *,
    author: str | None,
    tracking_base: str | None,
) -> dict[str, Any]:
    """Undo a likely-duplicate link, or a merge (the report is then reopened)."""
    key_values = reports.key_values(reports.entity(tenant, request_id))
    data = workflow.load(reports.store, tenant, request_id)
    merged_into = data.get("mergedInto")
    likely = model.duplicate_of(key_values)
    if merged_into is None and likely is None:
        raise IllegalTransition(f"report {request_id} is not linked as a duplicate")
    entity_id = model.entity_id(request_id)
    for name in (model.DUPLICATE_OF, model.MERGED_INTO):
        if name in key_values:
            reports.entities.delete_attribute(
                tenant, entity_id, reports.context.expand_term(name), delete_all=True
            )
    if merged_into is not None:

        def unfollow(record: dict[str, Any]) -> None:
            record["followers"] = [f for f in record.get("followers") or [] if f != request_id]

        workflow.update(reports.store, tenant, str(merged_into), unfollow)

        def unmerge(record: dict[str, Any]) -> None:
            record["mergedInto"] = None

        workflow.update(reports.store, tenant, request_id, unmerge)
        note = SPLIT_NOTE[reports.config.default_language]
        reports.write_status(
            tenant, request_id, "acknowledged", note, author=author, tracking_base=tracking_base
        )
    return reports.staff_view(tenant, request_id)
