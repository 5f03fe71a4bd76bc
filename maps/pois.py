"""Classify OSM features into the model's points of interest (POI table).

Rules (first match wins, in this order, so each OSM object is one POI of one kind):

============== ==================================================================
makerspace     leisure=hackerspace | amenity=makerspace
youth_centre   leisure=youth_centre | amenity=youth_centre |
               amenity=community_centre + community_centre=youth_centre
library        amenity=library
school         amenity=school
college        amenity=college | amenity=university (further and higher education)
community_     amenity=community_centre | amenity=social_centre
centre
arts_centre    amenity=arts_centre
shopping_      shop=mall | shop=department_store
centre
craft          craft=* (any value but "no")
industrial     landuse=industrial | building=industrial | man_made=works
residential    building=residential|apartments|house|detached|terrace|
               semidetached_house|dormitory; if the map has NO such building,
               landuse=residential areas are used instead (lower-priority source)
============== ==================================================================

Nodes are points; ways and multipolygon relations are reduced to their centroid
(see ``osm_reader``). Each POI is attached to the nearest node of every mode graph.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .osm_reader import Feature

POI_KINDS = ("library", "school", "college", "community_centre", "arts_centre", "youth_centre",
             "shopping_centre", "makerspace", "craft", "industrial", "residential")
RESIDENTIAL_BUILDINGS = frozenset({
    "residential", "apartments", "house", "detached", "terrace", "semidetached_house",
    "dormitory",
})
# internal kind for landuse=residential, used only when a map has no residential buildings
_RESIDENTIAL_LANDUSE = "residential_landuse"
POI_COLUMNS = ("poi_id", "kind", "name", "osm_type", "osm_id", "lon", "lat", "tag", "source", "hours")
# ``source`` of POIs read from OSM objects; ``hours`` is "" unless a source gives a site's opening
# hours (JSON list of ["mon", 9.0, 17.5] entries, as in ``facilities.kinds.<kind>.hours``)
OSM_SOURCE = "osm"


def classify(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """Return ``(kind, matching tag)`` for an OSM object, or None if it is no POI.

    Parameters
    ----------
    tags
        OSM tags of a node, way or relation.
    """
    amenity, leisure = tags.get("amenity"), tags.get("leisure")
    if leisure == "hackerspace" or amenity == "makerspace":
        tag = "leisure=hackerspace" if leisure == "hackerspace" else "amenity=makerspace"
        return "makerspace", tag
    if leisure == "youth_centre" or amenity == "youth_centre":
        return "youth_centre", "leisure|amenity=youth_centre"
    if amenity == "community_centre" and tags.get("community_centre") == "youth_centre":
        return "youth_centre", "community_centre=youth_centre"
    simple = (("library", "amenity", ("library",)),
              ("school", "amenity", ("school",)),
              ("college", "amenity", ("college", "university")),
              ("community_centre", "amenity", ("community_centre", "social_centre")),
              ("arts_centre", "amenity", ("arts_centre",)),
              ("shopping_centre", "shop", ("mall", "department_store")))
    for kind, key, values in simple:
        if tags.get(key) in values:
            return kind, f"{key}={tags[key]}"
    if tags.get("craft", "no") != "no":
        return "craft", f"craft={tags['craft']}"
    for key, value in (("landuse", "industrial"), ("building", "industrial"),
                       ("man_made", "works")):
        if tags.get(key) == value:
            return "industrial", f"{key}={value}"
    if tags.get("building") in RESIDENTIAL_BUILDINGS:
        return "residential", f"building={tags['building']}"
    if tags.get("landuse") == "residential":
        return _RESIDENTIAL_LANDUSE, "landuse=residential"
    return None


def is_poi(tags: Mapping[str, str]) -> bool:
    """Return True if the tags make an object a POI of some kind (reader filter)."""
    return classify(tags) is not None


def poi_table(features: list[Feature], source: str = OSM_SOURCE) -> pd.DataFrame:
    """Build the POI table (without mode node columns) from classified features.

    Parameters
    ----------
    features
        Features accepted by ``is_poi``.

    Returns
    -------
    pandas.DataFrame
        Columns ``poi_id`` (0..n-1), ``kind``, ``name`` ("" if untagged), ``osm_type``,
        ``osm_id``, ``lon``, ``lat`` (degrees), ``tag`` (the rule that matched), ``source``
        (``source``) and ``hours`` (""); sorted by kind (POI_KINDS order), osm_type, osm_id.
    """
    rows = []
    for f in features:
        kind, tag = classify(f.tags)
        rows.append((kind, f.tags.get("name", ""), f.osm_type, f.osm_id, f.lon, f.lat, tag))
    table = pd.DataFrame(rows, columns=list(POI_COLUMNS[1:-2]))
    has_buildings = (table["kind"] == "residential").any()
    if has_buildings:
        table = table.loc[table["kind"] != _RESIDENTIAL_LANDUSE]
    else:
        table.loc[table["kind"] == _RESIDENTIAL_LANDUSE, "kind"] = "residential"
    table = table.drop_duplicates(["osm_type", "osm_id"])
    order = {k: i for i, k in enumerate(POI_KINDS)}
    table = table.assign(_k=table["kind"].map(order)).sort_values(["_k", "osm_type", "osm_id"])
    table = table.drop(columns="_k").reset_index(drop=True)
    table = table.assign(source=source, hours="")
    return number_pois(table)


def number_pois(table: pd.DataFrame) -> pd.DataFrame:
    """Set ``poi_id`` to 0..n-1 in row order and the column types of ``POI_COLUMNS``."""
    table = table.drop(columns="poi_id", errors="ignore").reset_index(drop=True)
    table.insert(0, "poi_id", np.arange(len(table), dtype=np.int64))
    return table.astype({"osm_id": np.int64, "lon": float, "lat": float, "kind": object,
                         "name": object, "osm_type": object, "tag": object, "source": object,
                         "hours": object})


def count_by_kind(pois: pd.DataFrame) -> dict[str, int]:
    """Return POI counts for every kind in POI_KINDS (0 when absent)."""
    counts = pois["kind"].value_counts()
    return {kind: int(counts.get(kind, 0)) for kind in POI_KINDS}
