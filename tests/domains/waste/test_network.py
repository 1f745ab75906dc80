"""The road network: a directed graph from the Helsinki OSM extract (offline), one-way streets,
speeds per road class, snapping, many-to-many shortest paths, and bins it does not cover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from cetate.domains.waste.entities import Truck, WasteContainer, WasteSite
from cetate.domains.waste.errors import WasteInputError
from cetate.domains.waste.fill_model import FillEstimate
from cetate.domains.waste.geo import haversine_m
from cetate.domains.waste.network.graph import build_graph, read_osm
from cetate.domains.waste.network.matrix import NotCovered, network_matrix, snap
from cetate.domains.waste.network.speeds import edge_speed_kmh, parse_maxspeed
from cetate.domains.waste.plan import build_problem
from cetate.domains.waste.routing.pyvrp_solver import PyVRPSolver
from cetate.domains.waste.selection import select
from tests.domains.waste.helsinki import helsinki, node_point

NOW = datetime(2026, 11, 23, 18, tzinfo=UTC)


def test_one_way_streets_and_directions() -> None:
    graph = build_graph(
        osm_ids=np.asarray([1, 2, 3, 4], dtype=np.int64),
        lat=np.asarray([60.0, 60.001, 60.002, 60.003]),
        lon=np.asarray([25.0, 25.0, 25.0, 25.0]),
        segments=[
            (1, 2, 100.0, "residential", "yes", None, None),  # 1 → 2 only
            (3, 2, 100.0, "residential", "-1", None, None),  # 2 → 3 only
            (3, 1, 300.0, "residential", None, None, '{"junction": "roundabout"}'),  # 3 → 1
            (1, 3, 900.0, "footway", None, None, None),  # not drivable
            (3, 4, 50.0, "service", "yes", None, None),  # a dead end: 4 cannot be left
        ],
        source="synthetic",
    )
    assert graph.osm_ids.tolist() == [1, 2, 3]  # the largest strongly connected part
    d = graph.distance_m.toarray()
    assert d[0, 1] == 100
    assert d[1, 0] == 0
    assert d[1, 2] == 100
    assert d[2, 1] == 0
    assert d[2, 0] == 300
    assert d[0, 2] == 0


def test_parallel_arcs_keep_the_shortest_and_speeds_by_class() -> None:
    graph = build_graph(
        osm_ids=np.asarray([1, 2], dtype=np.int64),
        lat=np.asarray([60.0, 60.001]),
        lon=np.asarray([25.0, 25.0]),
        segments=[
            (1, 2, 250.0, "residential", None, None, None),
            (1, 2, 120.0, "residential", None, "10", None),
            (1, 2, 500.0, "motorway", "no", None, None),
        ],
        source="synthetic",
    )
    assert graph.size == 2
    assert graph.distance_m.toarray()[0, 1] == pytest.approx(120.0)
    # 120 m at min(20 km/h residential, maxspeed 10) = 43.2 s; 500 m at 70 km/h = 25.7 s
    assert graph.duration_s.toarray()[0, 1] == pytest.approx(500 / (70 / 3.6))
    assert edge_speed_kmh("footway", None) is None
    assert edge_speed_kmh("primary", "90") == 35.0  # the class default caps the tag
    assert parse_maxspeed("30 mph") == pytest.approx(48.28, abs=0.01)
    assert parse_maxspeed("50;30") == 30.0
    assert parse_maxspeed("signals") is None


def test_helsinki_graph_is_directed_and_connected() -> None:
    graph = helsinki()
    assert graph.size > 1000
    d = graph.distance_m
    one_way = sum(1 for a, b in zip(*d.nonzero(), strict=True) if d[b, a] == 0)
    assert one_way > 100  # the centre has many one-way streets
    points = [("a", *node_point(graph, 0)), ("b", *node_point(graph, graph.size // 2))]
    points.append(("c", *node_point(graph, graph.size - 1)))
    matrix = network_matrix(graph, points)
    assert not matrix.estimate
    assert (matrix.distance_m[~np.eye(3, dtype=bool)] > 0).all()
    for i in range(3):
        for j in range(3):
            straight = haversine_m(points[i][1], points[i][2], points[j][1], points[j][2])
            assert matrix.distance_m[i, j] >= straight - 1  # never shorter than a straight line
            for k in range(3):  # shortest paths obey the triangle inequality
                assert matrix.distance_m[i, j] <= (
                    matrix.distance_m[i, k] + matrix.distance_m[k, j] + 1
                )
    assert not np.array_equal(matrix.distance_m, matrix.distance_m.T)  # one-way streets


def test_bins_outside_the_network_are_not_covered() -> None:
    graph = helsinki()
    inside = ("inside", *node_point(graph, 10))
    with pytest.raises(NotCovered, match=r"does not cover 2 point\(s\).*cluj-bin.*far-bin"):
        snap(graph, [inside, ("cluj-bin", 46.77, 23.59), ("far-bin", 60.30, 24.95)])
    [found] = snap(graph, [inside])
    assert found.offset_m < 1
    with pytest.raises(WasteInputError, match="max snap distance"):
        snap(graph, [inside], max_snap_m=0)


def test_missing_or_corrupt_extract(tmp_path: Path) -> None:
    with pytest.raises(WasteInputError, match="no such file"):
        read_osm(tmp_path / "city.osm.pbf")
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"not a protobuf file")
    with pytest.raises(WasteInputError, match=r"broken\.osm\.pbf"):
        read_osm(broken)


def test_plan_on_the_road_network_is_not_an_estimate() -> None:
    graph = helsinki()
    depot_at = node_point(graph, 5)
    depot = WasteSite("depot", "depot", *depot_at)
    bins = [
        WasteContainer(f"b{i}", *node_point(graph, i * 97 % graph.size), 1100) for i in range(1, 9)
    ]
    estimates = {b.id: FillEstimate(b.id, 0.9, NOW, 0.1, 0.02) for b in bins}
    chosen = select(bins, estimates, NOW + timedelta(hours=12), NOW + timedelta(days=1))
    truck = Truck("t1", 16000, 8000, "depot")
    problem = build_problem(bins, chosen, [truck], [depot], network=graph)
    assert not problem.matrix.estimate
    solution = PyVRPSolver().solve(problem, seconds=0.3, seed=1)
    assert solution.feasible
    assert not solution.estimate
    assert sorted(solution.routes[0].stop_ids) == sorted(b.id for b in bins)
    outside = WasteContainer("cluj", 46.77, 23.59, 1100, status="full")
    estimates["cluj"] = FillEstimate("cluj", 0.9, NOW, 0.1, 0.02)
    chosen = select([*bins, outside], estimates, NOW, NOW + timedelta(days=1))
    with pytest.raises(NotCovered, match="cluj"):
        build_problem([*bins, outside], chosen, [truck], [depot], network=graph)
