"""The errors of the waste domain: bad input gets a ProblemDetails error (HTTP 400) whose detail
says what is wrong, never a silent wrong plan."""

from __future__ import annotations

from cetate.errors import BadRequestData


class WasteInputError(BadRequestData):
    """A bin, truck, site, history or routing problem that cannot be used as given."""


class RoutingInfeasible(BadRequestData):
    """A routing problem with no feasible plan; ``detail`` lists the reasons."""
