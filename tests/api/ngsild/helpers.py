"""Small builders shared by the NGSI-LD API tests."""

from __future__ import annotations

from typing import Any

LD_JSON = "application/ld+json"
CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
WASTE_CONTEXT = (
    "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/"
    "context.jsonld"
)
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"


def link(url: str) -> dict[str, str]:
    """A Link header naming a JSON-LD context."""
    return {
        "Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    }


def sensor(
    number: int = 1,
    *,
    temperature: float = 21.5,
    lon: float = 23.59,
    lat: float = 46.77,
    entity_type: str = "Sensor",
) -> dict[str, Any]:
    """A normalized entity that uses only the core context (default-context terms)."""
    return {
        "id": f"urn:ngsi-ld:{entity_type}:{number:04d}",
        "type": entity_type,
        "temperature": {
            "type": "Property",
            "value": temperature,
            "unitCode": "CEL",
            "observedAt": "2026-11-23T10:00:00.000Z",
        },
        "name": {"type": "Property", "value": f"sensor {number}"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
    }
