"""Polls: staff ask residents a question with a few options, open for a period, optionally
about one area of the city; residents vote once each.

One vote per verified person: the voter gives an e-mail address and gets a confirmation link
(queued on the domain's e-mail queue ``citizens.email`` and sent by its mailer over SMTP); the
vote counts when the link is opened. Records (per tenant):

=========================  ==========================  ========================================
kind                       key                         data
=========================  ==========================  ========================================
``citizen-poll``           poll id                     question, options, opensAt, closesAt,
                                                       area, createdBy, createdAt, and a random
                                                       ``salt`` (never shown)
``citizen-poll-pending``   SHA-256 of the link token   poll, voter, choice, email (deleted on
                                                       confirmation)
``citizen-poll-vote``      ``{poll}:{voter}``          poll, voter, choice, at
``citizen-poll-tally``     poll id                     counts per option (the live results)
=========================  ==========================  ========================================

``voter`` is the HMAC-SHA-256 of the lower-cased e-mail with the poll's salt: the same person
gets the same ``voter`` in one poll (a second vote is refused: :class:`AlreadyVoted`, also when
two links of the same person are confirmed — the vote record's key is unique), but it cannot
be linked across polls or back to an address without the salt. The votes can be audited
(staff export them as CSV: voter hash, choice, time); results show only counts, so nobody's
choice is public.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from cetate.errors import (
    AlreadyExists,
    BadRequestData,
    CetateError,
    RecordConflict,
    ResourceNotFound,
)
from cetate.ngsi.timestamps import format_datetime, parse_datetime
from cetate.store.base import ContextStore

POLL: Final = "citizen-poll"
PENDING: Final = "citizen-poll-pending"
VOTE: Final = "citizen-poll-vote"
TALLY: Final = "citizen-poll-tally"
MAX_QUESTION: Final = 500
MAX_OPTION: Final = 200
MAX_OPTIONS: Final = 20
_EMAIL: Final = re.compile(r"[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_POLL_ID: Final = re.compile(r"[0-9a-f]{12}")


class AlreadyVoted(CetateError):
    """This person has already voted in the poll."""

    status = 409
    problem_type = "urn:cetate:errors:AlreadyVoted"
    title = "Already voted"


class PollClosed(CetateError):
    """The poll is not open for votes (not yet, or no longer)."""

    status = 409
    problem_type = "urn:cetate:errors:PollClosed"
    title = "Poll not open"


def _text(body: Mapping[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadRequestData(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise BadRequestData(f"{name} must be a string")
    if len(value.strip()) > limit:
        raise BadRequestData(f"{name} has {len(value.strip())} characters; at most {limit}")
    return value.strip()


def _time(body: Mapping[str, Any], name: str) -> datetime:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequestData(f"{name} is required: an ISO 8601 date-time")
    try:
        return parse_datetime(value.strip())
    except CetateError:
        raise BadRequestData(f"{name} {value!r} is not an ISO 8601 date-time") from None


def create_poll(
    store: ContextStore, tenant: str, body: Mapping[str, Any], *, author: str, now: datetime
) -> dict[str, Any]:
    """A new poll from ``{"question", "options": [...], "opensAt", "closesAt", "area"}``
    (400 naming what is wrong)."""
    question = _text(body, "question", MAX_QUESTION, required=True)
    options = body.get("options")
    if not isinstance(options, list) or not 2 <= len(options) <= MAX_OPTIONS:
        raise BadRequestData(f"options must be a list of 2 to {MAX_OPTIONS} texts")
    cleaned: list[str] = []
    for index, option in enumerate(options):
        if not isinstance(option, str) or not option.strip():
            raise BadRequestData(f"options[{index}] must be a non-empty text")
        if len(option.strip()) > MAX_OPTION:
            raise BadRequestData(f"options[{index}] has more than {MAX_OPTION} characters")
        cleaned.append(option.strip())
    if len(set(cleaned)) != len(cleaned):
        raise BadRequestData("options must differ from each other")
    opens, closes = _time(body, "opensAt"), _time(body, "closesAt")
    if closes <= opens:
        raise BadRequestData("closesAt must be after opensAt")
    poll_id = secrets.token_hex(6)
    data = {
        "id": poll_id,
        "question": question,
        "options": cleaned,
        "opensAt": format_datetime(opens),
        "closesAt": format_datetime(closes),
        "area": _text(body, "area", MAX_OPTION, required=False),
        "createdBy": author,
        "createdAt": format_datetime(now),
        "salt": secrets.token_hex(16),
    }
    store.put_record(tenant, POLL, poll_id, data, expected_version=None)
    store.put_record(tenant, TALLY, poll_id, {"counts": [0] * len(cleaned)}, expected_version=None)
    return public_poll(data, now)


def _load(store: ContextStore, tenant: str, poll_id: str) -> dict[str, Any]:
    record = store.get_record(tenant, POLL, poll_id) if _POLL_ID.fullmatch(poll_id) else None
    if record is None:
        raise ResourceNotFound(f"poll {poll_id!r} does not exist")
    return record.data


def state(poll: Mapping[str, Any], now: datetime) -> str:
    """``upcoming``, ``open`` or ``closed``."""
    if now < parse_datetime(str(poll["opensAt"])):
        return "upcoming"
    return "open" if now < parse_datetime(str(poll["closesAt"])) else "closed"


def public_poll(poll: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A poll as anybody may see it (without its salt)."""
    shown = {k: v for k, v in poll.items() if k != "salt"}
    return {**shown, "state": state(poll, now)}


def get_poll(store: ContextStore, tenant: str, poll_id: str, now: datetime) -> dict[str, Any]:
    return public_poll(_load(store, tenant, poll_id), now)


def list_polls(store: ContextStore, tenant: str, now: datetime) -> list[dict[str, Any]]:
    """The tenant's polls, newest first."""
    polls = [public_poll(r.data, now) for r in store.list_records(tenant, POLL, limit=1000)]
    return sorted(polls, key=lambda p: str(p["createdAt"]), reverse=True)


def voter_hash(poll: Mapping[str, Any], email: str) -> str:
    return hmac.new(
        bytes.fromhex(str(poll["salt"])), email.strip().casefold().encode(), hashlib.sha256
    ).hexdigest()


def _choice(poll: Mapping[str, Any], choice: Any) -> int:
    options = poll["options"]
    text = str(choice).strip() if choice is not None else ""
    if not text.isdigit() or not 0 <= int(text) < len(options):
        raise BadRequestData(f"choice must be the number of an option, 0 to {len(options) - 1}")
    return int(text)


def request_vote(
    store: ContextStore,
    tenant: str,
    poll_id: str,
    *,
    email: str,
    choice: Any,
    language: str,
    confirm_base: str,
    now: datetime,
) -> None:
    """Check a vote and send its confirmation link to ``email`` (queued). 409
    :class:`AlreadyVoted` when this person's vote is already counted, :class:`PollClosed`
    outside the voting period, 400 for a bad address or choice."""
    poll = _load(store, tenant, poll_id)
    if state(poll, now) != "open":
        raise PollClosed(f"poll {poll_id} is {state(poll, now)}: votes are not accepted")
    address = email.strip()
    if not _EMAIL.fullmatch(address):
        raise BadRequestData("email must be an e-mail address (the confirmation link goes there)")
    index = _choice(poll, choice)
    voter = voter_hash(poll, address)
    if store.get_record(tenant, VOTE, f"{poll_id}:{voter}") is not None:
        raise AlreadyVoted("this e-mail address has already voted in this poll")
    token = secrets.token_urlsafe(24)
    key = hashlib.sha256(token.encode()).hexdigest()
    store.put_record(
        tenant,
        PENDING,
        key,
        {"poll": poll_id, "voter": voter, "choice": index, "email": address, "at": now.isoformat()},
        expected_version=None,
    )
    store.enqueue(
        tenant,
        "citizens.email",
        [
            {
                "kind": "poll-confirmation",
                "pending": key,
                "question": poll["question"],
                "option": poll["options"][index],
                "language": "en" if language == "en" else "ro",
                "link": f"{confirm_base.rstrip('/')}/{token}",
            }
        ],
        due_at=now,
    )


def pending_email(store: ContextStore, tenant: str, pending: str) -> str | None:
    """The address a confirmation link goes to (None once confirmed or erased)."""
    record = store.get_record(tenant, PENDING, pending)
    return None if record is None else str(record.data.get("email") or "") or None


def confirm_vote(
    store: ContextStore, tenant: str, poll_id: str, token: str, now: datetime
) -> dict[str, Any]:
    """Count the vote of a confirmation link; the poll. 404 for an unknown or used link, 409
    when the person already voted or the poll is closed."""
    poll = _load(store, tenant, poll_id)
    key = hashlib.sha256(token.encode()).hexdigest()
    record = store.get_record(tenant, PENDING, key)
    if record is None or record.data.get("poll") != poll_id:
        raise ResourceNotFound("this confirmation link is unknown or was already used")
    if state(poll, now) != "open":
        raise PollClosed(f"poll {poll_id} is {state(poll, now)}: votes are not accepted")
    voter, index = str(record.data["voter"]), int(record.data["choice"])
    try:
        store.put_record(
            tenant,
            VOTE,
            f"{poll_id}:{voter}",
            {"poll": poll_id, "voter": voter, "choice": index, "at": format_datetime(now)},
            expected_version=None,
        )
    except AlreadyExists:
        store.delete_record(tenant, PENDING, key)
        raise AlreadyVoted("this e-mail address has already voted in this poll") from None
    store.delete_record(tenant, PENDING, key)
    for _ in range(50):
        tally = store.get_record(tenant, TALLY, poll_id)
        counts = list(tally.data["counts"]) if tally is not None else [0] * len(poll["options"])
        counts[index] += 1
        try:
            store.put_record(
                tenant,
                TALLY,
                poll_id,
                {"counts": counts},
                expected_version=None if tally is None else tally.version,
            )
            break
        except (RecordConflict, AlreadyExists):
            continue
    return public_poll(poll, now)


def results(store: ContextStore, tenant: str, poll_id: str, now: datetime) -> dict[str, Any]:
    """Counts per option (live; nobody's choice)."""
    poll = _load(store, tenant, poll_id)
    tally = store.get_record(tenant, TALLY, poll_id)
    counts = list(tally.data["counts"]) if tally is not None else [0] * len(poll["options"])
    total = sum(counts)
    return {
        **public_poll(poll, now),
        "total": total,
        "results": [
            {
                "option": option,
                "votes": votes,
                "percent": round(100 * votes / total, 1) if total else 0.0,
            }
            for option, votes in zip(poll["options"], counts, strict=True)
        ],
    }


def votes_csv(store: ContextStore, tenant: str, poll_id: str) -> str:
    """The poll's counted votes for an audit: voter hash, option number, option, time."""
    poll = _load(store, tenant, poll_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["voter_hash", "choice", "option", "at"])
    offset = 0
    while True:
        batch = store.list_records(tenant, VOTE, limit=1000, offset=offset)
        for record in batch:
            if record.data.get("poll") == poll_id:
                index = int(record.data["choice"])
                writer.writerow(
                    [record.data["voter"], index, poll["options"][index], record.data["at"]]
                )
        if len(batch) < 1000:
            break
        offset += 1000
    return out.getvalue()
