"""The errors of the environment domain: bad input gets a ProblemDetails error that says what is
wrong (HTTP 400), never a wrong number."""

from __future__ import annotations

from cetate.errors import BadRequestData


class EnvironmentInputError(BadRequestData):
    """A concentration, pollutant, unit, period or sample set that cannot be used."""


class InsufficientSamples(EnvironmentInputError):
    """Too few samples for the method asked for (e.g. bathing-water classification)."""
