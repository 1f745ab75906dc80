"""Open311 errors: an HTTP status and a description, rendered as the GeoReport v2 error list
(``[{"code": 400, "description": "…"}]`` or ``<errors><error>…</error></errors>``).

:func:`from_cetate_error` maps the platform's own errors (bad dates, unknown tenant, a store
that is down) onto the same shape, so nothing under ``/open311/v2`` answers in another form.
"""

from __future__ import annotations

from cetate.errors import CetateError


class Open311Error(Exception):
    """An error a client of the Open311 API caused (or a server error), with its HTTP status.
    ``code`` in the body is the HTTP status, as in the specification's examples."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def bad_request(description: str) -> Open311Error:
    return Open311Error(400, description)


def not_found(description: str) -> Open311Error:
    return Open311Error(404, description)


def from_cetate_error(error: CetateError) -> Open311Error:
    """A platform error as an Open311 error with the same status and detail."""
    return Open311Error(error.status, error.detail)
