"""Routing behind our own interface: :mod:`.problem` (what to solve, in integer metres and
seconds), :mod:`.solver` (the :class:`~.solver.RoutingSolver` protocol, the solution and the
feasibility checks) and :mod:`.pyvrp_solver` (the implementation on PyVRP)."""
