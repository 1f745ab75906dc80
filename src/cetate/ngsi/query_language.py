"""The NGSI-LD query language ``q`` (ETSI GS CIM 009 §4.9): parser and evaluator.

Syntax accepted (whitespace between tokens is ignored)::

    query      = or
    or         = and *("|" and)
    and        = term *(";" term)
    term       = "(" or ")" / path [op value]
    path       = name *("." name) *("[" name *("." name) "]")
    op         = "==" / "!=" / ">" / ">=" / "<" / "<=" / "~=" / "!~="
    value      = literal / literal ".." literal / literal 1*("," literal)   (ranges and lists
                                                                          only with == and !=)
    literal    = number / "quoted string" / true / false / DateTime / Date / Time / URI

Precedence: ``;`` (and) binds tighter than ``|`` (or), so ``a;b|c`` is ``(a;b)|c``; use
parentheses for anything else. The standard's grammar leaves this open; this is the usual
reading (as in boolean algebra) and the one of the FIWARE brokers.

Literals: numbers become int/float, ``true``/``false`` bool, quoted strings stay strings
(``\\"`` and ``\\\\`` escape), unquoted ISO date-times are normalised to the stored form
(UTC, milliseconds, ``Z``) so that they compare correctly as strings, unquoted dates/times and
URIs (anything with a ``:``) stay strings as written. An unquoted word shaped like a date-time,
date or time (it starts with ``dddd-d``/``d:d``) must be a valid one, or the query is refused
with what is wrong. Any other bare word is an error (quote it). The regular expression after
``~=`` runs to the end of the term; inside it ``;``, ``|`` and ``)`` end the term unless nested
in parentheses or brackets of the regex, escaped with a backslash, or the whole regex is quoted
(``name~="a|b"``).

Errors are :class:`cetate.errors.InvalidRequest` whose detail gives the position (counting
characters from 1) and what was expected there, e.g. ``invalid q at position 4: expected a
value (…), found the end of the query (in 'a==')``.

Paths: ``temperature.accuracy`` names the sub-attribute ``accuracy``;
``temperature.observedAt`` (also createdAt, modifiedAt, unitCode, datasetId) names that field
of the instance; ``address[city]`` and ``a.b[c.d]`` go into JSON-object values.

Evaluation on stored form (see :func:`evaluate_q`): a Property compares its ``value``, a
Relationship its ``object``, a LanguageProperty any string of its ``languageMap``, a
ListProperty/ListRelationship any item, a VocabProperty its ``vocab``; array values match when
any item matches; a typed value ``{"@type": "DateTime" | "Date" | "Time", "@value": …}`` (see
:data:`TEMPORAL_TYPES`) compares by its temporal order (:func:`temporal_key`: an instant, a
day, a time of day) and only with string literals, quoted or not, that are valid values of the
same kind — never as text, so not with ``~=``/``!~=`` either; an attribute with several
instances (datasetIds) matches when any instance matches. A missing attribute, or a value of
another type than the literal (a string against a number, a bool against a number, a DateTime
against a date or a non-date string), makes the comparison false, for ``!=`` too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal

from cetate.errors import InvalidRequest, TooComplexQuery
from cetate.ngsi.model import VALUE_KEYS, EntityDoc
from cetate.ngsi.query_ast import (
    And,
    AttrPath,
    Comparison,
    ComparisonOp,
    Exists,
    Or,
    QueryNode,
    Scalar,
    ValueList,
    ValueRange,
)
from cetate.ngsi.timestamps import format_datetime, parse_datetime

MAX_QUERY_LENGTH: Final = 8192
"""Longer ``q`` texts are refused with TooComplexQuery."""
MAX_NESTING: Final = 32
"""Deeper parenthesis nesting is refused with TooComplexQuery."""
MAX_TERMS: Final = 256
"""More comparisons in one query are refused with TooComplexQuery."""

INSTANCE_FIELDS: Final = frozenset(
    {"observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId"}
)
"""Names that, after a dot, mean a field of the attribute instance, not a sub-attribute."""

_OPERATORS: Final[tuple[ComparisonOp, ...]] = ("!~=", "==", "!=", ">=", "<=", "~=", ">", "<")
_NAME_PUNCTUATION: Final = frozenset("_-:#/@$")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?", re.IGNORECASE
)
_LOOKS_LIKE_DATETIME = re.compile(r"\d{4}-\d{1,2}-\d{1,2}[Tt]", re.ASCII)
_LOOKS_LIKE_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}", re.ASCII)
_LOOKS_LIKE_TIME = re.compile(r"\d{1,2}:\d", re.ASCII)
"""Unquoted words of these shapes must be valid date-times, dates or times (a URI cannot start
with a digit)."""


# -- parsing ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Parser:
    """A recursive-descent parser over the text; ``pos`` is the next character."""

    text: str
    pos: int = 0
    depth: int = 0
    terms: int = 0

    # errors
    def fail(self, expected: str, at: int | None = None) -> InvalidRequest:
        where = self.pos if at is None else at
        found = self.text[where : where + 20]
        shown = f"{found!r}" if found else "the end of the query"
        return InvalidRequest(
            f"invalid q at position {where + 1}: expected {expected}, found {shown} "
            f"(in {self.text!r})"
        )

    # low-level scanning
    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, token: str) -> bool:
        self.skip_spaces()
        return self.text.startswith(token, self.pos)

    def at_end(self) -> bool:
        self.skip_spaces()
        return self.pos >= len(self.text)

    # grammar
    def parse(self) -> QueryNode:
        if self.at_end():
            raise self.fail("an attribute name")
        node = self.parse_or()
        if not self.at_end():
            raise self.fail("';', '|' or the end of the query")
        return node

    def parse_or(self) -> QueryNode:
        items = [self.parse_and()]
        while self.peek("|"):
            self.pos += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> QueryNode:
        items = [self.parse_term()]
        while self.peek(";"):
            self.pos += 1
            items.append(self.parse_term())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_term(self) -> QueryNode:
        if self.peek("("):
            start = self.pos
            self.pos += 1
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise TooComplexQuery(
                    f"q nests parentheses deeper than {MAX_NESTING} levels (at position "
                    f"{start + 1}); simplify the query"
                )
            node = self.parse_or()
            if not self.peek(")"):
                raise self.fail(f"')' to close the '(' at position {start + 1}")
            self.pos += 1
            self.depth -= 1
            return node
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise TooComplexQuery(f"q has more than {MAX_TERMS} terms; simplify the query")
        path = self.parse_path()
        self.skip_spaces()
        op = self.parse_operator()
        if op is None:
            return Exists(path)
        if op in ("~=", "!~="):
            return Comparison(path, op, self.parse_regex())
        value_start = self.pos
        value = self.parse_value()
        if isinstance(value, ValueRange | ValueList) and op not in ("==", "!="):
            kind = "a range" if isinstance(value, ValueRange) else "a list"
            raise InvalidRequest(
                f"invalid q at position {value_start + 1}: {kind} of values can only follow "
                f"'==' or '!=', not {op!r} (in {self.text!r})"
            )
        if isinstance(value, bool) and op not in ("==", "!="):
            raise InvalidRequest(
                f"invalid q at position {value_start + 1}: true/false can only be compared "
                f"with '==' or '!=', not {op!r} (in {self.text!r})"
            )
        return Comparison(path, op, value)

    def parse_name(self, what: str) -> str:
        self.skip_spaces()
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in _NAME_PUNCTUATION
        ):
            self.pos += 1
        if self.pos == start:
            raise self.fail(what)
        return self.text[start : self.pos]

    def parse_path(self) -> AttrPath:
        self.skip_spaces()
        start = self.pos
        attr = self.parse_name("an attribute name or '('")
        sub: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] == ".":
            self.pos += 1
            sub.append(self.parse_name("a sub-attribute name after '.'"))
        member: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] == "[":
            self.pos += 1
            member.append(self.parse_name("a member name after '['"))
            while self.pos < len(self.text) and self.text[self.pos] == ".":
                self.pos += 1
                member.append(self.parse_name("a member name after '.'"))
            if not self.peek("]"):
                raise self.fail("']' to close the member path")
            self.pos += 1
        for name in sub[:-1]:
            if name in INSTANCE_FIELDS:
                raise InvalidRequest(
                    f"invalid q at position {start + 1}: {name!r} must be the last element "
                    "of the path "
                    f"{attr}.{'.'.join(sub)} (in {self.text!r})"
                )
        return AttrPath(attr, tuple(sub), tuple(member))

    def parse_operator(self) -> ComparisonOp | None:
        for op in _OPERATORS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return op
        if self.pos < len(self.text) and self.text[self.pos] in "=!~<>":
            raise self.fail("one of the operators == != > >= < <= ~= !~=")
        if self.pos < len(self.text) and self.text[self.pos] not in ";|)":
            raise self.fail("an operator, ';', '|', ')' or the end of the query")
        return None

    def parse_regex(self) -> str:
        self.skip_spaces()
        start = self.pos
        if self.peek('"'):
            pattern = self.parse_quoted()
        else:
            nesting = 0
            while self.pos < len(self.text):
                char = self.text[self.pos]
                if char == "\\":
                    self.pos += 2
                    continue
                if char in "([{":
                    nesting += 1
                elif char in ")]}":
                    if nesting == 0:
                        break
                    nesting -= 1
                elif char in ";|" and nesting == 0:
                    break
                self.pos += 1
            self.pos = min(self.pos, len(self.text))
            pattern = self.text[start : self.pos]
        if not pattern:
            raise self.fail("a regular expression", start)
        try:
            _compiled(pattern)
        except re.error as exc:
            raise InvalidRequest(
                f"invalid q at position {start + 1}: {pattern!r} is not a valid regular "
                f"expression ({exc}) (in {self.text!r})"
            ) from None
        return pattern

    def parse_value(self) -> Scalar | ValueRange | ValueList:
        first = self.parse_literal()
        if self.peek(".."):
            self.pos += 2
            return ValueRange(first, self.parse_literal())
        if self.peek(","):
            items = [first]
            while self.peek(","):
                self.pos += 1
                items.append(self.parse_literal())
            return ValueList(tuple(items))
        return first

    def parse_quoted(self) -> str:
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == '"':
                self.pos += 1
                return "".join(chars)
            chars.append(char)
            self.pos += 1
        raise self.fail(f"a closing '\"' for the string opened at position {start + 1}")

    def parse_literal(self) -> Scalar:
        self.skip_spaces()
        if self.peek('"'):
            return self.parse_quoted()
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in ';|),"' or char.isspace() or self.text.startswith("..", self.pos):
                break
            self.pos += 1
        word = self.text[start : self.pos]
        if not word:
            raise self.fail("a value (number, quoted string, true, false, date-time or URI)")
        problem = _temporal_problem(word)
        if problem is not None:
            raise InvalidRequest(
                f"invalid q at position {start + 1}: {word!r} is not a valid {problem} "
                f"(in {self.text!r})"
            )
        literal = _classify(word)
        if literal is None:
            raise InvalidRequest(
                f"invalid q at position {start + 1}: expected a value (number, quoted string, "
                f"true, false, date-time or URI), found the bare word {word!r}; "
                f'quote text values: "{word}" (in {self.text!r})'
            )
        return literal


def _temporal_problem(word: str) -> str | None:
    """What is wrong with an unquoted word shaped like a date-time, date or time that is not
    a valid one (None when it is valid or not shaped like one)."""
    if _LOOKS_LIKE_DATETIME.match(word):
        if _datetime_key(word) is None:
            return (
                "date-time: expected YYYY-MM-DDThh:mm[:ss[.sss]] with Z or an offset "
                "(+02:00), a real date and hours 00-23, e.g. 2026-11-23T10:00:00Z"
            )
    elif _LOOKS_LIKE_DATE.fullmatch(word):
        if _date_key(word) is None:
            return "date: expected a real date written YYYY-MM-DD, e.g. 2026-11-23"
    elif _LOOKS_LIKE_TIME.match(word) and _time_key(word) is None:
        return (
            "time: expected hh:mm[:ss[.sss]] with hours 00-23 and an optional Z or offset, "
            "e.g. 10:30:00"
        )
    return None


def _classify(word: str) -> Scalar | None:
    """The literal an unquoted word stands for, or None when it is not a valid literal."""
    if word == "true":
        return True
    if word == "false":
        return False
    if _NUMBER.fullmatch(word):
        number = float(word)
        if re.fullmatch(r"-?\d+", word):
            return int(word)
        return number
    if _LOOKS_LIKE_DATETIME.match(word):
        return _datetime_key(word)
    if _LOOKS_LIKE_DATE.fullmatch(word) or _LOOKS_LIKE_TIME.match(word):
        return word
    if ":" in word:
        return word
    return None


def parse_q(text: str) -> QueryNode:
    """Parse a ``q`` expression; raises :class:`cetate.errors.InvalidRequest` with the position
    and what was expected when the text is not valid, and
    :class:`cetate.errors.TooComplexQuery` when it is absurdly long or deep."""
    if len(text) > MAX_QUERY_LENGTH:
        raise TooComplexQuery(
            f"q is {len(text)} characters long; at most {MAX_QUERY_LENGTH} are accepted"
        )
    return _Parser(text).parse()


# -- typed date-time, date and time values ----------------------------------------------

TemporalKind = Literal["DateTime", "Date", "Time"]

_TEMPORAL_NAMES: Final[tuple[tuple[TemporalKind, str, str], ...]] = (
    ("DateTime", "DateTime", "dateTime"),
    ("Date", "Date", "date"),
    ("Time", "Time", "time"),
)
TEMPORAL_TYPES: Final[dict[str, TemporalKind]] = {
    prefix + (xsd_name if prefix.endswith(("xsd:", "#")) else name): kind
    for kind, name, xsd_name in _TEMPORAL_NAMES
    for prefix in (
        "",
        "ngsi-ld:",
        "https://uri.etsi.org/ngsi-ld/",
        "xsd:",
        "http://www.w3.org/2001/XMLSchema#",
    )
}
"""The ``@type`` of a typed value (``{"@type": "DateTime", "@value": "…"}``) that ``q``
compares by its temporal order, and the kind it stands for."""

TEMPORAL_TAGS: Final[dict[TemporalKind, str]] = {"DateTime": "dt", "Date": "d", "Time": "t"}
"""Each kind's prefix in a *temporal key* (``dt:2026-01-01T00:00:00.000Z``): keys of one kind
sort as their moments, and the ranges ``tag:`` … ``tag;`` of the kinds do not overlap."""

INVALID_TEMPORAL_KEY: Final = "!"
"""The key of a typed date-time/date/time value whose ``@value`` is not valid: outside every
kind's range, so it compares with nothing."""

_DATETIME_PARTS = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(?:[Zz]|([+-])(\d{2}):?(\d{2}))?",
    re.ASCII,
)
_DATE_PARTS = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_TIME_PARTS = re.compile(
    r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:[Zz]|([+-])(\d{2}):?(\d{2}))?", re.ASCII
)
_DAY_MS: Final = 86_400_000


def _offset_minutes(sign: str | None, hours: str | None, minutes: str | None) -> int | None:
    """The UTC offset in minutes (0 without one), None when it is out of range."""
    if sign is None or hours is None or minutes is None:
        return 0
    if int(hours) > 23 or int(minutes) > 59:
        return None
    total = int(hours) * 60 + int(minutes)
    return -total if sign == "-" else total


def _clock(hour: str, minute: str, second: str | None, fraction: str | None) -> int | None:
    """Milliseconds since midnight (the fraction truncated), None when out of range."""
    h, m, s = int(hour), int(minute), int(second or 0)
    if h > 23 or m > 59 or s > 59:
        return None
    return ((h * 60 + m) * 60 + s) * 1000 + int((fraction or "")[:3].ljust(3, "0"))


def _datetime_key(text: str) -> str | None:
    match = _DATETIME_PARTS.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    clock = _clock(hour, minute, second, fraction)
    offset = _offset_minutes(sign, off_h, off_m)
    if clock is None or offset is None:
        return None
    try:
        moment = datetime(int(year), int(month), int(day)) + timedelta(
            milliseconds=clock, minutes=-offset
        )
    except (ValueError, OverflowError):
        return None
    return moment.isoformat(timespec="milliseconds") + "Z"


def _date_key(text: str) -> str | None:
    match = _DATE_PARTS.fullmatch(text)
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return None


def _time_key(text: str) -> str | None:
    match = _TIME_PARTS.fullmatch(text)
    if match is None:
        return None
    hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    clock = _clock(hour, minute, second, fraction)
    offset = _offset_minutes(sign, off_h, off_m)
    if clock is None or offset is None:
        return None
    ms = (clock - offset * 60_000) % _DAY_MS
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


_KEY_PARSERS: Final[dict[TemporalKind, Callable[[str], str | None]]] = {
    "DateTime": _datetime_key,
    "Date": _date_key,
    "Time": _time_key,
}


def temporal_key(kind: TemporalKind, text: str) -> str | None:
    """The key of ``text`` read as a value of ``kind``, None when it is not one.

    Keys of one kind compare (as strings) in temporal order: a DateTime is its instant in UTC
    to the millisecond (``dt:2026-01-01T00:00:00.000Z``; an offset is applied, none means
    UTC), a Date its day (``d:2026-01-01``), a Time its time of day in UTC to the millisecond
    (``t:08:30:00.000``; an offset is applied around midnight). Fractions of a second beyond
    milliseconds are truncated. The PostgreSQL function ``cetate_q_temporal`` (migration
    0003) computes the same keys."""
    key = _KEY_PARSERS[kind](text)
    return None if key is None else f"{TEMPORAL_TAGS[kind]}:{key}"


def literal_temporal_key(literal: object) -> tuple[TemporalKind, str] | None:
    """The kind and key of a ``q`` string literal that is a valid date-time, date or time
    (quoted or not), else None."""
    if not isinstance(literal, str):
        return None
    for kind in _KEY_PARSERS:
        key = temporal_key(kind, literal)
        if key is not None:
            return kind, key
    return None


@dataclass(frozen=True, slots=True)
class TemporalValue:
    """A typed date-time, date or time value as ``q`` compares it: only with literals of its
    own kind, by :func:`temporal_key` (``key`` is None when its ``@value`` is not valid)."""

    kind: TemporalKind
    key: str | None


def typed_temporal_value(value: Any) -> TemporalValue | None:
    """``{"@type": "DateTime", "@value": "…"}`` (or Date, Time; see :data:`TEMPORAL_TYPES`) as
    a :class:`TemporalValue`; None for any other value."""
    if not isinstance(value, dict):
        return None
    type_name = value.get("@type")
    kind = TEMPORAL_TYPES.get(type_name) if isinstance(type_name, str) else None
    if kind is None:
        return None
    text = value.get("@value")
    return TemporalValue(kind, temporal_key(kind, text) if isinstance(text, str) else None)


def temporal_index_key(value: Any) -> str | None:
    """What a side index keeps for a typed temporal value: its key, or
    :data:`INVALID_TEMPORAL_KEY` when its ``@value`` is not valid; None for other values."""
    typed = typed_temporal_value(value)
    if typed is None:
        return None
    return typed.key if typed.key is not None else INVALID_TEMPORAL_KEY


def temporal_kind_bounds(kind: TemporalKind) -> tuple[str, str]:
    """(low, high): every key of ``kind`` is ``>= low`` and ``< high``."""
    tag = TEMPORAL_TAGS[kind]
    return f"{tag}:", f"{tag};"


# -- tree walks -------------------------------------------------------------------------


def _map_path(path: AttrPath, expand: Callable[[str], str]) -> AttrPath:
    sub = tuple(name if name in INSTANCE_FIELDS else expand(name) for name in path.sub)
    return AttrPath(expand(path.attr), sub, path.member)


def map_attribute_names(node: QueryNode, expand: Callable[[str], str]) -> QueryNode:
    """The same tree with every ``AttrPath.attr`` (and sub-attribute name) passed through
    ``expand`` (term → IRI). Timestamp keywords (observedAt, createdAt, modifiedAt, unitCode,
    datasetId) and member paths are left as they are."""
    if isinstance(node, And):
        return And(tuple(map_attribute_names(item, expand) for item in node.items))
    if isinstance(node, Or):
        return Or(tuple(map_attribute_names(item, expand) for item in node.items))
    if isinstance(node, Exists):
        return Exists(_map_path(node.path, expand))
    return Comparison(_map_path(node.path, expand), node.op, node.value)


expand_paths = map_attribute_names
"""The name :mod:`cetate.ngsi.query_ast` uses for :func:`map_attribute_names`."""


def _paths(node: QueryNode) -> Iterator[AttrPath]:
    if isinstance(node, And | Or):
        for item in node.items:
            yield from _paths(item)
    else:
        yield node.path


def attribute_names(node: QueryNode) -> set[str]:
    """Every top-level attribute name the expression mentions."""
    return {path.attr for path in _paths(node)}


# -- evaluation -------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _unwrap(value: Any) -> Any:
    """A JSON-LD typed literal ``{"@value": …}`` as its plain value."""
    if isinstance(value, dict) and "@value" in value:
        return value["@value"]
    return value


def _instance_values(instance: Any) -> Iterator[Any]:
    """The comparable value(s) of one attribute instance, by attribute type."""
    if not isinstance(instance, dict):
        return
    key = VALUE_KEYS.get(instance.get("type", "Property"), "value")
    if key not in instance:
        return
    value = instance[key]
    if key == "languageMap" and isinstance(value, dict):
        for text in value.values():
            if isinstance(text, list):
                yield from text
            else:
                yield text
    elif key == "objectList" and isinstance(value, list):
        for item in value:
            yield item.get("object") if isinstance(item, dict) else item
    else:
        yield value


def _members(value: Any, member: tuple[str, ...]) -> Iterator[Any]:
    """The values reached from ``value`` by the member path; arrays are searched item-wise. A
    typed date-time, date or time value is reached as a :class:`TemporalValue`."""
    if not member:
        typed = typed_temporal_value(value)
        if typed is not None:
            yield typed
            return
    value = _unwrap(value)
    if isinstance(value, list):
        for item in value:
            yield from _members(item, member)
        return
    if not member:
        if value is not None:
            yield value
        return
    if isinstance(value, dict) and member[0] in value:
        yield from _members(value[member[0]], member[1:])


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _path_targets(entity: EntityDoc, path: AttrPath) -> tuple[list[Any], bool]:
    """What the path's attribute part (attribute, sub-attributes, instance field) reaches:
    the (sub-)attribute instances, or with a trailing instance field its values (then the
    flag is True)."""
    nodes: list[Any] = _as_list(entity.get(path.attr))
    for name in path.sub:
        if name in INSTANCE_FIELDS:
            fields = [n.get(name) for n in nodes if isinstance(n, dict)]
            return [f for f in fields if f is not None], True
        nodes = [s for n in nodes if isinstance(n, dict) for s in _as_list(n.get(name))]
    return nodes, False


def resolve_path(entity: EntityDoc, path: AttrPath) -> list[Any]:
    """Every scalar value the path reaches in the entity (empty when it reaches nothing)."""
    targets, are_fields = _path_targets(entity, path)
    values = targets if are_fields else [v for n in targets for v in _instance_values(n)]
    found: list[Any] = []
    for value in values:
        found.extend(_members(value, path.member))
    return found


def path_exists(entity: EntityDoc, path: AttrPath) -> bool:
    """True when the entity has what the path names (an attribute, a sub-attribute, an
    instance field or a member of a compound value)."""
    if path.member:
        return bool(resolve_path(entity, path))
    return bool(_path_targets(entity, path)[0])


def _comparable(left: Any, right: Scalar) -> bool:
    if isinstance(left, TemporalValue):
        return left.key is not None and _literal_key(left, right) is not None
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool)
    if isinstance(left, int | float):
        return isinstance(right, int | float)
    return isinstance(left, str) and isinstance(right, str)


def _normalise(left: Any, right: Scalar) -> tuple[Any, Scalar]:
    """Both sides as canonical UTC strings when both are ISO date-times."""
    if (
        isinstance(left, str)
        and isinstance(right, str)
        and _DATETIME.fullmatch(left)
        and _DATETIME.fullmatch(right)
    ):
        try:
            return (
                format_datetime(parse_datetime(left)),
                format_datetime(parse_datetime(right)),
            )
        except InvalidRequest:
            return left, right
    return left, right


def _literal_key(value: TemporalValue, literal: Scalar) -> str | None:
    """The key of a literal of the value's kind (None when the literal is not one)."""
    return temporal_key(value.kind, literal) if isinstance(literal, str) else None


def _compare(left: Any, op: ComparisonOp, right: Scalar) -> bool:
    if not _comparable(left, right):
        return False
    if isinstance(left, TemporalValue):
        return _ordered(left.key, op, _literal_key(left, right))
    left, right = _normalise(left, right)
    return _ordered(left, op, right)


def _ordered(left: Any, op: ComparisonOp, right: Any) -> bool:
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == ">":
        return bool(left > right)
    if op == ">=":
        return bool(left >= right)
    if op == "<":
        return bool(left < right)
    return bool(left <= right)


def _value_matches(value: Any, node: Comparison) -> bool:
    op, target = node.op, node.value
    if op in ("~=", "!~="):
        if not isinstance(value, str):
            return False
        hit = _compiled(str(target)).search(value) is not None
        return hit if op == "~=" else not hit
    if isinstance(target, ValueRange):
        inside = _compare(value, ">=", target.low) and _compare(value, "<=", target.high)
        if op == "==":
            return inside
        return not inside and _comparable(value, target.low) and _comparable(value, target.high)
    if isinstance(target, ValueList):
        comparable = [item for item in target.items if _comparable(value, item)]
        hits = any(_compare(value, "==", item) for item in comparable)
        if op == "==":
            return hits
        return bool(comparable) and not hits
    return _compare(value, op, target)


def evaluate_q(node: QueryNode, entity: EntityDoc) -> bool:
    """True when the entity (stored form, expanded names) satisfies the expression."""
    if isinstance(node, And):
        return all(evaluate_q(item, entity) for item in node.items)
    if isinstance(node, Or):
        return any(evaluate_q(item, entity) for item in node.items)
    if isinstance(node, Exists):
        return path_exists(entity, node.path)
    return any(_value_matches(value, node) for value in resolve_path(entity, node.path))
