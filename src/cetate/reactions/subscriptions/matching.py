"""Does a change of an entity trigger a subscription? (ETSI GS CIM 009 §5.8, §4.x triggers.)

Pure functions over the stored form: the write path describes each change as an
:class:`EntityChange` (the entity before and after, and the attributes the operation wrote),
and :func:`trigger_reason` / :func:`matches` decide, for one subscription at one moment, whether
a notification is due. The checks, in order:

1. the subscription is change-triggered (no ``timeInterval``), active (``isActive``) and not
   expired at ``now``;
2. throttling: at least ``throttling`` seconds since the last notification;
3. an entity selector matches (``id`` equal, else ``idPattern`` found in the id — search
   semantics, as for ``GET /entities`` — and the ``type`` expression holds for the entity's
   types); no ``entities`` means any entity;
4. the change concerns a watched attribute (no ``watchedAttributes`` means any attribute);
5. one of the change's trigger reasons is in ``notificationTrigger``;
6. ``q`` holds and the ``geoQ`` geoproperty (any instance) satisfies the geo-query, both on
   the entity *after* the change (before it, for a deletion).

Trigger reasons of a change (only watched attributes count):

=====================  ==========================================================
change                 reasons
=====================  ==========================================================
entity created         ``entityCreated``; ``attributeCreated`` (every attribute of a
                       new entity is created, so the default triggers notify on creation)
entity deleted         ``entityDeleted``
entity updated         ``entityUpdated``; per written attribute ``attributeCreated`` (not
                       there before), ``attributeUpdated`` (there before and after) or
                       ``attributeDeleted`` (gone after)
=====================  ==========================================================

When several reasons apply, the one reported is the first of ``entityCreated``,
``entityDeleted``, ``attributeCreated``, ``attributeUpdated``, ``attributeDeleted``,
``entityUpdated`` that the subscription asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Final, Literal

from cetate.ngsi.geo import geo_matches
from cetate.ngsi.model import ENTITY_KEYWORDS, EntityDoc
from cetate.ngsi.query_language import evaluate_q
from cetate.ngsi.type_expr import matches_types
from cetate.reactions.subscriptions.model import EntitySelector, Subscription, Trigger

ChangeKind = Literal["created", "updated", "deleted"]

_REASON_ORDER: Final[tuple[Trigger, ...]] = (
    "entityCreated",
    "entityDeleted",
    "attributeCreated",
    "attributeUpdated",
    "attributeDeleted",
    "entityUpdated",
)
_VOLATILE: Final = frozenset({"createdAt", "modifiedAt"})


def _attribute_names(doc: EntityDoc | None) -> frozenset[str]:
    if doc is None:
        return frozenset()
    return frozenset(key for key in doc if key not in ENTITY_KEYWORDS)


def _without_timestamps(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_timestamps(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_without_timestamps(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class EntityChange:
    """One entity's change: the stored-form document ``before`` (``None`` when created) and
    ``after`` (``None`` when deleted), and ``changed`` — the IRIs of the attributes the
    operation created, updated or deleted. Build one with :meth:`created`, :meth:`deleted` or
    :meth:`updated`."""

    before: EntityDoc | None
    after: EntityDoc | None
    changed: frozenset[str]

    def __post_init__(self) -> None:
        if self.before is None and self.after is None:
            raise ValueError("an EntityChange needs a document before or after the change")

    @classmethod
    def created(cls, after: EntityDoc) -> EntityChange:
        return cls(None, after, _attribute_names(after))

    @classmethod
    def deleted(cls, before: EntityDoc) -> EntityChange:
        return cls(before, None, _attribute_names(before))

    @classmethod
    def updated(
        cls, before: EntityDoc, after: EntityDoc, changed: Iterable[str] | None = None
    ) -> EntityChange:
        """``changed`` as the write path knows it (an attribute written with the same value
        still counts as updated). Without it, the attributes whose instances differ (system
        timestamps aside) are computed."""
        if changed is None:
            names = _attribute_names(before) | _attribute_names(after)
            changed = {
                name
                for name in names
                if _without_timestamps(before.get(name)) != _without_timestamps(after.get(name))
            }
        return cls(before, after, frozenset(changed))

    @property
    def kind(self) -> ChangeKind:
        if self.before is None:
            return "created"
        if self.after is None:
            return "deleted"
        return "updated"

    @property
    def entity(self) -> EntityDoc:
        """The entity as the subscription sees it: after the change, before it if deleted."""
        doc = self.after if self.after is not None else self.before
        assert doc is not None
        return doc

    def reasons(self, attributes: Iterable[str] | None = None) -> set[Trigger]:
        """The trigger reasons of this change, counting only ``attributes`` (IRIs; ``None``
        for every attribute). Empty when no counted attribute changed."""
        concerned = self.changed if attributes is None else self.changed & set(attributes)
        if not concerned:
            return set()
        if self.kind == "created":
            return {"entityCreated", "attributeCreated"}
        if self.kind == "deleted":
            return {"entityDeleted"}
        before = _attribute_names(self.before)
        after = _attribute_names(self.after)
        reasons: set[Trigger] = {"entityUpdated"}
        for name in concerned:
            if name in after and name not in before:
                reasons.add("attributeCreated")
            elif name in after:
                reasons.add("attributeUpdated")
            elif name in before:
                reasons.add("attributeDeleted")
        return reasons


@lru_cache(maxsize=1024)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def selector_matches(selector: EntitySelector, entity: EntityDoc) -> bool:
    if selector.id is not None:
        if entity.get("id") != selector.id:
            return False
    elif selector.id_pattern is not None and (
        _pattern(selector.id_pattern).search(str(entity.get("id", ""))) is None
    ):
        return False
    return matches_types(selector.type, entity.get("type", []))


def entity_selected(sub: Subscription, entity: EntityDoc) -> bool:
    """Entity selectors, ``q`` and ``geoQ`` on one entity (what a periodic subscription also
    uses to choose the entities it sends)."""
    if sub.entities and not any(selector_matches(s, entity) for s in sub.entities):
        return False
    if sub.q is not None and not evaluate_q(sub.q, entity):
        return False
    if sub.geo_q is not None:
        query = sub.geo_q
        instances = entity.get(query.geoproperty) or []
        if not any(
            isinstance(instance, Mapping)
            and isinstance(instance.get("value"), Mapping)
            and geo_matches(query, instance["value"])
            for instance in instances
        ):
            return False
    return True


def throttled(sub: Subscription, now: datetime, last_notification: datetime | None) -> bool:
    """True while the subscription's throttling period since its last notification runs."""
    if sub.throttling is None or last_notification is None:
        return False
    return now - last_notification < timedelta(seconds=sub.throttling)


def trigger_reason(
    sub: Subscription,
    change: EntityChange,
    now: datetime,
    last_notification: datetime | None = None,
) -> Trigger | None:
    """Why ``change`` triggers ``sub`` at ``now`` (the ``triggerReason`` of the
    notification), or ``None`` when it does not. ``last_notification`` is when the
    subscription last notified (for throttling)."""
    if sub.is_periodic or sub.state(now) != "active":
        return None
    if throttled(sub, now, last_notification):
        return None
    entity = change.entity
    if sub.entities and not any(selector_matches(s, entity) for s in sub.entities):
        return None
    reasons = change.reasons(sub.watched_attributes)
    reason = next(
        (r for r in _REASON_ORDER if r in reasons and r in sub.notification_trigger), None
    )
    if reason is None:
        return None
    return reason if entity_selected(sub, entity) else None


def matches(
    sub: Subscription,
    change: EntityChange,
    now: datetime,
    last_notification: datetime | None = None,
) -> bool:
    """Does ``change`` trigger a notification of ``sub`` at ``now``?"""
    return trigger_reason(sub, change, now, last_notification) is not None


def periodic_due(sub: Subscription, now: datetime, last_notification: datetime | None) -> bool:
    """For a periodic subscription: is a notification due at ``now``? (Active, not expired,
    and ``timeInterval`` seconds since the last one, or never notified.)"""
    if not sub.is_periodic or sub.state(now) != "active":
        return False
    assert sub.time_interval is not None
    if last_notification is None:
        return True
    return now - last_notification >= timedelta(seconds=sub.time_interval)
