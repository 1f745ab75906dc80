"""/ngsi-ld/v1/entities: create, retrieve, query, update, delete, through HTTP."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.api.ngsild.helpers import (
    CORE_CONTEXT,
    LD_JSON,
    WASTE_CONTEXT,
    link,
    sensor,
)

ENTITIES = "/ngsi-ld/v1/entities"
PROBLEM = "application/problem+json"


def create(client: TestClient, entity: dict[str, Any], **headers: str) -> None:
    response = client.post(ENTITIES, json=entity, headers=headers)
    assert response.status_code == 201, response.text


def assert_problem(response: Any, status: int, problem: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(problem), body
    assert body["status"] == status
    assert body["detail"]
    return body


# -- create and retrieve --------------------------------------------------------------------


def test_create_returns_201_with_location_and_get_returns_normalized(client: TestClient) -> None:
    entity = sensor(1)
    response = client.post(ENTITIES, json=entity)
    assert response.status_code == 201
    assert response.headers["location"] == f"{ENTITIES}/urn:ngsi-ld:Sensor:0001"
    assert response.content == b""

    got = client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:0001")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    assert CORE_CONTEXT in got.headers["link"]
    assert got.json() == entity


def test_get_key_values_concise_and_sys_attrs(client: TestClient) -> None:
    create(client, sensor(1))
    url = f"{ENTITIES}/urn:ngsi-ld:Sensor:0001"
    key_values = client.get(url, params={"options": "keyValues"}).json()
    assert key_values == {
        "id": "urn:ngsi-ld:Sensor:0001",
        "type": "Sensor",
        "temperature": 21.5,
        "name": "sensor 1",
        "location": {"type": "Point", "coordinates": [23.59, 46.77]},
    }
    assert client.get(url, params={"format": "keyValues"}).json() == key_values
    concise = client.get(url, params={"options": "concise"}).json()
    assert concise["name"] == "sensor 1"
    assert concise["temperature"]["value"] == 21.5
    with_sys = client.get(url, params={"options": "sysAttrs"}).json()
    assert with_sys["createdAt"].endswith("Z")
    assert "modifiedAt" in with_sys["temperature"]


def test_attrs_projects_the_entity(client: TestClient) -> None:
    create(client, sensor(1))
    got = client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:0001", params={"attrs": "name"}).json()
    assert set(got) == {"id", "type", "name"}


def test_accept_ld_json_puts_the_context_in_the_body(client: TestClient) -> None:
    create(client, sensor(1))
    got = client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:0001", headers={"Accept": LD_JSON})
    assert got.headers["content-type"].startswith(LD_JSON)
    assert got.json()["@context"] == CORE_CONTEXT
    assert "link" not in got.headers


def test_accept_geo_json(client: TestClient) -> None:
    create(client, sensor(1))
    create(client, sensor(2, lon=24.0))
    feature = client.get(
        f"{ENTITIES}/urn:ngsi-ld:Sensor:0001", headers={"Accept": "application/geo+json"}
    )
    assert feature.headers["content-type"].startswith("application/geo+json")
    body = feature.json()
    assert body["type"] == "Feature"
    assert body["geometry"] == {"type": "Point", "coordinates": [23.59, 46.77]}
    assert body["properties"]["name"]["value"] == "sensor 1"
    collection = client.get(
        ENTITIES, params={"type": "Sensor"}, headers={"Accept": "application/geo+json"}
    ).json()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 2


def test_unacceptable_accept_is_406(client: TestClient) -> None:
    create(client, sensor(1))
    response = client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:0001", headers={"Accept": "text/csv"})
    assert_problem(response, 406, "NotAcceptable")


def test_create_with_ld_json_and_context_in_body(client: TestClient) -> None:
    entity = {**sensor(1), "@context": CORE_CONTEXT}
    response = client.post(
        ENTITIES, content=orjson.dumps(entity), headers={"Content-Type": LD_JSON}
    )
    assert response.status_code == 201, response.text
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:0001").json()["name"]["value"] == "sensor 1"


def test_user_context_from_link_header_is_used_for_terms(client: TestClient) -> None:
    bin_ = {
        "id": "urn:ngsi-ld:WasteContainer:cluj:0001",
        "type": "WasteContainer",
        "fillingLevel": {"type": "Property", "value": 0.63},
    }
    create(client, bin_, **link(WASTE_CONTEXT))
    with_context = client.get(
        ENTITIES, params={"type": "WasteContainer"}, headers=link(WASTE_CONTEXT)
    )
    assert with_context.status_code == 200
    assert [e["id"] for e in with_context.json()] == [bin_["id"]]
    assert with_context.json()[0]["fillingLevel"]["value"] == 0.63
    assert WASTE_CONTEXT in with_context.headers["link"]
    # Without the context the short name expands to another IRI: nothing matches.
    assert client.get(ENTITIES, params={"type": "WasteContainer"}).json() == []
    # The core context alone shows the full IRIs.
    plain = client.get(f"{ENTITIES}/{bin_['id']}").json()
    assert plain["type"].startswith("https://")


# -- bad input ------------------------------------------------------------------------------


def test_duplicate_create_is_409(client: TestClient) -> None:
    create(client, sensor(1))
    assert_problem(client.post(ENTITIES, json=sensor(1)), 409, "AlreadyExists")


def test_non_uri_id_is_400(client: TestClient) -> None:
    entity = {**sensor(1), "id": "not a uri"}
    assert_problem(client.post(ENTITIES, json=entity), 400, "BadRequestData")
    assert_problem(client.get(f"{ENTITIES}/sensor-1"), 400, "BadRequestData")


def test_malformed_json_is_invalid_request(client: TestClient) -> None:
    response = client.post(
        ENTITIES, content=b'{"id": "urn:x:1", ', headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 400, "InvalidRequest")
    assert "JSON" in body["detail"]


def test_body_must_be_an_object(client: TestClient) -> None:
    assert_problem(client.post(ENTITIES, json=[sensor(1)]), 400, "BadRequestData")


def test_empty_body_is_invalid_request(client: TestClient) -> None:
    response = client.post(ENTITIES, content=b"", headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "InvalidRequest")


def test_unsupported_content_type_is_415(client: TestClient) -> None:
    response = client.post(
        ENTITIES, content=orjson.dumps(sensor(1)), headers={"Content-Type": "text/plain"}
    )
    assert_problem(response, 415, "UnsupportedMediaType")


def test_ld_json_without_context_in_body_is_400(client: TestClient) -> None:
    response = client.post(
        ENTITIES, content=orjson.dumps(sensor(1)), headers={"Content-Type": LD_JSON}
    )
    assert_problem(response, 400, "BadRequestData")


def test_ld_json_with_link_header_is_400(client: TestClient) -> None:
    entity = {**sensor(1), "@context": CORE_CONTEXT}
    response = client.post(
        ENTITIES,
        content=orjson.dumps(entity),
        headers={"Content-Type": LD_JSON, **link(CORE_CONTEXT)},
    )
    assert_problem(response, 400, "BadRequestData")


def test_context_in_json_body_is_400(client: TestClient) -> None:
    entity = {**sensor(1), "@context": CORE_CONTEXT}
    assert_problem(client.post(ENTITIES, json=entity), 400, "BadRequestData")


def test_unknown_remote_context_is_503(client: TestClient) -> None:
    response = client.post(
        ENTITIES, json=sensor(1), headers=link("https://example.invalid/nowhere.jsonld")
    )
    assert_problem(response, 503, "LdContextNotAvailable")


def test_bad_geometry_is_400(client: TestClient) -> None:
    entity = sensor(1)
    entity["location"]["value"] = {"type": "Point", "coordinates": [200.0, 100.0]}
    assert_problem(client.post(ENTITIES, json=entity), 400, "BadRequestData")


def test_attribute_without_value_is_400(client: TestClient) -> None:
    entity = {"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor", "t": {"type": "Property"}}
    assert_problem(client.post(ENTITIES, json=entity), 400, "BadRequestData")


def test_nonexistent_entity_is_404(client: TestClient) -> None:
    assert_problem(client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:9999"), 404, "ResourceNotFound")


def test_unknown_path_is_problem_json(client: TestClient) -> None:
    assert_problem(client.get("/ngsi-ld/v1/nothing-here"), 404, "ResourceNotFound")


# -- query ----------------------------------------------------------------------------------


@pytest.fixture
def five_sensors(client: TestClient) -> None:
    for number in range(1, 6):
        create(client, sensor(number, temperature=15.0 + 2 * number, lon=23.5 + number / 100))
    create(
        client,
        {"id": "urn:ngsi-ld:Pump:0001", "type": "Pump", "flow": {"type": "Property", "value": 3}},
    )


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [entity["id"] for entity in response.json()]


@pytest.mark.usefixtures("five_sensors")
def test_query_by_type_and_type_expression(client: TestClient) -> None:
    assert len(ids(client.get(ENTITIES, params={"type": "Sensor"}))) == 5
    assert len(ids(client.get(ENTITIES, params={"type": "Sensor,Pump"}))) == 6
    assert len(ids(client.get(ENTITIES, params={"type": "Sensor|Pump"}))) == 6
    assert ids(client.get(ENTITIES, params={"type": "Pump"})) == ["urn:ngsi-ld:Pump:0001"]
    assert ids(client.get(ENTITIES, params={"type": "Nothing"})) == []


@pytest.mark.usefixtures("five_sensors")
def test_query_by_id_and_id_pattern(client: TestClient) -> None:
    wanted = "urn:ngsi-ld:Sensor:0001,urn:ngsi-ld:Sensor:0003"
    assert ids(client.get(ENTITIES, params={"id": wanted})) == wanted.split(",")
    assert ids(client.get(ENTITIES, params={"idPattern": "Sensor:000[45]$"})) == [
        "urn:ngsi-ld:Sensor:0004",
        "urn:ngsi-ld:Sensor:0005",
    ]
    assert_problem(client.get(ENTITIES, params={"idPattern": "("}), 400, "InvalidRequest")
    assert_problem(client.get(ENTITIES, params={"id": "nope"}), 400, "BadRequestData")


@pytest.mark.usefixtures("five_sensors")
def test_query_q(client: TestClient) -> None:
    # temperatures are 17, 19, 21, 23, 25
    assert ids(client.get(ENTITIES, params={"type": "Sensor", "q": "temperature>22"})) == [
        "urn:ngsi-ld:Sensor:0004",
        "urn:ngsi-ld:Sensor:0005",
    ]
    assert ids(client.get(ENTITIES, params={"q": 'name=="sensor 2"'})) == [
        "urn:ngsi-ld:Sensor:0002"
    ]
    assert len(ids(client.get(ENTITIES, params={"q": "temperature==17..21"}))) == 3


@pytest.mark.usefixtures("five_sensors")
def test_q_on_an_unknown_attribute_matches_nothing(client: TestClient) -> None:
    """§4.9: an attribute the entity does not have makes the comparison false; it is not an
    error (the broker cannot know every attribute name a client may use)."""
    assert ids(client.get(ENTITIES, params={"q": "noSuchAttribute>1"})) == []


@pytest.mark.usefixtures("five_sensors")
def test_bad_q_is_invalid_request_naming_q(client: TestClient) -> None:
    body = assert_problem(
        client.get(ENTITIES, params={"q": "temperature>>"}), 400, "InvalidRequest"
    )
    assert "q" in body["detail"]


@pytest.mark.usefixtures("five_sensors")
def test_query_attrs_selects_entities_having_them(client: TestClient) -> None:
    got = client.get(ENTITIES, params={"attrs": "flow"})
    assert ids(got) == ["urn:ngsi-ld:Pump:0001"]
    assert set(got.json()[0]) == {"id", "type", "flow"}


@pytest.mark.usefixtures("five_sensors")
def test_geo_query_near(client: TestClient) -> None:
    params = {
        "type": "Sensor",
        "georel": "near;maxDistance==500",
        "geometry": "Point",
        "coordinates": "[23.51,46.77]",
    }
    # the sensors are 0.01° of longitude apart: about 760 m at this latitude
    assert ids(client.get(ENTITIES, params=params)) == ["urn:ngsi-ld:Sensor:0001"]
    params["georel"] = "near;maxDistance==2000"
    assert len(ids(client.get(ENTITIES, params=params))) == 3


@pytest.mark.usefixtures("five_sensors")
def test_geo_query_within_polygon(client: TestClient) -> None:
    polygon = "[[[23.0,46.0],[23.525,46.0],[23.525,47.0],[23.0,47.0],[23.0,46.0]]]"
    params = {"georel": "within", "geometry": "Polygon", "coordinates": polygon}
    assert ids(client.get(ENTITIES, params=params)) == [
        "urn:ngsi-ld:Sensor:0001",
        "urn:ngsi-ld:Sensor:0002",
    ]


def test_bad_geo_queries(client: TestClient) -> None:
    missing = client.get(ENTITIES, params={"georel": "near;maxDistance==10", "geometry": "Point"})
    assert "coordinates" in assert_problem(missing, 400, "InvalidRequest")["detail"]
    bad = client.get(
        ENTITIES,
        params={"georel": "within", "geometry": "Polygon", "coordinates": "[[[0,0],[1,1]]]"},
    )
    assert bad.status_code == 400
    unknown = client.get(
        ENTITIES, params={"georel": "around", "geometry": "Point", "coordinates": "[0,0]"}
    )
    assert unknown.status_code == 400


@pytest.mark.usefixtures("five_sensors")
def test_pagination_with_links_and_count(client: TestClient) -> None:
    first = client.get(ENTITIES, params={"type": "Sensor", "limit": 2, "count": "true"})
    assert ids(first) == ["urn:ngsi-ld:Sensor:0001", "urn:ngsi-ld:Sensor:0002"]
    assert first.headers["NGSILD-Results-Count"] == "5"
    links = first.headers.get_list("link")
    assert any('rel="next"' in value and "offset=2" in value for value in links)
    assert not any('rel="prev"' in value for value in links)

    middle = client.get(ENTITIES, params={"type": "Sensor", "limit": 2, "offset": 2})
    assert ids(middle) == ["urn:ngsi-ld:Sensor:0003", "urn:ngsi-ld:Sensor:0004"]
    links = middle.headers.get_list("link")
    assert any('rel="prev"' in value and "offset=0" in value for value in links)
    assert any('rel="next"' in value and "offset=4" in value for value in links)

    last = client.get(ENTITIES, params={"type": "Sensor", "limit": 2, "offset": 4})
    assert ids(last) == ["urn:ngsi-ld:Sensor:0005"]
    assert not any('rel="next"' in value for value in last.headers.get_list("link"))


@pytest.mark.usefixtures("five_sensors")
def test_limit_zero_with_count_only_counts(client: TestClient) -> None:
    response = client.get(ENTITIES, params={"type": "Sensor", "limit": 0, "count": "true"})
    assert response.json() == []
    assert response.headers["NGSILD-Results-Count"] == "5"
    assert_problem(
        client.get(ENTITIES, params={"type": "Sensor", "limit": 0}), 400, "BadRequestData"
    )


def test_bad_paging_parameters(client: TestClient) -> None:
    assert_problem(client.get(ENTITIES, params={"limit": 5000}), 403, "TooManyResults")
    body = assert_problem(client.get(ENTITIES, params={"limit": "ten"}), 400, "InvalidRequest")
    assert "limit" in body["detail"]
    assert_problem(client.get(ENTITIES, params={"offset": -1}), 400, "InvalidRequest")
    body = assert_problem(client.get(ENTITIES, params={"options": "fancy"}), 400, "InvalidRequest")
    assert "options" in body["detail"]
    assert_problem(client.get(ENTITIES, params={"format": "fancy"}), 400, "InvalidRequest")
    assert_problem(client.get(ENTITIES, params={"count": "maybe"}), 400, "InvalidRequest")


# -- updates --------------------------------------------------------------------------------


def test_put_replaces_the_entity(client: TestClient) -> None:
    create(client, sensor(1))
    url = f"{ENTITIES}/urn:ngsi-ld:Sensor:0001"
    replacement = {"type": "Sensor", "status": {"type": "Property", "value": "ok"}}
    assert client.put(url, json=replacement).status_code == 204
    got = client.get(url).json()
    assert set(got) == {"id", "type", "status"}
    mismatch = {**replacement, "id": "urn:ngsi-ld:Sensor:0002"}
    assert_problem(client.put(url, json=mismatch), 400, "BadRequestData")
    assert_problem(
        client.put(f"{ENTITIES}/urn:ngsi-ld:Sensor:0404", json=replacement), 404, "ResourceNotFound"
    )


def test_patch_merges_into_the_entity(client: TestClient) -> None:
    create(client, sensor(1))
    url = f"{ENTITIES}/urn:ngsi-ld:Sensor:0001"
    response = client.patch(
        url,
        content=orjson.dumps({"temperature": {"value": 30.0}, "name": "urn:ngsi-ld:null"}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 204, response.text
    got = client.get(url).json()
    assert got["temperature"]["value"] == 30.0
    assert got["temperature"]["unitCode"] == "CEL"
    assert "name" not in got


def test_append_attributes_and_no_overwrite(client: TestClient) -> None:
    create(client, sensor(1))
    url = f"{ENTITIES}/urn:ngsi-ld:Sensor:0001"
    appended = client.post(f"{url}/attrs", json={"humidity": {"type": "Property", "value": 40}})
    assert appended.status_code == 204, appended.text
    kept = client.post(
        f"{url}/attrs",
        params={"options": "noOverwrite"},
        json={"humidity": {"type": "Property", "value": 99}, "battery": 3.6},
    )
    assert kept.status_code == 207
    result = kept.json()
    assert result["updated"] == ["battery"]
    assert [item["attributeName"] for item in result["notUpdated"]] == ["humidity"]
    got = client.get(url, params={"options": "keyValues"}).json()
    assert got["humidity"] == 40
    assert got["battery"] == 3.6


def test_update_attributes_reports_missing_ones(client: TestClient) -> None:
    create(client, sensor(1))
    url = f"{ENTITIES}/urn:ngsi-ld:Sensor:0001"
    ok = client.patch(f"{url}/attrs", json={"temperature": {"type": "Property", "value": 5}})
    assert ok.status_code == 204, ok.text
    partial = client.patch(
        f"{url}/attrs",
        json={"temperature": {"type": "Property", "value": 6}, "ghost": {"value": 1}},
    )
    assert partial.status_code == 207
    assert partial.json()["updated"] == ["temperature"]
    assert partial.json()["notUpdated"][0]["attributeName"] == "ghost"
    got = client.get(url, params={"options": "keyValues"}).json()
    assert got["temperature"] == 6
    assert "ghost" not in got


def test_patch_one_attribute(client: TestClient) -> None:
    create(client, sensor(1))
    url = f"{ENTITIES}/urn:ngsi-ld:Sensor:0001"
    response = client.patch(f"{url}/attrs/temperature", json={"value": 12.5})
    assert response.status_code == 204, response.text
    got = client.get(url).json()
    assert got["temperature"]["value"] == 12.5
    assert got["temperature"]["unitCode"] == "CEL"
    missing = client.patch(f"{url}/attrs/pressure", json={"value": 1})
    assert_problem(missing, 404, "ResourceNotFound")


def test_put_replaces_one_attribute(client: TestClient) -> None:
    create(client, sensor(1))
    url = f"{ENTITIES}/urn:ngsi-ld:Sensor:0001"
    response = client.put(f"{url}/attrs/temperature", json={"type": "Property", "value": 3})
    assert response.status_code == 204, response.text
    got = client.get(url).json()
    assert got["temperature"] == {"type": "Property", "value": 3}
    missing = client.put(f"{url}/attrs/pressure", json={"type": "Property", "value": 1})
    assert_problem(missing, 404, "ResourceNotFound")


def test_delete_attribute_and_dataset_ids(client: TestClient) -> None:
    entity = sensor(1)
    entity["temperature"] = [
        {"type": "Property", "value": 20},
        {"type": "Property", "value": 21, "datasetId": "urn:ngsi-ld:Dataset:b"},
    ]
    create(client, entity)
    url = f"{ENTITIES}/urn:ngsi-ld:Sensor:0001"
    response = client.delete(
        f"{url}/attrs/temperature", params={"datasetId": "urn:ngsi-ld:Dataset:b"}
    )
    assert response.status_code == 204, response.text
    assert client.get(url).json()["temperature"]["value"] == 20
    assert client.delete(f"{url}/attrs/name").status_code == 204
    assert "name" not in client.get(url).json()
    assert_problem(client.delete(f"{url}/attrs/name"), 404, "ResourceNotFound")
    entity2 = sensor(2)
    entity2["temperature"] = entity["temperature"]
    create(client, entity2)
    url2 = f"{ENTITIES}/urn:ngsi-ld:Sensor:0002"
    assert (
        client.delete(f"{url2}/attrs/temperature", params={"deleteAll": "true"}).status_code == 204
    )
    assert "temperature" not in client.get(url2).json()


def test_delete_entity(client: TestClient) -> None:
    create(client, sensor(1))
    url = f"{ENTITIES}/urn:ngsi-ld:Sensor:0001"
    assert client.delete(url).status_code == 204
    assert_problem(client.get(url), 404, "ResourceNotFound")
    assert_problem(client.delete(url), 404, "ResourceNotFound")


# -- tenants --------------------------------------------------------------------------------


def test_tenants_are_separate_and_created_on_first_write(client: TestClient) -> None:
    cluj = {"NGSILD-Tenant": "cluj"}
    assert client.get(ENTITIES, params={"type": "Sensor"}).json() == []
    assert_problem(
        client.get(ENTITIES, params={"type": "Sensor"}, headers=cluj), 404, "NonexistentTenant"
    )
    create(client, sensor(1), **cluj)
    assert ids(client.get(ENTITIES, params={"type": "Sensor"}, headers=cluj)) == [
        "urn:ngsi-ld:Sensor:0001"
    ]
    assert client.get(ENTITIES, params={"type": "Sensor"}).json() == []
    assert_problem(client.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:0001"), 404, "ResourceNotFound")


def test_bad_tenant_name_is_400(client: TestClient) -> None:
    response = client.get(ENTITIES, headers={"NGSILD-Tenant": "Cluj Napoca!"})
    assert_problem(response, 400, "BadRequestData")
