"""Travel on the real road network (issue 5, part 5).

* :mod:`.speeds` — drivable road classes and their default speeds (a data table);
* :mod:`.graph` — a directed road graph from an OpenStreetMap extract (``.osm.pbf``, read with
  pyrosm), one-way streets respected, restricted to its largest strongly connected part;
* :mod:`.matrix` — bins and sites snapped to the nearest road node (too far: not covered, an
  error naming them) and many-to-many shortest paths (metres, seconds) with
  :mod:`scipy.sparse.csgraph`.

Without a network, :mod:`cetate.domains.waste.geo` estimates travel (haversine × detour factor),
and every output says "estimate"."""
