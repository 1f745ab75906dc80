"""Devices from CSV (per-row errors) and the issued-credentials file."""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cetate.errors import InvalidRequest
from cetate.ingest.devices.credentials import DeviceCredentials, IssuedCredentials
from cetate.ingest.devices.csv_import import (
    CREDENTIAL_COLUMNS,
    DeviceRow,
    DeviceRowError,
    read_devices_csv,
    write_credentials_csv,
)
from cetate.ingest.devices.memory import InMemoryDeviceRegistry

HEADER = "device_id,name,profile,lon,lat,transport,tags,category,entity_id,cert_fingerprint\n"


def write(tmp_path: Path, text: str, name: str = "devices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def parse(path: Path, **kwargs: object) -> tuple[list[DeviceRow], list[DeviceRowError]]:
    parsed = read_devices_csv(path, **kwargs)  # type: ignore[arg-type]
    items = list(parsed.items)
    good = [item for item in items if isinstance(item, DeviceRow)]
    bad = [item for item in items if isinstance(item, DeviceRowError)]
    return good, bad


def test_500_rows_with_bad_ones_reported_per_row(tmp_path: Path) -> None:
    lines = [HEADER]
    expected_bad: dict[int, str] = {}
    for i in range(500):
        line_no = i + 2
        device = f"bin-{i:04d}"
        lon, lat, transport, profile = "23.59", "46.77", "mqtt", "bin-level-v1"
        if i % 50 == 7:
            lon, lat = "23.59", "146.77"
            expected_bad[line_no] = "latitude 146.77 is out of range"
        elif i % 50 == 13:
            transport = "lorawan"
            expected_bad[line_no] = "unknown transport 'lorawan'"
        elif i % 50 == 21:
            profile = ""
            expected_bad[line_no] = "empty required cell 'profile'"
        elif i % 50 == 33:
            device = "bin-0000"
            expected_bad[line_no] = "device id 'bin-0000' is already on line 2"
        elif i % 50 == 41:
            lon = "abc"
            expected_bad[line_no] = "coordinates: 'abc' is not a number"
        lines.append(
            f"{device},Coș {i},{profile},{lon},{lat},{transport},centru;zona-{i % 5},sensor,,\n"
        )
    path = write(tmp_path, "".join(lines))
    parsed = read_devices_csv(path)
    assert parsed.total == 500
    items = list(parsed.items)
    assert len(items) == 500
    good = [item for item in items if isinstance(item, DeviceRow)]
    bad = [item for item in items if isinstance(item, DeviceRowError)]
    assert len(bad) == 50
    assert len(good) == 450
    assert {error.row for error in bad} == set(expected_bad)
    for error in bad:
        assert expected_bad[error.row] in error.reason, (error.row, error.reason)
    assert good[0].row == 2
    assert good[0].spec.device_id == "bin-0000"
    assert good[0].spec.name == "Coș 0"
    assert good[0].spec.tags == ("centru", "zona-0")
    assert (good[0].spec.lon, good[0].spec.lat) == (23.59, 46.77)
    assert len({row.spec.device_id for row in good}) == 450


def test_optional_columns_and_cells(tmp_path: Path) -> None:
    fingerprint = ":".join(["AB"] * 32)
    path = write(
        tmp_path,
        "Device_ID,Profile,Longitude,Latitude,Transport,Controlled_Property,Entity_Id,"
        "Cert_Fingerprint,Device_Model\n"
        f'lamp-1,lamp-v1,27.58,47.16,BOTH,"powerState|dimmingLevel",'
        f"urn:ngsi-ld:Streetlight:iasi:1,{fingerprint},urn:ngsi-ld:DeviceModel:lamp\n"
        "lamp-2,lamp-v1,,,,,,,\n"
        "\n"
        ",,,,,,,,\n",
    )
    good, bad = parse(path)
    assert bad == []
    first, second = good[0].spec, good[1].spec
    assert first.transport == "both"
    assert first.controlled_property == ("powerState", "dimmingLevel")
    assert first.entity_id == "urn:ngsi-ld:Streetlight:iasi:1"
    assert first.cert_fingerprint == "ab" * 32
    assert first.device_model == "urn:ngsi-ld:DeviceModel:lamp"
    assert second.lon is None
    assert second.transport == "mqtt"
    assert second.entity_id is None


def test_semicolon_delimited_files_from_spreadsheets(tmp_path: Path) -> None:
    path = write(tmp_path, "device_id;profile;lon;lat\nbin-1;p1;23,59;46,77\n")
    good, bad = parse(path)
    assert bad == []
    assert (good[0].spec.lon, good[0].spec.lat) == (23.59, 46.77)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("bin/1,p1,,,,,,,,", "device id 'bin/1' is not valid"),
        (",p1,,,,,,,,", "empty required cell 'device_id'"),
        ("bin-1,,,,,,,,,", "empty required cell 'profile'"),
        ("bin-1,p1,23.5,,,,,,,", "coordinates: 'lat' is empty"),
        ("bin-1,p1,200,45,,,,,,", "longitude 200.0 is out of range"),
        ("bin-1,p1,46.7,123.5,,,,,,", "are longitude and latitude swapped?"),
        ("bin-1,p1,,,carrier-pigeon,,,,,", "unknown transport 'carrier-pigeon'"),
        ("bin-1,p1,,,,two words,,,,", "tag 'two words' is not valid"),
        ("bin-1,p1,,,,,,,not a uri,", "is not an absolute URI"),
        ("bin-1,p1,,,,,,,,zz", "expected 64 hex digits"),
        ("bin-1,p1,,,,,,,,,extra", "11 cells but the header has 10 columns"),
    ],
)
def test_bad_rows(tmp_path: Path, row: str, reason: str) -> None:
    path = write(
        tmp_path,
        "device_id,profile,lon,lat,transport,tags,category,name,entity_id,"
        f"cert_fingerprint\n{row}\n",
    )
    good, bad = parse(path)
    assert good == []
    assert len(bad) == 1
    assert bad[0].row == 2
    assert reason in bad[0].reason


def test_ids_that_differ_only_in_case_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "device_id,profile\nBin-1,p\nbin-1,p\n")
    good, bad = parse(path)
    assert [row.spec.device_id for row in good] == ["Bin-1"]
    assert "differs only in letter case from 'Bin-1' on line 2" in bad[0].reason


def test_unknown_profiles_when_the_known_ones_are_given(tmp_path: Path) -> None:
    path = write(tmp_path, "device_id,profile\na,bin-level-v1\nb,bin-levle-v1\n")
    good, bad = parse(path, known_profiles={"bin-level-v1"})
    assert [row.spec.device_id for row in good] == ["a"]
    assert bad[0].row == 3
    assert "unknown profile 'bin-levle-v1' (did you mean 'bin-level-v1'?)" in bad[0].reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("device_id,name\n", "no column 'profile' (required)"),
        (
            "device_id,profile,entitiy_id\n",
            "unknown column 'entitiy_id' (did you mean 'entity_id'?)",
        ),
        ("device_id,profile,lon\n", "both a 'lon' and a 'lat' column"),
        ("device_id,profile,id\n", "column 'device_id' appears twice"),
    ],
)
def test_unusable_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(
        InvalidRequest, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
    ):
        read_devices_csv(write(tmp_path, text))


def test_non_utf8_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("device_id,profile\nco\xfe,p\n".encode("latin-1"))
    with pytest.raises(InvalidRequest, match="not UTF-8"):
        read_devices_csv(path)
    with pytest.raises(InvalidRequest, match="no such file"):
        read_devices_csv(tmp_path / "missing.csv")


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffdevice_id,profile\nbin-1,p\n".encode())
    good, bad = parse(path)
    assert bad == []
    assert good[0].spec.device_id == "bin-1"


def issued_for(devices: list[tuple[str, str]]) -> list[IssuedCredentials]:
    creds = DeviceCredentials(InMemoryDeviceRegistry())
    return [creds.issue("cluj", device, transport=transport) for device, transport in devices]  # type: ignore[arg-type]


def test_credentials_file_is_0600_and_complete(tmp_path: Path) -> None:
    old_umask = os.umask(0o000)  # even with a permissive umask
    try:
        issued = issued_for([("a", "both"), ("b", "mqtt"), ("c", "http")])
        path = tmp_path / "credentials.csv"
        assert write_credentials_csv(path, issued) == 3
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CREDENTIAL_COLUMNS
    a, b, c = rows[1:]
    assert a == ["a", issued[0].http_token, "cluj/a", issued[0].mqtt_password]
    assert b == ["b", "", "cluj/b", issued[1].mqtt_password]
    assert c == ["c", issued[2].http_token, "", ""]
    creds_check = [row for row in rows[1:] if row[1]]
    assert all(row[1].startswith("cdev_") for row in creds_check)


def test_credentials_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "credentials.csv"
    path.write_text("precious")
    with pytest.raises(InvalidRequest, match="already exists"):
        write_credentials_csv(path, issued_for([("a", "mqtt")]))
    assert path.read_text() == "precious"
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(InvalidRequest):
        write_credentials_csv(link, issued_for([("a", "mqtt")]))
    assert not (tmp_path / "elsewhere.csv").exists()


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    def broken() -> list[IssuedCredentials]:
        raise RuntimeError("boom")

    def items() -> Iterator[IssuedCredentials]:
        yield from issued_for([("a", "mqtt")])
        broken()

    path = tmp_path / "credentials.csv"
    with pytest.raises(RuntimeError):
        write_credentials_csv(path, items())
    assert not path.exists()
