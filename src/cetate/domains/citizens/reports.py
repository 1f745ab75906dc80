"""Reports (Open311 service requests) in the store: submit, read, list, look up tokens, move
through the workflow.

Every report is an NGSI-LD entity written through the platform's one write path
(:class:`~cetate.entities.EntityService`, expanded with :data:`~.entity.CONTEXT`), so rules and
subscriptions see it like any other entity. Around the entity, store records keep what is not
public or not an entity:

* ``citizen-counter`` / ``requests`` — the last service request id of the tenant (ids are
  1, 2, 3 … per tenant, allocated with optimistic concurrency, so several processes never hand
  out the same id);
* ``citizen-token`` / ``<token>`` — ``{"requestId"}``: the token returned with every new report;
* ``citizen-reporter`` / ``<request id>`` — the reporter's personal data
  (:mod:`~cetate.domains.citizens.reporters`);
* ``citizen-media`` / ``<media id>`` — the cleaned photo (:mod:`~cetate.domains.citizens.media`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from cetate.domains.citizens import entity as model
from cetate.domains.citizens import workflow
from cetate.domains.citizens.config import LANGUAGES, SERVICE_CODE_RE, CitizensConfig, pick
from cetate.domains.citizens.duplicates import find_original
from cetate.domains.citizens.errors import bad_request, not_found
from cetate.domains.citizens.media import delete_media, save_photo
from cetate.domains.citizens.moderation import ATTRIBUTE as MODERATION
from cetate.domains.citizens.moderation import screen_all
from cetate.domains.citizens.notifications import enqueue_status_emails
from cetate.domains.citizens.photos import Photo
from cetate.domains.citizens.reporters import load_reporter, save_reporter
from cetate.domains.citizens.routing import route
from cetate.domains.citizens.sla import sla_state
from cetate.domains.citizens.status import IllegalTransition, WorkflowStatus, next_status
from cetate.domains.citizens.submission import Submission
from cetate.entities import EntityService
from cetate.errors import AlreadyExists, BadRequestData, RecordConflict, ResourceNotFound
from cetate.ngsi.jsonld import ContextResolver, LdContext
from cetate.ngsi.model import EntityDoc
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.query_language import map_attribute_names, parse_q
from cetate.ngsi.representation import expand_attributes, expand_entity, render_entity
from cetate.ngsi.timestamps import format_datetime, parse_datetime, utc_now
from cetate.store.base import ContextStore, EntityQuery

COUNTER_KIND: Final = "citizen-counter"
TOKEN_KIND: Final = "citizen-token"  # noqa: S105 (a record kind, not a secret)
DEFAULT_WINDOW: Final = timedelta(days=90)
"""Without start_date and end_date, GET requests covers the last 90 days (the
specification's default)."""
MAX_IDS: Final = 100

Open311Status = Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class Created:
    """What POST requests answers."""

    service_request_id: str
    token: str
    media_url: str | None


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """GET requests parameters, checked."""

    service_request_ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[Open311Status, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = 100


@dataclass(frozen=True, slots=True)
class Page:
    requests: list[dict[str, Any]]
    total: int


class ReportService:
    """Reports of every tenant (each call names its tenant)."""

    def __init__(
        self,
        store: ContextStore,
        entities: EntityService,
        resolver: ContextResolver,
        config: CitizensConfig,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.entities = entities
        self.config = config
        self.clock = clock
        self.context: LdContext = resolver.resolve(model.CONTEXT)

    # -- writing ---------------------------------------------------------------------------

    def _next_id(self, tenant: str) -> str:
        while True:
            record = self.store.get_record(tenant, COUNTER_KIND, "requests")
            try:
                if record is None:
                    self.store.put_record(
                        tenant, COUNTER_KIND, "requests", {"last": 1}, expected_version=None
                    )
                    return "1"
                last = int(record.data["last"]) + 1
                self.store.put_record(
                    tenant,
                    COUNTER_KIND,
                    "requests",
                    {"last": last},
                    expected_version=record.version,
                )
                return str(last)
            except (AlreadyExists, RecordConflict):
                continue

    def submit(
        self,
        tenant: str,
        submission: Submission,
        *,
        jurisdiction_id: str,
        photo: Photo | None,
        media_base_url: str,
        language: str | None = None,
    ) -> Created:
        """Store a checked report: its photo, entity (routed to a department, linked to the
        open report it likely duplicates), reporter record, workflow record and token.
        ``language`` is the one the reporter used (their e-mails are in it)."""
        now = self.clock()
        found_route = route(
            self.config.departments_for(tenant),
            submission.service.service_code,
            submission.long,
            submission.lat,
        )
        original = find_original(self, tenant, submission, now)
        request_id = self._next_id(tenant)
        media_url = submission.media_url
        media_id: str | None = None
        if photo is not None:
            stored = save_photo(self.store, tenant, photo)
            media_id = stored.media_id
            media_url = f"{media_base_url}/{stored.media_id}.{stored.extension}"
        payload = model.build_entity(
            request_id,
            submission,
            service_name=pick(submission.service.service_name, self.config.default_language),
            jurisdiction_id=jurisdiction_id,
            media_url=media_url,
            now=now,
        )
        if found_route is not None:
            payload.update(model.department_attrs(found_route.department, self.config))
        flags = screen_all(submission.description, submission.address_string)
        payload[MODERATION] = {"type": "Property", "value": "pending" if flags else "approved"}
        if original is not None:
            payload[model.DUPLICATE_OF] = {
                "type": "Relationship",
                "object": model.entity_id(original),
            }
        try:
            self.entities.create(tenant, expand_entity(payload, self.context))
        except Exception:
            if media_id is not None:
                delete_media(self.store, tenant, media_id)
            raise
        lang = language if language in LANGUAGES else self.config.default_language
        reporter = dict(submission.reporter)
        if reporter:
            reporter["language"] = lang
        save_reporter(self.store, tenant, request_id, reporter)
        token = secrets.token_urlsafe(12)
        self.store.put_record(
            tenant, TOKEN_KIND, token, {"requestId": request_id}, expected_version=None
        )
        data = workflow.empty(token, lang)
        if found_route is not None:
            data["department"] = found_route.department.id
            data["routedBy"] = found_route.routed_by
        data["moderation"] = {"flags": [f.as_json() for f in flags], "decisions": []}
        self.store.put_record(tenant, workflow.KIND, request_id, data, expected_version=None)
        return Created(request_id, token, media_url)

    def change_status(
        self,
        tenant: str,
        request_id: str,
        requested: str,
        *,
        note: str | None = None,
        reason: str | None = None,
        author: str | None = None,
        tracking_base: str | None = None,
    ) -> dict[str, Any]:
        """Move a report through the workflow (see :mod:`~cetate.domains.citizens.status`);
        ``reason`` (required to reject) or ``note`` becomes the public ``status_notes`` and a
        public update; the reporters are e-mailed (``tracking_base``: the URL the tracking
        link starts with). Returns the staff view of the report."""
        current = self.entity(tenant, request_id)
        if workflow.load(self.store, tenant, request_id).get("mergedInto"):
            raise IllegalTransition(
                f"report {request_id} was merged into another; split it first to move it"
            )
        before = model.workflow_status(self.key_values(current))
        target: WorkflowStatus = next_status(before, requested, reason)
        notes = reason.strip() if target == "rejected" and reason else note
        limit = self.config.limits.max_short_text
        if notes is not None and len(notes) > limit:
            raise BadRequestData(f"the note has {len(notes)} characters; at most {limit}")
        self.write_status(
            tenant, request_id, target, notes, author=author, tracking_base=tracking_base
        )
        return self.staff_view(tenant, request_id)

    def write_status(
        self,
        tenant: str,
        request_id: str,
        target: WorkflowStatus,
        notes: str | None,
        *,
        author: str | None,
        tracking_base: str | None,
    ) -> None:
        """Write a (checked) status change: the entity, the public update, the reporters'
        e-mails."""
        now = self.clock()
        attrs = expand_attributes(model.status_update(target, notes, now), self.context)
        self.entities.append_attributes(tenant, model.entity_id(request_id), attrs)
        stamp = format_datetime(now)

        def record(data: dict[str, Any]) -> None:
            data["updates"].append({"at": stamp, "status": target, "note": notes, "author": author})
            if target == "acknowledged" and not data.get("acknowledgedAt"):
                data["acknowledgedAt"] = stamp
            if target in ("resolved", "closed", "rejected"):
                data["resolvedAt"] = stamp
            elif data.get("resolvedAt"):
                data["resolvedAt"] = None

        data = workflow.update(self.store, tenant, request_id, record)
        code = str(self.key_values(self.entity(tenant, request_id)).get("service_code", ""))
        service = self.config.service(tenant, code)
        token = data.get("token")
        enqueue_status_emails(
            self.store,
            tenant,
            request_id,
            status=target,
            note=notes,
            service_name=service.service_name if service is not None else {"en": code},
            link=f"{tracking_base}/{token}" if tracking_base and token else None,
            now=now,
        )

    # -- reading ---------------------------------------------------------------------------

    def _entity(self, tenant: str, request_id: str) -> EntityDoc | None:
        if not request_id.isdigit() or len(request_id) > model.ID_DIGITS:
            return None
        return self.store.get_entity(tenant, model.entity_id(request_id))

    def entity(self, tenant: str, request_id: str) -> EntityDoc:
        """The report's entity; ResourceNotFound (404) when there is none."""
        found = self._entity(tenant, request_id)
        if found is None:
            raise ResourceNotFound(f"service request {request_id!r} does not exist")
        return found

    def key_values(self, entity: EntityDoc) -> dict[str, Any]:
        return render_entity(entity, self.context, representation="keyValues")

    _key_values = key_values

    def get(self, tenant: str, request_id: str) -> dict[str, Any] | None:
        """One report as Open311 shows it, or None (also while it waits for a moderator or
        after a moderator rejected it: not public)."""
        entity = self._entity(tenant, request_id)
        if entity is None:
            return None
        key_values = self._key_values(entity)
        return model.to_open311(key_values) if public(key_values) else None

    def get_any(self, tenant: str, request_id: str) -> dict[str, Any] | None:
        """One report as Open311 shows it, public or not (the reporter's tracking page),
        with ``moderation``; None when there is no such report."""
        entity = self._entity(tenant, request_id)
        if entity is None:
            return None
        key_values = self._key_values(entity)
        return {
            **model.to_open311(key_values),
            "workflow_status": model.workflow_status(key_values),
            "moderation": moderation_state(key_values),
        }

    def staff_view(self, tenant: str, request_id: str) -> dict[str, Any]:
        """A report for staff: the Open311 view, the workflow status and the reporter."""
        entity = self._entity(tenant, request_id)
        if entity is None:
            raise ResourceNotFound(f"service request {request_id!r} does not exist")
        key_values = self._key_values(entity)
        return {
            **self.summary(tenant, key_values),
            "reporter": load_reporter(self.store, tenant, request_id),
            "workflow": workflow.load(self.store, tenant, request_id),
        }

    def summary(
        self,
        tenant: str,
        key_values: dict[str, Any],
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A report for staff lists: the Open311 view, workflow status, department,
        assignee, SLA state and duplicate links (no personal data)."""
        view = model.to_open311(key_values)
        request_id = str(view["service_request_id"])
        status = model.workflow_status(key_values)
        if data is None:
            data = workflow.load(self.store, tenant, request_id)
        service = self.config.service(tenant, str(view.get("service_code")))
        requested = parse_datetime(str(view["requested_datetime"]))
        return {
            **view,
            "workflow_status": status,
            "moderation": moderation_state(key_values),
            "entity_id": model.entity_id(request_id),
            "department": data.get("department"),
            "routed_by": data.get("routedBy"),
            "assignee": data.get("assignee"),
            "likely_duplicate_of": model.duplicate_of(key_values),
            "merged_into": data.get("mergedInto"),
            "merged": list(data.get("followers") or []),
            "sla": sla_state(service.sla if service else None, requested, status, self.clock()),
        }

    def request_for_token(self, tenant: str, token: str) -> str:
        """The service request id a token stands for; Open311 404 when unknown."""
        record = self.store.get_record(tenant, TOKEN_KIND, token) if len(token) <= 64 else None
        if record is None:
            raise not_found(f"token {token!r} is unknown in this jurisdiction")
        return str(record.data["requestId"])

    def _oldest_requested(self, tenant: str) -> datetime | None:
        """When the tenant's first report (lowest id) arrived; None without reports."""
        first = self.store.query_entities(
            tenant, EntityQuery(types=TypeName(model.ENTITY_TYPE_IRI), limit=1)
        ).entities
        if not first:
            return None
        value = model.to_open311(self._key_values(first[0])).get("requested_datetime")
        return parse_datetime(str(value)) if value else None

    def _query_text(self, where: RequestFilter, tenant: str | None = None) -> str | None:
        terms: list[str] = [f'{MODERATION}=="approved"']
        if where.service_codes:
            terms.append("service_code==" + ",".join(f'"{c}"' for c in where.service_codes))
        if where.statuses:
            terms.append("status==" + ",".join(f'"{s}"' for s in where.statuses))
        start, end = where.start, where.end
        if start is None and end is None:
            start = self.clock() - DEFAULT_WINDOW
        if start is not None and end is None and tenant is not None:
            # ids follow arrival, so a start at or before the first report's arrival selects
            # every report: the term is left out (the store compares DateTime values in
            # Python, a scan of every report; without it the query stays in SQL)
            oldest = self._oldest_requested(tenant)
            if oldest is None or start <= oldest:
                start = None
        if start is not None:
            terms.append(f"requested_datetime.observedAt>={format_datetime(start)}")
        if end is not None:
            terms.append(f"requested_datetime.observedAt<={format_datetime(end)}")
        return ";".join(terms) or None

    def list(self, tenant: str, where: RequestFilter) -> Page:
        """GET requests: by ids (other filters ignored, as the specification says), else by
        service codes, Open311 status and requested date, one page at a time, oldest first."""
        if where.service_request_ids:
            ids = [i for i in where.service_request_ids if i.isdigit() and len(i) <= 10]
            found = self.store.get_entities(tenant, [model.entity_id(i) for i in ids])
            views = [
                self._key_values(found[model.entity_id(i)])
                for i in ids
                if model.entity_id(i) in found
            ]
            rows = [model.to_open311(kv) for kv in views if public(kv)]
            return Page(rows, len(rows))
        text = self._query_text(where, tenant)
        q = map_attribute_names(parse_q(text), self.context.expand_term) if text else None
        result = self.store.query_entities(
            tenant,
            EntityQuery(
                types=TypeName(model.ENTITY_TYPE_IRI),
                q=q,
                limit=where.page_size,
                offset=(where.page - 1) * where.page_size,
                count=True,
            ),
        )
        rows = [model.to_open311(self._key_values(e)) for e in result.entities]
        return Page(rows, result.total or 0)


def moderation_state(key_values: dict[str, Any]) -> str:
    """A report's moderation state (``approved`` for reports older than moderation)."""
    value = key_values.get(MODERATION)
    return value if value in ("pending", "rejected") else "approved"


def public(key_values: dict[str, Any]) -> bool:
    """Whether the public may see a report (not waiting for, or rejected by, a moderator)."""
    return moderation_state(key_values) == "approved"


def check_service_codes(codes: Sequence[str]) -> tuple[str, ...]:
    for code in codes:
        if not SERVICE_CODE_RE.fullmatch(code):
            raise bad_request(f"service_code {code!r} is not a service code")
    return tuple(codes)
