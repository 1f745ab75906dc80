"""Entity type selection expressions (§4.17)."""

from __future__ import annotations

import pytest

from cetate.errors import InvalidRequest, TooComplexQuery
from cetate.ngsi.query_ast import TypeAnd, TypeName, TypeOr
from cetate.ngsi.type_expr import map_type_names, matches_types, parse_type_expr, type_names

A, B, C, D = (TypeName(n) for n in "ABCD")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A", A),
        ("A,B", TypeOr((A, B))),
        ("A|B", TypeOr((A, B))),
        ("A,B|C", TypeOr((A, B, C))),
        ("A;B", TypeAnd((A, B))),
        ("(A;B)|C", TypeOr((TypeAnd((A, B)), C))),
        ("A;B|C", TypeOr((TypeAnd((A, B)), C))),
        ("A|B;C", TypeOr((A, TypeAnd((B, C))))),
        ("A;(B|C)", TypeAnd((A, TypeOr((B, C))))),
        ("((A))", A),
        (" A , B ", TypeOr((A, B))),
        (
            "https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer,ex:Bin",
            TypeOr(
                (
                    TypeName(
                        "https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer"
                    ),
                    TypeName("ex:Bin"),
                )
            ),
        ),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert parse_type_expr(text) == expected


@pytest.mark.parametrize(
    ("text", "position"),
    [("", 1), ("A,", 3), (",A", 1), ("A;;B", 3), ("(A|B", 5), ("A)", 2), ("A B", 3), ("()", 2)],
)
def test_parse_errors(text: str, position: int) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_type_expr(text)
    assert f"position {position}" in caught.value.detail


def test_too_complex() -> None:
    with pytest.raises(TooComplexQuery):
        parse_type_expr("(" * 20 + "A" + ")" * 20)
    with pytest.raises(TooComplexQuery):
        parse_type_expr(",".join(["A"] * 3000))


@pytest.mark.parametrize(
    ("text", "types", "expected"),
    [
        ("A", ["A"], True),
        ("A", ["B"], False),
        ("A", ["B", "A"], True),
        ("A,B", ["B"], True),
        ("A|B", ["C"], False),
        ("A;B", ["A"], False),
        ("A;B", ["B", "A"], True),
        ("(A;B)|C", ["C"], True),
        ("(A;B)|C", ["A", "D"], False),
        ("A;(B|C)", ["A", "C"], True),
        ("A;(B|C)", ["B", "C"], False),
        ("A", [], False),
    ],
)
def test_matches_types(text: str, types: list[str], expected: bool) -> None:
    assert matches_types(parse_type_expr(text), types) is expected


def test_map_and_names() -> None:
    expr = parse_type_expr("(A;B)|C")
    mapped = map_type_names(expr, lambda t: "https://ex.org/" + t)
    assert mapped == TypeOr(
        (
            TypeAnd((TypeName("https://ex.org/A"), TypeName("https://ex.org/B"))),
            TypeName("https://ex.org/C"),
        )
    )
    assert type_names(expr) == {"A", "B", "C"}
    assert type_names(mapped) == {"https://ex.org/A", "https://ex.org/B", "https://ex.org/C"}
    assert matches_types(mapped, ["https://ex.org/C"])
