"""What each NGSI-LD write does to an entity, as pure functions on stored form (§5.6).

Each function takes the current document and returns a :class:`ChangeSet`: the new document,
the attribute instances written (which become history rows) and the per-attribute outcome that
the API reports (``updated`` / ``notUpdated``).

Rules common to every function here:

* inputs are never mutated; the returned document is a fresh deep copy;
* ``createdAt`` / ``modifiedAt`` are platform-set: whatever a payload says is ignored;
* an instance that is written keeps the ``createdAt`` of the instance it replaces (same
  attribute, same ``datasetId``) and gets ``modifiedAt = now``; a new instance gets both;
* the entity's ``modifiedAt`` is bumped to ``now`` whenever anything changed;
* instances are matched by ``datasetId`` (absent = the default instance);
* an instance written without ``type`` keeps the type of the instance it replaces, or gets
  the one its value key implies (``object`` → Relationship, ``languageMap`` →
  LanguageProperty, …, ``value`` → Property);
* top-level entity keywords (``id``, ``type``, ``scope`` …) in an attribute map are ignored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from cetate.errors import ResourceNotFound
from cetate.ngsi.model import ATTRIBUTE_KEYWORDS, ENTITY_KEYWORDS, AttributeInstance, EntityDoc
from cetate.ngsi.timestamps import format_datetime, parse_datetime
from cetate.store.base import HistoryRow

NGSI_LD_NULL: Final = "urn:ngsi-ld:null"
"""The value that, in a merge-patch or partial attribute update, deletes what it names."""

_STAMPS: Final = ("createdAt", "modifiedAt")


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

    def _mark_updated(self, attr: str) -> None:
        if attr not in self.updated:
            self.updated.append(attr)


# -- small helpers ------------------------------------------------------------------------


def _attribute_names(entity: EntityDoc) -> list[str]:
    return [k for k in entity if k not in ENTITY_KEYWORDS]


def _find_instance(
    instances: list[AttributeInstance], dataset_id: str | None
) -> AttributeInstance | None:
    for instance in instances:
        if instance.get("datasetId") == dataset_id:
            return instance
    return None


_TYPE_BY_VALUE_KEY: Final = (
    ("object", "Relationship"),
    ("languageMap", "LanguageProperty"),
    ("valueList", "ListProperty"),
    ("objectList", "ListRelationship"),
    ("vocab", "VocabProperty"),
)


def _implied_type(instance: AttributeInstance, previous: AttributeInstance | None) -> str:
    """The type of an instance written without one: that of the instance it replaces, else
    the one its value key implies (``object`` → Relationship …), else Property."""
    if previous is not None and isinstance(previous.get("type"), str):
        return str(previous["type"])
    for key, kind in _TYPE_BY_VALUE_KEY:
        if key in instance:
            return kind
    return "Property"


def _fresh_instance(
    instance: AttributeInstance, stamp: str, previous: AttributeInstance | None
) -> AttributeInstance:
    """A deep copy of ``instance`` with platform timestamps: createdAt from ``previous`` (the
    instance it replaces) when there is one."""
    fresh = copy.deepcopy(instance)
    for key in _STAMPS:
        fresh.pop(key, None)
    if "type" not in fresh:
        fresh["type"] = _implied_type(fresh, previous)
    created = previous.get("createdAt") if previous is not None else None
    fresh["createdAt"] = created or stamp
    fresh["modifiedAt"] = stamp
    return fresh


def _dataset_label(dataset_id: str | None) -> str:
    return "the default instance" if dataset_id is None else f"datasetId {dataset_id!r}"


def _finish(change: ChangeSet, stamp: str) -> ChangeSet:
    if change.written or change.updated:
        change.entity["modifiedAt"] = stamp
    return change


# -- operations -------------------------------------------------------------------------


def create_entity(entity: EntityDoc, now: datetime) -> ChangeSet:
    """Stamp createdAt/modifiedAt on the entity and every instance; all instances written."""
    stamp = format_datetime(now)
    doc: EntityDoc = {k: copy.deepcopy(v) for k, v in entity.items() if k not in _STAMPS}
    doc["createdAt"] = stamp
    doc["modifiedAt"] = stamp
    change = ChangeSet(entity=doc)
    for attr in _attribute_names(doc):
        doc[attr] = [_fresh_instance(inst, stamp, None) for inst in doc[attr]]
        change.written.extend((attr, inst) for inst in doc[attr])
        change._mark_updated(attr)
    return change


def replace_entity(current: EntityDoc, new: EntityDoc, now: datetime) -> ChangeSet:
    """PUT /entities/{id}: every attribute replaced; createdAt kept.

    Attributes absent from ``new`` disappear; every instance in ``new`` is written as a new
    instance (createdAt = now). The entity keeps its id and its original createdAt."""
    stamp = format_datetime(now)
    change = create_entity(new, now)
    change.entity["id"] = current["id"]
    change.entity["createdAt"] = current.get("createdAt", stamp)
    return change


def append_attributes(
    current: EntityDoc,
    attrs: dict[str, list[AttributeInstance]],
    now: datetime,
    *,
    overwrite: bool = True,
) -> ChangeSet:
    """POST /entities/{id}/attrs (``options=noOverwrite`` gives ``overwrite=False``) and batch
    upsert with ``options=update``.

    New attributes and new datasetIds are added. An existing instance (same attribute and
    datasetId) is replaced as a whole when ``overwrite``; otherwise it is left alone and
    reported in ``not_updated``."""
    stamp = format_datetime(now)
    change = ChangeSet(entity=copy.deepcopy(current))
    doc = change.entity
    for attr, instances in attrs.items():
        if attr in ENTITY_KEYWORDS:
            continue
        existing: list[AttributeInstance] = doc.setdefault(attr, [])
        for instance in instances:
            dataset_id = instance.get("datasetId")
            previous = _find_instance(existing, dataset_id)
            if previous is not None and not overwrite:
                change.not_updated.append(
                    NotUpdated(
                        attr,
                        f"{_dataset_label(dataset_id)} already exists and noOverwrite was asked",
                    )
                )
                continue
            fresh = _fresh_instance(instance, stamp, previous)
            if previous is None:
                existing.append(fresh)
            else:
                existing[existing.index(previous)] = fresh
            change.written.append((attr, fresh))
            change._mark_updated(attr)
        if not existing:
            del doc[attr]
    return _finish(change, stamp)


def update_attributes(
    current: EntityDoc, attrs: dict[str, list[AttributeInstance]], now: datetime
) -> ChangeSet:
    """PATCH /entities/{id}/attrs: only attributes (and datasetIds) that exist are changed.

    Each existing instance named by the payload is replaced as a whole (keeping createdAt);
    attributes or datasetIds that the entity does not have are reported in ``not_updated``."""
    stamp = format_datetime(now)
    change = ChangeSet(entity=copy.deepcopy(current))
    doc = change.entity
    for attr, instances in attrs.items():
        if attr in ENTITY_KEYWORDS:
            continue
        existing = doc.get(attr)
        if not existing:
            change.not_updated.append(NotUpdated(attr, "the entity has no such attribute"))
            continue
        for instance in instances:
            dataset_id = instance.get("datasetId")
            previous = _find_instance(existing, dataset_id)
            if previous is None:
                change.not_updated.append(
                    NotUpdated(attr, f"the attribute has no {_dataset_label(dataset_id)}")
                )
                continue
            fresh = _fresh_instance(instance, stamp, previous)
            existing[existing.index(previous)] = fresh
            change.written.append((attr, fresh))
            change._mark_updated(attr)
    return _finish(change, stamp)


def _is_null(value: Any) -> bool:
    return value is None or value == NGSI_LD_NULL


def _merge_value(target: Any, patch: Any) -> Any:
    """RFC 7396 merge of JSON values, with ``urn:ngsi-ld:null`` (or null) deleting a member."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(target)
    for key, item in patch.items():
        if _is_null(item):
            merged.pop(key, None)
        else:
            merged[key] = _merge_value(merged.get(key), item)
    return merged


def _is_deletion(fragment: AttributeInstance) -> bool:
    """True when the fragment asks to delete the attribute instance it names."""
    for key in ("value", "object", "languageMap", "valueList", "objectList", "vocab"):
        if key in fragment:
            return _is_null(fragment[key]) or fragment[key] == [NGSI_LD_NULL]
    return False


def _merge_instance(
    previous: AttributeInstance, fragment: AttributeInstance, *, merge_values: bool
) -> AttributeInstance:
    """The previous instance with the fragment's members merged in.

    Keys of the fragment replace those of the instance; sub-attributes are merged one level
    (a sub-attribute whose value is ``urn:ngsi-ld:null`` is removed); with ``merge_values`` a
    JSON-object ``value`` is merged member by member (RFC 7396), otherwise replaced. When the
    fragment changes the attribute type, the old value keys are dropped."""
    merged = copy.deepcopy(previous)
    new_type = fragment.get("type")
    if new_type is not None and new_type != previous.get("type"):
        for key in ("value", "object", "languageMap", "valueList", "objectList", "vocab"):
            merged.pop(key, None)
    for key, item in fragment.items():
        if key in _STAMPS:
            continue
        if key in ATTRIBUTE_KEYWORDS:
            if key == "value" and merge_values and merged.get("type", "Property") == "Property":
                merged[key] = _merge_value(merged.get(key), item)
            elif _is_null(item) and key not in ("value", "object", "type"):
                merged.pop(key, None)
            else:
                merged[key] = copy.deepcopy(item)
            continue
        # a sub-attribute
        if isinstance(item, dict) and not _is_deletion(item):
            old_sub = merged.get(key)
            if isinstance(old_sub, dict):
                merged[key] = _merge_instance(old_sub, item, merge_values=merge_values)
            else:
                merged[key] = copy.deepcopy(item)
        elif isinstance(item, dict) or _is_null(item):
            merged.pop(key, None)
        else:
            merged[key] = copy.deepcopy(item)
    return merged


def merge_entity(
    current: EntityDoc, patch: dict[str, list[AttributeInstance]], now: datetime
) -> ChangeSet:
    """PATCH /entities/{id} (merge-patch, §5.6.17): values merged, sub-attributes merged,
    ``"urn:ngsi-ld:null"`` deletes.

    Per instance (matched by datasetId): a new attribute or datasetId is added as in append;
    an existing one is merged: keys in the fragment replace the stored ones, sub-attributes
    are merged recursively, and a ``value`` that is a JSON object is merged member by member
    (RFC 7396; a member set to ``urn:ngsi-ld:null`` is removed; GeoProperty geometries are
    replaced, never merged). A fragment whose value
    (``value``/``object``/…) is ``urn:ngsi-ld:null`` deletes the instance; deleting an
    instance that does not exist is reported in ``not_updated``."""
    stamp = format_datetime(now)
    change = ChangeSet(entity=copy.deepcopy(current))
    doc = change.entity
    for attr, instances in patch.items():
        if attr in ENTITY_KEYWORDS:
            continue
        existing: list[AttributeInstance] = doc.setdefault(attr, [])
        for fragment in instances:
            dataset_id = fragment.get("datasetId")
            previous = _find_instance(existing, dataset_id)
            if _is_deletion(fragment):
                if previous is None:
                    change.not_updated.append(
                        NotUpdated(attr, f"cannot delete {_dataset_label(dataset_id)}: absent")
                    )
                else:
                    existing.remove(previous)
                    change._mark_updated(attr)
                continue
            if previous is None:
                fresh = _fresh_instance(fragment, stamp, None)
                existing.append(fresh)
            else:
                merged = _merge_instance(previous, fragment, merge_values=True)
                fresh = _fresh_instance(merged, stamp, previous)
                existing[existing.index(previous)] = fresh
            change.written.append((attr, fresh))
            change._mark_updated(attr)
        if not existing:
            del doc[attr]
    return _finish(change, stamp)


def patch_attribute(
    current: EntityDoc, attr: str, fragment: AttributeInstance, now: datetime
) -> ChangeSet:
    """PATCH /entities/{id}/attrs/{attrId}: partial update of one instance (its datasetId in
    the fragment picks which).

    The fragment's members replace the instance's (the ``value`` is replaced, not merged);
    sub-attributes are merged, and one set to ``urn:ngsi-ld:null`` is removed. Raises
    :class:`cetate.errors.ResourceNotFound` when the attribute or the datasetId is absent."""
    stamp = format_datetime(now)
    change = ChangeSet(entity=copy.deepcopy(current))
    existing = change.entity.get(attr)
    if attr in ENTITY_KEYWORDS or not existing:
        raise ResourceNotFound(f"entity {current.get('id')} has no attribute {attr}")
    dataset_id = fragment.get("datasetId")
    previous = _find_instance(existing, dataset_id)
    if previous is None:
        raise ResourceNotFound(
            f"attribute {attr} of entity {current.get('id')} has no {_dataset_label(dataset_id)}"
        )
    merged = _merge_instance(previous, fragment, merge_values=False)
    fresh = _fresh_instance(merged, stamp, previous)
    existing[existing.index(previous)] = fresh
    change.written.append((attr, fresh))
    change._mark_updated(attr)
    return _finish(change, stamp)


def delete_attribute(
    current: EntityDoc,
    attr: str,
    now: datetime,
    *,
    dataset_id: str | None = None,
    delete_all: bool = False,
) -> ChangeSet:
    """DELETE /entities/{id}/attrs/{attrId}; raises ResourceNotFound when absent.

    Without options the default instance is deleted; ``dataset_id`` names another instance;
    ``delete_all`` deletes every instance. Nothing is written (no history rows)."""
    stamp = format_datetime(now)
    change = ChangeSet(entity=copy.deepcopy(current))
    doc = change.entity
    existing = doc.get(attr)
    if attr in ENTITY_KEYWORDS or not existing:
        raise ResourceNotFound(f"entity {current.get('id')} has no attribute {attr}")
    if delete_all:
        del doc[attr]
    else:
        previous = _find_instance(existing, dataset_id)
        if previous is None:
            raise ResourceNotFound(
                f"attribute {attr} of entity {current.get('id')} has no "
                f"{_dataset_label(dataset_id)}"
            )
        existing.remove(previous)
        if not existing:
            del doc[attr]
    change._mark_updated(attr)
    return _finish(change, stamp)


def _number(instance: AttributeInstance) -> float | None:
    if instance.get("type", "Property") != "Property":
        return None
    value = instance.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def history_rows(change: ChangeSet) -> list[HistoryRow]:
    """The history rows for everything the change wrote.

    ``observed_at`` is the instance's observedAt, else its modifiedAt (the write time);
    ``number`` is the value of a numeric Property (booleans excluded)."""
    entity = change.entity
    types = entity.get("type") or []
    entity_type = types[0] if isinstance(types, list) and types else str(types or "")
    rows: list[HistoryRow] = []
    for attr, instance in change.written:
        moment = instance.get("observedAt") or instance.get("modifiedAt")
        if moment is None:
            moment = entity.get("modifiedAt") or entity.get("createdAt")
        if not isinstance(moment, str):
            raise ValueError(f"instance of {attr} has neither observedAt nor modifiedAt")
        rows.append(
            HistoryRow(
                entity_id=entity["id"],
                attr=attr,
                instance=copy.deepcopy(instance),
                observed_at=parse_datetime(moment),
                dataset_id=instance.get("datasetId"),
                number=_number(instance),
                entity_type=entity_type,
            )
        )
    return rows
