"""NGSI-LD subscriptions (ETSI GS CIM 009 §5.8): the pure core.

* :mod:`.model` — parse and validate a client's Subscription (every name expanded to its IRI),
  render it for GET, merge a PATCH, and a JSON document form for storage.
* :mod:`.matching` — does an entity change trigger a subscription?
* :mod:`.notification` — the Notification payload, the HTTP request parts, the retry schedule.

No I/O here: the routes, the storage and the outbox delivery worker build on these.
"""

from cetate.reactions.subscriptions.matching import (
    EntityChange,
    entity_selected,
    matches,
    periodic_due,
    trigger_reason,
)
from cetate.reactions.subscriptions.model import (
    DEFAULT_TRIGGERS,
    TRIGGERS,
    Endpoint,
    EntitySelector,
    NotificationParams,
    Subscription,
    SubscriptionStatus,
    merge_subscription_patch,
    parse_subscription,
    render_subscription,
    subscription_from_document,
    subscription_to_document,
)
from cetate.reactions.subscriptions.notification import (
    NotificationRequest,
    backoff_schedule,
    build_notification,
    build_request,
    notification_for_change,
)

__all__ = [
    "DEFAULT_TRIGGERS",
    "TRIGGERS",
    "Endpoint",
    "EntityChange",
    "EntitySelector",
    "NotificationParams",
    "NotificationRequest",
    "Subscription",
    "SubscriptionStatus",
    "backoff_schedule",
    "build_notification",
    "build_request",
    "entity_selected",
    "matches",
    "merge_subscription_patch",
    "notification_for_change",
    "parse_subscription",
    "periodic_due",
    "render_subscription",
    "subscription_from_document",
    "subscription_to_document",
    "trigger_reason",
]
