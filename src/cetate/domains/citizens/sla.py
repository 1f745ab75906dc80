"""Service level targets, computed when a report is read (nothing is stored): a report is
overdue to acknowledge when it is still ``new`` after ``acknowledge_hours``, and overdue to
resolve when it is still open (``new``, ``acknowledged``, ``in_progress``) after
``resolve_hours``, both counted from ``requested_datetime``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cetate.domains.citizens.config import Sla
from cetate.domains.citizens.status import FINISHED, WorkflowStatus
from cetate.ngsi.timestamps import format_datetime


def sla_state(
    sla: Sla | None, requested: datetime, status: WorkflowStatus, now: datetime
) -> dict[str, Any]:
    """``{"acknowledge_by", "resolve_by", "overdue", "overdue_for"}`` (``overdue_for`` lists
    ``acknowledge`` and/or ``resolve``); all empty when the category has no targets."""
    if sla is None:
        return {"acknowledge_by": None, "resolve_by": None, "overdue": False, "overdue_for": []}
    acknowledge_by = requested + timedelta(hours=sla.acknowledge_hours)
    resolve_by = requested + timedelta(hours=sla.resolve_hours)
    late: list[str] = []
    if status == "new" and now > acknowledge_by:
        late.append("acknowledge")
    if status not in FINISHED and now > resolve_by:
        late.append("resolve")
    return {
        "acknowledge_by": format_datetime(acknowledge_by),
        "resolve_by": format_datetime(resolve_by),
        "overdue": bool(late),
        "overdue_for": late,
    }
