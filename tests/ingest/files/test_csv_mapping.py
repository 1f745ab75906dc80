"""CSV files with a column mapping (or none): typed values, locations, observedAt, row errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cetate.entities import EntityService
from cetate.errors import InvalidRequest
from cetate.ingest.files import ParsedEntity, RowError
from cetate.ingest.files.csv_mapping import (
    CsvMapping,
    convert,
    load_mapping,
    parse_column_options,
    read_csv,
)
from cetate.ingest.files.importer import import_items
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import LOCATION
from cetate.store.base import ContextStore

WASTE_CONTEXT = "https://smart-data-models.github.io/dataModel.WasteManagement/context.jsonld"
WM = "https://smartdatamodels.org/dataModel.WasteManagement/"
DEFAULT = "https://uri.etsi.org/ngsi-ld/default-context/"

CSV = """id,type,lon,lat,fillingLevel,cartier,ok
c1,WasteContainer,23.59,46.77,0.4,Centru,true
c2,WasteContainer,23.60,46.78,0.95,Mănăștur,false
c3,WasteContainer,abc,46.78,0.5,Gruia,true
,WasteContainer,23.6,46.7,0.5,Iris,true
c5,WasteContainer,46.78,123.6,0.5,Iris,true
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_convert() -> None:
    assert convert("12", "auto") == 12
    assert convert("0.5", "auto") == 0.5
    assert convert("true", "auto") is True
    assert convert("Mănăștur", "auto") == "Mănăștur"
    assert convert("0,5", "number") == 0.5
    assert convert("2026-01-01T10:00:00+02:00", "datetime") == {
        "@type": "DateTime",
        "@value": "2026-01-01T08:00:00.000Z",
    }
    assert convert('{"a": 1}', "json") == {"a": 1}
    with pytest.raises(ValueError, match="not a number"):
        convert("abc", "number")
    with pytest.raises(ValueError, match="not an integer"):
        convert("1.5", "integer")


def test_without_mapping_every_column_becomes_an_attribute(tmp_path: Path) -> None:
    path = write(tmp_path / "bins.csv", CSV)
    parsed = read_csv(path, ContextResolver(), default_context=WASTE_CONTEXT)
    assert parsed.total == 5
    items = list(parsed.items)
    good = [item for item in items if isinstance(item, ParsedEntity)]
    bad = {item.row: item for item in items if isinstance(item, RowError)}
    assert [item.row for item in good] == [2, 3]
    first = good[0].entity
    assert first["id"] == "urn:ngsi-ld:WasteContainer:c1"
    assert first["type"] == [WM + "WasteContainer"]
    assert first[WM + "fillingLevel"][0]["value"] == 0.4
    assert first[LOCATION][0]["value"] == {"type": "Point", "coordinates": [23.59, 46.77]}
    assert first[DEFAULT + "ok"][0]["value"] is True
    assert good[1].entity[DEFAULT + "cartier"][0]["value"] == "Mănăștur"
    assert set(bad) == {4, 5, 6}
    assert "not numbers" in bad[4].reason
    assert "empty id" in bad[5].reason
    assert "out of range" in bad[6].reason
    assert bad[6].entity_id == "urn:ngsi-ld:WasteContainer:c5"


def test_mapping_file(tmp_path: Path) -> None:
    csv_path = write(
        tmp_path / "m.csv",
        "cod;nivel;x;y;la;nota\n"
        "7;0,8;23.59;46.77;2026-03-01T10:00:00Z;fără\n"
        "8;plin;23.59;46.77;2026-03-01T10:00:00Z;\n"
        "9;0,1;23.59;46.77;ieri;\n",
    )
    mapping_path = tmp_path / "mapping.json"
    mapping_path.write_text(
        json.dumps(
            {
                "type": "WasteContainer",
                "context": WASTE_CONTEXT,
                "id": {"column": "cod", "prefix": "urn:ngsi-ld:WasteContainer:cluj:"},
                "location": {"lon": "x", "lat": "y"},
                "observedAt": "la",
                "delimiter": ";",
                "attributes": {
                    "nivel": {"name": "fillingLevel", "type": "number", "unitCode": "C62"},
                    "nota": "description",
                },
            }
        )
    )
    items = list(read_csv(csv_path, ContextResolver(), load_mapping(mapping_path)).items)
    first = items[0]
    assert isinstance(first, ParsedEntity)
    assert first.entity["id"] == "urn:ngsi-ld:WasteContainer:cluj:7"
    level = first.entity[WM + "fillingLevel"][0]
    assert level["value"] == 0.8
    assert level["unitCode"] == "C62"
    assert level["observedAt"] == "2026-03-01T10:00:00.000Z"
    assert isinstance(items[1], RowError)
    assert items[1].row == 3
    assert "column 'nivel'" in items[1].reason
    assert "not a number" in items[1].reason
    assert isinstance(items[2], RowError)
    assert "'la'" in items[2].reason


def test_column_options() -> None:
    specs = parse_column_options(["nivel=fillingLevel:number", "nume=name"])
    assert specs["nivel"].name == "fillingLevel"
    assert specs["nivel"].type == "number"
    assert specs["nume"].type == "auto"
    with pytest.raises(InvalidRequest, match="COLUMN=ATTRIBUTE"):
        parse_column_options(["nivel"])
    with pytest.raises(InvalidRequest, match="unknown type"):
        parse_column_options(["nivel=fillingLevel:float128"])


def test_columns_only_maps_those(tmp_path: Path) -> None:
    path = write(tmp_path / "bins.csv", CSV)
    items = list(
        read_csv(
            path,
            ContextResolver(),
            columns=parse_column_options(["fillingLevel=fillingLevel:number"]),
            default_context=WASTE_CONTEXT,
        ).items
    )
    first = items[0]
    assert isinstance(first, ParsedEntity)
    assert DEFAULT + "cartier" not in first.entity
    assert WM + "fillingLevel" in first.entity


def test_header_problems_are_refused_whole(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", "code,level\n1,2\n")
    with pytest.raises(InvalidRequest, match="no entity type"):
        read_csv(path, ContextResolver())
    with pytest.raises(InvalidRequest, match="no column 'id'"):
        read_csv(path, ContextResolver(), CsvMapping(type="Bin"))
    empty = write(tmp_path / "empty.csv", "")
    with pytest.raises(InvalidRequest, match="empty"):
        read_csv(empty, ContextResolver(), CsvMapping(type="Bin"))


def test_bad_mapping(tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"type": "Bin", "colums": {}}))
    with pytest.raises(InvalidRequest, match="colums"):
        load_mapping(path)


def test_import_into_store(tmp_path: Path, store: ContextStore) -> None:
    path = write(tmp_path / "bins.csv", CSV)
    report = import_items(
        read_csv(path, ContextResolver(), default_context=WASTE_CONTEXT).items,
        EntityService(store),
        "city",
        chunk_size=1,
    )
    assert report.rows == 5
    assert report.stored == 2
    assert [error.row for error in report.rejected] == [4, 5, 6]
    stored = store.get_entity("city", "urn:ngsi-ld:WasteContainer:c2")
    assert stored is not None
    assert stored[WM + "fillingLevel"][0]["value"] == 0.95
