"""The audit log of staff actions: who did what to which report (or poll, or reporter) and
when. One store record (kind ``citizen-audit``) per action, keyed by the time (and a tie
breaker) so the log lists oldest first; admins read it through the staff API. Entries are never
changed; they hold no personal data of reporters (an erase is logged by request id)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from cetate.ngsi.timestamps import format_datetime
from cetate.store.base import ContextStore

KIND: Final = "citizen-audit"


def record_action(
    store: ContextStore,
    tenant: str,
    *,
    actor: str,
    action: str,
    target: str,
    at: datetime,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one entry (``action`` such as ``status``, ``assign``, ``gdpr.erase``)."""
    entry = {
        "at": format_datetime(at),
        "actor": actor,
        "action": action,
        "target": target,
        "details": dict(details or {}),
    }
    # the action's time, then the wall clock (orders actions logged at one "now"), then noise
    key = f"{at.strftime('%Y%m%dT%H%M%S%f')}-{time.time_ns():020d}-{secrets.token_hex(4)}"
    store.put_record(tenant, KIND, key, entry, expected_version=None)
    return entry


def list_actions(
    store: ContextStore, tenant: str, *, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """The tenant's entries, oldest first."""
    return [
        {"id": r.key, **r.data}
        for r in store.list_records(tenant, KIND, limit=limit, offset=offset)
    ]
