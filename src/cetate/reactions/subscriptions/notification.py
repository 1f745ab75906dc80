"""Notification payloads and the parts of their delivery, as pure data (§5.3.1, §5.8).

:func:`build_notification` renders the entities of one notification::

    {"id": "urn:ngsi-ld:Notification:<uuid>", "type": "Notification",
     "subscriptionId": …, "notifiedAt": …, "triggerReason": …,   # when known
     "data": [entities in the subscription's format, projected on notification.attributes,
              compacted with the subscription's @context]}

:func:`notification_for_change` does it for one :class:`~.matching.EntityChange`: a deleted
entity is sent as ``{id, type, deletedAt}``; an attribute the change deleted is sent with the
value ``"urn:ngsi-ld:null"`` and ``deletedAt``; with ``showChanges`` every updated attribute
also carries its value before the change (``previousValue``, ``previousObject``,
``previousLanguageMap``, ``previousValueList``, ``previousObjectList``, ``previousVocab``;
normalized and concise formats only).

:func:`build_request` gives what an HTTP notifier sends (method, URI, headers, body);
MQTT endpoints get the same headers and body (the MQTT notifier wraps them as
``{"metadata": headers, "body": body}``). The @context goes in the body with
``accept: application/ld+json``, else in a ``Link`` header. A subscription whose @context
cannot be named by one URL (an inline context) and that asks for ``application/json`` is
compacted with its core context alone, so that the ``Link`` header tells the truth.

:func:`backoff_schedule` is the retry policy of the delivery worker.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from cetate.ngsi.jsonld import ContextResolver, LdContext, link_header
from cetate.ngsi.model import EntityDoc
from cetate.ngsi.representation import NGSI_LD_NULL, render_entity
from cetate.ngsi.timestamps import format_datetime
from cetate.reactions.subscriptions.matching import EntityChange
from cetate.reactions.subscriptions.model import Subscription, Trigger

TENANT_HEADER: Final = "NGSILD-Tenant"

_PREVIOUS: Final = {
    "Property": ("value", "previousValue"),
    "GeoProperty": ("value", "previousValue"),
    "Relationship": ("object", "previousObject"),
    "LanguageProperty": ("languageMap", "previousLanguageMap"),
    "ListProperty": ("valueList", "previousValueList"),
    "ListRelationship": ("objectList", "previousObjectList"),
    "VocabProperty": ("vocab", "previousVocab"),
}


def new_notification_id() -> str:
    return f"urn:ngsi-ld:Notification:{uuid.uuid4()}"


def notification_context(sub: Subscription) -> tuple[LdContext, str | None]:
    """The @context the notification's data are compacted with, and the ``Link`` header
    that names it (``None`` with ``application/ld+json``: the @context is in the body)."""
    if sub.notification.endpoint.accept == "application/ld+json":
        return sub.context, None
    link = sub.context.link_header()
    if link is not None:
        return sub.context, link
    core = sub.context.source[-1]
    return ContextResolver().resolve(core), link_header(core)


def _render(sub: Subscription, entity: EntityDoc, context: LdContext) -> dict[str, Any]:
    params = sub.notification
    return render_entity(
        entity,
        context,
        representation=params.format,
        sys_attrs=params.sys_attrs,
        attrs=frozenset(params.attributes) if params.attributes is not None else None,
        lang=sub.lang,
    )


def _envelope(
    sub: Subscription,
    data: list[dict[str, Any]],
    context: LdContext,
    now: datetime,
    trigger_reason: Trigger | None,
    notification_id: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": notification_id or new_notification_id(),
        "type": "Notification",
        "subscriptionId": sub.id,
        "notifiedAt": format_datetime(now),
    }
    if trigger_reason is not None:
        body["triggerReason"] = trigger_reason
    body["data"] = data
    if sub.notification.endpoint.accept == "application/ld+json":
        body["@context"] = context.source
    return body


def build_notification(
    sub: Subscription,
    entities: Iterable[EntityDoc],
    *,
    now: datetime,
    trigger_reason: Trigger | None = None,
    notification_id: str | None = None,
) -> dict[str, Any]:
    """A Notification of ``entities`` (stored form, current state) — for periodic
    subscriptions and anything else that is not one change."""
    context, _ = notification_context(sub)
    data = [_render(sub, entity, context) for entity in entities]
    return _envelope(sub, data, context, now, trigger_reason, notification_id)


def _instances(rendered: Any) -> list[dict[str, Any]]:
    if isinstance(rendered, dict):
        return [rendered]
    if isinstance(rendered, list):
        return [item for item in rendered if isinstance(item, dict)]
    return []


def _add_previous(
    rendered: dict[str, Any],
    before: EntityDoc,
    after: EntityDoc,
    changed: frozenset[str],
    context: LdContext,
) -> None:
    for iri in changed:
        old_instances = before.get(iri)
        new_instances = after.get(iri)
        if not old_instances or not new_instances:
            continue
        key = context.compact_iri(iri)
        if key not in rendered:
            continue
        value = rendered[key]
        if not isinstance(value, dict | list) or (
            isinstance(value, list) and not all(isinstance(item, dict) for item in value)
        ):
            value = {"value": value}  # concise bare value
            rendered[key] = value
        old_by_dataset = {inst.get("datasetId"): inst for inst in old_instances}
        for out, new in zip(_instances(value), new_instances, strict=False):
            old = old_by_dataset.get(new.get("datasetId"))
            if old is None or old.get("type") != new.get("type"):
                continue
            member, previous = _PREVIOUS.get(str(old.get("type")), ("value", "previousValue"))
            if member in old and old.get(member) != new.get(member):
                out[previous] = old[member]


def notification_for_change(
    sub: Subscription,
    change: EntityChange,
    *,
    now: datetime,
    trigger_reason: Trigger | None = None,
    notification_id: str | None = None,
) -> dict[str, Any]:
    """The Notification of one change (see the module docstring for deletions and
    ``showChanges``)."""
    context, _ = notification_context(sub)
    params = sub.notification
    stamp = format_datetime(now)
    if change.after is None:
        types = [context.compact_iri(iri) for iri in change.entity.get("type", [])]
        entity: dict[str, Any] = {
            "id": change.entity["id"],
            "type": types[0] if len(types) == 1 else types,
            "deletedAt": stamp,
        }
        return _envelope(sub, [entity], context, now, trigger_reason, notification_id)
    rendered = _render(sub, change.after, context)
    if change.before is not None:
        wanted = set(params.attributes) if params.attributes is not None else None
        for iri in sorted(change.changed):
            if iri in change.after or iri not in change.before:
                continue
            if wanted is not None and iri not in wanted:
                continue
            key = context.compact_iri(iri)
            if params.format == "keyValues":
                rendered[key] = NGSI_LD_NULL
            else:
                rendered[key] = {"type": "Property", "value": NGSI_LD_NULL, "deletedAt": stamp}
        if params.show_changes and params.format != "keyValues":
            _add_previous(rendered, change.before, change.after, change.changed, context)
    return _envelope(sub, [rendered], context, now, trigger_reason, notification_id)


@dataclass(frozen=True, slots=True)
class NotificationRequest:
    """What a notifier sends: ``POST uri`` with ``headers`` and the JSON ``body``."""

    uri: str
    headers: dict[str, str]
    body: dict[str, Any] = field(repr=False)
    method: str = "POST"

    def content(self) -> bytes:
        """The body as UTF-8 JSON."""
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


def build_request(
    sub: Subscription, notification: Mapping[str, Any], *, tenant: str | None = None
) -> NotificationRequest:
    """The request that delivers ``notification`` (from :func:`build_notification` or
    :func:`notification_for_change`): ``Content-Type`` per the endpoint's ``accept``, a
    ``Link`` to the @context for ``application/json``, ``NGSILD-Tenant`` when the
    subscription belongs to a tenant other than the default (``tenant``), then the
    endpoint's ``receiverInfo`` headers (which cannot override the ones above; the model
    refuses them)."""
    endpoint = sub.notification.endpoint
    _, link = notification_context(sub)
    headers: dict[str, str] = {"Content-Type": endpoint.accept}
    if link is not None:
        headers["Link"] = link
    if tenant is not None:
        headers[TENANT_HEADER] = tenant
    for key, value in endpoint.receiver_info:
        headers[key] = value
    return NotificationRequest(uri=endpoint.uri, headers=headers, body=dict(notification))


# --------------------------------------------------------------------------------------------
# retries

BACKOFF_BASE: Final = timedelta(seconds=2)
"""The delay before the first retry (before jitter)."""
BACKOFF_CAP: Final = timedelta(minutes=10)
"""No delay is longer than this, jitter included."""
BACKOFF_JITTER: Final = 0.2
"""Each delay is drawn uniformly within ±20 % of its nominal value."""
MAX_ATTEMPTS: Final = 12
"""Retries after which a notification is given up and counted as failed (with the schedule
above, about an hour after the first failure)."""


def backoff_schedule(
    attempt: int,
    *,
    base: timedelta = BACKOFF_BASE,
    cap: timedelta = BACKOFF_CAP,
    jitter: float = BACKOFF_JITTER,
    rng: Callable[[], float] = random.random,
) -> timedelta:
    """The delay before retry number ``attempt`` (1 for the first retry) of a failed
    notification: ``base · 2^(attempt−1)``, multiplied by a factor drawn uniformly from
    ``[1 − jitter, 1 + jitter]`` (so that many subscriptions failing together do not retry
    in lockstep), and never more than ``cap``. With the defaults: about 2 s, 4 s, 8 s … and
    10 minutes from the 9th retry on. ``rng`` returns a float in [0, 1) (tests pass a fixed
    one)."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter must be in [0, 1), got {jitter}")
    exponent = min(attempt - 1, 62)
    nominal = base.total_seconds() * (2.0**exponent)
    factor = 1.0 - jitter + 2.0 * jitter * rng()
    return timedelta(seconds=min(nominal * factor, cap.total_seconds()))
