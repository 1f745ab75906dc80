"""What a plan gives the crews and the platform (issue 5, part 6).

* :mod:`.model` — :class:`PlannedRoute`, one truck's ordered stops with coordinates, times,
  expected fill and address, built from a :class:`~..routing.solver.RoutingSolution`;
* :mod:`.sheet` — a printable HTML route sheet with a static SVG sketch (no map tiles);
* :mod:`.tracks` — GeoJSON and GPX per route, CSV of all stops;
* :mod:`.entities` — routes stored as ``WasteCollectionRoute`` entities through EntityService;
* :mod:`.files` — all of the above written to a directory."""
