"""/ngsi-ld/v1/types and /ngsi-ld/v1/attributes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.ngsild.helpers import DEFAULT_VOCAB, WASTE_CONTEXT, link, sensor

V1 = "/ngsi-ld/v1"


@pytest.fixture
def entities(client: TestClient) -> None:
    batch = [
        sensor(1),
        sensor(2),
        {
            "id": "urn:ngsi-ld:Pump:0001",
            "type": "Pump",
            "flow": {"type": "Property", "value": 3},
            "feeds": {"type": "Relationship", "object": "urn:ngsi-ld:Sensor:0001"},
        },
    ]
    assert client.post(f"{V1}/entityOperations/create", json=batch).status_code == 201


@pytest.mark.usefixtures("entities")
def test_list_types(client: TestClient) -> None:
    response = client.get(f"{V1}/types")
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "EntityTypeList"
    assert body["id"].startswith("urn:ngsi-ld:EntityTypeList:")
    assert body["typeList"] == ["Pump", "Sensor"]


@pytest.mark.usefixtures("entities")
def test_list_types_with_details(client: TestClient) -> None:
    body = client.get(f"{V1}/types", params={"details": "true"}).json()
    by_name = {item["typeName"]: item for item in body}
    assert by_name["Sensor"]["type"] == "EntityType"
    assert by_name["Sensor"]["id"] == DEFAULT_VOCAB + "Sensor"
    assert set(by_name["Sensor"]["attributeNames"]) == {"temperature", "name", "location"}
    assert set(by_name["Pump"]["attributeNames"]) == {"flow", "feeds"}


@pytest.mark.usefixtures("entities")
def test_describe_type(client: TestClient) -> None:
    body = client.get(f"{V1}/types/Sensor").json()
    assert body["type"] == "EntityTypeInfo"
    assert body["typeName"] == "Sensor"
    assert body["entityCount"] == 2
    details = {item["attributeName"]: item for item in body["attributeDetails"]}
    assert details["location"]["attributeTypes"] == ["GeoProperty"]
    assert details["temperature"]["attributeTypes"] == ["Property"]
    missing = client.get(f"{V1}/types/Nothing")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("ResourceNotFound")


@pytest.mark.usefixtures("entities")
def test_list_and_describe_attributes(client: TestClient) -> None:
    body = client.get(f"{V1}/attributes").json()
    assert body["type"] == "AttributeList"
    assert set(body["attributeList"]) == {"temperature", "name", "location", "flow", "feeds"}
    details = client.get(f"{V1}/attributes", params={"details": "true"}).json()
    feeds = next(item for item in details if item["attributeName"] == "feeds")
    assert feeds["typeNames"] == ["Pump"]
    one = client.get(f"{V1}/attributes/feeds").json()
    assert one["type"] == "Attribute"
    assert one["attributeCount"] == 1
    assert one["attributeTypes"] == ["Relationship"]
    assert one["typeNames"] == ["Pump"]
    assert client.get(f"{V1}/attributes/nothing").status_code == 404


def test_types_are_compacted_with_the_request_context(client: TestClient) -> None:
    bin_ = {"id": "urn:ngsi-ld:WasteContainer:1", "type": "WasteContainer", "fillingLevel": 0.5}
    assert client.post(f"{V1}/entities", json=bin_, headers=link(WASTE_CONTEXT)).status_code == 201
    with_context = client.get(f"{V1}/types", headers=link(WASTE_CONTEXT)).json()
    assert with_context["typeList"] == ["WasteContainer"]
    core_only = client.get(f"{V1}/types").json()
    assert core_only["typeList"][0].startswith("https://")


def test_empty_tenant_has_no_types(client: TestClient) -> None:
    assert client.get(f"{V1}/types").json()["typeList"] == []
    assert client.get(f"{V1}/attributes").json()["attributeList"] == []
    assert client.get(f"{V1}/types", params={"details": "true"}).json() == []
