"""What each NGSI-LD write does to an entity, as pure functions on stored form (§5.6).

Each function takes the current document and returns a :class:`ChangeSet`: the new document,
the attribute instances written (which become history rows) and the per-attribute outcome that
the API reports (``updated`` / ``notUpdated``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cetate.ngsi.model import AttributeInstance, EntityDoc
from cetate.store.base import HistoryRow


@dataclass(frozen=True, slots=True)
class NotUpdated:
    attribute: str
    reason: str


@dataclass(slots=True)
class ChangeSet:
    entity: EntityDoc
    written: list[tuple[str, AttributeInstance]] = field(default_factory=list)
    """(attr IRI, instance as stored) for every instance created or changed"""
    updated: list[str] = field(default_factory=list)
    not_updated: list[NotUpdated] = field(default_factory=list)


def create_entity(entity: EntityDoc, now: datetime) -> ChangeSet:
    """Stamp createdAt/modifiedAt on the entity and every instance; all instances written."""
    raise NotImplementedError


def replace_entity(current: EntityDoc, new: EntityDoc, now: datetime) -> ChangeSet:
    """PUT /entities/{id}: every attribute replaced; createdAt kept."""
    raise NotImplementedError


def append_attributes(
    current: EntityDoc,
    attrs: dict[str, list[AttributeInstance]],
    now: datetime,
    *,
    overwrite: bool = True,
) -> ChangeSet:
    """POST /entities/{id}/attrs (``options=noOverwrite`` gives ``overwrite=False``) and batch
    upsert with ``options=update``."""
    raise NotImplementedError


def update_attributes(
    current: EntityDoc, attrs: dict[str, list[AttributeInstance]], now: datetime
) -> ChangeSet:
    """PATCH /entities/{id}/attrs: only attributes (and datasetIds) that exist are changed."""
    raise NotImplementedError


def merge_entity(
    current: EntityDoc, patch: dict[str, list[AttributeInstance]], now: datetime
) -> ChangeSet:
    """PATCH /entities/{id} (merge-patch, §5.6.17): values merged, sub-attributes merged,
    ``"urn:ngsi-ld:null"`` deletes."""
    raise NotImplementedError


def patch_attribute(
    current: EntityDoc, attr: str, fragment: AttributeInstance, now: datetime
) -> ChangeSet:
    """PATCH /entities/{id}/attrs/{attrId}: partial update of one instance (its datasetId in
    the fragment picks which)."""
    raise NotImplementedError


def delete_attribute(
    current: EntityDoc,
    attr: str,
    now: datetime,
    *,
    dataset_id: str | None = None,
    delete_all: bool = False,
) -> ChangeSet:
    """DELETE /entities/{id}/attrs/{attrId}; raises ResourceNotFound when absent."""
    raise NotImplementedError


def history_rows(change: ChangeSet) -> list[HistoryRow]:
    """The history rows for everything the change wrote."""
    raise NotImplementedError
