"""The command line through typer's CliRunner, on real SQLite files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cetate.cli import app
from cetate.store.base import open_store

runner = CliRunner()

WASTE_CONTEXT = "https://smart-data-models.github.io/dataModel.WasteManagement/context.jsonld"
FILLING = "https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel"
PASSWORD = "correct horse battery"


def init(url: str, *, tenant: str = "cluj", admin: str = "Ana", password: str = PASSWORD) -> Result:
    """``cetate init``: the tenant and its admin in the database at ``url``."""
    return runner.invoke(
        app,
        [
            "init",
            "--tenant",
            tenant,
            "--admin",
            admin,
            "--password",
            password,
            "--database-url",
            url,
        ],
    )


def stored_entity(url: str, entity_id: str, tenant: str = "cluj") -> dict[str, Any] | None:
    """The entity as the database at ``url`` holds it now."""
    store = open_store(url)
    try:
        return store.get_entity(tenant, entity_id)
    finally:
        store.close()


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A database with tenant ``cluj`` and its admin."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = init(url)
    assert result.exit_code == 0, result.output
    return url


def entity(number: int, level: object = 0.5) -> dict[str, object]:
    return {
        "id": f"urn:ngsi-ld:WasteContainer:cli:{number}",
        "type": "WasteContainer",
        "fillingLevel": {"type": "Property", "value": level},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [23.6, 46.77]},
        },
        "@context": [WASTE_CONTEXT],
    }


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "init", "token", "import", "export", "demo"):
        assert command in result.output
    token_help = runner.invoke(app, ["token", "--help"])
    assert "create" in token_help.output


def test_init_and_token_create(db: str) -> None:
    store = open_store(db)
    try:
        user = store.get_user("ana")
        assert user is not None
        assert user.roles == {"cluj": "admin"}
        assert store.get_tenant("cluj") is not None
    finally:
        store.close()
    result = runner.invoke(
        app, ["token", "create", "--tenant", "cluj", "--role", "viewer", "--database-url", db]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("cetate_")
    assert "not shown again" in result.stderr
    store = open_store(db)
    try:
        from cetate.auth.tokens import authenticate_token

        assert authenticate_token(store, token).roles == {"cluj": "viewer"}
    finally:
        store.close()


def test_init_again_keeps_the_password(db: str) -> None:
    result = init(db, admin="ana", password="x" * 12)
    assert result.exit_code == 0, result.output
    assert "password unchanged" in result.stderr


def test_init_refuses_a_short_password(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = init(url, admin="ana", password="short")
    assert result.exit_code == 2
    assert "too short" in result.stderr


def test_token_for_unknown_tenant(db: str) -> None:
    result = runner.invoke(
        app, ["token", "create", "--tenant", "iasi", "--role", "viewer", "--database-url", db]
    )
    assert result.exit_code == 2
    assert "iasi" in result.stderr


def test_import_ngsi_ld_reports_bad_rows(db: str, tmp_path: Path) -> None:
    path = tmp_path / "bins.json"
    no_type = {"id": "urn:ngsi-ld:WasteContainer:cli:3", "fillingLevel": 1}
    path.write_text(json.dumps([entity(1), entity(2, 0.9), no_type]))
    result = runner.invoke(app, ["import", str(path), "--tenant", "cluj", "--database-url", db])
    assert result.exit_code == 1, result.output
    assert "3 records read, 2 entities stored, 1 rejected" in result.stdout
    assert "row 3 (urn:ngsi-ld:WasteContainer:cli:3):" in result.stdout
    stored = stored_entity(db, "urn:ngsi-ld:WasteContainer:cli:2")
    assert stored is not None
    assert stored[FILLING][0]["value"] == 0.9


def test_import_all_good_exits_zero(db: str, tmp_path: Path) -> None:
    path = tmp_path / "bins.jsonl"
    path.write_text("\n".join(json.dumps(entity(n)) for n in range(5)))
    result = runner.invoke(app, ["import", str(path), "-t", "cluj", "--database-url", db])
    assert result.exit_code == 0, result.output
    assert "5 entities stored, 0 rejected" in result.stdout


def test_import_geojson(db: str, tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "id": number,
            "geometry": {"type": "Point", "coordinates": [23.6, lat]},
            "properties": {"lanternHeight": 9},
        }
        for number, lat in ((1, 46.7), (2, 146.7))
    ]
    path = tmp_path / "lights.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    result = runner.invoke(
        app, ["import", str(path), "-t", "cluj", "--type", "Streetlight", "--database-url", db]
    )
    assert result.exit_code == 1, result.output
    assert "1 entities stored, 1 rejected" in result.stdout
    assert "row 2 (urn:ngsi-ld:Streetlight:2)" in result.stdout


def test_import_csv_with_columns(db: str, tmp_path: Path) -> None:
    path = tmp_path / "bins.csv"
    path.write_text("id,lat,lon,nivel\nb1,46.77,23.59,0.3\nb2,46.77,23.59,plin\n")
    result = runner.invoke(
        app,
        [
            "import",
            str(path),
            "-t",
            "cluj",
            "--type",
            "WasteContainer",
            "--column",
            "nivel=fillingLevel:number",
            "--context",
            WASTE_CONTEXT,
            "--database-url",
            db,
        ],
    )
    assert result.exit_code == 1, result.output
    assert "row 3 (urn:ngsi-ld:WasteContainer:b2): column 'nivel': 'plin' is not a number" in (
        result.stdout
    )
    stored = stored_entity(db, "urn:ngsi-ld:WasteContainer:b1")
    assert stored is not None
    assert stored[FILLING][0]["value"] == 0.3


def test_import_csv_with_mapping_file(db: str, tmp_path: Path) -> None:
    path = tmp_path / "bins.csv"
    path.write_text("cod,nivel\n1,0.5\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "type": "WasteContainer",
                "context": WASTE_CONTEXT,
                "id": "cod",
                "attributes": {"nivel": {"name": "fillingLevel", "type": "number"}},
            }
        )
    )
    result = runner.invoke(
        app, ["import", str(path), "-t", "cluj", "--mapping", str(mapping), "--database-url", db]
    )
    assert result.exit_code == 0, result.output


def test_import_refuses_unusable_input(db: str, tmp_path: Path) -> None:
    path = tmp_path / "bins.json"
    path.write_text("[1,")
    result = runner.invoke(app, ["import", str(path), "-t", "cluj", "--database-url", db])
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr
    result = runner.invoke(app, ["import", str(path), "-t", "iasi", "--database-url", db])
    assert result.exit_code == 2
    assert "cetate init" in result.stderr
    odd = tmp_path / "bins.xls"
    odd.write_text("")
    result = runner.invoke(app, ["import", str(odd), "-t", "cluj", "--database-url", db])
    assert result.exit_code == 2
    assert "--format" in result.stderr


@pytest.mark.parametrize("file_format", ["ngsi-ld", "geojson"])
def test_export_round_trip(db: str, tmp_path: Path, file_format: str) -> None:
    source = tmp_path / "bins.json"
    source.write_text(json.dumps([entity(n, n / 10) for n in range(1, 4)]))
    assert (
        runner.invoke(app, ["import", str(source), "-t", "cluj", "--database-url", db]).exit_code
        == 0
    )
    exported = tmp_path / f"export.{'geojson' if file_format == 'geojson' else 'json'}"
    result = runner.invoke(
        app,
        [
            "export",
            "-t",
            "cluj",
            "--format",
            file_format,
            "-o",
            str(exported),
            "--database-url",
            db,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Exported 3 entities" in result.stderr
    json.loads(exported.read_text())  # valid JSON

    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert init(other, tenant="copy", admin="ana").exit_code == 0
    result = runner.invoke(app, ["import", str(exported), "-t", "copy", "--database-url", other])
    assert result.exit_code == 0, result.output
    first, second = open_store(db), open_store(other)
    try:
        originals = {doc["id"]: doc for doc in first.iter_entities("cluj")}
        copies = {doc["id"]: doc for doc in second.iter_entities("copy")}
        assert set(originals) == set(copies)
        for entity_id, original in originals.items():
            assert _without_timestamps(copies[entity_id]) == _without_timestamps(original)
    finally:
        first.close()
        second.close()


def test_export_to_stdout(db: str) -> None:
    result = runner.invoke(app, ["export", "-t", "cluj", "--database-url", db])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def _without_timestamps(value: object) -> object:
    if isinstance(value, dict):
        return {
            key: _without_timestamps(item)
            for key, item in value.items()
            if key not in ("createdAt", "modifiedAt")
        }
    if isinstance(value, list):
        return [_without_timestamps(item) for item in value]
    return value


def test_serve_open_refuses_public_hosts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = runner.invoke(app, ["serve", "--open", "--host", "0.0.0.0", "--database-url", url])
    assert result.exit_code == 2
    assert "refusing to start in open mode" in result.stderr
    assert not (tmp_path / "x.db").exists()  # refused before touching anything


def test_demo_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = runner.invoke(app, ["demo", "--database-url", url, "--hours", "2"])
    assert result.exit_code == 0, result.output
    assert "cetate-demo" in result.stdout
    assert "admin" in result.stdout
    result = runner.invoke(app, ["demo", "--database-url", url, "--hours", "2"])
    assert result.exit_code == 0, result.output
    assert "already" in result.stderr
