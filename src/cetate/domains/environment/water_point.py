"""What the water-quality page shows of a monitoring point (a ``WaterQualityObserved`` entity).

**Latest values vs the threshold set.** Each attribute of the set is read from the entity
(its current value and ``observedAt``) and judged as the rules of :mod:`.water` judge it: a
value above a maximum or below a minimum is a breach; a value on a limit is not. The set is
``?set=`` on the page, else the entity's Property ``thresholdSet``, else
:data:`DEFAULT_SET`.

**Breaches** listed on the page are the Alerts of the rules engine (``app.state.alerts``)
whose ``alertSource`` is the point and which are not resolved (open or acknowledged) — the
page shows what the engine decided, it does not decide again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cetate.domains.environment import stored
from cetate.domains.environment.water import WaterThreshold
from cetate.reactions.rules.service import AlertService

DEFAULT_SET: Final = "ro-161-2006-class-ii"
POINT_TYPE: Final = "WaterQualityObserved"
OPEN_STATUSES: Final = ("open", "acknowledged")


@dataclass(frozen=True, slots=True)
class Judged:
    threshold: WaterThreshold
    value: float | None
    observed_at: datetime | None
    breach: bool


def judge(entity: dict[str, Any], thresholds: tuple[WaterThreshold, ...]) -> list[Judged]:
    found: list[Judged] = []
    for item in thresholds:
        raw = stored.value(entity, item.attribute)
        number = (
            float(raw)
            if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)
            else None
        )
        breach = number is not None and (
            (item.maximum is not None and number > item.maximum)
            or (item.minimum is not None and number < item.minimum)
        )
        found.append(Judged(item, number, stored.observed_at(entity, item.attribute), breach))
    return found


def chosen_set(entity: dict[str, Any], asked: str) -> str:
    if asked:
        return asked
    given = stored.value(entity, "thresholdSet")
    return given if isinstance(given, str) and given else DEFAULT_SET


@dataclass(frozen=True, slots=True)
class Breach:
    id: str
    status: str
    rule: str
    """the rule's id (its last parts name the set, attribute and bound)"""
    measured: Any
    threshold: Any
    issued: str


def _get(alert: dict[str, Any], name: str) -> Any:
    item = alert.get(name)
    if isinstance(item, dict):
        return item.get("value", item.get("object"))
    return item


def breaches(alerts: AlertService, tenant: str, point_id: str) -> list[Breach]:
    """The point's alerts that are not resolved, newest first."""
    found: list[Breach] = []
    for alert in alerts.list(tenant, limit=10_000):
        status = _get(alert, "status")
        if _get(alert, "alertSource") != point_id or status not in OPEN_STATUSES:
            continue
        rule = _get(alert, "rule")
        issued = _get(alert, "dateIssued")
        if isinstance(issued, dict):
            issued = issued.get("@value")
        found.append(
            Breach(
                str(alert["id"]),
                str(status),
                str(rule or ""),
                _get(alert, "measuredValue"),
                _get(alert, "thresholdValue"),
                str(issued or "")[:16].replace("T", " "),
            )
        )
    return found
