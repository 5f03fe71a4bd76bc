"""Zones: areas with people, income and deprivation (e.g. England's LSOAs with IMD 2019), read from a file or a map.

Two file formats are read:

* **GeoJSON** (``.geojson``/``.json``): a FeatureCollection of Polygon or
  MultiPolygon features in lon/lat (WGS84).
* **CSV** (``.csv``): one row per area with a representative point (``lon``,
  ``lat`` or ``pwc_lon``, ``pwc_lat``, e.g. the population-weighted centroid);
  each home takes the area of the nearest point.

Properties (GeoJSON) or columns (CSV), all optional but see below:

============== ================================================================
``zone_id``    identifier (also ``lsoa11cd``, ``lsoa21cd``, ``code``, ``id``;
               default: the feature index / CSV line)
``name``       name (also ``lsoa11nm``, ``lsoa21nm``)
``population`` residents (also ``pop_mid2015``): homes are then placed in
               proportion to it (``citymodel.homes``)
``income``     mean disposable income of the area (£/year)
``income_decile`` IoD income-domain decile (1 = most income-deprived tenth)
``imd_decile`` IMD decile (1 = most deprived tenth … 10; also ``decile``)
``pwc_lon``,   representative point of a polygon (default: the mean of its
``pwc_lat``    first ring's vertices)
============== ================================================================

A zone needs an income field (``income``, ``income_decile``, ``imd_decile`` or
``decile``) or a ``population``; a file either gives every zone a population or
none, and either gives every zone an income field or none.

**Incomes** (:func:`incomes_from_zones`) come from, in this order of
preference: ``income`` — the citizen draws ``income * lognormal(0,
within_sigma)`` (mean-preserving); ``income_decile`` (the IoD income domain,
PARAMETERS §11: "draw income by LSOA IMD income-domain decile"), else
``imd_decile``/``decile`` — a decile ``d`` makes the citizen draw a quantile
``u`` uniformly in ``((d-1)/10, d/10]`` of the city-wide lognormal income
distribution (median £34,500 and sigma 0.60 by default, ONS 2024,
PARAMETERS §11), so deciles keep their rank meaning. Treating an area's rank as
each resident's income rank is an assumption: it overstates the spread between
areas (every resident of a decile-1 area is placed in the poorest tenth).

**Zones on a map** (:meth:`Zones.on_map`): the map's extent is the area its
streets cover, the convex hull of its walk-graph nodes (``City.extent``; not the
bounding box, whose corners may hold no street: the central-Leeds extract is
roughly round). Only zones whose polygon overlaps the extent are kept (point
zones: whose point lies inside it); a zone cut by the map's edge counts
``population × share of its area inside the extent`` (``map_share``). A home
inside no polygon takes the zone whose representative point is nearest (counted
and reported).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from citymodel.errors import ConfigError
from citymodel.geometry import clip_ring, describe, distance_to_polygon_m, inside_convex, ring_area

INCOME_FIELDS = ("income",)
DECILE_FIELDS = ("income_decile", "imd_decile", "decile")
IMD_FIELDS = ("imd_decile", "decile")
ID_FIELDS = ("zone_id", "lsoa11cd", "lsoa21cd", "code", "id")
NAME_FIELDS = ("name", "zone_name", "lsoa11nm", "lsoa21nm")
POPULATION_FIELDS = ("population", "pop_mid2015")
POINT_FIELDS = (("lon", "lat"), ("pwc_lon", "pwc_lat"))
ZONES_FORMAT = "citymodel-zones-1"


@dataclass
class Zones:
    """Areas with residents, an income (£/year) or deprivation deciles (1..10).

    Attributes
    ----------
    name
        Where the zones came from (a file path, or ``map <name>``).
    polygons
        One list of rings (arrays of lon/lat, degrees) per area (GeoJSON), or None for point zones (CSV).
    ring_signs
        Per area, +1 for an outer ring and -1 for a hole, in ring order (None for point zones).
    points
        (lon, lat) representative point per area, degrees.
    income
        Mean income per area (£/year), NaN where none is given.
    decile
        Decile used to draw incomes (``income_decile``, else ``imd_decile``/``decile``), 0 where none
        is given or an income is.
    zone_id, zone_name
        Identifier and name per area (strings; "" when the file gives no name).
    population
        Residents per area (persons), NaN when the file gives none.
    imd_decile, income_decile
        IMD decile and income-domain decile per area (1 most deprived … 10), -1 when not given.
    where
        How each area is named in messages ("feature 3", "line 7").
    map_share
        Share (0..1) of each area inside the map's bounding box (1 until :meth:`on_map` clips).
    """

    name: str
    polygons: list[list[np.ndarray]] | None
    points: np.ndarray
    income: np.ndarray
    decile: np.ndarray
    ring_signs: list[np.ndarray] | None = None
    zone_id: np.ndarray | None = None
    zone_name: np.ndarray | None = None
    population: np.ndarray | None = None
    imd_decile: np.ndarray | None = None
    income_decile: np.ndarray | None = None
    where: list[str] = field(default_factory=list)
    map_share: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.points)
        self.points = np.asarray(self.points, dtype=float).reshape(n, 2)
        if self.polygons is not None and self.ring_signs is None:
            self.ring_signs = [np.where(np.arange(len(r)) == 0, 1.0, -1.0) for r in self.polygons]
        if self.zone_id is None:
            self.zone_id = np.array([str(i) for i in range(n)], dtype=object)
        if self.zone_name is None:
            self.zone_name = np.full(n, "", dtype=object)
        if self.population is None:
            self.population = np.full(n, np.nan)
        if self.imd_decile is None:
            self.imd_decile = np.where(self.decile > 0, self.decile, -1).astype(np.int64)
        if self.income_decile is None:
            self.income_decile = np.full(n, -1, dtype=np.int64)
        if not self.where:
            self.where = [f"zone {i}" for i in range(n)]
        if self.map_share is None:
            self.map_share = np.ones(n)

    def __len__(self) -> int:
        return len(self.points)

    @property
    def has_population(self) -> bool:
        """True if every zone gives a population."""
        return len(self) > 0 and bool(np.isfinite(self.population).all())

    @property
    def has_income(self) -> bool:
        """True if every zone gives an income or a decile to draw incomes from."""
        return len(self) > 0 and bool((np.isfinite(self.income) | (self.decile > 0)).all())

    @property
    def population_on_map(self) -> np.ndarray:
        """Residents counted on the map per zone: ``population × map_share`` (persons)."""
        return self.population * self.map_share

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, int]:
        """Zone index of each (lon, lat) point and how many fell outside every polygon."""
        from matplotlib.path import Path as PolygonPath

        xy = np.column_stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)])
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
            lat0 = float(np.mean(self.points[:, 1]))
            _, nearest = cKDTree(_scaled(self.points, lat0)).query(_scaled(xy[outside], lat0))
            zone[outside] = nearest
        n_outside = int(outside.sum()) if self.polygons is not None else 0
        return zone, n_outside

    def area_share_in(self, extent: np.ndarray) -> np.ndarray:
        """Share (0..1) of each zone's area inside ``extent`` (a convex counter-clockwise lon/lat ring).

        Point zones give 1 if the point is inside, else 0. Areas are computed in lon/lat: the shares
        equal those in an equirectangular projection (a linear map).
        """
        if self.polygons is None:
            return inside_convex(self.points[:, 0], self.points[:, 1], extent).astype(float)
        shares = np.zeros(len(self))
        for k, (rings, signs) in enumerate(zip(self.polygons, self.ring_signs, strict=True)):
            total = sum(s * abs(ring_area(r)) for r, s in zip(rings, signs, strict=True))
            inside = sum(s * abs(ring_area(clip_ring(r, extent))) for r, s in zip(rings, signs, strict=True))
            shares[k] = min(max(inside / total, 0.0), 1.0) if total > 0 else 0.0
        return shares

    def subset(self, index: np.ndarray) -> Zones:
        """The zones at ``index`` (in that order)."""
        index = np.asarray(index, dtype=np.int64)
        return Zones(
            name=self.name,
            polygons=None if self.polygons is None else [self.polygons[i] for i in index],
            ring_signs=None if self.ring_signs is None else [self.ring_signs[i] for i in index],
            points=self.points[index], income=self.income[index], decile=self.decile[index],
            zone_id=self.zone_id[index], zone_name=self.zone_name[index], population=self.population[index],
            imd_decile=self.imd_decile[index], income_decile=self.income_decile[index],
            where=[self.where[i] for i in index], map_share=self.map_share[index],
        )

    def on_map(self, extent: np.ndarray, map_name: str = "the map") -> Zones:
        """The zones overlapping the map's ``extent`` (``City.extent``), each with its ``map_share``.

        Raises
        ------
        ConfigError
            If no zone overlaps the extent: names the nearest zone and its distance (km).
        """
        extent = np.asarray(extent, dtype=float)
        share = self.area_share_in(extent)
        keep = np.flatnonzero(share > 0)
        if keep.size == 0:
            dist = distance_to_polygon_m(self.points[:, 0], self.points[:, 1], extent)
            k = int(np.argmin(dist))
            shape = "polygons" if self.polygons is not None else "points"
            msg = (f"zones file {self.name}: none of its {len(self)} zone {shape} overlaps {map_name} "
                   f"({describe(extent)}); the nearest is {self.where[k]} ({self.zone_id[k]}), "
                   f"{dist[k] / 1000:,.1f} km away; expected zones covering the map's area")
            raise ConfigError(msg)
        out = self.subset(keep)
        out.map_share = share[keep]
        return out

    # ------------------------------------------------------------------ embedding in a map file
    def to_json(self) -> str:
        """The zones as one JSON string (for a map file's ``zones`` field); floats round-trip exactly."""
        rows = []
        for i in range(len(self)):
            row = {
                "zone_id": str(self.zone_id[i]), "name": str(self.zone_name[i]),
                "population": _num(self.population[i]), "income": _num(self.income[i]),
                "decile": int(self.decile[i]), "imd_decile": int(self.imd_decile[i]),
                "income_decile": int(self.income_decile[i]),
                "point": [float(v) for v in self.points[i]],
            }
            if self.polygons is not None:
                row["rings"] = [np.asarray(r, dtype=float).tolist() for r in self.polygons[i]]
                row["signs"] = [int(s) for s in self.ring_signs[i]]
            rows.append(row)
        return json.dumps({"format": ZONES_FORMAT, "name": self.name, "zones": rows},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, name: str | None = None) -> Zones:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        rows = data["zones"]
        polygons = None
        signs = None
        if rows and "rings" in rows[0]:
            polygons = [[np.asarray(r, dtype=float) for r in row["rings"]] for row in rows]
            signs = [np.asarray(row["signs"], dtype=float) for row in rows]
        return cls(
            name=name or data.get("name", "zones"), polygons=polygons, ring_signs=signs,
            points=np.array([row["point"] for row in rows], dtype=float).reshape(len(rows), 2),
            income=np.array([_float(row["income"]) for row in rows]),
            decile=np.array([row["decile"] for row in rows], dtype=np.int64),
            zone_id=np.array([row["zone_id"] for row in rows], dtype=object),
            zone_name=np.array([row["name"] for row in rows], dtype=object),
            population=np.array([_float(row["population"]) for row in rows]),
            imd_decile=np.array([row["imd_decile"] for row in rows], dtype=np.int64),
            income_decile=np.array([row["income_decile"] for row in rows], dtype=np.int64),
            where=[f"zone {row['zone_id']}" for row in rows],
        )


def _num(value: float) -> float | None:
    return None if not math.isfinite(float(value)) else float(value)


def _float(value) -> float:
    return float("nan") if value is None else float(value)


def _scaled(xy: np.ndarray, lat0: float) -> np.ndarray:
    """lon/lat scaled to (roughly) equal metres in both axes, for nearest-point queries."""
    return np.column_stack([xy[:, 0] * math.cos(math.radians(lat0)), xy[:, 1]])


# ---------------------------------------------------------------------- reading files
def _first(props: dict, keys: tuple[str, ...]):
    for key in keys:
        value = props.get(key)
        if value not in (None, ""):
            return key, value
    return None, None


def _decile(props: dict, keys: tuple[str, ...], where: str) -> int:
    key, value = _first(props, keys)
    if key is None:
        return -1
    try:
        decile = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: '{key}' = {value!r}, expected a decile 1..10") from None
    if not (decile.is_integer() and 1 <= decile <= 10):
        raise ConfigError(f"{where}: '{key}' = {value!r}, expected a decile 1..10")
    return int(decile)


def _number_field(props: dict, fields, where: str, expected: str, allowed) -> float:
    """The first of ``fields`` in ``props`` as a finite number that ``allowed`` accepts (NaN when absent)."""
    key, value = _first(props, fields)
    if key is None:
        return float("nan")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: '{key}' = {value!r}, expected {expected}") from None
    if not (math.isfinite(number) and allowed(number)):
        raise ConfigError(f"{where}: '{key}' = {value!r}, expected {expected}")
    return number


def _income(props: dict, where: str) -> float:
    """A zone's income (£/year, > 0), NaN when the zone has none."""
    return _number_field(props, INCOME_FIELDS, where, "a positive income (£/year)", lambda v: v > 0)


def _population(props: dict, where: str) -> float:
    """A zone's residents (>= 0), NaN when the zone has none."""
    return _number_field(props, POPULATION_FIELDS, where, "a number of residents >= 0", lambda v: v >= 0)


@dataclass
class _Row:
    income: float
    decile: int
    imd: int
    income_decile: int
    population: float
    zone_id: str
    name: str


def _row(props: dict, where: str, default_id: str) -> _Row:
    income = _income(props, where)
    income_decile = _decile(props, ("income_decile",), where)
    imd = _decile(props, IMD_FIELDS, where)
    population = _population(props, where)
    draw_decile = 0 if math.isfinite(income) else (income_decile if income_decile > 0 else max(imd, 0))
    if not math.isfinite(income) and draw_decile == 0 and not math.isfinite(population):
        fields = ", ".join((*INCOME_FIELDS, *DECILE_FIELDS))
        raise ConfigError(f"{where}: no income field (expected one of {fields}) and no population "
                          f"({', '.join(POPULATION_FIELDS)})")
    _, zone_id = _first(props, ID_FIELDS)
    _, name = _first(props, NAME_FIELDS)
    return _Row(income, draw_decile, imd, income_decile, population,
                str(zone_id) if zone_id is not None else default_id, "" if name is None else str(name))


def _check_consistent(path: Path, rows: list[_Row], where: list[str]) -> None:
    """Every zone has a population or none does; every zone has an income field or none does."""
    checks = (
        ("population", [math.isfinite(r.population) for r in rows],
         "a population in every zone or in none"),
        ("income field", [math.isfinite(r.income) or r.decile > 0 for r in rows],
         "an income or decile in every zone or in none"),
    )
    for what, flags, expected in checks:
        if any(flags) and not all(flags):
            k = flags.index(False)
            raise ConfigError(f"zones file {path}, {where[k]}: no {what} while other zones have one; expected "
                              f"{expected}")


def read_zones(path: str | Path) -> Zones:
    """Read a GeoJSON or CSV zones file; one-line :class:`ConfigError` naming the file (and feature/line)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"zones file {path}: not found (expected a .geojson or .csv file)")
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return _read_geojson(path)
    if suffix == ".csv":
        return _read_csv(path)
    raise ConfigError(f"zones file {path}: unknown extension {suffix!r}, expected .geojson, .json or .csv")


def _rings(geometry: dict, where: str) -> tuple[list[np.ndarray], list[float]]:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise ConfigError(f"{where}: geometry type {kind!r}, expected Polygon or MultiPolygon (lon/lat)")
    rings, signs = [], []
    try:
        for polygon in polygons:
            for j, ring in enumerate(polygon):
                arr = np.asarray(ring, dtype=float)[:, :2]
                if len(arr) >= 3:
                    rings.append(arr)
                    signs.append(1.0 if j == 0 else -1.0)
    except (TypeError, ValueError, IndexError):
        raise ConfigError(f"{where}: coordinates are not lists of [lon, lat] pairs") from None
    if not rings:
        raise ConfigError(f"{where}: polygon has no ring with 3 or more points")
    if not np.isfinite(np.concatenate(rings)).all():
        raise ConfigError(f"{where}: coordinates are not finite numbers")
    return rings, signs


def _point(props: dict, where: str) -> tuple[float, float] | None:
    for lon_key, lat_key in POINT_FIELDS:
        if props.get(lon_key) not in (None, "") and props.get(lat_key) not in (None, ""):
            try:
                lon, lat = float(props[lon_key]), float(props[lat_key])
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: {lon_key}/{lat_key} = {props[lon_key]!r}/{props[lat_key]!r}, "
                                  "expected degrees") from None
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ConfigError(f"{where}: {lon_key}/{lat_key} = {lon}/{lat}, expected WGS84 degrees")
            return lon, lat
    return None


def _read_geojson(path: Path) -> Zones:
    try:
        text = path.read_text(encoding="utf-8")
        if not text.strip():
            raise ConfigError(f"zones file {path}: is empty (expected a GeoJSON FeatureCollection)")
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"zones file {path}: not valid JSON ({exc})") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not features or not isinstance(features, list):
        raise ConfigError(f"zones file {path}: expected a GeoJSON FeatureCollection with features")
    polygons, signs, points, rows, where = [], [], [], [], []
    for i, feature in enumerate(features):
        label = f"feature {i}"
        here = f"zones file {path}, {label}"
        if not isinstance(feature, dict):
            raise ConfigError(f"{here}: expected a GeoJSON Feature object")
        rings, ring_signs = _rings(feature.get("geometry") or {}, here)
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise ConfigError(f"{here}: properties = {props!r}, expected an object of zone properties")
        default_id = str(feature["id"]) if feature.get("id") not in (None, "") else str(i)
        rows.append(_row(props, here, default_id))
        polygons.append(rings)
        signs.append(np.asarray(ring_signs))
        point = _point(props, here)
        points.append(point if point is not None else tuple(rings[0].mean(axis=0)))
        where.append(label)
    _check_consistent(path, rows, where)
    return _zones(str(path), polygons, signs, points, rows, where)


def _read_csv(path: Path) -> Zones:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows_raw = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"zones file {path}: not a readable CSV ({exc})") from None
    columns = set(rows_raw[0]) if rows_raw else set()
    if not rows_raw or not any({lon, lat} <= columns for lon, lat in POINT_FIELDS):
        raise ConfigError(f"zones file {path}: expected CSV columns lon, lat (or pwc_lon, pwc_lat) and income, "
                          "a decile or population")
    points, rows, where = [], [], []
    for i, raw in enumerate(rows_raw, start=2):
        label = f"line {i}"
        here = f"zones file {path}, {label}"
        point = _point(raw, here)
        if point is None:
            raise ConfigError(f"{here}: no lon/lat, expected degrees")
        points.append(point)
        rows.append(_row(raw, here, str(i)))
        where.append(label)
    _check_consistent(path, rows, where)
    return _zones(str(path), None, None, points, rows, where)


def _zones(name: str, polygons, signs, points, rows: list[_Row], where: list[str]) -> Zones:
    return Zones(
        name=name, polygons=polygons, ring_signs=signs, points=np.asarray(points, dtype=float).reshape(-1, 2),
        income=np.array([r.income for r in rows]),
        decile=np.array([r.decile for r in rows], dtype=np.int64),
        zone_id=np.array([r.zone_id for r in rows], dtype=object),
        zone_name=np.array([r.name for r in rows], dtype=object),
        population=np.array([r.population for r in rows]),
        imd_decile=np.array([r.imd for r in rows], dtype=np.int64),
        income_decile=np.array([r.income_decile for r in rows], dtype=np.int64),
        where=where,
    )


# ---------------------------------------------------------------------- incomes
def incomes_from_zones(zones: Zones, lon: np.ndarray, lat: np.ndarray, median: float, sigma: float,
                       within_sigma: float, rng: np.random.Generator,
                       zone: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Draw each citizen's income (£/year) from its zone.

    Parameters
    ----------
    zone
        The zone index of each citizen, if already known (homes placed by zone population);
        otherwise each home is located in the zones.

    Returns
    -------
    income, zone index, homes outside every polygon
    """
    from scipy.special import ndtri  # the standard normal quantile (scipy.stats costs a second to import)

    if zone is None:
        zone, outside = zones.locate(lon, lat)
    else:
        zone, outside = np.asarray(zone, dtype=np.int64), 0
    n = len(zone)
    income = np.empty(n)
    decile = zones.decile[zone]
    by_decile = decile > 0
    lo = (decile[by_decile] - 1) / 10.0
    u = lo + (1.0 - rng.random(int(by_decile.sum()))) / 10.0  # in (lo, lo + 0.1]
    u = np.clip(u, 1e-6, 1 - 1e-6)
    income[by_decile] = median * np.exp(sigma * ndtri(u))
    mean = zones.income[zone[~by_decile]]
    noise = rng.lognormal(-within_sigma**2 / 2, within_sigma, size=int((~by_decile).sum()))
    income[~by_decile] = mean * noise
    return income, zone, outside
