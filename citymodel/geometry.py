"""Small plane geometry on lon/lat for zones and sites: areas, convex clipping, distances to a map's extent.

Areas and clipping work in lon/lat degrees: an equirectangular projection is a
linear map of lon/lat, so *shares* of areas are the same in both. Distances are
in metres (equirectangular around the mean latitude: accurate to < 0.1 % in a city).
"""

from __future__ import annotations

import math

import numpy as np

EARTH_RADIUS_M = 6_371_008.8


def ring_area(ring: np.ndarray) -> float:
    """Signed shoelace area of a ring (degrees²; positive if counter-clockwise)."""
    ring = np.asarray(ring, dtype=float)
    if len(ring) < 3:
        return 0.0
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def bbox_polygon(bbox: tuple[float, float, float, float]) -> np.ndarray:
    """The rectangle (west, south, east, north) as a counter-clockwise ring."""
    west, south, east, north = bbox
    return np.array([[west, south], [east, south], [east, north], [west, north]], dtype=float)


def clip_ring(ring: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Sutherland–Hodgman clip of a ring by a convex counter-clockwise polygon ``window``.

    The result's area is the area of the ring inside the window (the ring may be concave).
    """
    points = [tuple(p) for p in np.asarray(ring, dtype=float)[:, :2]]
    window = np.asarray(window, dtype=float)
    for i in range(len(window)):
        if not points:
            break
        ax, ay = window[i]
        bx, by = window[(i + 1) % len(window)]

        def side(p, ax=ax, ay=ay, bx=bx, by=by) -> float:
            return (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax)

        out = []
        for j, cur in enumerate(points):
            prev = points[j - 1]
            s_cur, s_prev = side(cur), side(prev)
            if (s_cur >= 0) != (s_prev >= 0):
                t = s_prev / (s_prev - s_cur)
                out.append((prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1])))
            if s_cur >= 0:
                out.append(cur)
        points = out
    return np.asarray(points, dtype=float).reshape(-1, 2)


def inside_convex(lon: np.ndarray, lat: np.ndarray, window: np.ndarray) -> np.ndarray:
    """True for points inside (or on) the convex counter-clockwise polygon ``window``."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    inside = np.ones(lon.shape, dtype=bool)
    for i in range(len(window)):
        ax, ay = window[i]
        bx, by = window[(i + 1) % len(window)]
        inside &= (bx - ax) * (lat - ay) - (by - ay) * (lon - ax) >= -1e-12
    return inside


def distance_to_polygon_m(lon: np.ndarray, lat: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Distance (m) from each point to the convex polygon ``window`` (0 inside)."""
    lon, lat = np.atleast_1d(np.asarray(lon, dtype=float)), np.atleast_1d(np.asarray(lat, dtype=float))
    lat0 = math.radians(float(np.mean(window[:, 1])))
    kx, ky = math.radians(1) * EARTH_RADIUS_M * math.cos(lat0), math.radians(1) * EARTH_RADIUS_M
    px, py = lon * kx, lat * ky
    best = np.full(lon.shape, np.inf)
    for i in range(len(window)):
        ax, ay = window[i, 0] * kx, window[i, 1] * ky
        bx, by = window[(i + 1) % len(window), 0] * kx, window[(i + 1) % len(window), 1] * ky
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0) if length2 > 0 else 0.0
        best = np.minimum(best, np.hypot(px - (ax + t * dx), py - (ay + t * dy)))
    return np.where(inside_convex(lon, lat, window), 0.0, best)


def metres_apart(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Equirectangular distance (m) between point pairs."""
    lat0 = np.radians((np.asarray(lat1, dtype=float) + np.asarray(lat2, dtype=float)) / 2)
    dx = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float)) * np.cos(lat0) * EARTH_RADIUS_M
    dy = np.radians(np.asarray(lat2, dtype=float) - np.asarray(lat1, dtype=float)) * EARTH_RADIUS_M
    return np.hypot(dx, dy)


def describe(window: np.ndarray) -> str:
    """A short text of a polygon's extent for messages: its lon/lat range."""
    return (f"lon {window[:, 0].min():.5f}..{window[:, 0].max():.5f}, "
            f"lat {window[:, 1].min():.5f}..{window[:, 1].max():.5f}")
