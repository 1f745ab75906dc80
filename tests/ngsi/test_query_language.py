"""The NGSI-LD ``q`` language: parsing, errors, name mapping and evaluation on stored form."""

from __future__ import annotations

from typing import Any

import pytest

from cetate.errors import InvalidRequest, TooComplexQuery
from cetate.ngsi.query_ast import (
    And,
    AttrPath,
    Comparison,
    Exists,
    Or,
    ValueList,
    ValueRange,
)
from cetate.ngsi.query_language import (
    MAX_NESTING,
    MAX_QUERY_LENGTH,
    attribute_names,
    evaluate_q,
    map_attribute_names,
    parse_q,
)


def cmp(attr: str, op: str, value: Any, sub: tuple[str, ...] = (), member: tuple[str, ...] = ()):
    return Comparison(AttrPath(attr, sub, member), op, value)  # type: ignore[arg-type]


# -- parsing: operators and literals -----------------------------------------------------


@pytest.mark.parametrize("op", ["==", "!=", ">", ">=", "<", "<="])
def test_every_comparison_operator(op: str) -> None:
    assert parse_q(f"temperature{op}20") == cmp("temperature", op, 20)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a==20", 20),
        ("a==-3", -3),
        ("a==20.5", 20.5),
        ("a==-0.25", -0.25),
        ("a==1e3", 1000.0),
        ("a==2.5E-1", 0.25),
        ('a=="text"', "text"),
        ('a==""', ""),
        ('a=="with \\"escaped\\" quotes"', 'with "escaped" quotes'),
        ('a=="back\\\\slash"', "back\\slash"),
        ('a=="semi;colon|pipe)paren,comma"', "semi;colon|pipe)paren,comma"),
        ('a=="Brașov șțăîâ"', "Brașov șțăîâ"),
        ("a==true", True),
        ("a==false", False),
        ("a==urn:ngsi-ld:Building:cluj:001", "urn:ngsi-ld:Building:cluj:001"),
        ("a==https://example.org/x#y", "https://example.org/x#y"),
        ("a==2026-01-01", "2026-01-01"),
        ("a==12:30:00", "12:30:00"),
        ("a==2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z"),
        ("a==2026-01-01T02:00:00+02:00", "2026-01-01T00:00:00.000Z"),
        ("a==2026-01-01T00:00:00.123456Z", "2026-01-01T00:00:00.123Z"),
    ],
)
def test_literals(text: str, value: Any) -> None:
    node = parse_q(text)
    assert isinstance(node, Comparison)
    assert node.value == value
    assert type(node.value) is type(value)


def test_pattern_operators_keep_the_regex() -> None:
    assert parse_q("name~=^Cl.*j$") == cmp("name", "~=", "^Cl.*j$")
    assert parse_q("name!~=(?i)cluj") == cmp("name", "!~=", "(?i)cluj")


def test_regex_groups_may_hold_or_and_semicolons() -> None:
    assert parse_q("name~=^(Cluj|Iasi);b") == And(
        (cmp("name", "~=", "^(Cluj|Iasi)"), Exists(AttrPath("b")))
    )


def test_quoted_regex_may_hold_top_level_alternation() -> None:
    assert parse_q('name~="Cluj|Iasi"|b') == Or(
        (cmp("name", "~=", "Cluj|Iasi"), Exists(AttrPath("b")))
    )


def test_escaped_characters_in_unquoted_regex() -> None:
    assert parse_q(r"name~=a\|b") == cmp("name", "~=", r"a\|b")


def test_ranges() -> None:
    assert parse_q("a==1..10") == cmp("a", "==", ValueRange(1, 10))
    assert parse_q("a!=1.5..2.5") == cmp("a", "!=", ValueRange(1.5, 2.5))
    assert parse_q('a=="a".."m"') == cmp("a", "==", ValueRange("a", "m"))
    assert parse_q("a==2026-01-01T00:00:00Z..2026-02-01T00:00:00Z") == cmp(
        "a",
        "==",
        ValueRange("2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"),
    )
    assert parse_q("a==2026-01-01..2026-12-31") == cmp(
        "a", "==", ValueRange("2026-01-01", "2026-12-31")
    )


def test_negative_and_fractional_ranges() -> None:
    assert parse_q("a==-5..-1") == cmp("a", "==", ValueRange(-5, -1))
    assert parse_q("a==.5..1.5") == cmp("a", "==", ValueRange(0.5, 1.5))


def test_lists() -> None:
    assert parse_q("a==1,2,3") == cmp("a", "==", ValueList((1, 2, 3)))
    assert parse_q('a!="x","y"') == cmp("a", "!=", ValueList(("x", "y")))
    assert parse_q("a==2026-01-01T00:00:00Z,2026-01-02T00:00:00Z") == cmp(
        "a", "==", ValueList(("2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"))
    )
    assert parse_q("r==urn:a:1,urn:a:2") == cmp("r", "==", ValueList(("urn:a:1", "urn:a:2")))


# -- parsing: paths --------------------------------------------------------------------


def test_bare_attribute_means_exists() -> None:
    assert parse_q("temperature") == Exists(AttrPath("temperature"))


def test_sub_attribute_and_timestamp_paths() -> None:
    assert parse_q("temperature.accuracy<0.5") == cmp("temperature", "<", 0.5, sub=("accuracy",))
    assert parse_q("temp.observedAt>=2026-01-01T00:00:00Z") == cmp(
        "temp", ">=", "2026-01-01T00:00:00.000Z", sub=("observedAt",)
    )
    assert parse_q("a.b.c==1") == cmp("a", "==", 1, sub=("b", "c"))


def test_member_paths() -> None:
    assert parse_q('address[city]=="Cluj"') == cmp("address", "==", "Cluj", member=("city",))
    assert parse_q("a.b[c.d]==1") == cmp("a", "==", 1, sub=("b",), member=("c", "d"))
    assert parse_q("a[b][c]==1") == cmp("a", "==", 1, member=("b", "c"))
    assert parse_q("address[city]") == Exists(AttrPath("address", (), ("city",)))


def test_compact_iri_names() -> None:
    assert parse_q("ex:temp>1") == cmp("ex:temp", ">", 1)


def test_whitespace_between_tokens_is_ignored() -> None:
    assert parse_q(" a == 1 ; b ") == And((cmp("a", "==", 1), Exists(AttrPath("b"))))


# -- parsing: logic and precedence -----------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    a, b, c = (Exists(AttrPath(n)) for n in "abc")
    assert parse_q("a;b|c") == Or((And((a, b)), c))
    assert parse_q("a|b;c") == Or((a, And((b, c))))


def test_parentheses_override_precedence() -> None:
    a, b, c = (Exists(AttrPath(n)) for n in "abc")
    assert parse_q("a;(b|c)") == And((a, Or((b, c))))
    assert parse_q("((a))") == a
    assert parse_q("(a|b);(b|c)") == And((Or((a, b)), Or((b, c))))


def test_long_chains_are_flat() -> None:
    node = parse_q("a==1;b==2;c==3")
    assert isinstance(node, And)
    assert len(node.items) == 3


# -- parsing: errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 1, "an attribute name"),
        ("a==", 4, "a value"),
        ("a=1", 2, "one of the operators"),
        ("a=>1", 2, "one of the operators"),
        ("(a==1", 6, "')' to close the '(' at position 1"),
        ("a==1)", 5, "';', '|' or the end"),
        ("a==1;", 6, "an attribute name"),
        ("a==1||b", 6, "an attribute name"),
        ('a=="open', 4, "a closing '\"'"),
        ("a==cluj", 4, "quote text values"),
        ("address[city==1", 13, "']'"),
        ("a.==1", 3, "a sub-attribute name"),
        ("a==1..", 7, "a value"),
        ("a==1,", 6, "a value"),
        ("a b", 3, "an operator"),
        ("a~=", 4, "a regular expression"),
        ("a~=(unclosed", 4, "not a valid regular expression"),
        ("a>1,2", 3, "a list of values can only follow"),
        ("a>1..2", 3, "a range of values can only follow"),
        ("a>true", 3, "true/false can only be compared"),
    ],
)
def test_syntax_errors_say_where_and_what(text: str, position: int, expected: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_q(text)
    assert f"position {position}" in caught.value.detail
    assert expected in caught.value.detail
    assert caught.value.status == 400


def test_timestamp_keyword_must_end_the_path() -> None:
    with pytest.raises(InvalidRequest, match="position 6: 'observedAt' must be the last element"):
        parse_q("b;(  a.observedAt.b==1)")


def test_too_long_query() -> None:
    with pytest.raises(TooComplexQuery):
        parse_q("a==1;" * (MAX_QUERY_LENGTH // 5) + "a==1")


def test_too_deep_query() -> None:
    depth = MAX_NESTING + 1
    with pytest.raises(TooComplexQuery) as caught:
        parse_q("(" * depth + "a" + ")" * depth)
    assert caught.value.status == 403
    parse_q("(" * MAX_NESTING + "a" + ")" * MAX_NESTING)


def test_too_many_terms() -> None:
    with pytest.raises(TooComplexQuery):
        parse_q(";".join(["a"] * 400))


# -- name mapping ----------------------------------------------------------------------


def test_map_attribute_names_expands_attrs_and_subs_only() -> None:
    node = parse_q('temp.observedAt>2026-01-01T00:00:00Z;(temp.accuracy<1|address[city]=="X")')
    mapped = map_attribute_names(node, lambda term: "https://ex.org/" + term)
    assert mapped == And(
        (
            cmp("https://ex.org/temp", ">", "2026-01-01T00:00:00.000Z", sub=("observedAt",)),
            Or(
                (
                    cmp("https://ex.org/temp", "<", 1, sub=("https://ex.org/accuracy",)),
                    cmp("https://ex.org/address", "==", "X", member=("city",)),
                )
            ),
        )
    )


def test_attribute_names() -> None:
    assert attribute_names(parse_q("a==1;(b.c>2|d[e])|a")) == {"a", "b", "d"}


# -- evaluation ------------------------------------------------------------------------

P = "https://ex.org/"


def prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


@pytest.fixture
def bin_entity() -> dict[str, Any]:
    return {
        "id": "urn:ngsi-ld:WasteContainer:cluj:1",
        "type": [P + "WasteContainer"],
        "fill": [
            prop(
                0.63,
                observedAt="2026-11-23T10:04:59.000Z",
                unitCode="P1",
                accuracy=prop(0.02),
            )
        ],
        "count": [prop(7)],
        "name": [prop("Piața Unirii")],
        "active": [prop(True)],
        "status": [prop("ok", datasetId="urn:ds:a"), prop("full", datasetId="urn:ds:b")],
        "address": [prop({"city": "Cluj-Napoca", "street": {"name": "Memorandumului"}})],
        "tags": [prop(["glass", "paper"])],
        "since": [prop("2026-01-15T08:00:00.000Z")],
        "installedOn": [prop({"@type": "Date", "@value": "2025-05-01"})],
        "refZone": [{"type": "Relationship", "object": "urn:ngsi-ld:Zone:centru"}],
        "description": [{"type": "LanguageProperty", "languageMap": {"ro": "Pubelă", "en": "Bin"}}],
        "levels": [{"type": "ListProperty", "valueList": [10, 20, 30]}],
        "refs": [{"type": "ListRelationship", "objectList": [{"object": "urn:x:1"}, "urn:x:2"]}],
        "category": [{"type": "VocabProperty", "vocab": P + "glass"}],
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("fill==0.63", True),
        ("fill!=0.63", False),
        ("fill>0.6", True),
        ("fill>0.63", False),
        ("fill>=0.63", True),
        ("fill<0.63", False),
        ("fill<=0.63", True),
        ("fill<1", True),
        ("count==7", True),
        ("count==7.0", True),
        ("count>6.5", True),
        ("count==1..10", True),
        ("count==-10..7", True),
        ("count==7..7", True),
        ("count==8..10", False),
        ("count!=8..10", True),
        ("count!=1..10", False),
        ("count==1,7,9", True),
        ("count==1,2", False),
        ("count!=1,2", True),
        ("count!=1,7", False),
        ('name=="Piața Unirii"', True),
        ('name!="Piața Unirii"', False),
        ('name>"P"', True),
        ('name=="P".."Q"', True),
        ("name~=^Pia", True),
        ("name~=Unirii$", True),
        ("name~=^Unirii", False),
        ("name~=(?i)PIAȚA", True),
        ("name!~=^Pia", False),
        ("name!~=^X", True),
        ("active==true", True),
        ("active==false", False),
        ("active!=false", True),
        # type mismatches are false, for != too
        ('count=="7"', False),
        ('count!="7"', False),
        ("name==7", False),
        ("active==1", False),
        ("count==true", False),
        ("count~=7", False),
        ("count!~=x", False),
        # missing attributes are false
        ("missing==1", False),
        ("missing!=1", False),
        ("missing", False),
        ("fill", True),
        # sub-attributes and instance fields
        ("fill.accuracy<0.05", True),
        ("fill.accuracy>0.05", False),
        ("fill.accuracy", True),
        ("fill.precision", False),
        ('fill.unitCode=="P1"', True),
        ("fill.observedAt>=2026-11-23T00:00:00Z", True),
        ("fill.observedAt>=2026-11-23T12:00:00+02:00", True),
        ("fill.observedAt>2026-11-23T10:04:59Z", False),
        ("fill.observedAt==2026-11-23T10:04:59Z", True),
        ("fill.observedAt==2026-11-23T00:00:00Z..2026-11-24T00:00:00Z", True),
        ("fill.observedAt", True),
        ("count.observedAt", False),
        ("count.observedAt<2030-01-01T00:00:00Z", False),
        # multi-instance attributes match when any instance does
        ('status=="full"', True),
        ('status=="ok"', True),
        ('status=="empty"', False),
        ('status.datasetId=="urn:ds:b"', True),
        # member paths into compound values
        ('address[city]=="Cluj-Napoca"', True),
        ('address[city]=="Iași"', False),
        ('address[street.name]=="Memorandumului"', True),
        ('address[street][name]=="Memorandumului"', True),
        ("address[city]", True),
        ("address[zip]", False),
        ('address[zip]=="1"', False),
        ('address=="Cluj-Napoca"', False),
        # arrays, typed literals, dates stored as strings
        ('tags=="paper"', True),
        ('tags=="metal"', False),
        ('tags=="metal","glass"', True),
        ("since>2026-01-01T00:00:00Z", True),
        ("since<2026-01-15T08:00:00Z", False),
        ("since==2026-01-01T00:00:00Z..2026-02-01T00:00:00Z", True),
        ("since==2026-01-15T10:00:00+02:00", True),
        ("installedOn==2025-05-01", True),
        ("installedOn<2025-06-01", True),
        # relationships, language maps, lists, vocab
        ("refZone==urn:ngsi-ld:Zone:centru", True),
        ('refZone=="urn:ngsi-ld:Zone:centru"', True),
        ("refZone==urn:ngsi-ld:Zone:nord", False),
        ("refZone~=Zone:c", True),
        ('description=="Bin"', True),
        ('description=="Pubelă"', True),
        ('description=="Tonne"', False),
        ("levels==20", True),
        ("levels>25", True),
        ("levels>30", False),
        ("refs==urn:x:1", True),
        ("refs==urn:x:2", True),
        ("refs==urn:x:3", False),
        (f"category=={P}glass", True),
        # logic
        ("fill>0.5;count==7", True),
        ("fill>0.5;count==8", False),
        ("fill>0.9|count==7", True),
        ("fill>0.9|count==8", False),
        ("fill>0.9;count==8|active==true", True),
        ("fill>0.9;(count==8|active==true)", False),
        ("(fill>0.9|count==7);active==true", True),
    ],
)
def test_evaluation(q: str, expected: bool, bin_entity: dict[str, Any]) -> None:
    assert evaluate_q(parse_q(q), bin_entity) is expected


def test_evaluation_with_expanded_names(bin_entity: dict[str, Any]) -> None:
    entity = {"id": "urn:x", "type": ["T"], P + "temp": [prop(21.5, **{P + "acc": prop(0.1)})]}
    node = map_attribute_names(parse_q("temp>20;temp.acc<0.2"), lambda t: P + t)
    assert evaluate_q(node, entity)
    assert not evaluate_q(parse_q("temp>20"), entity)


def test_timestamp_of_one_instance_among_several() -> None:
    entity = {
        "id": "urn:x",
        "type": ["T"],
        "t": [
            prop(1, datasetId="urn:ds:1", observedAt="2026-01-01T00:00:00.000Z"),
            prop(2, datasetId="urn:ds:2"),
        ],
    }
    assert evaluate_q(parse_q("t.observedAt<2026-06-01T00:00:00Z"), entity)
    assert not evaluate_q(parse_q("t.observedAt>2026-06-01T00:00:00Z"), entity)
