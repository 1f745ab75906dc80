"""Environment (issue 6): air-quality indices, EU compliance and bathing-water classification.

The computational core, pure and data-driven:

* :mod:`.eaqi` — the European Air Quality Index (2024 revision and earlier versions) per hour;
* :mod:`.us_aqi` — the US EPA AQI (2024 PM2.5 breakpoints) with NowCast, as an option;
* :mod:`.advice` — health advice per index band, Romanian and English;
* :mod:`.compliance` — EU limit values (Directive 2008/50/EC, Directive (EU) 2024/2881) per
  station and calendar year, rendered by :mod:`.report_render` as CSV or HTML;
* :mod:`.bathing` — Directive 2006/7/EC Annex II bathing-water classes;
* :mod:`.store_input` — hourly series read from a tenant's AirQualityObserved history;
* :mod:`.water` — water-quality threshold sets turned into rules (breaches become Alerts);
* :mod:`.station_status` — station status (online, stale, faulty sensor);
* :mod:`.simulator` — realistic diurnal series for a city's stations (demo and tests);
* :mod:`.fast` — the same index and compliance, vectorised with numpy (benchmarks/aq_year.py);
* :mod:`.pages` — the public air pages and open-data downloads (:mod:`.console`).
* :mod:`.noise` — NoiseLevelObserved levels (LAeq, LAmax, dB(A)) shown on the station page;
* :mod:`.health`, :mod:`.health_pages` — health stations grouping sensors and kiosks, and the
  public health dashboard with the city's trend;
* :mod:`.water_point`, :mod:`.beach`, :mod:`.water_pages` — the water-quality page per
  monitoring point (breaches = open Alerts) and the bathing season page per beach.

Tables and limit values are data files in ``data/`` with a version key and their source.
Plugged in through the ``cetate.domains`` entry point ``environment``, which names this
module: its :data:`console` attribute is the console part (loaded lazily, when the registry
calls it) and its :data:`cli` the commands ``cetate environment …``. See
docs/domains/environment.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

    from cetate.web.registry import ConsoleDomain


def console() -> ConsoleDomain:
    """The console part (the registry calls this; the import is deferred so that the pure
    modules do not pull in the web stack)."""
    from cetate.domains.environment.console import console_domain

    return console_domain()


def cli() -> typer.Typer:
    """The domain's commands, ``cetate environment …`` (the CLI calls this)."""
    from cetate.domains.environment.commands import cli_app

    return cli_app
