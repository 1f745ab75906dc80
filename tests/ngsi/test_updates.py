"""NGSI-LD write semantics on stored form (§5.6)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from cetate.errors import ResourceNotFound
from cetate.ngsi.updates import (
    NGSI_LD_NULL,
    append_attributes,
    create_entity,
    delete_attribute,
    history_rows,
    merge_entity,
    patch_attribute,
    replace_entity,
    update_attributes,
)

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
S0 = "2026-11-23T10:00:00.000Z"
S1 = "2026-11-23T11:00:00.000Z"
P = "https://ex.org/"
FILL = P + "fill"
STATUS = P + "status"
ADDRESS = P + "address"
ACCURACY = P + "accuracy"


def prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


def new_bin() -> dict[str, Any]:
    return {
        "id": "urn:ngsi-ld:WasteContainer:1",
        "type": [P + "WasteContainer", P + "Asset"],
        FILL: [prop(0.5, **{ACCURACY: prop(0.02)})],
        STATUS: [prop("ok", datasetId="urn:ds:a"), prop("full", datasetId="urn:ds:b")],
        ADDRESS: [prop({"city": "Cluj", "street": "Memorandumului", "nr": 21})],
    }


@pytest.fixture
def stored() -> dict[str, Any]:
    return create_entity(new_bin(), T0).entity


def only(instances: list[dict[str, Any]], dataset_id: str | None = None) -> dict[str, Any]:
    matching = [i for i in instances if i.get("datasetId") == dataset_id]
    assert len(matching) == 1
    return matching[0]


# -- create / replace ------------------------------------------------------------------


def test_create_stamps_entity_and_every_instance() -> None:
    payload = new_bin()
    payload[FILL][0]["createdAt"] = "1999-01-01T00:00:00.000Z"  # ignored: platform-set
    change = create_entity(payload, T0)
    doc = change.entity
    assert doc["createdAt"] == doc["modifiedAt"] == S0
    for attr in (FILL, STATUS, ADDRESS):
        for instance in doc[attr]:
            assert instance["createdAt"] == instance["modifiedAt"] == S0
    assert len(change.written) == 4
    assert set(change.updated) == {FILL, STATUS, ADDRESS}
    assert "createdAt" not in doc[FILL][0][ACCURACY]
    assert payload[FILL][0]["createdAt"] == "1999-01-01T00:00:00.000Z"  # input untouched


def test_replace_keeps_entity_created_at_and_drops_absent_attributes(
    stored: dict[str, Any],
) -> None:
    new = {"id": stored["id"], "type": [P + "WasteContainer"], FILL: [prop(0.9)]}
    change = replace_entity(stored, new, T1)
    doc = change.entity
    assert doc["createdAt"] == S0
    assert doc["modifiedAt"] == S1
    assert STATUS not in doc
    assert ADDRESS not in doc
    assert doc[FILL] == [prop(0.9, createdAt=S1, modifiedAt=S1)]
    assert doc["type"] == [P + "WasteContainer"]
    assert change.written == [(FILL, doc[FILL][0])]


# -- append ----------------------------------------------------------------------------


def test_append_overwrites_and_adds(stored: dict[str, Any]) -> None:
    before = copy.deepcopy(stored)
    change = append_attributes(
        stored,
        {FILL: [prop(0.7)], P + "new": [prop(1)], STATUS: [prop("empty", datasetId="urn:ds:c")]},
        T1,
    )
    doc = change.entity
    assert stored == before  # input untouched
    fill = only(doc[FILL])
    assert fill["value"] == 0.7
    assert fill["createdAt"] == S0
    assert fill["modifiedAt"] == S1
    assert ACCURACY not in fill  # the attribute is replaced as a whole
    assert only(doc[P + "new"])["createdAt"] == S1
    assert len(doc[STATUS]) == 3
    assert only(doc[STATUS], "urn:ds:a")["modifiedAt"] == S0  # untouched instance
    assert doc["modifiedAt"] == S1
    assert doc["createdAt"] == S0
    assert set(change.updated) == {FILL, P + "new", STATUS}
    assert change.not_updated == []
    assert len(change.written) == 3


def test_append_no_overwrite_reports_existing(stored: dict[str, Any]) -> None:
    change = append_attributes(
        stored,
        {
            FILL: [prop(0.7)],
            STATUS: [prop("x", datasetId="urn:ds:a"), prop("y", datasetId="urn:ds:z")],
            P + "new": [prop(1)],
        },
        T1,
        overwrite=False,
    )
    doc = change.entity
    assert only(doc[FILL])["value"] == 0.5
    assert only(doc[STATUS], "urn:ds:a")["value"] == "ok"
    assert only(doc[STATUS], "urn:ds:z")["value"] == "y"
    assert [n.attribute for n in change.not_updated] == [FILL, STATUS]
    assert "noOverwrite" in change.not_updated[0].reason
    assert set(change.updated) == {STATUS, P + "new"}
    assert doc["modifiedAt"] == S1


def test_append_nothing_new_does_not_bump_modified_at(stored: dict[str, Any]) -> None:
    change = append_attributes(stored, {FILL: [prop(0.7)]}, T1, overwrite=False)
    assert change.entity["modifiedAt"] == S0
    assert change.written == []


def test_append_ignores_entity_keywords(stored: dict[str, Any]) -> None:
    change = append_attributes(stored, {"id": [prop("urn:other")]}, T1)
    assert change.entity["id"] == stored["id"]


# -- update (PATCH /attrs) -------------------------------------------------------------


def test_update_changes_only_existing_attributes_and_datasets(stored: dict[str, Any]) -> None:
    change = update_attributes(
        stored,
        {
            FILL: [prop(0.8)],
            P + "absent": [prop(1)],
            STATUS: [prop("emptied", datasetId="urn:ds:b"), prop("?", datasetId="urn:ds:z")],
        },
        T1,
    )
    doc = change.entity
    assert only(doc[FILL])["value"] == 0.8
    assert only(doc[FILL])["createdAt"] == S0
    assert only(doc[FILL])["modifiedAt"] == S1
    assert P + "absent" not in doc
    assert only(doc[STATUS], "urn:ds:b")["value"] == "emptied"
    assert len(doc[STATUS]) == 2
    assert set(change.updated) == {FILL, STATUS}
    reasons = {(n.attribute, n.reason) for n in change.not_updated}
    assert (P + "absent", "the entity has no such attribute") in reasons
    assert any(a == STATUS and "urn:ds:z" in r for a, r in reasons)
    assert doc["modifiedAt"] == S1


def test_update_default_instance_absent_when_only_datasets(stored: dict[str, Any]) -> None:
    change = update_attributes(stored, {STATUS: [prop("x")]}, T1)
    assert change.updated == []
    assert "default instance" in change.not_updated[0].reason
    assert change.entity["modifiedAt"] == S0


# -- merge (PATCH /entities/{id}) ------------------------------------------------------


def test_merge_merges_values_and_sub_attributes(stored: dict[str, Any]) -> None:
    change = merge_entity(
        stored,
        {
            ADDRESS: [prop({"nr": 23, "street": NGSI_LD_NULL, "zip": "400000"})],
            FILL: [prop(0.9, **{P + "quality": prop("good")})],
            P + "new": [prop("added")],
        },
        T1,
    )
    doc = change.entity
    assert only(doc[ADDRESS])["value"] == {"city": "Cluj", "nr": 23, "zip": "400000"}
    fill = only(doc[FILL])
    assert fill["value"] == 0.9
    assert fill[ACCURACY] == prop(0.02)  # kept: merged, not replaced
    assert fill[P + "quality"] == prop("good")
    assert fill["createdAt"] == S0
    assert fill["modifiedAt"] == S1
    assert only(doc[P + "new"])["value"] == "added"
    assert set(change.updated) == {ADDRESS, FILL, P + "new"}
    assert len(change.written) == 3


def test_merge_null_deletes_attribute_instance_and_sub_attribute(stored: dict[str, Any]) -> None:
    change = merge_entity(
        stored,
        {
            ADDRESS: [prop(NGSI_LD_NULL)],
            STATUS: [prop(NGSI_LD_NULL, datasetId="urn:ds:a")],
            FILL: [{ACCURACY: prop(NGSI_LD_NULL)}],
            P + "ghost": [prop(NGSI_LD_NULL)],
        },
        T1,
    )
    doc = change.entity
    assert ADDRESS not in doc
    assert [i["datasetId"] for i in doc[STATUS]] == ["urn:ds:b"]
    assert ACCURACY not in only(doc[FILL])
    assert only(doc[FILL])["value"] == 0.5
    assert P + "ghost" not in doc
    assert [n.attribute for n in change.not_updated] == [P + "ghost"]
    assert doc["modifiedAt"] == S1


def test_merge_relationship_object(stored: dict[str, Any]) -> None:
    rel = P + "refZone"
    stored[rel] = [{"type": "Relationship", "object": "urn:z:1"}]
    change = merge_entity(stored, {rel: [{"type": "Relationship", "object": "urn:z:2"}]}, T1)
    assert only(change.entity[rel])["object"] == "urn:z:2"


def test_merge_type_change_drops_old_value_key(stored: dict[str, Any]) -> None:
    change = merge_entity(stored, {FILL: [{"type": "Relationship", "object": "urn:x"}]}, T1)
    fill = only(change.entity[FILL])
    assert fill["type"] == "Relationship"
    assert "value" not in fill
    assert fill["object"] == "urn:x"


# -- patch one attribute ---------------------------------------------------------------


def test_patch_attribute_replaces_value_and_merges_sub_attributes(stored: dict[str, Any]) -> None:
    change = patch_attribute(
        stored, ADDRESS, {"value": {"city": "Iași"}, P + "verified": prop(True)}, T1
    )
    address = only(change.entity[ADDRESS])
    assert address["value"] == {"city": "Iași"}  # replaced, not merged
    assert address[P + "verified"] == prop(True)
    assert address["createdAt"] == S0
    assert address["modifiedAt"] == S1
    assert change.written == [(ADDRESS, address)]
    assert change.entity["modifiedAt"] == S1


def test_patch_attribute_dataset_picks_instance(stored: dict[str, Any]) -> None:
    change = patch_attribute(stored, STATUS, {"value": "emptied", "datasetId": "urn:ds:b"}, T1)
    assert only(change.entity[STATUS], "urn:ds:b")["value"] == "emptied"
    assert only(change.entity[STATUS], "urn:ds:a")["value"] == "ok"


def test_patch_attribute_null_removes_sub_attribute(stored: dict[str, Any]) -> None:
    change = patch_attribute(stored, FILL, {ACCURACY: NGSI_LD_NULL, "unitCode": "P1"}, T1)
    fill = only(change.entity[FILL])
    assert ACCURACY not in fill
    assert fill["unitCode"] == "P1"


@pytest.mark.parametrize(
    ("attr", "fragment"),
    [
        (P + "absent", {"value": 1}),
        (STATUS, {"value": "x"}),  # no default instance
        (STATUS, {"value": "x", "datasetId": "urn:ds:z"}),
        ("id", {"value": "x"}),
    ],
)
def test_patch_attribute_absent(stored: dict[str, Any], attr: str, fragment: Any) -> None:
    with pytest.raises(ResourceNotFound):
        patch_attribute(stored, attr, fragment, T1)


# -- delete ----------------------------------------------------------------------------


def test_delete_default_instance(stored: dict[str, Any]) -> None:
    change = delete_attribute(stored, FILL, T1)
    assert FILL not in change.entity
    assert change.entity["modifiedAt"] == S1
    assert change.updated == [FILL]
    assert change.written == []
    assert FILL in stored


def test_delete_one_dataset(stored: dict[str, Any]) -> None:
    change = delete_attribute(stored, STATUS, T1, dataset_id="urn:ds:a")
    assert [i["datasetId"] for i in change.entity[STATUS]] == ["urn:ds:b"]


def test_delete_all_instances(stored: dict[str, Any]) -> None:
    change = delete_attribute(stored, STATUS, T1, delete_all=True)
    assert STATUS not in change.entity


@pytest.mark.parametrize(
    ("attr", "dataset_id"),
    [(P + "absent", None), (STATUS, None), (STATUS, "urn:ds:z"), (FILL, "urn:ds:a")],
)
def test_delete_absent(stored: dict[str, Any], attr: str, dataset_id: str | None) -> None:
    with pytest.raises(ResourceNotFound):
        delete_attribute(stored, attr, T1, dataset_id=dataset_id)


# -- history ---------------------------------------------------------------------------


def test_history_rows() -> None:
    payload = new_bin()
    payload[FILL][0]["observedAt"] = "2026-11-23T09:59:00.000Z"
    payload[P + "flag"] = [prop(True)]
    payload[P + "count"] = [prop(3)]
    change = create_entity(payload, T0)
    rows = {(r.attr, r.dataset_id): r for r in history_rows(change)}
    assert len(rows) == 6
    fill = rows[FILL, None]
    assert fill.entity_id == "urn:ngsi-ld:WasteContainer:1"
    assert fill.entity_type == P + "WasteContainer"
    assert fill.observed_at == datetime(2026, 11, 23, 9, 59, tzinfo=UTC)
    assert fill.number == 0.5
    assert fill.instance["value"] == 0.5
    assert rows[P + "count", None].number == 3.0
    assert isinstance(rows[P + "count", None].number, float)
    assert rows[P + "flag", None].number is None
    status = rows[STATUS, "urn:ds:b"]
    assert status.observed_at == T0  # no observedAt: the write time
    assert status.number is None
    assert rows[ADDRESS, None].number is None


def test_history_rows_of_relationship_have_no_number() -> None:
    entity = {"id": "urn:x", "type": ["T"], "r": [{"type": "Relationship", "object": "urn:y"}]}
    (row,) = history_rows(create_entity(entity, T0))
    assert row.number is None
    assert row.entity_type == "T"


def test_history_rows_only_for_what_was_written(stored: dict[str, Any]) -> None:
    change = update_attributes(stored, {FILL: [prop(0.6)]}, T1)
    rows = history_rows(change)
    assert [(r.attr, r.number, r.observed_at) for r in rows] == [(FILL, 0.6, T1)]


def test_merge_replaces_geometries_instead_of_merging_them(stored: dict[str, Any]) -> None:
    loc = "https://uri.etsi.org/ngsi-ld/location"
    stored[loc] = [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [23.5, 46.7]}}]
    polygon = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    change = merge_entity(stored, {loc: [{"type": "GeoProperty", "value": polygon}]}, T1)
    assert only(change.entity[loc])["value"] == polygon
    line = {"type": "LineString", "coordinates": [[0, 0], [1, 1]], "bbox": [0, 0, 1, 1]}
    stored[loc][0]["value"] = line
    point = {"type": "Point", "coordinates": [1, 1]}
    change = merge_entity(stored, {loc: [{"type": "GeoProperty", "value": point}]}, T1)
    assert only(change.entity[loc])["value"] == point


def test_instances_without_type_keep_or_imply_one(stored: dict[str, Any]) -> None:
    rel = P + "refZone"
    stored[rel] = [{"type": "Relationship", "object": "urn:z:1"}]
    change = update_attributes(stored, {rel: [{"object": "urn:z:2"}]}, T1)
    assert only(change.entity[rel]) == {
        "type": "Relationship",
        "object": "urn:z:2",
        "createdAt": S1,
        "modifiedAt": S1,
    }
    change = append_attributes(
        stored,
        {
            P + "a": [{"object": "urn:x"}],
            P + "b": [{"languageMap": {"ro": "x"}}],
            P + "c": [{"valueList": [1]}],
            P + "d": [{"objectList": ["urn:x"]}],
            P + "e": [{"vocab": "x"}],
            P + "f": [{"value": 1}],
        },
        T1,
    )
    types = {attr: only(change.entity[P + attr])["type"] for attr in "abcdef"}
    assert types == {
        "a": "Relationship",
        "b": "LanguageProperty",
        "c": "ListProperty",
        "d": "ListRelationship",
        "e": "VocabProperty",
        "f": "Property",
    }
