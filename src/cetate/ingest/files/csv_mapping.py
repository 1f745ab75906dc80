"""CSV files with a column mapping: one entity per row.

A mapping (``--mapping mapping.json``) says which column is what::

    {
      "type": "WasteContainer",
      "context": "https://smart-data-models.github.io/dataModel.WasteManagement/context.jsonld",
      "id": {"column": "code", "prefix": "urn:ngsi-ld:WasteContainer:cluj:"},
      "location": {"lon": "longitude", "lat": "latitude"},
      "observedAt": "measured_at",
      "delimiter": ",",
      "attributes": {
        "fill": {"name": "fillingLevel", "type": "number", "unitCode": "C62"},
        "nume": "name"
      }
    }

* ``type`` is the entity type (or ``typeColumn`` names a column holding it; ``--type`` wins).
* ``id`` is a column name or ``{"column", "prefix"}``; ids that are not URIs become
  ``urn:ngsi-ld:<type>:<id>``. Default: the column ``id``.
* ``location`` is ``{"lon", "lat"}`` columns or ``{"geojson": column}`` with GeoJSON geometry
  text. Default: columns named lon/lng/longitude and lat/latitude when present.
* ``attributes`` maps a column to an attribute name, or to ``{"name", "type", "unitCode"}``;
  types: ``auto`` (default: integers, decimals, true/false, else text), ``number``,
  ``integer``, ``string``, ``boolean``, ``datetime``, ``json``, ``relationship``.
  Without any mapping every other column becomes an attribute of the same name (``auto``).
* ``observedAt`` names a column with the time of the readings (ISO 8601).

``--column col=attr[:type]`` on the command line adds to (or, alone, makes) the mapping.
Empty cells are skipped. Row numbers in reports are the file's line numbers (header = line 1).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cetate.errors import CetateError, InvalidRequest
from cetate.ingest.files import FileItem, ParsedEntity, ParsedFile, RowError
from cetate.ingest.files.geojson import entity_id_for
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.representation import expand_entity
from cetate.ngsi.timestamps import format_datetime, parse_datetime

ValueType = Literal[
    "auto", "number", "integer", "string", "boolean", "datetime", "json", "relationship"
]

LON_COLUMNS = ("lon", "lng", "long", "longitude", "x")
LAT_COLUMNS = ("lat", "latitude", "y")


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: ValueType = "auto"
    unit_code: str | None = Field(default=None, alias="unitCode")


class IdSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str = "id"
    prefix: str | None = None


class LocationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lon: str | None = None
    lat: str | None = None
    geojson: str | None = None


class CsvMapping(BaseModel):
    """How the columns of a CSV file become an entity."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: str | None = None
    type_column: str | None = Field(default=None, alias="typeColumn")
    context: Any | None = None
    id: IdSpec | str = IdSpec()
    location: LocationSpec | None = None
    observed_at: str | None = Field(default=None, alias="observedAt")
    delimiter: str = ","
    attributes: dict[str, ColumnSpec | str] = Field(default_factory=dict)

    def id_spec(self) -> IdSpec:
        return IdSpec(column=self.id) if isinstance(self.id, str) else self.id

    def column_specs(self) -> dict[str, ColumnSpec]:
        return {
            column: ColumnSpec(name=spec) if isinstance(spec, str) else spec
            for column, spec in self.attributes.items()
        }


def load_mapping(path: Path) -> CsvMapping:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"mapping {path}: cannot read it as JSON ({exc})") from None
    try:
        return CsvMapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise InvalidRequest(f"mapping {path}: {problems}") from None


_COLUMN_OPTION = re.compile(r"^(?P<column>[^=]+)=(?P<name>[^:]+)(?::(?P<type>\w+))?$")


def parse_column_options(options: Sequence[str]) -> dict[str, ColumnSpec]:
    """``--column fill=fillingLevel:number`` options as column specs."""
    specs: dict[str, ColumnSpec] = {}
    for option in options:
        match = _COLUMN_OPTION.match(option.strip())
        if not match:
            raise InvalidRequest(
                f"--column {option!r}: expected COLUMN=ATTRIBUTE or COLUMN=ATTRIBUTE:TYPE"
            )
        value_type = match["type"] or "auto"
        if value_type not in ValueType.__args__:  # type: ignore[attr-defined]
            raise InvalidRequest(
                f"--column {option!r}: unknown type {value_type!r}; use one of "
                + ", ".join(ValueType.__args__)  # type: ignore[attr-defined]
            )
        specs[match["column"].strip()] = ColumnSpec(name=match["name"].strip(), type=value_type)
    return specs


_INTEGER = re.compile(r"^[-+]?\d+$")
_DECIMAL = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


def convert(text: str, value_type: ValueType) -> Any:
    """A cell's text as a typed value; ValueError with a readable message when it is not."""
    if value_type == "auto":
        if _INTEGER.match(text):
            return int(text)
        if _DECIMAL.match(text):
            return float(text)
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        return text
    if value_type == "number":
        normalised = text.replace(",", ".")
        if not _DECIMAL.match(normalised):
            return _fail(f"{text!r} is not a number")
        return float(normalised)
    if value_type == "integer":
        if not _INTEGER.match(text):
            _fail(f"{text!r} is not an integer")
        return int(text)
    if value_type == "boolean":
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "da"):
            return True
        if lowered in ("false", "0", "no", "nu"):
            return False
        return _fail(f"{text!r} is not a boolean (true/false)")
    if value_type == "datetime":
        try:
            return {"@type": "DateTime", "@value": format_datetime(parse_datetime(text))}
        except CetateError:
            return _fail(f"{text!r} is not an ISO 8601 date-time")
    if value_type == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            return _fail(f"{text!r} is not JSON ({exc.msg})")
    return text


def _fail(message: str) -> Any:
    raise ValueError(message)


def read_csv(
    path: Path,
    resolver: ContextResolver,
    mapping: CsvMapping | None = None,
    *,
    entity_type: str | None = None,
    columns: dict[str, ColumnSpec] | None = None,
    default_context: Any | None = None,
) -> ParsedFile:
    """Entities of a CSV file. ``columns`` (from ``--column``) extend the mapping."""
    mapping = mapping or CsvMapping()
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            total = max(sum(1 for _ in csv.reader(handle, delimiter=mapping.delimiter)) - 1, 0)
            handle.seek(0)
            header = next(csv.reader(handle, delimiter=mapping.delimiter), None)
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{path}: not UTF-8 text ({exc.reason})") from None
    if not header:
        raise InvalidRequest(f"{path}: the file is empty; expected a header row")
    header = [name.strip() for name in header]
    plan = _plan(path, header, mapping, entity_type, columns or {})
    context = mapping.context if mapping.context is not None else default_context
    return ParsedFile(total, _rows(path, mapping.delimiter, header, plan, resolver, context))


class _Plan:
    def __init__(
        self,
        id_spec: IdSpec,
        entity_type: str | None,
        type_column: str | None,
        location: LocationSpec | None,
        observed_at: str | None,
        attributes: dict[str, ColumnSpec],
    ) -> None:
        self.id_spec = id_spec
        self.entity_type = entity_type
        self.type_column = type_column
        self.location = location
        self.observed_at = observed_at
        self.attributes = attributes


def _plan(
    path: Path,
    header: list[str],
    mapping: CsvMapping,
    entity_type: str | None,
    extra_columns: dict[str, ColumnSpec],
) -> _Plan:
    present = set(header)
    lowered = {name.lower(): name for name in header}
    id_spec = mapping.id_spec()
    type_column = mapping.type_column
    if type_column is None and "type" in present and not (entity_type or mapping.type):
        type_column = "type"
    chosen_type = entity_type or mapping.type
    if chosen_type is None and type_column is None:
        raise InvalidRequest(
            f'{path}: no entity type; pass --type, put "type" in the mapping or add a '
            "'type' column"
        )
    location = mapping.location
    if location is None:
        lon = next((lowered[c] for c in LON_COLUMNS if c in lowered), None)
        lat = next((lowered[c] for c in LAT_COLUMNS if c in lowered), None)
        if lon and lat:
            location = LocationSpec(lon=lon, lat=lat)
    attributes = mapping.column_specs()
    attributes.update(extra_columns)
    if not attributes:
        used = {id_spec.column, type_column, mapping.observed_at}
        if location:
            used |= {location.lon, location.lat, location.geojson}
        attributes = {name: ColumnSpec(name=name) for name in header if name and name not in used}
    needed = [id_spec.column, type_column, mapping.observed_at, *attributes]
    if location:
        needed += [location.lon, location.lat, location.geojson]
    missing = [name for name in needed if name and name not in present]
    if missing:
        raise InvalidRequest(
            f"{path}: the header has no column {', '.join(repr(m) for m in missing)}; "
            f"it has {', '.join(header)}"
        )
    return _Plan(id_spec, chosen_type, type_column, location, mapping.observed_at, attributes)


def _rows(
    path: Path,
    delimiter: str,
    header: list[str],
    plan: _Plan,
    resolver: ContextResolver,
    context: Any,
) -> Iterator[FileItem]:
    try:
        ld_context = resolver.resolve(context)
    except CetateError as exc:
        raise InvalidRequest(f"@context {context!r}: {exc.detail}") from None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            row = dict(zip(header, (cell.strip() for cell in cells), strict=False))
            payload = _row_payload(line, row, plan)
            if isinstance(payload, RowError):
                yield payload
                continue
            try:
                yield ParsedEntity(line, expand_entity(payload, ld_context))
            except CetateError as exc:
                yield RowError(line, payload["id"], exc.detail)


def _row_payload(line: int, row: dict[str, str], plan: _Plan) -> dict[str, Any] | RowError:
    entity_type = plan.entity_type or (row.get(plan.type_column or "") or None)
    raw_id = row.get(plan.id_spec.column, "")
    if not entity_type:
        return RowError(line, raw_id or None, f"empty type column {plan.type_column!r}")
    if not raw_id:
        return RowError(line, None, f"empty id column {plan.id_spec.column!r}")
    if plan.id_spec.prefix:
        entity_id: str | None = plan.id_spec.prefix + raw_id
    else:
        entity_id = entity_id_for(raw_id, entity_type)
    payload: dict[str, Any] = {"id": entity_id, "type": entity_type}
    observed_at: str | None = None
    if plan.observed_at and row.get(plan.observed_at):
        try:
            observed_at = format_datetime(parse_datetime(row[plan.observed_at]))
        except CetateError:
            return RowError(
                line,
                entity_id,
                f"column {plan.observed_at!r}: {row[plan.observed_at]!r} is not an ISO 8601 "
                "date-time",
            )
    if plan.location:
        location = _location(row, plan.location)
        if isinstance(location, str):
            return RowError(line, entity_id, location)
        if location is not None:
            payload["location"] = {"type": "GeoProperty", "value": location}
    for column, spec in plan.attributes.items():
        text = row.get(column, "")
        if text == "":
            continue
        try:
            value = convert(text, spec.type)
        except ValueError as exc:
            return RowError(line, entity_id, f"column {column!r}: {exc}")
        attribute: dict[str, Any]
        if spec.type == "relationship":
            attribute = {"type": "Relationship", "object": value}
        else:
            attribute = {"type": "Property", "value": value}
        if spec.unit_code:
            attribute["unitCode"] = spec.unit_code
        if observed_at:
            attribute["observedAt"] = observed_at
        payload[spec.name] = attribute
    return payload


def _location(row: dict[str, str], spec: LocationSpec) -> dict[str, Any] | str | None:
    """A GeoJSON geometry, None when the cells are empty, or the reason it is wrong."""
    if spec.geojson:
        text = row.get(spec.geojson, "")
        if not text:
            return None
        try:
            geometry = json.loads(text)
        except json.JSONDecodeError:
            return f"column {spec.geojson!r}: not GeoJSON geometry text"
        if not isinstance(geometry, dict):
            return f"column {spec.geojson!r}: not a GeoJSON geometry object"
        return geometry
    lon_text = row.get(spec.lon or "", "")
    lat_text = row.get(spec.lat or "", "")
    if not lon_text and not lat_text:
        return None
    try:
        lon = float(lon_text.replace(",", "."))
        lat = float(lat_text.replace(",", "."))
    except ValueError:
        return f"coordinates {lon_text!r}, {lat_text!r} are not numbers"
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return (
            f"coordinates lon={lon}, lat={lat} are out of range "
            "(longitude −180…180, latitude −90…90; are the columns swapped?)"
        )
    return {"type": "Point", "coordinates": [lon, lat]}
