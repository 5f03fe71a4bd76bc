"""Benchmark the scipy Router against networkx on the same graph, in the same run."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import networkx as nx
import numpy as np
import scipy

from .load import load_city

FACILITY_KINDS = ("library", "school", "community_centre")
NX_MAX_PAIRS = 300  # networkx single-pair queries are slow; time a subset
ONE_TO_ALL_SOURCES = 50  # Router one-to-all runs timed (networkx: at most 20)
NX_MAX_SOURCES = 20


def _timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best wall time of ``repeat`` calls of ``fn()`` (s): the least disturbed by other load."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run_routing_benchmark(source: str = "default", mode: str = "walk", n_pairs: int = 2000,
                          seed: int = 0, repeat: int = 3) -> dict:
    """Time routing queries with ``Router`` and with networkx on the same graph.

    Every node of the mode graph counts as a home (the model's homes are a subset
    of them), so the nearest-facility figure is an upper bound for any population.

    Parameters
    ----------
    source
        Map source for ``load_city``.
    mode
        Travel mode ("walk", "bike", "cargo_bike", "van").
    n_pairs
        Random origin/destination pairs (networkx times at most ``NX_MAX_PAIRS``).
    seed
        Seed of the pair sample.
    repeat
        Each measurement is run this many times and the best time kept (both libraries).

    Returns
    -------
    dict
        ``source``, ``mode``, ``nodes``, ``edges``, ``n_pairs``, ``n_pairs_networkx``,
        ``router_build_s`` (s); ``single_pair_qps`` (one ``travel_time`` call per pair),
        ``batched_qps`` (one call for all pairs), ``networkx_single_pair_qps``
        (``nx.shortest_path_length``) and the speed-ups ``single_pair_speedup``,
        ``batched_speedup``; ``one_to_all_ms`` (travel times and distances to every
        node, per source), ``networkx_one_to_all_ms``
        (``nx.single_source_dijkstra_path_length``), ``one_to_all_speedup``;
        ``n_facilities``, ``n_homes``, ``nearest_facility_ms`` (nearest facility and
        its time for every home, one multi-source pass), ``networkx_nearest_facility_ms``
        (``nx.multi_source_dijkstra`` on the reversed graph),
        ``nearest_facility_speedup``; ``machine`` (CPU count, Python, scipy, networkx).
    """
    city = load_city(source)
    graph = city.graph(mode)
    t_build = _timed(lambda: city.router(mode))
    r = city.router(mode)
    rng = np.random.default_rng(seed)
    orig = rng.choice(r.nodes, n_pairs)
    dest = rng.choice(r.nodes, n_pairs)
    n_nx = min(n_pairs, NX_MAX_PAIRS)

    t_single = _timed(lambda: [r.travel_time(o, d) for o, d in zip(orig, dest, strict=True)],
                      repeat)
    t_batch = _timed(lambda: r.travel_time(orig, dest), repeat)
    t_nx_single = _timed(lambda: [nx.shortest_path_length(graph, o, d, weight="travel_time")
                                  for o, d in zip(orig[:n_nx], dest[:n_nx], strict=True)],
                         repeat)
    sources = rng.choice(r.nodes, ONE_TO_ALL_SOURCES)
    nx_sources = sources[:NX_MAX_SOURCES]
    t_all = _timed(lambda: [r.one_to_all(s) for s in sources], repeat) / sources.size
    t_nx_all = _timed(lambda: [
        nx.single_source_dijkstra_path_length(graph, int(s), weight="travel_time")
        for s in nx_sources], repeat) / nx_sources.size
    facilities = np.unique(city.poi_nodes(FACILITY_KINDS, mode))
    if facilities.size == 0:  # a map without these POIs: random facility nodes
        facilities = rng.choice(r.nodes, min(10, r.nodes.size), replace=False)
    t_near = _timed(lambda: r.nearest_facilities(facilities, k=1), repeat)
    reversed_view = graph.reverse(copy=False)
    t_nx_near = _timed(lambda: nx.multi_source_dijkstra(
        reversed_view, set(facilities.tolist()), weight="travel_time"), repeat)
    single_qps, batched_qps, nx_qps = n_pairs / t_single, n_pairs / t_batch, n_nx / t_nx_single
    return {
        "source": source, "mode": mode, "repeat": repeat, "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(), "n_pairs": n_pairs, "n_pairs_networkx": n_nx,
        "router_build_s": t_build,
        "single_pair_qps": single_qps,
        "batched_qps": batched_qps,
        "networkx_single_pair_qps": nx_qps,
        "single_pair_speedup": single_qps / nx_qps,
        "batched_speedup": batched_qps / nx_qps,
        "one_to_all_ms": 1e3 * t_all,
        "networkx_one_to_all_ms": 1e3 * t_nx_all,
        "one_to_all_speedup": t_nx_all / t_all,
        "n_facilities": int(facilities.size),
        "n_homes": int(r.nodes.size),
        "nearest_facility_ms": 1e3 * t_near,
        "networkx_nearest_facility_ms": 1e3 * t_nx_near,
        "nearest_facility_speedup": t_nx_near / t_near,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "scipy": scipy.__version__, "networkx": nx.__version__},
    }


def format_benchmark(result: dict) -> str:
    """Render a ``run_routing_benchmark`` result as a plain-text table (no markup)."""
    rows = [
        ("single-pair queries/s", result["single_pair_qps"],
         result["networkx_single_pair_qps"], result["single_pair_speedup"]),
        ("batched pair queries/s", result["batched_qps"],
         result["networkx_single_pair_qps"], result["batched_speedup"]),
        ("one-to-all, per source (ms)", result["one_to_all_ms"],
         result["networkx_one_to_all_ms"], result["one_to_all_speedup"]),
        (f"nearest of {result['n_facilities']} facilities, {result['n_homes']} homes (ms)",
         result["nearest_facility_ms"], result["networkx_nearest_facility_ms"],
         result["nearest_facility_speedup"]),
    ]
    machine = result.get("machine", {})
    head = (f"routing benchmark: {result['source']} / {result['mode']} "
            f"({result['nodes']} nodes, {result['edges']} edges; router built in "
            f"{result['router_build_s'] * 1e3:.0f} ms; best of {result.get('repeat', 1)}; "
            f"{machine.get('cpus', '?')} CPUs, "
            f"Python {machine.get('python', '?')}, scipy {machine.get('scipy', '?')}, "
            f"networkx {machine.get('networkx', '?')})")
    lines = [head, f"{'measure':<50}{'Router':>12}{'networkx':>12}{'speed-up':>10}"]
    lines += [f"{name:<50}{a:>12.2f}{b:>12.2f}{c:>9.1f}x" for name, a, b, c in rows]
    return "\n".join(lines)
