"""``cetate waste …``: the domain's commands (found through the ``cetate.domains`` entry point
by :func:`cetate.cli.add_domain_commands`).

``cetate waste plan --tenant T --date tomorrow`` loads the tenant's bins, trucks and sites,
estimates each bin's fill from its history, selects the bins, routes the trucks (a progress
line while the solver runs; Ctrl-C stops it early with the best plan so far), writes route
sheets, GeoJSON, GPX and CSV to ``--out``, stores the routes as entities and prints a summary.
An infeasible plan prints its reasons and exits with code 1; bad input exits with code 2.
``cetate waste simulate`` is :func:`.simulator_command.simulate`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from cetate.domains.waste import entities, fill_model, plan, selection
from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.network.graph import RoadGraph, read_osm
from cetate.domains.waste.network.matrix import DEFAULT_MAX_SNAP_M
from cetate.domains.waste.outputs.entities import save_routes
from cetate.domains.waste.outputs.files import write_outputs
from cetate.domains.waste.outputs.model import (
    ADDRESS,
    PlannedRoute,
    address_text,
    planned_routes,
)
from cetate.domains.waste.routing.problem import RoutingProblem
from cetate.domains.waste.routing.pyvrp_solver import PyVRPSolver
from cetate.domains.waste.routing.solver import RoutingSolution, StopSignal
from cetate.domains.waste.simulator_command import simulate
from cetate.entities import EntityService
from cetate.ngsi.query_ast import TypeName
from cetate.store.base import ContextStore, EntityQuery

cli_app = typer.Typer(help="Waste collection: bins, plans, routes.", no_args_is_help=True)
cli_app.command("simulate")(simulate)

HISTORY_DAYS = 42
"""fill history read per bin"""
PAGE = 500


def bin_addresses(store: ContextStore, tenant: str) -> dict[str, str]:
    """bin id → its address as one line, for the bins that have one."""
    out: dict[str, str] = {}
    offset = 0
    while True:
        query = EntityQuery(types=TypeName(entities.CONTAINER_TYPE), limit=PAGE, offset=offset)
        page = store.query_entities(tenant, query).entities
        for entity in page:
            for instance in entity.get(ADDRESS) or []:
                text = address_text(instance.get("value")) if isinstance(instance, dict) else None
                if text:
                    out[str(entity["id"])] = text
                    break
        if len(page) < PAGE:
            return out
        offset += PAGE


@dataclass(slots=True)
class DayPlan:
    day: date
    collect_at: datetime
    bins: list[entities.WasteContainer]
    invalid: list[entities.InvalidEntity]
    chosen: selection.Selection
    solution: RoutingSolution
    routes: list[PlannedRoute] = field(default_factory=list)


def parse_day(text: str, today: date) -> date:
    """``tomorrow``, ``today`` or ``YYYY-MM-DD``."""
    if text == "tomorrow":
        return today + timedelta(days=1)
    if text == "today":
        return today
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise WasteInputError(f"--date {text!r}: use tomorrow, today or YYYY-MM-DD") from None


def plan_day(
    store: ContextStore,
    tenant: str,
    day: date,
    *,
    zone: ZoneInfo,
    seconds: float,
    seed: int = 1,
    network: RoadGraph | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    now: datetime | None = None,
    stop: StopSignal | None = None,
    progress: bool = False,
) -> DayPlan:
    """Selection and routing of ``day`` for a tenant, from its stored entities."""
    bins, invalid = entities.load_containers(store, tenant)
    trucks = entities.load_trucks(store, tenant)
    sites = entities.load_sites(store, tenant)
    if not bins:
        raise WasteInputError(f"tenant {tenant}: no valid WasteContainer to plan")
    if not trucks:
        raise WasteInputError(f"tenant {tenant}: no truck (Vehicle) to plan with")
    first_shift = min(t.shift_start_s for t in trucks)
    collect_at = datetime.combine(day, datetime.min.time(), zone) + timedelta(seconds=first_shift)
    moment = now or datetime.now(UTC)
    histories = fill_model.fill_histories(
        store, tenant, [b.id for b in bins], moment - timedelta(days=HISTORY_DAYS), moment
    )
    estimates = {
        bin_id: found
        for bin_id, readings in histories.items()
        if (found := fill_model.estimate(bin_id, readings, moment)) is not None
    }
    chosen = selection.select(bins, estimates, collect_at, collect_at + timedelta(days=1))
    problem = plan.build_problem(
        bins, chosen, trucks, sites, network=network, max_snap_m=max_snap_m
    )
    solution = _solve(problem, seconds, seed, stop or StopSignal(), progress)
    result = DayPlan(day, collect_at, bins, invalid, chosen, solution)
    if solution.feasible:
        result.routes = planned_routes(
            solution,
            day,
            bins,
            sites,
            chosen,
            bin_addresses(store, tenant),
            network=network,
            max_snap_m=max_snap_m,
        )
    return result


def _solve(
    problem: RoutingProblem, seconds: float, seed: int, stop: StopSignal, progress: bool
) -> RoutingSolution:
    """Solve in a worker thread; the caller prints a progress line until it is done."""
    box: list[RoutingSolution] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            box.append(PyVRPSolver().solve(problem, seconds=seconds, seed=seed, stop=stop))
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=work, name="waste-plan-solver", daemon=True)
    started = time.monotonic()
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.5)
            if progress:
                typer.echo(
                    f"\rsolving {len(problem.stops)} bins, {len(problem.trucks)} trucks: "
                    f"{time.monotonic() - started:4.0f} / {seconds:.0f} s",
                    nl=False,
                    err=True,
                )
    except KeyboardInterrupt:
        stop.stop()
        worker.join()
    if progress:
        typer.echo("", err=True)
    if errors:
        raise errors[0]
    return box[0]


def summary(result: DayPlan) -> list[str]:
    """The lines printed after a plan."""
    sol = result.solution
    label = "estimate (haversine × detour, no road network)" if sol.estimate else "road network"
    chosen_ids = {b for r in sol.routes for b in r.stop_ids}
    lines = [
        f"plan for {result.day.isoformat()} (collection from {result.collect_at:%H:%M %Z})",
        f"bins: {len(result.bins)} valid, {len(result.invalid)} invalid, "
        f"{len(result.chosen.required)} required, {len(result.chosen.optional)} optional, "
        f"{len(chosen_ids)} chosen, {len(result.chosen.attention)} need attention",
        f"trucks used: {len(sol.routes)}; km: {sol.distance_m / 1000:.1f}; hours: "
        f"{sum(r.duration_s for r in sol.routes) / 3600:.1f}; distances: {label}",
        f"solver: {sol.runtime_s:.1f} s, {sol.iterations} iterations"
        + (" (stopped early)" if sol.stopped_early else ""),
    ]
    lines += [f"invalid bin {i.id}: {i.error}" for i in result.invalid]
    lines += [f"attention {k}: {v}" for k, v in sorted(result.chosen.attention.items())]
    if not sol.feasible:
        lines.append("INFEASIBLE:")
        lines += [f"  {i.reason}: {i.detail}" for i in sol.infeasibilities] or [
            "  no feasible plan"
        ]
    return lines


@cli_app.command("plan")
def plan_command(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Tenant to plan for.")],
    day: Annotated[str, typer.Option("--date", help="tomorrow, today or YYYY-MM-DD.")] = "tomorrow",
    seconds: Annotated[float, typer.Option(min=0.1, max=3600, help="Solver budget.")] = 30.0,
    out: Annotated[Path, typer.Option(help="Directory for sheets and tracks.")] = Path("plan"),
    network: Annotated[
        Path | None, typer.Option(help="OpenStreetMap extract (.osm.pbf); default: estimate.")
    ] = None,
    max_snap: Annotated[
        float, typer.Option(min=1.0, help="Bins farther than this (m) from a road: error.")
    ] = DEFAULT_MAX_SNAP_M,
    timezone: Annotated[str, typer.Option(help="The city's time zone.")] = "Europe/Bucharest",
    seed: Annotated[int, typer.Option()] = 1,
    save: Annotated[bool, typer.Option(help="Store the routes as entities.")] = True,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Default: $CETATE_DATABASE_URL.")
    ] = None,
) -> None:
    """Choose tomorrow's bins and route the trucks; write route sheets, GeoJSON, GPX, CSV."""
    from cetate.config import Settings
    from cetate.errors import CetateError
    from cetate.store.base import open_store

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {timezone!r}") from None
    url = database_url or Settings().database_url
    try:
        store = open_store(url)
    except CetateError as exc:
        raise typer.BadParameter(exc.detail, param_hint="--database-url") from None
    try:
        target = parse_day(day, datetime.now(zone).date())
        graph = read_osm(network) if network is not None else None
        result = plan_day(
            store,
            tenant,
            target,
            zone=zone,
            seconds=seconds,
            seed=seed,
            network=graph,
            max_snap_m=max_snap,
            progress=True,
        )
        if result.solution.feasible:
            write_outputs(out, result.routes)
            if save:
                saved = save_routes(EntityService(store), tenant, result.routes)
                if saved.errors:
                    raise WasteInputError(f"routes not stored: {saved.errors[0]}")
    except WasteInputError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    finally:
        store.close()
    for line in summary(result):
        typer.echo(line)
    if not result.solution.feasible:
        raise typer.Exit(1)
    typer.echo(f"{len(result.routes)} route(s) written to {out}")
