"""NGSI-LD JSON files: an array of entities (what ``cetate export`` writes), one entity, or
JSON Lines (one entity per line, ``.jsonl`` / ``.ndjson``).

Each entity may carry its own ``@context``; entities without one use the context given on the
command line, or the NGSI-LD core context.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cetate.errors import CetateError, InvalidRequest
from cetate.ingest.files import FileItem, ParsedEntity, ParsedFile, RowError
from cetate.ngsi.jsonld import ContextResolver
from cetate.ngsi.representation import expand_entity


def load_json(path: Path) -> Any:
    """The parsed JSON of a file, or InvalidRequest saying where it is malformed."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{path}: not UTF-8 text ({exc.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _json_lines(path: Path) -> list[Any]:
    records: list[Any] = []
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                # keep the position so the row report can say which line was bad
                records.append(_Malformed(number, exc.msg))
    return records


class _Malformed:
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message


def entity_id_of(record: Any) -> str | None:
    if isinstance(record, dict):
        value = record.get("id", record.get("@id"))
        if isinstance(value, str):
            return value
    return None


def read_ngsild(
    path: Path, resolver: ContextResolver, *, default_context: Any | None = None
) -> ParsedFile:
    """Entities of an NGSI-LD JSON file in stored form, one item per record."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        records = _json_lines(path)
    else:
        data = load_json(path)
        if isinstance(data, dict):
            records = [data]
        elif isinstance(data, list):
            records = data
        else:
            raise InvalidRequest(
                f"{path}: expected a JSON array of NGSI-LD entities or one entity object"
            )
    return ParsedFile(len(records), _items(records, resolver, default_context))


def _items(
    records: list[Any], resolver: ContextResolver, default_context: Any
) -> Iterator[FileItem]:
    for row, record in enumerate(records, start=1):
        if isinstance(record, _Malformed):
            yield RowError(row, None, f"line {record.line} is not valid JSON: {record.message}")
            continue
        yield expand_record(row, record, resolver, default_context)


def expand_record(
    row: int, record: Any, resolver: ContextResolver, default_context: Any
) -> FileItem:
    """One NGSI-LD entity (normalized or concise) in stored form, or why it is rejected."""
    entity_id = entity_id_of(record)
    if not isinstance(record, dict):
        return RowError(row, None, f"expected a JSON object, got {type(record).__name__}")
    context = record.get("@context", default_context)
    try:
        ld_context = resolver.resolve(context)
        payload = {key: value for key, value in record.items() if key != "@context"}
        return ParsedEntity(row, expand_entity(payload, ld_context))
    except CetateError as exc:
        return RowError(row, entity_id, exc.detail)
