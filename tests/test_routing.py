"""Router answers equal networkx shortest paths on real street graphs (no mocks).

Real maps: the embedded default map (central Leeds) and a local .osm clip of the
Helsinki extract, each with the walk, bike and van graphs (cargo_bike once); the
tests that use Helsinki places (a box of its streets, its facilities) run on the
embedded ``helsinki`` map. Every comparison is against networkx on the very graph the
router was built from.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from citymodel.maps import City, MapError, Router, load_city
from citymodel.maps.bench import format_benchmark, run_routing_benchmark

N_PAIRS = 500
REL_TOL = 1e-9
MODES = ("walk", "bike", "van")


@pytest.fixture(params=["default", "osm_clip"])
def city(request) -> City:
    """Each real map in turn."""
    return request.getfixturevalue("default_city" if request.param == "default"
                                   else "clip_city")


def _random_nodes(router: Router, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(router.nodes, n)


def _nx_time(graph: nx.MultiDiGraph, o: int, d: int) -> float:
    try:
        return nx.shortest_path_length(graph, int(o), int(d), weight="travel_time")
    except nx.NetworkXNoPath:
        return float("inf")


def _path_time(graph: nx.MultiDiGraph, path: list[int], attr: str = "travel_time") -> float:
    """Sum over the path of the fastest parallel edge's ``attr``."""
    total = 0.0
    for u, v in zip(path[:-1], path[1:], strict=True):
        fastest = min(graph[u][v].values(), key=lambda d: d["travel_time"])
        total += fastest[attr]
    return total


def _assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert np.array_equal(np.isinf(actual), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=REL_TOL, atol=0)


@pytest.mark.parametrize("mode", MODES)
def test_travel_time_equals_networkx_on_500_random_pairs(city: City, mode: str) -> None:
    graph, router = city.graph(mode), city.router(mode)
    orig = _random_nodes(router, N_PAIRS, seed=1)
    dest = _random_nodes(router, N_PAIRS, seed=2)
    routed = router.travel_time(orig, dest)
    expected = np.array([_nx_time(graph, o, d) for o, d in zip(orig, dest, strict=True)])
    assert routed.shape == (N_PAIRS,)
    assert np.isfinite(expected).all()  # one strongly connected component
    _assert_close(routed, expected)
    assert np.count_nonzero(routed > 0) > 0.9 * N_PAIRS


def test_cargo_bike_is_the_bike_graph_at_cargo_bike_speed(default_city: City) -> None:
    bike, cargo = default_city.graph("bike"), default_city.graph("cargo_bike")
    assert set(bike.nodes) == set(cargo.nodes)
    assert {d["speed_kph"] for *_, d in cargo.edges(data=True)} == {15.0}
    router = default_city.router("cargo_bike")
    orig, dest = _random_nodes(router, 100, 3), _random_nodes(router, 100, 4)
    expected = [_nx_time(cargo, o, d) for o, d in zip(orig, dest, strict=True)]
    _assert_close(router.travel_time(orig, dest), np.array(expected))
    # one speed per graph: both routers follow shortest-length paths, so distances agree
    cargo_dist = router.distance(orig, dest)
    np.testing.assert_allclose(cargo_dist, default_city.router("bike").distance(orig, dest),
                               rtol=REL_TOL)
    np.testing.assert_allclose(cargo_dist / (15 / 3.6), router.travel_time(orig, dest),
                               rtol=REL_TOL)


def test_scalar_and_broadcast_shapes(default_city: City) -> None:
    router = default_city.router("walk")
    o, d = (int(n) for n in router.nodes[:2])
    assert router.travel_time(o, d).shape == ()
    assert float(router.travel_time(o, o)) == 0.0
    dests = router.nodes[:7]
    assert router.travel_time(o, dests).shape == (7,)
    grid = router.travel_time(router.nodes[:3, None], dests[None, :])
    np.testing.assert_array_equal(grid, router.many_to_many(router.nodes[:3], dests))


@pytest.mark.parametrize("mode", MODES)
def test_one_to_many_many_to_many_one_to_all_equal_networkx(city: City, mode: str) -> None:
    graph, router = city.graph(mode), city.router(mode)
    origins = _random_nodes(router, 4, seed=5)
    dests = _random_nodes(router, 60, seed=6)
    matrix = router.many_to_many(origins, dests)
    assert matrix.shape == (origins.size, dests.size)
    times, dists = router.one_to_all(origins)
    back, _ = router.one_to_all(origins, reverse=True)
    assert times.shape == dists.shape == (origins.size, router.nodes.size)
    for i, o in enumerate(origins):
        lengths = nx.single_source_dijkstra_path_length(graph, int(o), weight="travel_time")
        expected_all = np.array([lengths[int(n)] for n in router.nodes])
        _assert_close(times[i], expected_all)
        _assert_close(matrix[i], np.array([lengths[int(d)] for d in dests]))
        _assert_close(router.one_to_many(o, dests), np.array([lengths[int(d)] for d in dests]))
        to_o = nx.single_source_dijkstra_path_length(graph.reverse(copy=False), int(o),
                                                     weight="travel_time")
        _assert_close(back[i], np.array([to_o[int(n)] for n in router.nodes]))
    if mode == "walk":  # one speed: distance of the fastest path = time x 1.3 m/s
        np.testing.assert_allclose(dists, times * 1.3, rtol=REL_TOL)


@pytest.mark.parametrize("mode", MODES)
def test_path_is_osm_node_ids_whose_edge_times_sum_to_the_routed_time(city: City,
                                                                     mode: str) -> None:
    graph, router = city.graph(mode), city.router(mode)
    orig, dest = _random_nodes(router, 40, seed=7), _random_nodes(router, 40, seed=8)
    times = router.travel_time(orig, dest)
    dists = router.distance(orig, dest)
    for o, d, t, dist in zip(orig, dest, times, dists, strict=True):
        path = router.path(o, d)
        assert path[0] == o and path[-1] == d
        assert all(isinstance(n, int) and n in graph for n in path)
        assert all(graph.has_edge(u, v) for u, v in zip(path[:-1], path[1:], strict=True))
        assert _path_time(graph, path) == pytest.approx(t, rel=REL_TOL, abs=1e-9)
        assert _path_time(graph, path, "length") == pytest.approx(dist, rel=REL_TOL, abs=1e-9)
    assert router.path(orig[0], orig[0]) == [int(orig[0])]


def _brute_force_nearest(graph: nx.MultiDiGraph, facilities: np.ndarray, homes: np.ndarray,
                         to_facility: bool) -> np.ndarray:
    """[homes, facilities] travel times from networkx, one Dijkstra per facility."""
    search = graph.reverse(copy=False) if to_facility else graph
    table = np.full((homes.size, facilities.size), np.inf)
    for j, f in enumerate(facilities):
        lengths = nx.single_source_dijkstra_path_length(search, int(f), weight="travel_time")
        table[:, j] = [lengths.get(int(h), np.inf) for h in homes]
    return table


@pytest.mark.parametrize("mode", ["walk", "van"])
@pytest.mark.parametrize("k", [1, 3])
def test_nearest_facilities_equal_brute_force(helsinki_city: City, mode: str, k: int) -> None:
    graph, router = helsinki_city.graph(mode), helsinki_city.router(mode)
    facilities = helsinki_city.poi_nodes(("library", "school", "community_centre"), mode)
    assert facilities.size >= 5
    homes = helsinki_city.poi_nodes("residential", mode)
    for reverse in (True, False):
        idx, time_s = router.nearest_facilities(facilities, k=k, from_nodes=homes,
                                                reverse=reverse)
        brute = _brute_force_nearest(graph, facilities, homes, to_facility=reverse)
        assert idx.shape == time_s.shape == (homes.size, k)
        _assert_close(time_s, np.sort(brute, axis=1)[:, :k])
        # the facility named is one at that time (ties may name either)
        chosen = np.take_along_axis(brute, idx, axis=1)
        _assert_close(chosen, time_s)
    every_node, _ = router.nearest_facilities(facilities, k=1)
    assert every_node.shape == (router.nodes.size, 1)


def test_nearest_facilities_rejects_bad_k(default_city: City) -> None:
    router = default_city.router("walk")
    with pytest.raises(ValueError, match="k=3"):
        router.nearest_facilities(router.nodes[:2], k=3)


@pytest.fixture(scope="module")
def broken_graph(helsinki_city: City) -> nx.MultiDiGraph:
    """A real, NOT strongly connected graph: the van streets inside a small box.

    Cutting the box leaves one-way streets and dead ends, so some pairs have no path.
    """
    van = helsinki_city.graph("van")
    inside = [n for n, d in van.nodes(data=True)
              if 24.940 <= d["x"] <= 24.948 and 60.166 <= d["y"] <= 60.171]
    sub = van.subgraph(inside).copy()
    assert not nx.is_strongly_connected(sub)
    return sub


def test_unreachable_pairs_give_inf_like_networkx(broken_graph: nx.MultiDiGraph) -> None:
    router = Router(broken_graph, mode="van")
    rng = np.random.default_rng(9)
    orig, dest = rng.choice(router.nodes, 400), rng.choice(router.nodes, 400)
    routed = router.travel_time(orig, dest)
    expected = np.array([_nx_time(broken_graph, o, d) for o, d in zip(orig, dest, strict=True)])
    assert np.isinf(expected).sum() > 10 and np.isfinite(expected).sum() > 10
    _assert_close(routed, expected)
    _assert_close(router.distance(orig, dest)[np.isinf(expected)], expected[np.isinf(expected)])
    unreachable = int(np.flatnonzero(np.isinf(expected))[0])
    assert router.path(orig[unreachable], dest[unreachable]) == []
    times, _ = router.one_to_all(orig[unreachable])
    assert np.isinf(times).any()


def test_nearest_facility_unreachable_is_minus_one_and_inf(
        broken_graph: nx.MultiDiGraph) -> None:
    router = Router(broken_graph, mode="van")
    facility = router.nodes[:1]
    idx, time_s = router.nearest_facilities(facility, k=1)
    brute = _brute_force_nearest(broken_graph, facility, router.nodes, to_facility=True)
    _assert_close(time_s, brute)
    assert np.array_equal(idx[:, 0] == -1, np.isinf(brute[:, 0]))
    assert (idx == -1).any()


def test_unknown_node_is_a_value_error_naming_it(default_city: City) -> None:
    router = default_city.router("walk")
    with pytest.raises(ValueError, match="OSM node 12345 is not a node of the walk graph"):
        router.travel_time(12345, router.nodes[0])


def test_router_of_a_missing_mode_is_a_map_error(footway_clip) -> None:
    city = load_city(footway_clip)
    with pytest.raises(MapError, match="no streets usable by mode 'van'"):
        city.router("van")


def test_snap_returns_nodes_of_the_mode_graph(helsinki_city: City) -> None:
    router = helsinki_city.router("van")
    graph = helsinki_city.graph("van")
    node = int(router.nodes[10])
    x, y = graph.nodes[node]["x"], graph.nodes[node]["y"]
    assert int(router.snap(x, y)) == node
    assert set(router.snap(np.array([24.94, 24.95]), np.array([60.17, 60.168]))) <= set(graph)


def test_routing_benchmark_reports_router_beside_networkx(osm_clip) -> None:
    result = run_routing_benchmark(str(osm_clip), "van", n_pairs=50, seed=0, repeat=1)
    for key in ("single_pair_qps", "networkx_single_pair_qps", "one_to_all_ms",
                "networkx_one_to_all_ms", "nearest_facility_ms", "networkx_nearest_facility_ms"):
        assert result[key] > 0
    assert result["n_homes"] == result["nodes"]
    text = format_benchmark(result)
    assert "networkx" in text and "single-pair queries/s" in text and "[" not in text
