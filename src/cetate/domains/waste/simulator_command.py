"""``cetate waste simulate``: the fixed weekly schedule against the sensor-driven policy on the
same synthetic demand (:mod:`.simulator`); prints both policies' totals, writes
``simulation.json`` and ``simulation.png`` (daily series) to ``--out`` and, with ``--tenant``,
keeps the run as the tenant's latest (the console's KPI page shows it).

The command function is :func:`simulate`; :func:`register` adds it to a Typer app
(``cetate waste`` registers it in :mod:`.commands`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from cetate.domains.waste.simulator import SimulationResult


def simulate(
    bins: Annotated[int, typer.Option(min=1, max=20_000, help="Number of bins.")] = 1000,
    trucks: Annotated[int, typer.Option(min=1, max=200, help="Number of trucks.")] = 10,
    days: Annotated[int, typer.Option(min=1, max=366, help="Days simulated.")] = 28,
    seed: Annotated[int, typer.Option(help="Seed of the demand and the sensor noise.")] = 1,
    seconds: Annotated[
        float, typer.Option(min=0.05, help="Routing time budget per policy and working day (s).")
    ] = 2.0,
    zones: Annotated[
        int, typer.Option(help="Zones the sensor-driven policy serves in turn (1, 2, 3 or 6).")
    ] = 1,
    out: Annotated[
        Path, typer.Option(help="Directory for simulation.json and simulation.png.")
    ] = Path("waste-simulation"),
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", help="Keep the run for this tenant's KPIs.")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Default: $CETATE_DATABASE_URL.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per day.")] = False,
) -> None:
    """Compare the fixed weekly schedule with the sensor-driven policy on the same demand: km,
    hours, bins emptied, average fill at emptying and overflows (distances are estimates)."""
    from cetate.domains.waste.errors import WasteInputError
    from cetate.domains.waste.simulator import SimulationParams, plot, save_json
    from cetate.domains.waste.simulator import simulate as run

    try:
        params = SimulationParams(
            bins=bins, trucks=trucks, days=days, seed=seed, seconds_per_day=seconds, zones=zones
        )
    except WasteInputError as exc:
        raise typer.BadParameter(exc.detail) from None
    result = run(params, progress=None if quiet else typer.echo)
    typer.echo(result.summary())
    typer.echo(f"wrote {save_json(result, out / 'simulation.json')}")
    typer.echo(f"wrote {plot(result, out / 'simulation.png')}")
    if tenant is not None:
        _keep(result, tenant, database_url)
        typer.echo(f"kept as the latest run of tenant {tenant}")


def _keep(result: SimulationResult, tenant: str, database_url: str | None) -> None:
    from cetate.config import Settings
    from cetate.domains.waste.simulator import save_to_store
    from cetate.entities import EntityService
    from cetate.errors import CetateError
    from cetate.store.base import Tenant, open_store

    url = database_url or Settings().database_url
    try:
        store = open_store(url)
    except CetateError as exc:
        raise typer.BadParameter(exc.detail, param_hint="--database-url") from None
    try:
        store.migrate()
        if store.get_tenant(tenant) is None:
            store.put_tenant(Tenant(name=tenant, title=tenant))
        save_to_store(EntityService(store), tenant, result)
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to ``app``."""
    app.command("simulate")(simulate)
