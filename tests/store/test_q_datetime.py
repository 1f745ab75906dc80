"""``q`` on typed date-time, date and time values (``{"@type": "DateTime", "@value": …}``), on
both backends, and the same answers from :func:`cetate.ngsi.query_language.evaluate_q` (the
evaluation subscriptions use): DateTime values compare as instants, Date values by day, Time
values by time of day, each only with literals of its own kind (quoted or not)."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from cetate.ngsi.query_language import (
    TEMPORAL_TYPES,
    evaluate_q,
    map_attribute_names,
    parse_q,
    temporal_index_key,
)
from cetate.store.base import ContextStore, EntityQuery, open_store
from cetate.store.postgres import PostgresStore

V = "https://example.org/vocab/"
EVENT = V + "Event"


def dt(text: str, type_name: str = "DateTime") -> dict[str, Any]:
    return {"type": "Property", "value": {"@type": type_name, "@value": text}}


def entity(entity_id: str, **attrs: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": entity_id, "type": [EVENT]}
    for name, value in attrs.items():
        doc[V + name] = value if isinstance(value, list) else [value]
    return doc


ENTITIES = [
    entity(
        "urn:x:a",
        when=dt("2024-01-01T00:00:00Z"),
        day=dt("2025-05-01", "Date"),
        at=dt("08:30:00", "Time"),
    ),
    entity(
        "urn:x:b",
        when=dt("2026-01-01T00:00:00Z"),
        day=dt("2025-06-01", "Date"),
        at=dt("17:00:00Z", "Time"),
    ),
    # the same instant as 2025-06-01T00:00:00Z, written with an offset
    entity("urn:x:c", when=dt("2025-06-01T02:00:00+02:00"), at=dt("09:00:00+02:00", "Time")),
    # a plain string value (stored-form timestamp): compared as a string, as always
    entity("urn:x:d", when={"type": "Property", "value": "2026-01-01T00:00:00.000Z"}),
    # a Date value of the same attribute: compared with date literals only
    entity("urn:x:f", when=dt("2025-06-01", "Date")),
    # a typed value that is not a date-time: compares with nothing
    entity("urn:x:g", when=dt("2025-02-30T00:00:00Z")),
    # several instances: any may match
    entity(
        "urn:x:h",
        when=[
            {**dt("2023-01-01T00:00:00Z"), "datasetId": "urn:ds:1"},
            {**dt("2027-01-01T00:00:00Z"), "datasetId": "urn:ds:2"},
        ],
    ),
    entity("urn:x:i", when=dt("2025-03-01T00:00:00Z", "https://uri.etsi.org/ngsi-ld/DateTime")),
]

CASES = [
    ("when>2025-01-01T00:00:00Z", "bcdhi"),
    ('when>="2025-06-01T00:00:00Z"', "bcdh"),
    ("when<2025-06-01T00:00:00Z", "ahi"),
    ("when<=2025-06-01T02:00:00+02:00", "achi"),
    ("when==2025-06-01T02:00:00+02:00", "c"),
    ("when==2025-06-01T00:00:00.000Z", "c"),
    ("when==2026-01-01T00:00:00Z", "bd"),
    ('when=="2024-01-01T01:00:00+01:00"', "a"),
    ("when!=2026-01-01T00:00:00Z", "achi"),
    ("when==2024-06-01T00:00:00Z..2025-12-31T00:00:00Z", "ci"),
    ("when!=2024-06-01T00:00:00Z..2025-12-31T00:00:00Z", "abdh"),
    ("when==2024-01-01T00:00:00Z,2027-01-01T00:00:00Z", "ah"),
    ("when!=2024-01-01T00:00:00Z,2027-01-01T00:00:00Z", "bcdhi"),
    ('when=="x",2025-03-01T00:00:00Z,2025-06-01', "fi"),
    ("when==2025-06-01", "f"),
    ("when>2025-01-01", "df"),
    ("when~=2026", "d"),
    ("when!~=2026", ""),
    ('when=="abc"', ""),
    ('when!="abc"', "d"),
    ('when<"2025-02-30T00:00:00Z"', ""),
    ("when==1", ""),
    ("when", "abcdfghi"),
    ("when>2025-01-01T00:00:00Z;day<2025-06-01", ""),
    ("when>2025-01-01T00:00:00Z|day<2025-06-01", "abcdhi"),
    ("day>2025-05-15", "b"),
    ("day==2025-05-01..2025-05-31", "a"),
    ("day!=2025-05-01", "b"),
    ('day<="2025-06-01"', "ab"),
    ("day==2025-06-01T00:00:00Z", ""),
    ("at<08:00", "c"),
    ("at>=08:30", "ab"),
    ("at==07:00:00Z", "c"),
    ("at==06:00..09:00", "ac"),
    ("at!=07:00", "ab"),
]


def ids(letters: str) -> list[str]:
    return [f"urn:x:{letter}" for letter in letters]


@pytest.fixture
def events(store: ContextStore) -> ContextStore:
    with store.transaction("t1") as tx:
        for doc in ENTITIES:
            tx.insert(doc)
    return store


@pytest.mark.parametrize(("q", "expected"), CASES)
def test_q_on_typed_temporal_values(events: ContextStore, q: str, expected: str) -> None:
    node = map_attribute_names(parse_q(q), lambda name: V + name)
    result = events.query_entities("t1", EntityQuery(q=node, limit=100, count=True))
    assert [doc["id"] for doc in result.entities] == ids(expected)
    assert result.total == len(expected)
    # the pure evaluation (subscriptions, and what SQL leaves to Python) agrees
    assert [doc["id"] for doc in ENTITIES if evaluate_q(node, doc)] == ids(expected)


def test_q_mixed_with_a_condition_left_to_python(events: ContextStore) -> None:
    """With a part SQL cannot decide (a member path), the SQL pre-filter must keep every
    match of the temporal part."""
    node = map_attribute_names(
        parse_q("when>=2025-06-01T00:00:00Z;(when[x]==1|when>2000-01-01T00:00:00Z)"),
        lambda name: V + name,
    )
    result = events.query_entities("t1", EntityQuery(q=node, limit=100))
    assert [doc["id"] for doc in result.entities] == ids("bcdh")


def test_updates_are_reindexed(events: ContextStore) -> None:
    node = map_attribute_names(parse_q("when>2030-01-01T00:00:00Z"), lambda name: V + name)
    assert events.query_entities("t1", EntityQuery(q=node)).entities == []
    doc = entity("urn:x:a", when=dt("2031-01-01T00:00:00+05:00"))
    with events.transaction("t1") as tx:
        tx.replace(doc)
    assert [d["id"] for d in events.query_entities("t1", EntityQuery(q=node)).entities] == [
        "urn:x:a"
    ]


def test_sqlite_migration_reindexes_rows_written_before(tmp_path: Any) -> None:
    path = tmp_path / "old.db"
    store = open_store(f"sqlite:///{path}")
    store.migrate()
    with store.transaction("t1") as tx:
        for doc in ENTITIES:
            tx.insert(doc)
    store.close()
    # what a database written before migration 3 holds: NULL for typed values
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE entity_attrs SET val = NULL WHERE typeof(val) = 'blob'")
        conn.execute("DELETE FROM schema_version WHERE version = 3")
    conn.close()
    node = map_attribute_names(parse_q("when>2025-01-01T00:00:00Z"), lambda name: V + name)
    reopened = open_store(f"sqlite:///{path}")
    try:
        reopened.migrate()
        found = reopened.query_entities("t1", EntityQuery(q=node, limit=100)).entities
        assert [doc["id"] for doc in found] == ids("bcdhi")
    finally:
        reopened.close()


TRICKY = [
    "2026-01-01T00:00:00Z",
    "2026-01-01t02:00+0200",
    "2026-01-01T00:00:00.1234567-03:30",
    "2026-01-01T00:00:00.5z",
    "2026-01-01T23:59:59.999+00:00",
    "2026-01-01T00:00",
    "2024-02-29T12:00:00Z",
    "2025-02-29T12:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-00-10T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00",
    "0999-05-05T05:05:05Z",
    "9999-12-31T23:59:59.999Z",
    "9999-12-31T23:00:00-01:00",
    "2026-01-01T24:00:00Z",
    "2026-01-01T23:60:00Z",
    "2026-01-01T23:00:60Z",
    "2026-01-01T10:00:00+24:00",
    "2026-01-01T10:00:00+23:59",
    "2026-01-01T10:00:00-00:60",
    "2026-01-01 10:00:00Z",
    "2026-01-01T10:00:00+02",
    "٢٠٢٦-01-01T00:00:00Z",
    "",
    "now",
    "2026-01-01",
    "2026-02-30",
    "10:00",
    "23:30:00.5-02:00",
    "01:00:00+02:00",
    "00:00:00Z",
    "24:00:00",
    "12:60",
    "7:00",
]


@pytest.mark.postgres
def test_postgres_temporal_keys_are_the_python_ones(postgres_database_url: str) -> None:
    """``cetate_q_temporal`` (migration 0003) computes what Python computes."""
    PostgresStore(postgres_database_url).migrate()
    values: list[Any] = [
        {"@type": type_name, "@value": text} for type_name in TEMPORAL_TYPES for text in TRICKY
    ]
    values += [
        {"@type": "DateTime", "@value": 5},
        {"@type": "DateTime"},
        {"@type": "Duration", "@value": "PT1H"},
        {"@value": "2026-01-01T00:00:00Z"},
        "2026-01-01T00:00:00Z",
        7,
        [1],
    ]
    with psycopg.connect(postgres_database_url) as conn:
        for value in values:
            row = conn.execute("SELECT cetate_q_temporal(%s)", (Jsonb(value),)).fetchone()
            assert row is not None
            assert (value, row[0]) == (value, temporal_index_key(value))
