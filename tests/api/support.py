"""Helpers of the platform API tests (devices, commands, rules, dead letters): bearer
headers for API and device tokens, and the ProblemDetails check."""

from __future__ import annotations

from typing import Any

from cetate.auth.tokens import issue_token
from cetate.store.base import ContextStore

PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def role_headers(store: ContextStore, tenant: str, role: str) -> dict[str, str]:
    """The Authorization header of a new API token with ``role`` in ``tenant``."""
    _, secret = issue_token(store, tenant, role, f"{role} of {tenant}")  # type: ignore[arg-type]
    return bearer(secret)


def problem(response: Any, status: int, *words: str) -> dict[str, Any]:
    """The ProblemDetails body of ``response``, after checking its status, media type and
    members, and that its detail contains each of ``words``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    for word in words:
        assert word in body["detail"], body
    return body
