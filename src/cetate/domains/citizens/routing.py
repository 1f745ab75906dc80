"""Which department a new report goes to.

Precedence (first match wins, departments in the order of the configuration):

1. **area**: a department with an ``area`` that contains the report's location and that
   handles its category (its ``categories`` list it, or it has none);
2. **category**: a department without an ``area`` whose ``categories`` list the category;
3. **catch-all**: a department without an ``area`` and without ``categories``;
4. none: the report stays unrouted until staff route it.

So an area department always beats the category's default department. A report without
coordinates (only an address) skips step 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cetate.domains.citizens.areas import contains
from cetate.domains.citizens.config import Department

RoutedBy = Literal["area", "category", "default", "staff"]


@dataclass(frozen=True, slots=True)
class Route:
    department: Department
    routed_by: RoutedBy


def route(
    departments: Sequence[Department],
    service_code: str,
    lon: float | None,
    lat: float | None,
) -> Route | None:
    """The department for a report of ``service_code`` at (``lon``, ``lat``), with the rule
    that chose it; None when no department takes it."""

    def handles(department: Department) -> bool:
        return not department.categories or service_code in department.categories

    if lon is not None and lat is not None:
        for department in departments:
            area = department.area
            if area is not None and handles(department) and contains(area, lon, lat):
                return Route(department, "area")
    for department in departments:
        if department.area is None and service_code in department.categories:
            return Route(department, "category")
    for department in departments:
        if department.area is None and not department.categories:
            return Route(department, "default")
    return None
