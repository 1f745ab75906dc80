"""The contract of :meth:`ContextStore.delete_history` (runs on SQLite and on PostgreSQL):
erasing an entity's attribute history, e.g. personal data under the GDPR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cetate.ngsi.model import EntityDoc
from cetate.store.base import ContextStore, EntityQuery, HistoryRow, TemporalQuery

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VOCAB = "https://example.org/vocab/"
REPORT = VOCAB + "Report"
DESCRIPTION = VOCAB + "description"
ADDRESS = VOCAB + "address"
STATUS = VOCAB + "status"
EID = "urn:x:report:1"
OTHER = "urn:x:report:2"


def _prop(value: Any, dataset_id: str | None = None) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": "Property", "value": value}
    if dataset_id is not None:
        prop["datasetId"] = dataset_id
    return prop


def _entity(entity_id: str, description: str) -> EntityDoc:
    return {
        "id": entity_id,
        "type": [REPORT],
        DESCRIPTION: [_prop(description)],
        ADDRESS: [_prop("Str. Lungă 1")],
        STATUS: [_prop("open")],
    }


def _write(store: ContextStore, tenant: str, entity_id: str) -> None:
    """An entity with three attributes, two instances of history each (the description also
    under a datasetId, and in two months: two PostgreSQL partitions)."""
    rows = [
        HistoryRow(entity_id, DESCRIPTION, _prop("call 0722 000 000"), T0, entity_type=REPORT),
        HistoryRow(
            entity_id,
            DESCRIPTION,
            _prop("mail ion@example.ro", "urn:ds:copy"),
            T0 + timedelta(days=40),
            dataset_id="urn:ds:copy",
            entity_type=REPORT,
        ),
        HistoryRow(entity_id, DESCRIPTION, _prop("[removed]"), T0 + timedelta(days=41)),
        HistoryRow(entity_id, ADDRESS, _prop("Str. Lungă 1"), T0, entity_type=REPORT),
        HistoryRow(entity_id, STATUS, _prop("new"), T0, entity_type=REPORT),
        HistoryRow(entity_id, STATUS, _prop("open"), T0 + timedelta(minutes=5)),
    ]
    with store.transaction(tenant) as tx:
        tx.insert(_entity(entity_id, "[removed]"))
        tx.append_history(rows)


def _history(store: ContextStore, tenant: str, entity_id: str) -> dict[str, list[Any]]:
    [found] = store.query_temporal(tenant, TemporalQuery(EntityQuery(ids=(entity_id,))))
    return {attr: [i["value"] for i in instances] for attr, instances in found.history.items()}


def test_delete_one_attribute_history_among_several(store: ContextStore) -> None:
    for tenant in ("city", "other"):
        _write(store, tenant, EID)
    _write(store, "city", OTHER)
    before = store.get_entity("city", EID)
    assert len(_history(store, "city", EID)[DESCRIPTION]) == 3

    assert store.delete_history("city", EID, [DESCRIPTION]) == 3

    assert _history(store, "city", EID) == {ADDRESS: ["Str. Lungă 1"], STATUS: ["new", "open"]}
    # the current document is unchanged: the redacted value stays the only one
    assert store.get_entity("city", EID) == before
    # another entity, and the same entity id in another tenant, keep their history
    assert len(_history(store, "city", OTHER)[DESCRIPTION]) == 3
    assert len(_history(store, "other", EID)[DESCRIPTION]) == 3
    # an attribute-filtered, a lastN and an aggregating query see nothing of it either
    only = TemporalQuery(EntityQuery(ids=(EID,)), attrs=frozenset({DESCRIPTION}))
    assert [e.history for e in store.query_temporal("city", only)] == [{}]
    last = TemporalQuery(EntityQuery(ids=(EID,)), attrs=frozenset({DESCRIPTION}), last_n=5)
    assert [e.history for e in store.query_temporal("city", last)] == [{}]
    counted = TemporalQuery(
        EntityQuery(ids=(EID,)), attrs=frozenset({DESCRIPTION}), aggr_methods=("totalCount",)
    )
    assert all(DESCRIPTION not in e.aggregates for e in store.query_temporal("city", counted))
    # deleting again removes nothing; later writes of the attribute are recorded again
    assert store.delete_history("city", EID, [DESCRIPTION]) == 0
    with store.transaction("city") as tx:
        tx.append_history([HistoryRow(EID, DESCRIPTION, _prop("new text"), T0, entity_type=REPORT)])
    assert _history(store, "city", EID)[DESCRIPTION] == ["new text"]


def test_delete_several_attributes_and_the_count(store: ContextStore) -> None:
    _write(store, "city", EID)
    assert store.delete_history("city", EID, [DESCRIPTION, ADDRESS, DESCRIPTION]) == 4
    assert _history(store, "city", EID) == {STATUS: ["new", "open"]}


def test_unknown_entity_attribute_or_tenant_removes_nothing(store: ContextStore) -> None:
    _write(store, "city", EID)
    assert store.delete_history("city", "urn:x:missing", [DESCRIPTION]) == 0
    assert store.delete_history("city", EID, [VOCAB + "never-used"]) == 0
    assert store.delete_history("nobody", EID, [DESCRIPTION]) == 0
    assert store.delete_history("city", EID, []) == 0
    # a short name is not the expanded IRI: nothing matches
    assert store.delete_history("city", EID, ["description"]) == 0
    assert len(_history(store, "city", EID)[DESCRIPTION]) == 3
