"""NGSI-LD operations on the context store: the one write path for API, CLI, imports and domains.

Every write goes through :class:`EntityService`: it applies the pure update semantics of
:mod:`cetate.ngsi.updates` inside a store transaction and records the history rows. Payloads
here are already in stored form (expanded with their @context by the caller).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cetate.errors import CetateError
from cetate.ngsi.model import AttributeInstance, EntityDoc
from cetate.ngsi.updates import ChangeSet
from cetate.store.base import ContextStore


@dataclass(frozen=True, slots=True)
class BatchError:
    entity_id: str
    error: CetateError


@dataclass(slots=True)
class BatchResult:
    success: list[str] = field(default_factory=list)
    errors: list[BatchError] = field(default_factory=list)


class EntityService:
    def __init__(self, store: ContextStore) -> None:
        self.store = store

    def create(self, tenant: str, entity: EntityDoc) -> None:
        raise NotImplementedError

    def replace(self, tenant: str, entity: EntityDoc) -> None:
        raise NotImplementedError

    def append_attributes(
        self,
        tenant: str,
        entity_id: str,
        attrs: dict[str, list[AttributeInstance]],
        *,
        overwrite: bool = True,
    ) -> ChangeSet:
        raise NotImplementedError

    def update_attributes(
        self, tenant: str, entity_id: str, attrs: dict[str, list[AttributeInstance]]
    ) -> ChangeSet:
        raise NotImplementedError

    def merge(
        self, tenant: str, entity_id: str, patch: dict[str, list[AttributeInstance]]
    ) -> ChangeSet:
        raise NotImplementedError

    def patch_attribute(
        self, tenant: str, entity_id: str, attr: str, fragment: AttributeInstance
    ) -> ChangeSet:
        raise NotImplementedError

    def delete_attribute(
        self,
        tenant: str,
        entity_id: str,
        attr: str,
        *,
        dataset_id: str | None = None,
        delete_all: bool = False,
    ) -> None:
        raise NotImplementedError

    def delete(self, tenant: str, entity_id: str) -> None:
        raise NotImplementedError

    def batch_create(self, tenant: str, entities: Sequence[EntityDoc]) -> BatchResult:
        raise NotImplementedError

    def batch_upsert(
        self,
        tenant: str,
        entities: Sequence[EntityDoc],
        *,
        mode: Literal["replace", "update"] = "replace",
    ) -> BatchResult:
        """Create the new ones; replace (or, with ``update``, append attributes of) the others.
        One transaction for the whole batch: this is the fast ingest path."""
        raise NotImplementedError

    def batch_update(
        self, tenant: str, entities: Sequence[EntityDoc], *, overwrite: bool = True
    ) -> BatchResult:
        raise NotImplementedError

    def batch_delete(self, tenant: str, entity_ids: Sequence[str]) -> BatchResult:
        raise NotImplementedError
