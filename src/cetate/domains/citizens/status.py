"""The workflow of a report and the Open311 status derived from it.

::

    new ──► acknowledged ──► in_progress ──► resolved
     │          │    │            │      ├─► closed
     │          │    └────────────┼──────┴─► rejected (a reason is required)
     └──────────┴─────────────────┘
    resolved | closed | rejected ──reopen──► acknowledged

``new``, ``acknowledged`` and ``in_progress`` are Open311 ``open``; ``resolved``, ``closed``
and ``rejected`` are ``closed``. A move not in :data:`TRANSITIONS` is refused
(:class:`IllegalTransition`), as is a rejection without a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

from cetate.errors import CetateError

WorkflowStatus = Literal["new", "acknowledged", "in_progress", "resolved", "closed", "rejected"]
WORKFLOW_STATUSES: Final[tuple[WorkflowStatus, ...]] = get_args(WorkflowStatus)
Open311Status = Literal["open", "closed"]

REOPEN: Final = "reopen"
"""The action that brings a finished report back: it becomes ``acknowledged``."""

TRANSITIONS: Final[Mapping[WorkflowStatus, frozenset[WorkflowStatus]]] = {
    "new": frozenset({"acknowledged", "in_progress", "rejected"}),
    "acknowledged": frozenset({"in_progress", "resolved", "closed", "rejected"}),
    "in_progress": frozenset({"resolved", "closed", "rejected"}),
    "resolved": frozenset({"closed", "acknowledged"}),
    "closed": frozenset({"acknowledged"}),
    "rejected": frozenset({"acknowledged"}),
}
FINISHED: Final[frozenset[WorkflowStatus]] = frozenset({"resolved", "closed", "rejected"})


class IllegalTransition(CetateError):
    """The report cannot move to that status from where it is."""

    status = 409
    problem_type = "urn:cetate:errors:IllegalTransition"
    title = "Illegal status transition"


class InvalidStatus(CetateError):
    status = 400
    problem_type = "urn:cetate:errors:InvalidStatus"
    title = "Invalid status"


def open311_status(status: WorkflowStatus) -> Open311Status:
    """``closed`` for finished reports, else ``open``."""
    return "closed" if status in FINISHED else "open"


def parse_workflow_status(text: str) -> WorkflowStatus:
    for status in WORKFLOW_STATUSES:
        if text == status:
            return status
    raise InvalidStatus(
        f"status {text!r} is not one of {', '.join(WORKFLOW_STATUSES)} (or {REOPEN!r})"
    )


def next_status(current: WorkflowStatus, requested: str, reason: str | None) -> WorkflowStatus:
    """The status a report in ``current`` gets when staff ask for ``requested`` (a status, or
    ``reopen``). Raises :class:`InvalidStatus` for an unknown status or a rejection without a
    reason, :class:`IllegalTransition` for a move the workflow does not allow."""
    if requested == REOPEN:
        if current not in FINISHED:
            raise IllegalTransition(
                f"only a resolved, closed or rejected report can be reopened; this one is "
                f"{current}",
                current=current,
            )
        return "acknowledged"
    target = parse_workflow_status(requested)
    if target == "rejected" and not (reason and reason.strip()):
        raise InvalidStatus("rejecting a report needs a reason (the 'reason' member)")
    if target not in TRANSITIONS[current]:
        allowed = sorted(TRANSITIONS[current])
        reopen = f" or be reopened ({REOPEN!r})" if current in FINISHED else ""
        raise IllegalTransition(
            f"a report that is {current} cannot become {target}; it can become "
            f"{', '.join(allowed)}{reopen}",
            current=current,
            requested=target,
        )
    return target
