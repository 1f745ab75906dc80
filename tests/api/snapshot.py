"""A byte-exact picture of what a tenant has stored, to prove a request changed nothing."""

from __future__ import annotations

from typing import Any

import orjson

from cetate.store.base import ContextStore, EntityQuery, TemporalQuery


def tenant_snapshot(store: ContextStore, tenant: str) -> bytes:
    """Every entity of ``tenant`` as stored, each attribute's history (every instance, and so
    its count) through :meth:`ContextStore.query_temporal`, the type and attribute summaries,
    the tenant's subscriptions (records of kind ``subscription``) and the tenant record
    itself, serialised canonically (sorted keys)."""
    record = store.get_tenant(tenant)
    entities = sorted(store.iter_entities(tenant), key=lambda entity: str(entity["id"]))
    history: dict[str, dict[str, Any]] = {}
    if entities:
        temporal = store.query_temporal(
            tenant, TemporalQuery(entities=EntityQuery(limit=len(entities) + 1))
        )
        for item in temporal:
            history[item.id] = {
                attr: {"count": len(instances), "instances": instances}
                for attr, instances in sorted(item.history.items())
            }
    picture = {
        "tenant": None
        if record is None
        else {
            "name": record.name,
            "title": record.title,
            "public_types": sorted(record.public_types),
        },
        "entities": entities,
        "history": history,
        "subscriptions": [
            {"key": record.key, "version": record.version, "data": record.data}
            for record in store.list_records(tenant, "subscription")
        ],
        "types": sorted(
            (summary.type, summary.entity_count, sorted(summary.attributes))
            for summary in store.entity_types(tenant)
        ),
        "attributes": sorted(
            (
                summary.attribute,
                summary.attribute_count,
                sorted(summary.types),
                sorted(summary.attribute_types),
            )
            for summary in store.attributes(tenant)
        ),
    }
    return orjson.dumps(picture, option=orjson.OPT_SORT_KEYS)


def history_counts(store: ContextStore, tenant: str) -> dict[str, dict[str, int]]:
    """entity id → attribute IRI → number of history instances."""
    temporal = store.query_temporal(tenant, TemporalQuery(entities=EntityQuery(limit=1000)))
    return {
        item.id: {attr: len(instances) for attr, instances in item.history.items()}
        for item in temporal
    }
