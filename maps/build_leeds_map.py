"""Build the embedded central-Leeds map (the default) from the sources committed in maps/data/sources/leeds/.

Inputs (each described, with its source and licence, in that folder's README):

* ``leeds-centre-streets.osm.bz2`` — OSM streets: the street graphs and the map's extent;
* ``leeds-centre-osm-points.geojson.gz`` — OSM points: POIs by the rules of ``pois.py``
  (community and arts centres, colleges and university buildings, craft, department
  stores, works), kept if on the map: inside the streets' bounding box and within
  ``ON_MAP_M`` (250 m) of a walk-graph node;
* ``leeds-libraries-2023.csv`` — DCMS public libraries: the map's libraries are the
  *open* ones on the map, with opening hours derived from the dataset
  (``libraries.py``). An OSM library point within ``LIBRARY_MATCH_M`` of one is the
  same library (its OSM id is kept, the point is not added twice); OSM library points
  that match no DCMS public library are not public libraries and are left out;
* ``leeds-lsoa11-imd2019.geojson`` — LSOAs with IMD 2019 deciles and mid-2015
  population: the zones overlapping the area the streets cover (``City.extent``,
  the convex hull of the walk-graph nodes) are stored in the map file (``City.zones``).

Nothing is downloaded and nothing outside the sources folder is read, so the build is
reproducible on a fresh machine; the output is byte-for-byte identical on every run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from citymodel.errors import MapError
from citymodel.geometry import metres_apart
from citymodel.sites import ON_MAP_M

from .assemble import attach_pois_to_graphs, city_from_osm, file_sha256
from .city import City
from .embedded import SOURCES_DIR
from .graph_build import mode_nodes
from .libraries import read_libraries
from .osm_points import read_osm_points
from .pois import POI_KINDS, is_poi, number_pois, poi_table
from .snap import Snapper

LEEDS_SOURCES = SOURCES_DIR / "leeds"
STREETS = "leeds-centre-streets.osm.bz2"
POINTS = "leeds-centre-osm-points.geojson.gz"
LIBRARIES = "leeds-libraries-2023.csv"
ZONES = "leeds-lsoa11-imd2019.geojson"
LEEDS_NAME = "Leeds (central)"
LEEDS_PLACE = ("central Leeds, England: the city centre, the University and Woodhouse, Little London "
               "and Hyde Park (about 2.6 x 3.1 km)")
OSM_NOTICE = "© OpenStreetMap contributors, ODbL (https://www.openstreetmap.org/copyright)"
OGL_NOTICE = "Contains public sector information licensed under the Open Government Licence v3.0"
OS_NOTICE = "Contains OS data © Crown copyright and database right"
LEEDS_ATTRIBUTION = (
    f"{OSM_NOTICE}. {OS_NOTICE}. {OGL_NOTICE} (ONS LSOA 2011 boundaries and population-weighted centroids; "
    "MHCLG English Indices of Deprivation 2019; DCMS / Arts Council England public libraries basic dataset 2023)."
)
LEEDS_LICENCE = "ODbL 1.0 (OpenStreetMap data); OGL v3.0 (ONS, OS, MHCLG and DCMS data)"
LIBRARY_MATCH_M = 150.0
LIBRARY_SOURCE = "dcms-libraries-2023"
POINTS_SOURCE = "osm-points"
SOURCE_ROWS = (
    (STREETS, "OSM streets (Overpass export 2023-05-07), via GitHub acteng/cyclability @75ac6dd",
     "ODbL 1.0, © OpenStreetMap contributors"),
    (POINTS, "OSM points, via GitHub udsleeds/openinfra @076f5494 (data/example_data_pois.rda)",
     "ODbL 1.0, © OpenStreetMap contributors"),
    (LIBRARIES, "DCMS / Arts Council England, Public libraries in England: basic dataset (2023), via "
     "GitHub LibrariesHacked/library-isochrones @49abd5d5", "OGL v3.0"),
    (ZONES, "ONS LSOA 2011 boundaries (via GitHub humaniverse/geographr @c026be5c) and population-weighted "
     "centroids; MHCLG English Indices of Deprivation 2019 (IMD, income and employment deciles; mid-2015 "
     "population)", "OGL v3.0; contains OS data © Crown copyright and database right"),
)


@dataclass
class BuildLog:
    """What the build kept and left out (printed by the build command)."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        """Record one line."""
        self.lines.append(line)


class OnMap:
    """Which points are on the map: inside its bounding box and within ``ON_MAP_M`` of a walk-graph node."""

    def __init__(self, city: City) -> None:
        ids = mode_nodes(city.network, "walk")
        xy = city.network.nodes.loc[ids]
        self.snapper = Snapper(ids, xy["x"].to_numpy(), xy["y"].to_numpy())
        self.bbox = city.bbox

    def __call__(self, lon: float, lat: float) -> bool:
        west, south, east, north = self.bbox
        return bool(west <= lon <= east and south <= lat <= north
                    and float(self.snapper.nearest(lon, lat)[1]) <= ON_MAP_M)


def library_pois(path: Path, osm_libraries: pd.DataFrame, on_map: OnMap, log: BuildLog) -> pd.DataFrame:
    """Open DCMS libraries on the map as POI rows (kind library, with ``hours``), matched to OSM points."""
    rows = []
    matched: set[int] = set()
    for lib in read_libraries(path):
        if not on_map(lib.lon, lib.lat):
            continue
        if not lib.is_open:
            log.add(f"library left out: {lib.name} (closed in {lib.year_closed}, DCMS 2023)")
            continue
        osm_type, osm_id = "dcms", -1
        if len(osm_libraries):
            dist = metres_apart(lib.lon, lib.lat, osm_libraries["lon"].to_numpy(), osm_libraries["lat"].to_numpy())
            k = int(np.argmin(dist))
            if dist[k] <= LIBRARY_MATCH_M:
                osm_type, osm_id = "node", int(osm_libraries["osm_id"].iloc[k])
                matched.add(osm_id)
                log.add(f"library {lib.name}: DCMS row matched to OSM node {osm_id} "
                        f"({osm_libraries['name'].iloc[k]!r}, {dist[k]:.0f} m)")
        log.add(f"library {lib.name}: open, {lib.hours_per_week:g} h/week in DCMS 2023; hours {lib.hours}")
        rows.append({"kind": "library", "name": lib.name, "osm_type": osm_type, "osm_id": osm_id,
                     "lon": lib.lon, "lat": lib.lat, "tag": f"dcms:{lib.library_type}",
                     "source": LIBRARY_SOURCE, "hours": lib.hours_json})
    for row in osm_libraries.itertuples():
        if int(row.osm_id) not in matched:
            log.add(f"OSM library point left out: {row.name!r} (node {row.osm_id}) is not an open public "
                    f"library of the DCMS list within {LIBRARY_MATCH_M:.0f} m")
    return pd.DataFrame(rows, columns=["kind", "name", "osm_type", "osm_id", "lon", "lat", "tag", "source",
                                       "hours"])


def build_leeds_city(sources: Path = LEEDS_SOURCES, log: BuildLog | None = None) -> City:
    """Build the central-Leeds City (streets, POIs, libraries, zones) from the source folder.

    Parameters
    ----------
    sources
        Folder holding the four source files (``maps/data/sources/leeds``).
    log
        Receives one line per choice the build made (what was kept or left out, and why).
    """
    from citymodel.zones import read_zones

    log = log if log is not None else BuildLog()
    missing = [name for name in (STREETS, POINTS, LIBRARIES, ZONES) if not (sources / name).is_file()]
    if missing:
        msg = f"Leeds sources missing in {sources}: {', '.join(missing)}; see maps/data/sources/leeds/README.md"
        raise MapError(msg)
    city = city_from_osm(sources / STREETS, name=LEEDS_NAME)
    on_map = OnMap(city)
    points = [f for f in read_osm_points(sources / POINTS) if is_poi(f.tags) and on_map(f.lon, f.lat)]
    osm = poi_table(points, source=POINTS_SOURCE)
    libraries = library_pois(sources / LIBRARIES, osm[osm["kind"] == "library"], on_map, log)
    table = pd.concat([libraries, osm[osm["kind"] != "library"].drop(columns="poi_id")], ignore_index=True)
    order = {k: i for i, k in enumerate(POI_KINDS)}
    table = table.assign(_k=table["kind"].map(order)).sort_values(["_k", "source", "osm_type", "osm_id", "name"],
                                                                  kind="stable")
    pois = attach_pois_to_graphs(number_pois(table.drop(columns="_k")), city.network)
    counts = pois["kind"].value_counts()
    log.add("POIs: " + ", ".join(f"{k} {int(counts.get(k, 0))}" for k in POI_KINDS))
    zones = read_zones(sources / ZONES).on_map(city.extent, map_name="the Leeds streets")
    zones.name = f"{ZONES} (ONS LSOA 2011, MHCLG IMD 2019, mid-2015 population)"
    log.add(f"zones: {len(zones)} LSOAs overlap the area the streets cover (convex hull of the walk nodes); "
            f"residents on the map (population x share of area inside it) {zones.population_on_map.sum():,.0f}; "
            f"IMD deciles {sorted(set(int(d) for d in zones.imd_decile))}")
    city.pois = pois
    city.zones = zones
    city.attribution = LEEDS_ATTRIBUTION
    city.source = "maps/data/sources/leeds"
    sources_meta = [{"file": name, "sha256": file_sha256(sources / name), "source": what, "licence": licence}
                    for name, what, licence in SOURCE_ROWS]
    city.metadata.update({
        "source": city.source, "source_file": STREETS, "source_sha256": file_sha256(sources / STREETS),
        "place": LEEDS_PLACE, "licence": LEEDS_LICENCE, "currency": "GBP", "currency_symbol": "£",
        "price_level": "UK (GBP, £): the model's £ prices and incomes apply as they are",
        "sources": json.dumps(sources_meta, ensure_ascii=False, separators=(",", ":")),
    })
    return city
