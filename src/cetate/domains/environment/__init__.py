"""Environment (issue 6): air-quality indices, EU compliance and bathing-water classification.

The computational core, pure and data-driven:

* :mod:`.eaqi` — the European Air Quality Index (2024 revision and earlier versions) per hour;
* :mod:`.us_aqi` — the US EPA AQI (2024 PM2.5 breakpoints) with NowCast, as an option;
* :mod:`.advice` — health advice per index band, Romanian and English;
* :mod:`.compliance` — EU limit values (Directive 2008/50/EC, Directive (EU) 2024/2881) per
  station and calendar year, rendered by :mod:`.report_render` as CSV or HTML;
* :mod:`.bathing` — Directive 2006/7/EC Annex II bathing-water classes;
* :mod:`.store_input` — hourly series read from a tenant's AirQualityObserved history.

Tables and limit values are data files in ``data/`` with a version key and their source.
Plugged in through the ``cetate.domains`` entry point ``environment``; it has no console part
yet (pages come later). See docs/domains/environment.md.
"""

from __future__ import annotations
