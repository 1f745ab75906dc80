"""A tenant never sees, changes or discovers another tenant's data, through every endpoint.

Two tenants, ``cluj`` and ``iasi``, hold entities with the *same ids and types* but different
values and history, each has a type only it has, and each marks a different type public. For
every NGSI-LD route (the table :data:`ROUTES` must name every ``/ngsi-ld/v1`` route the
application exposes, so a new endpoint fails :func:`test_every_ngsi_ld_route_has_an_isolation_case`
until it gets a case) and both directions (cluj attacked by iasi and the other way round):

* the attacker's admin, operator and viewer tokens sent with the victim's ``NGSILD-Tenant``
  are refused with 403 (or, for listings that anyone may read, see only the victim's public
  types), anonymous callers get 401, and the victim's viewer may not write;
* the same request in the attacker's own tenant answers from (or writes to) that tenant only;
* a byte-exact snapshot of the victim (entities, history, type and attribute summaries) is
  the same before and after all of it, and a failed attempt changes the attacker's tenant
  neither.

The console's pages and JSON endpoints are checked the same way with session cookies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cetate.api.app import create_app
from cetate.auth.sessions import SESSION_COOKIE_NAME, session_codec
from cetate.auth.tokens import issue_token
from cetate.auth.users import create_user, ensure_tenant, set_role
from cetate.config import Settings
from cetate.store.base import ContextStore, Role
from tests.api.ngsild.helpers import DEFAULT_VOCAB
from tests.api.snapshot import tenant_snapshot
from tests.web.ops_support import RULE, add_profiles, dead_letter, open_alert, provision

V1: Final = "/ngsi-ld/v1"
ENTITIES: Final = f"{V1}/entities"
OPS: Final = f"{V1}/entityOperations"
TEMPORAL: Final = f"{V1}/temporal/entities"
SUBS: Final = f"{V1}/subscriptions"
PROBLEM: Final = "application/problem+json"
FORBIDDEN: Final = "urn:cetate:errors:Forbidden"
UNAUTHENTICATED: Final = "urn:cetate:errors:Unauthenticated"
NOT_FOUND: Final = "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"

TENANTS: Final = ("cluj", "iasi")
ROLES: Final[tuple[Role, ...]] = ("admin", "operator", "viewer")

SENSOR: Final = "urn:ngsi-ld:Sensor:0001"
AIR: Final = "urn:ngsi-ld:AirQualityObserved:0001"
LIGHT: Final = "urn:ngsi-ld:Streetlight:0001"
SHARED_IDS: Final = (SENSOR, AIR, LIGHT)
PUBLIC_TYPE: Final = {"cluj": "AirQualityObserved", "iasi": "Streetlight"}
"""each tenant makes public a type that the other tenant also has, but keeps private"""
ONLY_TYPE: Final = {"cluj": "WasteContainer", "iasi": "Bench"}
ONLY_ATTR: Final = {"cluj": "fillingLevel", "iasi": "seats"}
ONLY_ID: Final = {
    "cluj": "urn:ngsi-ld:WasteContainer:cluj-only",
    "iasi": "urn:ngsi-ld:Bench:iasi-only",
}
SUBSCRIPTION: Final = "urn:ngsi-ld:Subscription:0001"
"""a subscription id both tenants have"""
ONLY_SUB: Final = {
    "cluj": "urn:ngsi-ld:Subscription:cluj-only",
    "iasi": "urn:ngsi-ld:Subscription:iasi-only",
}
BASE: Final = {"cluj": 10.0, "iasi": 20.0}
POINT: Final = {"cluj": [23.5899, 46.7712], "iasi": [27.5877, 47.1585]}
OTHER: Final = {"cluj": "iasi", "iasi": "cluj"}


def temperatures(tenant: str) -> list[float]:
    """The temperature history of the tenant's Sensor:0001, oldest first."""
    return [BASE[tenant] + 1, BASE[tenant] + 2, BASE[tenant] + 3]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- the two tenants ------------------------------------------------------------------------------


@dataclass
class World:
    """The application on a store with both tenants seeded, their tokens, and who attacks whom."""

    client: TestClient
    store: ContextStore
    settings: Settings
    tokens: dict[tuple[str, str], str]
    victim: str = "cluj"
    attacker: str = "iasi"
    moments: list[datetime] = field(default_factory=list)

    def auth(self, token_tenant: str, role: str, tenant_header: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.tokens[(token_tenant, role)]}",
            "NGSILD-Tenant": tenant_header,
        }

    def own(self) -> dict[str, str]:
        """The attacker's operator in the attacker's own tenant."""
        return self.auth(self.attacker, "operator", self.attacker)

    def snapshot(self, tenant: str) -> bytes:
        return tenant_snapshot(self.store, tenant)


def _seed_tenant(
    client: TestClient, headers: dict[str, str], tenant: str, moments: list[datetime]
) -> None:
    values = temperatures(tenant)
    entities: list[dict[str, Any]] = [
        {
            "id": SENSOR,
            "type": "Sensor",
            "temperature": {
                "type": "Property",
                "value": values[0],
                "observedAt": iso(moments[0]),
            },
            "name": {"type": "Property", "value": f"{tenant} sensor"},
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": POINT[tenant]},
            },
        },
        {
            "id": AIR,
            "type": "AirQualityObserved",
            "pm10": {"type": "Property", "value": BASE[tenant] + 0.5},
            "name": {"type": "Property", "value": f"{tenant} air"},
        },
        {
            "id": LIGHT,
            "type": "Streetlight",
            "lampStatus": {"type": "Property", "value": f"{tenant} on"},
            "name": {"type": "Property", "value": f"{tenant} light"},
        },
        {
            "id": ONLY_ID[tenant],
            "type": ONLY_TYPE[tenant],
            ONLY_ATTR[tenant]: {"type": "Property", "value": BASE[tenant] + 0.25},
            "name": {"type": "Property", "value": f"{tenant} only"},
        },
    ]
    for entity in entities:
        response = client.post(ENTITIES, json=entity, headers=headers)
        assert response.status_code == 201, response.text
    for value, moment in zip(values[1:], moments[1:], strict=True):
        fragment = {"temperature": {"type": "Property", "value": value, "observedAt": iso(moment)}}
        response = client.patch(f"{ENTITIES}/{SENSOR}/attrs", json=fragment, headers=headers)
        assert response.status_code == 204, response.text
    for sub_id in (SUBSCRIPTION, ONLY_SUB[tenant]):
        response = client.post(SUBS, json=_subscription(tenant, sub_id), headers=headers)
        assert response.status_code == 201, response.text


def _subscription(tenant: str, sub_id: str, description: str | None = None) -> dict[str, Any]:
    """A subscription of ``tenant`` on the type only it has (so that the probes' entity
    writes do not trigger it), naming the tenant in its description and endpoint."""
    return {
        "id": sub_id,
        "type": "Subscription",
        "description": description or f"{tenant} subscription",
        "entities": [{"type": ONLY_TYPE[tenant]}],
        "watchedAttributes": [ONLY_ATTR[tenant]],
        "notification": {"endpoint": {"uri": f"http://127.0.0.1:9/{tenant}-hook"}},
    }


@pytest.fixture
def world_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        open_access=False,
        default_tenant="default",
        secret_key="tenant-isolation-test-secret",
    )


@pytest.fixture
def world_app(world_settings: Settings, store: ContextStore) -> FastAPI:
    for tenant in TENANTS:
        ensure_tenant(
            store, tenant, tenant.title(), public_types=[DEFAULT_VOCAB + PUBLIC_TYPE[tenant]]
        )
    return create_app(world_settings, store)


@pytest.fixture
def seeded(world_app: FastAPI, world_settings: Settings, store: ContextStore) -> Iterator[World]:
    tokens = {
        (tenant, role): issue_token(store, tenant, role, f"{tenant} {role}")[1]
        for tenant in TENANTS
        for role in ROLES
    }
    now = datetime.now(UTC).replace(microsecond=0)
    moments = [now - timedelta(hours=hours) for hours in (3, 2, 1)]
    with TestClient(world_app, follow_redirects=False) as client:
        world = World(client, store, world_settings, tokens, moments=moments)
        for tenant in TENANTS:
            _seed_tenant(client, world.auth(tenant, "admin", tenant), tenant, moments)
        yield world


@pytest.fixture(params=[("cluj", "iasi"), ("iasi", "cluj")], ids=["iasi-vs-cluj", "cluj-vs-iasi"])
def world(request: pytest.FixtureRequest, seeded: World) -> World:
    seeded.victim, seeded.attacker = request.param
    return seeded


# -- checks shared by the cases -------------------------------------------------------------------


def assert_problem(response: httpx.Response, status: int, problem_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == problem_type, body
    assert body["status"] == status
    assert body["detail"]
    return body


def assert_no_trace_of(tenant: str, response: httpx.Response, *, name: bool = True) -> None:
    """Nothing of ``tenant``'s data in an answer: every text value of a tenant names it, and
    each tenant has its own numbers and coordinates. ``name=False`` for refusals, whose
    detail names the tenant that was asked for."""
    text = response.text.lower()
    if name:
        assert tenant not in text, response.text
    for marker in (f"{tenant} sensor", f"{tenant} air", f"{tenant} light", f"{tenant} only"):
        assert marker not in text, response.text
    for number in (*temperatures(tenant), BASE[tenant] + 0.5, BASE[tenant] + 0.25):
        assert not re.search(rf"(?<![\d.]){re.escape(repr(number))}(?!\d)", text), (
            number,
            response.text,
        )
    assert str(POINT[tenant][0]) not in text


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


Call = Callable[[World, dict[str, str]], httpx.Response]
Check = Callable[[World, httpx.Response], None]


@dataclass(frozen=True)
class Probe:
    """One request, sent with the headers it is given, and what the attacker's own tenant
    should answer to it. ``foreign`` checks what a caller without a role in the victim's
    tenant gets (default: refused, 403 with a token, 401 without)."""

    call: Call
    own: Check
    foreign: Callable[[World, httpx.Response, bool], None] | None = None


@dataclass(frozen=True)
class RouteCase:
    write: bool
    probes: tuple[Probe, ...]


# -- read probes ----------------------------------------------------------------------------------


def _own_sensor_query(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert [entity["id"] for entity in body] == [SENSOR]
    assert body[0]["temperature"]["value"] == temperatures(w.attacker)[-1]
    assert body[0]["name"]["value"] == f"{w.attacker} sensor"
    assert_no_trace_of(w.victim, response)


def _foreign_unscoped_query(w: World, response: httpx.Response, anonymous: bool) -> None:
    """A query naming no type is narrowed to the victim's public types, for anybody without a
    role there: never a private entity, never the attacker's own public type."""
    body = ok(response)
    public = PUBLIC_TYPE[w.victim]
    assert [(entity["id"], entity["type"]) for entity in body] == [
        (f"urn:ngsi-ld:{public}:0001", public)
    ]
    assert (
        body[0]["name"]["value"]
        == f"{w.victim} {'air' if public == 'AirQualityObserved' else 'light'}"
    )
    assert_no_trace_of(w.attacker, response)


def _own_unscoped_query(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert sorted(entity["id"] for entity in body) == sorted([*SHARED_IDS, ONLY_ID[w.attacker]])
    assert_no_trace_of(w.victim, response)


def _own_only_id_missing(w: World, response: httpx.Response) -> None:
    assert_problem(response, 404, NOT_FOUND)


def _own_empty_list(w: World, response: httpx.Response) -> None:
    assert ok(response) == []


def _own_retrieve(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert body["id"] == SENSOR
    assert body["temperature"]["value"] == temperatures(w.attacker)[-1]
    assert body["location"]["value"]["coordinates"] == POINT[w.attacker]
    assert_no_trace_of(w.victim, response)


def _own_retrieve_key_values(w: World, response: httpx.Response) -> None:
    assert ok(response) == {
        "id": SENSOR,
        "type": "Sensor",
        "temperature": temperatures(w.attacker)[-1],
    }


def _foreign_types(w: World, response: httpx.Response, anonymous: bool) -> None:
    body = ok(response)
    assert body["typeList"] == [PUBLIC_TYPE[w.victim]]


def _own_types(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert sorted(body["typeList"]) == sorted(
        ["Sensor", "AirQualityObserved", "Streetlight", ONLY_TYPE[w.attacker]]
    )
    assert ONLY_TYPE[w.victim] not in body["typeList"]


def _foreign_type_details(w: World, response: httpx.Response, anonymous: bool) -> None:
    body = ok(response)
    assert [item["typeName"] for item in body] == [PUBLIC_TYPE[w.victim]]
    assert ONLY_ATTR[w.victim] not in str(body)
    assert ONLY_ATTR[w.attacker] not in str(body)


def _own_type_details(w: World, response: httpx.Response) -> None:
    body = ok(response)
    names = {item["typeName"]: item["attributeNames"] for item in body}
    assert set(names) == {"Sensor", "AirQualityObserved", "Streetlight", ONLY_TYPE[w.attacker]}
    assert names[ONLY_TYPE[w.attacker]] == sorted([ONLY_ATTR[w.attacker], "name"])


def _own_sensor_type(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert body["typeName"] == "Sensor"
    assert body["entityCount"] == 1
    assert sorted(item["attributeName"] for item in body["attributeDetails"]) == [
        "location",
        "name",
        "temperature",
    ]


def _own_attributes(w: World, response: httpx.Response) -> None:
    names = ok(response)["attributeList"]
    assert ONLY_ATTR[w.attacker] in names
    assert ONLY_ATTR[w.victim] not in names


def _own_attribute_details(w: World, response: httpx.Response) -> None:
    body = ok(response)
    names = {item["attributeName"]: item["typeNames"] for item in body}
    assert ONLY_ATTR[w.victim] not in names
    assert names[ONLY_ATTR[w.attacker]] == [ONLY_TYPE[w.attacker]]
    assert ONLY_TYPE[w.victim] not in str(body)


def _own_temperature_attribute(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert body["attributeName"] == "temperature"
    assert body["attributeCount"] == 1
    assert body["typeNames"] == ["Sensor"]


def _own_name_attribute(w: World, response: httpx.Response) -> None:
    body = ok(response)
    # name is on the four entities of the attacker's tenant, not on the victim's too
    assert body["attributeCount"] == 4
    assert sorted(body["typeNames"]) == sorted(
        ["Sensor", "AirQualityObserved", "Streetlight", ONLY_TYPE[w.attacker]]
    )


def _own_temporal_query(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert [entity["id"] for entity in body] == [SENSOR]
    assert [item["value"] for item in body[0]["temperature"]] == temperatures(w.attacker)
    assert_no_trace_of(w.victim, response)


def _own_temporal_values(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert [pair[0] for pair in body[0]["temperature"]["values"]] == temperatures(w.attacker)
    assert_no_trace_of(w.victim, response)


def _aggregates(body: dict[str, Any]) -> dict[str, Any]:
    item = body["temperature"]
    return {
        method: [bucket[0] for bucket in item[method]] for method in ("sum", "totalCount", "max")
    }


def _own_temporal_aggregates(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert [entity["id"] for entity in body] == [SENSOR]
    values = temperatures(w.attacker)
    assert _aggregates(body[0]) == {"sum": [sum(values)], "totalCount": [3], "max": [max(values)]}


def _own_temporal_entity(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert body["id"] == SENSOR
    assert [item["value"] for item in body["temperature"]] == temperatures(w.attacker)
    assert [item["observedAt"] for item in body["temperature"]] == [iso(m) for m in w.moments]
    assert_no_trace_of(w.victim, response)


def _own_temporal_entity_aggregates(w: World, response: httpx.Response) -> None:
    values = temperatures(w.attacker)
    assert _aggregates(ok(response)) == {
        "sum": [sum(values)],
        "totalCount": [3],
        "max": [max(values)],
    }


def _own_temporal_last(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert [item["value"] for item in body["temperature"]] == temperatures(w.attacker)[-1:]


def _fill(text: str, w: World) -> str:
    """``{victim_only}``, ``{victim_only_type}`` and ``{victim_only_attr}`` of a path or
    parameter, for the victim of this run."""
    return text.format(
        victim_only=ONLY_ID[w.victim],
        victim_only_sub=ONLY_SUB[w.victim],
        victim_only_type=ONLY_TYPE[w.victim],
        victim_only_attr=ONLY_ATTR[w.victim],
    )


def get(path: str, **params: str) -> Call:
    def call(w: World, headers: dict[str, str]) -> httpx.Response:
        filled = {key: _fill(value, w) for key, value in params.items()}
        return w.client.get(_fill(path, w), params=filled, headers=headers)

    return call


AGGREGATE_PARAMS: Final = {
    "options": "aggregatedValues",
    "aggrMethods": "sum,totalCount,max",
    "attrs": "temperature",
}

# -- write probes ---------------------------------------------------------------------------------


def send(method: str, path: str, body: Any = None, **params: str) -> Call:
    def call(w: World, headers: dict[str, str]) -> httpx.Response:
        url = _fill(path, w)
        payload = body(w) if callable(body) else body
        return w.client.request(method, url, json=payload, params=params, headers=headers)

    return call


def stored(w: World, tenant: str, entity_id: str) -> dict[str, Any] | None:
    return w.store.get_entity(tenant, entity_id)


def kv(w: World, entity_id: str) -> dict[str, Any]:
    """The attacker's entity in keyValues, read back through the API."""
    response = w.client.get(
        f"{ENTITIES}/{entity_id}", params={"options": "keyValues"}, headers=w.own()
    )
    body: dict[str, Any] = ok(response)
    return body


def _victim_only_entity(w: World) -> dict[str, Any]:
    return {
        "id": ONLY_ID[w.victim],
        "type": ONLY_TYPE[w.victim],
        "name": {"type": "Property", "value": "written by the attacker in its own tenant"},
    }


def _created_victim_only_id(w: World, response: httpx.Response) -> None:
    assert response.status_code == 201, response.text
    assert kv(w, ONLY_ID[w.victim])["name"] == "written by the attacker in its own tenant"


def _own_conflict(w: World, response: httpx.Response) -> None:
    assert_problem(response, 409, "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists")


def _replaced(w: World, response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert kv(w, SENSOR) == {"id": SENSOR, "type": "Sensor", "status": "replaced"}


def _merged(w: World, response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert kv(w, SENSOR)["temperature"] == -1.0


def _deleted(w: World, response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert stored(w, w.attacker, SENSOR) is None


def _appended(w: World, response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert kv(w, SENSOR)["humidity"] == 55


def _updated_temperature(w: World, response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert kv(w, SENSOR)["temperature"] == -1.0


def _attribute_deleted(w: World, response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert "name" not in kv(w, SENSOR)


def _batch_created(w: World, response: httpx.Response) -> None:
    assert ok(response, 201) == [ONLY_ID[w.victim]]
    assert stored(w, w.attacker, ONLY_ID[w.victim]) is not None


def _batch_upserted(w: World, response: httpx.Response) -> None:
    assert ok(response, 201) == [ONLY_ID[w.victim]]
    assert kv(w, SENSOR) == {"id": SENSOR, "type": "Sensor", "status": "replaced"}


def _batch_updated(w: World, response: httpx.Response) -> None:
    body = ok(response, 207)
    assert body["success"] == [SENSOR]
    assert [error["entityId"] for error in body["errors"]] == [ONLY_ID[w.victim]]
    assert body["errors"][0]["error"]["type"] == NOT_FOUND
    assert kv(w, SENSOR)["temperature"] == -1.0


def _batch_deleted(w: World, response: httpx.Response) -> None:
    body = ok(response, 207)
    assert body["success"] == [SENSOR]
    assert [error["entityId"] for error in body["errors"]] == [ONLY_ID[w.victim]]
    assert stored(w, w.attacker, SENSOR) is None


def own_subscription(w: World, sub_id: str) -> dict[str, Any] | None:
    """The attacker's subscription, read back through the API (None when there is none)."""
    response = w.client.get(f"{SUBS}/{sub_id}", headers=w.own())
    if response.status_code == 404:
        return None
    body: dict[str, Any] = ok(response)
    return body


def _own_subscriptions(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert sorted(sub["id"] for sub in body) == sorted([SUBSCRIPTION, ONLY_SUB[w.attacker]])
    assert {sub["description"] for sub in body} == {f"{w.attacker} subscription"}
    assert {sub["entities"][0]["type"] for sub in body} == {ONLY_TYPE[w.attacker]}
    assert_no_trace_of(w.victim, response)


def _own_subscription(w: World, response: httpx.Response) -> None:
    body = ok(response)
    assert body["id"] == SUBSCRIPTION
    assert body["description"] == f"{w.attacker} subscription"
    assert body["notification"]["endpoint"]["uri"].endswith(f"/{w.attacker}-hook")
    assert_no_trace_of(w.victim, response)


def _victim_only_subscription(w: World) -> dict[str, Any]:
    return _subscription(w.attacker, ONLY_SUB[w.victim], "written by the attacker")


def _created_victim_only_subscription(w: World, response: httpx.Response) -> None:
    assert response.status_code == 201, response.text
    created = own_subscription(w, ONLY_SUB[w.victim])
    assert created is not None
    assert created["description"] == "written by the attacker"


def _patched_subscription(w: World, response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    patched = own_subscription(w, SUBSCRIPTION)
    assert patched is not None
    assert patched["description"] == "patched"


def _deleted_subscription(w: World, response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert own_subscription(w, SUBSCRIPTION) is None


NEW_TEMPERATURE: Final = {"temperature": {"type": "Property", "value": -1.0}}
REPLACEMENT: Final = {"type": "Sensor", "status": {"type": "Property", "value": "replaced"}}


def _upsert_batch(w: World) -> list[dict[str, Any]]:
    return [{"id": SENSOR, **REPLACEMENT}, _victim_only_entity(w)]


def _update_batch(w: World) -> list[dict[str, Any]]:
    return [{"id": SENSOR, **NEW_TEMPERATURE}, {"id": ONLY_ID[w.victim], **NEW_TEMPERATURE}]


def _delete_batch(w: World) -> list[str]:
    return [SENSOR, ONLY_ID[w.victim]]


# -- the table: every NGSI-LD route and how to probe it --------------------------------------------

E1: Final = f"{ENTITIES}/{SENSOR}"
EV: Final = f"{ENTITIES}/{{victim_only}}"

ROUTES: Final[dict[tuple[str, str], RouteCase]] = {
    ("GET", f"{V1}/entities"): RouteCase(
        write=False,
        probes=(
            Probe(get(ENTITIES, type="Sensor"), _own_sensor_query),
            Probe(get(ENTITIES, type="Sensor", q="temperature>0"), _own_sensor_query),
            Probe(get(ENTITIES, id=SENSOR, type="Sensor"), _own_sensor_query),
            Probe(get(ENTITIES, type="{victim_only_type}"), _own_empty_list),
            Probe(get(ENTITIES, type="Sensor", idPattern=".*", count="true"), _own_sensor_query),
            Probe(
                get(
                    ENTITIES,
                    type="Sensor",
                    georel="near;maxDistance==400000",
                    geometry="Point",
                    coordinates="[25.5,47.0]",
                ),
                _own_sensor_query,
            ),
            Probe(get(ENTITIES), _own_unscoped_query, _foreign_unscoped_query),
            Probe(
                get(ENTITIES, attrs="name", limit="100"),
                _own_unscoped_query,
                _foreign_unscoped_query,
            ),
        ),
    ),
    ("GET", f"{V1}/entities/{{entity_id}}"): RouteCase(
        write=False,
        probes=(
            Probe(get(E1), _own_retrieve),
            Probe(get(E1, options="keyValues", attrs="temperature"), _own_retrieve_key_values),
            # missing or present in the victim's tenant: the same refusal (no existence oracle)
            Probe(get(EV), _own_only_id_missing),
            Probe(get(f"{ENTITIES}/urn:ngsi-ld:Sensor:nowhere"), _own_only_id_missing),
        ),
    ),
    ("GET", f"{V1}/types"): RouteCase(
        write=False,
        probes=(
            Probe(get(f"{V1}/types"), _own_types, _foreign_types),
            Probe(get(f"{V1}/types", details="true"), _own_type_details, _foreign_type_details),
        ),
    ),
    ("GET", f"{V1}/types/{{type_name}}"): RouteCase(
        write=False,
        probes=(
            Probe(get(f"{V1}/types/Sensor"), _own_sensor_type),
            Probe(get(f"{V1}/types/{{victim_only_type}}"), _own_only_id_missing),
        ),
    ),
    ("GET", f"{V1}/attributes"): RouteCase(
        write=False,
        probes=(
            Probe(get(f"{V1}/attributes"), _own_attributes),
            Probe(get(f"{V1}/attributes", details="true"), _own_attribute_details),
        ),
    ),
    ("GET", f"{V1}/attributes/{{attr_name}}"): RouteCase(
        write=False,
        probes=(
            Probe(get(f"{V1}/attributes/temperature"), _own_temperature_attribute),
            Probe(get(f"{V1}/attributes/name"), _own_name_attribute),
            Probe(get(f"{V1}/attributes/{{victim_only_attr}}"), _own_only_id_missing),
        ),
    ),
    ("GET", f"{V1}/temporal/entities"): RouteCase(
        write=False,
        probes=(
            Probe(get(TEMPORAL, type="Sensor", attrs="temperature"), _own_temporal_query),
            Probe(
                get(TEMPORAL, type="Sensor", attrs="temperature", options="temporalValues"),
                _own_temporal_values,
            ),
            Probe(get(TEMPORAL, type="Sensor", **AGGREGATE_PARAMS), _own_temporal_aggregates),
            Probe(
                get(
                    TEMPORAL,
                    id=SENSOR,
                    type="Sensor",
                    timerel="after",
                    timeAt="2000-01-01T00:00:00Z",
                    attrs="temperature",
                ),
                _own_temporal_query,
            ),
            Probe(get(TEMPORAL, type="{victim_only_type}"), _own_empty_list),
        ),
    ),
    ("GET", f"{V1}/temporal/entities/{{entity_id}}"): RouteCase(
        write=False,
        probes=(
            Probe(get(f"{TEMPORAL}/{SENSOR}", attrs="temperature"), _own_temporal_entity),
            Probe(get(f"{TEMPORAL}/{SENSOR}", **AGGREGATE_PARAMS), _own_temporal_entity_aggregates),
            Probe(get(f"{TEMPORAL}/{SENSOR}", attrs="temperature", lastN="1"), _own_temporal_last),
            Probe(get(f"{TEMPORAL}/{{victim_only}}"), _own_only_id_missing),
        ),
    ),
    ("POST", f"{V1}/entities"): RouteCase(
        write=True,
        probes=(
            Probe(send("POST", ENTITIES, _victim_only_entity), _created_victim_only_id),
            Probe(
                send("POST", ENTITIES, {"id": SENSOR, "type": "Sensor", **NEW_TEMPERATURE}),
                _own_conflict,
            ),
        ),
    ),
    ("PUT", f"{V1}/entities/{{entity_id}}"): RouteCase(
        write=True,
        probes=(
            Probe(send("PUT", E1, REPLACEMENT), _replaced),
            Probe(send("PUT", EV, REPLACEMENT), _own_only_id_missing),
        ),
    ),
    ("PATCH", f"{V1}/entities/{{entity_id}}"): RouteCase(
        write=True,
        probes=(
            Probe(send("PATCH", E1, NEW_TEMPERATURE), _merged),
            Probe(send("PATCH", EV, NEW_TEMPERATURE), _own_only_id_missing),
        ),
    ),
    ("DELETE", f"{V1}/entities/{{entity_id}}"): RouteCase(
        write=True,
        probes=(
            Probe(send("DELETE", EV), _own_only_id_missing),
            Probe(send("DELETE", E1), _deleted),
        ),
    ),
    ("POST", f"{V1}/entities/{{entity_id}}/attrs"): RouteCase(
        write=True,
        probes=(
            Probe(
                send("POST", f"{E1}/attrs", {"humidity": {"type": "Property", "value": 55}}),
                _appended,
            ),
            Probe(
                send("POST", f"{EV}/attrs", {"humidity": {"type": "Property", "value": 55}}),
                _own_only_id_missing,
            ),
        ),
    ),
    ("PATCH", f"{V1}/entities/{{entity_id}}/attrs"): RouteCase(
        write=True,
        probes=(
            Probe(send("PATCH", f"{E1}/attrs", NEW_TEMPERATURE), _updated_temperature),
            Probe(send("PATCH", f"{EV}/attrs", NEW_TEMPERATURE), _own_only_id_missing),
        ),
    ),
    ("PATCH", f"{V1}/entities/{{entity_id}}/attrs/{{attr_id}}"): RouteCase(
        write=True,
        probes=(
            Probe(send("PATCH", f"{E1}/attrs/temperature", {"value": -1.0}), _updated_temperature),
            Probe(send("PATCH", f"{EV}/attrs/temperature", {"value": -1.0}), _own_only_id_missing),
        ),
    ),
    ("PUT", f"{V1}/entities/{{entity_id}}/attrs/{{attr_id}}"): RouteCase(
        write=True,
        probes=(
            Probe(
                send("PUT", f"{E1}/attrs/temperature", {"type": "Property", "value": -1.0}),
                _updated_temperature,
            ),
            Probe(
                send("PUT", f"{EV}/attrs/temperature", {"type": "Property", "value": -1.0}),
                _own_only_id_missing,
            ),
        ),
    ),
    ("DELETE", f"{V1}/entities/{{entity_id}}/attrs/{{attr_id}}"): RouteCase(
        write=True,
        probes=(
            Probe(send("DELETE", f"{E1}/attrs/name"), _attribute_deleted),
            Probe(send("DELETE", f"{EV}/attrs/name"), _own_only_id_missing),
        ),
    ),
    ("POST", f"{V1}/entityOperations/create"): RouteCase(
        write=True,
        probes=(
            Probe(
                send("POST", f"{OPS}/create", lambda w: [_victim_only_entity(w)]), _batch_created
            ),
        ),
    ),
    ("POST", f"{V1}/entityOperations/upsert"): RouteCase(
        write=True,
        probes=(Probe(send("POST", f"{OPS}/upsert", _upsert_batch), _batch_upserted),),
    ),
    ("POST", f"{V1}/entityOperations/update"): RouteCase(
        write=True,
        probes=(Probe(send("POST", f"{OPS}/update", _update_batch), _batch_updated),),
    ),
    ("POST", f"{V1}/entityOperations/delete"): RouteCase(
        write=True,
        probes=(Probe(send("POST", f"{OPS}/delete", _delete_batch), _batch_deleted),),
    ),
    ("GET", f"{V1}/subscriptions"): RouteCase(
        write=False,
        probes=(
            Probe(get(SUBS), _own_subscriptions),
            Probe(get(SUBS, count="true", limit="10"), _own_subscriptions),
        ),
    ),
    ("GET", f"{V1}/subscriptions/{{subscription_id}}"): RouteCase(
        write=False,
        probes=(
            Probe(get(f"{SUBS}/{SUBSCRIPTION}"), _own_subscription),
            # missing or present in the victim's tenant: the same refusal
            Probe(get(f"{SUBS}/{{victim_only_sub}}"), _own_only_id_missing),
        ),
    ),
    ("POST", f"{V1}/subscriptions"): RouteCase(
        write=True,
        probes=(
            Probe(send("POST", SUBS, _victim_only_subscription), _created_victim_only_subscription),
            Probe(
                send("POST", SUBS, lambda w: _subscription(w.attacker, SUBSCRIPTION)),
                _own_conflict,
            ),
        ),
    ),
    ("PATCH", f"{V1}/subscriptions/{{subscription_id}}"): RouteCase(
        write=True,
        probes=(
            Probe(
                send("PATCH", f"{SUBS}/{SUBSCRIPTION}", {"description": "patched"}),
                _patched_subscription,
            ),
            Probe(
                send("PATCH", f"{SUBS}/{{victim_only_sub}}", {"description": "patched"}),
                _own_only_id_missing,
            ),
        ),
    ),
    ("DELETE", f"{V1}/subscriptions/{{subscription_id}}"): RouteCase(
        write=True,
        probes=(
            Probe(send("DELETE", f"{SUBS}/{{victim_only_sub}}"), _own_only_id_missing),
            Probe(send("DELETE", f"{SUBS}/{SUBSCRIPTION}"), _deleted_subscription),
        ),
    ),
}


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the application serves, routers included (FastAPI
    0.16x keeps included routers as nodes of ``app.routes``; ``iter_route_contexts`` flattens
    them)."""
    routes: Iterable[Any]
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        routes = app.routes
    else:
        routes = iter_route_contexts(app.routes)
    found: set[tuple[str, str]] = set()
    for route in routes:
        # the path as documented: without convertors such as {entity_id:segment}
        path = getattr(route, "path_format", getattr(route, "path", None))
        methods = getattr(route, "methods", None)
        if isinstance(path, str) and methods:
            found.update((method, path) for method in methods if method != "HEAD")
    return found


def ngsi_ld_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every NGSI-LD route the application serves."""
    return {(method, path) for method, path in served_routes(app) if path.startswith(V1 + "/")}


def test_every_ngsi_ld_route_has_an_isolation_case(world_app: FastAPI) -> None:
    served = ngsi_ld_routes(world_app)
    assert served, "no NGSI-LD routes found"
    missing = sorted(served - set(ROUTES))
    assert not missing, f"routes without a tenant-isolation case in ROUTES: {missing}"
    stale = sorted(set(ROUTES) - served)
    assert not stale, f"ROUTES names routes the application no longer has: {stale}"


def _refused(w: World, response: httpx.Response, anonymous: bool) -> None:
    if anonymous:
        assert_problem(response, 401, UNAUTHENTICATED)
    else:
        body = assert_problem(response, 403, FORBIDDEN)
        assert w.victim in body["detail"]
        assert_no_trace_of(w.victim, response, name=False)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda route: f"{route[0]} {route[1]}")
def test_route_keeps_tenants_apart(world: World, route: tuple[str, str]) -> None:
    case = ROUTES[route]
    victim_before = world.snapshot(world.victim)
    attacker_before = world.snapshot(world.attacker)
    for probe in case.probes:
        check = probe.foreign or _refused
        # the attacker's tokens, of every role, against the victim's tenant
        for role in ROLES:
            response = probe.call(world, world.auth(world.attacker, role, world.victim))
            check(world, response, False)
        # no credentials at all
        check(world, probe.call(world, {"NGSILD-Tenant": world.victim}), True)
        if case.write:
            # the victim's own viewer may not write either
            response = probe.call(world, world.auth(world.victim, "viewer", world.victim))
            assert_problem(response, 403, FORBIDDEN)
        assert world.snapshot(world.attacker) == attacker_before
        assert world.snapshot(world.victim) == victim_before
    for probe in case.probes:
        # the same request in the attacker's own tenant: answered from, or written to, it only
        probe.own(world, probe.call(world, world.own()))
        assert world.snapshot(world.victim) == victim_before
    if case.write:
        assert world.snapshot(world.attacker) != attacker_before
    else:
        assert world.snapshot(world.attacker) == attacker_before


# -- more about the same ids in both tenants -------------------------------------------------


def test_same_ids_stay_independent_through_a_sequence_of_writes(seeded: World) -> None:
    """Writes of every kind on cluj's Sensor:0001 leave iasi's Sensor:0001, with its history,
    exactly as it was, and the other way round."""
    w = seeded
    iasi_before = w.snapshot("iasi")
    cluj = w.auth("cluj", "operator", "cluj")
    steps = [
        w.client.patch(
            f"{E1}/attrs", json={"temperature": {"type": "Property", "value": 99.0}}, headers=cluj
        ),
        w.client.post(
            f"{E1}/attrs", json={"extra": {"type": "Property", "value": 1}}, headers=cluj
        ),
        w.client.patch(E1, json={"name": {"type": "Property", "value": "renamed"}}, headers=cluj),
        w.client.patch(f"{E1}/attrs/temperature", json={"value": 98.0}, headers=cluj),
        w.client.put(f"{E1}/attrs/extra", json={"type": "Property", "value": 2}, headers=cluj),
        w.client.delete(f"{E1}/attrs/extra", headers=cluj),
        w.client.put(E1, json={"type": "Sensor", "temperature": 97.0}, headers=cluj),
        w.client.post(
            f"{OPS}/upsert",
            json=[{"id": AIR, "type": "AirQualityObserved", "pm10": 1}],
            headers=cluj,
        ),
        w.client.post(f"{OPS}/update", json=[{"id": LIGHT, "lampStatus": "off"}], headers=cluj),
        w.client.delete(E1, headers=cluj),
        w.client.post(f"{OPS}/delete", json=[AIR, LIGHT], headers=cluj),
        w.client.post(
            ENTITIES, json={"id": SENSOR, "type": "Sensor", "temperature": 1.0}, headers=cluj
        ),
    ]
    for response in steps:
        assert response.status_code in (201, 204), response.text
    assert w.snapshot("iasi") == iasi_before
    iasi = w.client.get(E1, headers=w.auth("iasi", "viewer", "iasi")).json()
    assert iasi["temperature"]["value"] == temperatures("iasi")[-1]
    assert iasi["name"]["value"] == "iasi sensor"
    history = w.client.get(
        f"{TEMPORAL}/{SENSOR}",
        params={"attrs": "temperature"},
        headers=w.auth("iasi", "viewer", "iasi"),
    ).json()
    assert [item["value"] for item in history["temperature"]] == temperatures("iasi")
    # and cluj's recreated Sensor:0001 has cluj's history only (deleting an entity keeps its
    # history), ending with the new value
    cluj_history = w.client.get(
        f"{TEMPORAL}/{SENSOR}", params={"attrs": "temperature"}, headers=cluj
    )
    values = [item["value"] for item in ok(cluj_history)["temperature"]]
    assert values[-1] == 1.0
    assert not set(values) & set(temperatures("iasi"))
    assert_no_trace_of("iasi", cluj_history)
    # iasi's ids still resolve in iasi after cluj deleted its copies
    for entity_id in SHARED_IDS:
        assert (
            w.client.get(
                f"{ENTITIES}/{entity_id}", headers=w.auth("iasi", "viewer", "iasi")
            ).status_code
            == 200
        )


def test_tenant_header_decides_the_tenant_not_the_token(seeded: World) -> None:
    """A token is valid in its own tenant only: with no header (the default tenant), an
    unknown tenant or another tenant it is refused; it never falls back to its own."""
    w = seeded
    token = {"Authorization": f"Bearer {w.tokens[('iasi', 'admin')]}"}
    assert_problem(w.client.get(ENTITIES, params={"type": "Sensor"}, headers=token), 403, FORBIDDEN)
    assert_problem(
        w.client.post(ENTITIES, json={"id": "urn:x:1", "type": "T"}, headers=token), 403, FORBIDDEN
    )
    nowhere = {**token, "NGSILD-Tenant": "nowhere"}
    assert_problem(
        w.client.post(ENTITIES, json={"id": "urn:x:1", "type": "T"}, headers=nowhere),
        403,
        FORBIDDEN,
    )
    assert w.store.get_tenant("nowhere") is None
    assert w.store.get_tenant("default") is None


def test_anonymous_sees_only_the_public_types_of_the_tenant_asked(seeded: World) -> None:
    """cluj makes AirQualityObserved public, iasi Streetlight; both tenants have both types.
    Anonymous callers read each tenant's own public type only, with its own values."""
    w = seeded
    for tenant in TENANTS:
        other = OTHER[tenant]
        header = {"NGSILD-Tenant": tenant}
        public_type = PUBLIC_TYPE[tenant]
        public_id = f"urn:ngsi-ld:{public_type}:0001"
        listed = w.client.get(ENTITIES, headers=header)
        assert [entity["id"] for entity in ok(listed)] == [public_id]
        assert tenant in listed.text
        assert_no_trace_of(other, listed)
        by_type = w.client.get(ENTITIES, params={"type": public_type}, headers=header)
        assert [entity["id"] for entity in ok(by_type)] == [public_id]
        assert ok(w.client.get(f"{ENTITIES}/{public_id}", headers=header))["name"][
            "value"
        ].startswith(tenant)
        # the other tenant's public type is private here
        other_public = PUBLIC_TYPE[other]
        other_id = f"urn:ngsi-ld:{other_public}:0001"
        assert_problem(
            w.client.get(ENTITIES, params={"type": other_public}, headers=header),
            401,
            UNAUTHENTICATED,
        )
        assert_problem(w.client.get(f"{ENTITIES}/{other_id}", headers=header), 401, UNAUTHENTICATED)
        assert_problem(w.client.get(f"{TEMPORAL}/{other_id}", headers=header), 401, UNAUTHENTICATED)
        assert_problem(
            w.client.get(
                ENTITIES, params={"type": f"{public_type},{other_public}"}, headers=header
            ),
            401,
            UNAUTHENTICATED,
        )
        assert_problem(
            w.client.get(
                ENTITIES, params={"type": f"({public_type};Sensor)|{public_type}"}, headers=header
            ),
            401,
            UNAUTHENTICATED,
        )
        types = ok(w.client.get(f"{V1}/types", headers=header))
        assert types["typeList"] == [public_type]
        assert_problem(
            w.client.get(f"{V1}/types/{other_public}", headers=header), 401, UNAUTHENTICATED
        )
        assert ok(w.client.get(f"{V1}/types/{public_type}", headers=header))["entityCount"] == 1
        temporal = w.client.get(TEMPORAL, headers=header)
        assert [entity["id"] for entity in ok(temporal)] == [public_id]
        assert_no_trace_of(other, temporal)
        # the tokens of the other tenant read this tenant's public type like anybody else
        foreign = w.auth(other, "admin", tenant)
        assert [
            e["id"]
            for e in ok(w.client.get(ENTITIES, params={"type": public_type}, headers=foreign))
        ] == [public_id]
        assert_problem(
            w.client.get(ENTITIES, params={"type": other_public}, headers=foreign), 403, FORBIDDEN
        )
    # a tenant with no public types shows anonymous callers nothing
    assert_problem(
        w.client.get(ENTITIES, headers={"NGSILD-Tenant": "default"}), 401, UNAUTHENTICATED
    )


def test_revoked_token_and_session_cookie_do_not_cross_tenants(seeded: World) -> None:
    """A console session (reads only through the API) is bound to the user's roles: an
    iasi-only user's cookie reads iasi, is refused in cluj, and never writes."""
    w = seeded
    create_user(w.store, "ioana", "iasi-only-password", roles={"iasi": "viewer"})
    cookie = session_codec(w.store, w.settings).encode("ioana", "iasi")
    w.client.cookies.set(SESSION_COOKIE_NAME, cookie)
    try:
        own = w.client.get(ENTITIES, params={"type": "Sensor"}, headers={"NGSILD-Tenant": "iasi"})
        assert [entity["id"] for entity in ok(own)] == [SENSOR]
        assert_no_trace_of("cluj", own)
        assert_problem(
            w.client.get(ENTITIES, params={"type": "Sensor"}, headers={"NGSILD-Tenant": "cluj"}),
            403,
            FORBIDDEN,
        )
        assert_problem(
            w.client.get(f"{V1}/attributes", headers={"NGSILD-Tenant": "cluj"}), 403, FORBIDDEN
        )
        cluj_before = w.snapshot("cluj")
        write = w.client.post(
            ENTITIES, json={"id": "urn:x:1", "type": "T"}, headers={"NGSILD-Tenant": "cluj"}
        )
        assert_problem(write, 401, UNAUTHENTICATED)
        assert w.snapshot("cluj") == cluj_before
    finally:
        w.client.cookies.clear()


# -- the console ----------------------------------------------------------------------------------

CONSOLE_JSON: Final = ("/console/api/geojson", "/console/api/history")
CONSOLE_PAGES: Final = ("/", "/entities", "/map", "/entities/{entity_id}")
CONSOLE_OPERATIONS_PAGES: Final = (
    "/devices",
    "/devices/{device}",
    "/devices/{device}/revoke",
    "/dead-letters",
    "/rules",
    "/rules/new",
    "/rules/{rule_id}",
    "/rules/{rule_id}/delete",
    "/alerts",
)
"""checked by test_console_operations_pages_show_the_session_tenant_only"""


NOT_TENANT_DATA: Final = (
    "/health",
    "/login",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/air",  # redirects to the default tenant's page
    "/health-stations",
    "/water",
    "/citizens/static/{name}",  # the domains' static files
    "/environment-assets/air.js",
    "/waste-assets/waste.js",
)
ISOLATION_TESTED_ELSEWHERE: Final = (
    # tests/api/test_dead_letters.py
    "/api/v1/{tenant}/dead-letters",
    # tests/api/test_devices_admin.py::test_another_tenants_token_gets_403
    "/api/v1/{tenant}/devices",
    "/api/v1/{tenant}/devices/{device}",
    "/api/v1/{tenant}/profiles",
    "/api/v1/{tenant}/profiles/{profile}",
    # tests/api/test_commands.py::test_roles_and_tenants
    "/api/v1/{tenant}/devices/{device}/commands",
    "/api/v1/{tenant}/commands/{command_id}",
    "/devices/v1/{tenant}/{device}/commands",
    # tests/api/test_rules.py::test_roles_and_tenant_isolation
    "/api/v1/{tenant}/rules",
    "/api/v1/{tenant}/rules/{rule_id}",
    "/api/v1/{tenant}/alerts",
    "/api/v1/{tenant}/alerts/{alert_id}",
    # tests/domains/citizens/test_open311_api.py::test_tenant_separation and
    # tests/domains/citizens/test_staff_api.py::test_rights
    "/open311/v2/services.{fmt}",
    "/open311/v2/services/{name}",
    "/open311/v2/requests.{fmt}",
    "/open311/v2/requests/{name}",
    "/open311/v2/tokens/{name}",
    "/open311/v2/media/{name}",
    "/open311/v2/{rest}",
    "/api/v1/{tenant}/citizens/requests/{request_id}",
    "/api/v1/{tenant}/citizens/api-keys",
    # tests/domains/citizens/test_tenant_isolation.py
    "/api/v1/{tenant}/citizens/departments",
    "/api/v1/{tenant}/citizens/requests",
    "/api/v1/{tenant}/citizens/track/{token}",
    "/citizens/inbox",
    "/citizens/inbox/{request_id}",
    "/city/{tenant}",
    "/city/{tenant}/map",
    "/city/{tenant}/map.geojson",
    "/city/{tenant}/report",
    "/city/{tenant}/track/{token}",
    "/api/v1/{tenant}/citizens/audit",
    "/api/v1/{tenant}/citizens/dashboard",
    "/api/v1/{tenant}/citizens/gdpr/export",
    "/api/v1/{tenant}/citizens/polls",
    "/api/v1/{tenant}/citizens/polls/{poll_id}",
    "/api/v1/{tenant}/citizens/polls/{poll_id}/votes.csv",
    "/citizens/dashboard",
    "/citizens/polls",
    "/city/{tenant}/polls",
    "/city/{tenant}/polls/{poll_id}",
    "/city/{tenant}/polls/{poll_id}/results.json",
    "/city/{tenant}/polls/{poll_id}/confirm/{token}",
    # tests/domains/environment/test_pages.py::test_only_public_data_without_login and
    # ::test_a_station_is_found_only_in_its_own_tenant
    "/air/{tenant}",
    "/air/{tenant}/station/{station_id}",
    "/air/{tenant}/station/{station_id}/compliance/{year}",
    "/api/environment/{tenant}/hourly.csv",
    "/api/environment/{tenant}/hourly.geojson",
    # tests/domains/environment/test_health_water_pages.py::test_private_tenant_and_foreign_ids
    "/health-stations/{tenant}",
    "/health-stations/{tenant}/station/{station_id}",
    "/water/{tenant}",
    "/water/{tenant}/point/{point_id}",
    "/water/{tenant}/beach/{site_id}/season/{year}",
    # tests/domains/waste/test_pages.py::test_another_tenants_user_sees_nothing_of_cluj
    "/waste/bins",
    "/waste/kpi",
)
"""tenant data outside /ngsi-ld/v1 with isolation tests of their own (the files named)"""


def console_get_routes(app: FastAPI) -> set[str]:
    """Every GET route outside the NGSI-LD API that may show tenant data."""
    return {
        path
        for method, path in served_routes(app)
        if method == "GET" and not path.startswith(V1) and path not in NOT_TENANT_DATA
    }


def test_every_console_read_route_is_covered(world_app: FastAPI) -> None:
    served = console_get_routes(world_app)
    missing = sorted(
        served
        - {*CONSOLE_JSON, *CONSOLE_PAGES, *CONSOLE_OPERATIONS_PAGES, *ISOLATION_TESTED_ELSEWHERE}
    )
    assert not missing, f"console routes without a tenant-isolation check: {missing}"


@pytest.fixture
def console_user(seeded: World) -> Iterator[Callable[[str, str | None], None]]:
    """Sign a session cookie for a user and a selected tenant into the world's client."""
    create_user(seeded.store, "ioana", "iasi-only-password", roles={"iasi": "viewer"})
    create_user(
        seeded.store, "ana", "both-tenants-password", roles={"cluj": "admin", "iasi": "admin"}
    )
    codec = session_codec(seeded.store, seeded.settings)

    def sign_in(username: str, tenant: str | None) -> None:
        seeded.client.cookies.set(SESSION_COOKIE_NAME, codec.encode(username, tenant))

    yield sign_in
    seeded.client.cookies.clear()


def _console_sees_only(w: World, tenant: str) -> None:
    other = OTHER[tenant]
    client = w.client
    geojson = client.get("/console/api/geojson")
    body = ok(geojson)
    assert [feature["id"] for feature in body["features"]] == [SENSOR]
    assert body["features"][0]["geometry"]["coordinates"] == POINT[tenant]
    assert str(POINT[other][0]) not in geojson.text
    typed = ok(client.get("/console/api/geojson", params={"type": DEFAULT_VOCAB + "Sensor"}))
    assert [feature["geometry"]["coordinates"] for feature in typed["features"]] == [POINT[tenant]]
    history = ok(client.get("/console/api/history", params={"id": SENSOR, "range": "24h"}))
    series = {item["name"]: item for item in history["series"]}
    assert series["temperature"]["values"] == temperatures(tenant)
    assert len(series["temperature"]["times"]) == 3
    assert client.get("/console/api/history", params={"id": ONLY_ID[other]}).status_code == 404
    home = client.get("/")
    assert home.status_code == 200
    assert ONLY_TYPE[tenant] in home.text
    assert ONLY_TYPE[other] not in home.text
    listing = client.get("/entities")
    assert listing.status_code == 200
    assert ONLY_ID[tenant] in listing.text
    assert ONLY_ID[other] not in listing.text
    searched = client.get("/entities", params={"q": "only"})
    assert ONLY_ID[other] not in searched.text
    page = client.get(f"/entities/{SENSOR}")
    assert page.status_code == 200
    assert f"{tenant} sensor" in page.text
    assert f"{other} sensor" not in page.text
    assert client.get(f"/entities/{ONLY_ID[other]}").status_code == 404
    map_page = client.get("/map")
    assert map_page.status_code == 200
    assert ONLY_TYPE[other] not in map_page.text


def test_console_shows_the_session_tenant_only(
    seeded: World, console_user: Callable[[str, str | None], None]
) -> None:
    console_user("ioana", "iasi")
    _console_sees_only(seeded, "iasi")
    console_user("ana", "cluj")
    _console_sees_only(seeded, "cluj")
    console_user("ana", "iasi")
    _console_sees_only(seeded, "iasi")


def _seed_operations(app: FastAPI, tenant: str) -> None:
    """A device, a rejected message, a rule and an open alert, each with ``tenant`` in a
    marker no other tenant's page may show."""
    add_profiles(app, tenant)
    provision(app, tenant, f"{tenant}-bin")
    dead_letter(app, tenant, f"{tenant}-bin", f"{tenant}-payload{{".encode())
    name = {"ro": f"{tenant}-rule", "en": f"{tenant}-rule"}
    app.state.rules.put(tenant, {**RULE, "id": f"urn:ngsi-ld:Rule:{tenant}:full", "name": name})
    open_alert(app, tenant, f"{tenant}-episode")


def test_console_operations_pages_show_the_session_tenant_only(
    seeded: World, world_app: FastAPI, console_user: Callable[[str, str | None], None]
) -> None:
    for tenant in TENANTS:
        _seed_operations(world_app, tenant)
    client = seeded.client
    for user, tenant in (("ioana", "iasi"), ("ana", "cluj"), ("ana", "iasi")):
        console_user(user, tenant)
        other = OTHER[tenant]
        for path, marker in (
            ("/devices", "bin"),
            ("/dead-letters?replayed=1", "payload"),
            ("/rules", "rule"),
            ("/alerts?status=all", "episode"),
            (f"/devices/{tenant}-bin", "bin"),
        ):
            page = client.get(path)
            assert f"{other}-{marker}" not in page.text
            if user == "ioana" and path.startswith("/dead-letters"):
                # a viewer: raw payloads are for operators and admins
                assert page.status_code == 403, (user, path, page.text)
                assert f"{tenant}-{marker}" not in page.text
                continue
            assert page.status_code == 200, (user, path, page.text)
            assert f"{tenant}-{marker}" in page.text
        assert f"{other}-payload" not in client.get(f"/dead-letters?device={other}-bin").text
        assert f"{other}-payload" not in client.get(f"/devices/{tenant}-bin").text
        assert client.get(f"/devices/{other}-bin").status_code == 404
        assert client.get(f"/rules/urn:ngsi-ld:Rule:{other}:full").status_code == 404
        if user == "ana":  # an admin: the forms exist, yet never reach the other tenant
            assert client.get(f"/devices/{other}-bin/revoke").status_code == 404
            assert client.get(f"/rules/urn:ngsi-ld:Rule:{other}:full/delete").status_code == 404
            assert client.get("/rules/new").status_code == 200
        else:  # a viewer: read-only
            assert client.get(f"/devices/{tenant}-bin/revoke").status_code == 403
            assert client.get("/rules/new").status_code == 403


def test_console_session_naming_a_tenant_without_a_role_never_shows_it(
    seeded: World, console_user: Callable[[str, str | None], None]
) -> None:
    """A validly signed cookie that selects cluj for a user with a role only in iasi does not
    select cluj: the console shows the user's own tenant, and the user cannot switch to cluj.
    Once the user has no role anywhere, every page and JSON endpoint refuses."""
    w = seeded
    cluj_before = w.snapshot("cluj")
    console_user("ioana", "cluj")
    _console_sees_only(w, "iasi")
    home = w.client.get("/entities")
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', home.text)
    assert match is not None
    switched = w.client.post("/tenant", data={"tenant": "cluj", "csrf": match.group(1)})
    assert switched.status_code == 403
    assert SESSION_COOKIE_NAME not in switched.cookies
    set_role(w.store, "ioana", "iasi", None)
    for path, params in [
        ("/console/api/geojson", {}),
        ("/console/api/history", {"id": SENSOR}),
        ("/", {}),
        ("/entities", {}),
        ("/map", {}),
        (f"/entities/{SENSOR}", {}),
        (f"/entities/{ONLY_ID['cluj']}", {}),
    ]:
        response = w.client.get(path, params=params)
        assert response.status_code == 403, (path, response.text)
        for tenant in TENANTS:
            assert_no_trace_of(tenant, response, name=False)
    assert w.snapshot("cluj") == cluj_before


def test_console_login_selects_a_tenant_of_the_user(seeded: World) -> None:
    w = seeded
    create_user(w.store, "ioana", "iasi-only-password", roles={"iasi": "viewer"})
    response = w.client.post("/login", data={"username": "ioana", "password": "iasi-only-password"})
    assert response.status_code == 303, response.text
    try:
        _console_sees_only(w, "iasi")
    finally:
        w.client.cookies.clear()
