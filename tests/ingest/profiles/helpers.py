"""Shared test data for the device-profile tests: a realistic profile document."""

from __future__ import annotations

import copy
from typing import Any

WASTE_CONTEXT = "https://smart-data-models.github.io/dataModel.WasteManagement/context.jsonld"
WM = "https://smartdatamodels.org/dataModel.WasteManagement/"
DEFAULT = "https://uri.etsi.org/ngsi-ld/default-context/"

BIN_PROFILE: dict[str, Any] = {
    "name": "bin-level-sensor-v1",
    "entityType": "WasteContainer",
    "context": WASTE_CONTEXT,
    "entityIdTemplate": "urn:ngsi-ld:WasteContainer:{device}",
    "measurements": [
        {
            "key": "f",
            "attribute": "fillingLevel",
            "conversion": "percent_to_fraction",
            "unitCode": "P1",
            "range": [0, 1],
        }
    ],
}


def profile_document(**changes: Any) -> dict[str, Any]:
    """A deep copy of :data:`BIN_PROFILE` with top-level fields replaced."""
    document = copy.deepcopy(BIN_PROFILE)
    document.update(changes)
    return document
