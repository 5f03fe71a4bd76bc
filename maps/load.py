"""Load a City from "default", a local OSM/GraphML file, or "place:<name>"."""

from __future__ import annotations

from pathlib import Path

from citymodel.errors import MapError
from citymodel.paths import user_path

from .assemble import city_from_graphml, city_from_osm
from .city import City
from .embedded import DEFAULT_EMBEDDED, EMBEDDED_MAPS, embedded_name, embedded_path
from .graphml_io import GRAPHML_SUFFIXES, is_graphml
from .osm_reader import OSM_SUFFIXES, osm_suffix

DEFAULT_MAP = EMBEDDED_MAPS[DEFAULT_EMBEDDED]
SOURCES_EXPECTED = ("'default', 'helsinki', 'place:<name>' or a path to an .osm, .osm.gz, .osm.bz2, "
                    ".osm.pbf, .graphml or .graphml.gz file")


def load_city(source: str | Path = "default") -> City:
    """Load a city map.

    Parameters
    ----------
    source
        "default" (the embedded central-Leeds map, also "leeds"), "helsinki" (the
        embedded central-Helsinki map), a path to an .osm, .osm.gz, .osm.bz2, .osm.pbf
        file or to a .graphml/.graphml.gz written by citymodel, or "place:<name>"
        (downloaded with osmnx and cached; needs a network connection the first time).

    Returns
    -------
    City

    Raises
    ------
    MapError
        One line naming the source: missing/empty/unreadable file, unknown
        extension, not OSM, no walkable streets, or no network for a place.
    """
    text = str(source)
    name = embedded_name(text)
    if name is not None:
        return city_from_graphml(embedded_path(name), source=text)
    if text.startswith("place:"):
        from .places import load_place  # osmnx download code, loaded lazily

        return load_place(text.removeprefix("place:").strip())
    return city_from_file(user_path(text))


def city_from_file(path: Path) -> City:
    """Load a local .osm/.osm.gz/.osm.bz2/.osm.pbf or citymodel .graphml(.gz) file."""
    path = path.resolve()
    if not path.exists():
        msg = f"map file {path} does not exist; expected {SOURCES_EXPECTED}"
        raise MapError(msg)
    if not path.is_file():
        msg = f"map file {path} is not a file; expected {SOURCES_EXPECTED}"
        raise MapError(msg)
    if not (is_graphml(path) or osm_suffix(path)):
        expected = ", ".join((*OSM_SUFFIXES, *GRAPHML_SUFFIXES))
        msg = f"map file {path} has an unknown extension; expected one of {expected}"
        raise MapError(msg)
    if path.stat().st_size == 0:
        msg = f"map file {path} is empty (0 bytes); expected OpenStreetMap or GraphML data"
        raise MapError(msg)
    if is_graphml(path):
        return city_from_graphml(path, source=str(path))
    return city_from_osm(path)











