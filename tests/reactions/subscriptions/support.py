"""Constants and a payload builder shared by the subscription tests."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

WASTE_URL = "https://smart-data-models.github.io/dataModel.WasteManagement/context.jsonld"
WM = "https://smartdatamodels.org/dataModel.WasteManagement/"
NGSI = "https://uri.etsi.org/ngsi-ld/"
V = "https://uri.etsi.org/ngsi-ld/default-context/"
NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)

BASE: dict[str, Any] = {
    "id": "urn:ngsi-ld:Subscription:bins",
    "type": "Subscription",
    "entities": [{"type": "WasteContainer"}],
    "watchedAttributes": ["fillingLevel"],
    "notification": {"endpoint": {"uri": "http://receiver.example/notify"}},
}


def payload(**changes: Any) -> dict[str, Any]:
    """BASE with top-level members replaced (value ``...`` removes the member)."""
    out = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is ...:
            out.pop(key, None)
        else:
            out[key] = value
    return out
