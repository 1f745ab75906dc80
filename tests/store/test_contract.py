"""The contract every context-store backend must meet (runs on SQLite and on PostgreSQL).

Queries are built from AST nodes and :class:`GeoQuery` objects directly, so this suite does
not depend on the parsers. Semantics it pins down (both backends must agree):

* results are ordered by entity id; ``limit``/``offset``/``count`` apply after every filter;
* a comparison on a multi-instance attribute matches when *any* instance matches; a
  comparison on an attribute the entity lacks is false (also for ``!=``);
* temporal ``timerel``: before is ``t < timeAt``, after is ``t >= timeAt``, between is
  ``timeAt <= t < endTimeAt``; ``lastN`` keeps the newest N per attribute and datasetId and
  returns them oldest first;
* aggregation buckets start at ``timeAt`` (after/between) or at the first instance, are
  ``aggr_period`` wide, and only buckets holding instances are returned; ``stddev`` is the
  *population* standard deviation (divide by n).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cetate.errors import AlreadyExists
from cetate.ngsi.model import LOCATION, OBSERVATION_SPACE
from cetate.ngsi.query_ast import (
    And,
    AttrPath,
    Comparison,
    Exists,
    Or,
    QueryNode,
    TypeAnd,
    TypeName,
    TypeOr,
    ValueList,
    ValueRange,
)
from cetate.store.base import (
    ApiToken,
    ContextStore,
    EntityQuery,
    GeoQuery,
    HistoryRow,
    TemporalEntity,
    TemporalQuery,
    Tenant,
    User,
)

V = "https://example.org/vocab/"
BIN = V + "WasteContainer"
LIGHT = V + "Streetlight"
ASSET = V + "Asset"
FILL = V + "fillingLevel"
STATUS = V + "status"
NAME = V + "name"
TEMP = V + "temperature"
REF = V + "refDevice"
ADDRESS = V + "address"
ON = V + "on"
STAMP = "2026-11-23T10:00:00.000Z"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

# -- builders ----------------------------------------------------------------------------------


def prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


def entity(entity_id: str, *types: str, **attrs: Any) -> dict[str, Any]:
    """``attrs`` maps a short key (looked up in the vocabulary) to one instance or a list."""
    doc: dict[str, Any] = {
        "id": entity_id,
        "type": list(types),
        "createdAt": STAMP,
        "modifiedAt": STAMP,
    }
    for key, value in attrs.items():
        iri = {"location": LOCATION, "observationSpace": OBSERVATION_SPACE}.get(key, V + key)
        doc[iri] = value if isinstance(value, list) else [value]
    return doc


def geo(geometry_type: str, coordinates: Any) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": {"type": geometry_type, "coordinates": coordinates}}


def put(store: ContextStore, tenant: str, *docs: dict[str, Any]) -> None:
    with store.transaction(tenant) as tx:
        for doc in docs:
            tx.insert(doc)


def ids_of(docs: Iterable[dict[str, Any]]) -> list[str]:
    return [doc["id"] for doc in docs]


def query_ids(store: ContextStore, tenant: str = "t1", **kwargs: Any) -> list[str]:
    kwargs.setdefault("limit", 1000)
    return ids_of(store.query_entities(tenant, EntityQuery(**kwargs)).entities)


def q_ids(store: ContextStore, node: QueryNode) -> list[str]:
    return query_ids(store, q=node)


def cmp(
    attr: str, op: Any, value: Any, *, sub: tuple[str, ...] = (), member: tuple[str, ...] = ()
) -> Comparison:
    return Comparison(AttrPath(attr, sub, member), op, value)


# -- lifecycle, CRUD ---------------------------------------------------------------------------


def test_migrate_is_idempotent(store: ContextStore) -> None:
    store.migrate()
    store.migrate()
    assert store.get_entity("t1", "urn:x:none") is None


def test_insert_get_replace_delete(store: ContextStore) -> None:
    doc = entity("urn:x:1", BIN, fillingLevel=prop(0.5), name=prop("Piața Unirii ș ț"))
    put(store, "t1", doc)
    assert store.get_entity("t1", "urn:x:1") == doc
    assert store.get_entity("t1", "urn:x:2") is None
    assert store.get_entities("t1", ["urn:x:1", "urn:x:2"]) == {"urn:x:1": doc}
    assert store.get_entities("t1", []) == {}

    changed = entity("urn:x:1", BIN, LIGHT, fillingLevel=prop(0.9))
    with store.transaction("t1") as tx:
        current = tx.get_for_update(["urn:x:1", "urn:x:missing"])
        assert current == {"urn:x:1": doc}
        tx.replace(changed)
    assert store.get_entity("t1", "urn:x:1") == changed
    assert query_ids(store, types=TypeName(LIGHT)) == ["urn:x:1"]
    assert query_ids(store, attrs=frozenset({NAME})) == []
    assert q_ids(store, cmp(FILL, ">", 0.8)) == ["urn:x:1"]

    with store.transaction("t1") as tx:
        tx.delete("urn:x:1")
    assert store.get_entity("t1", "urn:x:1") is None
    assert query_ids(store) == []
    assert query_ids(store, types=TypeName(BIN)) == []
    assert store.entity_types("t1") == []
    assert store.attributes("t1") == []


def test_replace_without_get_for_update(store: ContextStore) -> None:
    put(store, "t1", entity("urn:x:1", BIN, fillingLevel=prop(0.1), location=geo("Point", [1, 1])))
    with store.transaction("t1") as tx:
        tx.replace(entity("urn:x:1", BIN, fillingLevel=prop(0.7), location=geo("Point", [5, 5])))
    assert q_ids(store, cmp(FILL, "==", 0.7)) == ["urn:x:1"]
    assert q_ids(store, cmp(FILL, "==", 0.1)) == []
    near_old = GeoQuery("near", {"type": "Point", "coordinates": [1, 1]}, max_distance=10)
    near_new = GeoQuery("near", {"type": "Point", "coordinates": [5, 5]}, max_distance=10)
    assert query_ids(store, geo=near_old) == []
    assert query_ids(store, geo=near_new) == ["urn:x:1"]


def test_insert_existing_id_raises_already_exists(store: ContextStore) -> None:
    put(store, "t1", entity("urn:x:1", BIN, fillingLevel=prop(1)))
    with pytest.raises(AlreadyExists), store.transaction("t1") as tx:
        tx.insert(entity("urn:x:1", BIN, fillingLevel=prop(2)))
    assert store.get_entity("t1", "urn:x:1")[FILL][0]["value"] == 1  # type: ignore[index]


def test_transaction_continues_after_already_exists(store: ContextStore) -> None:
    """Batch create catches AlreadyExists per entity and goes on in the same transaction."""
    put(store, "t1", entity("urn:x:1", BIN))
    with store.transaction("t1") as tx:
        with pytest.raises(AlreadyExists):
            tx.insert(entity("urn:x:1", LIGHT))
        tx.insert(entity("urn:x:2", BIN))
    assert query_ids(store) == ["urn:x:1", "urn:x:2"]
    assert store.get_entity("t1", "urn:x:1")["type"] == [BIN]  # type: ignore[index]


def test_rollback_leaves_nothing_changed(store: ContextStore) -> None:
    put(store, "t1", entity("urn:x:1", BIN, fillingLevel=prop(1)), entity("urn:x:2", BIN))
    before = {doc["id"]: doc for doc in store.iter_entities("t1")}

    class Boom(Exception):
        pass

    def failing_transaction() -> None:
        with store.transaction("t1") as tx:
            tx.insert(entity("urn:x:3", LIGHT, status=prop("new")))
            tx.replace(entity("urn:x:1", BIN, fillingLevel=prop(99)))
            tx.delete("urn:x:2")
            tx.append_history([HistoryRow("urn:x:1", FILL, prop(99), T0, number=99.0)])
            raise Boom

    with pytest.raises(Boom):
        failing_transaction()
    assert {doc["id"]: doc for doc in store.iter_entities("t1")} == before
    assert [t.type for t in store.entity_types("t1")] == [BIN]
    assert q_ids(store, cmp(FILL, "==", 99)) == []
    assert query_ids(store, types=TypeName(LIGHT)) == []
    history = store.query_temporal("t1", TemporalQuery(EntityQuery(ids=("urn:x:1",))))
    assert history[0].history == {}
    # names and series created in the rolled-back transaction do not break later writes
    with store.transaction("t1") as tx:
        tx.insert(entity("urn:x:3", LIGHT, status=prop("new")))
        tx.append_history([HistoryRow("urn:x:1", FILL, prop(5), T0, number=5.0)])
    assert query_ids(store, types=TypeName(LIGHT)) == ["urn:x:3"]
    assert q_ids(store, cmp(STATUS, "==", "new")) == ["urn:x:3"]
    history = store.query_temporal("t1", TemporalQuery(EntityQuery(ids=("urn:x:1",))))
    assert [i["value"] for i in history[0].history[FILL]] == [5]


def test_iter_entities_in_id_order(store: ContextStore) -> None:
    put(store, "t1", *(entity(f"urn:x:{i:03d}", BIN) for i in reversed(range(25))))
    put(store, "t2", entity("urn:x:other", BIN))
    assert ids_of(store.iter_entities("t1", batch_size=7)) == [f"urn:x:{i:03d}" for i in range(25)]


# -- tenants never mix -------------------------------------------------------------------------


def test_tenant_isolation(store: ContextStore) -> None:
    put(
        store,
        "t1",
        entity("urn:x:1", BIN, fillingLevel=prop(1), location=geo("Point", [23.6, 46.77])),
    )
    with store.transaction("t1") as tx:
        tx.append_history([HistoryRow("urn:x:1", FILL, prop(1), T0, number=1.0)])
    assert store.get_entity("t2", "urn:x:1") is None
    assert store.get_entities("t2", ["urn:x:1"]) == {}
    assert list(store.iter_entities("t2")) == []
    assert query_ids(store, "t2") == []
    assert query_ids(store, "t2", types=TypeName(BIN)) == []
    assert query_ids(store, "t2", q=cmp(FILL, "==", 1)) == []
    assert query_ids(store, "t2", attrs=frozenset({FILL})) == []
    near = GeoQuery("near", {"type": "Point", "coordinates": [23.6, 46.77]}, max_distance=10)
    assert query_ids(store, "t2", geo=near) == []
    assert store.query_entities("t2", EntityQuery(count=True)).total == 0
    assert store.entity_types("t2") == []
    assert store.attributes("t2") == []
    temporal = TemporalQuery(EntityQuery(ids=("urn:x:1",)))
    assert store.query_temporal("t2", temporal) == []
    with store.transaction("t2") as tx:
        assert tx.get_for_update(["urn:x:1"]) == {}
        tx.insert(entity("urn:x:1", LIGHT, fillingLevel=prop(2)))
    # the same id in another tenant is another entity; history stays apart
    assert store.get_entity("t1", "urn:x:1")["type"] == [BIN]  # type: ignore[index]
    assert store.get_entity("t2", "urn:x:1")["type"] == [LIGHT]  # type: ignore[index]
    [t2_entity] = store.query_temporal("t2", temporal)
    assert t2_entity.history == {}
    [t1_entity] = store.query_temporal("t1", temporal)
    assert [i["value"] for i in t1_entity.history[FILL]] == [1]
    assert query_ids(store, "t1", types=TypeName(LIGHT)) == []


# -- entity queries ----------------------------------------------------------------------------


@pytest.fixture
def city(store: ContextStore) -> ContextStore:
    put(
        store,
        "t1",
        entity(
            "urn:x:a",
            BIN,
            fillingLevel=prop(0.2),
            status=prop("ok"),
            name=prop("Str. Memorandumului"),
            address=prop({"city": "Cluj-Napoca", "zip": 400114}),
            on=prop(True),
        ),
        entity(
            "urn:x:b",
            BIN,
            fillingLevel=prop(0.75, observedAt="2026-11-23T09:00:00.000Z"),
            status=prop("full"),
            refDevice={"type": "Relationship", "object": "urn:dev:1"},
            on=prop(False),
        ),
        entity(
            "urn:x:c",
            BIN,
            ASSET,
            fillingLevel=prop(1),
            status=prop("full"),
            address=prop({"city": "Sibiu", "zip": 550000}),
        ),
        entity("urn:x:d", LIGHT, ASSET, status=prop("broken"), temperature=prop(-3.5)),
        entity(
            "urn:x:e",
            LIGHT,
            temperature=[
                prop(10, datasetId="urn:ds:north"),
                prop(30, datasetId="urn:ds:south"),
            ],
            name=prop("Bulevardul 1 Decembrie 1918"),
        ),
    )
    return store


def test_query_by_type(city: ContextStore) -> None:
    assert query_ids(city, types=TypeName(BIN)) == ["urn:x:a", "urn:x:b", "urn:x:c"]
    assert query_ids(city, types=TypeName(ASSET)) == ["urn:x:c", "urn:x:d"]
    assert query_ids(city, types=TypeName(V + "Unknown")) == []
    assert query_ids(city, types=TypeOr((TypeName(LIGHT), TypeName(ASSET)))) == [
        "urn:x:c",
        "urn:x:d",
        "urn:x:e",
    ]
    assert query_ids(city, types=TypeOr((TypeName(V + "Unknown"), TypeName(LIGHT)))) == [
        "urn:x:d",
        "urn:x:e",
    ]
    assert query_ids(city, types=TypeAnd((TypeName(BIN), TypeName(ASSET)))) == ["urn:x:c"]
    assert query_ids(city, types=TypeAnd((TypeName(BIN), TypeName(V + "Unknown")))) == []
    mixed = TypeOr((TypeAnd((TypeName(LIGHT), TypeName(ASSET))), TypeName(BIN)))
    assert query_ids(city, types=mixed) == ["urn:x:a", "urn:x:b", "urn:x:c", "urn:x:d"]
    assert query_ids(city) == ["urn:x:a", "urn:x:b", "urn:x:c", "urn:x:d", "urn:x:e"]


def test_query_by_ids_pattern_and_attrs(city: ContextStore) -> None:
    assert query_ids(city, ids=("urn:x:e", "urn:x:a", "urn:x:zzz")) == ["urn:x:a", "urn:x:e"]
    assert query_ids(city, ids=("urn:x:a", "urn:x:d"), types=TypeName(LIGHT)) == ["urn:x:d"]
    assert query_ids(city, id_pattern="^urn:x:[bd]$") == ["urn:x:b", "urn:x:d"]
    assert query_ids(city, id_pattern="[ce]") == ["urn:x:c", "urn:x:e"]
    assert query_ids(city, attrs=frozenset({TEMP})) == ["urn:x:d", "urn:x:e"]
    assert query_ids(city, attrs=frozenset({TEMP, REF})) == ["urn:x:b", "urn:x:d", "urn:x:e"]
    assert query_ids(city, attrs=frozenset({V + "nothing"})) == []
    assert query_ids(city, attrs=frozenset({NAME}), types=TypeName(BIN)) == ["urn:x:a"]


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (cmp(FILL, ">", 0.5), ["urn:x:b", "urn:x:c"]),
        (cmp(FILL, ">=", 0.75), ["urn:x:b", "urn:x:c"]),
        (cmp(FILL, "<", 0.75), ["urn:x:a"]),
        (cmp(FILL, "<=", 0.75), ["urn:x:a", "urn:x:b"]),
        (cmp(FILL, "==", 1), ["urn:x:c"]),
        (cmp(FILL, "==", 1.0), ["urn:x:c"]),
        (cmp(FILL, "!=", 1), ["urn:x:a", "urn:x:b"]),
        (cmp(FILL, "==", ValueRange(0.5, 1)), ["urn:x:b", "urn:x:c"]),
        (cmp(FILL, "!=", ValueRange(0.5, 1)), ["urn:x:a"]),
        (cmp(FILL, "==", ValueList((0.2, 1))), ["urn:x:a", "urn:x:c"]),
        (cmp(FILL, "!=", ValueList((0.2, 1))), ["urn:x:b"]),
        (cmp(STATUS, "==", "full"), ["urn:x:b", "urn:x:c"]),
        (cmp(STATUS, "!=", "full"), ["urn:x:a", "urn:x:d"]),
        (cmp(STATUS, "==", ValueList(("ok", "broken"))), ["urn:x:a", "urn:x:d"]),
        (cmp(STATUS, ">", "full"), ["urn:x:a"]),
        (cmp(STATUS, "<", "full"), ["urn:x:d"]),
        (cmp(STATUS, "==", ValueRange("a", "g")), ["urn:x:b", "urn:x:c", "urn:x:d"]),
        (cmp(STATUS, "==", 1), []),
        (cmp(FILL, "==", "1"), []),
        (cmp(FILL, ">", "a"), []),
        (cmp(NAME, "~=", "Memorandum"), ["urn:x:a"]),
        (cmp(NAME, "~=", "^Bulevardul"), ["urn:x:e"]),
        (cmp(NAME, "!~=", "Memorandum"), ["urn:x:e"]),
        (cmp(REF, "==", "urn:dev:1"), ["urn:x:b"]),
        (cmp(TEMP, "<", 0), ["urn:x:d"]),
        (cmp(V + "nothing", "==", 1), []),
        (cmp(V + "nothing", "!=", 1), []),
        (Exists(AttrPath(TEMP)), ["urn:x:d", "urn:x:e"]),
        (Exists(AttrPath(V + "nothing")), []),
        (And((cmp(FILL, ">", 0.1), cmp(STATUS, "==", "full"))), ["urn:x:b", "urn:x:c"]),
        (Or((cmp(FILL, "<", 0.5), cmp(STATUS, "==", "broken"))), ["urn:x:a", "urn:x:d"]),
        (
            And((Or((cmp(FILL, "==", 1), Exists(AttrPath(TEMP)))), cmp(STATUS, "!=", "broken"))),
            ["urn:x:c"],
        ),
    ],
)
def test_query_q(city: ContextStore, node: QueryNode, expected: list[str]) -> None:
    assert q_ids(city, node) == expected


def test_query_q_multi_instance_attribute_matches_any_instance(city: ContextStore) -> None:
    assert q_ids(city, cmp(TEMP, ">", 20)) == ["urn:x:e"]
    assert q_ids(city, cmp(TEMP, "<", 20)) == ["urn:x:d", "urn:x:e"]
    assert q_ids(city, cmp(TEMP, "==", 30)) == ["urn:x:e"]
    assert q_ids(city, cmp(TEMP, "==", ValueRange(11, 29))) == []


def test_query_q_evaluated_beyond_scalars(city: ContextStore) -> None:
    """Member paths, sub-attribute timestamps and booleans (a backend may evaluate these in
    Python; the answers and the count must be the same)."""
    assert q_ids(city, cmp(ADDRESS, "==", "Sibiu", member=("city",))) == ["urn:x:c"]
    assert q_ids(city, cmp(ADDRESS, ">", 500000, member=("zip",))) == ["urn:x:c"]
    assert q_ids(city, Exists(AttrPath(ADDRESS, (), ("zip",)))) == ["urn:x:a", "urn:x:c"]
    assert q_ids(city, cmp(FILL, "<", "2026-11-23T10:00:00Z", sub=("observedAt",))) == ["urn:x:b"]
    assert q_ids(city, cmp(V + "on", "==", True)) == ["urn:x:a"]
    assert q_ids(city, cmp(V + "on", "==", False)) == ["urn:x:b"]
    mixed = And((cmp(ADDRESS, "==", "Cluj-Napoca", member=("city",)), cmp(FILL, "<", 0.5)))
    assert q_ids(city, mixed) == ["urn:x:a"]
    either = Or((cmp(ADDRESS, "==", "Sibiu", member=("city",)), cmp(STATUS, "==", "broken")))
    result = city.query_entities("t1", EntityQuery(q=either, limit=1, offset=1, count=True))
    assert ids_of(result.entities) == ["urn:x:d"]
    assert result.total == 2


def test_pagination_and_count(store: ContextStore) -> None:
    put(
        store,
        "t1",
        *(entity(f"urn:x:{i:02d}", BIN if i % 2 else LIGHT, n=prop(i)) for i in range(30)),
    )
    first = store.query_entities("t1", EntityQuery(limit=10, count=True))
    assert ids_of(first.entities) == [f"urn:x:{i:02d}" for i in range(10)]
    assert first.total == 30
    assert store.query_entities("t1", EntityQuery(limit=10)).total is None
    last = store.query_entities("t1", EntityQuery(limit=10, offset=25, count=True))
    assert ids_of(last.entities) == [f"urn:x:{i:02d}" for i in range(25, 30)]
    assert last.total == 30
    beyond = store.query_entities("t1", EntityQuery(limit=10, offset=40, count=True))
    assert (beyond.entities, beyond.total) == ([], 30)
    only_count = store.query_entities("t1", EntityQuery(limit=0, count=True))
    assert (only_count.entities, only_count.total) == ([], 30)
    odd = EntityQuery(types=TypeName(BIN), q=cmp(V + "n", ">=", 10), limit=3, offset=2, count=True)
    result = store.query_entities("t1", odd)
    assert ids_of(result.entities) == ["urn:x:15", "urn:x:17", "urn:x:19"]
    assert result.total == 10
    pages = [
        ids_of(store.query_entities("t1", EntityQuery(limit=7, offset=o)).entities)
        for o in range(0, 30, 7)
    ]
    assert [i for page in pages for i in page] == [f"urn:x:{i:02d}" for i in range(30)]


# -- geo-queries -------------------------------------------------------------------------------

P1 = [23.60, 46.77]
P2 = [23.61, 46.77]  # about 762 m east of P1
SQUARE = [[[23.59, 46.765], [23.62, 46.765], [23.62, 46.775], [23.59, 46.775], [23.59, 46.765]]]


def box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    ring = [
        [min_lon, min_lat],
        [max_lon, min_lat],
        [max_lon, max_lat],
        [min_lon, max_lat],
        [min_lon, min_lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def shapes(store: ContextStore) -> ContextStore:
    put(
        store,
        "t1",
        entity("urn:g:point1", BIN, location=geo("Point", P1)),
        entity("urn:g:point2", LIGHT, location=geo("Point", P2)),
        # a north-south line about 1.5 km west of P1
        entity("urn:g:line", LIGHT, location=geo("LineString", [[23.58, 46.76], [23.58, 46.78]])),
        entity("urn:g:square", ASSET, location=geo("Polygon", SQUARE)),
        entity(
            "urn:g:multi",
            ASSET,
            location=geo(
                "MultiPolygon",
                [
                    box(23.70, 46.70, 23.71, 46.71)["coordinates"],
                    box(23.72, 46.70, 23.73, 46.71)["coordinates"],
                ],
            ),
        ),
        entity("urn:g:nowhere", BIN, status=prop("no location")),
        entity("urn:g:observed", BIN, observationSpace=geo("Point", P1)),
    )
    return store


def point(coordinates: list[float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": coordinates}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (GeoQuery("near", point(P1), max_distance=100), ["urn:g:point1", "urn:g:square"]),
        (
            GeoQuery("near", point(P1), max_distance=1000),
            ["urn:g:point1", "urn:g:point2", "urn:g:square"],
        ),
        (
            GeoQuery("near", point(P1), max_distance=2000),
            ["urn:g:line", "urn:g:point1", "urn:g:point2", "urn:g:square"],
        ),
        (GeoQuery("near", point(P1), min_distance=1000), ["urn:g:line", "urn:g:multi"]),
        (
            GeoQuery("near", point(P1), min_distance=500, max_distance=2000),
            ["urn:g:line", "urn:g:point2"],
        ),
        (
            GeoQuery("within", box(23.55, 46.75, 23.65, 46.79)),
            ["urn:g:line", "urn:g:point1", "urn:g:point2", "urn:g:square"],
        ),
        (GeoQuery("within", box(23.695, 46.695, 23.735, 46.715)), ["urn:g:multi"]),
        (GeoQuery("contains", point(P1)), ["urn:g:point1", "urn:g:square"]),
        (GeoQuery("contains", point([23.705, 46.705])), ["urn:g:multi"]),
        (GeoQuery("intersects", box(23.705, 46.705, 23.715, 46.715)), ["urn:g:multi"]),
        (
            GeoQuery(
                "intersects",
                {"type": "LineString", "coordinates": [[23.57, 46.77], [23.595, 46.77]]},
            ),
            ["urn:g:line", "urn:g:square"],
        ),
        (GeoQuery("equals", point(P2)), ["urn:g:point2"]),
        (GeoQuery("equals", {"type": "Polygon", "coordinates": SQUARE}), ["urn:g:square"]),
        (GeoQuery("disjoint", box(23.55, 46.75, 23.65, 46.79)), ["urn:g:multi"]),
        (GeoQuery("overlaps", box(23.60, 46.77, 23.63, 46.78)), ["urn:g:square"]),
        (
            GeoQuery("near", point(P1), max_distance=10, geoproperty=OBSERVATION_SPACE),
            ["urn:g:observed"],
        ),
        (GeoQuery("near", point(P1), max_distance=10, geoproperty=V + "nothing"), []),
    ],
)
def test_geo_query(shapes: ContextStore, query: GeoQuery, expected: list[str]) -> None:
    assert query_ids(shapes, geo=query) == expected


def test_geo_query_combined_with_type_q_and_count(shapes: ContextStore) -> None:
    near = GeoQuery("near", point(P1), max_distance=1000)
    result = shapes.query_entities(
        "t1", EntityQuery(types=TypeName(LIGHT), geo=near, limit=5, count=True)
    )
    assert (ids_of(result.entities), result.total) == (["urn:g:point2"], 1)
    page = shapes.query_entities("t1", EntityQuery(geo=near, limit=1, offset=1, count=True))
    assert (ids_of(page.entities), page.total) == (["urn:g:point2"], 3)
    assert query_ids(shapes, geo=near, attrs=frozenset({STATUS})) == []


def test_geo_index_follows_updates(shapes: ContextStore) -> None:
    with shapes.transaction("t1") as tx:
        doc = tx.get_for_update(["urn:g:point2"])["urn:g:point2"]
        doc[LOCATION] = [geo("Point", [10.0, 10.0])]
        tx.replace(doc)
        tx.delete("urn:g:point1")
    near = GeoQuery("near", point(P1), max_distance=1000)
    assert query_ids(shapes, geo=near) == ["urn:g:square"]
    assert query_ids(shapes, geo=GeoQuery("near", point([10, 10]), max_distance=1)) == [
        "urn:g:point2"
    ]


# -- discovery ---------------------------------------------------------------------------------


def test_entity_types_and_attributes(city: ContextStore) -> None:
    types = {t.type: t for t in city.entity_types("t1")}
    assert set(types) == {BIN, LIGHT, ASSET}
    assert types[BIN].entity_count == 3
    assert types[ASSET].entity_count == 2
    assert types[LIGHT].attributes == {STATUS, TEMP, NAME}
    assert types[ASSET].attributes == {FILL, STATUS, ADDRESS, TEMP}
    attrs = {a.attribute: a for a in city.attributes("t1")}
    assert attrs[TEMP].types == {LIGHT, ASSET}
    assert attrs[TEMP].attribute_count == 3  # instances: one on d, two (datasets) on e
    assert attrs[REF].attribute_types == {"Relationship"}
    assert attrs[REF].types == {BIN}
    assert attrs[STATUS].attribute_count == 4
    assert attrs[FILL].attribute_types == {"Property"}


# -- history -----------------------------------------------------------------------------------


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iso_at(minutes: int) -> str:
    moment = at(minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


FILL_SERIES = [(0, 1), (20, 2), (40, 3), (60, 4), (90, 6)]
"""(minutes after 10:00, value)"""


@pytest.fixture
def history(store: ContextStore) -> ContextStore:
    put(
        store,
        "t1",
        entity("urn:h:1", BIN, fillingLevel=prop(6), status=prop("full")),
        entity("urn:h:2", LIGHT, temperature=prop(3)),
    )
    rows = [
        HistoryRow(
            "urn:h:1",
            FILL,
            prop(v, observedAt=iso_at(m), modifiedAt=iso_at(m + 1)),
            at(m),
            number=float(v),
            entity_type=BIN,
        )
        for m, v in FILL_SERIES
    ]
    rows += [
        HistoryRow("urn:h:1", STATUS, prop(s), at(m), entity_type=BIN)
        for m, s in [(5, "ok"), (25, "ok"), (65, "full")]
    ]
    rows += [
        HistoryRow("urn:h:2", TEMP, prop(t, datasetId=ds), at(m), ds, float(t), LIGHT)
        for m, t, ds in [(0, 1, "urn:ds:a"), (10, 2, "urn:ds:b"), (20, 3, "urn:ds:a")]
    ]
    with store.transaction("t1") as tx:
        tx.append_history(rows[:4])
    with store.transaction("t1") as tx:
        tx.append_history(rows[4:])
    return store


def temporal(store: ContextStore, **kwargs: Any) -> dict[str, TemporalEntity]:
    entities = kwargs.pop("entities", EntityQuery(limit=100))
    return {e.id: e for e in store.query_temporal("t1", TemporalQuery(entities, **kwargs))}


def values(found: TemporalEntity, attr: str) -> list[Any]:
    return [instance["value"] for instance in found.history.get(attr, [])]


def test_temporal_full_history(history: ContextStore) -> None:
    found = temporal(history)
    assert set(found) == {"urn:h:1", "urn:h:2"}
    assert found["urn:h:1"].types == [BIN]
    assert values(found["urn:h:1"], FILL) == [1, 2, 3, 4, 6]
    assert [i["observedAt"] for i in found["urn:h:1"].history[FILL]] == [
        iso_at(m) for m, _ in FILL_SERIES
    ]
    # an instance without observedAt gets the write time
    assert [i["observedAt"] for i in found["urn:h:1"].history[STATUS]] == [
        iso_at(5),
        iso_at(25),
        iso_at(65),
    ]
    # both datasets of one attribute, merged in time order, each marked
    assert values(found["urn:h:2"], TEMP) == [1, 2, 3]
    assert [i["datasetId"] for i in found["urn:h:2"].history[TEMP]] == [
        "urn:ds:a",
        "urn:ds:b",
        "urn:ds:a",
    ]


def test_temporal_entity_selection_and_attrs(history: ContextStore) -> None:
    found = temporal(history, entities=EntityQuery(types=TypeName(BIN)), attrs=frozenset({FILL}))
    assert list(found) == ["urn:h:1"]
    assert list(found["urn:h:1"].history) == [FILL]
    found = temporal(history, entities=EntityQuery(q=cmp(TEMP, "==", 3)))
    assert list(found) == ["urn:h:2"]
    assert temporal(history, entities=EntityQuery(ids=("urn:h:none",))) == {}
    nothing = temporal(history, entities=EntityQuery(ids=("urn:h:1",)), attrs=frozenset({TEMP}))
    assert nothing["urn:h:1"].history == {}


@pytest.mark.parametrize(
    ("timerel", "time_at", "end_time_at", "expected"),
    [
        ("before", 40, None, [1, 2]),
        ("after", 40, None, [3, 4, 6]),
        ("between", 20, 60, [2, 3]),
        ("between", 0, 91, [1, 2, 3, 4, 6]),
        ("after", 91, None, []),
    ],
)
def test_temporal_timerel_observed_at(
    history: ContextStore, timerel: Any, time_at: int, end_time_at: int | None, expected: list[int]
) -> None:
    found = temporal(
        history,
        entities=EntityQuery(ids=("urn:h:1",)),
        attrs=frozenset({FILL}),
        timerel=timerel,
        time_at=at(time_at),
        end_time_at=None if end_time_at is None else at(end_time_at),
    )
    assert values(found["urn:h:1"], FILL) == expected


def test_temporal_timerel_modified_at(history: ContextStore) -> None:
    # modifiedAt of each instance is one minute after its observedAt
    found = temporal(
        history,
        entities=EntityQuery(ids=("urn:h:1",)),
        attrs=frozenset({FILL}),
        timerel="before",
        time_at=at(22),
        timeproperty="modifiedAt",
    )
    assert values(found["urn:h:1"], FILL) == [1, 2]


def test_temporal_last_n(history: ContextStore) -> None:
    found = temporal(history, last_n=2)
    assert values(found["urn:h:1"], FILL) == [4, 6]
    assert [i["value"] for i in found["urn:h:1"].history[STATUS]] == ["ok", "full"]
    # per datasetId: newest two of a (1, 3) and the only one of b (2)
    assert values(found["urn:h:2"], TEMP) == [1, 2, 3]
    before = temporal(
        history,
        entities=EntityQuery(ids=("urn:h:1",)),
        attrs=frozenset({FILL}),
        last_n=2,
        timerel="before",
        time_at=at(60),
    )
    assert values(before["urn:h:1"], FILL) == [2, 3]


def aggregates(store: ContextStore, **kwargs: Any) -> dict[str, dict[str, list[Any]]]:
    found = temporal(
        store,
        entities=EntityQuery(ids=("urn:h:1",)),
        aggr_methods=("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev"),
        **kwargs,
    )
    return found["urn:h:1"].aggregates


def test_temporal_aggregation_by_hour(history: ContextStore) -> None:
    result = aggregates(
        history,
        attrs=frozenset({FILL}),
        timerel="between",
        time_at=at(0),
        end_time_at=at(120),
        aggr_period=timedelta(hours=1),
    )
    fill = result[FILL]
    hours = [(iso_at(0), iso_at(60)), (iso_at(60), iso_at(120))]
    assert [(s, e) for _, s, e in fill["totalCount"]] == hours
    assert [v for v, _, _ in fill["totalCount"]] == [3, 2]
    assert [v for v, _, _ in fill["distinctCount"]] == [3, 2]
    assert [v for v, _, _ in fill["sum"]] == pytest.approx([6, 10])
    assert [v for v, _, _ in fill["avg"]] == pytest.approx([2, 5])
    assert [v for v, _, _ in fill["min"]] == pytest.approx([1, 4])
    assert [v for v, _, _ in fill["max"]] == pytest.approx([3, 6])
    # population standard deviation: sqrt(((1-2)² + 0 + (3-2)²) / 3), sqrt((1 + 1) / 2)
    assert [v for v, _, _ in fill["stddev"]] == pytest.approx([math.sqrt(2 / 3), 1.0])


def test_temporal_aggregation_single_bucket_and_text_values(history: ContextStore) -> None:
    result = aggregates(history)
    fill = result[FILL]
    assert fill["totalCount"][0][0] == 5
    assert fill["sum"][0][0] == pytest.approx(16)
    assert fill["avg"][0][0] == pytest.approx(3.2)
    # Σx² = 66: sqrt(66/5 − 3.2²) = sqrt(2.96)
    assert fill["stddev"][0][0] == pytest.approx(math.sqrt(2.96))
    assert len(fill["avg"]) == 1
    assert fill["avg"][0][1] == iso_at(0)  # from the first instance
    status = result[STATUS]
    assert status["totalCount"][0][0] == 3
    assert status["distinctCount"][0][0] == 2


def test_temporal_aggregation_buckets_start_at_time_at(history: ContextStore) -> None:
    result = aggregates(
        history,
        attrs=frozenset({FILL}),
        timerel="after",
        time_at=at(30),
        aggr_period=timedelta(minutes=30),
    )
    fill = result[FILL]
    # 40 → [10:30, 11:00); 60 → [11:00, 11:30); 90 → [11:30, 12:00)
    assert [(v, s) for v, s, _ in fill["totalCount"]] == [
        (1, iso_at(30)),
        (1, iso_at(60)),
        (1, iso_at(90)),
    ]
    assert [v for v, _, _ in fill["max"]] == pytest.approx([3, 4, 6])


# -- platform records --------------------------------------------------------------------------


def test_tenants_round_trip(store: ContextStore) -> None:
    assert store.list_tenants() == []
    assert store.get_tenant("cluj") is None
    store.put_tenant(Tenant("cluj", "Cluj-Napoca", frozenset({BIN})))
    store.put_tenant(Tenant("brasov", "Brașov"))
    assert store.get_tenant("cluj") == Tenant("cluj", "Cluj-Napoca", frozenset({BIN}))
    store.put_tenant(Tenant("cluj", "Municipiul Cluj-Napoca", frozenset({BIN, LIGHT})))
    assert [t.name for t in store.list_tenants()] == ["brasov", "cluj"]
    assert store.get_tenant("cluj") == Tenant(
        "cluj", "Municipiul Cluj-Napoca", frozenset({BIN, LIGHT})
    )
    assert store.get_tenant("brasov") == Tenant("brasov", "Brașov", frozenset())


def test_users_round_trip(store: ContextStore) -> None:
    assert store.get_user("ana") is None
    ana = User("ana", "$argon2id$hash", "Ana Popescu", {"cluj": "admin", "brasov": "viewer"})
    store.put_user(ana)
    store.put_user(User("ion", "h2", "Ion Țară", {"cluj": "operator"}))
    assert store.get_user("ana") == ana
    assert [u.username for u in store.list_users("cluj")] == ["ana", "ion"]
    assert [u.username for u in store.list_users("brasov")] == ["ana"]
    assert store.list_users("iasi") == []
    changed = User("ana", "new-hash", "Ana P.", {"iasi": "operator"})
    store.put_user(changed)
    assert store.get_user("ana") == changed
    assert [u.username for u in store.list_users("cluj")] == ["ion"]
    assert [u.username for u in store.list_users("iasi")] == ["ana"]


def test_tokens_round_trip(store: ContextStore) -> None:
    created = datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=UTC)
    token = ApiToken("tok1", "a" * 64, "cluj", "operator", "bins gateway", created)
    store.put_token(token)
    store.put_token(ApiToken("tok2", "b" * 64, "brasov", "viewer", "dashboard", created))
    assert store.find_token("a" * 64) == token
    assert store.find_token("c" * 64) is None
    assert [t.token_id for t in store.list_tokens("cluj")] == ["tok1"]
    store.revoke_token("tok1")
    revoked = store.find_token("a" * 64)
    assert revoked is not None
    assert revoked.revoked
    assert store.list_tokens("cluj")[0].revoked
    assert not store.find_token("b" * 64).revoked  # type: ignore[union-attr]


def test_settings_round_trip(store: ContextStore) -> None:
    assert store.get_setting("session_secret") is None
    store.put_setting("session_secret", "s1")
    store.put_setting("session_secret", "s2")
    store.put_setting("other", "ă î â ș ț")
    assert store.get_setting("session_secret") == "s2"
    assert store.get_setting("other") == "ă î â ș ț"


# -- concurrency -------------------------------------------------------------------------------


def test_concurrent_readers_and_writers(store: ContextStore) -> None:
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(20):
                with store.transaction("t1") as tx:
                    doc = entity(f"urn:w:{worker}:{i:02d}", BIN, fillingLevel=prop(i))
                    tx.insert(doc)
                    tx.append_history([HistoryRow(doc["id"], FILL, prop(i), at(i), number=i)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(40):
                store.query_entities("t1", EntityQuery(types=TypeName(BIN), count=True))
                store.get_entity("t1", "urn:w:0:00")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = store.query_entities("t1", EntityQuery(q=cmp(FILL, ">=", 10), count=True, limit=0))
    assert result.total == 30
