"""Read highway ways and tagged features from an OSM file (.osm, .osm.gz, .osm.bz2, .osm.pbf).

One code path for every OSM format: pyosmium's ``FileProcessor`` with node
locations (and multipolygon assembly for relation areas). The reader does not
decide which ways a mode may use or what a feature is: it returns every
``highway=*`` way and every object accepted by a caller-supplied tag filter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import osmium

from citymodel.errors import MapError

OSM_SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf")
# libosmium format names: given explicitly so that upper-case suffixes (".OSM") work too
_OSMIUM_FORMATS = {".osm": "osm", ".osm.gz": "osm.gz", ".osm.bz2": "osm.bz2", ".osm.pbf": "pbf"}


@dataclass(frozen=True)
class Way:
    """A highway way (or a run of it with known node locations).

    Attributes
    ----------
    osmid : int
        OSM way id.
    tags : dict[str, str]
        All OSM tags of the way.
    node_ids : numpy.ndarray
        OSM node ids in way order (int64).
    lon, lat : numpy.ndarray
        Node coordinates (degrees, WGS84).
    """

    osmid: int
    tags: dict[str, str]
    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray


@dataclass(frozen=True)
class Feature:
    """A tagged OSM object reduced to one point (nodes as is, areas by centroid).

    Attributes
    ----------
    osm_type : str
        "node", "way" or "relation".
    osm_id : int
        OSM id of the object.
    tags : dict[str, str]
        All OSM tags of the object.
    lon, lat : float
        Point or centroid (degrees, WGS84).
    """

    osm_type: str
    osm_id: int
    tags: dict[str, str]
    lon: float
    lat: float


@dataclass
class OsmExtract:
    """Everything citymodel takes from one OSM file."""

    ways: list[Way] = field(default_factory=list)
    features: list[Feature] = field(default_factory=list)


def osm_suffix(path: Path) -> str | None:
    """Return the recognised OSM suffix of ``path`` (lower case), or None."""
    name = path.name.lower()
    for suffix in sorted(OSM_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return None


def read_osm(path: Path, keep_feature: Callable[[Mapping[str, str]], bool]) -> OsmExtract:
    """Read highway ways and features from an OSM file.

    Parameters
    ----------
    path
        An existing .osm, .osm.gz, .osm.bz2 or .osm.pbf file.
    keep_feature
        Predicate on an object's tags; objects for which it is True are
        returned as features (nodes as points, ways and multipolygon
        relations by their centroid).

    Returns
    -------
    OsmExtract
        Ways in file order (split where a node location is missing) and features.

    Raises
    ------
    MapError
        If the suffix is not an OSM one or libosmium cannot parse the file
        (not OSM, truncated, bad compression).
    """
    extract = OsmExtract()
    suffix = osm_suffix(path)
    if suffix is None:
        expected = ", ".join(OSM_SUFFIXES)
        msg = f"map file {path} has an unknown extension; expected one of {expected}"
        raise MapError(msg)
    try:
        source = osmium.io.File(str(path), _OSMIUM_FORMATS[suffix])
        processor = osmium.FileProcessor(source).with_locations().with_areas()
        for obj in processor:
            if obj.is_node():
                if keep_feature(obj.tags) and obj.location.valid():
                    _add_feature(extract, "node", obj.id, obj.tags, obj.location.lon,
                                 obj.location.lat)
            elif obj.is_way():
                _read_way(extract, obj, keep_feature)
            elif obj.is_area() and not obj.from_way() and keep_feature(obj.tags):
                lon, lat = _area_centroid(obj)
                if np.isfinite(lon):
                    _add_feature(extract, "relation", obj.orig_id(), obj.tags, lon, lat)
    except (RuntimeError, OSError, ValueError, osmium.InvalidLocationError) as err:
        # libosmium reports bad XML/PBF/compression as RuntimeError, a malformed coordinate
        # ('lat="60.1.7"') as InvalidLocationError; keep its first line
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        msg = (f"map file {path} is not a readable OSM file ({first_line}); "
               "expected OpenStreetMap XML (.osm, .osm.gz, .osm.bz2) or PBF (.osm.pbf) data")
        raise MapError(msg) from None
    return extract


def _add_feature(extract: OsmExtract, osm_type: str, osm_id: int, tags: osmium.osm.TagList,
                 lon: float, lat: float) -> None:
    extract.features.append(Feature(osm_type, int(osm_id), dict(tags), float(lon), float(lat)))


def _read_way(extract: OsmExtract, way: osmium.osm.Way,
              keep_feature: Callable[[Mapping[str, str]], bool]) -> None:
    is_highway = "highway" in way.tags
    is_feature = keep_feature(way.tags)
    if not (is_highway or is_feature):
        return
    refs, lons, lats = [], [], []
    for node in way.nodes:
        loc = node.location
        refs.append(node.ref)
        lons.append(loc.lon if loc.valid() else np.nan)
        lats.append(loc.lat if loc.valid() else np.nan)
    refs_a = np.asarray(refs, dtype=np.int64)
    lon_a = np.asarray(lons, dtype=float)
    lat_a = np.asarray(lats, dtype=float)
    tags = dict(way.tags)
    if is_highway:
        # a way clipped at the extract boundary has nodes without location:
        # keep each run of located nodes as its own piece
        valid = np.isfinite(lon_a)
        for run in _runs(valid):
            if len(run) >= 2:
                extract.ways.append(Way(int(way.id), tags, refs_a[run], lon_a[run], lat_a[run]))
    if is_feature:
        lon, lat = _ring_centroid(lon_a, lat_a)
        if np.isfinite(lon):
            extract.features.append(Feature("way", int(way.id), tags, lon, lat))


def _runs(valid: np.ndarray) -> list[np.ndarray]:
    """Split indices into maximal runs where ``valid`` is True."""
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1) + 1
    return np.split(idx, breaks)


def _ring_centroid(lon: np.ndarray, lat: np.ndarray) -> tuple[float, float]:
    """Area centroid of a closed ring, vertex mean of an open line (degrees).

    Uses the shoelace formula in lon/lat, which is accurate for city-sized rings.
    """
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = lon[ok], lat[ok]
    if lon.size == 0:
        return float("nan"), float("nan")
    closed = lon.size >= 4 and lon[0] == lon[-1] and lat[0] == lat[-1]
    if closed:
        x0, y0 = lon[0], lat[0]
        x, y = lon - x0, lat - y0
        cross = x[:-1] * y[1:] - x[1:] * y[:-1]
        area = cross.sum() / 2.0
        if abs(area) > 1e-14:
            cx = ((x[:-1] + x[1:]) * cross).sum() / (6.0 * area)
            cy = ((y[:-1] + y[1:]) * cross).sum() / (6.0 * area)
            return float(cx + x0), float(cy + y0)
        lon, lat = lon[:-1], lat[:-1]
    return float(lon.mean()), float(lat.mean())


def _area_centroid(area: osmium.osm.Area) -> tuple[float, float]:
    """Area-weighted centroid of the outer rings of a multipolygon (degrees)."""
    total, sx, sy = 0.0, 0.0, 0.0
    for ring in area.outer_rings():
        lon = np.array([n.lon for n in ring], dtype=float)
        lat = np.array([n.lat for n in ring], dtype=float)
        cx, cy = _ring_centroid(lon, lat)
        weight = max(_ring_area(lon, lat), 1e-12)
        if np.isfinite(cx):
            total += weight
            sx += weight * cx
            sy += weight * cy
    if total == 0.0:
        return float("nan"), float("nan")
    return sx / total, sy / total


def _ring_area(lon: np.ndarray, lat: np.ndarray) -> float:
    return float(abs((lon[:-1] * lat[1:] - lon[1:] * lat[:-1]).sum()) / 2.0)
