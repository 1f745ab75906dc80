"""What each NGSI-LD write does to an entity, as pure functions on stored form (§5.6).

Each function takes the current document and returns a :class:`ChangeSet`: the new document,
the attribute instances written (which become history rows) and the per-attribute outcome that
the API reports (``updated`` / ``notUpdated``).

Rules common to every function here:

* inputs are never mutated, and the returned document never shares anything with the
  inputs that the function changed: it is a new dict, every attribute list that changed is a
  new list and every instance written is a new dict (nested JSON values copied); attributes and
  instances left untouched are *shared* with ``current`` (documents are never mutated in
  place, so sharing is safe and saves deep copies on the ingest path);
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
from datetime import UTC, datetime
from typing import Any, Final

from cetate.errors import ResourceNotFound
from cetate.ngsi.model import ATTRIBUTE_KEYWORDS, ENTITY_KEYWORDS, AttributeInstance, EntityDoc
from cetate.ngsi.timestamps import format_datetime, parse_datetime
from cetate.store.base import HistoryRow

NGSI_LD_NULL: Final = "urn:ngsi-ld:null"
"""The value that, in a merge-patch or partial attribute update, deletes what it names."""

_STAMPS: Final = ("createdAt", "modifiedAt")

_ATOMIC: Final = frozenset({str, int, float, bool, type(None)})
"""Types of JSON values that are immutable: shared, never copied."""


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


def _copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists and scalars), much cheaper than
    :func:`copy.deepcopy`; anything else falls back to it."""
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if kind is dict:
        return {key: _copy_json(item) for key, item in value.items()}
    if kind is list:
        return [_copy_json(item) for item in value]
    return copy.deepcopy(value)


def _find_position(instances: list[AttributeInstance], dataset_id: str | None) -> int:
    """The index of the instance with that datasetId, or -1."""
    for position, instance in enumerate(instances):
        if instance.get("datasetId") == dataset_id:
            return position
    return -1


_last_stamp: tuple[datetime, str] | None = None


def _stamp(now: datetime) -> str:
    """:func:`format_datetime` of ``now``, remembering the last one (a batch stamps every
    entity with the same moment)."""
    global _last_stamp
    last = _last_stamp
    if last is not None and last[0] == now:
        return last[1]
    stamp = format_datetime(now)
    _last_stamp = (now, stamp)
    return stamp


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
    instance: AttributeInstance,
    stamp: str,
    previous: AttributeInstance | None,
    *,
    owned: bool = False,
) -> AttributeInstance:
    """A deep copy of ``instance`` with platform timestamps: createdAt from ``previous`` (the
    instance it replaces) when there is one. With ``owned`` the instance is already a private
    copy: its members are kept as they are."""
    if owned:
        fresh = {key: item for key, item in instance.items() if key not in _STAMPS}
    else:
        fresh = {
            key: item if type(item) in _ATOMIC else _copy_json(item)
            for key, item in instance.items()
            if key not in _STAMPS
        }
    if "type" not in fresh:
        fresh["type"] = _implied_type(fresh, previous)
    created = previous.get("createdAt") if previous is not None else None
    fresh["createdAt"] = created or stamp
    fresh["modifiedAt"] = stamp
    return fresh


def _dataset_label(dataset_id: str | None) -> str:
    return "the default instance" if dataset_id is None else f"datasetId {dataset_id!r}"


class _InstanceEdit:
    """The instances of one attribute while a write edits them: a private copy of the
    document's list (never the list itself), with every instance written or deleted recorded
    in the change. :meth:`save` puts the list back into the change's document."""

    __slots__ = ("attr", "change", "changed", "instances")

    def __init__(self, change: ChangeSet, attr: str) -> None:
        self.change = change
        self.attr = attr
        self.instances: list[AttributeInstance] = list(change.entity.get(attr) or ())
        self.changed = False

    def find(self, dataset_id: str | None) -> tuple[int, AttributeInstance | None]:
        """(position, instance) of the instance with that datasetId, or (-1, None)."""
        position = _find_position(self.instances, dataset_id)
        return position, (self.instances[position] if position >= 0 else None)

    def put(self, position: int, fresh: AttributeInstance) -> None:
        """Write ``fresh`` at ``position`` (-1: as a new instance)."""
        if position < 0:
            self.instances.append(fresh)
        else:
            self.instances[position] = fresh
        self.changed = True
        self.change.written.append((self.attr, fresh))
        self.change._mark_updated(self.attr)

    def delete(self, position: int) -> None:
        del self.instances[position]
        self.changed = True
        self.change._mark_updated(self.attr)

    def save(self) -> None:
        """The edited list into the document; an attribute left with no instance is
        removed."""
        if not self.instances:
            self.change.entity.pop(self.attr, None)
        elif self.changed:
            self.change.entity[self.attr] = self.instances


def _finish(change: ChangeSet, stamp: str) -> ChangeSet:
    if change.written or change.updated:
        change.entity["modifiedAt"] = stamp
    return change


# -- operations -------------------------------------------------------------------------


def create_entity(entity: EntityDoc, now: datetime) -> ChangeSet:
    """Stamp createdAt/modifiedAt on the entity and every instance; all instances written."""
    stamp = _stamp(now)
    doc: EntityDoc = {}
    change = ChangeSet(entity=doc)
    for key, item in entity.items():
        if key in _STAMPS:
            continue
        if key in ENTITY_KEYWORDS:
            doc[key] = _copy_json(item)
            continue
        instances = [_fresh_instance(inst, stamp, None) for inst in item]
        doc[key] = instances
        change.written.extend((key, inst) for inst in instances)
        change._mark_updated(key)
    doc["createdAt"] = stamp
    doc["modifiedAt"] = stamp
    return change


def replace_entity(current: EntityDoc, new: EntityDoc, now: datetime) -> ChangeSet:
    """PUT /entities/{id}: every attribute replaced; createdAt kept.

    Attributes absent from ``new`` disappear; every instance in ``new`` is written as a new
    instance (createdAt = now). The entity keeps its id and its original createdAt."""
    stamp = _stamp(now)
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
    stamp = _stamp(now)
    change = ChangeSet(entity=dict(current))
    for attr, instances in attrs.items():
        if attr in ENTITY_KEYWORDS:
            continue
        edit = _InstanceEdit(change, attr)
        for instance in instances:
            dataset_id = instance.get("datasetId")
            position, previous = edit.find(dataset_id)
            if previous is not None and not overwrite:
                change.not_updated.append(
                    NotUpdated(
                        attr,
                        f"{_dataset_label(dataset_id)} already exists and noOverwrite was asked",
                    )
                )
                continue
            edit.put(position, _fresh_instance(instance, stamp, previous))
        edit.save()
    return _finish(change, stamp)


def update_attributes(
    current: EntityDoc, attrs: dict[str, list[AttributeInstance]], now: datetime
) -> ChangeSet:
    """PATCH /entities/{id}/attrs: only attributes (and datasetIds) that exist are changed.

    Each existing instance named by the payload is replaced as a whole (keeping createdAt);
    attributes or datasetIds that the entity does not have are reported in ``not_updated``."""
    stamp = _stamp(now)
    change = ChangeSet(entity=dict(current))
    for attr, instances in attrs.items():
        if attr in ENTITY_KEYWORDS:
            continue
        if not change.entity.get(attr):
            change.not_updated.append(NotUpdated(attr, "the entity has no such attribute"))
            continue
        edit = _InstanceEdit(change, attr)
        for instance in instances:
            dataset_id = instance.get("datasetId")
            position, previous = edit.find(dataset_id)
            if previous is None:
                change.not_updated.append(
                    NotUpdated(attr, f"the attribute has no {_dataset_label(dataset_id)}")
                )
                continue
            edit.put(position, _fresh_instance(instance, stamp, previous))
        edit.save()
    return _finish(change, stamp)


def _is_null(value: Any) -> bool:
    return value is None or value == NGSI_LD_NULL


def _merge_value(target: Any, patch: Any) -> Any:
    """RFC 7396 merge of JSON values, with ``urn:ngsi-ld:null`` (or null) deleting a member."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return _copy_json(patch)
    merged = _copy_json(target)
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
    merged: AttributeInstance = _copy_json(previous)
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
                merged[key] = _copy_json(item)
            continue
        # a sub-attribute
        if isinstance(item, dict) and not _is_deletion(item):
            old_sub = merged.get(key)
            if isinstance(old_sub, dict):
                merged[key] = _merge_instance(old_sub, item, merge_values=merge_values)
            else:
                merged[key] = _copy_json(item)
        elif isinstance(item, dict) or _is_null(item):
            merged.pop(key, None)
        else:
            merged[key] = _copy_json(item)
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
    stamp = _stamp(now)
    change = ChangeSet(entity=dict(current))
    for attr, instances in patch.items():
        if attr in ENTITY_KEYWORDS:
            continue
        edit = _InstanceEdit(change, attr)
        for fragment in instances:
            dataset_id = fragment.get("datasetId")
            position, previous = edit.find(dataset_id)
            if _is_deletion(fragment):
                if previous is None:
                    change.not_updated.append(
                        NotUpdated(attr, f"cannot delete {_dataset_label(dataset_id)}: absent")
                    )
                else:
                    edit.delete(position)
                continue
            if previous is None:
                edit.put(position, _fresh_instance(fragment, stamp, None))
            else:
                merged = _merge_instance(previous, fragment, merge_values=True)
                edit.put(position, _fresh_instance(merged, stamp, previous, owned=True))
        edit.save()
    return _finish(change, stamp)


def patch_attribute(
    current: EntityDoc, attr: str, fragment: AttributeInstance, now: datetime
) -> ChangeSet:
    """PATCH /entities/{id}/attrs/{attrId}: partial update of one instance (its datasetId in
    the fragment picks which).

    The fragment's members replace the instance's (the ``value`` is replaced, not merged);
    sub-attributes are merged, and one set to ``urn:ngsi-ld:null`` is removed. Raises
    :class:`cetate.errors.ResourceNotFound` when the attribute or the datasetId is absent."""
    stamp = _stamp(now)
    change = ChangeSet(entity=dict(current))
    if attr in ENTITY_KEYWORDS or not change.entity.get(attr):
        raise ResourceNotFound(f"entity {current.get('id')} has no attribute {attr}")
    edit = _InstanceEdit(change, attr)
    dataset_id = fragment.get("datasetId")
    position, previous = edit.find(dataset_id)
    if previous is None:
        raise ResourceNotFound(
            f"attribute {attr} of entity {current.get('id')} has no {_dataset_label(dataset_id)}"
        )
    merged = _merge_instance(previous, fragment, merge_values=False)
    edit.put(position, _fresh_instance(merged, stamp, previous, owned=True))
    edit.save()
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
    stamp = _stamp(now)
    change = ChangeSet(entity=dict(current))
    doc = change.entity
    if attr in ENTITY_KEYWORDS or not doc.get(attr):
        raise ResourceNotFound(f"entity {current.get('id')} has no attribute {attr}")
    if delete_all:
        del doc[attr]
    else:
        edit = _InstanceEdit(change, attr)
        position, previous = edit.find(dataset_id)
        if previous is None:
            raise ResourceNotFound(
                f"attribute {attr} of entity {current.get('id')} has no "
                f"{_dataset_label(dataset_id)}"
            )
        edit.delete(position)
        edit.save()
    change._mark_updated(attr)
    return _finish(change, stamp)


def _number(instance: AttributeInstance) -> float | None:
    if instance.get("type", "Property") != "Property":
        return None
    value = instance.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _moment(text: str) -> datetime:
    """:func:`parse_datetime`, with a fast path for the platform's own format
    (``2026-11-23T10:00:00.000Z``, which every sensor payload normalised by the API has)."""
    if len(text) == 24 and text[23] == "Z" and text[10] == "T" and text[19] == ".":
        try:
            moment = datetime.fromisoformat(text)  # Python ≥ 3.11 reads the Z as UTC
        except ValueError:
            pass
        else:
            if moment.tzinfo is UTC:
                return moment
    return parse_datetime(text)


def history_rows(change: ChangeSet) -> list[HistoryRow]:
    """The history rows for everything the change wrote.

    ``observed_at`` is the instance's observedAt, else its modifiedAt (the write time);
    ``number`` is the value of a numeric Property (booleans excluded). A row's ``instance`` is
    the instance of the change's document itself, not a copy: neither may be mutated."""
    entity = change.entity
    types = entity.get("type") or []
    entity_type = types[0] if isinstance(types, list) and types else str(types or "")
    entity_id = entity["id"]
    rows: list[HistoryRow] = []
    for attr, instance in change.written:
        moment = instance.get("observedAt") or instance.get("modifiedAt")
        if moment is None:
            moment = entity.get("modifiedAt") or entity.get("createdAt")
        if not isinstance(moment, str):
            raise ValueError(f"instance of {attr} has neither observedAt nor modifiedAt")
        value = instance.get("value")
        if type(value) is float and instance.get("type", "Property") == "Property":
            number: float | None = value
        else:
            number = _number(instance)
        # positional: entity_id, attr, instance, observed_at, dataset_id, number, entity_type
        rows.append(
            HistoryRow(
                entity_id,
                attr,
                instance,
                _moment(moment),
                instance.get("datasetId"),
                number,
                entity_type,
            )
        )
    return rows
