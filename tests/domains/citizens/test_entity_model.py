"""The report entity against the FIWARE model it follows (dataModel.IssueTracking
``service_requests``): attribute names from the model's schema, no personal data, and the
model's own example read back as an Open311 service request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from cetate.domains.citizens import entity as model
from cetate.domains.citizens.config import default_config
from cetate.domains.citizens.submission import PERSONAL_FIELDS, Submission
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.representation import expand_entity, render_entity

DATA = Path(__file__).resolve().parents[2] / "data"
SCHEMA = DATA / "citizens" / "service_requests.schema.json"
EXAMPLE = DATA / "smart-data-models" / "service_requests" / "example-normalized.jsonld"


def _submission() -> Submission:
    service = default_config().service("oradea", "overflowing_bin")
    assert service is not None
    return Submission(
        service=service,
        lat=47.0722,
        long=21.9211,
        address_string="Piața Unirii 1",
        address_id="RO-BH-ORADEA-0001",
        description="<b>plin</b>",
        media_url="https://example.org/a.jpg",
        attributes={"bin_type": "glass"},
        reporter={"email": "ana@example.ro", "first_name": "Ana", "phone": "0722123456"},
    )


def test_attribute_names_come_from_the_model() -> None:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    properties = set(schema["allOf"][2]["properties"])
    assert schema["allOf"][2]["properties"]["type"]["enum"] == [model.ENTITY_TYPE]
    built = model.build_entity(
        "7",
        _submission(),
        service_name="Container de gunoi plin",
        jurisdiction_id="oradea",
        media_url="https://example.org/a.jpg",
        now=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )
    names = set(built) - {"id", "type", "@context"}
    # description and location come from the common schemas the model includes
    assert names - properties == {"description", "location", "workflowStatus", "address_id"}
    assert not names & set(PERSONAL_FIELDS)
    assert "ana@example.ro" not in json.dumps(built)
    assert built["id"] == "urn:ngsi-ld:Open311ServiceRequest:0000000007"
    assert built["status"]["value"] == "open"
    expanded = expand_entity(built, ContextResolver().resolve(built["@context"]))
    assert expanded["type"] == [model.ENTITY_TYPE_IRI]
    assert expanded[model.ISSUE_TERMS_PREFIX + "service_code"][0]["value"] == "overflowing_bin"


def test_the_model_example_reads_as_an_open311_request() -> None:
    example = json.loads(EXAMPLE.read_text("utf-8"))
    resolver = ContextResolver()
    stored = expand_entity(example, resolver.resolve(example["@context"]))
    ours = resolver.resolve(model.CONTEXT)
    as_open311 = model.to_open311(render_entity(stored, ours, representation="keyValues"))
    assert as_open311["service_request_id"] == "638344"
    assert as_open311["status"] == "closed"
    assert as_open311["status_notes"] == "Duplicate request."
    assert as_open311["service_code"] == "234"
    assert as_open311["address"] == "Calle San Juan Bautista, 2"
    assert as_open311["media_url"] == "http://exaple.org/media/638344.jpg"
    assert as_open311["requested_datetime"] == "2010-04-14T06:37:38-08:00"
    assert (as_open311["lat"], as_open311["long"]) == (40.62785133667262, -3.164485591715449)
    assert model.workflow_status({"status": "closed"}) == "new"  # no workflowStatus: default
