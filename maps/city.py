"""The City: one loaded map with its per-mode street graphs, POIs and routers."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from citymodel.errors import MapError

from .graph_build import (
    BASE_MODES,
    CARGO_BIKE_SPEED_KPH,
    StreetNetwork,
    mode_graph,
    mode_nodes,
)
from .graphml_io import OPTIONAL_META, is_graphml, write_city_graphml
from .pois import count_by_kind
from .router import Router

ATTRIBUTION = "© OpenStreetMap contributors, ODbL"
MODES = BASE_MODES
# extra modes that reuse a base graph at another speed (km/h)
DERIVED_MODES = {"cargo_bike": ("bike", CARGO_BIKE_SPEED_KPH)}
# what a mode's graph is made of, for error messages
MODE_STREETS = {
    "walk": "walkable highway=* ways (footway, pedestrian, residential, ...)",
    "bike": "highway=* ways open to bicycles (cycleway, residential, ...)",
    "van": "highway=* roads open to motor vehicles (residential, tertiary, service, ...)",
}


class City:
    """A street map of one city: mode graphs, points of interest and routers.

    Attributes
    ----------
    source : str
        "default", an absolute file path, or "place:<name>".
    name : str
        Short human name.
    checksum : str
        "sha256:<hex>" of the loaded file's bytes.
    attribution : str
        Data licence notice to show with any output.
    pois : pandas.DataFrame
        One row per POI (see ``citymodel.maps.pois``) with ``node_walk``,
        ``node_bike``, ``node_van``: nearest node of that mode's graph (-1 if the
        map has no graph for the mode).
    metadata : dict
        Source file name, its sha256, created_by and, when the map file gives them, ``place``,
        ``licence``, ``currency`` (ISO 4217 code of the place, e.g. "GBP"), ``currency_symbol``
        ("£"), ``price_level`` (whether the model's £ prices apply there) and ``sources`` (JSON).
    zones : citymodel.zones.Zones or None
        Areas shipped with the map (e.g. LSOAs with population and IMD deciles), None if it has none.

    Notes
    -----
    ``graph(mode)`` and ``router(mode)`` are built on first use and cached: do not
    modify a returned graph in place (copy it first), the router was built from it.
    """

    def __init__(self, source: str, name: str, checksum: str, network: StreetNetwork,
                 pois: pd.DataFrame, metadata: dict[str, str] | None = None,
                 attribution: str = ATTRIBUTION, zones=None) -> None:
        self.source = source
        self.name = name
        self.checksum = checksum
        self.attribution = attribution
        self.network = network
        self.pois = pois
        self.metadata = dict(metadata or {})
        self.zones = zones
        self._extent: np.ndarray | None = None
        self._graphs: dict[str, nx.MultiDiGraph] = {}
        self._routers: dict[str, Router] = {}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{m}={self.network.stats.get(m, {}).get('nodes', 0)}" for m in MODES)
        return (f"City({self.name!r}, source={self.source!r}, nodes: {sizes}, "
                f"pois={len(self.pois)})")

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the street nodes, degrees."""
        x, y = self.network.nodes["x"], self.network.nodes["y"]
        return float(x.min()), float(y.min()), float(x.max()), float(y.max())

    @property
    def extent(self) -> np.ndarray:
        """The area the streets cover: convex hull of the walk-graph nodes (counter-clockwise ring, lon/lat).

        Falls back to the bounding box if the nodes are collinear. Zones count their residents by the
        share of their area inside it; user sites must lie inside it.
        """
        if self._extent is None:
            from scipy.spatial import ConvexHull, QhullError

            ids = mode_nodes(self.network, "walk")
            xy = self.network.nodes.loc[ids, ["x", "y"]].to_numpy(dtype=float) if ids.size else np.empty((0, 2))
            try:
                self._extent = xy[ConvexHull(xy).vertices]
            except (QhullError, ValueError):
                west, south, east, north = self.bbox
                self._extent = np.array([[west, south], [east, south], [east, north], [west, north]])
        return self._extent

    def _check_mode(self, mode: str) -> tuple[str, float | None]:
        base, speed = DERIVED_MODES.get(mode, (mode, None))
        if base not in MODES:
            known = ", ".join((*MODES, *DERIVED_MODES))
            msg = f"unknown travel mode {mode!r}; expected one of {known}"
            raise MapError(msg)
        if self.network.stats.get(base, {}).get("edges", 0) == 0:
            msg = (f"map {self.source} has no streets usable by mode {mode!r}; "
                   f"expected {MODE_STREETS[base]}")
            raise MapError(msg)
        return base, speed

    def has_mode(self, mode: str) -> bool:
        """Return True if the map has a (non-empty) graph for ``mode``."""
        try:
            self._check_mode(mode)
        except MapError:
            return False
        return True

    def graph(self, mode: str) -> nx.MultiDiGraph:
        """The mode's street graph: usable ways only, largest strongly connected component.

        Parameters
        ----------
        mode
            "walk", "bike", "van", or "cargo_bike" (bike graph at cargo-bike speed).

        Raises
        ------
        MapError
            If the mode is unknown or the map has no streets usable by it.
        """
        if mode not in self._graphs:
            base, speed = self._check_mode(mode)
            self._graphs[mode] = mode_graph(self.network, base, speed_kph=speed,
                                            name=self.name)
        return self._graphs[mode]

    def graph_stats(self, mode: str) -> dict:
        """Graph size and SCC filter results for one mode.

        Returns
        -------
        dict
            ``nodes``, ``edges`` (directed), ``km_street`` (km; each two-way street
            counted once), ``kept_node_share``/``kept_edge_share`` (0..1, share kept by
            the SCC filter), ``dropped_nodes``, ``dropped_edges``.
        """
        base = DERIVED_MODES.get(mode, (mode, None))[0]
        if base not in MODES:
            self._check_mode(mode)
        return dict(self.network.stats.get(base, {}))

    def router(self, mode: str) -> Router:
        """The cached ``Router`` of one mode (built on first use)."""
        if mode not in self._routers:
            self._routers[mode] = Router(self.graph(mode), mode=mode)
        return self._routers[mode]

    def poi_counts(self) -> dict[str, int]:
        """POI counts by kind; every kind of ``POI_KINDS`` is a key (0 if none)."""
        return count_by_kind(self.pois)

    def poi_nodes(self, kinds: str | tuple[str, ...], mode: str) -> np.ndarray:
        """OSM node ids (mode graph) of the POIs of the given kind(s), in poi_id order."""
        kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        column = f"node_{DERIVED_MODES.get(mode, (mode, None))[0]}"
        return self.pois.loc[self.pois["kind"].isin(kinds), column].to_numpy(dtype=np.int64)

    def save(self, path: str | Path) -> Path:
        """Write the city in the project's GraphML format (.graphml or .graphml.gz).

        Returns
        -------
        pathlib.Path
            The absolute path written.
        """
        out = Path(path).expanduser().resolve()
        if not is_graphml(out):
            msg = f"cannot save map to {out}: expected a .graphml or .graphml.gz file name"
            raise MapError(msg)
        meta = {"attribution": self.attribution, "source": self.source, "name": self.name,
                "source_file": self.metadata.get("source_file", ""),
                "source_sha256": self.metadata.get("source_sha256", "")}
        meta.update({key: self.metadata.get(key, "") for key in OPTIONAL_META if key != "zones"})
        meta["zones"] = self.zones.to_json() if self.zones is not None else ""
        write_city_graphml(out, self.network, self.pois, meta)
        return out
