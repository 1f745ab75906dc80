"""Errors that carry their HTTP status and problem type.

Every error a user can cause is one of these classes. The API turns them into RFC 7807
ProblemDetails bodies (``type``, ``title``, ``status``, ``detail``); the CLI prints the detail.
The NGSI-LD error types are those of ETSI GS CIM 009 §5.5.2; the few that the standard does not
name (authentication, payload size) use Cetate's own URNs.
"""

from __future__ import annotations

from typing import Any, ClassVar

NGSI_LD_ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


class CetateError(Exception):
    """Base class: an error with an HTTP status, a problem type URI and a human title."""

    status: ClassVar[int] = 500
    problem_type: ClassVar[str] = NGSI_LD_ERRORS + "InternalError"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The RFC 7807 ProblemDetails body for this error."""
        body: dict[str, Any] = {
            "type": self.problem_type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        body.update(self.extra)
        return body


class InvalidRequest(CetateError):
    """The request itself is malformed: bad JSON, bad query syntax, bad parameters."""

    status = 400
    problem_type = NGSI_LD_ERRORS + "InvalidRequest"
    title = "Invalid request"


class BadRequestData(CetateError):
    """The request is well formed but its content is not acceptable (bad ids, bad geometry)."""

    status = 400
    problem_type = NGSI_LD_ERRORS + "BadRequestData"
    title = "Bad request data"


class AlreadyExists(CetateError):
    status = 409
    problem_type = NGSI_LD_ERRORS + "AlreadyExists"
    title = "Already exists"


class ResourceNotFound(CetateError):
    status = 404
    problem_type = NGSI_LD_ERRORS + "ResourceNotFound"
    title = "Resource not found"


class OperationNotSupported(CetateError):
    status = 422
    problem_type = NGSI_LD_ERRORS + "OperationNotSupported"
    title = "Operation not supported"


class TooComplexQuery(CetateError):
    status = 403
    problem_type = NGSI_LD_ERRORS + "TooComplexQuery"
    title = "Too complex query"


class TooManyResults(CetateError):
    status = 403
    problem_type = NGSI_LD_ERRORS + "TooManyResults"
    title = "Too many results"


class LdContextNotAvailable(CetateError):
    status = 503
    problem_type = NGSI_LD_ERRORS + "LdContextNotAvailable"
    title = "JSON-LD @context not available"


class NonexistentTenant(CetateError):
    status = 404
    problem_type = NGSI_LD_ERRORS + "NonexistentTenant"
    title = "Nonexistent tenant"


class PayloadTooLarge(CetateError):
    status = 413
    problem_type = "urn:cetate:errors:PayloadTooLarge"
    title = "Payload too large"


class UnsupportedMediaType(CetateError):
    status = 415
    problem_type = "urn:cetate:errors:UnsupportedMediaType"
    title = "Unsupported media type"


class NotAcceptable(CetateError):
    status = 406
    problem_type = "urn:cetate:errors:NotAcceptable"
    title = "Not acceptable"


class Unauthenticated(CetateError):
    """No valid credentials were given (HTTP 401)."""

    status = 401
    problem_type = "urn:cetate:errors:Unauthenticated"
    title = "Authentication required"


class Forbidden(CetateError):
    """Valid credentials, but the role does not allow this operation (HTTP 403)."""

    status = 403
    problem_type = "urn:cetate:errors:Forbidden"
    title = "Forbidden"


class StoreUnavailable(CetateError):
    status = 503
    problem_type = "urn:cetate:errors:StoreUnavailable"
    title = "Store unavailable"


class RecordConflict(CetateError):
    """Someone else changed the record since it was read (optimistic concurrency)."""

    status = 409
    problem_type = "urn:cetate:errors:Conflict"
    title = "Conflict"
