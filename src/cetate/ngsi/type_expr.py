"""Entity type selection expressions (``type=A,B``, ``type=(A;B)|C``, §4.17).

Grammar (whitespace around names is ignored)::

    expr = and *(("|" / ",") and)      ; "," and "|" both mean or
    and  = term *(";" term)            ; ";" binds tighter than "|"
    term = name / "(" expr ")"

A name is any run of characters other than ``, | ; ( )`` and whitespace, so compact and full
IRIs (``https://smartdatamodels.org/…/WasteContainer``) are names. An entity matches a name
when that type is among its types; ``A;B`` needs both, ``A|B`` either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Final

from cetate.errors import InvalidRequest, TooComplexQuery
from cetate.ngsi.query_ast import TypeAnd, TypeExpr, TypeName, TypeOr

MAX_TYPE_EXPR_LENGTH: Final = 4096
MAX_TYPE_NESTING: Final = 16
_DELIMITERS: Final = frozenset(",|;()")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def fail(self, expected: str) -> InvalidRequest:
        found = self.text[self.pos : self.pos + 20]
        shown = repr(found) if found else "the end"
        return InvalidRequest(
            f"invalid type expression at position {self.pos + 1}: expected {expected}, "
            f"found {shown} (in {self.text!r})"
        )

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def take(self, chars: str) -> bool:
        self.skip()
        if self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1
            return True
        return False

    def parse(self) -> TypeExpr:
        expr = self.parse_or()
        self.skip()
        if self.pos < len(self.text):
            raise self.fail("',', '|', ';' or the end")
        return expr

    def parse_or(self) -> TypeExpr:
        items = [self.parse_and()]
        while self.take(",|"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else TypeOr(tuple(items))

    def parse_and(self) -> TypeExpr:
        items = [self.parse_term()]
        while self.take(";"):
            items.append(self.parse_term())
        return items[0] if len(items) == 1 else TypeAnd(tuple(items))

    def parse_term(self) -> TypeExpr:
        if self.take("("):
            self.depth += 1
            if self.depth > MAX_TYPE_NESTING:
                raise TooComplexQuery(
                    f"type expression nests deeper than {MAX_TYPE_NESTING} levels"
                )
            expr = self.parse_or()
            if not self.take(")"):
                raise self.fail("')'")
            self.depth -= 1
            return expr
        self.skip()
        start = self.pos
        while (
            self.pos < len(self.text)
            and self.text[self.pos] not in _DELIMITERS
            and not self.text[self.pos].isspace()
        ):
            self.pos += 1
        if self.pos == start:
            raise self.fail("a type name or '('")
        return TypeName(self.text[start : self.pos])


def parse_type_expr(text: str) -> TypeExpr:
    """Raises :class:`cetate.errors.InvalidRequest` on bad syntax (with the position)."""
    if len(text) > MAX_TYPE_EXPR_LENGTH:
        raise TooComplexQuery(
            f"type expression is {len(text)} characters; at most {MAX_TYPE_EXPR_LENGTH}"
        )
    return _Parser(text).parse()


def map_type_names(expr: TypeExpr, expand: Callable[[str], str]) -> TypeExpr:
    """The same expression with every name passed through ``expand`` (term → IRI)."""
    if isinstance(expr, TypeName):
        return TypeName(expand(expr.name))
    items = tuple(map_type_names(item, expand) for item in expr.items)
    return TypeAnd(items) if isinstance(expr, TypeAnd) else TypeOr(items)


def _names(expr: TypeExpr) -> Iterator[str]:
    if isinstance(expr, TypeName):
        yield expr.name
    else:
        for item in expr.items:
            yield from _names(item)


def type_names(expr: TypeExpr) -> set[str]:
    """Every type name mentioned."""
    return set(_names(expr))


def matches_types(expr: TypeExpr, types: Sequence[str]) -> bool:
    """True when an entity with these types satisfies the expression."""
    if isinstance(expr, TypeName):
        return expr.name in types
    if isinstance(expr, TypeAnd):
        return all(matches_types(item, types) for item in expr.items)
    return any(matches_types(item, types) for item in expr.items)
