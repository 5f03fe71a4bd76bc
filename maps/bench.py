"""Benchmark the scipy Router against networkx on the same graph, in the same run."""

from __future__ import annotations

import time

import networkx as nx
import numpy as np

from citymodel.maps.load import load_city

FACILITY_KINDS = ("library", "school", "community_centre")
NX_MAX_PAIRS = 300  # networkx single-pair queries are slow; time a subset


def _timed(fn, repeat: int = 1) -> float:
    """Mean wall time of ``fn()`` in seconds over ``repeat`` calls."""
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def run_routing_benchmark(source: str = "default", mode: str = "walk", n_pairs: int = 2000,
                          seed: int = 0) -> dict:
    """Time routing queries with ``Router`` and with networkx.

    Parameters
    ----------
    source
        Map source for ``load_city``.
    mode
        Travel mode.
    n_pairs
        Random origin/destination pairs (networkx times at most ``NX_MAX_PAIRS``).
    seed
        Seed of the pair sample.

    Returns
    -------
    dict
        Graph size, router build time (s), single-pair and batched queries per second,
        one-to-all (ms), nearest-facility precompute for all nodes (ms), each with the
        networkx figure and the speed-up ratio.
    """
    city = load_city(source)
    G = city.graph(mode)
    t_build = _timed(lambda: city.router(mode))
    r = city.router(mode)
    rng = np.random.default_rng(seed)
    orig = rng.choice(r.nodes, n_pairs)
    dest = rng.choice(r.nodes, n_pairs)
    n_nx = min(n_pairs, NX_MAX_PAIRS)

    t_single = _timed(lambda: [r.travel_time(o, d) for o, d in zip(orig, dest, strict=True)])
    t_batch = _timed(lambda: r.travel_time(orig, dest))
    t_nx_single = _timed(lambda: [nx.shortest_path_length(G, o, d, weight="travel_time")
                                  for o, d in zip(orig[:n_nx], dest[:n_nx], strict=True)])
    sources = orig[:50]
    t_all = _timed(lambda: [r.one_to_all(s) for s in sources]) / sources.size
    t_nx_all = _timed(lambda: [nx.single_source_dijkstra_path_length(G, int(s),
                                                                     weight="travel_time")
                               for s in sources[:20]]) / min(20, sources.size)
    facilities = np.unique(city.poi_nodes(FACILITY_KINDS, mode.replace("cargo_bike", "bike")))
    if facilities.size == 0:
        facilities = rng.choice(r.nodes, 10, replace=False)
    t_near = _timed(lambda: r.nearest_facilities(facilities, k=1))
    reversed_view = G.reverse(copy=False)
    t_nx_near = _timed(lambda: nx.multi_source_dijkstra(reversed_view, set(facilities.tolist()),
                                                        weight="travel_time"))
    return {
        "source": source, "mode": mode, "nodes": G.number_of_nodes(),
        "edges": G.number_of_edges(), "n_pairs": n_pairs, "n_pairs_networkx": n_nx,
        "router_build_s": t_build,
        "single_pair_qps": n_pairs / t_single,
        "batched_qps": n_pairs / t_batch,
        "networkx_single_pair_qps": n_nx / t_nx_single,
        "single_pair_speedup": (n_pairs / t_single) / (n_nx / t_nx_single),
        "batched_speedup": (n_pairs / t_batch) / (n_nx / t_nx_single),
        "one_to_all_ms": 1e3 * t_all,
        "networkx_one_to_all_ms": 1e3 * t_nx_all,
        "one_to_all_speedup": t_nx_all / t_all,
        "n_facilities": int(facilities.size),
        "nearest_facility_all_nodes_ms": 1e3 * t_near,
        "networkx_nearest_facility_ms": 1e3 * t_nx_near,
        "nearest_facility_speedup": t_nx_near / t_near,
    }


def format_benchmark(result: dict) -> str:
    """Render a benchmark result as a plain-text table."""
    rows = [
        ("single-pair queries/s", result["single_pair_qps"],
         result["networkx_single_pair_qps"], result["single_pair_speedup"]),
        ("batched pair queries/s", result["batched_qps"],
         result["networkx_single_pair_qps"], result["batched_speedup"]),
        ("one-to-all (ms)", result["one_to_all_ms"], result["networkx_one_to_all_ms"],
         result["one_to_all_speedup"]),
        (f"nearest of {result['n_facilities']} facilities, all nodes (ms)",
         result["nearest_facility_all_nodes_ms"], result["networkx_nearest_facility_ms"],
         result["nearest_facility_speedup"]),
    ]
    head = (f"routing benchmark: {result['source']} / {result['mode']} "
            f"({result['nodes']} nodes, {result['edges']} edges; router built in "
            f"{result['router_build_s'] * 1e3:.0f} ms)")
    lines = [head, f"{'measure':<48}{'Router':>12}{'networkx':>12}{'speed-up':>10}"]
    lines += [f"{name:<48}{a:>12.2f}{b:>12.2f}{c:>9.1f}x" for name, a, b, c in rows]
    return "\n".join(lines)
