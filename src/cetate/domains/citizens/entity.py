"""A report as an NGSI-LD entity, and the entity as an Open311 service request.

The entity follows the FIWARE Smart Data Model for Open311 service requests
(``dataModel.IssueTracking``, type ``service_requests``, CC-BY-4.0) and its @context, so the
attribute names are those of Open311 itself: ``service_request_id``, ``service_code``,
``service_name``, ``description``, ``status`` (``open``/``closed``), ``status_notes``,
``requested_datetime``, ``updated_datetime``, ``address_string``, ``media_url``,
``attributes`` (a list of ``{"code", "value"}``), ``jurisdiction_id`` and ``location`` (a
GeoJSON Point). ``requested_datetime`` also carries ``observedAt`` (the same moment): date
filters compare that, because typed DateTime values are not indexed by the store. The
workflow status (``new`` … ``rejected``) is ``workflowStatus``, a Cetate attribute in the
NGSI-LD default vocabulary (``IssueReporting``'s ``resolutionStatus`` has a different, closed
list of values, so it is not borrowed). ``address_id`` has no term in the model either and
expands in the default vocabulary too.

The reporter's e-mail, name and phone are never part of the entity (see
:mod:`cetate.domains.citizens.reporters`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from cetate.domains.citizens.config import CitizensConfig, Department, pick
from cetate.domains.citizens.status import WORKFLOW_STATUSES, WorkflowStatus, open311_status
from cetate.domains.citizens.submission import Submission
from cetate.ngsi.jsonld import CORE_CONTEXT_URL
from cetate.ngsi.timestamps import format_datetime

ISSUE_CONTEXT_URL: Final = (
    "https://smart-data-models.github.io/dataModel.IssueTracking/context.jsonld"
)
CONTEXT: Final = [ISSUE_CONTEXT_URL, CORE_CONTEXT_URL]
"""The @context of report entities."""
ENTITY_TYPE: Final = "service_requests"
ISSUE_TERMS_PREFIX: Final = "https://smartdatamodels.org/dataModel.IssueTracking/"
ENTITY_TYPE_IRI: Final = ISSUE_TERMS_PREFIX + ENTITY_TYPE
ID_PREFIX: Final = "urn:ngsi-ld:Open311ServiceRequest:"
ID_DIGITS: Final = 10
"""Zero-padded so that entity ids sort in the order the reports arrived."""

DUPLICATE_OF: Final = "likelyDuplicateOf"
"""Relationship from a new report to the open report it likely duplicates."""
MERGED_INTO: Final = "mergedInto"
"""Relationship from a merged duplicate to the report it was merged into."""

OPEN311_FIELDS: Final = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
"""The members of a service request in GET ``requests`` answers, in the specification's order."""


def entity_id(request_id: str) -> str:
    """The entity id of a service request id (``17`` → ``…:0000000017``)."""
    return f"{ID_PREFIX}{int(request_id):0{ID_DIGITS}d}"


def _prop(value: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value}


def _date(moment: datetime) -> dict[str, Any]:
    return _prop({"@type": "DateTime", "@value": format_datetime(moment)})


def build_entity(
    request_id: str,
    submission: Submission,
    *,
    service_name: str,
    jurisdiction_id: str,
    media_url: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The new report's entity, normalized, with its ``@context``."""
    status: WorkflowStatus = "new"
    entity: dict[str, Any] = {
        "id": entity_id(request_id),
        "type": ENTITY_TYPE,
        "service_request_id": _prop(request_id),
        "service_code": _prop(submission.service.service_code),
        "service_name": _prop(service_name),
        "status": _prop(open311_status(status)),
        "workflowStatus": _prop(status),
        "requested_datetime": {**_date(now), "observedAt": format_datetime(now)},
        "updated_datetime": _date(now),
        "jurisdiction_id": _prop(jurisdiction_id),
    }
    if submission.description is not None:
        entity["description"] = _prop(submission.description)
    if submission.lat is not None and submission.long is not None:
        entity["location"] = {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [submission.long, submission.lat]},
        }
    if submission.address_string is not None:
        entity["address_string"] = _prop(submission.address_string)
    if submission.address_id is not None:
        entity["address_id"] = _prop(submission.address_id)
    if media_url is not None:
        entity["media_url"] = _prop(media_url)
    if submission.attributes:
        entity["attributes"] = _prop(
            [{"code": code, "value": value} for code, value in submission.attributes.items()]
        )
    entity["@context"] = list(CONTEXT)
    return entity


def status_update(status: WorkflowStatus, notes: str | None, now: datetime) -> dict[str, Any]:
    """The attributes a status change writes (normalized, to expand with :data:`CONTEXT`)."""
    update: dict[str, Any] = {
        "status": _prop(open311_status(status)),
        "workflowStatus": _prop(status),
        "updated_datetime": _date(now),
    }
    if notes is not None:
        update["status_notes"] = _prop(notes)
    return update


def department_attrs(department: Department, config: CitizensConfig) -> dict[str, Any]:
    """``department`` (its id, a Cetate attribute) and the model's ``agency_responsible``
    (its name in the default language)."""
    return {
        "department": _prop(department.id),
        "agency_responsible": _prop(pick(department.name, config.default_language)),
    }


def request_id_of(entity_ref: Any) -> str | None:
    """``…:0000000017`` → ``17``."""
    if isinstance(entity_ref, str) and entity_ref.startswith(ID_PREFIX):
        tail = entity_ref[len(ID_PREFIX) :]
        return str(int(tail)) if tail.isdigit() else None
    return None


def duplicate_of(key_values: Mapping[str, Any]) -> str | None:
    """The request id of the report this one likely duplicates (keyValues form), if any."""
    return request_id_of(key_values.get(DUPLICATE_OF))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping) and "@value" in value:
        return value["@value"]
    return value


def workflow_status(key_values: Mapping[str, Any]) -> WorkflowStatus:
    """The workflow status of a report entity in keyValues form."""
    value = key_values.get("workflowStatus")
    for status in WORKFLOW_STATUSES:
        if value == status:
            return status
    return "new"


def to_open311(key_values: Mapping[str, Any]) -> dict[str, Any]:
    """A report entity (keyValues, compacted with :data:`CONTEXT`) as an Open311 service
    request; members the report does not have are ``None``."""
    out: dict[str, Any] = dict.fromkeys(OPEN311_FIELDS)
    for name in OPEN311_FIELDS:
        if name in key_values:
            out[name] = _plain(key_values[name])
    out["address"] = key_values.get("address_string")
    location = key_values.get("location")
    if isinstance(location, Mapping) and location.get("type") == "Point":
        coordinates = location.get("coordinates") or []
        if len(coordinates) >= 2:
            out["long"], out["lat"] = coordinates[0], coordinates[1]
    return out
