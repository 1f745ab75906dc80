"""The syntax trees of NGSI-LD queries: ``q`` (ETSI GS CIM 009 §4.9) and type expressions (§4.17).

:mod:`cetate.ngsi.query_language` parses text into these trees and evaluates them on entities;
each store backend compiles them into its own SQL. Attribute names in a tree are *expanded IRIs*
once the API has expanded them with the request's @context (the parser produces the terms as
written, :func:`cetate.ngsi.query_language.expand_paths` maps them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scalar = str | int | float | bool
"""A literal in a query. Quoted strings stay strings; unquoted ISO dates/times also stay strings
(date-times normalised to UTC ISO 8601) and compare as strings with string values, and by their
temporal order with typed DateTime/Date/Time values (see
:func:`cetate.ngsi.query_language.temporal_key`); numbers are int or float; true/false bool."""

ComparisonOp = Literal["==", "!=", ">", ">=", "<", "<=", "~=", "!~="]


@dataclass(frozen=True, slots=True)
class AttrPath:
    """``attr.sub.sub[member.member]``: an attribute, optional sub-attribute chain, optional
    path into a compound (JSON object) value. ``attr`` may also be one of the timestamps
    ``observedAt`` etc. when it follows a dot: ``temperature.observedAt`` is
    ``AttrPath("temperature", ("observedAt",))``."""

    attr: str
    sub: tuple[str, ...] = ()
    member: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ValueRange:
    """``attr==1..10``: inclusive range."""

    low: Scalar
    high: Scalar


@dataclass(frozen=True, slots=True)
class ValueList:
    """``attr==a,b,c``: equals any of (or, with ``!=``, none of)."""

    items: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    path: AttrPath
    op: ComparisonOp
    value: Scalar | ValueRange | ValueList
    """For ``~=`` and ``!~=`` the value is the regular expression as a string."""


@dataclass(frozen=True, slots=True)
class Exists:
    """A bare attribute path: true when the entity has it."""

    path: AttrPath


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[QueryNode, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[QueryNode, ...]


QueryNode = Comparison | Exists | And | Or


@dataclass(frozen=True, slots=True)
class TypeName:
    name: str


@dataclass(frozen=True, slots=True)
class TypeAnd:
    items: tuple[TypeExpr, ...]


@dataclass(frozen=True, slots=True)
class TypeOr:
    items: tuple[TypeExpr, ...]


TypeExpr = TypeName | TypeAnd | TypeOr
"""``type=A,B`` and ``type=A|B`` are ``TypeOr``; ``type=(A;B)|C`` mixes both."""
