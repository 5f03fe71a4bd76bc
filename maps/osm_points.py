"""Read OSM points from a GeoJSON export (GDAL/ogr2ogr style: tags as columns plus an hstore ``other_tags``).

Such files (e.g. the ``points`` layer of ``ogr2ogr`` on an .osm.pbf) hold one
Point feature per tagged OSM node. Properties ``osm_id`` and the common keys
(``name``, ``amenity``, ...) are columns; every other tag is in ``other_tags``,
an hstore string like ``"shop"=>"craft","craft"=>"shoemaker"``. Plain
``.geojson`` and gzip-compressed ``.geojson.gz`` are read.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from citymodel.errors import MapError

from .osm_reader import Feature

_HSTORE_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s*=>\s*(?:"((?:[^"\\]|\\.)*)"|NULL)')
_SKIP = frozenset({"osm_id", "other_tags"})


def parse_hstore(text: str | None) -> dict[str, str]:
    """``'"a"=>"1","b"=>"x \\"y\\""'`` -> ``{"a": "1", "b": 'x "y"'}`` (NULL values are dropped)."""
    tags: dict[str, str] = {}
    for key, value in _HSTORE_PAIR.findall(text or ""):
        if value is not None:
            tags[_unescape(key)] = _unescape(value)
    return tags


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def read_osm_points(path: Path) -> list[Feature]:
    """Every Point feature of an OSM points GeoJSON as a :class:`Feature` (``osm_type="node"``).

    Raises
    ------
    MapError
        One line naming the file if it is not a GeoJSON FeatureCollection or a feature lacks an
        ``osm_id`` or point coordinates.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"OSM points file {path} is not readable GeoJSON ({type(exc).__name__}: {exc})"
        raise MapError(msg) from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        msg = f"OSM points file {path}: expected a GeoJSON FeatureCollection"
        raise MapError(msg)
    out = []
    for i, feature in enumerate(features):
        geometry = feature.get("geometry") or {}
        props = feature.get("properties") or {}
        if geometry.get("type") != "Point":
            continue
        try:
            lon, lat = (float(v) for v in geometry["coordinates"][:2])
            osm_id = int(props["osm_id"])
        except (KeyError, TypeError, ValueError):
            msg = f"OSM points file {path}, feature {i}: expected an integer osm_id and [lon, lat] coordinates"
            raise MapError(msg) from None
        tags = {k: str(v) for k, v in props.items() if k not in _SKIP and v is not None}
        tags.update(parse_hstore(props.get("other_tags")))
        out.append(Feature("node", osm_id, tags, lon, lat))
    return out
