"""Reading a devices CSV (``cetate devices import devices.csv``) and writing the credentials
that were issued for it.

The file has a header row naming its columns, in any order and any letter case::

    device_id,name,profile,lon,lat,transport,tags,category,entity_id,cert_fingerprint
    bin-0001,Coș Piața Unirii 1,bin-level-sensor-v1,23.5899,46.7697,mqtt,centru;sticlă,sensor,,

``device_id`` and ``profile`` are required; the others are optional columns and may be empty
cells. ``lon``/``lat`` also go by ``lng``/``longitude``/``latitude``; ``controlled_property``
and ``device_model`` are accepted too. List cells (``tags``, ``category``,
``controlled_property``) separate items with ``;`` or ``|``. The delimiter is ``,`` unless the
header has ``;`` and no ``,`` (spreadsheets set to Romanian export that way). A column that is
not known makes the whole file unusable (a misspelt column would otherwise be silently
ignored).

Rows are checked one by one: a bad row is reported with its line number (the header is line 1)
and the reason — duplicate device id in the file, bad coordinates, unknown transport, a
missing required cell, an unknown profile (when the known profiles are given) … — and the good
rows are still parsed.
"""

from __future__ import annotations

import csv
import difflib
import os
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from cetate.errors import InvalidRequest
from cetate.ingest.devices.credentials import IssuedCredentials
from cetate.ingest.devices.model import DeviceSpec, problems_of
from cetate.ingest.files.csv_mapping import LAT_COLUMNS, LON_COLUMNS, convert

COLUMNS: Final = (
    "device_id",
    "name",
    "profile",
    "lon",
    "lat",
    "transport",
    "tags",
    "category",
    "entity_id",
    "cert_fingerprint",
    "controlled_property",
    "device_model",
)
REQUIRED_COLUMNS: Final = ("device_id", "profile")

_ALIASES: Final = {
    **{name: "lon" for name in LON_COLUMNS if name not in ("x",)},
    **{name: "lat" for name in LAT_COLUMNS if name not in ("y",)},
    "device": "device_id",
    "deviceid": "device_id",
    "id": "device_id",
    "controlledproperty": "controlled_property",
    "devicecategory": "category",
    "entityid": "entity_id",
    "certfingerprint": "cert_fingerprint",
    "devicemodel": "device_model",
}

_FIELDS: Final = {
    "device_id": "device_id",
    "name": "name",
    "profile": "profile",
    "transport": "transport",
    "tags": "tags",
    "category": "category",
    "entity_id": "entity_id",
    "cert_fingerprint": "cert_fingerprint",
    "controlled_property": "controlled_property",
    "device_model": "device_model",
}
"""CSV column → DeviceSpec field (lon and lat are converted first)."""

CREDENTIAL_COLUMNS: Final = ("device_id", "http_token", "mqtt_username", "mqtt_password")
CREDENTIALS_WARNING: Final = (
    "This file holds the devices' secrets and is the only copy: Cetate keeps only hashes and "
    "cannot show them again. Load them into the devices, keep the file somewhere safe (it is "
    "readable by you only) and delete it when done. A lost secret is replaced by rotating it."
)


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """A row that describes a valid device."""

    row: int
    """the line number (the header is line 1)"""
    spec: DeviceSpec


@dataclass(frozen=True, slots=True)
class DeviceRowError:
    """A row that was not accepted, and why."""

    row: int
    device_id: str | None
    reason: str


DeviceRowItem = DeviceRow | DeviceRowError


@dataclass(slots=True)
class ParsedDevices:
    """What the reader found: how many data rows there are (for a progress bar) and the rows,
    parsed lazily."""

    total: int
    items: Iterator[DeviceRowItem]


def _column_name(raw: str) -> str:
    name = raw.strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(name.replace("_", ""), _ALIASES.get(name, name))


def _delimiter(header_line: str) -> str:
    return ";" if ";" in header_line and "," not in header_line else ","


def read_devices_csv(
    path: Path,
    *,
    delimiter: str | None = None,
    known_profiles: Collection[str] | None = None,
    default_profile: str | None = None,
) -> ParsedDevices:
    """The devices of a CSV file. ``default_profile``: the profile of rows whose ``profile``
    cell is empty (the column may then be left out). Raises
    :class:`~cetate.errors.InvalidRequest` when the file as a whole is unusable (not UTF-8,
    no header, unknown or missing columns); a bad row is a :class:`DeviceRowError` among the
    items. ``known_profiles``: when given, a row naming another profile is refused."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first_line = handle.readline()
            chosen = delimiter or _delimiter(first_line)
            handle.seek(0)
            total = max(sum(1 for _ in csv.reader(handle, delimiter=chosen)) - 1, 0)
            handle.seek(0)
            header = next(csv.reader(handle, delimiter=chosen), None)
    except FileNotFoundError:
        raise InvalidRequest(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    if not header or not any(cell.strip() for cell in header):
        raise InvalidRequest(f"{path}: the file is empty; expected a header row")
    columns = _check_header(path, header, default_profile is not None)
    return ParsedDevices(total, _rows(path, chosen, columns, known_profiles, default_profile))


def _check_header(path: Path, header: list[str], has_default_profile: bool = False) -> list[str]:
    columns = [_column_name(cell) for cell in header]
    unknown = [
        raw.strip() for raw, name in zip(header, columns, strict=True) if name not in COLUMNS
    ]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(_column_name(name), COLUMNS, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise InvalidRequest(
            f"{path}: unknown column {', '.join(hints)}; the columns are {', '.join(COLUMNS)}"
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise InvalidRequest(f"{path}: column {', '.join(map(repr, repeated))} appears twice")
    missing = [
        name
        for name in REQUIRED_COLUMNS
        if name not in columns and not (name == "profile" and has_default_profile)
    ]
    if missing:
        raise InvalidRequest(
            f"{path}: the header has no column {', '.join(map(repr, missing))} (required); "
            f"it has {', '.join(cell.strip() for cell in header)}"
        )
    if ("lon" in columns) != ("lat" in columns):
        raise InvalidRequest(f"{path}: give both a 'lon' and a 'lat' column, or neither")
    return columns


def _rows(
    path: Path,
    delimiter: str,
    columns: list[str],
    known_profiles: Collection[str] | None,
    default_profile: str | None = None,
) -> Iterator[DeviceRowItem]:
    seen: dict[str, int] = {}
    seen_folded: dict[str, tuple[str, int]] = {}
    profiles = frozenset(known_profiles) if known_profiles is not None else None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                yield DeviceRowError(
                    line,
                    None,
                    f"{len(cells)} cells but the header has {len(columns)} columns "
                    "(a value with the delimiter in it needs quotes)",
                )
                continue
            row = dict(zip(columns, (cell.strip() for cell in cells), strict=False))
            if default_profile and not row.get("profile"):
                row["profile"] = default_profile
            item = _parse_row(line, row, profiles)
            if isinstance(item, DeviceRow):
                device_id = item.spec.device_id
                if device_id in seen:
                    item = DeviceRowError(
                        line,
                        device_id,
                        f"device id {device_id!r} is already on line {seen[device_id]}; "
                        "device ids must be unique",
                    )
                elif device_id.lower() in seen_folded:
                    other, other_line = seen_folded[device_id.lower()]
                    item = DeviceRowError(
                        line,
                        device_id,
                        f"device id {device_id!r} differs only in letter case from {other!r} "
                        f"on line {other_line}; use ids that are distinct regardless of case",
                    )
                else:
                    seen[device_id] = line
                    seen_folded[device_id.lower()] = (device_id, line)
            yield item


def _parse_row(line: int, row: dict[str, str], profiles: frozenset[str] | None) -> DeviceRowItem:
    device_id = row.get("device_id") or None
    missing = [name for name in REQUIRED_COLUMNS if not row.get(name)]
    if missing:
        return DeviceRowError(
            line, device_id, f"empty required cell {', '.join(map(repr, missing))}"
        )
    data: dict[str, Any] = {
        field: row[column] for column, field in _FIELDS.items() if row.get(column)
    }
    lon_text, lat_text = row.get("lon", ""), row.get("lat", "")
    if lon_text or lat_text:
        if not (lon_text and lat_text):
            missing_part = "lat" if not lat_text else "lon"
            return DeviceRowError(
                line, device_id, f"coordinates: {missing_part!r} is empty; give both or neither"
            )
        try:
            data["lon"] = convert(lon_text, "number")
            data["lat"] = convert(lat_text, "number")
        except ValueError as exc:
            return DeviceRowError(line, device_id, f"coordinates: {exc}")
    try:
        spec = DeviceSpec.model_validate(data)
    except ValidationError as exc:
        return DeviceRowError(line, device_id, "; ".join(problems_of(exc)))
    if profiles is not None and spec.profile not in profiles:
        close = difflib.get_close_matches(spec.profile, sorted(profiles), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return DeviceRowError(
            line,
            device_id,
            f"unknown profile {spec.profile!r}{hint}; create the profile first",
        )
    return DeviceRow(line, spec)


def write_credentials_csv(path: Path, issued: Iterable[IssuedCredentials]) -> int:
    """Write the issued secrets to a new file readable by its owner only (mode 0600) with the
    columns ``device_id, http_token, mqtt_username, mqtt_password`` (empty where a device has
    no such credential); returns the number of rows. Refuses to overwrite an existing file
    (or to follow a symlink): :class:`~cetate.errors.InvalidRequest`. Tell the person
    :data:`CREDENTIALS_WARNING`."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise InvalidRequest(
            f"{path} already exists; choose another file name (it is not overwritten)"
        ) from None
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            os.fchmod(handle.fileno(), 0o600)  # whatever the umask
            writer = csv.writer(handle)
            writer.writerow(CREDENTIAL_COLUMNS)
            for item in issued:
                writer.writerow(
                    [
                        item.device,
                        item.http_token or "",
                        item.mqtt_username or "",
                        item.mqtt_password or "",
                    ]
                )
                count += 1
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return count
