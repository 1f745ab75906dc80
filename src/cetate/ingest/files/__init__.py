"""File imports: NGSI-LD JSON, GeoJSON and CSV (with a column mapping).

Each reader turns a file into a stream of :data:`FileItem` — an entity in stored form with the
number of the record it came from, or a :class:`RowError` saying why a record was rejected.
:func:`cetate.ingest.files.importer.import_items` then writes the entities through
:meth:`cetate.entities.EntityService.batch_upsert` in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cetate.ngsi.model import EntityDoc


@dataclass(frozen=True, slots=True)
class RowError:
    """A record that was not imported, and why."""

    row: int
    """the record's number: the line for CSV (the header is line 1), the 1-based position of
    the entity or feature for JSON and GeoJSON"""
    entity_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedEntity:
    row: int
    entity: EntityDoc


FileItem = ParsedEntity | RowError


@dataclass(slots=True)
class ParsedFile:
    """What a reader found: how many records there are (for a progress bar) and the records."""

    total: int
    items: Iterator[FileItem]


FORMATS = ("ngsi-ld", "geojson", "csv")
