"""Where facilities and homes go: real POIs first, stated fallback rules when a map lacks a kind.

Rules (also written into every run's ``summary.json`` under ``placement``):

- Public workshops: one per library, school, community centre, youth centre,
  shopping centre and makerspace POI, at most ``facilities.max_per_kind`` of each
  kind (those nearest the map centre).
- Makerspace missing: ``facilities.makerspaces_if_missing`` placed at the craft
  POIs nearest the centre, else at the walk-graph nodes nearest the centre.
- Professional makers: at craft POIs nearest the centre, then industrial POIs,
  else at walk-graph nodes spread evenly by a seeded draw.
- Textile mills: at industrial POIs (largest distance from the centre first: mills
  sit at the edge); missing → the van-graph node farthest from the centre.
- Import depot (last-mile origin of imports): the van-graph node farthest from
  the centre.
- Homes: residential POIs; fewer than 200 → the walk-graph nodes on streets people live on
  (residential, living_street, unclassified, tertiary, secondary, primary, pedestrian;
  not footways, service alleys or tunnels); if even those are fewer, every walk-graph node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from citymodel.population import project
from citymodel.vocabulary import PUBLIC_WORKSHOP_KINDS

SITE_MODES = ("walk", "bike", "van")
# Fewer residential POIs than this would crowd a whole city into a few buildings.
MIN_RESIDENTIAL_POIS = 200
# Streets with front doors: homes fall back to nodes on these (not footpaths, service alleys or tunnels).
HOME_STREETS = ("residential", "living_street", "unclassified", "tertiary", "secondary", "primary", "pedestrian")


@dataclass
class Site:
    """A chosen facility location."""

    kind: str
    name: str
    lon: float
    lat: float
    nodes: dict[str, int]
    placement: str


def _graph_nodes(city, mode: str) -> pd.DataFrame:
    graph = city.graph(mode)
    ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
    lon = np.array([graph.nodes[n]["x"] for n in ids])
    lat = np.array([graph.nodes[n]["y"] for n in ids])
    return pd.DataFrame({"node": ids, "lon": lon, "lat": lat})


def _snap_all(city, lon: np.ndarray, lat: np.ndarray) -> list[dict[str, int]]:
    snapped = {m: np.asarray(city.router(m).snap(lon, lat)) for m in SITE_MODES}
    return [{m: int(snapped[m][i]) for m in SITE_MODES} for i in range(len(lon))]


def _distance_from_centre(df: pd.DataFrame, centre: tuple[float, float]) -> np.ndarray:
    x, y = project(df["lon"].to_numpy(), df["lat"].to_numpy(), *centre)
    return np.hypot(x, y)


def _poi_sites(pois: pd.DataFrame, kind: str, count: int, centre, farthest: bool = False,
               label: str | None = None) -> list[Site]:
    chosen = pois[pois["kind"] == kind]
    if chosen.empty or count <= 0:
        return []
    order = np.argsort(_distance_from_centre(chosen, centre), kind="stable")
    if farthest:
        order = order[::-1]
    chosen = chosen.iloc[order[:count]]
    return [
        Site(label or kind, str(r.name_) if r.name_ else "", float(r.lon), float(r.lat),
             {m: int(getattr(r, f"node_{m}")) for m in SITE_MODES}, f"poi:{kind}")
        for r in chosen.rename(columns={"name": "name_"}).itertuples()
    ]


def centre_of(city) -> tuple[float, float]:
    """(lon, lat) of the map's bounding-box centre."""
    west, south, east, north = city.bbox
    return (west + east) / 2, (south + north) / 2


def choose_sites(city, facilities_cfg, rng: np.random.Generator) -> tuple[list[Site], list[str]]:
    """Pick facility sites from the city's POIs; return the sites and notes on fallbacks used."""
    pois = city.pois
    centre = centre_of(city)
    notes: list[str] = []
    sites: list[Site] = []
    for kind in PUBLIC_WORKSHOP_KINDS:
        sites += _poi_sites(pois, kind, facilities_cfg.max_per_kind, centre)
    if not (pois["kind"] == "makerspace").any() and facilities_cfg.makerspaces_if_missing > 0:
        fallback = _poi_sites(pois, "craft", facilities_cfg.makerspaces_if_missing, centre, label="makerspace")
        if fallback:
            notes.append("no makerspace POI: makerspace placed at the craft POI(s) nearest the centre")
        else:
            fallback = _node_sites(city, "makerspace", facilities_cfg.makerspaces_if_missing, centre)
            notes.append("no makerspace or craft POI: makerspace placed at the walk node(s) nearest the centre")
        sites += fallback
    pro = _poi_sites(pois, "craft", facilities_cfg.pro_makers, centre, label="maker")
    if len(pro) < facilities_cfg.pro_makers:
        pro += _poi_sites(pois, "industrial", facilities_cfg.pro_makers - len(pro), centre, label="maker")
    if len(pro) < facilities_cfg.pro_makers:
        missing = facilities_cfg.pro_makers - len(pro)
        pro += _random_node_sites(city, "maker", missing, rng)
        notes.append(f"{missing} professional maker(s) placed at random walk nodes (too few craft/industrial POIs)")
    sites += pro
    mills = _poi_sites(pois, "industrial", facilities_cfg.textile_mills, centre, farthest=True, label="textile_mill")
    if len(mills) < facilities_cfg.textile_mills:
        missing = facilities_cfg.textile_mills - len(mills)
        mills += _farthest_node_sites(city, "textile_mill", missing, centre)
        notes.append(f"no industrial POI for {missing} textile mill(s): "
                     "placed at the van node farthest from the centre")
    sites += mills
    return sites, notes


def _node_sites(city, label: str, count: int, centre) -> list[Site]:
    nodes = _graph_nodes(city, "walk")
    order = np.argsort(_distance_from_centre(nodes, centre), kind="stable")[:count]
    return _sites_at(city, nodes.iloc[order], label, "fallback:nearest_centre")


def _random_node_sites(city, label: str, count: int, rng: np.random.Generator) -> list[Site]:
    nodes = _graph_nodes(city, "walk")
    pick = rng.choice(len(nodes), size=min(count, len(nodes)), replace=False)
    return _sites_at(city, nodes.iloc[np.sort(pick)], label, "fallback:random_node")


def _farthest_node_sites(city, label: str, count: int, centre) -> list[Site]:
    nodes = _graph_nodes(city, "van")
    order = np.argsort(-_distance_from_centre(nodes, centre), kind="stable")[:count]
    return _sites_at(city, nodes.iloc[order], label, "fallback:farthest_van_node")


def _sites_at(city, nodes: pd.DataFrame, label: str, placement: str) -> list[Site]:
    lon = nodes["lon"].to_numpy()
    lat = nodes["lat"].to_numpy()
    return [Site(label, "", float(lon[i]), float(lat[i]), snapped, placement)
            for i, snapped in enumerate(_snap_all(city, lon, lat))]


def import_depot(city) -> int:
    """Van-graph node of the import distribution depot (farthest from the centre)."""
    nodes = _graph_nodes(city, "van")
    return int(nodes["node"].iloc[int(np.argmax(_distance_from_centre(nodes, centre_of(city))))])


def home_candidates(city) -> tuple[pd.DataFrame, str | None]:
    """Candidate homes (poi_id, lon, lat, node) and a note if the fallback was used."""
    pois = city.pois
    homes = pois[pois["kind"] == "residential"]
    if len(homes) >= MIN_RESIDENTIAL_POIS:
        return homes[["poi_id", "lon", "lat"]].assign(node=homes["node_walk"].to_numpy()), None
    nodes = _graph_nodes(city, "walk")
    on_streets = _nodes_on_streets(city.graph("walk"))
    street_nodes = nodes[nodes["node"].isin(on_streets)]
    if len(street_nodes) >= MIN_RESIDENTIAL_POIS:
        note = (f"only {len(homes)} residential POIs (< {MIN_RESIDENTIAL_POIS}): homes placed at the "
                f"{len(street_nodes)} walk-graph nodes on streets people live on ({', '.join(HOME_STREETS)})")
        return street_nodes.assign(poi_id=-1).reset_index(drop=True), note
    note = (f"only {len(homes)} residential POIs (< {MIN_RESIDENTIAL_POIS}) and {len(street_nodes)} nodes on "
            "residential streets: every walk-graph node is a candidate home")
    return nodes.assign(poi_id=-1), note


def _nodes_on_streets(graph) -> set[int]:
    """Walk-graph nodes at the end of an edge whose ``highway`` is one of ``HOME_STREETS``."""
    out: set[int] = set()
    for u, v, highway in graph.edges(data="highway"):
        values = highway if isinstance(highway, list) else [highway]
        if any(h in HOME_STREETS for h in values):
            out.add(u)
            out.add(v)
    return out
