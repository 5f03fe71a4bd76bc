"""Assemble a City from a map file already on disk: citymodel GraphML or an OSM extract.

The loaders in :mod:`maps.load` (local files, embedded maps) and :mod:`maps.places` (downloads)
both end here, so neither imports the other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from citymodel.errors import MapError

from .checks import warn_if_fragmented
from .city import ATTRIBUTION, City
from .graph_build import BASE_MODES, StreetNetwork, build_network, mode_nodes
from .graphml_io import GRAPHML_SUFFIXES, OPTIONAL_META, read_city_graphml
from .osm_reader import OSM_SUFFIXES, read_osm
from .pois import OSM_SOURCE, is_poi, poi_table
from .snap import Snapper


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def city_from_graphml(path: Path, source: str) -> City:
    """Load a City from the project's GraphML format."""
    net, pois, meta = read_city_graphml(path)
    _require_walk(net, source)
    warn_if_fragmented(net, source)
    keys = ("source", "source_file", "source_sha256", "created_by",
            *(k for k in OPTIONAL_META if k != "zones"))
    metadata = {k: meta.get(k, "") for k in keys}
    zones = None
    if meta.get("zones"):
        from citymodel.zones import Zones

        zones = Zones.from_json(meta["zones"])
    for column, default in (("source", OSM_SOURCE), ("hours", "")):
        if column not in pois.columns:  # maps written before these columns existed
            pois[column] = default
    city = City(source=source, name=meta.get("name") or _stem(path),
                checksum=f"sha256:{file_sha256(path)}", network=net, pois=pois,
                metadata=metadata, attribution=meta.get("attribution") or ATTRIBUTION)
    if zones is not None:
        city.zones = zones.on_map(city.extent, map_name=f"map {source}")
    return city


def city_from_osm(path: Path, name: str | None = None) -> City:
    """Load a City from an OSM file: read, build mode graphs, classify and attach POIs."""
    extract = read_osm(path, keep_feature=is_poi)
    if not extract.ways:
        msg = (f"map file {path} has no highway ways with node locations; expected an OSM "
               "extract of a street network (highway=* ways and their nodes)")
        raise MapError(msg)
    net = build_network(extract.ways)
    _require_walk(net, str(path))
    warn_if_fragmented(net, str(path))
    sha = file_sha256(path)
    pois = attach_pois_to_graphs(poi_table(extract.features), net)
    return City(source=str(path), name=name or _stem(path), checksum=f"sha256:{sha}",
                network=net, pois=pois,
                metadata={"source": str(path), "source_file": path.name,
                          "source_sha256": sha, "created_by": "citymodel"})


def _require_walk(net: StreetNetwork, source: str) -> None:
    """Every model places citizens on the walk graph: a map without one is unusable."""
    if net.stats.get("walk", {}).get("edges", 0) == 0:
        msg = (f"map {source} has no streets usable by mode 'walk'; expected walkable "
               "highway=* ways (footway, residential, ...) forming a connected network")
        raise MapError(msg)


def attach_pois_to_graphs(pois: pd.DataFrame, net: StreetNetwork) -> pd.DataFrame:
    """Add ``node_<mode>`` columns: nearest node of each mode graph (-1 if no graph)."""
    pois = pois.copy()
    for mode in BASE_MODES:
        ids = mode_nodes(net, mode)
        if ids.size == 0 or pois.empty:
            pois[f"node_{mode}"] = np.full(len(pois), -1, dtype=np.int64)
            continue
        xy = net.nodes.loc[ids]
        snapper = Snapper(ids, xy["x"].to_numpy(), xy["y"].to_numpy())
        nodes, _ = snapper.nearest(pois["lon"].to_numpy(), pois["lat"].to_numpy())
        pois[f"node_{mode}"] = nodes.astype(np.int64)
    return pois


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted((*OSM_SUFFIXES, *GRAPHML_SUFFIXES), key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem

