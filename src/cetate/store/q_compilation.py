"""What both backends share when they compile ``q`` to SQL.

A backend compiles a ``q`` tree to ``(condition or None, exact)``: exact means the SQL alone
decides; otherwise the condition (when given) keeps every match and
:func:`cetate.ngsi.query_language.evaluate_q` decides the rest. This module decides which
comparisons can run on a scalar value in SQL and combines the conditions of ``;`` and ``|``;
the backends write the SQL of their own conditions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, LiteralString, TypeVar

from cetate.ngsi.query_ast import And, Comparison, Or, QueryNode, Scalar, ValueList, ValueRange
from cetate.ngsi.query_language import TemporalKind, literal_temporal_key, temporal_kind_bounds

TIME_KEYWORDS: Final = frozenset({"observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId"})

Condition = TypeVar("Condition")

Compiled = tuple[Condition | None, bool]
"""(SQL condition or None, exact)"""


def is_simple_path(comparison_path: Any) -> bool:
    """An attribute with no sub-attribute and no member path: comparable on the scalar column."""
    return not comparison_path.sub and not comparison_path.member


def _scalar_kind(value: Scalar) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return None


def comparison_kind(node: Comparison) -> str | None:
    """``"number"`` or ``"text"`` when a backend can run the comparison on the scalar-value
    column (a simple path; literals all numbers or all strings, no booleans), else None."""
    if not is_simple_path(node.path) or node.path.attr in TIME_KEYWORDS:
        return None
    value = node.value
    if node.op in ("~=", "!~="):
        return "text" if isinstance(value, str) else None
    if isinstance(value, ValueRange):
        if node.op not in ("==", "!="):
            return None
        low, high = _scalar_kind(value.low), _scalar_kind(value.high)
        return low if low is not None and low == high else None
    if isinstance(value, ValueList):
        if node.op not in ("==", "!=") or not value.items:
            return None
        kinds = {_scalar_kind(item) for item in value.items}
        return kinds.pop() if len(kinds) == 1 and None not in kinds else None
    return _scalar_kind(value)


def compile_boolean(
    node: And | Or,
    params: list[Any],
    compile_item: Callable[[QueryNode, list[Any]], Compiled[Condition]],
    join: Callable[[LiteralString, list[Condition]], Condition],
) -> Compiled[Condition]:
    """The condition of ``a;b`` (``And``) or ``a|b`` (``Or``) from those of its items.

    An ``And`` keeps the items that have SQL (the others are left to Python, so the result is
    then inexact); an ``Or`` has SQL only when every item has. ``join`` writes the conditions
    joined by ``" AND "`` or ``" OR "``; the parameters of the items kept are appended to
    ``params`` in order."""
    parts: list[tuple[Condition | None, bool, list[Any]]] = []
    for item in node.items:
        sub_params: list[Any] = []
        condition, exact = compile_item(item, sub_params)
        parts.append((condition, exact, sub_params))
    if isinstance(node, And):
        kept = [(c, p) for c, _, p in parts if c is not None]
        all_exact = all(e for _, e, _ in parts)
        if not kept:
            return None, all_exact
        for _, sub_params in kept:
            params.extend(sub_params)
        return join(" AND ", [c for c, _ in kept]), all_exact
    conditions = [c for c, _, _ in parts]
    if any(c is None for c in conditions):
        return None, False
    for _, _, sub_params in parts:
        params.extend(sub_params)
    return join(" OR ", [c for c in conditions if c is not None]), all(e for _, e, _ in parts)


def temporal_conditions(
    op: str,
    value: Scalar | ValueRange | ValueList,
    column: str,
    mark: str,
    encode: Callable[[str], Any],
) -> tuple[str, list[Any]] | None:
    """The condition on typed date-time, date and time values of a comparison whose literals
    are strings (``comparison_kind`` "text"), with its parameters, or None when no literal is
    a valid date-time, date or time.

    ``column`` is the SQL of an instance's temporal key (see
    :func:`cetate.ngsi.query_language.temporal_key`; NULL for other values), ``mark`` the
    parameter placeholder and ``encode`` turns a key into a parameter (bytes for SQLite's
    BLOBs, text for PostgreSQL). A value compares only with literals of its own kind, quoted
    or not, for ``!=`` too (as :func:`cetate.ngsi.query_language.evaluate_q` does): the keys
    of a kind lie in ``[tag:, tag;)``, which bounds every open comparison."""

    def marks(count: int) -> str:
        return ", ".join([mark] * count)

    def bounds(kind: TemporalKind) -> list[Any]:
        return [encode(bound) for bound in temporal_kind_bounds(kind)]

    parts: list[str] = []
    params: list[Any] = []
    if isinstance(value, ValueRange):
        low, high = literal_temporal_key(value.low), literal_temporal_key(value.high)
        if low is None or high is None or low[0] != high[0]:
            return None
        inside = f"{column} >= {mark} AND {column} <= {mark}"
        keys = [encode(low[1]), encode(high[1])]
        if op == "==":
            parts.append(inside)
            params.extend(keys)
        else:
            parts.append(f"{column} >= {mark} AND {column} < {mark} AND NOT ({inside})")
            params.extend([*bounds(low[0]), *keys])
    elif isinstance(value, ValueList):
        by_kind: dict[TemporalKind, list[Any]] = {}
        for item in value.items:
            found = literal_temporal_key(item)
            if found is not None:
                by_kind.setdefault(found[0], []).append(encode(found[1]))
        for kind, kind_keys in by_kind.items():
            listed = f"{column} IN ({marks(len(kind_keys))})"
            if op == "==":
                parts.append(listed)
                params.extend(kind_keys)
            else:
                parts.append(f"{column} >= {mark} AND {column} < {mark} AND NOT ({listed})")
                params.extend([*bounds(kind), *kind_keys])
    else:
        found = literal_temporal_key(value)
        if found is None:
            return None
        kind_low, kind_high = bounds(found[0])
        key = encode(found[1])
        choices: dict[str, tuple[str, list[Any]]] = {
            "==": ("{c} = {m}", [key]),
            "!=": ("{c} >= {m} AND {c} < {m} AND {c} <> {m}", [kind_low, kind_high, key]),
            ">": ("{c} > {m} AND {c} < {m}", [key, kind_high]),
            ">=": ("{c} >= {m} AND {c} < {m}", [key, kind_high]),
            "<": ("{c} < {m} AND {c} >= {m}", [key, kind_low]),
            "<=": ("{c} <= {m} AND {c} >= {m}", [key, kind_low]),
        }
        template, template_params = choices[op]
        parts.append(template.format(c=column, m=mark))
        params.extend(template_params)
    if not parts:
        return None
    return "(" + " OR ".join(f"({part})" for part in parts) + ")", params
