"""Income from a zones file: areas with an income or a deprivation decile (e.g. England's IMD by LSOA).

Two formats are read:

* **GeoJSON** (``.geojson``/``.json``): a FeatureCollection of Polygon or
  MultiPolygon features in lon/lat (WGS84), each with a property ``income``
  (£/year, mean disposable income of the area) or ``decile`` /
  ``imd_decile`` (1 = most deprived tenth … 10 = least deprived).
* **CSV** (``.csv``): one row per area with ``lon``, ``lat`` (a representative
  point, e.g. the population-weighted centroid) and ``income`` or ``decile`` /
  ``imd_decile``; each home takes the area of the nearest point.

A home inside no polygon takes the polygon whose centroid is nearest (counted
and reported). A zones file that misses the map altogether — no home inside any
polygon, or (CSV) no zone point within :data:`MAX_POINT_DISTANCE_M` of any
home — is refused with one line (a file of another city, or lon/lat swapped).

Within an area, incomes vary: with ``income`` the citizen draws
``income * lognormal(0, within_sigma)`` (mean-preserving); with a decile ``d``
the citizen draws a quantile ``u`` uniformly in ``((d-1)/10, d/10]`` of the
city-wide lognormal income distribution (median and sigma from the
configuration), so deciles keep their rank meaning.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.path import Path as PolygonPath
from scipy.spatial import cKDTree
from scipy.stats import norm

from citymodel.errors import ConfigError
from citymodel.paths import user_path

INCOME_FIELDS = ("income",)
MAX_POINT_DISTANCE_M = 10_000.0
"""A CSV zones file whose points are all farther than this from every home misses the map (metres)."""
EARTH_RADIUS_M = 6_371_000.0
DECILE_FIELDS = ("decile", "imd_decile")


@dataclass
class Zones:
    """Areas with an income (£/year) or a deprivation decile (1..10).

    Attributes
    ----------
    name
        File the zones came from.
    polygons
        One list of rings per area (GeoJSON), or None for point zones (CSV).
    points
        (lon, lat) representative point per area, degrees.
    income
        Mean income per area (£/year), NaN where a decile is given.
    decile
        Deprivation decile per area (1 most deprived … 10), 0 where an income is given.
    """

    name: str
    polygons: list[list[np.ndarray]] | None
    points: np.ndarray
    income: np.ndarray
    decile: np.ndarray

    def __len__(self) -> int:
        return len(self.points)

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, int]:
        """Zone index of each (lon, lat) point and how many fell outside every polygon."""
        xy = np.column_stack([lon, lat])
        zone = np.full(len(xy), -1, dtype=np.int64)
        if self.polygons is not None:
            for k, rings in enumerate(self.polygons):
                todo = zone < 0
                if not todo.any():
                    break
                inside = np.zeros(int(todo.sum()), dtype=bool)
                for ring in rings:
                    inside ^= PolygonPath(ring).contains_points(xy[todo])
                zone[np.flatnonzero(todo)[inside]] = k
        outside = zone < 0
        if outside.any():
            _, nearest = cKDTree(self.points).query(xy[outside])
            zone[outside] = nearest
        n_outside = int(outside.sum()) if self.polygons is not None else 0
        return zone, n_outside


def _value(props: dict, where: str) -> tuple[float, int]:
    for key in INCOME_FIELDS:
        if props.get(key) not in (None, ""):
            try:
                income = float(props[key])
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: '{key}' = {props[key]!r}, expected a number (£/year)") from None
            if not (income > 0 and np.isfinite(income)):
                raise ConfigError(f"{where}: '{key}' = {props[key]!r}, expected a positive income (£/year)")
            return income, 0
    for key in DECILE_FIELDS:
        if props.get(key) not in (None, ""):
            try:
                decile = float(props[key])
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: '{key}' = {props[key]!r}, expected a decile 1..10") from None
            if not (decile.is_integer() and 1 <= decile <= 10):
                raise ConfigError(f"{where}: '{key}' = {props[key]!r}, expected a decile 1..10")
            return float("nan"), int(decile)
    fields = ", ".join((*INCOME_FIELDS, *DECILE_FIELDS))
    raise ConfigError(f"{where}: no income field, expected one of {fields}")


def _rings(geometry: dict, where: str) -> list[np.ndarray]:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise ConfigError(f"{where}: geometry type {kind!r}, expected Polygon or MultiPolygon (lon/lat)")
    rings = []
    try:
        for polygon in polygons:
            for ring in polygon:
                arr = np.asarray(ring, dtype=float)[:, :2]
                if len(arr) >= 3:
                    rings.append(arr)
    except (TypeError, ValueError, IndexError):
        raise ConfigError(f"{where}: coordinates are not lists of [lon, lat] pairs") from None
    if not rings:
        raise ConfigError(f"{where}: polygon has no ring with 3 or more points")
    return rings


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_zones(path: str | Path) -> Zones:
    """Read a GeoJSON or CSV zones file; one-line :class:`ConfigError` naming the file on bad input."""
    path = user_path(path)
    if not path.is_file():
        raise ConfigError(f"zones file {path}: not found (expected a .geojson or .csv file)")
    if path.stat().st_size == 0:
        raise ConfigError(f"zones file {path}: is empty (0 bytes), expected GeoJSON or CSV zones")
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return _read_geojson(path)
    if suffix == ".csv":
        return _read_csv(path)
    raise ConfigError(f"zones file {path}: unknown extension {suffix!r}, expected .geojson, .json or .csv")


def _read_geojson(path: Path) -> Zones:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"zones file {path}: not valid JSON ({exc})") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not features or not isinstance(features, list):
        raise ConfigError(f"zones file {path}: expected a GeoJSON FeatureCollection with features")
    polygons, points, incomes, deciles = [], [], [], []
    for i, feature in enumerate(features):
        where = f"zones file {path}, feature {i}"
        if not isinstance(feature, dict):
            raise ConfigError(f"{where}: {type(feature).__name__} {_short(feature)}, expected a GeoJSON Feature object")
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise ConfigError(f"{where}: properties = {_short(properties)}, expected an object with income or decile")
        rings = _rings(feature.get("geometry") or {}, where)
        income, decile = _value(properties, where)
        polygons.append(rings)
        points.append(rings[0].mean(axis=0))
        incomes.append(income)
        deciles.append(decile)
    return Zones(str(path), polygons, np.asarray(points), np.asarray(incomes), np.asarray(deciles))


def _read_csv(path: Path) -> Zones:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"zones file {path}: not a readable CSV ({exc})") from None
    if not rows or not {"lon", "lat"} <= set(rows[0]):
        raise ConfigError(f"zones file {path}: expected CSV columns lon, lat and income or decile")
    points, incomes, deciles = [], [], []
    for i, row in enumerate(rows, start=2):
        where = f"zones file {path}, line {i}"
        try:
            lon, lat = float(row["lon"]), float(row["lat"])
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: lon/lat = {row['lon']!r}/{row['lat']!r}, expected degrees") from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ConfigError(f"{where}: lon/lat = {lon}/{lat}, expected WGS84 degrees")
        income, decile = _value(row, where)
        points.append((lon, lat))
        incomes.append(income)
        deciles.append(decile)
    return Zones(str(path), None, np.asarray(points), np.asarray(incomes), np.asarray(deciles))


def incomes_from_zones(zones: Zones, lon: np.ndarray, lat: np.ndarray, median: float, sigma: float,
                       within_sigma: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Draw each citizen's income (£/year) from the zone of its home.

    Returns (income, zone index, homes outside every polygon).

    Raises
    ------
    ConfigError
        If the zones miss the map (see :func:`check_zones_cover`).
    """
    check_zones_cover(zones, lon, lat)
    zone, outside = zones.locate(lon, lat)
    n = len(zone)
    income = np.empty(n)
    decile = zones.decile[zone]
    by_decile = decile > 0
    lo = (decile[by_decile] - 1) / 10.0
    u = lo + (1.0 - rng.random(int(by_decile.sum()))) / 10.0  # in (lo, lo + 0.1]
    u = np.clip(u, 1e-6, 1 - 1e-6)
    income[by_decile] = median * np.exp(sigma * norm.ppf(u))
    mean = zones.income[zone[~by_decile]]
    noise = rng.lognormal(-within_sigma**2 / 2, within_sigma, size=int((~by_decile).sum()))
    income[~by_decile] = mean * noise
    return income, zone, outside


def _span(lon: np.ndarray, lat: np.ndarray) -> str:
    return f"lon {np.min(lon):.4f}..{np.max(lon):.4f}, lat {np.min(lat):.4f}..{np.max(lat):.4f}"


def check_zones_cover(zones: Zones, lon: np.ndarray, lat: np.ndarray) -> None:
    """Refuse zones that miss the map: no home inside any polygon, or (CSV) no point near any home.

    Parameters
    ----------
    zones
        The zones read from a file.
    lon, lat
        Home locations (degrees, WGS84).

    Raises
    ------
    ConfigError
        One line naming the zones file, where its areas are and where the map's homes are.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if lon.size == 0:
        return
    if zones.polygons is not None:
        xy = np.column_stack([lon, lat])
        if any(PolygonPath(ring).contains_points(xy).any() for rings in zones.polygons for ring in rings):
            return
        rings = np.concatenate([ring for rings in zones.polygons for ring in rings])
        what, where = f"its {len(zones)} areas contain none of the map's homes", _span(rings[:, 0], rings[:, 1])
    else:
        # distance from each home to the nearest zone point, equirectangular (metres)
        lat0 = np.radians(np.mean(lat))
        scale = np.array([EARTH_RADIUS_M * np.cos(lat0), EARTH_RADIUS_M]) * np.pi / 180
        pts = zones.points * scale
        dist, _ = cKDTree(pts).query(np.column_stack([lon, lat]) * scale)
        if np.min(dist) <= MAX_POINT_DISTANCE_M:
            return
        what = (f"its {len(zones)} points are all more than {MAX_POINT_DISTANCE_M / 1000:g} km "
                f"from the map's homes (nearest {np.min(dist) / 1000:,.0f} km)")
        where = _span(zones.points[:, 0], zones.points[:, 1])
    msg = (f"zones file {zones.name}: {what}; the zones span {where}, the homes {_span(lon, lat)}; "
           "expected zones of the mapped city in lon/lat (WGS84) degrees (lon and lat swapped?)")
    raise ConfigError(msg)
