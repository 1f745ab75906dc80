"""The Mosquitto password-file and ACL sync: what is written, when, how (atomically, 0600,
owner kept), the reload signal, the settings, and the one-shot CLI. On both store backends.
The end to end run against a real Mosquitto is in ``test_mosquitto_broker.py``."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cetate.cli import app as cli_app
from cetate.config import Settings
from cetate.ingest.devices.mosquitto import verify_mosquitto_hash
from cetate.ingest.devices.mosquitto_sync import (
    MosquittoFiles,
    MosquittoSync,
    MosquittoSyncError,
    signal_reload,
    sync_from_settings,
    write_atomically,
)
from cetate.ingest.mqtt.topics import mosquitto_acl
from cetate.store.base import ContextStore
from tests.ingest.conftest import DeviceWorld

SERVICE = "cetate-service"
SERVICE_PASSWORD = "service-secret"


def files_in(directory: Path, pid_file: Path | None = None) -> MosquittoFiles:
    directory = directory / "mosquitto"
    directory.mkdir(exist_ok=True)
    return MosquittoFiles(directory / "passwords", directory / "acl", pid_file)


def password_lines(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split(":", 1) for line in lines)


def make_sync(store: ContextStore, files: MosquittoFiles) -> MosquittoSync:
    return MosquittoSync(store, files, service_username=SERVICE, service_password=SERVICE_PASSWORD)


def test_files_for_every_tenant_revoked_and_http_only_left_out(
    world: DeviceWorld, tmp_path: Path
) -> None:
    _, bin1 = world.provision("cluj", "bin-1")
    world.provision("cluj", "bin-2")
    _, lamp = world.provision("iasi", "lamp-7")
    world.provision("iasi", "http-only", transport="http")
    world.devices.revoke("cluj", "bin-2")
    files = files_in(tmp_path)
    result = make_sync(world.store, files).sync()
    assert result.written
    assert result.devices == 2
    assert result.signal_error == "no pid file configured"
    assert not result.signalled
    lines = password_lines(files.password_file)
    assert list(lines) == [SERVICE, "cluj/bin-1", "iasi/lamp-7"]
    assert bin1 is not None
    assert lamp is not None
    assert verify_mosquitto_hash(lines["cluj/bin-1"], bin1)
    assert verify_mosquitto_hash(lines["iasi/lamp-7"], lamp)
    assert verify_mosquitto_hash(lines[SERVICE], SERVICE_PASSWORD)
    assert not verify_mosquitto_hash(lines["cluj/bin-1"], lamp)
    assert files.acl_file.read_text() == mosquitto_acl(SERVICE)
    for path in (files.password_file, files.acl_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in files.acl_file.parent.iterdir()) == [
        "acl",
        "passwords",
    ]


def test_written_only_when_the_generation_changed(world: DeviceWorld, tmp_path: Path) -> None:
    world.provision("cluj", "bin-1")
    sync = make_sync(world.store, files_in(tmp_path))
    first = sync.sync()
    assert first.written
    assert not sync.sync().written
    assert sync.writes == 1
    before = sync.files.password_file.read_text()
    issued = world.devices.rotate("cluj", "bin-1")
    second = sync.sync()
    assert second.written
    assert second.generation > first.generation
    after = sync.files.password_file.read_text()
    assert after != before
    assert issued.mqtt_password is not None
    assert verify_mosquitto_hash(
        password_lines(sync.files.password_file)["cluj/bin-1"], issued.mqtt_password
    )
    world.devices.delete("cluj", "bin-1")
    assert sync.sync().devices == 0
    assert list(password_lines(sync.files.password_file)) == [SERVICE]
    assert sync.sync(force=True).written
    assert sync.writes == 4


def test_reload_signal_reaches_the_process(world: DeviceWorld, tmp_path: Path) -> None:
    """A real child process that records SIGHUP, named in a pid file."""
    marker = tmp_path / "hup"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time, pathlib\n"
            f"p = pathlib.Path({str(marker)!r})\n"
            "signal.signal(signal.SIGHUP, lambda *a: p.write_text('hup'))\n"
            "print('ready', flush=True)\n"
            "time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        pid_file = tmp_path / "mosquitto.pid"
        pid_file.write_text(f"{child.pid}\n")
        result = make_sync(world.store, files_in(tmp_path, pid_file)).sync()
        assert result.signalled
        assert result.signal_error is None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (marker.exists() and marker.read_text()):
            time.sleep(0.01)  # the file may exist for a moment before its text is written
        assert marker.read_text() == "hup"
    finally:
        child.kill()
        child.wait()


def test_reload_problems_are_reported(tmp_path: Path) -> None:
    missing = signal_reload(tmp_path / "nope.pid")
    assert missing is not None
    assert "cannot read" in missing
    bogus = tmp_path / "bogus.pid"
    bogus.write_text("mosquitto\n")
    text = signal_reload(bogus)
    assert text is not None
    assert "does not hold a process id" in text
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    gone = tmp_path / "gone.pid"
    gone.write_text(str(done.pid))
    text = signal_reload(gone)
    assert text is not None
    assert "no process" in text


def test_write_atomically_replaces_and_keeps_owner(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_uid == tmp_path.stat().st_uid
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "no-such-dir" / "file", "x")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files away")
def test_as_root_the_replaced_files_owner_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("old")
    os.chown(target, 4242, 4343)
    write_atomically(target, "new")
    assert (target.stat().st_uid, target.stat().st_gid) == (4242, 4343)
    os.chown(tmp_path, 4244, 4345)
    fresh = tmp_path / "fresh"
    write_atomically(fresh, "x")
    assert (fresh.stat().st_uid, fresh.stat().st_gid) == (4244, 4345)


def test_settings(store: ContextStore, tmp_path: Path) -> None:
    assert sync_from_settings(store, Settings()) is None
    with pytest.raises(MosquittoSyncError, match="both"):
        sync_from_settings(store, Settings(mosquitto_password_file=str(tmp_path / "p")))
    with pytest.raises(MosquittoSyncError, match="service user's password"):
        sync_from_settings(
            store,
            Settings(
                mosquitto_password_file=str(tmp_path / "p"),
                mosquitto_acl_file=str(tmp_path / "a"),
            ),
        )
    with pytest.raises(MosquittoSyncError, match="invalid service username"):
        sync_from_settings(
            store,
            Settings(
                mosquitto_password_file=str(tmp_path / "p"),
                mosquitto_acl_file=str(tmp_path / "a"),
                mosquitto_service_password="x",
                mosquitto_service_username="a/b",
            ),
        )
    sync = sync_from_settings(
        store,
        Settings(
            mosquitto_password_file=str(tmp_path / "p"),
            mosquitto_acl_file=str(tmp_path / "a"),
            mosquitto_pid_file=str(tmp_path / "pid"),
            mqtt_external_url="mqtt://cetate-service:from%40url@127.0.0.1:1883",
        ),
    )
    assert sync is not None
    assert sync.files.pid_file == tmp_path / "pid"
    sync.sync()
    line = password_lines(tmp_path / "p")[SERVICE]
    assert verify_mosquitto_hash(line, "from@url")


def test_cli_one_shot(world: DeviceWorld, tmp_path: Path, database_url: str) -> None:
    _, password = world.provision("cluj", "bin-1")
    assert password is not None
    runner = CliRunner()
    args = [
        "devices",
        "mosquitto-sync",
        "--password-file",
        str(tmp_path / "passwords"),
        "--acl-file",
        str(tmp_path / "acl"),
        "--database-url",
        database_url,
    ]
    env = {"CETATE_MOSQUITTO_SERVICE_PASSWORD": SERVICE_PASSWORD}
    result = runner.invoke(cli_app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "1 device logins" in result.output
    assert verify_mosquitto_hash(password_lines(tmp_path / "passwords")["cluj/bin-1"], password)
    assert (tmp_path / "acl").read_text() == mosquitto_acl(SERVICE)
    # no service password anywhere: a clear error, nothing written
    bare = runner.invoke(
        cli_app,
        [
            *args[:2],
            "--password-file",
            str(tmp_path / "p2"),
            "--acl-file",
            str(tmp_path / "a2"),
            "--database-url",
            database_url,
        ],
        env={"CETATE_MOSQUITTO_SERVICE_PASSWORD": "", "CETATE_MQTT_EXTERNAL_URL": ""},
    )
    assert bare.exit_code == 2
    assert "service user's password" in bare.output
    assert not (tmp_path / "p2").exists()
    # a pid file that names no process: files written, exit 1, the reason said
    stale = tmp_path / "stale.pid"
    stale.write_text("mosquitto")
    signalled = runner.invoke(cli_app, [*args, "--pid-file", str(stale)], env=env)
    assert signalled.exit_code == 1
    assert "not reloaded" in signalled.output
    missing_dir = runner.invoke(
        cli_app,
        [
            *args[:2],
            "--password-file",
            str(tmp_path / "nodir" / "p"),
            "--acl-file",
            str(tmp_path / "a3"),
            "--database-url",
            database_url,
        ],
        env=env,
    )
    assert missing_dir.exit_code == 2
    assert "cannot write" in missing_dir.output
