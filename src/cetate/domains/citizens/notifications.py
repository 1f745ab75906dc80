"""E-mails to reporters at each public status change, through a durable store queue.

A status change (:meth:`ReportService.change_status`, a merge) calls
:func:`enqueue_status_emails`: one queue item (queue ``citizens.email``) per reporter who gave
an e-mail address — the report's own reporter and the reporters of the duplicates merged into
it (its ``followers``). Each reporter gets a separate message, so no reporter ever sees
another's address. :class:`ReporterMailer` sends them (the scheduler job ``citizens.email``,
every 5 s, registered by the domain's router at startup):

* the message is in the language the reporter used (``ro`` / ``en``), says the report's
  number, category, new status and public note, and links to the tracking page;
* the address is read when sending, so an erased reporter is never written to;
* a retryable failure (server down, 4xx) is tried again later (30 s, doubling, at most 1 h
  apart, :data:`MAX_ATTEMPTS` attempts); a permanent one (5xx, refused login) is dropped and
  logged. With e-mail disabled (``CETATE_SMTP_HOST`` empty) items are dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from cetate.config import Settings
from cetate.domains.citizens import workflow
from cetate.domains.citizens.config import Texts, pick
from cetate.domains.citizens.polls import pending_email
from cetate.domains.citizens.reporters import load_reporter
from cetate.ngsi.timestamps import utc_now
from cetate.reactions.delivery.email import (
    EmailContent,
    EmailSender,
    EmailSettings,
    render_notice,
)
from cetate.reactions.scheduler import process_holder_id
from cetate.store.base import ContextStore, QueueItem

log = logging.getLogger(__name__)

QUEUE: Final = "citizens.email"
MAX_ATTEMPTS: Final = 8
LEASE: Final = timedelta(minutes=2)

Language = Literal["ro", "en"]

STATUS_NAMES: Final[Mapping[Language, Mapping[str, str]]] = {
    "ro": {
        "new": "nouă",
        "acknowledged": "preluată",
        "in_progress": "în lucru",
        "resolved": "rezolvată",
        "closed": "închisă",
        "rejected": "respinsă",
    },
    "en": {
        "new": "new",
        "acknowledged": "acknowledged",
        "in_progress": "in progress",
        "resolved": "resolved",
        "closed": "closed",
        "rejected": "rejected",
    },
}
_LABELS: Final[Mapping[Language, Mapping[str, str]]] = {
    "ro": {
        "subject": "Sesizarea nr. {id}: {status}",
        "title": "Sesizarea dumneavoastră este {status}",
        "intro": "Starea sesizării nr. {id} s-a schimbat.",
        "category": "Categorie",
        "status": "Stare",
        "note": "Mesaj de la primărie",
        "number": "Număr sesizare",
        "merged": "Sesizarea dumneavoastră a fost unită cu sesizarea nr. {id}, pe care o "
        "urmăriți de acum.",
        "link": "Urmăriți sesizarea",
    },
    "en": {
        "subject": "Report no. {id}: {status}",
        "title": "Your report is {status}",
        "intro": "The status of report no. {id} has changed.",
        "category": "Category",
        "status": "Status",
        "note": "Message from the city",
        "number": "Report number",
        "merged": "Your report was merged into report no. {id}, which you now follow.",
        "link": "Track the report",
    },
}


def _language(text: Any) -> Language:
    return "en" if text == "en" else "ro"


def status_email(
    *,
    language: Language,
    request_id: str,
    service_name: Texts,
    status: str,
    note: str | None,
    link: str | None,
    merged_from: str | None = None,
) -> EmailContent:
    """The message about report ``request_id`` reaching ``status``, in ``language``;
    ``merged_from`` is the reporter's own report when it was merged into this one."""
    labels = _LABELS[language]
    status_name = STATUS_NAMES[language].get(status, status)
    intro = labels["intro"].format(id=request_id)
    if merged_from is not None and merged_from != request_id:
        intro = labels["merged"].format(id=request_id) + " " + intro
    rows = [
        (labels["number"], request_id),
        (labels["category"], pick(service_name, language)),
        (labels["status"], status_name),
    ]
    if note:
        rows.append((labels["note"], note))
    return render_notice(
        language=language,
        subject=labels["subject"].format(id=request_id, status=status_name),
        title=labels["title"].format(status=status_name),
        intro=intro,
        rows=rows,
        link=link,
        link_label=labels["link"],
    )


_POLL_LABELS: Final[Mapping[Language, Mapping[str, str]]] = {
    "ro": {
        "subject": "Confirmați votul",
        "title": "Confirmați votul dumneavoastră",
        "intro": "Ați votat într-un sondaj al primăriei. Votul se numără doar după ce îl "
        "confirmați; dacă nu ați votat dumneavoastră, ignorați acest mesaj.",
        "question": "Întrebare",
        "option": "Răspunsul ales",
        "link": "Confirm votul",
    },
    "en": {
        "subject": "Confirm your vote",
        "title": "Confirm your vote",
        "intro": "You voted in a poll of the city. The vote counts only once you confirm it; "
        "if you did not vote, ignore this message.",
        "question": "Question",
        "option": "Your choice",
        "link": "Confirm my vote",
    },
}


def poll_email(*, language: Language, question: str, option: str, link: str) -> EmailContent:
    """The message with a poll vote's confirmation link."""
    labels = _POLL_LABELS[language]
    return render_notice(
        language=language,
        subject=labels["subject"],
        title=labels["title"],
        intro=labels["intro"],
        rows=[(labels["question"], question), (labels["option"], option)],
        link=link,
        link_label=labels["link"],
    )


def enqueue_status_emails(
    store: ContextStore,
    tenant: str,
    request_id: str,
    *,
    status: str,
    note: str | None,
    service_name: Texts,
    link: str | None,
    now: datetime | None = None,
) -> int:
    """Queue one message per reporter (own and followers) who gave an e-mail; how many."""
    data = workflow.load(store, tenant, request_id)
    recipients = [request_id, *[str(f) for f in data.get("followers") or []]]
    payloads = [
        {
            "requestId": request_id,
            "recipient": recipient,
            "status": status,
            "note": note,
            "serviceName": dict(service_name),
            "link": link,
        }
        for recipient in dict.fromkeys(recipients)
        if load_reporter(store, tenant, recipient).get("email")
    ]
    if payloads:
        store.enqueue(tenant, QUEUE, payloads, due_at=now)
    return len(payloads)


def backoff(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


class ReporterMailer:
    """Sends the queued reporter e-mails (see the module docstring)."""

    def __init__(
        self,
        store: ContextStore,
        settings: Settings,
        *,
        batch: int = 20,
        timeout: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.email = EmailSettings.from_settings(settings)
        self.sender = None if self.email is None else EmailSender(self.email, timeout=timeout)
        self.batch = batch
        self.clock = clock
        self.holder = process_holder_id("citizens-mailer")

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim and handle the due items once; how many were handled."""
        moment = now or self.clock()
        items = await asyncio.to_thread(
            self.store.claim, QUEUE, worker=self.holder, limit=self.batch, lease=LEASE, now=moment
        )
        for item in items:
            await self._handle(item, moment)
        return len(items)

    async def _handle(self, item: QueueItem, now: datetime) -> None:
        payload = item.payload
        if payload.get("kind") == "poll-confirmation":
            await self._handle_poll(item, now)
            return
        recipient = str(payload.get("recipient", ""))
        reporter = await asyncio.to_thread(load_reporter, self.store, item.tenant, recipient)
        email = reporter.get("email")
        if self.sender is None or not email:
            why = "e-mail is disabled" if self.sender is None else "the reporter has no e-mail"
            log.info("citizens: reporter e-mail for %s dropped: %s", recipient, why)
            await asyncio.to_thread(self.store.complete, [item.id])
            return
        status = str(payload.get("status"))
        language = _language(reporter.get("language"))
        content = status_email(
            language=language,
            request_id=str(payload.get("requestId")),
            service_name=payload.get("serviceName") or {},
            status=status,
            note=payload.get("note"),
            link=payload.get("link"),
            merged_from=recipient,
        )
        message = self.sender.compose(
            content, [email], headers={"X-Cetate-Report": str(payload.get("requestId"))}
        )
        await self._send(item, message, now)

    async def _handle_poll(self, item: QueueItem, now: datetime) -> None:
        """A poll vote's confirmation link (the address is read from the pending vote)."""
        payload = item.payload
        email = await asyncio.to_thread(
            pending_email, self.store, item.tenant, str(payload.get("pending"))
        )
        if self.sender is None or not email:
            log.info("citizens: poll confirmation dropped (e-mail disabled or vote gone)")
            await asyncio.to_thread(self.store.complete, [item.id])
            return
        content = poll_email(
            language=_language(payload.get("language")),
            question=str(payload.get("question")),
            option=str(payload.get("option")),
            link=str(payload.get("link")),
        )
        await self._send(item, self.sender.compose(content, [email]), now)

    async def _send(self, item: QueueItem, message: Any, now: datetime) -> None:
        assert self.sender is not None
        payload = item.payload
        outcome = await self.sender.send(message)
        if outcome.kind == "ok":
            await asyncio.to_thread(self.store.complete, [item.id])
        elif outcome.kind == "retryable" and item.attempts < MAX_ATTEMPTS:
            await asyncio.to_thread(
                self.store.retry,
                item.id,
                due_at=now + backoff(item.attempts),
                error=f"{outcome.reason}: {outcome.detail}",
            )
        else:
            log.warning(
                "citizens: e-mail about %s to %s given up after %d attempt(s): %s %s",
                payload.get("requestId") or "a poll vote",
                payload.get("recipient") or "a voter",
                item.attempts,
                outcome.reason,
                outcome.detail,
            )
            await asyncio.to_thread(self.store.complete, [item.id])
