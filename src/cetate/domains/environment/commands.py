"""``cetate environment …``: the domain's commands (found through the ``cetate.domains``
entry point by :func:`cetate.cli.add_domain_commands`)."""

from __future__ import annotations

from typing import Annotated

import typer

from cetate.domains.environment.simulator import CITIES, simulate_city

cli_app = typer.Typer(help="Environment: air and water quality.", no_args_is_help=True)


@cli_app.command("simulate")
def simulate(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Tenant to write to.")],
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Default: $CETATE_DATABASE_URL.")
    ] = None,
    city: Annotated[str, typer.Option(help=f"One of: {', '.join(sorted(CITIES))}.")] = "constanta",
    stations: Annotated[int, typer.Option(min=1, max=500)] = 6,
    hours: Annotated[int, typer.Option(min=1, max=24 * 366)] = 48,
    gap_rate: Annotated[float, typer.Option(min=0.0, max=0.9)] = 0.02,
    faulty: Annotated[int, typer.Option(min=0)] = 1,
    seed: Annotated[int, typer.Option()] = 1,
) -> None:
    """Write realistic hourly AirQualityObserved series (daily cycles, gaps, faulty sensors)
    for a city's stations, through the platform's write path."""
    from cetate.config import Settings
    from cetate.domains.environment.errors import EnvironmentInputError
    from cetate.entities import EntityService
    from cetate.errors import CetateError
    from cetate.store.base import Tenant, open_store

    if city not in CITIES:
        raise typer.BadParameter(f"unknown city {city!r}; known: {', '.join(sorted(CITIES))}")
    url = database_url or Settings().database_url
    try:
        store = open_store(url)
    except CetateError as exc:
        raise typer.BadParameter(exc.detail, param_hint="--database-url") from None
    try:
        store.migrate()
        if store.get_tenant(tenant) is None:
            store.put_tenant(Tenant(name=tenant, title=tenant))
        done = simulate_city(
            EntityService(store),
            tenant,
            city=city,
            stations=stations,
            hours=hours,
            gap_rate=gap_rate,
            faulty=faulty,
            seed=seed,
        )
    except EnvironmentInputError as exc:
        raise typer.BadParameter(exc.detail) from None
    finally:
        store.close()
    typer.echo(f"{len(done.stations)} stations, {done.readings} readings written to {tenant}")
