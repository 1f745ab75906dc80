"""``cetate devices …`` and ``cetate profiles put`` against a real store (both backends)."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from cetate.cli import app
from cetate.entities import EntityService
from cetate.ingest.devices.cache import VerifiedDeviceCache
from cetate.ingest.devices.credentials import DeviceCredentials, VerifyFailure
from cetate.ingest.devices.store_registry import StoreDeviceRegistry
from cetate.ingest.pipeline import IngestPipeline
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.timestamps import utc_now
from cetate.store.base import open_store
from tests.ingest.conftest import BIN_PROFILE

runner = CliRunner()


def put_profile(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(BIN_PROFILE))
    result = runner.invoke(
        app, ["profiles", "put", str(path), "--tenant", "cluj", "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    assert "bin-v1" in result.output


def test_import_devices_and_use_their_credentials(tmp_path: Path, database_url: str) -> None:
    put_profile(tmp_path, database_url)
    devices = tmp_path / "devices.csv"
    devices.write_text(
        "device_id,name,transport,lon,lat\n"
        "bin-1,Coș 1,both,23.59,46.77\n"
        "bin-2,Coș 2,http,,\n"
        "bad id!,x,mqtt,,\n"
        "bin-1,again,mqtt,,\n"
        "bin-3,lonely,mqtt,23.5,\n",
        encoding="utf-8",
    )
    creds = tmp_path / "creds.csv"
    args = ["--tenant", "cluj", "--database-url", database_url]
    result = runner.invoke(
        app,
        [
            "devices",
            "import",
            str(devices),
            "--profile",
            "bin-v1",
            "--credentials-out",
            str(creds),
            *args,
        ],
    )
    assert result.exit_code == 1, result.output
    assert "2 devices registered, 3 rejected" in result.output
    assert "row 4 (bad id!)" in result.output
    assert "row 5 (bin-1)" in result.output
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    rows = list(csv.DictReader(creds.open()))
    assert [r["device_id"] for r in rows] == ["bin-1", "bin-2"]
    store = open_store(database_url)
    try:
        registry = StoreDeviceRegistry(store)
        credentials = DeviceCredentials(
            registry, VerifiedDeviceCache(registry.credentials_generation)
        )
        assert credentials.verify_http(rows[0]["http_token"]).ok
        assert credentials.verify_mqtt("cluj/bin-1", rows[0]["mqtt_password"]).ok
        assert rows[1]["mqtt_password"] == ""
        pipeline = IngestPipeline(store, EntityService(store), ContextResolver())
        outcome = pipeline.ingest("cluj", "bin-2", b'{"f": 5, "ts": 1795427940}', utc_now(), "http")
        assert outcome.status == "stored"
        listed = runner.invoke(app, ["devices", "list", *args])
        assert listed.exit_code == 0
        assert listed.output.splitlines() == [
            "bin-1\tbin-v1\tboth\tactive",
            "bin-2\tbin-v1\thttp\tactive",
        ]
        rotated = runner.invoke(app, ["devices", "rotate", "bin-2", *args])
        assert rotated.exit_code == 0, rotated.output
        assert "http_token=cdev_" in rotated.output
        assert credentials.verify_http(rows[1]["http_token"]).failure is VerifyFailure.wrong_secret
        revoked = runner.invoke(app, ["devices", "revoke", "bin-1", *args])
        assert revoked.exit_code == 0
        assert credentials.verify_mqtt("cluj/bin-1", rows[0]["mqtt_password"]).failure is (
            VerifyFailure.revoked
        )
        unknown = runner.invoke(app, ["devices", "rotate", "ghost", *args])
        assert unknown.exit_code == 2
    finally:
        store.close()
    # the credentials file is never overwritten
    again = runner.invoke(
        app,
        [
            "devices",
            "import",
            str(devices),
            "--profile",
            "bin-v1",
            "--credentials-out",
            str(creds),
            *args,
        ],
    )
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_bad_profile_and_unknown_default_profile(tmp_path: Path, database_url: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "measurements": []}')
    args = ["--tenant", "cluj", "--database-url", database_url]
    result = runner.invoke(app, ["profiles", "put", str(bad), *args])
    assert result.exit_code == 2
    devices = tmp_path / "devices.csv"
    devices.write_text("device_id\nbin-1\n")
    result = runner.invoke(
        app,
        [
            "devices",
            "import",
            str(devices),
            "--profile",
            "nope",
            "--credentials-out",
            str(tmp_path / "c.csv"),
            *args,
        ],
    )
    assert result.exit_code == 2
    assert "nope" in result.output
    assert not (tmp_path / "c.csv").exists()
