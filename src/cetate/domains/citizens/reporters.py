"""The reporter's personal data (e-mail, name, phone, device and account ids), kept apart
from the public report entity: a store record of kind ``citizen-reporter`` keyed by the
service request id, readable only through the staff API. Nothing here is ever rendered by the
Open311 API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from cetate.store.base import ContextStore

KIND: Final = "citizen-reporter"


def save_reporter(
    store: ContextStore, tenant: str, request_id: str, reporter: Mapping[str, str]
) -> None:
    """Keep the reporter's data of a request (nothing is stored when none was given)."""
    if reporter:
        store.put_record(tenant, KIND, request_id, dict(reporter), expected_version=None)


def load_reporter(store: ContextStore, tenant: str, request_id: str) -> dict[str, str]:
    record = store.get_record(tenant, KIND, request_id)
    return {} if record is None else {k: str(v) for k, v in record.data.items()}
