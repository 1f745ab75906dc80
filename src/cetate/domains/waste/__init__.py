"""Waste collection (issue 5, Cluj-Napoca): sensor-driven bin selection and truck routing.

The core, pure Python on the context store:

* :mod:`.entities` — typed views of WasteContainer (FIWARE WasteManagement), Vehicle (trucks)
  and WasteSite (depots, landfills / transfer stations) and their NGSI-LD stored form;
* :mod:`.fill_model` — fill rate per bin from its ``fillingLevel`` history (emptyings, spikes,
  stuck sensors), weekday pattern, P(overflow before the next collection opportunity);
* :mod:`.selection` — required bins, optional bins with a prize, bins needing attention;
* :mod:`.plan` — a routing problem from the entities and a selection;
* :mod:`.geo` — haversine × detour-factor travel estimates (no road network yet);
* :mod:`.routing` — our own ``RoutingSolver`` interface and its PyVRP implementation.

Plugged in through the ``cetate.domains`` entry point ``waste``; it has no console part yet.
See docs/domains/waste.md.
"""
