"""Write and read the project's single-file GraphML map format (.graphml / .graphml.gz).

Format ``citymodel_format="1"``: ONE directed multigraph holding the three mode
graphs. Every directed street segment kept by at least one mode is one ``<edge>``
with ``osmid``, ``highway``, ``name``, ``maxspeed``, ``length`` (m), ``modes``
(space-separated, e.g. "walk bike van") and, per listed mode, ``speed_kph_<mode>``
(km/h) and ``travel_time_<mode>`` (s). A mode graph is its edges (in file order,
which fixes the keys of parallel edges) and their end nodes. Nodes carry ``x``
(lon) and ``y`` (lat) in degrees (EPSG:4326). Graph-level data, written before
the nodes: ``citymodel_format``, ``created_by="citymodel"``, ``attribution``,
``source``, ``source_file``, ``source_sha256``, ``name``, ``crs``, ``stats``
(per-mode SCC statistics, JSON), ``pois`` (the POI table, JSON
``{"columns": [...], "data": [[...], ...]}``) and, when the map has them,
``place`` (what the map covers), ``licence``, ``currency`` (ISO 4217 code of the
place), ``currency_symbol``, ``price_level`` (whether the model's £ prices apply),
``sources`` (JSON list of the source files with their sha256 and licence) and
``zones`` (areas with population and deprivation, ``citymodel.zones`` JSON). Floats are written with ``repr`` so
a round trip is exact. Any GraphML reader (e.g. ``networkx.read_graphml``) can
open the file; citymodel reads it with its own streaming parser (faster).
"""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from citymodel.errors import MapError

from .graph_build import BASE_MODES, StreetNetwork

FORMAT_VERSION = "1"
GRAPHML_SUFFIXES = (".graphml", ".graphml.gz")
_NS = "{http://graphml.graphdrawing.org/xmlns}"
_GRAPH_KEYS = ("citymodel_format", "created_by", "attribution", "source", "source_file",
               "source_sha256", "name", "crs", "place", "licence", "currency", "currency_symbol",
               "price_level", "sources", "stats", "pois", "zones")
# optional graph-level strings a City carries in its metadata (written only when not empty)
OPTIONAL_META = ("place", "licence", "currency", "currency_symbol", "price_level", "sources", "zones")
_EDGE_KEYS = [("osmid", "long"), ("highway", "string"), ("name", "string"),
              ("maxspeed", "string"), ("length", "double"), ("modes", "string")]
_EDGE_KEYS += [(f"{p}_{m}", "double") for m in BASE_MODES for p in ("speed_kph", "travel_time")]


def is_graphml(path: Path) -> bool:
    """Return True if the file name ends in .graphml or .graphml.gz."""
    return path.name.lower().endswith(GRAPHML_SUFFIXES)


def write_city_graphml(path: Path, net: StreetNetwork, pois: pd.DataFrame,
                       meta: dict[str, str]) -> None:
    """Write a map to ``path`` (.graphml, or .graphml.gz compressed reproducibly).

    Parameters
    ----------
    path
        Output file; a ``.gz`` suffix selects gzip compression (mtime 0).
    net
        Street network with per-mode flags and speeds.
    pois
        POI table (``City.pois``).
    meta
        Graph-level strings: attribution, source, source_file, source_sha256, name.
    """
    graph_data = {"citymodel_format": FORMAT_VERSION, "created_by": "citymodel",
                  "crs": "epsg:4326", **meta,
                  "stats": json.dumps(net.stats, sort_keys=True),
                  "pois": json.dumps({"columns": list(pois.columns),
                                      "data": pois.to_numpy(dtype=object).tolist()},
                                     default=_json_scalar)}
    parts = ["<?xml version='1.0' encoding='utf-8'?>\n",
             '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n']
    for key in _GRAPH_KEYS:
        parts.append(f'<key id="g_{key}" for="graph" attr.name="{key}" attr.type="string"/>\n')
    for key in ("x", "y"):
        parts.append(f'<key id="n_{key}" for="node" attr.name="{key}" attr.type="double"/>\n')
    for key, kind in _EDGE_KEYS:
        parts.append(f'<key id="e_{key}" for="edge" attr.name="{key}" attr.type="{kind}"/>\n')
    parts.append('<graph edgedefault="directed">\n')
    for key in _GRAPH_KEYS:
        if graph_data.get(key, "") != "" or (key in graph_data and key not in OPTIONAL_META):
            parts.append(f'<data key="g_{key}">{escape(str(graph_data[key]))}</data>\n')
    for n, x, y in zip(net.nodes.index, net.nodes["x"], net.nodes["y"], strict=True):
        parts.append(f'<node id="{n}"><data key="n_x">{x!r}</data>'
                     f'<data key="n_y">{y!r}</data></node>\n')
    parts.extend(_edge_lines(net.edges))
    parts.append("</graph>\n</graphml>\n")
    data = "".join(parts).encode("utf-8")
    if path.name.lower().endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    path.write_bytes(data)


def _json_scalar(value):
    return value.item() if isinstance(value, np.generic) else str(value)


def _edge_lines(edges: pd.DataFrame):
    keep = edges[[f"keep_{m}" for m in BASE_MODES]].to_numpy()
    speeds = edges[[f"speed_kph_{m}" for m in BASE_MODES]].to_numpy(dtype=float)
    cols = zip(edges["u"], edges["v"], edges["osmid"], edges["highway"], edges["name"],
               edges["maxspeed"], edges["length"], keep, speeds, strict=True)
    for u, v, osmid, hwy, street, maxspeed, length, flags, speed in cols:
        line = [f'<edge source="{u}" target="{v}"><data key="e_osmid">{osmid}</data>'
                f'<data key="e_highway">{escape(hwy)}</data>']
        if street:
            line.append(f'<data key="e_name">{escape(street)}</data>')
        if maxspeed:
            line.append(f'<data key="e_maxspeed">{escape(maxspeed)}</data>')
        modes = [m for m, f in zip(BASE_MODES, flags, strict=True) if f]
        line.append(f'<data key="e_length">{float(length)!r}</data>'
                    f'<data key="e_modes">{" ".join(modes)}</data>')
        for m, f, s in zip(BASE_MODES, flags, speed, strict=True):
            if f:
                tt = float(length) / (float(s) / 3.6)
                line.append(f'<data key="e_speed_kph_{m}">{float(s)!r}</data>'
                            f'<data key="e_travel_time_{m}">{tt!r}</data>')
        line.append("</edge>\n")
        yield "".join(line)


def read_city_graphml(path: Path) -> tuple[StreetNetwork, pd.DataFrame, dict[str, str]]:
    """Read a map written by ``write_city_graphml``.

    Returns
    -------
    net, pois, meta
        Street network, POI table and graph-level strings.

    Raises
    ------
    MapError
        If the file is not GraphML, is damaged, or was not written by citymodel.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    keys: dict[str, str] = {}
    graph: dict[str, str] = {}
    nodes: list[tuple[int, float, float]] = []
    edges: list[tuple[int, int, dict[str, str]]] = []
    try:
        with opener(path, "rb") as fh:
            for _, elem in ET.iterparse(fh, events=("end",)):
                tag = elem.tag.rpartition("}")[2]
                if tag == "node":
                    if "citymodel_format" not in graph:
                        _not_citymodel(path)
                    d = {keys[c.get("key")]: c.text for c in elem}
                    nodes.append((int(elem.get("id")), float(d["x"]), float(d["y"])))
                    elem.clear()
                elif tag == "edge":
                    d = {keys[c.get("key")]: c.text for c in elem}
                    edges.append((int(elem.get("source")), int(elem.get("target")), d))
                    elem.clear()
                elif tag == "key":
                    keys[elem.get("id")] = elem.get("attr.name")
                elif tag == "data" and elem.get("key", "").startswith("g_"):
                    graph[keys.get(elem.get("key"), "")] = elem.text or ""
    except (ET.ParseError, OSError, EOFError, KeyError, ValueError, TypeError) as err:
        msg = (f"map file {path} is not a readable citymodel GraphML file ({_one_line(err)}); "
               "expected a complete file written by City.save")
        raise MapError(msg) from None
    if "citymodel_format" not in graph:
        _not_citymodel(path)
    if graph["citymodel_format"] != FORMAT_VERSION:
        msg = (f"map file {path} has citymodel_format {graph['citymodel_format']!r}; "
               f"this version reads format {FORMAT_VERSION!r}")
        raise MapError(msg)
    return _network(nodes, edges, graph), _pois(graph), graph


def read_graph_metadata(path: Path) -> dict[str, str]:
    """The graph-level strings of a citymodel GraphML file, without reading its nodes and edges.

    Graph-level data comes before the first node, so this reads only the head of the file.
    The large ``pois`` and ``zones`` fields are left out.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    keys: dict[str, str] = {}
    graph: dict[str, str] = {}
    try:
        with opener(path, "rb") as fh:
            for _, elem in ET.iterparse(fh, events=("end",)):
                tag = elem.tag.rpartition("}")[2]
                if tag == "key":
                    keys[elem.get("id")] = elem.get("attr.name")
                elif tag == "data" and elem.get("key", "").startswith("g_"):
                    name = keys.get(elem.get("key"), "")
                    if name not in ("pois", "zones"):
                        graph[name] = elem.text or ""
                    elem.clear()
                elif tag == "node":
                    break
    except (ET.ParseError, OSError, EOFError) as err:
        msg = f"map file {path} is not a readable citymodel GraphML file ({_one_line(err)})"
        raise MapError(msg) from None
    if "citymodel_format" not in graph:
        _not_citymodel(path)
    return graph


def _not_citymodel(path: Path) -> None:
    msg = (f"map file {path} is a GraphML file not written by citymodel; expected a map "
           "saved by citymodel (City.save) or an .osm/.osm.pbf file")
    raise MapError(msg)


def _one_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def _network(nodes, edges, graph: dict[str, str]) -> StreetNetwork:
    node_df = pd.DataFrame(nodes, columns=["osmid", "x", "y"]).astype(
        {"osmid": np.int64, "x": float, "y": float}).set_index("osmid")
    table = {
        "u": np.array([e[0] for e in edges], dtype=np.int64),
        "v": np.array([e[1] for e in edges], dtype=np.int64),
        "osmid": np.array([int(e[2]["osmid"]) for e in edges], dtype=np.int64),
    }
    for col in ("highway", "name", "maxspeed"):
        table[col] = np.array([e[2].get(col) or "" for e in edges], dtype=object)
    table["length"] = np.array([float(e[2]["length"]) for e in edges])
    modes = [set(e[2]["modes"].split()) for e in edges]
    for m in BASE_MODES:
        table[f"speed_kph_{m}"] = np.array([float(e[2].get(f"speed_kph_{m}", "nan"))
                                            for e in edges])
    for m in BASE_MODES:
        table[f"keep_{m}"] = np.array([m in s for s in modes], dtype=bool)
    stats = json.loads(graph.get("stats", "{}"))
    return StreetNetwork(node_df, pd.DataFrame(table), stats)


def _pois(graph: dict[str, str]) -> pd.DataFrame:
    raw = json.loads(graph.get("pois", '{"columns": [], "data": []}'))
    pois = pd.DataFrame(raw["data"], columns=raw["columns"])
    ints = {c: np.int64 for c in pois.columns
            if c in ("poi_id", "osm_id") or c.startswith("node_")}
    floats = {c: float for c in ("lon", "lat") if c in pois.columns}
    objects = {c: object for c in pois.columns if c not in ints and c not in floats}
    return pois.astype({**ints, **floats, **objects})
