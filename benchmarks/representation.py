"""Speed of the JSON-LD term map and of payload expansion/rendering (no I/O).

Prints, for one WasteContainer-like entity with five attributes (two with ``observedAt``, one
GeoProperty, one concise value, one concise Relationship) and the Smart Data Models
WasteManagement context:

* ``expand_term`` / ``compact_iri`` per call (cached term map);
* ``resolve`` of an already-seen context;
* ``expand_entity`` per entity and in attribute values per second (ingest path);
* ``render_entity`` in normalized, concise and keyValues.

Usage::

    .venv/bin/python benchmarks/representation.py [--rounds 20000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from _common import machine

from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.representation import expand_entity, render_entity

CONTEXT = (
    "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/"
    "context.jsonld"
)
PAYLOAD: dict[str, Any] = {
    "id": "urn:ngsi-ld:WasteContainer:cluj:0001",
    "type": "WasteContainer",
    "fillingLevel": {"type": "Property", "value": 0.63, "observedAt": "2026-11-23T10:04:59Z"},
    "temperature": {"type": "Property", "value": 7.5, "observedAt": "2026-11-23T10:04:59Z"},
    "location": {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [23.59, 46.77]},
    },
    "status": "ok",
    "refDevice": {"object": "urn:ngsi-ld:Device:cluj:0001"},
}


def per_call(function: Callable[[], object], rounds: int) -> float:
    """Seconds per call, best of three runs."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(rounds):
            function()
        best = min(best, (time.perf_counter() - start) / rounds)
    return best


def show(label: str, amount: float, unit: str = "µs") -> None:
    print(f"{label:<32} {amount:9.3f} {unit}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    rounds = parser.parse_args().rounds
    resolver = ContextResolver()
    start = time.perf_counter()
    context = resolver.resolve(CONTEXT)
    first_resolve = time.perf_counter() - start
    stored = expand_entity(PAYLOAD, context)
    iri = context.expand_term("fillingLevel")

    print(f"machine: {machine()}")
    show("resolve (first time, pyld)", first_resolve * 1e3, "ms")
    show("resolve (cached)", per_call(lambda: resolver.resolve(CONTEXT), rounds) * 1e6)
    expand = per_call(lambda: context.expand_term("fillingLevel"), rounds * 10)
    show("expand_term", expand * 1e6)
    show("compact_iri", per_call(lambda: context.compact_iri(iri), rounds * 10) * 1e6)
    seconds = per_call(lambda: expand_entity(PAYLOAD, context), rounds)
    values = len(PAYLOAD) - 2
    show(f"expand_entity ({values} attributes)", seconds * 1e6)
    print(f"{'':32} = {values / seconds:,.0f} attribute values/s")
    for representation in ("normalized", "concise", "keyValues"):
        seconds = per_call(
            lambda r=representation: render_entity(stored, context, representation=r),  # type: ignore[misc]
            rounds,
        )
        show(f"render_entity {representation}", seconds * 1e6)


if __name__ == "__main__":
    main()
