"""GeoJSON files: plain GIS exports and NGSI-LD's GeoJSON representation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cetate.entities import EntityService
from cetate.errors import InvalidRequest
from cetate.ingest.files import ParsedEntity, RowError
from cetate.ingest.files.geojson import entity_id_for, read_geojson
from cetate.ingest.files.importer import import_items
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import LOCATION
from cetate.store.base import ContextStore

LIGHT_CONTEXT = "https://smart-data-models.github.io/dataModel.Streetlighting/context.jsonld"
LIGHT_TYPE = "https://smartdatamodels.org/dataModel.Streetlighting/Streetlight"
HEIGHT = "https://smartdatamodels.org/dataModel.Streetlighting/lanternHeight"


def feature(feature_id: object, lon: float, lat: float, **properties: object) -> dict[str, object]:
    found: dict[str, object] = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }
    if feature_id is not None:
        found["id"] = feature_id
    return found


def collection(path: Path, *features: object, **extra: object) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features), **extra}))
    return path


def test_entity_ids() -> None:
    assert entity_id_for(17, "Streetlight") == "urn:ngsi-ld:Streetlight:17"
    assert entity_id_for("urn:x:1", "Streetlight") == "urn:x:1"
    assert entity_id_for("A-3", LIGHT_TYPE) == "urn:ngsi-ld:Streetlight:A-3"
    assert entity_id_for("", "Streetlight") is None
    assert entity_id_for(None, "Streetlight") is None


def test_plain_gis_export(tmp_path: Path) -> None:
    path = collection(
        tmp_path / "lights.geojson",
        feature(17, 23.59, 46.77, lanternHeight=10, circuit="C-1"),
        feature(None, 23.60, 46.78, id="L-2", lanternHeight=8),
        feature(None, 23.61, 46.79, lanternHeight=9),
        feature(4, 23.61, 200.0, lanternHeight=9),
        {"type": "Point", "coordinates": [1, 2]},
    )
    parsed = read_geojson(
        path, ContextResolver(), entity_type="Streetlight", default_context=LIGHT_CONTEXT
    )
    assert parsed.total == 5
    items = list(parsed.items)
    first, second = items[0], items[1]
    assert isinstance(first, ParsedEntity)
    assert isinstance(second, ParsedEntity)
    assert first.entity["id"] == "urn:ngsi-ld:Streetlight:17"
    assert first.entity["type"] == [LIGHT_TYPE]
    assert first.entity[HEIGHT][0]["value"] == 10
    assert first.entity[LOCATION][0]["value"]["coordinates"] == [23.59, 46.77]
    assert second.entity["id"] == "urn:ngsi-ld:Streetlight:L-2"
    errors = {item.row: item for item in items if isinstance(item, RowError)}
    assert set(errors) == {3, 4, 5}
    assert "no entity id" in errors[3].reason
    assert errors[4].entity_id == "urn:ngsi-ld:Streetlight:4"
    assert "Feature" in errors[5].reason


def test_type_is_required(tmp_path: Path) -> None:
    path = collection(tmp_path / "x.geojson", feature(1, 23.6, 46.7))
    items = list(read_geojson(path, ContextResolver()).items)
    assert isinstance(items[0], RowError)
    assert "--type" in items[0].reason


def test_ngsi_ld_geojson_representation(tmp_path: Path) -> None:
    ngsi_feature = {
        "id": "urn:ngsi-ld:Streetlight:cluj:1",
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [23.59, 46.77]},
        "properties": {
            "type": "Streetlight",
            "lanternHeight": {"type": "Property", "value": 10},
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [23.59, 46.77]},
            },
        },
    }
    path = collection(tmp_path / "n.geojson", ngsi_feature, **{"@context": [LIGHT_CONTEXT]})
    items = list(read_geojson(path, ContextResolver()).items)
    assert isinstance(items[0], ParsedEntity)
    assert items[0].entity["type"] == [LIGHT_TYPE]
    assert items[0].entity[HEIGHT][0]["value"] == 10


def test_not_geojson(tmp_path: Path) -> None:
    path = tmp_path / "x.geojson"
    path.write_text('{"type": "Topology"}')
    with pytest.raises(InvalidRequest, match="FeatureCollection"):
        read_geojson(path, ContextResolver())


def test_import_into_store(tmp_path: Path, store: ContextStore) -> None:
    path = collection(
        tmp_path / "lights.geojson",
        feature(1, 23.59, 46.77, lanternHeight=10),
        feature(2, 23.59, 95.0, lanternHeight=10),
    )
    report = import_items(
        read_geojson(path, ContextResolver(), entity_type="Streetlight").items,
        EntityService(store),
        "city",
    )
    assert report.stored == 1
    assert [error.row for error in report.rejected] == [2]
    assert store.get_entity("city", "urn:ngsi-ld:Streetlight:1") is not None
