"""Pydantic validation errors as ``where: message`` lines (cetate.validation)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from cetate.validation import PLAIN_MESSAGES, dotted_location, validation_problems


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: float
    y: float

    @field_validator("x")
    @classmethod
    def _in_range(cls, value: float) -> float:
        if value > 180:
            raise ValueError(f"x {value} is out of range")
        return value

    @model_validator(mode="after")
    def _not_origin(self) -> Point:
        if self.x == 0 and self.y == 0:
            raise ValueError("the origin is not a place")
        return self


class Shape(BaseModel):
    points: list[Point]


def error_of(model: type[BaseModel], data: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return caught.value


def test_each_error_is_a_line_with_where_and_the_validators_own_words() -> None:
    error = error_of(Shape, {"points": [{"x": 1, "y": 2}, {"x": 200, "y": 2, "z": 3}]})
    assert validation_problems(error) == [
        "points.1.x: x 200.0 is out of range",
        "points.1.z: Extra inputs are not permitted",
    ]


def test_plain_messages_replace_pydantics_terse_ones() -> None:
    error = error_of(Point, {"x": 1, "z": 3})
    assert validation_problems(error, messages=PLAIN_MESSAGES) == [
        "y: required, but missing",
        "z: unknown field; remove it or check its spelling",
    ]


def test_an_error_about_the_whole_document_is_its_message_alone() -> None:
    error = error_of(Point, {"x": 0, "y": 0})
    assert validation_problems(error) == ["the origin is not a place"]


def test_the_caller_spells_the_location() -> None:
    def bracketed(loc: Sequence[int | str]) -> str:
        return "".join(f"[{part}]" if isinstance(part, int) else f"/{part}" for part in loc)

    error = error_of(Shape, {"points": [{"x": 500, "y": 1}]})
    assert validation_problems(error, location=bracketed) == [
        "/points[0]/x: x 500.0 is out of range"
    ]
    whole = error_of(Point, {"x": 0, "y": 0})
    assert validation_problems(whole, location=lambda loc: dotted_location(loc) or "point") == [
        "point: the origin is not a place"
    ]
