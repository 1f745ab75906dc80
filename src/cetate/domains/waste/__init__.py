"""Waste collection (issue 5, Cluj-Napoca): sensor-driven bin selection and truck routing.

The core, pure Python on the context store:

* :mod:`.entities` — typed views of WasteContainer (FIWARE WasteManagement), Vehicle (trucks)
  and WasteSite (depots, landfills / transfer stations) and their NGSI-LD stored form;
* :mod:`.fill_model` — fill rate per bin from its ``fillingLevel`` history (emptyings, spikes,
  stuck sensors), weekday pattern, P(overflow before the next collection opportunity);
* :mod:`.selection` — required bins, optional bins with a prize, bins needing attention;
* :mod:`.plan` — a routing problem from the entities and a selection;
* :mod:`.geo` — haversine × detour-factor travel estimates (without a road network);
* :mod:`.network` — the road network from an OpenStreetMap extract: one-way streets, speeds
  per road class, snapping, many-to-many shortest paths;
* :mod:`.routing` — our own ``RoutingSolver`` interface and its PyVRP implementation;
* :mod:`.outputs` — route sheets (HTML), GeoJSON, GPX, CSV, routes stored as entities;
* :mod:`.commands` — ``cetate waste plan`` and ``cetate waste simulate``;
* :mod:`.console` — the console pages (bins map, plan of the day, KPIs).

Plugged in through the ``cetate.domains`` entry point ``waste``, which names this module: its
:data:`console` attribute is the console part (loaded lazily, when the registry calls it) and
its :data:`cli` the commands ``cetate waste …``. See docs/domains/waste.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

    from cetate.web.registry import ConsoleDomain


def console() -> ConsoleDomain:
    """The console part (the registry calls this; the import is deferred so that the pure
    modules do not pull in the web stack)."""
    from cetate.domains.waste.console import console_domain

    return console_domain()


def cli() -> typer.Typer:
    """The domain's commands, ``cetate waste …`` (the CLI calls this)."""
    from cetate.domains.waste.commands import cli_app

    return cli_app
