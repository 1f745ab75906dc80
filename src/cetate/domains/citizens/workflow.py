"""The staff side of a report, kept in a store record beside the public entity (kind
``citizen-workflow``, key = the service request id): routing, assignment, internal comments,
the public updates, the reporter's language and tracking token, and the links of merged
duplicates. Writes use optimistic concurrency, so two staff members editing the same report
never lose each other's comment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from cetate.errors import AlreadyExists, RecordConflict
from cetate.store.base import ContextStore

KIND: Final = "citizen-workflow"
MAX_ENTRIES: Final = 500
"""Comments and updates kept per report (the oldest are dropped beyond that)."""


def empty(token: str | None = None, language: str = "ro") -> dict[str, Any]:
    return {
        "department": None,
        "routedBy": None,
        "assignee": None,
        "token": token,
        "language": language,
        "comments": [],
        "updates": [],
        "followers": [],
        "mergedInto": None,
        "acknowledgedAt": None,
        "resolvedAt": None,
    }


def load(store: ContextStore, tenant: str, request_id: str) -> dict[str, Any]:
    """The report's workflow data (the empty shape when there is no record yet)."""
    record = store.get_record(tenant, KIND, request_id)
    data = empty()
    if record is not None:
        data.update(record.data)
    return data


def update(
    store: ContextStore,
    tenant: str,
    request_id: str,
    change: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Apply ``change`` to the workflow data and store it (retried on a concurrent write)."""
    while True:
        record = store.get_record(tenant, KIND, request_id)
        data = empty()
        if record is not None:
            data.update(record.data)
        change(data)
        for name in ("comments", "updates"):
            data[name] = data[name][-MAX_ENTRIES:]
        try:
            store.put_record(
                tenant,
                KIND,
                request_id,
                data,
                expected_version=None if record is None else record.version,
            )
            return data
        except (AlreadyExists, RecordConflict):
            continue
