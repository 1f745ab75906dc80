"""Bad input through every write and query endpoint: each gets the right ProblemDetails
(status, ``application/problem+json``, the problem ``type`` URI and a ``detail`` that says
what is wrong), and a failed request changes nothing stored: a byte-exact snapshot of the
tenants (every entity, every history instance, the type and attribute summaries, the tenant
records) is the same before and after. A batch with some bad entities stores the good ones
and reports each bad one with its own ProblemDetails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.api.deps import MAX_JSON_DEPTH
from cetate.auth.tokens import issue_token
from cetate.auth.users import ensure_tenant
from cetate.config import Settings
from cetate.store.base import ContextStore
from tests.api.ngsild.helpers import CORE_CONTEXT, LD_JSON, link, sensor
from tests.api.snapshot import history_counts, tenant_snapshot

V1: Final = "/ngsi-ld/v1"
ENTITIES: Final = f"{V1}/entities"
OPS: Final = f"{V1}/entityOperations"
TEMPORAL: Final = f"{V1}/temporal/entities"
PROBLEM: Final = "application/problem+json"
JSON: Final = "application/json"
ERRORS: Final = "https://uri.etsi.org/ngsi-ld/errors/"

INVALID: Final = ERRORS + "InvalidRequest"
BAD_DATA: Final = ERRORS + "BadRequestData"
NOT_FOUND: Final = ERRORS + "ResourceNotFound"
EXISTS: Final = ERRORS + "AlreadyExists"
NO_TENANT: Final = ERRORS + "NonexistentTenant"
TOO_MANY: Final = ERRORS + "TooManyResults"
NO_CONTEXT: Final = ERRORS + "LdContextNotAvailable"
TOO_LARGE: Final = "urn:cetate:errors:PayloadTooLarge"
MEDIA: Final = "urn:cetate:errors:UnsupportedMediaType"
NOT_ACCEPTABLE: Final = "urn:cetate:errors:NotAcceptable"
FORBIDDEN: Final = "urn:cetate:errors:Forbidden"
UNAUTHENTICATED: Final = "urn:cetate:errors:Unauthenticated"
NOT_ALLOWED: Final = "urn:cetate:errors:MethodNotAllowed"

S1: Final = "urn:ngsi-ld:Sensor:0001"
S2: Final = "urn:ngsi-ld:Sensor:0002"
MISSING: Final = "urn:ngsi-ld:Sensor:0404"
E1: Final = f"{ENTITIES}/{S1}"
UNKNOWN_CONTEXT: Final = "https://example.invalid/nowhere.jsonld"
TENANTS: Final = ("cluj", "iasi")


def body(value: Any) -> bytes:
    return orjson.dumps(value)


def nested(depth: int) -> bytes:
    """An entity whose ``deep`` Property value makes the whole body ``depth`` levels deep
    (entity object 1, attribute object 2, the value's arrays 3 …)."""
    arrays = depth - 2
    value = b"[" * arrays + b"1" + b"]" * arrays
    return (
        b'{"id":"urn:ngsi-ld:Deep:1","type":"Deep","deep":{"type":"Property","value":'
        + value
        + b"}}"
    )


def with_location(geometry: Any, entity_id: str = "urn:ngsi-ld:Sensor:0009") -> bytes:
    entity = sensor(9)
    entity["id"] = entity_id
    entity["location"] = {"type": "GeoProperty", "value": geometry}
    return body(entity)


# -- the world: two tenants, an admin token of cluj, a little data with history ------------------


@dataclass
class World:
    client: TestClient
    store: ContextStore

    def snapshot(self) -> bytes:
        """Both tenants and the list of tenants."""
        parts = [tenant_snapshot(self.store, tenant) for tenant in TENANTS]
        names = sorted(tenant.name for tenant in self.store.list_tenants())
        return b"\n".join([*parts, body(names)])


def _seed(client: TestClient) -> None:
    for entity in (sensor(1), sensor(2, temperature=5.0)):
        response = client.post(ENTITIES, json=entity)
        assert response.status_code == 201, response.text
    for value, hour in ((10.0, 11), (20.0, 12)):
        fragment = {
            "temperature": {
                "type": "Property",
                "value": value,
                "observedAt": f"2026-11-23T{hour}:00:00Z",
            }
        }
        response = client.patch(f"{E1}/attrs", json=fragment)
        assert response.status_code == 204, response.text


def make_world(database_url: str, store: ContextStore, **settings: Any) -> Iterator[World]:
    for tenant in TENANTS:
        ensure_tenant(store, tenant)
    _, token = issue_token(store, "cluj", "admin", "bad input tests")
    app = create_app(Settings(database_url=database_url, open_access=False, **settings), store)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        client.headers["NGSILD-Tenant"] = "cluj"
        _seed(client)
        yield World(client, store)


@pytest.fixture
def world(database_url: str, store: ContextStore) -> Iterator[World]:
    yield from make_world(database_url, store)


LIMIT: Final = 600
"""max_payload_bytes of :func:`small`: the seed entities fit, the bad payloads do not."""


@pytest.fixture
def small(database_url: str, store: ContextStore) -> Iterator[World]:
    """Small limits: bodies of at most LIMIT bytes, batches of at most 3 entities."""
    yield from make_world(database_url, store, max_payload_bytes=LIMIT, max_batch_entities=3)


def assert_problem(
    response: httpx.Response, status: int, problem_type: str, *detail_parts: str
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM, response.headers
    problem: dict[str, Any] = response.json()
    assert problem["type"] == problem_type, problem
    assert problem["status"] == status
    assert problem["title"]
    detail = problem["detail"]
    assert isinstance(detail, str), problem
    assert len(detail) > 15, problem
    for part in detail_parts:
        assert part.lower() in detail.lower(), (part, detail)
    return problem


# -- the table -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    method: str
    path: str
    status: int
    problem: str
    detail: tuple[str, ...]
    content: bytes | None = None
    content_type: str | None = JSON
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def bad(
    method: str,
    path: str,
    content: bytes | None,
    status: int,
    problem: str,
    *detail: str,
    content_type: str | None = JSON,
    headers: dict[str, str] | None = None,
    **params: str,
) -> Bad:
    return Bad(
        method=method,
        path=path,
        status=status,
        problem=problem,
        detail=detail,
        content=content,
        content_type=content_type,
        headers=headers or {},
        params=params,
    )


def query(
    path: str,
    status: int,
    problem: str,
    *detail: str,
    headers: dict[str, str] | None = None,
    **params: str,
) -> Bad:
    """A bad GET: query parameters and headers, no body."""
    return bad("GET", path, None, status, problem, *detail, headers=headers, **params)


def bad_period(duration: str, detail: str) -> Bad:
    """A temporal query averaging over ``aggrPeriodDuration=duration``, which is not a period
    Cetate can aggregate over."""
    return query(
        TEMPORAL,
        400,
        INVALID,
        detail,
        options="aggregatedValues",
        aggrMethods="avg",
        aggrPeriodDuration=duration,
    )


OTHER_TENANT: Final = {"NGSILD-Tenant": "iasi"}
"""A tenant that the cluj admin's token has no role in."""
GOOD: Final = body(sensor(7))
GOOD_FRAGMENT: Final = body({"temperature": {"type": "Property", "value": 1.0}})
GOOD_LD: Final = body({**sensor(7), "@context": CORE_CONTEXT})
NOT_UTF8: Final = b'{"id": "urn:ngsi-ld:Sensor:\xff\xfe", "type": "Sensor"}'

BAD_REQUESTS: Final[dict[str, Bad]] = {
    # -- the body as such, on create ------------------------------------------------------------
    "create/malformed-json": bad(
        "POST", ENTITIES, b'{"id": "urn:x:1", ', 400, INVALID, "not valid JSON"
    ),
    "create/trailing-garbage": bad("POST", ENTITIES, GOOD + b"}", 400, INVALID, "not valid JSON"),
    "create/empty-body": bad("POST", ENTITIES, b"", 400, INVALID, "empty"),
    "create/whitespace-body": bad("POST", ENTITIES, b"  \n ", 400, INVALID, "empty"),
    "create/json-array": bad("POST", ENTITIES, body([sensor(7)]), 400, BAD_DATA, "JSON object"),
    "create/json-string": bad("POST", ENTITIES, b'"urn:x:1"', 400, BAD_DATA, "JSON object"),
    "create/json-number": bad("POST", ENTITIES, b"42", 400, BAD_DATA, "JSON object"),
    "create/json-null": bad("POST", ENTITIES, b"null", 400, BAD_DATA, "JSON object"),
    "create/nan": bad(
        "POST", ENTITIES, b'{"id":"urn:x:1","type":"T","v":NaN}', 400, INVALID, "not valid JSON"
    ),
    "create/not-utf-8": bad("POST", ENTITIES, NOT_UTF8, 400, INVALID, "not valid JSON", "UTF-8"),
    "create/latin-1-declared": bad(
        "POST",
        ENTITIES,
        NOT_UTF8,
        400,
        INVALID,
        "UTF-8",
        content_type="application/json; charset=iso-8859-1",
    ),
    "create/nested-past-limit": bad(
        "POST", ENTITIES, nested(MAX_JSON_DEPTH + 1), 400, INVALID, f"deeper than {MAX_JSON_DEPTH}"
    ),
    "create/nested-500": bad("POST", ENTITIES, nested(500), 400, INVALID, "deeper than"),
    "create/nested-5000": bad(
        "POST", ENTITIES, nested(5000), 400, INVALID, "not valid JSON", "depth"
    ),
    "create/nested-objects": bad(
        "POST", ENTITIES, b'{"a":' * 300 + b"1" + b"}" * 300, 400, INVALID, "deeper than"
    ),
    # -- Content-Type -----------------------------------------------------------------------------
    "create/text-plain": bad(
        "POST", ENTITIES, GOOD, 415, MEDIA, "text/plain", content_type="text/plain"
    ),
    "create/no-content-type": bad("POST", ENTITIES, GOOD, 415, MEDIA, "(none)", content_type=None),
    "create/form": bad(
        "POST",
        ENTITIES,
        b"id=urn:x:1&type=T",
        415,
        MEDIA,
        "application/x-www-form-urlencoded",
        content_type="application/x-www-form-urlencoded",
    ),
    "create/xml": bad(
        "POST",
        ENTITIES,
        b"<entity/>",
        415,
        MEDIA,
        "application/xml",
        content_type="application/xml",
    ),
    "merge/text-plain": bad(
        "PATCH", E1, GOOD_FRAGMENT, 415, MEDIA, "text/plain", content_type="text/plain"
    ),
    "batch/text-plain": bad(
        "POST",
        f"{OPS}/upsert",
        body([sensor(7)]),
        415,
        MEDIA,
        "text/plain",
        content_type="text/plain",
    ),
    # -- @context ----------------------------------------------------------------------------------
    "create/unknown-remote-context": bad(
        "POST", ENTITIES, GOOD, 503, NO_CONTEXT, "example.invalid", headers=link(UNKNOWN_CONTEXT)
    ),
    "create/unknown-context-in-body": bad(
        "POST",
        ENTITIES,
        body({**sensor(7), "@context": UNKNOWN_CONTEXT}),
        503,
        NO_CONTEXT,
        "example.invalid",
        content_type=LD_JSON,
    ),
    "create/context-in-json-body": bad(
        "POST",
        ENTITIES,
        body({**sensor(7), "@context": CORE_CONTEXT}),
        400,
        BAD_DATA,
        "application/ld+json",
    ),
    "create/ld-json-without-context": bad(
        "POST", ENTITIES, GOOD, 400, BAD_DATA, "no @context", content_type=LD_JSON
    ),
    "create/ld-json-with-link": bad(
        "POST",
        ENTITIES,
        GOOD_LD,
        400,
        BAD_DATA,
        "Link header",
        content_type=LD_JSON,
        headers=link(CORE_CONTEXT),
    ),
    "create/context-number": bad(
        "POST",
        ENTITIES,
        body({**sensor(7), "@context": 42}),
        400,
        INVALID,
        "@context",
        content_type=LD_JSON,
    ),
    "create/context-bad-term": bad(
        "POST",
        ENTITIES,
        body({**sensor(7), "@context": {"temperature": 5}}),
        400,
        INVALID,
        "malformed @context",
        content_type=LD_JSON,
    ),
    "create/malformed-link": bad(
        "POST",
        ENTITIES,
        GOOD,
        400,
        BAD_DATA,
        "malformed Link header",
        headers={"Link": 'nowhere; rel="http://www.w3.org/ns/json-ld#context"'},
    ),
    "create/two-context-links": bad(
        "POST",
        ENTITIES,
        GOOD,
        400,
        BAD_DATA,
        "more than one",
        headers={
            "Link": f'<{CORE_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context", '
            f'<{UNKNOWN_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"'
        },
    ),
    "merge/unknown-remote-context": bad(
        "PATCH",
        E1,
        GOOD_FRAGMENT,
        503,
        NO_CONTEXT,
        "example.invalid",
        headers=link(UNKNOWN_CONTEXT),
    ),
    # -- ids ---------------------------------------------------------------------------------------
    "create/id-not-uri": bad(
        "POST", ENTITIES, body({**sensor(7), "id": "sensor 7"}), 400, BAD_DATA, "URI"
    ),
    "create/id-relative": bad(
        "POST", ENTITIES, body({**sensor(7), "id": "/entities/sensor-7"}), 400, BAD_DATA, "URI"
    ),
    "create/id-number": bad("POST", ENTITIES, body({**sensor(7), "id": 7}), 400, BAD_DATA, "URI"),
    "create/no-id": bad("POST", ENTITIES, body({"type": "Sensor"}), 400, BAD_DATA, "no 'id'"),
    "create/no-type": bad(
        "POST", ENTITIES, body({"id": "urn:ngsi-ld:Sensor:0007"}), 400, BAD_DATA, "no 'type'"
    ),
    "create/type-number": bad(
        "POST", ENTITIES, body({"id": "urn:ngsi-ld:S:7", "type": 3}), 400, BAD_DATA, "type"
    ),
    "replace/path-id-not-uri": bad(
        "PUT", f"{ENTITIES}/sensor-1", body({"type": "Sensor"}), 400, BAD_DATA, "URI"
    ),
    "replace/body-id-differs": bad(
        "PUT", E1, body({"id": S2, "type": "Sensor"}), 400, BAD_DATA, "differs"
    ),
    "merge/body-id-differs": bad(
        "PATCH", E1, body({"id": S2, "name": "x"}), 400, BAD_DATA, "differs"
    ),
    "delete/path-id-not-uri": bad("DELETE", f"{ENTITIES}/sensor-1", None, 400, BAD_DATA, "URI"),
    "append/path-id-not-uri": bad(
        "POST", f"{ENTITIES}/sensor-1/attrs", GOOD_FRAGMENT, 400, BAD_DATA, "URI"
    ),
    # -- attributes --------------------------------------------------------------------------------
    "create/property-without-value": bad(
        "POST", ENTITIES, body({**sensor(7), "t": {"type": "Property"}}), 400, BAD_DATA, "value"
    ),
    "create/relationship-object-not-uri": bad(
        "POST",
        ENTITIES,
        body({**sensor(7), "r": {"type": "Relationship", "object": "nope"}}),
        400,
        BAD_DATA,
        "absolute URI",
    ),
    "create/bad-attribute-name": bad(
        "POST", ENTITIES, body({**sensor(7), "a b": 1}), 400, BAD_DATA, "attribute name"
    ),
    "append/created-at-as-attribute": bad(
        "POST",
        f"{E1}/attrs",
        body({"createdAt": "2020-01-01T00:00:00Z"}),
        400,
        BAD_DATA,
        "createdAt",
    ),
    # -- geometry ---------------------------------------------------------------------------------
    "create/point-out-of-range": bad(
        "POST",
        ENTITIES,
        with_location({"type": "Point", "coordinates": [200.0, 100.0]}),
        400,
        BAD_DATA,
        "location",
    ),
    "create/point-not-numbers": bad(
        "POST",
        ENTITIES,
        with_location({"type": "Point", "coordinates": ["x", 1]}),
        400,
        BAD_DATA,
        "location",
    ),
    "create/polygon-not-closed": bad(
        "POST",
        ENTITIES,
        with_location({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
        400,
        BAD_DATA,
        "closed",
    ),
    "create/unknown-geometry": bad(
        "POST",
        ENTITIES,
        with_location({"type": "Circle", "coordinates": [0, 0]}),
        400,
        BAD_DATA,
        "Circle",
    ),
    "create/geometry-not-object": bad(
        "POST", ENTITIES, with_location("here"), 400, BAD_DATA, "GeoJSON"
    ),
    # -- duplicates and missing entities -----------------------------------------------------------
    "create/duplicate": bad("POST", ENTITIES, body(sensor(1)), 409, EXISTS, S1),
    "create/duplicate-ld-json": bad(
        "POST",
        ENTITIES,
        body({**sensor(1), "@context": CORE_CONTEXT}),
        409,
        EXISTS,
        S1,
        content_type=LD_JSON,
    ),
    "replace/missing": bad(
        "PUT", f"{ENTITIES}/{MISSING}", body({"type": "Sensor"}), 404, NOT_FOUND, MISSING
    ),
    "merge/missing": bad("PATCH", f"{ENTITIES}/{MISSING}", GOOD_FRAGMENT, 404, NOT_FOUND, MISSING),
    "delete/missing": bad("DELETE", f"{ENTITIES}/{MISSING}", None, 404, NOT_FOUND, MISSING),
    "append/missing": bad(
        "POST", f"{ENTITIES}/{MISSING}/attrs", GOOD_FRAGMENT, 404, NOT_FOUND, MISSING
    ),
    "update-attrs/missing": bad(
        "PATCH", f"{ENTITIES}/{MISSING}/attrs", GOOD_FRAGMENT, 404, NOT_FOUND, MISSING
    ),
    "patch-attr/missing-entity": bad(
        "PATCH",
        f"{ENTITIES}/{MISSING}/attrs/temperature",
        body({"value": 1}),
        404,
        NOT_FOUND,
        MISSING,
    ),
    "patch-attr/missing-attribute": bad(
        "PATCH", f"{E1}/attrs/pressure", body({"value": 1}), 404, NOT_FOUND, "pressure"
    ),
    "put-attr/missing-attribute": bad(
        "PUT",
        f"{E1}/attrs/pressure",
        body({"type": "Property", "value": 1}),
        404,
        NOT_FOUND,
        "pressure",
    ),
    "delete-attr/missing-attribute": bad(
        "DELETE", f"{E1}/attrs/pressure", None, 404, NOT_FOUND, "pressure"
    ),
    "delete-attr/bad-delete-all": bad(
        "DELETE", f"{E1}/attrs/temperature", None, 400, INVALID, "deleteAll", deleteAll="maybe"
    ),
    # -- replace, merge, append, update with bad content -------------------------------------------
    "replace/bad-geometry": bad(
        "PUT",
        E1,
        body({"type": "Sensor", "location": {"type": "GeoProperty", "value": {"type": "Point"}}}),
        400,
        BAD_DATA,
        "location",
    ),
    "replace/array": bad("PUT", E1, body([{"type": "Sensor"}]), 400, BAD_DATA, "JSON object"),
    "replace/malformed-json": bad("PUT", E1, b'{"type": ', 400, INVALID, "not valid JSON"),
    "merge/relationship-without-object": bad(
        "PATCH", E1, body({"r": {"type": "Relationship"}}), 400, BAD_DATA, "object"
    ),
    "merge/bad-geometry": bad(
        "PATCH",
        E1,
        body({"location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1]}}}),
        400,
        BAD_DATA,
        "location",
    ),
    "merge/string-body": bad(
        "PATCH",
        E1,
        b'"x"',
        400,
        BAD_DATA,
        "JSON object",
        content_type="application/merge-patch+json",
    ),
    "append/bad-option": bad(
        "POST", f"{E1}/attrs", GOOD_FRAGMENT, 400, INVALID, "options", options="overwriteAll"
    ),
    "append/bad-geometry": bad(
        "POST",
        f"{E1}/attrs",
        body({"where": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": []}}}),
        400,
        BAD_DATA,
        "where",
    ),
    "append/array": bad("POST", f"{E1}/attrs", body([1]), 400, BAD_DATA, "JSON object"),
    # one good and one bad attribute: refused as a whole, the good one is not written either
    "update-attrs/one-bad-attribute": bad(
        "PATCH",
        f"{E1}/attrs",
        body(
            {
                "temperature": {"type": "Property", "value": 99.0},
                "location": {
                    "type": "GeoProperty",
                    "value": {"type": "Point", "coordinates": [500, 0]},
                },
            }
        ),
        400,
        BAD_DATA,
        "location",
    ),
    "append/one-bad-attribute": bad(
        "POST",
        f"{E1}/attrs",
        body(
            {
                "humidity": {"type": "Property", "value": 40},
                "r": {"type": "Relationship", "object": 3},
            }
        ),
        400,
        BAD_DATA,
        "'r'",
    ),
    "update-attrs/malformed-json": bad(
        "PATCH", f"{E1}/attrs", b"{", 400, INVALID, "not valid JSON"
    ),
    "patch-attr/relationship-not-uri": bad(
        "PATCH",
        f"{E1}/attrs/temperature",
        body({"type": "Relationship", "object": "not uri"}),
        400,
        BAD_DATA,
        "absolute URI",
    ),
    "patch-attr/array": bad(
        "PATCH", f"{E1}/attrs/temperature", body([1]), 400, BAD_DATA, "JSON object"
    ),
    "put-attr/without-value": bad(
        "PUT", f"{E1}/attrs/temperature", body({"type": "Property"}), 400, BAD_DATA, "value"
    ),
    # -- batch operations as a whole ---------------------------------------------------------------
    "batch-create/object-not-array": bad(
        "POST", f"{OPS}/create", GOOD, 400, BAD_DATA, "JSON array"
    ),
    "batch-create/empty": bad("POST", f"{OPS}/create", b"[]", 400, BAD_DATA, "empty"),
    "batch-create/malformed-json": bad(
        "POST", f"{OPS}/create", b"[{", 400, INVALID, "not valid JSON"
    ),
    "batch-upsert/bad-option": bad(
        "POST", f"{OPS}/upsert", body([sensor(7)]), 400, INVALID, "options", options="merge"
    ),
    "batch-upsert/exclusive-options": bad(
        "POST",
        f"{OPS}/upsert",
        body([sensor(7)]),
        400,
        BAD_DATA,
        "exclude",
        options="replace,update",
    ),
    "batch-update/bad-option": bad(
        "POST",
        f"{OPS}/update",
        body([{"id": S1, "name": "x"}]),
        400,
        INVALID,
        "options",
        options="replace",
    ),
    "batch-delete/object-not-array": bad(
        "POST", f"{OPS}/delete", body({"id": S1}), 400, BAD_DATA, "JSON array"
    ),
    # -- tenants -----------------------------------------------------------------------------------
    "create/bad-tenant-name": bad(
        "POST",
        ENTITIES,
        GOOD,
        400,
        BAD_DATA,
        "NGSILD-Tenant",
        headers={"NGSILD-Tenant": "Cluj Napoca!"},
    ),
    "create/other-tenant": bad(
        "POST", ENTITIES, GOOD, 403, FORBIDDEN, "iasi", headers=OTHER_TENANT
    ),
    "create/unknown-tenant": bad(
        "POST", ENTITIES, GOOD, 403, FORBIDDEN, "nowhere", headers={"NGSILD-Tenant": "nowhere"}
    ),
    "batch-upsert/other-tenant": bad(
        "POST", f"{OPS}/upsert", body([sensor(1)]), 403, FORBIDDEN, "iasi", headers=OTHER_TENANT
    ),
    "delete/other-tenant": bad("DELETE", E1, None, 403, FORBIDDEN, "iasi", headers=OTHER_TENANT),
    "create/bad-token": bad(
        "POST",
        ENTITIES,
        GOOD,
        401,
        UNAUTHENTICATED,
        "token",
        headers={"Authorization": "Bearer cetate_0000000000000000_nope"},
    ),
    "query/unknown-tenant": query(
        ENTITIES, 404, NO_TENANT, "nowhere", headers={"NGSILD-Tenant": "nowhere"}
    ),
    "query/other-tenant": query(
        ENTITIES, 403, FORBIDDEN, "iasi", headers=OTHER_TENANT, type="Sensor"
    ),
    "temporal/other-tenant": query(
        f"{TEMPORAL}/{S1}", 403, FORBIDDEN, "iasi", headers=OTHER_TENANT
    ),
    # -- queries -----------------------------------------------------------------------------------
    "query/q-syntax": query(ENTITIES, 400, INVALID, "q", q="temperature>>"),
    "query/q-bare-word": query(ENTITIES, 400, INVALID, "quote", q="name==sensor"),
    "query/q-empty": query(ENTITIES, 400, INVALID, "q is empty", q=" "),
    "query/q-too-deep": query(ENTITIES, 400, INVALID, "deeper", q="(" * 40 + "a>1" + ")" * 40),
    "query/type-expression": query(ENTITIES, 400, INVALID, "type expression", type="A;;B"),
    "query/id-not-uri": query(ENTITIES, 400, BAD_DATA, "URI", id="sensor-1"),
    "query/id-pattern": query(ENTITIES, 400, INVALID, "idPattern", idPattern="("),
    "query/geo-incomplete": query(
        ENTITIES, 400, INVALID, "coordinates", georel="near;maxDistance==10", geometry="Point"
    ),
    "query/geo-unknown-georel": query(
        ENTITIES, 400, INVALID, "around", georel="around", geometry="Point", coordinates="[0,0]"
    ),
    "query/geo-bad-coordinates": query(
        ENTITIES,
        400,
        BAD_DATA,
        "4 positions",
        georel="within",
        geometry="Polygon",
        coordinates="[[[0,0],[1,1]]]",
    ),
    "query/limit-not-number": query(ENTITIES, 400, INVALID, "limit", limit="lots"),
    "query/limit-too-large": query(ENTITIES, 403, TOO_MANY, "maximum", limit="5000"),
    "query/limit-zero-without-count": query(ENTITIES, 400, BAD_DATA, "count=true", limit="0"),
    "query/offset-negative": query(ENTITIES, 400, INVALID, "offset", offset="-1"),
    "query/unknown-option": query(ENTITIES, 400, INVALID, "options", options="fancy"),
    "query/unknown-format": query(ENTITIES, 400, INVALID, "format", format="fancy"),
    "query/not-acceptable": query(
        ENTITIES, 406, NOT_ACCEPTABLE, "text/csv", headers={"Accept": "text/csv"}
    ),
    "query/unknown-context": query(
        ENTITIES, 503, NO_CONTEXT, "example.invalid", headers=link(UNKNOWN_CONTEXT)
    ),
    "retrieve/id-not-uri": query(f"{ENTITIES}/sensor-1", 400, BAD_DATA, "URI"),
    "retrieve/missing": query(f"{ENTITIES}/{MISSING}", 404, NOT_FOUND, MISSING),
    "types/unknown": query(f"{V1}/types/Nothing", 404, NOT_FOUND, "Nothing"),
    "attributes/unknown": query(f"{V1}/attributes/nothing", 404, NOT_FOUND, "nothing"),
    "types/bad-details": query(f"{V1}/types", 400, INVALID, "details", details="maybe"),
    # -- temporal queries --------------------------------------------------------------------------
    "temporal/unknown-timerel": query(
        TEMPORAL, 400, INVALID, "timerel", timerel="during", timeAt="2026-01-01T00:00:00Z"
    ),
    "temporal/timerel-without-time": query(TEMPORAL, 400, INVALID, "timeAt", timerel="after"),
    "temporal/bad-time": query(
        TEMPORAL, 400, INVALID, "ISO 8601", timerel="after", timeAt="yesterday"
    ),
    "temporal/between-without-end": query(
        TEMPORAL, 400, INVALID, "endTimeAt", timerel="between", timeAt="2026-01-01T00:00:00Z"
    ),
    "temporal/end-before-start": query(
        TEMPORAL,
        400,
        BAD_DATA,
        "later",
        timerel="between",
        timeAt="2026-01-02T00:00:00Z",
        endTimeAt="2026-01-01T00:00:00Z",
    ),
    "temporal/time-without-timerel": query(
        TEMPORAL, 400, INVALID, "timerel", timeAt="2026-01-01T00:00:00Z"
    ),
    "temporal/unknown-timeproperty": query(
        TEMPORAL, 400, INVALID, "timeproperty", timeproperty="seenAt"
    ),
    "temporal/last-n-zero": query(f"{TEMPORAL}/{S1}", 400, INVALID, "lastN", lastN="0"),
    "temporal/last-n-not-number": query(f"{TEMPORAL}/{S1}", 400, INVALID, "lastN", lastN="few"),
    "temporal/aggregation-without-methods": query(
        TEMPORAL, 400, INVALID, "aggrMethods", options="aggregatedValues"
    ),
    "temporal/unknown-aggregation": query(
        TEMPORAL, 400, INVALID, "median", options="aggregatedValues", aggrMethods="median"
    ),
    "temporal/period-in-months": bad_period("P1M", "months"),
    "temporal/period-not-duration": bad_period("hourly", "duration"),
    "temporal/period-zero": bad_period("PT0S", "positive"),
    "temporal/period-negative": bad_period("-PT1H", "positive"),
    "temporal/methods-without-aggregation": query(
        TEMPORAL, 400, INVALID, "aggregatedValues", aggrMethods="avg"
    ),
    "temporal/exclusive-options": query(
        TEMPORAL,
        400,
        INVALID,
        "exclude",
        options="temporalValues,aggregatedValues",
        aggrMethods="avg",
    ),
    "temporal/id-not-uri": query(f"{TEMPORAL}/sensor-1", 400, BAD_DATA, "URI"),
    "temporal/missing": query(f"{TEMPORAL}/{MISSING}", 404, NOT_FOUND, MISSING),
    "temporal/q-syntax": query(TEMPORAL, 400, INVALID, "q", q="temperature>>"),
    # -- methods -----------------------------------------------------------------------------------
    "entities/delete-collection": bad(
        "DELETE", ENTITIES, None, 405, NOT_ALLOWED, "Method Not Allowed"
    ),
    "temporal/write": bad("POST", TEMPORAL, GOOD, 405, NOT_ALLOWED, "Method Not Allowed"),
}


def send(world: World, case: Bad) -> httpx.Response:
    headers = dict(case.headers)
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    return world.client.request(
        case.method, case.path, content=case.content, headers=headers, params=case.params
    )


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_bad_request_is_a_problem_and_changes_nothing(world: World, name: str) -> None:
    case = BAD_REQUESTS[name]
    before = world.snapshot()
    response = send(world, case)
    assert_problem(response, case.status, case.problem, *case.detail)
    assert world.snapshot() == before


def test_the_table_covers_every_kind_of_write_and_query() -> None:
    kinds = {name.split("/")[0] for name in BAD_REQUESTS}
    assert kinds >= {
        "create",
        "replace",
        "merge",
        "append",
        "update-attrs",
        "patch-attr",
        "put-attr",
        "delete",
        "delete-attr",
        "batch-create",
        "batch-upsert",
        "batch-update",
        "batch-delete",
        "query",
        "retrieve",
        "temporal",
        "types",
        "attributes",
    }


def test_the_seed_has_history(world: World) -> None:
    """The snapshot compares real history, not an empty tenant."""
    counts = history_counts(world.store, "cluj")
    assert counts[S1]["https://uri.etsi.org/ngsi-ld/default-context/temperature"] == 3
    assert world.store.get_entity("iasi", S1) is None
    assert S1.encode() in world.snapshot()


# -- nesting that is deep but allowed --------------------------------------------------------------


def test_nesting_up_to_the_limit_round_trips(world: World) -> None:
    response = world.client.post(
        ENTITIES, content=nested(MAX_JSON_DEPTH), headers={"Content-Type": JSON}
    )
    assert response.status_code == 201, response.text
    got = world.client.get(f"{ENTITIES}/urn:ngsi-ld:Deep:1", params={"options": "keyValues"})
    assert got.status_code == 200, got.text
    value = got.json()["deep"]
    depth = 2  # the entity and attribute levels of the request body
    while isinstance(value, list):
        value = value[0]
        depth += 1
    assert (value, depth) == (1, MAX_JSON_DEPTH)
    history = world.client.get(f"{TEMPORAL}/urn:ngsi-ld:Deep:1")
    assert history.status_code == 200, history.text


# -- oversized payloads (a small configured limit) -------------------------------------------------

BIG_NOTE: Final = {"type": "Property", "value": "x" * (2 * LIMIT)}


def _big(entity_id: str = "urn:ngsi-ld:Sensor:0007") -> dict[str, Any]:
    return {"id": entity_id, "type": "Sensor", "note": BIG_NOTE}


OVERSIZED: Final[dict[str, tuple[str, str, Any]]] = {
    "create": ("POST", ENTITIES, _big()),
    "replace": ("PUT", E1, {"type": "Sensor", "note": BIG_NOTE}),
    "merge": ("PATCH", E1, {"note": BIG_NOTE}),
    "append": ("POST", f"{E1}/attrs", {"note": BIG_NOTE}),
    "update-attrs": ("PATCH", f"{E1}/attrs", {"name": BIG_NOTE}),
    "patch-attr": ("PATCH", f"{E1}/attrs/name", BIG_NOTE),
    "put-attr": ("PUT", f"{E1}/attrs/name", BIG_NOTE),
    "batch-create": ("POST", f"{OPS}/create", [_big()]),
    "batch-upsert": ("POST", f"{OPS}/upsert", [_big(S1)]),
    "batch-update": ("POST", f"{OPS}/update", [{"id": S1, "note": BIG_NOTE}]),
    "batch-delete": ("POST", f"{OPS}/delete", [S1, "urn:ngsi-ld:Sensor:" + "9" * (2 * LIMIT)]),
}


def _chunks(data: bytes, size: int = 64) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("name", sorted(OVERSIZED))
@pytest.mark.parametrize("transfer", ["content-length", "chunked"])
def test_oversized_payload_is_413_and_changes_nothing(
    small: World, name: str, transfer: str
) -> None:
    method, path, payload = OVERSIZED[name]
    data = body(payload)
    assert len(data) > LIMIT
    before = small.snapshot()
    content: bytes | Iterator[bytes] = data if transfer == "content-length" else _chunks(data)
    response = small.client.request(method, path, content=content, headers={"Content-Type": JSON})
    if transfer == "chunked":
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        detail = assert_problem(response, 413, TOO_LARGE, "exceeds", str(LIMIT))
    else:
        detail = assert_problem(response, 413, TOO_LARGE, str(len(data)), str(LIMIT))
    assert "CETATE_MAX_PAYLOAD_BYTES" in detail["detail"]
    assert small.snapshot() == before


def test_a_lying_content_length_is_caught_while_streaming(small: World) -> None:
    """A declared length under the limit does not let a longer chunked body through."""
    before = small.snapshot()
    response = small.client.post(
        ENTITIES,
        content=_chunks(body(_big())),
        headers={"Content-Type": JSON, "Content-Length": "10"},
    )
    assert_problem(response, 413, TOO_LARGE)
    assert small.snapshot() == before


def test_chunked_payload_under_the_limit_is_accepted(small: World) -> None:
    entity = {"id": "urn:ngsi-ld:Sensor:0008", "type": "Sensor", "name": "small"}
    response = small.client.post(
        ENTITIES, content=_chunks(body(entity), 8), headers={"Content-Type": JSON}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 201, response.text
    assert small.store.get_entity("cluj", "urn:ngsi-ld:Sensor:0008") is not None


def test_too_many_entities_in_a_batch_is_413(small: World) -> None:
    before = small.snapshot()
    batch = [f"urn:ngsi-ld:S:{n}" for n in range(4)]
    response = small.client.post(f"{OPS}/delete", json=batch)
    assert_problem(response, 413, TOO_LARGE, "CETATE_MAX_BATCH_ENTITIES")
    assert small.snapshot() == before


# -- batches with good and bad entities ------------------------------------------------------------


def _errors(response: httpx.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 207, response.text
    assert response.headers["content-type"].startswith(JSON)
    result = response.json()
    errors: dict[str, dict[str, Any]] = {}
    for item in result["errors"]:
        problem = item["error"]
        assert set(problem) >= {"type", "title", "status", "detail"}, problem
        assert problem["detail"]
        errors[item["entityId"]] = problem
    return errors


def test_batch_create_stores_the_good_and_reports_each_bad(world: World) -> None:
    bad_geometry = sensor(5)
    bad_geometry["location"]["value"] = {"type": "Point", "coordinates": [0, 95]}
    batch = [
        sensor(3),
        sensor(1),  # exists
        {**sensor(4), "id": "no uri"},
        bad_geometry,
        {"id": "urn:ngsi-ld:Sensor:0006"},  # no type
        sensor(7),
    ]
    before = history_counts(world.store, "cluj")
    response = world.client.post(f"{OPS}/create", json=batch)
    errors = _errors(response)
    assert response.json()["success"] == ["urn:ngsi-ld:Sensor:0003", "urn:ngsi-ld:Sensor:0007"]
    assert errors[S1]["type"] == EXISTS
    assert errors["no uri"]["type"] == BAD_DATA
    assert "URI" in errors["no uri"]["detail"]
    assert errors["urn:ngsi-ld:Sensor:0005"]["type"] == BAD_DATA
    assert "location" in errors["urn:ngsi-ld:Sensor:0005"]["detail"]
    assert errors["urn:ngsi-ld:Sensor:0006"]["type"] == BAD_DATA
    assert len(errors) == 4
    store = world.store
    assert store.get_entity("cluj", "urn:ngsi-ld:Sensor:0003") is not None
    assert store.get_entity("cluj", "urn:ngsi-ld:Sensor:0007") is not None
    assert store.get_entity("cluj", "urn:ngsi-ld:Sensor:0005") is None
    assert store.get_entity("cluj", "urn:ngsi-ld:Sensor:0006") is None
    after = history_counts(store, "cluj")
    assert after[S1] == before[S1]  # the existing entity was not touched
    assert store.get_entity("iasi", "urn:ngsi-ld:Sensor:0003") is None


def test_batch_upsert_stores_the_good_and_reports_each_bad(world: World) -> None:
    s1_before = world.store.get_entity("cluj", S1)
    replacement = {"id": S2, "type": "Sensor", "status": "replaced"}
    batch: list[Any] = [
        replacement,
        {"id": S1, "type": "Sensor", "r": {"type": "Relationship", "object": "nope"}},
        "not an object",
        sensor(8),
    ]
    response = world.client.post(f"{OPS}/upsert", json=batch)
    errors = _errors(response)
    assert sorted(response.json()["success"]) == [S2, "urn:ngsi-ld:Sensor:0008"]
    assert errors[S1]["type"] == BAD_DATA
    assert "absolute URI" in errors[S1]["detail"]
    assert errors[""]["type"] == BAD_DATA
    assert "JSON object" in errors[""]["detail"]
    assert world.store.get_entity("cluj", S1) == s1_before
    got = world.client.get(f"{ENTITIES}/{S2}", params={"options": "keyValues"}).json()
    assert got == replacement


def test_batch_update_stores_the_good_and_reports_each_bad(world: World) -> None:
    before = history_counts(world.store, "cluj")
    s2_before = world.store.get_entity("cluj", S2)
    batch = [
        {"id": S1, "temperature": {"type": "Property", "value": 33.0}},
        {
            "id": S2,
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1]}},
        },
        {"id": MISSING, "temperature": 1.0},
        {"temperature": 1.0},  # no id
    ]
    response = world.client.post(f"{OPS}/update", json=batch)
    errors = _errors(response)
    assert response.json()["success"] == [S1]
    assert errors[S2]["type"] == BAD_DATA
    assert errors[MISSING]["type"] == NOT_FOUND
    assert errors[""]["type"] == BAD_DATA
    assert "id" in errors[""]["detail"]
    assert world.store.get_entity("cluj", S2) == s2_before
    temperature = "https://uri.etsi.org/ngsi-ld/default-context/temperature"
    after = history_counts(world.store, "cluj")
    assert after[S1][temperature] == before[S1][temperature] + 1
    assert after[S2] == before[S2]


def test_batch_delete_deletes_the_good_and_reports_each_bad(world: World) -> None:
    s1_before = world.store.get_entity("cluj", S1)
    response = world.client.post(f"{OPS}/delete", json=[S2, MISSING, "nope", 42])
    errors = _errors(response)
    assert response.json()["success"] == [S2]
    assert errors[MISSING]["type"] == NOT_FOUND
    assert errors["nope"]["type"] == BAD_DATA
    assert "URI" in errors["nope"]["detail"]
    assert errors[""]["type"] == BAD_DATA
    assert world.store.get_entity("cluj", S2) is None
    assert world.store.get_entity("cluj", S1) == s1_before


@pytest.mark.parametrize(
    ("operation", "batch"),
    [
        ("create", [sensor(7), sensor(8)]),
        ("upsert", [sensor(1), sensor(7)]),
        ("update", [{"id": S1, "temperature": 1.0}, {"id": S2, "temperature": 2.0}]),
    ],
)
def test_a_batch_with_an_unknown_link_context_fails_as_a_whole(
    world: World, operation: str, batch: list[Any]
) -> None:
    """The Link header's @context is the request's, not an entity's: when it is not available
    the whole request is one 503 LdContextNotAvailable (no 207 with an error per entity), and
    nothing is stored."""
    before = world.snapshot()
    response = world.client.post(f"{OPS}/{operation}", json=batch, headers=link(UNKNOWN_CONTEXT))
    assert_problem(response, 503, NO_CONTEXT, "example.invalid")
    assert world.snapshot() == before


def test_a_batch_entity_with_an_unknown_body_context_is_its_own_error(world: World) -> None:
    """With application/ld+json every entity carries its own @context: an unavailable one is
    that entity's error, and the others are stored."""
    good = {**sensor(7), "@context": CORE_CONTEXT}
    unknown = {**sensor(8), "@context": UNKNOWN_CONTEXT}
    response = world.client.post(
        f"{OPS}/create", content=body([good, unknown]), headers={"Content-Type": LD_JSON}
    )
    errors = _errors(response)
    assert response.json()["success"] == ["urn:ngsi-ld:Sensor:0007"]
    assert errors["urn:ngsi-ld:Sensor:0008"]["type"] == NO_CONTEXT
    assert world.store.get_entity("cluj", "urn:ngsi-ld:Sensor:0008") is None


def test_a_batch_of_only_bad_entities_changes_nothing(world: World) -> None:
    before = world.snapshot()
    for operation, batch in [
        ("create", [sensor(1), {**sensor(9), "id": "x"}]),
        ("upsert", [{"id": "x", "type": "Sensor"}, {"id": S1}]),
        ("update", [{"id": MISSING, "a": 1}, {"id": S1, "r": {"type": "Relationship"}}]),
        ("delete", [MISSING, "nope"]),
    ]:
        response = world.client.post(f"{OPS}/{operation}", json=batch)
        errors = _errors(response)
        assert response.json()["success"] == []
        assert len(errors) == 2, (operation, errors)
        assert world.snapshot() == before, operation


# -- what is not an error --------------------------------------------------------------------------


def test_unknown_attribute_in_q_matches_nothing_and_is_not_an_error(world: World) -> None:
    """docs/ngsi-ld.md: "An attribute that no entity has simply matches nothing" (§4.9: the
    comparison is false), for entity and temporal queries alike."""
    for path in (ENTITIES, TEMPORAL):
        response = world.client.get(path, params={"q": "noSuchAttribute>1"})
        assert response.status_code == 200, response.text
        assert response.json() == []
        combined = world.client.get(path, params={"q": "noSuchAttribute>1|temperature>0"})
        assert sorted(entity["id"] for entity in combined.json()) == [S1, S2]
