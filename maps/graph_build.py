"""Turn highway ways into per-mode street graphs (edge table -> SCC filter -> MultiDiGraph).

Graphs are built UNSIMPLIFIED: every OSM node of a usable way is a graph node and
every pair of consecutive way nodes is an edge. Paths are therefore geometrically
exact polylines (agents can be drawn moving along them) and a graph round-trips
through the project's GraphML without geometry attributes. The cost is more nodes
(Helsinki walk: ~5k nodes instead of ~2.5k simplified), which scipy's csgraph
Dijkstra handles in about a millisecond, so simplification was not worth it.

The three mode graphs share one directed edge table (``StreetNetwork.edges``):
one row per directed street segment, with per-mode flags and speeds. A mode graph
is the rows flagged for that mode, restricted to the mode's largest strongly
connected component (computed with scipy's csgraph, which selects the same
component as ``osmnx.truncate.largest_component(G, strongly=True)``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import chain

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .mode_filters import directions
from .osm_reader import Way

BASE_MODES = ("walk", "bike", "van")
# Bohannon & Andrews 2011, Physiotherapy 97:182 (PARAMETERS.md §9): default 1.3 m/s
WALK_SPEED_M_S = 1.3
# Commuter cycling speed, ~16 km/h (PARAMETERS.md §9)
BIKE_SPEED_KPH = 16.0
# Pedal Me GPS data 2020, central London e-cargo bikes 15 km/h (PARAMETERS.md §9)
CARGO_BIKE_SPEED_KPH = 15.0
# Van: osmnx.routing.add_edge_speeds (maxspeed, else mean maxspeed of the highway
# type); highway types with no maxspeed anywhere in the map get this urban default
VAN_FALLBACK_SPEED_KPH = 30.0
EDGE_TEXT_COLUMNS = ("highway", "name", "maxspeed")


@dataclass
class StreetNetwork:
    """Directed street segments of a map, flagged per mode.

    Attributes
    ----------
    nodes : pandas.DataFrame
        Index ``osmid`` (int64); columns ``x`` (lon, degrees), ``y`` (lat, degrees).
        Only nodes touched by a kept edge of some mode.
    edges : pandas.DataFrame
        One row per directed segment kept by at least one mode: ``u``, ``v`` (OSM node
        ids), ``osmid`` (way id), ``highway``, ``name``, ``maxspeed`` ("" if untagged),
        ``length`` (metres), and per mode ``keep_<mode>`` (bool, in the mode's largest
        SCC) and ``speed_kph_<mode>`` (km/h).
    stats : dict
        Per mode: nodes/edges before and after the SCC filter (see ``scc_stats``).
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    stats: dict[str, dict] = field(default_factory=dict)


def build_network(ways: list[Way]) -> StreetNetwork:
    """Build the per-mode edge table from highway ways.

    Parameters
    ----------
    ways
        Highway ways with node ids and coordinates (degrees).

    Returns
    -------
    StreetNetwork
        Edges flagged per mode, with lengths (m), speeds (km/h), SCC filter applied.
    """
    edges, nodes = _segment_table(ways)
    edges["speed_kph_walk"] = WALK_SPEED_M_S * 3.6
    edges["speed_kph_bike"] = BIKE_SPEED_KPH
    edges["speed_kph_van"] = _van_speeds(edges, nodes)
    stats = {}
    for mode in BASE_MODES:
        usable = edges[f"use_{mode}"].to_numpy()
        keep = _largest_scc_mask(edges["u"].to_numpy(), edges["v"].to_numpy(), usable)
        edges[f"keep_{mode}"] = keep
        # a speed only where the mode uses the edge: keeps the table equal to its GraphML copy
        edges.loc[~keep, f"speed_kph_{mode}"] = np.nan
        stats[mode] = scc_stats(edges, usable, keep)
    keep_any = edges[[f"keep_{m}" for m in BASE_MODES]].any(axis=1).to_numpy()
    edges = edges.loc[keep_any].drop(columns=[f"use_{m}" for m in BASE_MODES])
    edges = edges.reset_index(drop=True)
    used = np.unique(np.concatenate([edges["u"].to_numpy(), edges["v"].to_numpy()]))
    return StreetNetwork(nodes.loc[used], edges, stats)


def _segment_table(ways: list[Way]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per directed consecutive-node segment usable by at least one mode."""
    parts: list[dict] = []
    coords: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for way in ways:
        dirs = {mode: directions(way.tags, mode) for mode in BASE_MODES}
        if not any(f or b for f, b in dirs.values()):
            continue
        coords.append((way.node_ids, way.lon, way.lat))
        a, b = way.node_ids[:-1], way.node_ids[1:]
        for forward, (u, v) in ((True, (a, b)), (False, (b, a))):
            flags = {m: dirs[m][0] if forward else dirs[m][1] for m in BASE_MODES}
            if any(flags.values()):
                parts.append({"u": u, "v": v, "osmid": way.osmid, "tags": way.tags,
                              "flags": flags})
    node_cols = ["x", "y"]
    if not parts:
        empty = pd.DataFrame({"u": [], "v": [], "osmid": []}, dtype=np.int64)
        for col in EDGE_TEXT_COLUMNS:
            empty[col] = pd.Series([], dtype=object)
        empty["length"] = pd.Series([], dtype=float)
        for m in BASE_MODES:
            empty[f"use_{m}"] = pd.Series([], dtype=bool)
        nodes = pd.DataFrame(columns=node_cols, dtype=float)
        nodes.index = pd.Index([], dtype=np.int64, name="osmid")
        return empty, nodes
    ids = np.concatenate([c[0] for c in coords])
    nodes = pd.DataFrame({"x": np.concatenate([c[1] for c in coords]),
                          "y": np.concatenate([c[2] for c in coords])},
                         index=pd.Index(ids, name="osmid"))
    nodes = nodes[~nodes.index.duplicated()].sort_index()
    sizes = [len(p["u"]) for p in parts]
    table = {
        "u": np.concatenate([p["u"] for p in parts]),
        "v": np.concatenate([p["v"] for p in parts]),
        "osmid": np.repeat([p["osmid"] for p in parts], sizes).astype(np.int64),
    }
    for col in EDGE_TEXT_COLUMNS:
        table[col] = np.repeat([p["tags"].get(col, "") for p in parts], sizes).astype(object)
    for m in BASE_MODES:
        table[f"use_{m}"] = np.repeat([p["flags"][m] for p in parts], sizes).astype(bool)
    edges = pd.DataFrame(table)
    edges = edges.loc[edges["u"] != edges["v"]].reset_index(drop=True)
    xu, yu = nodes["x"].reindex(edges["u"]).to_numpy(), nodes["y"].reindex(edges["u"]).to_numpy()
    xv, yv = nodes["x"].reindex(edges["v"]).to_numpy(), nodes["y"].reindex(edges["v"]).to_numpy()
    import osmnx as ox  # slow to import; only needed when building from OSM

    edges["length"] = ox.distance.great_circle(yu, xu, yv, xv)
    return edges, nodes


def _van_speeds(edges: pd.DataFrame, nodes: pd.DataFrame) -> np.ndarray:
    """Van speeds (km/h) via osmnx.routing.add_edge_speeds on the van edges; NaN elsewhere."""
    speeds = np.full(len(edges), np.nan)
    rows = np.flatnonzero(edges["use_van"].to_numpy())
    if rows.size == 0:
        return speeds
    graph = nx.MultiDiGraph(crs="epsg:4326")
    van = edges.iloc[rows]
    used = np.unique(np.concatenate([van["u"].to_numpy(), van["v"].to_numpy()]))
    graph.add_nodes_from((n, {"x": x, "y": y}) for n, x, y in
                     zip(used, nodes.loc[used, "x"], nodes.loc[used, "y"], strict=True))
    for row, u, v, hwy, maxspeed in zip(rows, van["u"], van["v"], van["highway"],
                                        van["maxspeed"], strict=True):
        attrs = {"row": row, "highway": hwy}
        if maxspeed:
            attrs["maxspeed"] = maxspeed
        graph.add_edge(u, v, **attrs)
    import osmnx as ox

    ox.routing.add_edge_speeds(graph, fallback=VAN_FALLBACK_SPEED_KPH)
    for _, _, data in graph.edges(data=True):
        speeds[data["row"]] = data["speed_kph"]
    return speeds


def _largest_scc_mask(u: np.ndarray, v: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Mask of usable edges whose both ends lie in the largest strongly connected component."""
    keep = np.zeros(len(u), dtype=bool)
    if not usable.any():
        return keep
    uu, vv = u[usable], v[usable]
    ids, inverse = np.unique(np.concatenate([uu, vv]), return_inverse=True)
    n = ids.size
    iu, iv = inverse[: uu.size], inverse[uu.size:]
    adj = coo_matrix((np.ones(iu.size), (iu, iv)), shape=(n, n)).tocsr()
    _, labels = connected_components(adj, directed=True, connection="strong")
    largest = np.bincount(labels).argmax()
    inside = labels == largest
    keep[np.flatnonzero(usable)] = inside[iu] & inside[iv]
    return keep


def scc_stats(edges: pd.DataFrame, usable: np.ndarray, keep: np.ndarray) -> dict:
    """Sizes of one mode's graph before and after the SCC filter.

    Returns
    -------
    dict
        ``nodes``, ``edges`` (directed), ``km_street`` (kept street length in km, each
        two-way street counted once), ``kept_node_share``, ``kept_edge_share`` (0..1),
        ``dropped_nodes``, ``dropped_edges``.
    """
    def n_nodes(mask: np.ndarray) -> int:
        ends = np.concatenate([edges["u"].to_numpy()[mask], edges["v"].to_numpy()[mask]])
        return int(np.unique(ends).size)

    nodes_before, nodes_after = n_nodes(usable), n_nodes(keep)
    edges_before, edges_after = int(usable.sum()), int(keep.sum())
    kept = edges.loc[keep, ["u", "v", "osmid", "length"]]
    lo = np.minimum(kept["u"].to_numpy(), kept["v"].to_numpy())
    hi = np.maximum(kept["u"].to_numpy(), kept["v"].to_numpy())
    undirected = pd.DataFrame({"lo": lo, "hi": hi, "osmid": kept["osmid"].to_numpy(),
                               "length": kept["length"].to_numpy()})
    km = undirected.drop_duplicates(["lo", "hi", "osmid"])["length"].sum() / 1000.0
    return {
        "nodes": nodes_after,
        "edges": edges_after,
        "km_street": round(float(km), 3),
        "kept_node_share": round(nodes_after / nodes_before, 6) if nodes_before else 0.0,
        "kept_edge_share": round(edges_after / edges_before, 6) if edges_before else 0.0,
        "dropped_nodes": nodes_before - nodes_after,
        "dropped_edges": edges_before - edges_after,
    }


def mode_nodes(net: StreetNetwork, mode: str) -> np.ndarray:
    """Sorted OSM ids (int64) of the nodes of one mode's graph (empty if it has none)."""
    edges = net.edges.loc[net.edges[f"keep_{mode}"].to_numpy()]
    return np.unique(np.concatenate([edges["u"].to_numpy(), edges["v"].to_numpy()]))


def mode_graph(net: StreetNetwork, mode: str, speed_kph: float | None = None,
               name: str = "") -> nx.MultiDiGraph:
    """Build the osmnx-compatible graph of one mode.

    Parameters
    ----------
    net
        The map's street network.
    mode
        "walk", "bike" or "van".
    speed_kph
        Override the edge speed (km/h) for every edge (e.g. cargo bike on the bike graph).
    name
        Graph ``name`` attribute.

    Returns
    -------
    networkx.MultiDiGraph
        Graph attributes ``crs`` ("epsg:4326"), ``name``, ``mode``; nodes ``x`` (lon,
        degrees), ``y`` (lat, degrees), ``street_count``; edges ``osmid``, ``highway``,
        ``name``/``maxspeed`` when tagged, ``length`` (m), ``speed_kph`` (km/h),
        ``travel_time`` (s).
    """
    edges = net.edges.loc[net.edges[f"keep_{mode}"].to_numpy()]
    graph = nx.MultiDiGraph(crs="epsg:4326", name=name, mode=mode)
    used = mode_nodes(net, mode)
    xy = net.nodes.loc[used]
    graph.add_nodes_from((int(n), {"x": float(x), "y": float(y)}) for n, x, y in
                         zip(used, xy["x"].to_numpy(), xy["y"].to_numpy(), strict=True))
    speeds = (np.full(len(edges), float(speed_kph)) if speed_kph is not None
              else edges[f"speed_kph_{mode}"].to_numpy(dtype=float))
    lengths = edges["length"].to_numpy(dtype=float)
    travel_time = lengths / (speeds / 3.6)
    columns = zip(edges["u"].to_numpy(), edges["v"].to_numpy(), edges["osmid"].to_numpy(),
                  edges["highway"], edges["name"], edges["maxspeed"], lengths, speeds,
                  travel_time, strict=True)
    graph.add_edges_from(_edge_tuples(columns))
    nx.set_node_attributes(graph, _street_counts(graph), "street_count")
    return graph


def _street_counts(graph: nx.MultiDiGraph) -> dict[int, int]:
    """Street segments meeting at each node, as ``osmnx.stats.count_streets_per_node``.

    osmnx counts the edges of the undirected view, where (u, v, key) and (v, u, key)
    are one segment; the graphs here have no self-loops.
    """
    segments = {(min(u, v), max(u, v), k) for u, v, k in graph.edges(keys=True)}
    counts = Counter(chain.from_iterable((a, b) for a, b, _ in segments))
    return {n: counts[n] for n in graph.nodes}


def _edge_tuples(columns):
    for u, v, osmid, hwy, street, maxspeed, length, speed, tt in columns:
        attrs = {"osmid": int(osmid), "highway": hwy}
        if street:
            attrs["name"] = street
        if maxspeed:
            attrs["maxspeed"] = maxspeed
        attrs.update(length=float(length), speed_kph=float(speed), travel_time=float(tt))
        yield int(u), int(v), attrs
