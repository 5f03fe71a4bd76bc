"""Fast shortest travel times, distances and paths on one mode graph (scipy csgraph Dijkstra).

A ``Router`` turns a street graph into two CSR matrices once: travel time (s) of
the fastest of any parallel edges, and the length (m) of that same edge. Every
query is one vectorised ``scipy.sparse.csgraph.dijkstra`` call (grouped by unique
origin, chunked to bound memory); distances are lengths along the fastest path,
summed over the predecessor tree by pointer doubling (no per-node path walks).
"""

from __future__ import annotations

from collections import OrderedDict

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .snap import Snapper

# Upper bound on the number of cells of one [origins x nodes] Dijkstra result
# (float64): 2e7 cells = 160 MB, ~5,000 origins on a 4,000-node graph.
MAX_CELLS = 20_000_000
PATH_CACHE_SIZE = 64


class Router:
    """Shortest-path queries on one mode graph, by OSM node id.

    Parameters
    ----------
    graph
        A MultiDiGraph with node ``x``/``y`` (degrees) and edge ``travel_time`` (s)
        and ``length`` (m), e.g. ``City.graph(mode)``.
    mode
        Name of the travel mode (informative).

    Attributes
    ----------
    mode : str
        The travel mode.
    nodes : numpy.ndarray
        OSM node ids (int64) in index order: column order of ``one_to_all``.

    Notes
    -----
    Results are ``inf`` for unreachable pairs (never inside one City graph, which is
    strongly connected). ``path`` caches predecessor arrays for the last
    ``PATH_CACHE_SIZE`` origins.
    """

    def __init__(self, graph: nx.MultiDiGraph, mode: str = "") -> None:
        self.mode = mode
        self.nodes = np.fromiter(graph.nodes, dtype=np.int64, count=len(graph))
        n = self.nodes.size
        self._sorter = np.argsort(self.nodes, kind="stable")
        self._sorted = self.nodes[self._sorter]
        u, v, tt, length = self._edge_arrays(graph)
        # fastest of parallel edges: sort by (u, v, travel_time), keep the first
        order = np.lexsort((tt, v, u))
        u, v, tt, length = u[order], v[order], tt[order], length[order]
        first = np.ones(u.size, dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, tt, length = u[first], v[first], tt[first], length[first]
        indptr = np.searchsorted(u, np.arange(n + 1))
        self._time = csr_matrix((tt, v, indptr), shape=(n, n))
        self._time_t = self._time.T.tocsr()
        self._keys = u.astype(np.int64) * n + v
        self._length = length
        xy = [(d["x"], d["y"]) for _, d in graph.nodes(data=True)]
        lon, lat = (np.array(c, dtype=float) for c in zip(*xy, strict=True)) if xy else (
            np.empty(0), np.empty(0))
        self._lon, self._lat = lon, lat
        self._snapper: Snapper | None = None
        self._pred_cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def _edge_arrays(self, graph: nx.MultiDiGraph) -> tuple[np.ndarray, ...]:
        m = graph.number_of_edges()
        u = np.empty(m, dtype=np.int64)
        v = np.empty(m, dtype=np.int64)
        tt = np.empty(m)
        length = np.empty(m)
        for i, (a, b, d) in enumerate(graph.edges(data=True)):
            u[i], v[i], tt[i], length[i] = a, b, d["travel_time"], d["length"]
        return self.index_of(u), self.index_of(v), tt, length

    def __repr__(self) -> str:
        return f"Router(mode={self.mode!r}, nodes={self.nodes.size}, edges={self._keys.size})"

    # ------------------------------------------------------------------ ids
    def index_of(self, osm_ids: int | np.ndarray) -> np.ndarray:
        """Return the index (row/column in ``nodes`` order) of OSM node ids.

        Raises
        ------
        ValueError
            Naming the first id that is not a node of this graph.
        """
        ids = np.asarray(osm_ids, dtype=np.int64)
        pos = np.searchsorted(self._sorted, ids)
        pos_c = np.clip(pos, 0, max(self._sorted.size - 1, 0))
        bad = (pos >= self._sorted.size) | (self._sorted[pos_c] != ids) if self._sorted.size \
            else np.ones(ids.shape, dtype=bool)
        if np.any(bad):
            unknown = int(ids[bad].ravel()[0])
            msg = f"OSM node {unknown} is not a node of the {self.mode or 'router'} graph"
            raise ValueError(msg)
        return self._sorter[pos_c]

    # ---------------------------------------------------------- pair queries
    def travel_time(self, orig_nodes: int | np.ndarray, dest_nodes: int | np.ndarray
                    ) -> np.ndarray:
        """Fastest travel time (s) for element-wise origin/destination pairs.

        Parameters
        ----------
        orig_nodes, dest_nodes
            OSM node ids, scalars or arrays (broadcast against each other).

        Returns
        -------
        numpy.ndarray
            Seconds, float64, broadcast shape (0-d for two scalars); inf if unreachable.
        """
        return self._pairs(orig_nodes, dest_nodes, want_distance=False)

    def distance(self, orig_nodes: int | np.ndarray, dest_nodes: int | np.ndarray
                 ) -> np.ndarray:
        """Length (m) of the fastest path for element-wise pairs (shapes as ``travel_time``)."""
        return self._pairs(orig_nodes, dest_nodes, want_distance=True)

    def _pairs(self, orig_nodes, dest_nodes, want_distance: bool) -> np.ndarray:
        o, d = np.broadcast_arrays(np.asarray(orig_nodes, dtype=np.int64),
                                   np.asarray(dest_nodes, dtype=np.int64))
        shape = o.shape
        oi, di = self.index_of(o.ravel()), self.index_of(d.ravel())
        out = np.full(oi.size, np.inf)
        uniq, inv = np.unique(oi, return_inverse=True)
        by_origin = np.argsort(inv, kind="stable")
        bounds = np.searchsorted(inv[by_origin], np.arange(uniq.size + 1))
        for start, stop in self._chunks(uniq.size):
            rows = by_origin[bounds[start]:bounds[stop]]
            if want_distance:
                _, dist = self._solve(uniq[start:stop], reverse=False, with_dist=True)
                table = dist
            else:
                table = dijkstra(self._time, indices=uniq[start:stop])
            out[rows] = table[inv[rows] - start, di[rows]]
        return out.reshape(shape)

    def one_to_many(self, orig: int, dests: np.ndarray) -> np.ndarray:
        """Travel times (s) from one origin to each destination, 1-D."""
        return self.many_to_many(np.atleast_1d(orig), dests)[0]

    def many_to_many(self, origs: np.ndarray, dests: np.ndarray) -> np.ndarray:
        """Travel-time matrix (s), shape ``[len(origs), len(dests)]``."""
        oi = self.index_of(np.atleast_1d(origs))
        di = self.index_of(np.atleast_1d(dests))
        uniq, inv = np.unique(oi, return_inverse=True)
        out = np.empty((uniq.size, di.size))
        for start, stop in self._chunks(uniq.size):
            out[start:stop] = dijkstra(self._time, indices=uniq[start:stop])[:, di]
        return out[inv]

    # ------------------------------------------------------- whole-graph queries
    def one_to_all(self, origins: int | np.ndarray, reverse: bool = False
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Travel times (s) and fastest-path distances (m) between origins and every node.

        Parameters
        ----------
        origins
            OSM node id(s); S of them.
        reverse
            False: from each origin to every node. True: from every node TO each
            origin (Dijkstra on the transposed graph).

        Returns
        -------
        time_s, dist_m : numpy.ndarray
            Shape ``[S, N]``, columns in ``nodes`` order.
        """
        idx = self.index_of(np.atleast_1d(origins))
        return self._solve(idx, reverse=reverse, with_dist=True)

    def _solve(self, idx: np.ndarray, reverse: bool, with_dist: bool
               ) -> tuple[np.ndarray, np.ndarray | None]:
        graph = self._time_t if reverse else self._time
        if not with_dist:
            return dijkstra(graph, indices=idx), None
        time_s, pred = dijkstra(graph, indices=idx, return_predecessors=True)
        return time_s, self._tree_lengths(pred, time_s, reverse)

    def _tree_lengths(self, pred: np.ndarray, time_s: np.ndarray, reverse: bool) -> np.ndarray:
        """Sum edge lengths (m) along predecessor trees ``pred[S, N]`` by pointer doubling."""
        n = self.nodes.size
        has = pred >= 0
        cols = np.broadcast_to(np.arange(n, dtype=np.int64), pred.shape)
        p = pred.astype(np.int64)
        # forward tree: edge pred[v] -> v; reverse tree (transposed graph): v -> pred[v]
        keys = cols[has] * n + p[has] if reverse else p[has] * n + cols[has]
        acc = np.zeros(pred.shape)
        acc[has] = self._length[np.searchsorted(self._keys, keys)]
        ptr = np.where(has, p, -1)
        while True:
            valid = ptr >= 0
            if not valid.any():
                break
            safe = np.where(valid, ptr, 0)
            acc = acc + np.where(valid, np.take_along_axis(acc, safe, axis=1), 0.0)
            ptr = np.where(valid, np.take_along_axis(ptr, safe, axis=1), -1)
        acc[~np.isfinite(time_s)] = np.inf
        return acc

    def path(self, orig: int, dest: int) -> list[int]:
        """Fastest path as OSM node ids from ``orig`` to ``dest``; [] if unreachable."""
        o, d = (int(i) for i in self.index_of(np.array([orig, dest])))
        pred = self._pred_cache.get(o)
        if pred is None:
            _, pred = dijkstra(self._time, indices=o, return_predecessors=True)
            self._pred_cache[o] = pred
            if len(self._pred_cache) > PATH_CACHE_SIZE:
                self._pred_cache.popitem(last=False)
        else:
            self._pred_cache.move_to_end(o)
        if o != d and pred[d] < 0:
            return []
        out = [d]
        while out[-1] != o:
            out.append(int(pred[out[-1]]))
        return [int(x) for x in self.nodes[out[::-1]]]

    def nearest_facilities(self, facility_nodes: np.ndarray, k: int = 1,
                           from_nodes: np.ndarray | None = None, reverse: bool = True
                           ) -> tuple[np.ndarray, np.ndarray]:
        """The k fastest facilities for every node (or for ``from_nodes``).

        Parameters
        ----------
        facility_nodes
            OSM node ids of the F facilities (duplicates allowed: the first wins).
        k
            Number of facilities per node (1 <= k <= F).
        from_nodes
            OSM node ids to answer for (M of them); default every node in ``nodes`` order.
        reverse
            True: time FROM the node TO the facility; False: from the facility to the node.

        Returns
        -------
        idx, time_s : numpy.ndarray
            Shape ``[M, k]``: positions in ``facility_nodes`` (-1 if none reachable)
            and travel times (s), nearest first.
        """
        fac = self.index_of(np.atleast_1d(facility_nodes))
        if not 1 <= k <= fac.size:
            msg = f"k={k} must be between 1 and the number of facilities ({fac.size})"
            raise ValueError(msg)
        cols = np.arange(self.nodes.size) if from_nodes is None else self.index_of(
            np.atleast_1d(from_nodes))
        graph = self._time_t if reverse else self._time
        first_pos = np.full(self.nodes.size, -1, dtype=np.int64)
        first_pos[fac[::-1]] = np.arange(fac.size)[::-1]
        if k == 1:
            time_s, _, sources = dijkstra(graph, indices=np.unique(fac), min_only=True,
                                          return_predecessors=True)
            idx = np.where(sources[cols] >= 0, first_pos[np.maximum(sources[cols], 0)], -1)
            return idx[:, None], time_s[cols][:, None]
        uniq = np.unique(fac)
        best_t = np.full((cols.size, 0), np.inf)
        best_i = np.full((cols.size, 0), -1, dtype=np.int64)
        for start, stop in self._chunks(uniq.size):
            block = dijkstra(graph, indices=uniq[start:stop])[:, cols].T
            best_t = np.hstack([best_t, block])
            best_i = np.hstack([best_i, np.broadcast_to(first_pos[uniq[start:stop]], block.shape)])
            kk = min(k, best_t.shape[1])
            part = np.argpartition(best_t, kk - 1, axis=1)[:, :kk]
            best_t = np.take_along_axis(best_t, part, axis=1)
            best_i = np.take_along_axis(best_i, part, axis=1)
        order = np.argsort(best_t, axis=1, kind="stable")
        time_s = np.take_along_axis(best_t, order, axis=1)
        idx = np.where(np.isfinite(time_s), np.take_along_axis(best_i, order, axis=1), -1)
        if idx.shape[1] < k:  # fewer distinct facility nodes than k
            pad = k - idx.shape[1]
            idx = np.hstack([idx, np.full((idx.shape[0], pad), -1)])
            time_s = np.hstack([time_s, np.full((time_s.shape[0], pad), np.inf)])
        return idx, time_s

    def snap(self, lon: float | np.ndarray, lat: float | np.ndarray) -> np.ndarray:
        """OSM ids of the nearest graph nodes to lon/lat (degrees), input shape."""
        if self._snapper is None:
            self._snapper = Snapper(self.nodes, self._lon, self._lat)
        return self._snapper.nearest(lon, lat)[0]

    def _chunks(self, n_origins: int):
        size = max(1, MAX_CELLS // max(self.nodes.size, 1))
        for start in range(0, n_origins, size):
            yield start, min(start + size, n_origins)
