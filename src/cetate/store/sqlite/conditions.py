"""Type expressions and ``q`` compiled to SQL conditions on the SQLite side tables.

A condition is about the entity whose primary key is the column ``pk`` of the scan (see
:mod:`cetate.store.sqlite.entity_queries`): types through ``entity_types``, ``q`` through
probes into ``entity_attrs`` by primary key, whose ``val`` column holds each instance's scalar
value (numbers sort before text and text before BLOBs in SQLite, which bounds a range to one
kind). Typed date-time, date and time values are BLOBs holding their temporal key (migration
0003): a string literal that is a valid date-time, date or time also compares with the keys
of its kind (:func:`cetate.store.q_compilation.temporal_conditions`), and ``!=`` on numbers or
text never matches them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cetate.ngsi.query_ast import (
    And,
    Comparison,
    Exists,
    Or,
    QueryNode,
    TypeAnd,
    TypeExpr,
    TypeName,
    ValueList,
    ValueRange,
)
from cetate.store.q_compilation import comparison_kind, compile_boolean, temporal_conditions


def marks(items: Sequence[Any]) -> str:
    """``?, ?, ?``: one placeholder per item."""
    return ", ".join("?" * len(items))


def _join(operator: str, conditions: list[str]) -> str:
    return "(" + operator.join(c for c in conditions if c) + ")"


_NOT_TEMPORAL = "typeof(v.val) <> 'blob'"
"""the value is not a typed date-time, date or time (those are indexed as BLOBs, see
:func:`cetate.store.sql_common.temporal_index_value`)"""


class ConditionCompiler:
    """Compiles conditions for one query of one tenant: ``name`` interns an IRI of that
    tenant (None when no entity of the tenant ever used it, so nothing can match)."""

    def __init__(self, name: Callable[[str], int | None], pk: str) -> None:
        self.name = name
        self.pk = pk

    def types_sql(self, expr: TypeExpr, params: list[Any]) -> str:
        if isinstance(expr, TypeName) or (
            not isinstance(expr, TypeAnd) and all(isinstance(i, TypeName) for i in expr.items)
        ):
            names = [expr] if isinstance(expr, TypeName) else list(expr.items)
            ids = [
                i
                for i in (self.name(n.name) for n in names if isinstance(n, TypeName))
                if i is not None
            ]
            if not ids:
                return "0"
            params.extend(ids)
            return (
                "EXISTS (SELECT 1 FROM entity_types t "
                f"WHERE t.type_id IN ({marks(ids)}) AND t.eid = k.eid)"
            )
        parts = []
        for item in expr.items:
            sub_params: list[Any] = []
            sql = self.types_sql(item, sub_params)
            if isinstance(expr, TypeAnd) and sql == "0":
                return "0"
            if sql == "0":
                continue
            parts.append(sql)
            params.extend(sub_params)
        if not parts:
            return "0"
        joiner = " AND " if isinstance(expr, TypeAnd) else " OR "
        return "(" + joiner.join(parts) + ")"

    def q_sql(self, node: QueryNode, params: list[Any]) -> tuple[str | None, bool]:
        """(SQL condition or None, exact). Exact means the SQL alone decides; otherwise the SQL
        (when given) is a pre-filter that keeps every match and Python decides the rest."""
        if isinstance(node, And | Or):
            return compile_boolean(node, params, self.q_sql, _join)
        if isinstance(node, Exists):
            if node.path.sub or node.path.member:
                return None, False
            attr_id = self.name(node.path.attr)
            if attr_id is None:
                return "0", True
            params.append(attr_id)
            return self.probe(""), True
        return self.comparison_sql(node, params)

    def comparison_sql(self, node: Comparison, params: list[Any]) -> tuple[str | None, bool]:
        kind = comparison_kind(node)
        if kind is None:
            if node.path.sub or node.path.member:
                # the attribute must at least exist: a sound pre-filter
                attr_id = self.name(node.path.attr)
                if attr_id is None:
                    return "0", True
                params.append(attr_id)
                return self.probe(""), False
            return None, False
        attr_id = self.name(node.path.attr)
        if attr_id is None:
            return "0", True
        value = node.value
        cond: str
        values: list[Any]
        if node.op in ("~=", "!~="):
            cond = "typeof(v.val) = 'text' AND " + (
                "regexp(?, v.val)" if node.op == "~=" else "NOT regexp(?, v.val)"
            )
            values = [value]
        elif isinstance(value, ValueRange):
            cond = "v.val >= ? AND v.val <= ?"
            if node.op == "!=":
                cond = f"(v.val IS NULL OR ({_NOT_TEMPORAL} AND NOT ({cond})))"
            values = [value.low, value.high]
        elif isinstance(value, ValueList):
            cond = f"v.val IN ({marks(value.items)})"
            if node.op == "!=":
                cond = f"(v.val IS NULL OR ({_NOT_TEMPORAL} AND NOT ({cond})))"
            values = list(value.items)
        else:
            # numbers sort before text, text before blobs: bound the range to one kind
            upper = "''" if kind == "number" else "X''"
            lower = "" if kind == "number" else " AND v.val >= ''"
            cond = {
                "==": "v.val = ?",
                "!=": f"(v.val IS NULL OR ({_NOT_TEMPORAL} AND v.val <> ?))",
                ">": f"v.val > ? AND v.val < {upper}",
                ">=": f"v.val >= ? AND v.val < {upper}",
                "<": f"v.val < ?{lower}",
                "<=": f"v.val <= ?{lower}",
            }[node.op]
            values = [value]
        if kind == "text" and node.op not in ("~=", "!~="):
            temporal = temporal_conditions(node.op, value, "v.val", "?", str.encode)
            if temporal is not None:
                cond = f"(({cond}) OR {temporal[0]})"
                values.extend(temporal[1])
        params.append(attr_id)
        params.extend(values)
        return self.probe(cond), True

    def probe(self, cond: str) -> str:
        """An instance of the attribute (``attr_id`` bound next) satisfies ``cond``. The unary
        ``+`` keeps SQLite on the primary key (entity_pk, attr_id) for the probe."""
        cond = cond.replace("v.val", "+v.val")
        return (
            f"EXISTS (SELECT 1 FROM entity_attrs v WHERE v.entity_pk = {self.pk} "
            f"AND v.attr_id = ?{' AND ' + cond if cond else ''})"
        )
