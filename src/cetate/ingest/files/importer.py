"""Writing what a file reader found through the entity service, in chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cetate.entities import EntityService
from cetate.errors import InvalidRequest
from cetate.ingest.files import FileItem, ParsedEntity, ParsedFile, RowError
from cetate.ingest.files.csv_mapping import ColumnSpec, CsvMapping, read_csv
from cetate.ingest.files.geojson import read_geojson
from cetate.ingest.files.ngsild_json import read_ngsild
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.model import EntityDoc

FileFormat = Literal["ngsi-ld", "geojson", "csv"]

DEFAULT_CHUNK = 500


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    """records read"""
    stored: int = 0
    """entities created or replaced"""
    rejected: list[RowError] = field(default_factory=list)


def guess_format(path: Path) -> FileFormat:
    suffix = path.suffix.lower()
    if suffix in (".geojson",):
        return "geojson"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix in (".json", ".jsonld", ".jsonl", ".ndjson"):
        return "ngsi-ld"
    raise InvalidRequest(
        f"cannot tell the format of {path.name} from its extension; pass "
        "--format ngsi-ld, geojson or csv"
    )


def read_file(
    path: Path,
    file_format: FileFormat,
    resolver: ContextResolver,
    *,
    entity_type: str | None = None,
    mapping: CsvMapping | None = None,
    columns: dict[str, ColumnSpec] | None = None,
    context: Any | None = None,
) -> ParsedFile:
    """The reader for a format; raises InvalidRequest when the whole file is unusable."""
    if not path.is_file():
        raise InvalidRequest(f"{path}: no such file")
    if file_format == "ngsi-ld":
        return read_ngsild(path, resolver, default_context=context)
    if file_format == "geojson":
        return read_geojson(path, resolver, entity_type=entity_type, default_context=context)
    return read_csv(
        path,
        resolver,
        mapping,
        entity_type=entity_type,
        columns=columns,
        default_context=context,
    )


def import_items(
    items: Iterable[FileItem],
    service: EntityService,
    tenant: str,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert the entities in chunks (one transaction each); collect rejected records.
    ``on_progress`` is called with the number of records handled since the last call."""
    report = ImportReport()
    chunk: list[ParsedEntity] = []
    pending_errors = 0

    def flush() -> None:
        nonlocal pending_errors
        if chunk:
            _write_chunk(chunk, service, tenant, report)
        if on_progress is not None and (chunk or pending_errors):
            on_progress(len(chunk) + pending_errors)
        chunk.clear()
        pending_errors = 0

    seen: set[str] = set()
    for item in items:
        report.rows += 1
        if isinstance(item, RowError):
            report.rejected.append(item)
            pending_errors += 1
            continue
        entity_id = item.entity["id"]
        if entity_id in seen:
            flush()  # the same id twice in one batch: write the first one first
            seen.clear()
        chunk.append(item)
        seen.add(entity_id)
        if len(chunk) >= chunk_size:
            flush()
            seen.clear()
    flush()
    report.rejected.sort(key=lambda error: error.row)
    return report


def _write_chunk(
    chunk: list[ParsedEntity], service: EntityService, tenant: str, report: ImportReport
) -> None:
    rows = {item.entity["id"]: item.row for item in chunk}
    entities: list[EntityDoc] = [item.entity for item in chunk]
    result = service.batch_upsert(tenant, entities)
    report.stored += len(result.success)
    for failure in result.errors:
        report.rejected.append(
            RowError(rows.get(failure.entity_id, 0), failure.entity_id, failure.error.detail)
        )
