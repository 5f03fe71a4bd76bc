"""The map's fixed layer: pixel projection of a city and its street graph drawn once as a PNG.

The street graph never changes during a run, so it is drawn once per map and
pixel size (matplotlib Agg, cached for the process and shared by every browser
tab) with a scale bar and the OpenStreetMap attribution. Everything that moves
is drawn over it by the browser (see :mod:`citymodel.ui.map_overlay`).
"""

from __future__ import annotations

import io
import math
import threading

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from citymodel.population import project, unproject

MAP_SIZE_PX = 900
PAD_PX = 14
STREET_COLOUR = "#aeb4bd"
LAND_COLOUR = "#f6f5f1"
SCALE_LENGTHS_M = (5000, 2000, 1000, 500, 200, 100, 50, 20)


class MapProjection:
    """Pixel coordinates of a city map: equirectangular metres around the bounding-box centre.

    The centre is the one the model projects homes around (``citymodel.siting.centre_of``),
    so ``x_m, y_m`` of the agents table and lon/lat of facilities land on the same pixels.

    Parameters
    ----------
    bbox
        (west, south, east, north) of the street nodes (degrees).
    size_px
        Length of the image's longer side (pixels); the other follows the map's aspect ratio.
    """

    def __init__(self, bbox: tuple[float, float, float, float], size_px: int = MAP_SIZE_PX) -> None:
        west, south, east, north = bbox
        self.lon0, self.lat0 = (west + east) / 2, (south + north) / 2
        x0, y0 = project(west, south, self.lon0, self.lat0)
        x1, y1 = project(east, north, self.lon0, self.lat0)
        self.x_min, self.y_max = float(x0), float(y1)
        span_x, span_y = max(float(x1 - x0), 1.0), max(float(y1 - y0), 1.0)
        self.px_per_m = (size_px - 2 * PAD_PX) / max(span_x, span_y)
        self.width = int(math.ceil(span_x * self.px_per_m + 2 * PAD_PX))
        self.height = int(math.ceil(span_y * self.px_per_m + 2 * PAD_PX))

    def metres_to_px(self, x_m, y_m) -> tuple[np.ndarray, np.ndarray]:
        """Pixel column and row (row 0 at the top) of points in metres around the centre."""
        px = (np.asarray(x_m, dtype=float) - self.x_min) * self.px_per_m + PAD_PX
        py = (self.y_max - np.asarray(y_m, dtype=float)) * self.px_per_m + PAD_PX
        return px, py

    def to_px(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Pixel column and row of points given in degrees."""
        return self.metres_to_px(*project(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float),
                                          self.lon0, self.lat0))

    def to_lonlat(self, px, py) -> tuple[np.ndarray, np.ndarray]:
        """Degrees of pixel positions (inverse of :meth:`to_px`)."""
        x_m = (np.asarray(px, dtype=float) - PAD_PX) / self.px_per_m + self.x_min
        y_m = self.y_max - (np.asarray(py, dtype=float) - PAD_PX) / self.px_per_m
        return unproject(x_m, y_m, self.lon0, self.lat0)


class NodePixels:
    """Pixel positions of the nodes of one street graph, looked up by OSM id."""

    def __init__(self, graph, projection: MapProjection) -> None:
        ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
        lon = np.array([graph.nodes[n]["x"] for n in ids], dtype=float)
        lat = np.array([graph.nodes[n]["y"] for n in ids], dtype=float)
        order = np.argsort(ids)
        self.ids = ids[order]
        px, py = projection.to_px(lon[order], lat[order])
        self.xy = np.column_stack([px, py])
        self.lon, self.lat = lon[order], lat[order]

    def xy_of(self, osm_ids) -> np.ndarray:
        """[n, 2] pixel positions of the nodes ``osm_ids`` (all must be in the graph)."""
        pos = np.searchsorted(self.ids, np.asarray(osm_ids, dtype=np.int64))
        return self.xy[pos]

    def lonlat_of(self, osm_id: int) -> tuple[float, float]:
        """Degrees of one node."""
        k = int(np.searchsorted(self.ids, osm_id))
        return float(self.lon[k]), float(self.lat[k])


def street_segments(graph, nodes: NodePixels) -> np.ndarray:
    """One pixel segment per street (undirected, parallel edges merged): shape (n, 2, 2)."""
    pairs = {(u, v) if u <= v else (v, u) for u, v in graph.edges() if u != v}
    if not pairs:
        return np.zeros((0, 2, 2))
    arr = np.array(sorted(pairs), dtype=np.int64)
    return np.stack([nodes.xy_of(arr[:, 0]), nodes.xy_of(arr[:, 1])], axis=1)


def scale_bar_length_m(width_m: float) -> int:
    """The longest round length (metres) that fits in a fifth of the map width."""
    return next((length for length in SCALE_LENGTHS_M if width_m / 5 >= length), SCALE_LENGTHS_M[-1])


def draw_background(city, projection: MapProjection) -> bytes:
    """PNG bytes of the streets of ``city`` with a scale bar and the OSM attribution.

    Parameters
    ----------
    city
        A loaded :class:`citymodel.maps.City` (its walking graph is drawn).
    projection
        Pixel geometry of the image (``width`` x ``height`` pixels).
    """
    graph = city.graph("walk")
    segments = street_segments(graph, NodePixels(graph, projection))
    dpi = 100
    fig = Figure(figsize=(projection.width / dpi, projection.height / dpi), dpi=dpi, facecolor=LAND_COLOUR)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, projection.width)
    ax.set_ylim(projection.height, 0)
    ax.set_axis_off()
    ax.add_collection(LineCollection(segments, colors=STREET_COLOUR, linewidths=0.8, capstyle="round"))
    width_m = (projection.width - 2 * PAD_PX) / projection.px_per_m
    length = scale_bar_length_m(width_m)
    bar_px = length * projection.px_per_m
    x0, y0 = PAD_PX + 6, projection.height - PAD_PX - 8
    ax.plot([x0, x0 + bar_px], [y0, y0], color="black", linewidth=3, solid_capstyle="butt")
    ax.text(x0 + bar_px / 2, y0 - 5, f"{length / 1000:g} km" if length >= 1000 else f"{length} m",
            ha="center", va="bottom", fontsize=9,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    notice = city.attribution.split(". ")[0]  # the first sentence (OpenStreetMap); the legend has all of it
    ax.text(projection.width - PAD_PX, projection.height - 4, f"Map data {notice}", ha="right",
            va="bottom", fontsize=8, color="#333333",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor=LAND_COLOUR)
    return buffer.getvalue()


_lock = threading.Lock()
_backgrounds: dict[tuple[str, int], bytes] = {}


def background_png(city, size_px: int = MAP_SIZE_PX) -> bytes:
    """The street background of ``city``: drawn on first use per map and size, then the same bytes."""
    key = (city.checksum, int(size_px))
    with _lock:
        png = _backgrounds.get(key)
        if png is None:
            png = _backgrounds[key] = draw_background(city, MapProjection(city.bbox, size_px))
        return png
