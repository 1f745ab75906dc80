"""What was stored: the newest sequence number per device (cheap, over HTTP, for progress and
the drain) and every stored sequence number (from the history, for lost = sent − stored)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import httpx

from cetate.loadtest.provisioning import ENTITY_TYPE, SEQ_ATTR, entity_id


def current_seqs(http: httpx.Client, tenant: str) -> dict[str, int]:
    """Device → the sequence number of its newest stored message (from the current values)."""
    found: dict[str, int] = {}
    prefix = f"urn:ngsi-ld:{ENTITY_TYPE}:"
    offset = 0
    while True:
        response = http.get(
            "/ngsi-ld/v1/entities",
            params={
                "type": ENTITY_TYPE,
                "options": "keyValues",
                "attrs": "a",
                "limit": 1000,
                "offset": offset,
            },
            headers={"NGSILD-Tenant": tenant},
        )
        response.raise_for_status()
        page = response.json()
        for entity in page:
            value = entity.get("a", 0)
            found[entity["id"].removeprefix(prefix)] = value if isinstance(value, int) else 0
        if len(page) < 1000:
            return found
        offset += 1000


@dataclass
class StoredCount:
    """Per device, the distinct stored sequence numbers; the history rows of ``a``; and
    modifiedAt − observedAt (publish → stored) in seconds for each row."""

    seqs: dict[str, set[int]] = field(default_factory=dict)
    rows: int = 0
    delays: list[float] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return sum(len(s) for s in self.seqs.values())

    def lost(self, last: dict[str, int]) -> int:
        """Messages 1..``last[device]`` (acknowledged to the device) not in the history."""
        return sum(
            max(0, n - len(self.seqs.get(d, set()) & set(range(1, n + 1)))) for d, n in last.items()
        )

    def missing_examples(self, last: dict[str, int], limit: int = 5) -> list[str]:
        """Up to ``limit`` runs of missing sequence numbers, e.g. ``dev-00001#466-470``."""
        examples: list[str] = []
        for device, n in last.items():
            have = self.seqs.get(device, set())
            start: int | None = None
            for k in range(1, n + 2):
                if k <= n and k not in have:
                    start = k if start is None else start
                elif start is not None:
                    examples.append(f"{device}#{start}" + (f"-{k - 1}" if k - 1 > start else ""))
                    start = None
                    if len(examples) >= limit:
                        return examples
        return examples


def count_history(url: str, tenant: str, devices: list[str]) -> StoredCount:
    """Read the history of ``a`` of every device straight from the store."""
    from cetate.store.base import EntityQuery, TemporalQuery, open_store

    store = open_store(url)
    count = StoredCount()
    try:
        for device in devices:
            query = TemporalQuery(
                entities=EntityQuery(ids=(entity_id(device),), limit=1),
                attrs=frozenset({SEQ_ATTR}),
            )
            found: set[int] = set()
            for entity in store.query_temporal(tenant, query):
                for instance in entity.history.get(SEQ_ATTR, []):
                    count.rows += 1
                    value = instance.get("value")
                    if isinstance(value, list):  # expanded form
                        value = value[0].get("@value") if value else None
                    if isinstance(value, int | float):
                        found.add(int(value))
                    observed, modified = instance.get("observedAt"), instance.get("modifiedAt")
                    if isinstance(observed, str) and isinstance(modified, str):
                        delay = _parse(modified) - _parse(observed)
                        count.delays.append(delay.total_seconds())
            count.seqs[device] = found
    finally:
        store.close()
    return count


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
