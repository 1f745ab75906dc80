"""PostgreSQL-only behaviour: migrations, monthly history partitions, retention, and queries
compiled to SQL giving the same answers as the SQLite backend."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from cetate.errors import AlreadyExists, ResourceNotFound
from cetate.ngsi.query_ast import QueryNode
from cetate.ngsi.query_language import map_attribute_names, parse_q
from cetate.store.base import EntityQuery, GeoQuery, HistoryRow, TemporalQuery
from cetate.store.postgres import PostgresStore, migration_files
from cetate.store.sqlite import SQLiteStore

pytestmark = pytest.mark.postgres

VOCAB = "https://example.org/"
T_BIN = VOCAB + "Bin"
LEVEL = VOCAB + "level"
LOCATION = "https://uri.etsi.org/ngsi-ld/location"


@pytest.fixture
def pg(postgres_database_url: str) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_database_url)
    store.migrate()
    yield store
    store.close()


def _row(entity_id: str, value: float, moment: datetime) -> HistoryRow:
    return HistoryRow(
        entity_id=entity_id,
        attr=LEVEL,
        instance={"type": "Property", "value": value},
        observed_at=moment,
        number=value,
        entity_type=T_BIN,
    )


def test_migrate_is_idempotent_and_recorded(pg: PostgresStore) -> None:
    pg.migrate()
    pg.migrate()
    assert pg.schema_version() == migration_files()[-1][0]


def test_concurrent_migrations_apply_each_file_once(postgres_database_url: str) -> None:
    stores = [PostgresStore(postgres_database_url, max_connections=2) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def run(store: PostgresStore) -> None:
        try:
            barrier.wait()
            store.migrate()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert errors == []
    with psycopg.connect(postgres_database_url) as conn:
        rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [v for v, _, _ in migration_files()]


def test_history_rows_land_in_monthly_partitions(pg: PostgresStore) -> None:
    with pg.transaction("t") as tx:
        tx.insert({"id": "urn:b:1", "type": [T_BIN]})
        tx.append_history(
            [
                _row("urn:b:1", 1, datetime(2026, 10, 31, 23, 59, tzinfo=UTC)),
                _row("urn:b:1", 2, datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
                _row("urn:b:1", 3, datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
                _row("urn:b:1", 4, datetime(2027, 1, 5, tzinfo=UTC)),
            ]
        )
    assert pg.history_partitions() == [
        "history_default",
        "history_y2026m10",
        "history_y2026m11",
        "history_y2027m01",
    ]
    with psycopg.connect(pg._url) as conn:
        rows = conn.execute(
            "SELECT tableoid::regclass::text, number FROM history ORDER BY number"
        ).fetchall()
    assert rows == [
        ("history_y2026m10", 1.0),
        ("history_y2026m11", 2.0),
        ("history_y2026m11", 3.0),
        ("history_y2027m01", 4.0),
    ]


def test_retention_drops_whole_partitions(pg: PostgresStore) -> None:
    with pg.transaction("t") as tx:
        tx.insert({"id": "urn:b:1", "type": [T_BIN]})
        tx.append_history(
            [_row("urn:b:1", m, datetime(2026, m, 15, tzinfo=UTC)) for m in range(1, 7)]
        )
    dropped = pg.drop_history_before(datetime(2026, 4, 1, tzinfo=UTC))
    assert dropped == ["history_y2026m01", "history_y2026m02", "history_y2026m03"]
    result = pg.query_temporal("t", TemporalQuery(EntityQuery(ids=("urn:b:1",))))
    assert [i["value"] for i in result[0].history[LEVEL]] == [4, 5, 6]
    # writing into a dropped month again recreates its partition
    with pg.transaction("t") as tx:
        tx.append_history([_row("urn:b:1", 9, datetime(2026, 2, 2, tzinfo=UTC))])
    assert "history_y2026m02" in pg.history_partitions()


def test_partitions_created_by_another_process_are_reused(postgres_database_url: str) -> None:
    a, b = PostgresStore(postgres_database_url), PostgresStore(postgres_database_url)
    try:
        a.migrate()
        moment = datetime(2026, 5, 5, tzinfo=UTC)
        for store in (a, b):
            with store.transaction("t") as tx:
                tx.append_history([_row("urn:b:1", 1, moment)])
        assert a.history_partitions() == ["history_default", "history_y2026m05"]
    finally:
        a.close()
        b.close()


def test_stores_racing_to_create_the_same_partition(postgres_database_url: str) -> None:
    """Each store stands for another process: its own cache, its own lock."""
    stores = [PostgresStore(postgres_database_url, max_connections=2) for _ in range(4)]
    stores[0].migrate()
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def write(n: int, store: PostgresStore) -> None:
        try:
            barrier.wait()
            for month in range(1, 13):
                with store.transaction("t") as tx:
                    tx.append_history(
                        [_row(f"urn:b:{n}", month, datetime(2030, month, 2, tzinfo=UTC))]
                    )
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=write, args=(n, s)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert len(stores[0].history_partitions()) == 13
        assert stores[0].query_temporal("t", TemporalQuery(EntityQuery(ids=("urn:b:0",)))) == []
    finally:
        for s in stores:
            s.close()


def test_insert_of_existing_entity_keeps_the_transaction_usable(pg: PostgresStore) -> None:
    with pg.transaction("t") as tx:
        tx.insert({"id": "urn:b:1", "type": [T_BIN]})
    with pg.transaction("t") as tx:
        with pytest.raises(AlreadyExists):
            tx.insert({"id": "urn:b:1", "type": [T_BIN]})
        with pytest.raises(ResourceNotFound):
            tx.replace({"id": "urn:b:404", "type": [T_BIN]})
        tx.insert({"id": "urn:b:2", "type": [T_BIN]})
    assert sorted(pg.get_entities("t", ["urn:b:1", "urn:b:2"])) == ["urn:b:1", "urn:b:2"]


def test_large_batches_go_through_copy(pg: PostgresStore) -> None:
    docs = [
        {
            "id": f"urn:b:{i:04d}",
            "type": [T_BIN],
            LEVEL: [{"type": "Property", "value": i, "note\t": "tab\\back\nslash"}],
            LOCATION: [
                {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [23.0, 46.0]}}
            ],
        }
        for i in range(300)
    ]
    with pg.transaction("t") as tx:
        for d in docs:
            tx.insert(d)
    with pg.transaction("t") as tx:
        current = tx.get_for_update([d["id"] for d in docs])
        assert len(current) == 300
        for d in docs:
            d[LEVEL][0]["value"] += 1000
            tx.replace(d)
    assert pg.get_entity("t", "urn:b:0007") == docs[7]
    near = pg.query_entities(
        "t",
        EntityQuery(
            geo=GeoQuery("near", {"type": "Point", "coordinates": [23.0, 46.0]}, max_distance=1),
            count=True,
            limit=1,
        ),
    )
    assert near.total == 300


# -- the same answers as SQLite ----------------------------------------------------------------

ENTITIES = [
    {
        "id": f"urn:x:{i:02d}",
        "type": [T_BIN] if i % 3 else [T_BIN, VOCAB + "Other"],
        LEVEL: [{"type": "Property", "value": value}],
        VOCAB + "status": [{"type": "Property", "value": status}],
        VOCAB + "owner": [{"type": "Relationship", "object": f"urn:owner:{i % 2}"}],
        LOCATION: [
            {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [23.59 + i * 0.001, 46.77]},
            }
        ],
    }
    for i, (value, status) in enumerate(
        [
            (0.5, "ok"),
            (3, "full"),
            (3.0, "ok"),
            (10, "Ok"),
            (-2, "broken"),
            ("7", "ok"),
            (True, "full"),
            ({"a": 1}, "ok"),
            ([1, 20], "x"),
            (None, "ok"),
            (99.5, "zz"),
            ("abc", "full"),
        ]
    )
]
ENTITIES[4][VOCAB + "status"].append({"type": "Property", "value": "ok", "datasetId": "urn:d:2"})
ENTITIES[5][LEVEL][0]["https://example.org/accuracy"] = {"type": "Property", "value": 0.1}

QUERIES = [
    "level>2",
    "level>=3",
    "level<3",
    "level<=0.5",
    "level==3",
    "level!=3",
    "level==1..10",
    "level!=1..10",
    "level==3,10,99.5",
    "level!=3,10",
    'level=="7"',
    "level==true",
    'status=="ok"',
    'status!="ok"',
    'status>"m"',
    'status=="ok","full"',
    'status=="ok".."zz"',
    'status~="^o"',
    'status!~="^o"',
    'status~="(?i)^o"',
    "owner==urn:owner:1",
    "level",
    "nothing",
    "level.accuracy",
    "level.accuracy>0",
    'level>2;status=="ok"',
    'level>2|status=="broken"',
    '(level>2|level<0);status!="full"',
    "level.observedAt>2020-01-01T00:00:00Z",
    "level[a]==1",
]


@pytest.fixture
def both(tmp_path: Path, pg: PostgresStore) -> Iterator[tuple[SQLiteStore, PostgresStore]]:
    lite = SQLiteStore(f"sqlite:///{tmp_path / 'x.db'}")
    lite.migrate()
    for store in (lite, pg):
        with store.transaction("t") as tx:
            for doc in ENTITIES:
                tx.insert(doc)
    yield lite, pg
    lite.close()


def _q(text: str) -> QueryNode:
    return map_attribute_names(parse_q(text), lambda term: VOCAB + term)


def _ids(store: SQLiteStore | PostgresStore, query: EntityQuery) -> list[str]:
    return [e["id"] for e in store.query_entities("t", query).entities]


@pytest.mark.parametrize("text", QUERIES)
def test_q_gives_the_same_answer_as_sqlite(
    both: tuple[SQLiteStore, PostgresStore], text: str
) -> None:
    lite, pg = both
    query = EntityQuery(q=_q(text), limit=100, count=True)
    assert _ids(pg, query) == _ids(lite, query)
    assert pg.query_entities("t", query).total == lite.query_entities("t", query).total


@pytest.mark.parametrize(
    "geo",
    [
        GeoQuery("near", {"type": "Point", "coordinates": [23.59, 46.77]}, max_distance=400),
        GeoQuery("near", {"type": "Point", "coordinates": [23.59, 46.77]}, min_distance=400),
        GeoQuery(
            "within",
            {
                "type": "Polygon",
                "coordinates": [
                    [[23.592, 46.7], [23.6, 46.7], [23.6, 46.8], [23.592, 46.8], [23.592, 46.7]]
                ],
            },
        ),
        GeoQuery("equals", {"type": "Point", "coordinates": [23.593, 46.77]}),
        GeoQuery("disjoint", {"type": "Point", "coordinates": [23.593, 46.77]}),
        GeoQuery(
            "intersects",
            {"type": "LineString", "coordinates": [[23.5905, 46.0], [23.5905, 47.0]]},
        ),
    ],
)
def test_geo_queries_give_the_same_answer_as_sqlite(
    both: tuple[SQLiteStore, PostgresStore], geo: GeoQuery
) -> None:
    lite, pg = both
    query = EntityQuery(geo=geo, limit=100)
    assert _ids(pg, query) == _ids(lite, query)


def test_temporal_aggregates_match_sqlite(both: tuple[SQLiteStore, PostgresStore]) -> None:
    lite, pg = both
    start = datetime(2026, 11, 23, 10, tzinfo=UTC)
    rows = [
        _row("urn:x:01", float(v), start + timedelta(minutes=7 * k))
        for k, v in enumerate([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5])
    ]
    rows.append(
        HistoryRow(
            "urn:x:01", LEVEL, {"type": "Property", "value": "n/a"}, start + timedelta(minutes=3)
        )
    )
    for store in both:
        with store.transaction("t") as tx:
            tx.append_history(rows)
    methods = ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev")
    for timerel, time_at, end in [
        (None, None, None),
        ("after", start + timedelta(minutes=10), None),
        ("before", start + timedelta(minutes=40), None),
        ("between", start, start + timedelta(hours=1)),
    ]:
        for period in (None, timedelta(minutes=15)):
            query = TemporalQuery(
                EntityQuery(ids=("urn:x:01",)),
                timerel=timerel,  # type: ignore[arg-type]
                time_at=time_at,
                end_time_at=end,
                aggr_methods=methods,
                aggr_period=period,
            )
            got, want = pg.query_temporal("t", query), lite.query_temporal("t", query)
            assert got[0].aggregates.keys() == want[0].aggregates.keys()
            for attr, by_method in want[0].aggregates.items():
                for method, buckets in by_method.items():
                    mine = got[0].aggregates[attr][method]
                    assert [b[1:] for b in mine] == [b[1:] for b in buckets], (method, timerel)
                    for (a, _, _), (b, _, _) in zip(mine, buckets, strict=True):
                        assert a == pytest.approx(b), (method, timerel, period)
    last = TemporalQuery(EntityQuery(ids=("urn:x:01",)), last_n=3)
    assert pg.query_temporal("t", last) == lite.query_temporal("t", last)
    everything = TemporalQuery(EntityQuery(ids=("urn:x:01", "urn:x:02")))
    assert pg.query_temporal("t", everything) == lite.query_temporal("t", everything)


def test_discovery_matches_sqlite(both: tuple[SQLiteStore, PostgresStore]) -> None:
    lite, pg = both
    assert pg.entity_types("t") == lite.entity_types("t")
    assert pg.attributes("t") == lite.attributes("t")
