"""Stored entities made readable (src/cetate/web/present.py) and small session helpers."""

from __future__ import annotations

from cetate.ngsi.model import LOCATION
from cetate.store.base import TemporalEntity
from cetate.web.present import (
    attribute_rows,
    entity_geometry,
    format_timestamp,
    format_value,
    history_series,
    numeric_attributes,
    readable_term,
    short_id,
)
from cetate.web.session import login_url, safe_next

FILL = "https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel"


def test_readable_term() -> None:
    assert readable_term(FILL) == "fillingLevel"
    assert readable_term("https://uri.etsi.org/ngsi-ld/location") == "location"
    assert readable_term("https://uri.etsi.org/ngsi-ld/name") == "name"
    assert readable_term("https://uri.etsi.org/ngsi-ld/default-context/speed") == "speed"
    assert readable_term("http://example.org/vocab#colour") == "colour"
    assert readable_term("plain") == "plain"


def test_short_id_and_timestamps() -> None:
    assert short_id("urn:ngsi-ld:Bin:cluj:1") == "Bin:cluj:1"
    assert short_id("https://x/1") == "https://x/1"
    assert format_timestamp("2026-11-23T10:04:59.000Z") == "2026-11-23 10:04:59 UTC"
    assert format_timestamp("not a date") == "not a date"
    assert format_timestamp(None) == ""


def test_format_value_of_each_attribute_kind() -> None:
    assert format_value({"type": "Property", "value": 0.63}, "ro") == "0.63"
    assert format_value({"type": "Property", "value": True}, "ro") == "true"
    assert format_value({"type": "Property", "value": {"a": "ă"}}, "ro") == '{"a": "ă"}'
    assert format_value({"type": "Relationship", "object": "urn:x:1"}, "ro") == "urn:x:1"
    lang_map = {"type": "LanguageProperty", "languageMap": {"ro": "Sfatul", "en": "Council"}}
    assert format_value(lang_map, "ro") == "Sfatul"
    assert format_value(lang_map, "en") == "Council"
    point = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [23.5, 46.7]}}
    assert format_value(point, "ro") == "Point 46.70000, 23.50000"
    assert format_value({"type": "ListProperty", "valueList": [1, 2]}, "en") == "[1, 2]"
    vocab = {"type": "VocabProperty", "vocab": "https://example.org/Good"}
    assert format_value(vocab, "en") == "Good"


def test_attribute_rows_numeric_and_geometry() -> None:
    entity = {
        "id": "urn:ngsi-ld:Bin:1",
        "type": ["https://example.org/Bin"],
        FILL: [
            {"type": "Property", "value": 0.5, "unitCode": "P1"},
            {"type": "Property", "value": 0.7, "datasetId": "urn:ds:b"},
        ],
        LOCATION: [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}}],
        "https://example.org/owner": [{"type": "Relationship", "object": "urn:ngsi-ld:Org:1"}],
    }
    rows = attribute_rows(entity, "ro")
    assert [r.name for r in rows] == ["fillingLevel", "fillingLevel", "location", "owner"]
    assert rows[0].unit == "P1"
    assert rows[0].numeric
    assert rows[1].dataset_id == "urn:ds:b"
    assert rows[3].link_entity == "urn:ngsi-ld:Org:1"
    assert numeric_attributes(entity) == [FILL]
    assert entity_geometry(entity) == {"type": "Point", "coordinates": [1, 2]}
    assert entity_geometry({"id": "x"}) is None


def test_history_series_per_dataset_sorted() -> None:
    temporal = [
        TemporalEntity(
            id="urn:x",
            types=["T"],
            history={
                FILL: [
                    {"type": "Property", "value": 2, "observedAt": "2026-01-01T01:00:00.000Z"},
                    {"type": "Property", "value": 1, "observedAt": "2026-01-01T00:00:00.000Z"},
                    {
                        "type": "Property",
                        "value": 5,
                        "observedAt": "2026-01-01T00:00:00.000Z",
                        "datasetId": "urn:ds:b",
                    },
                    {"type": "Property", "value": "n/a", "observedAt": "2026-01-01T02:00:00Z"},
                ]
            },
        )
    ]
    default, other = history_series(temporal, [FILL], {FILL: "P1"})
    assert default.values == [1.0, 2.0]
    assert default.times[1] - default.times[0] == 3600
    assert default.unit == "P1"
    assert other.label == "fillingLevel (b)"
    (empty,) = history_series([], [FILL], {})
    assert empty.times == []


def test_safe_next_stays_on_site() -> None:
    assert safe_next("/entities?q=1") == "/entities?q=1"
    for bad in ("//evil.example", "https://evil.example", "/\\evil", "", None, "entities"):
        assert safe_next(bad) == "/"
    assert login_url("/") == "/login"
    assert login_url("/entities?q=a b") == "/login?next=/entities%3Fq%3Da%20b"
