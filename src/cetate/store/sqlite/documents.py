"""How the SQLite store keeps an entity document: JSON text in ``entities.doc``."""

from __future__ import annotations

from cetate.ngsi.model import EntityDoc
from cetate.store.sql_common import loads


def entity_doc(text: str) -> EntityDoc:
    """A document as stored."""
    doc: EntityDoc = loads(text)
    return doc
