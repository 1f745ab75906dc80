"""The staff's feedback dashboard: a tenant's reports counted by category, department (the
area they were routed to) and workflow status, the median time to acknowledge and to resolve,
and a heat map as a simple grid (reports per cell of ``cell`` degrees).

Computed on request by reading every report of the tenant (batches of 500) with its
``citizen-workflow`` record: fine for tens of thousands of reports, not a reporting database.
"""

from __future__ import annotations

import math
from collections import Counter
from statistics import median
from typing import Any, Final

from cetate.domains.citizens import entity as model
from cetate.domains.citizens import workflow
from cetate.domains.citizens.reports import ReportService
from cetate.errors import BadRequestData
from cetate.ngsi.query_ast import TypeName
from cetate.ngsi.timestamps import parse_datetime
from cetate.store.base import EntityQuery

BATCH: Final = 500
DEFAULT_CELL: Final = 0.005
"""grid cell size in degrees (about 550 m north–south)"""


def _hours(start: str, end: Any) -> float | None:
    if not end:
        return None
    delta = parse_datetime(str(end)) - parse_datetime(start)
    return max(delta.total_seconds() / 3600.0, 0.0)


def _median(values: list[float]) -> float | None:
    return round(median(values), 2) if values else None


def dashboard(reports: ReportService, tenant: str, *, cell: float = DEFAULT_CELL) -> dict[str, Any]:
    """The figures of the tenant's reports (see the module docstring)."""
    if not math.isfinite(cell) or not 0.0005 <= cell <= 1.0:
        raise BadRequestData("cell must be from 0.0005 to 1 degree")
    by_category: Counter[str] = Counter()
    by_department: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    grid: Counter[tuple[int, int]] = Counter()
    to_ack: list[float] = []
    to_resolve: list[float] = []
    offset = 0
    while True:
        result = reports.store.query_entities(
            tenant,
            EntityQuery(types=TypeName(model.ENTITY_TYPE_IRI), limit=BATCH, offset=offset),
        )
        for found in result.entities:
            kv = reports.key_values(found)
            view = model.to_open311(kv)
            data = workflow.load(reports.store, tenant, str(view["service_request_id"]))
            status = model.workflow_status(kv)
            by_category[str(view.get("service_code"))] += 1
            by_department[str(data.get("department") or "")] += 1
            by_status[status] += 1
            requested = str(view["requested_datetime"])
            ack = _hours(requested, data.get("acknowledgedAt"))
            if ack is not None:
                to_ack.append(ack)
            done = _hours(requested, data.get("resolvedAt"))
            if done is not None and status in ("resolved", "closed"):
                to_resolve.append(done)
            lat, long = view.get("lat"), view.get("long")
            if isinstance(lat, int | float) and isinstance(long, int | float):
                grid[(math.floor(lat / cell), math.floor(long / cell))] += 1
        if len(result.entities) < BATCH:
            break
        offset += BATCH
    return {
        "total": sum(by_status.values()),
        "byCategory": dict(by_category.most_common()),
        "byDepartment": dict(by_department.most_common()),
        "byStatus": dict(by_status.most_common()),
        "medianHoursToAcknowledge": _median(to_ack),
        "medianHoursToResolve": _median(to_resolve),
        "acknowledgedCount": len(to_ack),
        "resolvedCount": len(to_resolve),
        "grid": {
            "cell": cell,
            "cells": [
                {
                    "south": round(row * cell, 6),
                    "west": round(col * cell, 6),
                    "north": round((row + 1) * cell, 6),
                    "east": round((col + 1) * cell, 6),
                    "count": count,
                }
                for (row, col), count in sorted(grid.items())
            ],
        },
    }
