"""A synthetic city that compares the fixed weekly schedule with the sensor-driven policy on the
same demand (``cetate waste simulate``).

**City.** ``bins`` bins of 1 100 l (mixed waste) scattered around Cluj-Napoca's centre (denser in
the middle), one depot and one transfer station where trucks unload mid-shift, ``trucks``
trucks (80 000 l of loose waste after compaction, 12 t, shift 06:00–14:00), 60 s service per bin.

**Demand.** Each bin has its own mean fill rate (log-normal, median 8 % of the bin per day,
σ_log 0.5), a weekday profile (markets and weekends: Monday ×1.3, Sunday ×0.7, with a small
per-bin variation) and daily noise (gamma, CV 0.3). The increments of every bin and day are drawn
once from ``seed``; both policies face exactly the same increments. A bin whose level would
pass 100 % overflows that day (counted once per bin and day; the excess is lost). Collections
happen on working days (Monday–Saturday) in the morning, before the day's fill.

**Fixed schedule** (the reference): bins in six sectors (by bearing from the centre), one sector
per weekday. Without sensors an operator knows areas, not bins: a sector is visited 1, 2, 3 or 6
times a week — the fewest visits whose interval keeps the fill of its 90th-percentile bin
(× 1.25 for peaks) under 90 % — and a bin that would still overflow (its own mean × 1.25 above
110 % between visits, the bins residents complain about) gets the visits it needs. Every
scheduled bin is emptied whatever its actual level.

**Sensor-driven policy**: every working day, the fill model (:mod:`.fill_model`) is estimated per
bin from its noisy readings (two per day, σ 0.03, the last 28 days), :func:`.selection.select`
picks the required and optional bins for this morning with the next working morning as the next
opportunity, and the trucks are routed. With ``zones`` > 1 the city is served in zones in turn
(the next visit of the zone is the next opportunity) and fast-filling bins are considered every
day.

Both policies are routed by the same :class:`~.routing.solver.RoutingSolver` (PyVRP) with the
same time budget per day, on haversine × detour estimates. A warm-up of 28 days (fixed schedule,
not counted) gives the fill model its history; both policies start from the same levels."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from cetate.domains.waste import fill_model
from cetate.domains.waste.entities import CETATE_WASTE, Truck, WasteContainer, WasteSite
from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.plan import build_problem
from cetate.domains.waste.routing.pyvrp_solver import PyVRPSolver
from cetate.domains.waste.routing.solver import RoutingSolver
from cetate.domains.waste.selection import Choice, Selection, SelectionParams, select
from cetate.entities import EntityService
from cetate.ngsi.model import EntityDoc
from cetate.ngsi.query_ast import TypeName
from cetate.store.base import ContextStore, EntityQuery

CENTRE: Final = (46.7712, 23.5899)
"""Cluj-Napoca, Piața Unirii"""
WARMUP_DAYS: Final = 28
HISTORY_DAYS: Final = 28
CAPACITY_L: Final = 1100
WEEKDAY_PROFILE: Final = (1.3, 1.05, 1.0, 1.0, 1.05, 0.9, 0.7)
"""mean fill factor per weekday, Monday first"""
SECTOR_OF_WEEKDAY: Final = 6
"""working days per week (Monday–Saturday); Sunday has no collection"""
START: Final = datetime(2026, 3, 2, tzinfo=UTC)
"""a Monday: day 0 of the simulated period"""
POLICIES: Final = ("fixed", "sensor")
FAST_FILL: Final = 0.8
"""a bin whose expected fill over one zone cycle reaches this is considered every day"""


@dataclass(frozen=True, slots=True)
class SimulationParams:
    bins: int = 200
    trucks: int = 3
    days: int = 14
    seed: int = 1
    seconds_per_day: float = 2.0
    """routing time budget per policy and working day"""
    zones: int = 1
    """the sensor-driven policy serves the city in this many zones in turn, one per working
    day (1: the whole city every working day; 3: each zone twice a week)"""
    selection: SelectionParams = field(default_factory=lambda: SelectionParams(fill_value_m=300))
    """the selection's defaults with a smaller prize for a full bin (300 m instead of 2 000 m):
    with daily opportunities, larger prizes empty bins too early (tuned with this simulator)"""

    def __post_init__(self) -> None:
        if self.bins < 1:
            raise WasteInputError(f"bins must be ≥ 1 (got {self.bins})")
        if self.trucks < 1:
            raise WasteInputError(f"trucks must be ≥ 1 (got {self.trucks})")
        if not 1 <= self.days <= 366:
            raise WasteInputError(f"days must be within 1..366 (got {self.days})")
        if self.zones not in (1, 2, 3, 6):
            raise WasteInputError(f"zones must be 1, 2, 3 or 6 (got {self.zones})")
        if not self.seconds_per_day > 0:
            raise WasteInputError(f"seconds per day must be > 0 (got {self.seconds_per_day})")


@dataclass(slots=True)
class DayFigures:
    """One policy on one day."""

    day: str
    km: float = 0.0
    hours: float = 0.0
    emptied: int = 0
    fill_sum: float = 0.0
    """sum of the true levels at emptying"""
    overflows: int = 0
    feasible: bool = True


@dataclass(slots=True)
class PolicyResult:
    name: str
    daily: list[DayFigures] = field(default_factory=list)

    @property
    def km(self) -> float:
        return sum(d.km for d in self.daily)

    @property
    def hours(self) -> float:
        return sum(d.hours for d in self.daily)

    @property
    def emptied(self) -> int:
        return sum(d.emptied for d in self.daily)

    @property
    def overflows(self) -> int:
        return sum(d.overflows for d in self.daily)

    @property
    def average_fill(self) -> float:
        """Mean true level at emptying (0..1)."""
        return sum(d.fill_sum for d in self.daily) / self.emptied if self.emptied else 0.0

    @property
    def infeasible_days(self) -> int:
        return sum(1 for d in self.daily if not d.feasible)

    def totals(self) -> dict[str, float | int]:
        return {
            "km": round(self.km, 1),
            "hours": round(self.hours, 1),
            "bins_emptied": self.emptied,
            "average_fill": round(self.average_fill, 3),
            "overflows": self.overflows,
            "infeasible_days": self.infeasible_days,
        }


@dataclass(slots=True)
class SimulationResult:
    params: SimulationParams
    fixed: PolicyResult
    sensor: PolicyResult
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def km_saving(self) -> float:
        """Fraction of the fixed schedule's km saved by the sensor-driven policy."""
        return 1.0 - self.sensor.km / self.fixed.km if self.fixed.km > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        params = asdict(self.params)
        return {
            "created_at": self.created_at.isoformat(),
            "params": params,
            "estimate": True,
            "km_saving": round(self.km_saving, 4),
            "policies": {
                p.name: {"totals": p.totals(), "daily": [asdict(d) for d in p.daily]}
                for p in (self.fixed, self.sensor)
            },
        }

    def summary(self) -> str:
        """A plain-text table of both policies' totals."""
        lines = [
            f"{self.params.bins} bins, {self.params.trucks} trucks, {self.params.days} days, "
            f"seed {self.params.seed} (distances are haversine estimates)",
            f"{'policy':<8} {'km':>10} {'hours':>8} {'emptied':>8} {'avg fill':>9} "
            f"{'overflows':>9}",
        ]
        for policy in (self.fixed, self.sensor):
            lines.append(
                f"{policy.name:<8} {policy.km:>10.1f} {policy.hours:>8.1f} {policy.emptied:>8d} "
                f"{policy.average_fill:>9.1%} {policy.overflows:>9d}"
            )
        for policy in (self.fixed, self.sensor):
            if policy.infeasible_days:
                lines.append(
                    f"{policy.name}: {policy.infeasible_days} day(s) without a feasible plan"
                )
        lines.append(f"sensor-driven saves {self.km_saving:.1%} of the km")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class City:
    bins: list[WasteContainer]
    trucks: list[Truck]
    sites: list[WasteSite]
    rates: npt.NDArray[np.float64]
    """mean fill per day of each bin"""
    increments: npt.NDArray[np.float64]
    """(warm-up + days) × bins: fill added on each day"""
    fixed_days: list[frozenset[int]]
    """per bin, the weekdays (0 = Monday) of its fixed collections"""
    zone: npt.NDArray[np.int64]
    """per bin, its zone of the sensor-driven policy"""


def build_city(params: SimulationParams) -> City:
    """The bins, fleet, demand and fixed schedule of ``params`` (deterministic per seed)."""
    rng = np.random.default_rng(params.seed)
    n = params.bins
    radius_km = 1.0 + 4.0 * math.sqrt(n / 1000)
    dist = radius_km * np.sqrt(rng.uniform(0, 1, n)) ** 1.3
    bearing = rng.uniform(0, 2 * math.pi, n)
    lat = CENTRE[0] + dist * np.cos(bearing) / 111.2
    lon = CENTRE[1] + dist * np.sin(bearing) / (111.2 * math.cos(math.radians(CENTRE[0])))
    bins = [
        WasteContainer(
            f"urn:ngsi-ld:WasteContainer:sim-{i:05d}", float(lat[i]), float(lon[i]), CAPACITY_L
        )
        for i in range(n)
    ]
    sites = [
        WasteSite("urn:ngsi-ld:WasteSite:sim-depot", "depot", CENTRE[0] + 0.02, CENTRE[1] + 0.05),
        WasteSite(
            "urn:ngsi-ld:WasteSite:sim-station",
            "facility",
            CENTRE[0] - 0.03,
            CENTRE[1] + 0.07,
            service_s=900,
        ),
    ]
    trucks = [
        Truck(
            f"urn:ngsi-ld:Vehicle:sim-truck-{k + 1:02d}",
            volume_l=80_000,
            weight_kg=12_000,
            depot=sites[0].id,
            shift_start_s=6 * 3600,
            shift_end_s=14 * 3600,
            reload_at=(sites[1].id,),
        )
        for k in range(params.trucks)
    ]
    rates = np.exp(rng.normal(math.log(0.08), 0.5, n))
    profile = np.asarray(WEEKDAY_PROFILE)[None, :] * rng.uniform(0.9, 1.1, (n, 7))
    profile = profile / profile.mean(axis=1, keepdims=True)
    total = WARMUP_DAYS + params.days
    weekday = np.asarray(
        [(START + timedelta(days=d - WARMUP_DAYS)).weekday() for d in range(total)]
    )
    shape = 1 / 0.3**2
    noise = rng.gamma(shape, 1 / shape, (total, n))
    increments = rates[None, :] * profile[:, weekday].T * noise
    sector = ((bearing / (2 * math.pi)) * SECTOR_OF_WEEKDAY).astype(int) % SECTOR_OF_WEEKDAY
    fixed_days = []
    sector_visits = [
        _visits(float(np.quantile(rates[sector == s], 0.9)) if (sector == s).any() else 0.0, 0.9)
        for s in range(SECTOR_OF_WEEKDAY)
    ]
    for i in range(n):
        visits = max(sector_visits[int(sector[i])], _visits(float(rates[i]), 1.1))
        step = SECTOR_OF_WEEKDAY // visits
        fixed_days.append(
            frozenset((int(sector[i]) + j * step) % SECTOR_OF_WEEKDAY for j in range(visits))
        )
    zone = ((bearing / (2 * math.pi)) * params.zones).astype(np.int64) % params.zones
    return City(bins, trucks, sites, rates, increments, fixed_days, zone)


def _visits(rate: float, limit: float) -> int:
    """The fewest weekly visits (1, 2, 3 or 6) that keep ``rate`` × 1.25 (peaks) under
    ``limit`` between two visits."""
    return next((f for f in (1, 2, 3) if rate * 1.25 * (7 / f) <= limit), SECTOR_OF_WEEKDAY)


@dataclass(slots=True)
class _State:
    level: npt.NDArray[np.float64]
    readings: list[list[tuple[datetime, object]]]


def _moment(day: int, hour: int) -> datetime:
    return START + timedelta(days=day - WARMUP_DAYS, hours=hour)


def _advance(
    city: City,
    state: _State,
    day: int,
    rng: np.random.Generator,
) -> int:
    """The day's fill after the morning collection: readings at 16:00 and 24:00; overflows."""
    inc = city.increments[day]
    half = state.level + inc / 2
    state.level = state.level + inc
    over = state.level > 1.0
    state.level = np.minimum(state.level, 1.0)
    noisy_half = np.clip(np.minimum(half, 1.0) + rng.normal(0, 0.03, len(inc)), 0, 1)
    noisy_end = np.clip(state.level + rng.normal(0, 0.03, len(inc)), 0, 1)
    at_half, at_end = _moment(day, 16), _moment(day + 1, 0)
    cutoff = at_end - timedelta(days=HISTORY_DAYS)
    for i, history in enumerate(state.readings):
        history.append((at_half, float(noisy_half[i])))
        history.append((at_end, float(noisy_end[i])))
        while history and history[0][0] < cutoff:
            history.pop(0)
    return int(over.sum())


def _working(day: int) -> bool:
    return _moment(day, 0).weekday() < SECTOR_OF_WEEKDAY


def _zone_today(day: int, zones: int) -> int:
    return _moment(day, 0).weekday() % zones


def _next_visit(day: int, zones: int) -> int:
    """The next working day on which today's zone is served again."""
    zone, nxt = _zone_today(day, zones), day + 1
    while not (_working(nxt) and _zone_today(nxt, zones) == zone):
        nxt += 1
    return nxt


def _fixed_choice(city: City, day: int, level: npt.NDArray[np.float64]) -> Selection:
    weekday = _moment(day, 0).weekday()
    chosen = [
        Choice(b.id, True, 0, float(level[i]), 0.0, "fixed schedule")
        for i, b in enumerate(city.bins)
        if weekday in city.fixed_days[i]
    ]
    return Selection(chosen=chosen)


def _sensor_choice(city: City, state: _State, day: int, params: SimulationParams) -> Selection:
    """Today's zone, with the next visit of the zone as the next opportunity; plus, anywhere,
    the fast fillers (bins that cannot wait a whole zone cycle even when just emptied), with the
    next working day as their next opportunity."""
    collect_at = _moment(day, 8)
    zone = _zone_today(day, params.zones)
    next_zone = _moment(_next_visit(day, params.zones), 8)
    cycle_days = (next_zone - collect_at).total_seconds() / fill_model.DAY
    estimates = {}
    for i, b in enumerate(city.bins):
        found = fill_model.estimate(b.id, state.readings[i], collect_at)
        if found is not None:
            estimates[b.id] = found
    here = [b for i, b in enumerate(city.bins) if city.zone[i] == zone]
    fast = [
        b
        for i, b in enumerate(city.bins)
        if city.zone[i] != zone
        and (e := estimates.get(b.id)) is not None
        and e.rate * max(e.weekday) * cycle_days >= FAST_FILL
    ]
    chosen = select(here, estimates, collect_at, next_zone, params.selection)
    if fast:
        extra = select(
            fast, estimates, collect_at, _moment(_next_visit(day, 1), 8), params.selection
        )
        chosen.chosen.extend(extra.chosen)
    # a bin without an estimate (too little history) is emptied on its fixed day
    weekday = _moment(day, 0).weekday()
    index = {b.id: i for i, b in enumerate(city.bins)}
    for bin_id in chosen.attention:
        if weekday in city.fixed_days[index[bin_id]]:
            chosen.chosen.append(Choice(bin_id, True, 0, 1.0, 0.0, "no estimate: fixed day"))
    return chosen


def _collect(
    city: City,
    state: _State,
    day: int,
    selection: Selection,
    solver: RoutingSolver,
    params: SimulationParams,
) -> DayFigures:
    figures = DayFigures(day=_moment(day, 0).date().isoformat())
    if not selection.chosen:
        return figures
    index = {b.id: i for i, b in enumerate(city.bins)}
    # loads from the true levels (the trucks carry what is there)
    true_sel = Selection(
        chosen=[
            Choice(
                c.bin_id,
                c.required,
                c.prize,
                float(state.level[index[c.bin_id]]),
                c.p_overflow,
                c.reason,
            )
            for c in selection.chosen
        ]
    )
    problem = build_problem(city.bins, true_sel, city.trucks, city.sites)
    solution = solver.solve(problem, seconds=params.seconds_per_day, seed=params.seed + day)
    figures.feasible = solution.feasible
    figures.km = solution.distance_m / 1000
    figures.hours = sum(r.duration_s for r in solution.routes) / 3600
    for route in solution.routes:
        for bin_id in route.stop_ids:
            i = index[bin_id]
            figures.emptied += 1
            figures.fill_sum += float(state.level[i])
            state.level[i] = 0.0
    return figures


def simulate(
    params: SimulationParams,
    *,
    solver: RoutingSolver | None = None,
    progress: Callable[[str], None] | None = None,
) -> SimulationResult:
    """Run both policies on the same city and demand; deterministic per seed (up to the
    routing, whose time budget is wall time)."""
    city = build_city(params)
    solver = solver or PyVRPSolver()
    n = params.bins
    noise = np.random.default_rng(params.seed + 1_000_003)
    warm = _State(np.zeros(n), [[] for _ in range(n)])
    for day in range(WARMUP_DAYS):
        if _working(day):
            weekday = _moment(day, 0).weekday()
            for i in range(n):
                if weekday in city.fixed_days[i]:
                    warm.level[i] = 0.0
        _advance(city, warm, day, noise)
    results = {}
    for name in POLICIES:
        state = _State(warm.level.copy(), [list(r) for r in warm.readings])
        rng = np.random.default_rng(params.seed + 2_000_003)
        policy = PolicyResult(name)
        for day in range(WARMUP_DAYS, WARMUP_DAYS + params.days):
            if _working(day):
                selection = (
                    _fixed_choice(city, day, state.level)
                    if name == "fixed"
                    else _sensor_choice(city, state, day, params)
                )
                figures = _collect(city, state, day, selection, solver, params)
            else:
                figures = DayFigures(day=_moment(day, 0).date().isoformat())
            figures.overflows = _advance(city, state, day, rng)
            policy.daily.append(figures)
            if progress is not None:
                progress(
                    f"{name} {figures.day}: {figures.emptied} bins, {figures.km:.1f} km, "
                    f"{figures.overflows} overflows"
                )
        results[name] = policy
    return SimulationResult(params, results["fixed"], results["sensor"])


def plot(result: SimulationResult, path: Path) -> Path:
    """A PNG of the daily km, bins emptied and overflows of both policies."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = [d.day[5:] for d in result.fixed.daily]
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    series: Sequence[tuple[str, Callable[[DayFigures], float]]] = (
        ("km (estimate)", lambda d: d.km),
        ("bins emptied", lambda d: d.emptied),
        ("overflows", lambda d: d.overflows),
    )
    for ax, (label, get) in zip(axes, series, strict=True):
        for policy, style in ((result.fixed, "o-"), (result.sensor, "s-")):
            ax.plot(days, [get(d) for d in policy.daily], style, label=policy.name, markersize=3)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    axes[0].set_title(
        f"{result.params.bins} bins, {result.params.trucks} trucks: sensor-driven "
        f"{result.km_saving:.0%} fewer km"
    )
    axes[-1].tick_params(axis="x", rotation=60, labelsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def save_json(result: SimulationResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=1), encoding="utf-8")
    return path


RUN_TYPE: Final = CETATE_WASTE + "SimulationRun"
RESULT: Final = CETATE_WASTE + "simulationResult"
LATEST_RUN_ID: Final = "urn:ngsi-ld:SimulationRun:waste-latest"


def save_to_store(service: EntityService, tenant: str, result: SimulationResult) -> None:
    """Keep ``result`` as the tenant's latest simulation run (the KPI page reads it)."""
    doc: EntityDoc = {
        "id": LATEST_RUN_ID,
        "type": [RUN_TYPE],
        RESULT: [{"type": "Property", "value": result.to_json()}],
    }
    service.batch_upsert(tenant, [doc])


def latest_run(store: ContextStore, tenant: str) -> dict[str, Any] | None:
    """The tenant's latest stored simulation run (its JSON form), or None."""
    found = store.query_entities(
        tenant, EntityQuery(ids=(LATEST_RUN_ID,), types=TypeName(RUN_TYPE), limit=1)
    ).entities
    for entity in found:
        for instance in entity.get(RESULT, []):
            value = instance.get("value") if isinstance(instance, dict) else None
            if isinstance(value, dict):
                return value
    return None
