"""The PostgreSQL test fixture itself: a real server, PostGIS ready, one database per test."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.support import postgres_server


@pytest.mark.postgres
def test_fresh_database_has_postgis(postgres_database_url: str) -> None:
    with psycopg.connect(postgres_database_url) as conn:
        row = conn.execute(
            "SELECT ST_AsText(ST_GeomFromGeoJSON(%s))",
            ['{"type":"Point","coordinates":[23.5,46.7]}'],
        ).fetchone()
        assert row == ("POINT(23.5 46.7)",)
        (n,) = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone() or (None,)
        assert n == 1  # spatial_ref_sys only


@pytest.mark.postgres
def test_each_test_gets_its_own_database(postgres_database_url: str) -> None:
    with psycopg.connect(postgres_database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE leftover (x int)")


@pytest.mark.postgres
def test_databases_are_not_shared(postgres_database_url: str) -> None:
    with psycopg.connect(postgres_database_url) as conn:
        row = conn.execute("SELECT to_regclass('leftover')").fetchone()
        assert row == (None,)


@pytest.mark.postgres
def test_server_listens_only_on_loopback(postgres_database_url: str) -> None:
    with psycopg.connect(postgres_database_url) as conn:
        row = conn.execute("SHOW listen_addresses").fetchone()
        assert row == ("127.0.0.1",)
        row = conn.execute("SHOW fsync").fetchone()
        assert row == ("off",)


def test_missing_binaries_fail_and_say_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(postgres_server, "POSTGRES_BIN", tmp_path / "nowhere")
    server = postgres_server.running_postgres_server()
    with pytest.raises(pytest.fail.Exception, match=r"run \.ci/run"):
        server.__enter__()
