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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from cetate.domains.citizens import entity as model
from cetate.domains.citizens.config import SERVICE_CODE_RE, CitizensConfig, pick
from cetate.domains.citizens.errors import bad_request, not_found
from cetate.domains.citizens.media import delete_media, save_photo
from cetate.domains.citizens.photos import Photo
from cetate.domains.citizens.reporters import load_reporter, save_reporter
from cetate.domains.citizens.status import WorkflowStatus, next_status
from cetate.domains.citizens.submission import Submission
from cetate.entities import EntityService
from cetate.errors import AlreadyExists, BadRequestData, RecordConflict, ResourceNotFound
from cetate.ngsi.jsonld import ContextResolver, LdContext
from cetate.ngsi.model import EntityDoc
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.query_language import map_attribute_names, parse_q
from cetate.ngsi.representation import expand_attributes, expand_entity, render_entity
from cetate.ngsi.timestamps import format_datetime, utc_now
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
    ) -> None:
        self.store = store
        self.entities = entities
        self.config = config
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
    ) -> Created:
        """Store a checked report: its photo, entity, reporter record and token."""
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
            now=utc_now(),
        )
        try:
            self.entities.create(tenant, expand_entity(payload, self.context))
        except Exception:
            if media_id is not None:
                delete_media(self.store, tenant, media_id)
            raise
        save_reporter(self.store, tenant, request_id, submission.reporter)
        token = secrets.token_urlsafe(12)
        self.store.put_record(
            tenant, TOKEN_KIND, token, {"requestId": request_id}, expected_version=None
        )
        return Created(request_id, token, media_url)

    def change_status(
        self,
        tenant: str,
        request_id: str,
        requested: str,
        *,
        note: str | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Move a report through the workflow (see :mod:`~cetate.domains.citizens.status`);
        ``reason`` (required to reject) or ``note`` becomes the public ``status_notes``.
        Returns the staff view of the report."""
        current = self._entity(tenant, request_id)
        if current is None:
            raise ResourceNotFound(f"service request {request_id!r} does not exist")
        before = model.workflow_status(self._key_values(current))
        target: WorkflowStatus = next_status(before, requested, reason)
        notes = reason.strip() if target == "rejected" and reason else note
        limit = self.config.limits.max_short_text
        if notes is not None and len(notes) > limit:
            raise BadRequestData(f"the note has {len(notes)} characters; at most {limit}")
        attrs = expand_attributes(model.status_update(target, notes, utc_now()), self.context)
        self.entities.append_attributes(tenant, current["id"], attrs)
        return self.staff_view(tenant, request_id)

    # -- reading ---------------------------------------------------------------------------

    def _entity(self, tenant: str, request_id: str) -> EntityDoc | None:
        if not request_id.isdigit() or len(request_id) > model.ID_DIGITS:
            return None
        return self.store.get_entity(tenant, model.entity_id(request_id))

    def _key_values(self, entity: EntityDoc) -> dict[str, Any]:
        return render_entity(entity, self.context, representation="keyValues")

    def get(self, tenant: str, request_id: str) -> dict[str, Any] | None:
        """One report as Open311 shows it, or None."""
        entity = self._entity(tenant, request_id)
        return None if entity is None else model.to_open311(self._key_values(entity))

    def staff_view(self, tenant: str, request_id: str) -> dict[str, Any]:
        """A report for staff: the Open311 view, the workflow status and the reporter."""
        entity = self._entity(tenant, request_id)
        if entity is None:
            raise ResourceNotFound(f"service request {request_id!r} does not exist")
        key_values = self._key_values(entity)
        return {
            **model.to_open311(key_values),
            "workflow_status": model.workflow_status(key_values),
            "entity_id": entity["id"],
            "reporter": load_reporter(self.store, tenant, request_id),
        }

    def request_for_token(self, tenant: str, token: str) -> str:
        """The service request id a token stands for; Open311 404 when unknown."""
        record = self.store.get_record(tenant, TOKEN_KIND, token) if len(token) <= 64 else None
        if record is None:
            raise not_found(f"token {token!r} is unknown in this jurisdiction")
        return str(record.data["requestId"])

    def _query_text(self, where: RequestFilter) -> str | None:
        terms: list[str] = []
        if where.service_codes:
            terms.append("service_code==" + ",".join(f'"{c}"' for c in where.service_codes))
        if where.statuses:
            terms.append("status==" + ",".join(f'"{s}"' for s in where.statuses))
        start, end = where.start, where.end
        if start is None and end is None:
            start = utc_now() - DEFAULT_WINDOW
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
            rows = [
                model.to_open311(self._key_values(found[model.entity_id(i)]))
                for i in ids
                if model.entity_id(i) in found
            ]
            return Page(rows, len(rows))
        text = self._query_text(where)
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


def check_service_codes(codes: Sequence[str]) -> tuple[str, ...]:
    for code in codes:
        if not SERVICE_CODE_RE.fullmatch(code):
            raise bad_request(f"service_code {code!r} is not a service code")
    return tuple(codes)
