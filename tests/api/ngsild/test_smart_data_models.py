"""Every FIWARE Smart Data Models example (tests/data/smart-data-models) goes in through
POST /entities and comes back out of GET unchanged, normalized and as keyValues."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from cetate.ngsi.timestamps import format_datetime, parse_datetime
from tests.api.ngsild.helpers import LD_JSON, link

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "smart-data-models"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*/example-normalized.jsonld"))
CORE_CONTEXTS = {
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
}
INVALID_UPSTREAM = {
    # "Object" (capital O) instead of "object" in refPhotovoltaicDevice
    "PhotovoltaicMeasurement": "refPhotovoltaicDevice",
    # a Point whose coordinates are [[lon, lat]] instead of [lon, lat]
    "SolarEnergy": "location",
}
"""Examples that are not valid NGSI-LD as published; they must be refused with a 400 that
names the bad attribute."""
TIMESTAMPS = {"observedAt", "createdAt", "modifiedAt"}
VALUE_KEYS = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
    "VocabProperty": "vocab",
}


def domain_context(example: dict[str, Any]) -> str:
    """The example's own (non-core) context URL, to send in a Link header."""
    context = example["@context"]
    urls = [context] if isinstance(context, str) else list(context)
    domain = [url for url in urls if url not in CORE_CONTEXTS and url.startswith("https://")]
    assert domain, urls
    return str(domain[0])


def normalise(value: Any, key: str = "") -> Any:
    """Timestamps in the stored form's spelling (UTC, milliseconds, Z), recursively."""
    if key in TIMESTAMPS and isinstance(value, str):
        return format_datetime(parse_datetime(value))
    if isinstance(value, dict):
        return {k: normalise(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    return value


def simplified(attribute: Any) -> Any:
    """The keyValues form of a normalized attribute."""
    if isinstance(attribute, list):
        return {
            "dataset": {
                instance.get("datasetId", "@none"): simplified(instance) for instance in attribute
            }
        }
    return attribute.get(VALUE_KEYS.get(attribute.get("type", "Property"), "value"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[path.parent.name for path in EXAMPLE_FILES])
def test_example_round_trips(client: TestClient, path: Path) -> None:
    example: dict[str, Any] = orjson.loads(path.read_bytes())
    created = client.post(
        "/ngsi-ld/v1/entities", content=path.read_bytes(), headers={"Content-Type": LD_JSON}
    )
    bad_attribute = INVALID_UPSTREAM.get(path.parent.name)
    if bad_attribute is not None:
        assert created.status_code == 400, created.text
        assert created.json()["type"].endswith("BadRequestData")
        assert bad_attribute in created.json()["detail"]
        return
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    context_link = link(domain_context(example))

    normalized = client.get(url, headers=context_link)
    assert normalized.status_code == 200, normalized.text
    expected = {key: value for key, value in example.items() if key != "@context"}
    assert normalise(normalized.json()) == normalise(expected)

    key_values = client.get(url, params={"options": "keyValues"}, headers=context_link)
    assert key_values.status_code == 200, key_values.text
    expected_key_values = {
        key: (value if key in ("id", "type") else simplified(value))
        for key, value in expected.items()
    }
    assert key_values.json() == normalise(expected_key_values)

    as_ld = client.get(url, headers={**context_link, "Accept": LD_JSON})
    assert as_ld.json()["@context"] is not None
    assert normalise({k: v for k, v in as_ld.json().items() if k != "@context"}) == normalise(
        expected
    )


def test_every_example_is_found() -> None:
    assert len(EXAMPLE_FILES) >= 28


KEY_VALUE_FILES = sorted(EXAMPLES.glob("*/example.jsonld"))
NOT_JSON_UPSTREAM = {"PointOfInterest"}
"""Key-values examples that are not even valid JSON as published (a trailing comma)."""


@pytest.mark.parametrize(
    "path", KEY_VALUE_FILES, ids=[path.parent.name for path in KEY_VALUE_FILES]
)
def test_key_values_example_round_trips(client: TestClient, path: Path) -> None:
    """The key-values examples are valid concise input (§4.5.3) and come back unchanged."""
    created = client.post(
        "/ngsi-ld/v1/entities", content=path.read_bytes(), headers={"Content-Type": LD_JSON}
    )
    if path.parent.name in NOT_JSON_UPSTREAM:
        assert created.status_code == 400, created.text
        assert created.json()["type"].endswith("InvalidRequest")
        return
    assert created.status_code == 201, created.text
    example: dict[str, Any] = orjson.loads(path.read_bytes())
    got = client.get(
        created.headers["location"],
        params={"options": "keyValues"},
        headers=link(domain_context(example)),
    )
    assert got.status_code == 200, got.text
    assert got.json() == {key: value for key, value in example.items() if key != "@context"}
