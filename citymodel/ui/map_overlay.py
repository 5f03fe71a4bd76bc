"""What moves on the map, as small arrays per step: facility loads, home stages, trips on their routes.

The overlay of one moment is a plain dict (JSON-ready, pixel coordinates)
that the browser draws over the cached street background and that the GIF
export draws again with Pillow:

``facilities``
    ``[x, y, radius, kind index, busy share]`` per facility (radius grows with
    the current load: machines running plus jobs queued).
``home_stage``
    One digit per home (citizens aggregated by home node): the most advanced
    adoption stage among its residents (0 unaware … 3 maker).
``trips``
    ``[purpose index, head x, head y, x0, y0, x1, y1, …]`` per trip under way
    in the last simulated hour: its routed path (``Router.path``) and where the
    traveller is at the current minute.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from citymodel.report import KIND_STYLE
from citymodel.ui.map_background import MapProjection, NodePixels
from citymodel.vocabulary import GRAPH_OF_MODE, TRIP_PURPOSES

KINDS = tuple(KIND_STYLE)
"""Facility kinds in the order of their index in the overlay."""

TRIP_WINDOW_MIN = 60.0
PATH_CACHE_SIZE = 4096
PATH_LOCK = threading.Lock()


class HomeLayer:
    """Citizens grouped by home node: where each home is drawn, how big, and its residents.

    Parameters
    ----------
    home_node
        Home node (walk graph OSM id) of every citizen.
    nodes
        Pixel positions of the walk graph's nodes.
    """

    def __init__(self, home_node: np.ndarray, nodes: NodePixels) -> None:
        self.node_ids, citizen_home = np.unique(np.asarray(home_node, dtype=np.int64), return_inverse=True)
        self.citizen_home = citizen_home.ravel()
        self._order = np.argsort(self.citizen_home, kind="stable")
        self.counts = np.bincount(self.citizen_home, minlength=self.node_ids.size)
        self._starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        self.xy = nodes.xy_of(self.node_ids)
        self.radius = np.minimum(1.6 + 0.55 * np.sqrt(self.counts), 7.0)

    def __len__(self) -> int:
        return int(self.node_ids.size)

    def stage_of_homes(self, stage: np.ndarray) -> np.ndarray:
        """The most advanced stage code among the residents of each home (uint8)."""
        return np.maximum.reduceat(np.asarray(stage)[self._order], self._starts).astype(np.uint8)

    def residents(self, home: int) -> np.ndarray:
        """Citizen ids living at home ``home`` (index into this layer)."""
        start = self._starts[home]
        return self._order[start:start + self.counts[home]]

    def static_layer(self) -> dict[str, list[float]]:
        """Positions and radii for the browser (sent once per model)."""
        return {"xy": np.round(self.xy, 1).ravel().tolist(), "r": np.round(self.radius, 2).tolist()}


class PathCache:
    """Routed trip paths in pixels, with cumulative length for placing a traveller by time."""

    def __init__(self, city, nodes_by_graph: dict[str, NodePixels]) -> None:
        self.city = city
        self.nodes_by_graph = nodes_by_graph
        self._paths: OrderedDict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def path(self, mode: str, origin: int, destination: int) -> tuple[np.ndarray, np.ndarray]:
        """([k, 2] pixel points, [k] cumulative length in pixels) of the fastest path by ``mode``."""
        key = (mode, int(origin), int(destination))
        hit = self._paths.get(key)
        if hit is not None:
            self._paths.move_to_end(key)
            return hit
        with PATH_LOCK:  # the routers (and their path caches) are shared by every tab
            nodes = self.city.router(mode).path(int(origin), int(destination))
        xy = self.nodes_by_graph[GRAPH_OF_MODE[mode]].xy_of(nodes) if nodes else np.zeros((0, 2))
        steps = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
        hit = (xy, np.concatenate([[0.0], np.cumsum(steps)]))
        self._paths[key] = hit
        if len(self._paths) > PATH_CACHE_SIZE:
            self._paths.popitem(last=False)
        return hit


def position_along(xy: np.ndarray, cumulative: np.ndarray, fraction: float) -> tuple[float, float]:
    """The point at ``fraction`` (0..1) of the way along a polyline."""
    if len(xy) == 0:
        return float("nan"), float("nan")
    if len(xy) == 1 or cumulative[-1] <= 0:
        return float(xy[0, 0]), float(xy[0, 1])
    target = min(max(fraction, 0.0), 1.0) * cumulative[-1]
    k = int(np.clip(np.searchsorted(cumulative, target, side="right") - 1, 0, len(xy) - 2))
    seg = cumulative[k + 1] - cumulative[k]
    t = 0.0 if seg <= 0 else (target - cumulative[k]) / seg
    point = xy[k] + t * (xy[k + 1] - xy[k])
    return float(point[0]), float(point[1])


def facility_load(facility) -> tuple[int, int, int]:
    """(machines running a batch, jobs queued, machines) of a facility now."""
    running = sum(len(pool.running) for pool in facility.pools.values())
    queued = sum(len(pool.queue) for pool in facility.pools.values())
    return running, queued, facility.machines


class MapOverlay:
    """Builds the moving layer of one model's map, step after step.

    Parameters
    ----------
    model
        The running :class:`~citymodel.model.CityModel`.
    projection
        Pixel geometry of the map.
    """

    def __init__(self, model, projection: MapProjection) -> None:
        self.model = model
        self.projection = projection
        city = model.city
        self.nodes = {g: NodePixels(city.graph(g), projection) for g in ("walk", "bike", "van") if city.has_mode(g)}
        self.homes = HomeLayer(model.population.home_node, self.nodes["walk"])
        self.paths = PathCache(city, self.nodes)
        self._facility_xy: dict[int, tuple[float, float]] = {}

    def facility_xy(self, facility) -> tuple[float, float]:
        """Pixel position of a facility (its lon/lat, else its walk node: makers at home)."""
        xy = self._facility_xy.get(facility.facility_id)
        if xy is None:
            if np.isfinite(facility.lon) and np.isfinite(facility.lat):
                px, py = self.projection.to_px(facility.lon, facility.lat)
            else:
                px, py = self.nodes["walk"].xy_of([facility.nodes["walk"]])[0]
            xy = self._facility_xy[facility.facility_id] = (float(px), float(py))
        return xy

    def facilities(self) -> list[list[float]]:
        """``[x, y, radius, kind index, busy share]`` per facility, in facility id order."""
        out = []
        for facility in self.model.facilities:
            running, queued, machines = facility_load(facility)
            x, y = self.facility_xy(facility)
            radius = 4.0 + 2.2 * np.sqrt(running + queued)
            kind = KINDS.index(facility.kind) if facility.kind in KINDS else len(KINDS)
            out.append([round(x, 1), round(y, 1), round(float(radius), 1), kind,
                        round(running / machines, 2) if machines else 0.0])
        return out

    def trips(self, now: float | None = None) -> list[list[float]]:
        """Trips under way in the simulated hour before ``now`` (minutes; default the model's time).

        Each is ``[purpose index, head x, head y, path x0, y0, ...]``: the routed path and
        where the traveller is at ``now`` (at the destination once arrived).
        """
        now = self.model.now if now is None else now
        frame = self.model.trips.to_frame()
        if frame.empty:
            return []
        dep = frame["departure_min"].to_numpy()
        arr = frame["arrival_min"].to_numpy()
        active = np.flatnonzero((dep <= now) & (arr >= now - TRIP_WINDOW_MIN))
        out = []
        for row in frame.iloc[active].itertuples(index=False):
            xy, cumulative = self.paths.path(str(row.mode), row.origin_node, row.destination_node)
            if len(xy) == 0:
                continue
            span = row.arrival_min - row.departure_min
            fraction = 1.0 if span <= 0 else (now - row.departure_min) / span
            head = position_along(xy, cumulative, fraction)
            purpose = TRIP_PURPOSES.index(str(row.purpose)) if str(row.purpose) in TRIP_PURPOSES else 0
            out.append([purpose, round(head[0], 1), round(head[1], 1), *np.round(xy, 1).ravel().tolist()])
        return out

    def state(self) -> dict[str, Any]:
        """The overlay of the model's current moment (see the module docstring)."""
        stages = self.homes.stage_of_homes(self.model.population.stage)
        return {
            "hour": int(round(self.model.now / 60.0)),
            "facilities": self.facilities(),
            "home_stage": "".join(map(str, stages.tolist())),
            "trips": self.trips(),
        }

    def pick(self, px: float, py: float, tolerance_px: float = 6.0) -> tuple[str, int] | None:
        """What a click at pixel (px, py) hits: ("facility", id), ("home", index) or None.

        A facility wins when the click is within its drawn radius plus ``tolerance_px``;
        otherwise the nearest home within ``tolerance_px`` of its edge.
        """
        best: tuple[float, int] | None = None
        for facility, drawn in zip(self.model.facilities, self.facilities(), strict=True):
            d = float(np.hypot(drawn[0] - px, drawn[1] - py)) - drawn[2]
            if d <= tolerance_px and (best is None or d < best[0]):
                best = (d, facility.facility_id)
        if best is not None:
            return "facility", best[1]
        d = np.hypot(self.homes.xy[:, 0] - px, self.homes.xy[:, 1] - py) - self.homes.radius
        k = int(np.argmin(d)) if len(d) else -1
        if k >= 0 and d[k] <= tolerance_px:
            return "home", k
        return None

