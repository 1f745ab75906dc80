"""The NGSI-LD query language ``q`` (ETSI GS CIM 009 §4.9): parser and evaluator."""

from __future__ import annotations

from collections.abc import Callable

from cetate.ngsi.model import EntityDoc
from cetate.ngsi.query_ast import QueryNode


def parse_q(text: str) -> QueryNode:
    """Parse a ``q`` expression; raises :class:`cetate.errors.InvalidRequest` with the position
    and what was expected when the text is not valid."""
    raise NotImplementedError


def map_attribute_names(node: QueryNode, expand: Callable[[str], str]) -> QueryNode:
    """The same tree with every ``AttrPath.attr`` (and sub-attribute name) passed through
    ``expand`` (term → IRI). Timestamp keywords (observedAt, createdAt, modifiedAt, unitCode,
    datasetId) and member paths are left as they are."""
    raise NotImplementedError


def attribute_names(node: QueryNode) -> set[str]:
    """Every top-level attribute name the expression mentions."""
    raise NotImplementedError


def evaluate_q(node: QueryNode, entity: EntityDoc) -> bool:
    """True when the entity (stored form, expanded names) satisfies the expression."""
    raise NotImplementedError
