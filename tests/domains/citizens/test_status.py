"""The report workflow: allowed and refused moves, reopen, Open311 status."""

from __future__ import annotations

import pytest

from cetate.domains.citizens.status import (
    TRANSITIONS,
    WORKFLOW_STATUSES,
    IllegalTransition,
    InvalidStatus,
    next_status,
    open311_status,
)


def test_the_main_path() -> None:
    status = next_status("new", "acknowledged", None)
    status = next_status(status, "in_progress", None)
    status = next_status(status, "resolved", None)
    assert status == "resolved"
    assert next_status(status, "closed", None) == "closed"


def test_open311_status_is_derived() -> None:
    assert [open311_status(s) for s in WORKFLOW_STATUSES] == [
        "open",
        "open",
        "open",
        "closed",
        "closed",
        "closed",
    ]


def test_rejecting_needs_a_reason() -> None:
    with pytest.raises(InvalidStatus, match="reason"):
        next_status("new", "rejected", None)
    with pytest.raises(InvalidStatus, match="reason"):
        next_status("new", "rejected", "   ")
    assert next_status("new", "rejected", "duplicate of 12") == "rejected"


@pytest.mark.parametrize("finished", ["resolved", "closed", "rejected"])
def test_finished_reports_can_be_reopened(finished: str) -> None:
    assert next_status(finished, "reopen", None) == "acknowledged"  # type: ignore[arg-type]


def test_illegal_moves_are_refused() -> None:
    with pytest.raises(IllegalTransition, match="new cannot become resolved"):
        next_status("new", "resolved", None)
    with pytest.raises(IllegalTransition, match="reopened"):
        next_status("new", "reopen", None)
    with pytest.raises(IllegalTransition, match="closed cannot become in_progress"):
        next_status("closed", "in_progress", None)
    with pytest.raises(InvalidStatus, match="not one of"):
        next_status("new", "done", None)
    for status, targets in TRANSITIONS.items():
        assert status not in targets  # no move to the same status
