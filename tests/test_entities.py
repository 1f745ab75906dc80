"""EntityService: NGSI-LD writes on a real store, with their history rows."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from cetate.entities import EntityService
from cetate.errors import AlreadyExists, BadRequestData, ResourceNotFound
from cetate.ngsi.query_ast import AttrPath, Comparison
from cetate.store.base import ContextStore, EntityQuery, GeoQuery, TemporalQuery

EX = "https://example.org/"
TENANT = "cluj"
TYPE = EX + "WasteContainer"
FILL = EX + "fillingLevel"
STATUS = EX + "status"


def container(number: int, fill: float = 0.5, **extra: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:WasteContainer:{number}",
        "type": [TYPE],
        FILL: [{"type": "Property", "value": fill, "observedAt": "2026-11-23T10:00:00.000Z"}],
    }
    entity.update(extra)
    return entity


def prop(value: Any, **members: Any) -> list[dict[str, Any]]:
    return [{"type": "Property", "value": value, **members}]


@pytest.fixture
def service(store: ContextStore) -> EntityService:
    return EntityService(store)


def history(store: ContextStore, entity_id: str, attr: str = FILL) -> list[Any]:
    query = TemporalQuery(entities=EntityQuery(ids=(entity_id,)), attrs=frozenset({attr}))
    results = store.query_temporal(TENANT, query)
    if not results:
        return []
    return [instance["value"] for instance in results[0].history.get(attr, [])]


def test_create_stamps_and_records_history(service: EntityService, store: ContextStore) -> None:
    service.create(TENANT, container(1))
    stored = store.get_entity(TENANT, "urn:ngsi-ld:WasteContainer:1")
    assert stored is not None
    assert stored["createdAt"].endswith("Z")
    assert stored[FILL][0]["value"] == 0.5
    assert history(store, "urn:ngsi-ld:WasteContainer:1") == [0.5]


def test_create_twice_is_already_exists(service: EntityService) -> None:
    service.create(TENANT, container(1))
    with pytest.raises(AlreadyExists):
        service.create(TENANT, container(1))


def test_create_without_id_is_bad_request(service: EntityService) -> None:
    with pytest.raises(BadRequestData):
        service.create(TENANT, {"type": [TYPE]})


def test_operations_on_a_missing_entity_are_not_found(service: EntityService) -> None:
    missing = "urn:ngsi-ld:WasteContainer:404"
    with pytest.raises(ResourceNotFound):
        service.replace(TENANT, container(404))
    with pytest.raises(ResourceNotFound):
        service.append_attributes(TENANT, missing, {STATUS: prop("ok")})
    with pytest.raises(ResourceNotFound):
        service.update_attributes(TENANT, missing, {STATUS: prop("ok")})
    with pytest.raises(ResourceNotFound):
        service.merge(TENANT, missing, {STATUS: prop("ok")})
    with pytest.raises(ResourceNotFound):
        service.patch_attribute(TENANT, missing, FILL, {"value": 1})
    with pytest.raises(ResourceNotFound):
        service.delete_attribute(TENANT, missing, FILL)
    with pytest.raises(ResourceNotFound):
        service.delete(TENANT, missing)


def test_updates_change_the_document_and_append_history(
    service: EntityService, store: ContextStore
) -> None:
    entity_id = "urn:ngsi-ld:WasteContainer:1"
    service.create(TENANT, container(1))
    change = service.update_attributes(
        TENANT, entity_id, {FILL: prop(0.7, observedAt="2026-11-23T11:00:00.000Z")}
    )
    assert change.updated == [FILL]
    service.patch_attribute(
        TENANT, entity_id, FILL, {"value": 0.9, "observedAt": "2026-11-23T12:00:00.000Z"}
    )
    appended = service.append_attributes(
        TENANT, entity_id, {STATUS: prop("ok"), FILL: prop(0.1)}, overwrite=False
    )
    assert appended.updated == [STATUS]
    assert [item.attribute for item in appended.not_updated] == [FILL]
    stored = store.get_entity(TENANT, entity_id)
    assert stored is not None
    assert stored[FILL][0]["value"] == 0.9
    assert stored[STATUS][0]["value"] == "ok"
    assert history(store, entity_id) == [0.5, 0.7, 0.9]


def test_replace_merge_and_delete_attribute(service: EntityService, store: ContextStore) -> None:
    entity_id = "urn:ngsi-ld:WasteContainer:1"
    service.create(TENANT, container(1, **{STATUS: prop("ok")}))
    created_at = store.get_entity(TENANT, entity_id)["createdAt"]  # type: ignore[index]
    service.replace(TENANT, {"id": entity_id, "type": [TYPE], STATUS: prop("full")})
    replaced = store.get_entity(TENANT, entity_id)
    assert replaced is not None
    assert FILL not in replaced
    assert replaced["createdAt"] == created_at
    service.merge(TENANT, entity_id, {FILL: prop(0.2)})
    service.delete_attribute(TENANT, entity_id, STATUS)
    merged = store.get_entity(TENANT, entity_id)
    assert merged is not None
    assert STATUS not in merged
    assert merged[FILL][0]["value"] == 0.2
    with pytest.raises(ResourceNotFound):
        service.delete_attribute(TENANT, entity_id, STATUS)


def test_delete_keeps_history(service: EntityService, store: ContextStore) -> None:
    entity_id = "urn:ngsi-ld:WasteContainer:1"
    service.create(TENANT, container(1))
    service.delete(TENANT, entity_id)
    assert store.get_entity(TENANT, entity_id) is None


def test_tenants_do_not_see_each_other(service: EntityService, store: ContextStore) -> None:
    service.create(TENANT, container(1))
    assert store.get_entity("iasi", "urn:ngsi-ld:WasteContainer:1") is None
    service.create("iasi", container(1))
    assert store.get_entity("iasi", "urn:ngsi-ld:WasteContainer:1") is not None


# -- batches ----------------------------------------------------------------------------------


def test_batch_create_reports_duplicates_and_keeps_the_rest(
    service: EntityService, store: ContextStore
) -> None:
    service.create(TENANT, container(1))
    result = service.batch_create(
        TENANT, [container(1), container(2), container(2), {"type": [TYPE]}, container(3)]
    )
    assert result.success == ["urn:ngsi-ld:WasteContainer:2", "urn:ngsi-ld:WasteContainer:3"]
    assert result.created == result.success
    assert [type(error.error) for error in result.errors] == [
        AlreadyExists,
        AlreadyExists,
        BadRequestData,
    ]
    assert [error.entity_id for error in result.errors][:2] == [
        "urn:ngsi-ld:WasteContainer:1",
        "urn:ngsi-ld:WasteContainer:2",
    ]
    assert store.get_entity(TENANT, "urn:ngsi-ld:WasteContainer:3") is not None


def test_batch_upsert_replace_creates_and_replaces(
    service: EntityService, store: ContextStore
) -> None:
    service.create(TENANT, container(1, **{STATUS: prop("ok")}))
    result = service.batch_upsert(TENANT, [container(1, fill=0.8), container(2)])
    assert result.success == ["urn:ngsi-ld:WasteContainer:1", "urn:ngsi-ld:WasteContainer:2"]
    assert result.created == ["urn:ngsi-ld:WasteContainer:2"]
    first = store.get_entity(TENANT, "urn:ngsi-ld:WasteContainer:1")
    assert first is not None
    assert STATUS not in first
    assert first[FILL][0]["value"] == 0.8


def test_batch_upsert_update_appends_and_merges_types(
    service: EntityService, store: ContextStore
) -> None:
    service.create(TENANT, container(1, **{STATUS: prop("ok")}))
    other_type = EX + "Asset"
    result = service.batch_upsert(
        TENANT,
        [{"id": "urn:ngsi-ld:WasteContainer:1", "type": [other_type], FILL: prop(0.3)}],
        mode="update",
    )
    assert result.created == []
    stored = store.get_entity(TENANT, "urn:ngsi-ld:WasteContainer:1")
    assert stored is not None
    assert stored[STATUS][0]["value"] == "ok"
    assert stored[FILL][0]["value"] == 0.3
    assert set(stored["type"]) == {TYPE, other_type}


def test_batch_upsert_is_one_ingest_path_with_history(
    service: EntityService, store: ContextStore
) -> None:
    batch = [container(n, fill=n / 100) for n in range(1, 201)]
    assert len(service.batch_upsert(TENANT, batch, mode="update").success) == 200
    again = [
        {
            "id": f"urn:ngsi-ld:WasteContainer:{n}",
            "type": [TYPE],
            FILL: prop(n / 50, observedAt="2026-11-23T11:00:00.000Z"),
        }
        for n in range(1, 201)
    ]
    result = service.batch_upsert(TENANT, again, mode="update")
    assert result.created == []
    assert len(result.success) == 200
    assert history(store, "urn:ngsi-ld:WasteContainer:7") == [0.07, 0.14]
    count = store.query_entities(TENANT, EntityQuery(limit=0, count=True)).total
    assert count == 200


def test_batch_upsert_update_keeps_the_query_indexes_current(
    service: EntityService, store: ContextStore
) -> None:
    """The ingest path shares unchanged attributes between the old and the new document; the
    store must still index every value and geometry that changed, and only those."""
    location = "https://uri.etsi.org/ngsi-ld/location"

    def point(lon: float, lat: float) -> list[dict[str, Any]]:
        return [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}]

    service.batch_upsert(
        TENANT,
        [
            container(n, fill=0.1, **{STATUS: prop("ok"), location: point(23.5, 46.7)})
            for n in (1, 2)
        ],
    )
    service.batch_upsert(TENANT, [container(1, fill=0.9)], mode="update")
    service.batch_upsert(
        TENANT,
        [{"id": "urn:ngsi-ld:WasteContainer:2", "type": [TYPE], location: point(1, 1)}],
        mode="update",
    )
    assert gc.isenabled()

    def matching(node: Any = None, geo: GeoQuery | None = None) -> list[str]:
        found = store.query_entities(TENANT, EntityQuery(q=node, geo=geo, limit=100)).entities
        return [doc["id"] for doc in found]

    assert matching(Comparison(AttrPath(FILL), ">", 0.5)) == ["urn:ngsi-ld:WasteContainer:1"]
    assert matching(Comparison(AttrPath(FILL), "==", 0.1)) == ["urn:ngsi-ld:WasteContainer:2"]
    assert len(matching(Comparison(AttrPath(STATUS), "==", "ok"))) == 2
    near_old = GeoQuery("near", {"type": "Point", "coordinates": [23.5, 46.7]}, max_distance=10)
    near_new = GeoQuery("near", {"type": "Point", "coordinates": [1, 1]}, max_distance=10)
    assert matching(geo=near_old) == ["urn:ngsi-ld:WasteContainer:1"]
    assert matching(geo=near_new) == ["urn:ngsi-ld:WasteContainer:2"]


def test_batch_update_and_delete(service: EntityService, store: ContextStore) -> None:
    service.batch_create(TENANT, [container(1), container(2)])
    updated = service.batch_update(
        TENANT,
        [
            {"id": "urn:ngsi-ld:WasteContainer:1", FILL: prop(0.9)},
            {"id": "urn:ngsi-ld:WasteContainer:9", FILL: prop(0.9)},
        ],
    )
    assert updated.success == ["urn:ngsi-ld:WasteContainer:1"]
    assert isinstance(updated.errors[0].error, ResourceNotFound)
    kept = service.batch_update(
        TENANT, [{"id": "urn:ngsi-ld:WasteContainer:2", FILL: prop(0.0)}], overwrite=False
    )
    assert kept.success == ["urn:ngsi-ld:WasteContainer:2"]
    second = store.get_entity(TENANT, "urn:ngsi-ld:WasteContainer:2")
    assert second is not None
    assert second[FILL][0]["value"] == 0.5

    deleted = service.batch_delete(
        TENANT,
        ["urn:ngsi-ld:WasteContainer:1", "urn:ngsi-ld:WasteContainer:1", "urn:x:none"],
    )
    assert deleted.success == ["urn:ngsi-ld:WasteContainer:1"]
    assert len(deleted.errors) == 2
    assert store.get_entity(TENANT, "urn:ngsi-ld:WasteContainer:1") is None
