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
