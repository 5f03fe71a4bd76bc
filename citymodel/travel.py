"""Travel between homes and facilities, precomputed once per facility from the routers.

For every public workshop the walking time and distance from every walk-graph
node TO the workshop and FROM it are one reverse and one forward
single-source Dijkstra (``Router.one_to_all``); for every facility that takes
platform orders, the delivery leg from it to every node of the delivery
vehicle's graph is one forward pass. A citizen's trip then costs one array
look-up, and its time is exactly the shortest-path time on the street graph.
Times in seconds, distances in metres (stored as float64 for exactness).
"""

from __future__ import annotations

import numpy as np

from citymodel.population import Population

GRAPH_OF_MODE = {"walk": "walk", "bike": "bike", "cargo_bike": "bike", "van": "van"}


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
        lon = np.array([walk_graph.nodes[int(n)]["x"] for n in homes])
        lat = np.array([walk_graph.nodes[int(n)]["y"] for n in homes])
        self.home_walk_idx = self.walk.index_of(homes)
        self.home_nodes_by_graph = {"walk": homes.astype(np.int64)}
        for graph in ("bike", "van"):
            self.home_nodes_by_graph[graph] = np.asarray(city.router(graph).snap(lon, lat), dtype=np.int64)
        self.home_delivery_node = self.home_nodes_by_graph[GRAPH_OF_MODE[self.delivery_mode]]
        self.home_delivery_idx = self.delivery.index_of(self.home_delivery_node)
        self.home_van_idx = self.van.index_of(self.home_nodes_by_graph["van"])
        self._walk_to: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._walk_from: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._delivery_from: dict[int, tuple[np.ndarray, np.ndarray]] = {}

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
        if facility.takes_platform_orders:
            t, d = self.delivery.one_to_all(self.facility_node(facility, self.delivery_mode))
            self._delivery_from[fid] = (t[0], d[0])

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
        i = self.home_delivery_idx[citizen]
        time_s = np.array([self._delivery_from[f.facility_id][0][i] for f in facilities])
        dist_m = np.array([self._delivery_from[f.facility_id][1][i] for f in facilities])
        return time_s, dist_m

    def delivery_leg(self, facility, citizen: int) -> tuple[float, float, int, int]:
        """(time s, distance m, origin node, destination node) of delivering from ``facility`` to a home."""
        t, d = self._delivery_from[facility.facility_id]
        i = self.home_delivery_idx[citizen]
        return (float(t[i]), float(d[i]), self.facility_node(facility, self.delivery_mode),
                int(self.home_delivery_node[citizen]))

    def import_last_mile(self, depot_node: int):
        """A function ``who -> (time_s, dist_m, dest_nodes)`` of van legs from the import depot to homes."""
        t, d = self.van.one_to_all(depot_node)
        t, d = t[0], d[0]
        van_nodes = self.home_nodes_by_graph["van"]
        van_idx = self.home_van_idx

        def leg(who: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return t[van_idx[who]], d[van_idx[who]], van_nodes[who]

        return leg
