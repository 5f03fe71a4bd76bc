"""Download a named place with osmnx (``place:<name>``), convert it, and cache it as GraphML.

The street graph comes from ``osmnx.graph_from_place(name, network_type="all",
simplify=False, retain_all=True)`` with the tags the mode rules need added to
``osmnx.settings.useful_tags_way``; POIs from ``osmnx.features_from_place``. Each
downloaded edge (in its permitted direction; osmnx has already applied ``oneway``
and ``-1``) becomes a two-node way tagged ``oneway=yes|no`` and goes through the
same mode rules, SCC filter and POI rules as a local OSM file. The result is
written to ``$CITYMODEL_CACHE/places/<slug>.graphml.gz`` (default
``~/.cache/citymodel/places/``) and read from there on later calls.
"""

from __future__ import annotations

import os
import re
import threading
import warnings
from pathlib import Path

import numpy as np

from citymodel.errors import MapError

from .assemble import attach_pois_to_graphs, city_from_graphml
from .city import ATTRIBUTION, City
from .graph_build import build_network
from .mode_filters import SEPARATE_SIDEWALK_KEYS
from .osm_reader import Feature, Way
from .pois import RESIDENTIAL_BUILDINGS, is_poi, poi_table

# Connectivity probe: per-request timeout and hard deadline (s), DNS included
PROBE_TIMEOUT_S = 5
PROBE_DEADLINE_S = 15
# Timeout of each osmnx HTTP request once the servers answered (s): Overpass needs
# tens of seconds for a city, so this is not the offline guard (the probe is)
REQUESTS_TIMEOUT_S = 120
MODE_TAGS = ("highway", "name", "maxspeed", "oneway", "junction", "access", "area", "service",
             "foot", "bicycle", "motor_vehicle", "motorcar", "goods", "oneway:bicycle",
             "cycleway", *SEPARATE_SIDEWALK_KEYS)
POI_QUERY = {
    "amenity": ["library", "school", "college", "university", "community_centre", "social_centre",
                "arts_centre", "youth_centre", "makerspace"],
    "leisure": ["hackerspace", "youth_centre"],
    "shop": ["mall", "department_store"],
    "craft": True,
    "landuse": ["industrial", "residential"],
    "building": ["industrial", *sorted(RESIDENTIAL_BUILDINGS)],
    "man_made": ["works"],
}


def cache_path(name: str) -> Path:
    """Cache file of a place: ``$CITYMODEL_CACHE/places/<slug>.graphml.gz``."""
    root = Path(os.environ.get("CITYMODEL_CACHE") or Path.home() / ".cache" / "citymodel")
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "place"
    return root.expanduser() / "places" / f"{slug}.graphml.gz"


def load_place(name: str) -> City:
    """Load ``place:<name>`` from the cache, downloading it with osmnx the first time.

    Parameters
    ----------
    name
        A place name the Nominatim geocoder knows, e.g. "Kallio, Helsinki, Finland".

    Returns
    -------
    City
        Read from the cache file (``cache_path(name)``), which the first call writes.

    Raises
    ------
    MapError
        Empty name; no network connection (found within ``PROBE_DEADLINE_S`` s,
        DNS included); the place is unknown to the geocoder or has no walkable streets.
    """
    if not name:
        msg = "place: needs a place name, e.g. 'place:Kallio, Helsinki, Finland'"
        raise MapError(msg)
    path = cache_path(name)
    if not path.is_file():
        city = _download(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        # write then rename: an interrupted download never leaves a half-written cache file
        partial = path.with_name(f"{path.name.removesuffix('.graphml.gz')}.{os.getpid()}"
                                 ".partial.graphml.gz")
        city.save(partial)
        os.replace(partial, path)
    return city_from_graphml(path, source=f"place:{name}")


def _offline_error(name: str, reason: str) -> MapError:
    msg = (f"cannot download place '{name}': no network connection ({reason}); "
           "pass a local .osm, .osm.gz, .osm.bz2 or .osm.pbf file instead "
           "(e.g. --map city.osm.pbf)")
    return MapError(msg)


def _check_online(name: str) -> None:
    """Raise MapError unless the geocoder and Overpass answer within ``PROBE_DEADLINE_S`` s.

    The probe runs in a daemon thread joined with a deadline because a stalled DNS
    lookup is not covered by any requests timeout; offline, name resolution fails
    at once and this returns in milliseconds.
    """
    import osmnx as ox
    import requests

    outcome: list[str | None] = []

    def probe() -> None:
        try:
            for url in (ox.settings.nominatim_url, ox.settings.overpass_url):
                requests.head(url, timeout=PROBE_TIMEOUT_S, allow_redirects=False,
                              **ox.settings.requests_kwargs)
            outcome.append(None)
        except requests.exceptions.RequestException as err:
            outcome.append(type(err).__name__)

    thread = threading.Thread(target=probe, name="citymodel-place-probe", daemon=True)
    thread.start()
    thread.join(PROBE_DEADLINE_S)
    if not outcome:
        raise _offline_error(name, f"no answer within {PROBE_DEADLINE_S} s")
    if outcome[0] is not None:
        raise _offline_error(name, outcome[0])


def _download(name: str) -> City:
    """Download the street network and POIs of a place with osmnx and build a City."""
    import osmnx as ox
    import requests

    _check_online(name)
    saved = {key: getattr(ox.settings, key) for key in
             ("requests_timeout", "cache_folder", "useful_tags_way")}
    ox.settings.requests_timeout = REQUESTS_TIMEOUT_S
    ox.settings.cache_folder = str(cache_path(name).parent / "osmnx-http")
    ox.settings.useful_tags_way = sorted(set(ox.settings.useful_tags_way) | set(MODE_TAGS))
    try:
        graph = ox.graph_from_place(name, network_type="all", simplify=False,
                                    retain_all=True)
        features = ox.features_from_place(name, tags=POI_QUERY)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as err:
        raise _offline_error(name, type(err).__name__) from None
    except (requests.exceptions.RequestException, ValueError, TypeError) as err:
        # osmnx raises ValueError subclasses (InsufficientResponseError) for unknown places
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        msg = f"cannot download place '{name}': {first}"
        raise MapError(msg) from None
    finally:
        for key, value in saved.items():
            setattr(ox.settings, key, value)
    net = build_network(list(_graph_ways(graph)))
    pois = attach_pois_to_graphs(poi_table([f for f in _features(features) if is_poi(f.tags)]),
                                 net)
    meta = {"source": f"place:{name}", "source_file": "", "source_sha256": "",
            "created_by": "citymodel"}
    return City(f"place:{name}", name, "", net, pois, meta, ATTRIBUTION)


def _graph_ways(graph):
    """Each downloaded edge in its permitted direction as a two-node way."""
    for u, v, data in graph.edges(data=True):
        if data.get("reversed") is True:
            continue
        tags = {k: str(data[k]) for k in MODE_TAGS if isinstance(data.get(k), str)}
        tags["oneway"] = "yes" if data.get("oneway") is True else "no"
        osmid = data["osmid"][0] if isinstance(data["osmid"], list) else data["osmid"]
        nu, nv = graph.nodes[u], graph.nodes[v]
        yield Way(int(osmid), tags, np.array([u, v], dtype=np.int64),
                  np.array([nu["x"], nv["x"]], dtype=float),
                  np.array([nu["y"], nv["y"]], dtype=float))


def _features(gdf):
    """osmnx feature GeoDataFrame rows as ``Feature`` points (centroids in degrees)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # centroid in a geographic CRS: fine at city scale
        centroids = gdf.geometry.centroid
    tag_cols = [c for c in gdf.columns if c != "geometry"]
    for (element, osm_id), row, point in zip(gdf.index, gdf[tag_cols].itertuples(index=False),
                                             centroids, strict=True):
        tags = {k: v for k, v in zip(tag_cols, row, strict=True) if isinstance(v, str)}
        yield Feature(str(element), int(osm_id), tags, float(point.x), float(point.y))
