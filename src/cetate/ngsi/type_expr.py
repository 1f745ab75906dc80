"""Entity type selection expressions (``type=A,B``, ``type=(A;B)|C``, §4.17)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cetate.ngsi.query_ast import TypeExpr


def parse_type_expr(text: str) -> TypeExpr:
    """Raises :class:`cetate.errors.InvalidRequest` on bad syntax."""
    raise NotImplementedError


def map_type_names(expr: TypeExpr, expand: Callable[[str], str]) -> TypeExpr:
    raise NotImplementedError


def type_names(expr: TypeExpr) -> set[str]:
    """Every type name mentioned."""
    raise NotImplementedError


def matches_types(expr: TypeExpr, types: Sequence[str]) -> bool:
    raise NotImplementedError
