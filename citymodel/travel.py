"""Travel between homes and facilities, precomputed from the routers and looked up per trip.

For every public workshop the walking time and distance from every walk-graph
node TO the workshop and FROM it are one reverse and one forward
single-source Dijkstra (``Router.one_to_all``). Delivery legs are kept per
*origin node* of the delivery vehicle's graph, not per facility: facilities
that share a node (makers in the same building) share one row, rows are
computed lazily and in batches (one multi-source call for every node added
since the last query), and a city of 500,000 citizens with 10,000 makers needs
at most one row per graph node. A citizen's trip then costs one array look-up,
and its time is exactly the shortest-path time on the street graph.
Times in seconds, distances in metres (stored as float64 for exactness).
"""

from __future__ import annotations

import numpy as np

from citymodel.population import Population
from citymodel.vocabulary import GRAPH_OF_MODE

__all__ = ["GRAPH_OF_MODE", "ImportLastMile", "TravelTables"]


class ImportLastMile:
    """Van legs from the import depot to homes: ``legs(who) -> (time_s, dist_m, destination nodes)``.

    Parameters
    ----------
    time_s, dist_m
        Travel time (s) and distance (m) from the depot to every van-graph node (router order).
    home_van_idx
        Each citizen's home in router order of the van graph.
    home_van_nodes
        Each citizen's home node (OSM id) in the van graph.
    """

    def __init__(self, time_s: np.ndarray, dist_m: np.ndarray, home_van_idx: np.ndarray,
                 home_van_nodes: np.ndarray) -> None:
        self.time_s = time_s
        self.dist_m = dist_m
        self.home_van_idx = home_van_idx
        self.home_van_nodes = home_van_nodes

    def __call__(self, who: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = self.home_van_idx[who]
        return self.time_s[idx], self.dist_m[idx], self.home_van_nodes[who]


class TravelTables:
    """Home <-> facility travel times for one model.

    Parameters
    ----------
    city
        The loaded city (routers per mode).
    population
        Citizens (``home_node`` in the walk graph).
    config
        The run configuration (``platform.delivery_mode``).
    """

    def __init__(self, city, population: Population, config) -> None:
        self.city = city
        self.delivery_mode = config.platform.delivery_mode
        self.walk = city.router("walk")
        self.delivery = city.router(self.delivery_mode)
        self.van = city.router("van")
        walk_graph = city.graph("walk")
        homes = population.home_node
        self.home_walk_idx = self.walk.index_of(homes)
        # Node coordinates in router order (Router.nodes is graph.nodes order), looked up per home.
        node_xy = np.array([(d["x"], d["y"]) for _, d in walk_graph.nodes(data=True)], dtype=float).reshape(-1, 2)
        lon = node_xy[self.home_walk_idx, 0]
        lat = node_xy[self.home_walk_idx, 1]
        self.home_nodes_by_graph = {"walk": homes.astype(np.int64)}
        for graph in ("bike", "van"):
            self.home_nodes_by_graph[graph] = np.asarray(city.router(graph).snap(lon, lat), dtype=np.int64)
        self.home_delivery_node = self.home_nodes_by_graph[GRAPH_OF_MODE[self.delivery_mode]]
        self.home_delivery_idx = self.delivery.index_of(self.home_delivery_node)
        self.home_van_idx = self.van.index_of(self.home_nodes_by_graph["van"])
        self._walk_to: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._walk_from: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # Delivery legs by origin node: row r of _d_time/_d_dist is from node _d_nodes[r] to every node.
        n_nodes = self.delivery.nodes.size
        self._d_row_of_node: dict[int, int] = {}
        self._d_nodes: list[int] = []
        self._d_time = np.empty((0, n_nodes))
        self._d_dist = np.empty((0, n_nodes))
        # The time table again, node-major (home node x origin row): one citizen's candidates are one row.
        self._d_time_by_home = np.empty((n_nodes, 0))
        self._d_filled = 0
        self._delivery_row: dict[int, int] = {}
        self.dijkstra_sources = 0
        """Single-source shortest-path trees computed so far (walk and delivery)."""

    def home_nodes(self, citizen: int) -> dict[str, int]:
        """The citizen's home node in each graph."""
        return {g: int(nodes[citizen]) for g, nodes in self.home_nodes_by_graph.items()}

    def facility_node(self, facility, mode: str) -> int:
        """The facility's node in the graph used by ``mode``."""
        return int(facility.nodes[GRAPH_OF_MODE[mode]])

    def add_facility(self, facility) -> None:
        """Precompute the walking (public workshops) and delivery (platform) legs of ``facility``."""
        from citymodel.agents import PublicWorkshop

        fid = facility.facility_id
        if isinstance(facility, PublicWorkshop):
            node = facility.nodes["walk"]
            t, d = self.walk.one_to_all(node, reverse=True)
            self._walk_to[fid] = (t[0], d[0])
            t, d = self.walk.one_to_all(node, reverse=False)
            self._walk_from[fid] = (t[0], d[0])
            self.dijkstra_sources += 2
        if facility.takes_platform_orders:
            self._delivery_row[fid] = self.delivery_row_of_node(self.facility_node(facility, self.delivery_mode))

    def delivery_row_of_node(self, node: int) -> int:
        """Row of the delivery tables for origin OSM ``node`` (allocated now, computed on first use)."""
        row = self._d_row_of_node.get(node)
        if row is None:
            row = self._d_row_of_node[node] = len(self._d_nodes)
            self._d_nodes.append(node)
        return row

    def delivery_row(self, facility) -> int:
        """Row of the delivery tables holding the legs from ``facility`` (see :meth:`delivery_times`)."""
        return self._delivery_row[facility.facility_id]

    def _fill_delivery_rows(self) -> None:
        """Compute the rows allocated since the last call: one batched multi-source Dijkstra per chunk."""
        n_rows = len(self._d_nodes)
        if self._d_filled == n_rows:
            return
        capacity = self._d_time.shape[0]
        if n_rows > capacity:
            new_cap = max(n_rows, 2 * capacity, 16)
            for name in ("_d_time", "_d_dist"):
                old = getattr(self, name)
                grown = np.empty((new_cap, old.shape[1]))
                grown[: self._d_filled] = old[: self._d_filled]
                setattr(self, name, grown)
            grown = np.empty((self._d_time.shape[1], new_cap))
            grown[:, : self._d_filled] = self._d_time_by_home[:, : self._d_filled]
            self._d_time_by_home = grown
        chunk = 256
        for start in range(self._d_filled, n_rows, chunk):
            stop = min(start + chunk, n_rows)
            t, d = self.delivery.one_to_all(np.asarray(self._d_nodes[start:stop], dtype=np.int64))
            self._d_time[start:stop] = t
            self._d_dist[start:stop] = d
            self._d_time_by_home[:, start:stop] = t.T
        self.dijkstra_sources += n_rows - self._d_filled
        self._d_filled = n_rows

    def delivery_times(self, rows: np.ndarray, citizen: int) -> np.ndarray:
        """Delivery time (s) from the origins of table ``rows`` to the citizen's home (one gather)."""
        self._fill_delivery_rows()
        return self._d_time_by_home[self.home_delivery_idx[citizen]].take(rows)

    def delivery_times_many(self, rows: np.ndarray, citizens: np.ndarray) -> np.ndarray:
        """Delivery times (s) [citizens, rows] from the origins of table ``rows`` to each citizen's home."""
        self._fill_delivery_rows()
        return self._d_time_by_home[np.ix_(self.home_delivery_idx[citizens], rows)]

    def nearest_walk(self, workshops: list, machine: str | None) -> tuple[np.ndarray, np.ndarray]:
        """For every citizen: index (into ``workshops``) of the fastest-to-walk-to workshop with ``machine``
        (any machine if None) and the walking time (s); −1 and inf where none is reachable."""
        n = len(self.home_walk_idx)
        best_time = np.full(n, np.inf)
        best = np.full(n, -1, dtype=np.int64)
        for k, w in enumerate(workshops):
            if machine is not None and machine not in w.pools:
                continue
            t = self._walk_to[w.facility_id][0][self.home_walk_idx]
            better = t < best_time
            best_time[better] = t[better]
            best[better] = k
        return best, best_time

    def walk_home_to(self, workshop, citizen: int) -> tuple[float, float]:
        """Walking time (s) and distance (m) from the citizen's home to ``workshop``."""
        t, d = self._walk_to[workshop.facility_id]
        i = self.home_walk_idx[citizen]
        return float(t[i]), float(d[i])

    def walk_workshop_to_home(self, workshop, citizen: int) -> tuple[float, float]:
        """Walking time (s) and distance (m) from ``workshop`` to the citizen's home."""
        t, d = self._walk_from[workshop.facility_id]
        i = self.home_walk_idx[citizen]
        return float(t[i]), float(d[i])

    def delivery_to_home(self, facilities: list, citizen: int) -> tuple[np.ndarray, np.ndarray]:
        """Delivery time (s) and distance (m) from each facility to the citizen's home."""
        self._fill_delivery_rows()
        i = self.home_delivery_idx[citizen]
        rows = np.array([self._delivery_row[f.facility_id] for f in facilities], dtype=np.int64)
        return self._d_time[rows, i], self._d_dist[rows, i]

    def delivery_leg(self, facility, citizen: int) -> tuple[float, float, int, int]:
        """(time s, distance m, origin node, destination node) of delivering from ``facility`` to a home."""
        self._fill_delivery_rows()
        row = self._delivery_row[facility.facility_id]
        i = self.home_delivery_idx[citizen]
        return (float(self._d_time[row, i]), float(self._d_dist[row, i]),
                self.facility_node(facility, self.delivery_mode), int(self.home_delivery_node[citizen]))

    def import_last_mile(self, depot_node: int) -> ImportLastMile:
        """The van legs from the import depot at ``depot_node`` to every home (one Dijkstra)."""
        t, d = self.van.one_to_all(depot_node)
        self.dijkstra_sources += 1
        return ImportLastMile(t[0], d[0], self.home_van_idx, self.home_nodes_by_graph["van"])
