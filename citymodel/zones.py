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
and reported). Within an area, incomes vary: with ``income`` the citizen draws
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

INCOME_FIELDS = ("income",)
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
            if not income > 0:
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


def read_zones(path: str | Path) -> Zones:
    """Read a GeoJSON or CSV zones file; one-line :class:`ConfigError` naming the file on bad input."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"zones file {path}: not found (expected a .geojson or .csv file)")
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
    if not features:
        raise ConfigError(f"zones file {path}: expected a GeoJSON FeatureCollection with features")
    polygons, points, incomes, deciles = [], [], [], []
    for i, feature in enumerate(features):
        where = f"zones file {path}, feature {i}"
        rings = _rings(feature.get("geometry") or {}, where)
        income, decile = _value(feature.get("properties") or {}, where)
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
    """
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
