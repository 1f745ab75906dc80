"""The shape of an entity as the store keeps it (the *stored form*).

The API expands every incoming entity with its JSON-LD @context and compacts every outgoing one;
between the two, inside the platform, an entity is a plain ``dict`` in this stored form:

.. code-block:: python

    {
        "id": "urn:ngsi-ld:WasteContainer:cluj:0001",          # an absolute URI
        "type": ["https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer"],
        "scope": ["/Cluj/Centru"],                               # optional
        "createdAt": "2026-11-23T10:00:00.000Z",                 # set by the platform
        "modifiedAt": "2026-11-23T10:05:00.000Z",                # set by the platform
        "https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel": [
            {
                "type": "Property",
                "value": 0.63,
                "observedAt": "2026-11-23T10:04:59.000Z",
                "unitCode": "P1",
                "createdAt": "...", "modifiedAt": "...",
                # sub-attributes by expanded IRI, each a single attribute dict
                "https://uri.etsi.org/ngsi-ld/default-context/accuracy": {
                    "type": "Property", "value": 0.02
                },
            },
        ],
        "https://uri.etsi.org/ngsi-ld/location": [
            {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [23.59, 46.77]}},
        ],
    }

Rules of the stored form:

* ``type`` is always a list of expanded type IRIs.
* every attribute key is an expanded IRI; its value is always a **list of instances**, one per
  ``datasetId`` (the default instance has no ``datasetId`` key). At most one instance per
  datasetId.
* an instance's ``type`` is one of :data:`ATTRIBUTE_TYPES`. A Property has ``value``, a
  Relationship ``object``, a GeoProperty a GeoJSON geometry ``value``, a LanguageProperty a
  ``languageMap``, a ListProperty ``valueList``, a ListRelationship ``objectList``,
  a VocabProperty ``vocab``.
* timestamps are UTC ISO 8601 strings with milliseconds and a ``Z``.
* sub-attributes (attributes of attributes) are keyed by expanded IRI and are single attribute
  dicts, not lists.
"""

from __future__ import annotations

from typing import Any, Final

EntityDoc = dict[str, Any]
"""An entity in stored form (see the module docstring)."""

AttributeInstance = dict[str, Any]
"""One instance of an attribute in stored form."""

ENTITY_KEYWORDS: Final = frozenset(
    {"id", "type", "scope", "createdAt", "modifiedAt", "deletedAt", "@context"}
)
"""Top-level keys of an entity that are not attributes."""

ATTRIBUTE_TYPES: Final = frozenset(
    {
        "Property",
        "Relationship",
        "GeoProperty",
        "LanguageProperty",
        "ListProperty",
        "ListRelationship",
        "VocabProperty",
    }
)

VALUE_KEYS: Final = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
    "VocabProperty": "vocab",
}
"""The member of an instance that carries the value, by attribute type."""

ATTRIBUTE_KEYWORDS: Final = frozenset(
    {
        "type",
        "value",
        "object",
        "languageMap",
        "valueList",
        "objectList",
        "vocab",
        "observedAt",
        "unitCode",
        "datasetId",
        "createdAt",
        "modifiedAt",
        "deletedAt",
        "objectType",
        "lang",
    }
)
"""Keys of an attribute instance that are not sub-attributes."""

NGSI_LD_CORE: Final = "https://uri.etsi.org/ngsi-ld/"
LOCATION: Final = NGSI_LD_CORE + "location"
OBSERVATION_SPACE: Final = NGSI_LD_CORE + "observationSpace"
OPERATION_SPACE: Final = NGSI_LD_CORE + "operationSpace"
DEFAULT_CONTEXT_VOCAB: Final = "https://uri.etsi.org/ngsi-ld/default-context/"
