"""NGSI-LD JSON files: arrays, single entities, JSON Lines; bad records reported with reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cetate.entities import EntityService
from cetate.errors import InvalidRequest
from cetate.ingest.files import ParsedEntity, RowError
from cetate.ingest.files.importer import import_items
from cetate.ingest.files.ngsild_json import read_ngsild
from cetate.ngsi.jsonld import ContextResolver
from cetate.store.base import ContextStore

WASTE_CONTEXT = "https://smart-data-models.github.io/dataModel.WasteManagement/context.jsonld"
FILLING = "https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel"
WASTE_TYPE = "https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer"


def container(number: int, level: float = 0.5) -> dict[str, object]:
    return {
        "id": f"urn:ngsi-ld:WasteContainer:test:{number}",
        "type": "WasteContainer",
        "fillingLevel": {"type": "Property", "value": level},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [23.6, 46.77]},
        },
        "@context": [WASTE_CONTEXT],
    }


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_array_gives_stored_entities_and_reasons(tmp_path: Path) -> None:
    no_type = {"id": "urn:ngsi-ld:WasteContainer:test:3", "fillingLevel": 1}
    path = write(tmp_path / "e.json", [container(1), container(2, 0.9), no_type, 42])
    parsed = read_ngsild(path, ContextResolver())
    assert parsed.total == 4
    items = list(parsed.items)
    good = [item for item in items if isinstance(item, ParsedEntity)]
    bad = [item for item in items if isinstance(item, RowError)]
    assert [item.row for item in good] == [1, 2]
    assert good[0].entity["type"] == [WASTE_TYPE]
    assert good[1].entity[FILLING][0]["value"] == 0.9
    assert [(item.row, item.entity_id) for item in bad] == [
        (3, "urn:ngsi-ld:WasteContainer:test:3"),
        (4, None),
    ]
    assert "type" in bad[0].reason
    assert "object" in bad[1].reason


def test_single_entity_and_default_context(tmp_path: Path) -> None:
    entity = container(1)
    del entity["@context"]
    path = write(tmp_path / "one.json", entity)
    items = list(read_ngsild(path, ContextResolver(), default_context=WASTE_CONTEXT).items)
    assert isinstance(items[0], ParsedEntity)
    assert FILLING in items[0].entity


def test_json_lines_with_a_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(container(1)) + "\n{not json\n" + json.dumps(container(2)) + "\n")
    items = list(read_ngsild(path, ContextResolver()).items)
    assert [type(item).__name__ for item in items] == ["ParsedEntity", "RowError", "ParsedEntity"]
    error = items[1]
    assert isinstance(error, RowError)
    assert "line 2" in error.reason


def test_unknown_remote_context_is_a_row_error(tmp_path: Path) -> None:
    entity = container(1)
    entity["@context"] = "https://example.org/unknown-context.jsonld"
    items = list(read_ngsild(write(tmp_path / "e.json", [entity]), ContextResolver()).items)
    assert isinstance(items[0], RowError)
    assert "example.org" in items[0].reason


def test_not_json_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("[{]")
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        read_ngsild(path, ContextResolver())


def test_import_stores_good_rows_and_reports_bad(tmp_path: Path, store: ContextStore) -> None:
    bad_geometry = container(3)
    bad_geometry["location"] = {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [200, 95]},
    }
    path = write(tmp_path / "e.json", [container(1), container(2), bad_geometry, container(1, 0.7)])
    report = import_items(
        read_ngsild(path, ContextResolver()).items, EntityService(store), "city", chunk_size=10
    )
    assert report.rows == 4
    assert report.stored == 3  # entity 1 twice: the later record replaces the earlier one
    assert [(error.row, error.entity_id) for error in report.rejected] == [
        (3, "urn:ngsi-ld:WasteContainer:test:3")
    ]
    stored = store.get_entity("city", "urn:ngsi-ld:WasteContainer:test:1")
    assert stored is not None
    assert stored[FILLING][0]["value"] == 0.7
    assert store.get_entity("city", "urn:ngsi-ld:WasteContainer:test:3") is None
