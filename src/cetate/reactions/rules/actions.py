"""Delivering the actions of opened alerts: email, webhook, device command.

The write observer queues one item per action in ``rule-actions`` in the transaction that
creates the alert (:mod:`.observer`). :meth:`ActionDeliverer.deliver` claims due items and
makes one attempt each: ``ok`` completes the item; a retryable failure puts it back with the
backoff of :func:`~cetate.reactions.delivery.outcome.retry_delay` until
:data:`MAX_ACTION_ATTEMPTS`; a permanent failure (or the last attempt) drops it with a
warning. Every outcome is counted in :attr:`ActionDeliverer.counters`
(``<action>.<kind>.<reason>``) and the last one per alert kept in :attr:`last_outcomes`.
Evaluation never waits for an action.

* email — :func:`~cetate.reactions.delivery.email.alert_email` to the rule's addresses over
  the ``CETATE_SMTP_*`` server (disabled when ``smtp_host`` is empty: a permanent failure);
* webhook — the alert (normalized, with ``@context``) POSTed by
  :class:`~cetate.reactions.delivery.webhook.WebhookSender`, signed with the action's
  ``secret`` or the platform's rules secret (store setting :data:`SECRET_SETTING`);
* command — ``commands.send(tenant, device, name, value, source="rule:<rule id>")``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from starlette.concurrency import run_in_threadpool

from cetate.config import Settings
from cetate.errors import CetateError
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.delivery.email import EmailSender, EmailSettings, alert_email
from cetate.reactions.delivery.http import HttpSender
from cetate.reactions.delivery.outcome import DeliveryOutcome, retry_delay
from cetate.reactions.delivery.webhook import Webhook, WebhookSender, new_secret
from cetate.reactions.rules.alerts import ALERT_CONTEXT
from cetate.reactions.rules.observer import ACTIONS
from cetate.reactions.rules.service import AlertService
from cetate.reactions.scheduler import process_holder_id
from cetate.store.base import ContextStore, QueueItem

logger = logging.getLogger(__name__)

MAX_ACTION_ATTEMPTS: Final = 8
SECRET_SETTING: Final = "rules-webhook-secret"  # noqa: S105 (a setting name)


class CommandSender(Protocol):
    def send(
        self, tenant: str, device: str, name: str, value: Any = None, *, source: str = "api"
    ) -> Any: ...


class ActionDeliverer:
    """Delivers queued rule actions (see the module docstring)."""

    def __init__(
        self,
        store: ContextStore,
        alerts: AlertService,
        settings: Settings,
        commands: CommandSender | None = None,
        *,
        email_timeout: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.alerts = alerts
        self.settings = settings
        self.commands = commands
        self.email_timeout = email_timeout
        self.clock = clock
        self.worker = process_holder_id("rule-actions")
        self.counters: Counter[str] = Counter()
        self.last_outcomes: dict[str, DeliveryOutcome] = {}

    def _secret(self) -> str:
        secret = self.store.get_setting(SECRET_SETTING)
        if secret is None:
            secret = new_secret()
            self.store.put_setting(SECRET_SETTING, secret)
        return secret

    async def _email(self, alert: dict[str, Any], item: dict[str, Any]) -> DeliveryOutcome:
        try:
            settings = EmailSettings.from_settings(self.settings)
        except ValueError as exc:
            return DeliveryOutcome("permanent", "email_misconfigured", str(exc))
        if settings is None:
            return DeliveryOutcome(
                "permanent", "email_disabled", "no SMTP server is configured (CETATE_SMTP_HOST)"
            )
        config = item["config"]
        content = alert_email(
            alert, language=config.get("language", "ro"), rule_name=item.get("ruleName")
        )
        sender = EmailSender(settings, timeout=self.email_timeout)
        message = sender.compose(content, config["to"], headers={"X-Cetate-Alert": alert["id"]})
        return await sender.send(message)

    async def _webhook(self, alert: dict[str, Any], item: dict[str, Any]) -> DeliveryOutcome:
        config = item["config"]
        secret = config.get("secret") or await run_in_threadpool(self._secret)
        try:
            webhook = Webhook.of(config["url"], secret, config.get("headers") or {})
        except ValueError as exc:
            return DeliveryOutcome("permanent", "invalid_webhook", str(exc))
        payload = {**alert, "@context": list(ALERT_CONTEXT)}
        async with HttpSender() as http:
            return await WebhookSender(http).send(
                webhook, payload, delivery_id=str(item.get("deliveryId") or "") or None
            )

    async def _command(self, tenant: str, item: dict[str, Any]) -> DeliveryOutcome:
        if self.commands is None:
            return DeliveryOutcome("permanent", "commands_unavailable", "no command service")
        config = item["config"]
        try:
            await run_in_threadpool(
                self.commands.send,
                tenant,
                config["device"],
                config["name"],
                config.get("value"),
                source=f"rule:{item['rule']}",
            )
        except CetateError as exc:
            return DeliveryOutcome("permanent", "command_refused", exc.detail)
        except NotImplementedError:
            return DeliveryOutcome("permanent", "commands_unavailable", "commands not implemented")
        except Exception as exc:  # a store hiccup: try again later
            return DeliveryOutcome("retryable", "command_error", str(exc)[:300])
        return DeliveryOutcome.success(detail="command queued")

    async def _attempt(self, item: QueueItem) -> DeliveryOutcome:
        data = item.payload
        kind = data.get("action")
        if kind == "command":
            return await self._command(item.tenant, data)
        alert = await run_in_threadpool(self.alerts.get, item.tenant, str(data.get("alert")))
        if alert is None:
            return DeliveryOutcome("permanent", "alert_gone", f"alert {data.get('alert')} is gone")
        if kind == "email":
            return await self._email(alert, data)
        if kind == "webhook":
            return await self._webhook(alert, data)
        return DeliveryOutcome("permanent", "unknown_action", f"unknown action {kind!r}")

    async def _one(self, item: QueueItem) -> None:
        kind = str(item.payload.get("action"))
        try:
            outcome = await self._attempt(item)
        except Exception as exc:  # never let one action stop the others
            logger.exception("rule action %s failed", item.id)
            outcome = DeliveryOutcome("retryable", "error", str(exc)[:300])
        self.counters[f"{kind}.{outcome.kind}.{outcome.reason}"] += 1
        self.last_outcomes[f"{item.payload.get('alert')} {kind}"] = outcome
        if outcome.ok:
            await run_in_threadpool(self.store.complete, [item.id])
        elif outcome.retryable and item.attempts < MAX_ACTION_ATTEMPTS:
            due = self.clock() + retry_delay(outcome, item.attempts)
            error = f"{outcome.reason}: {outcome.detail}"[:500]
            await run_in_threadpool(self.store.retry, item.id, due_at=due, error=error)
        else:
            logger.warning(
                "rule action %s (%s) of alert %s given up: %s %s",
                item.id,
                kind,
                item.payload.get("alert"),
                outcome.reason,
                outcome.detail,
            )
            await run_in_threadpool(self.store.complete, [item.id])

    async def deliver(self, *, limit: int = 50) -> int:
        """One attempt for each due action (up to ``limit``); the number attempted."""
        items = await run_in_threadpool(
            self.store.claim, ACTIONS, worker=self.worker, limit=limit, lease=timedelta(minutes=2)
        )
        if items:
            await asyncio.gather(*(self._one(item) for item in items))
        return len(items)
