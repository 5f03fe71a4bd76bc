"""Where facilities and homes go: real POIs first, stated fallback rules when a map lacks a kind, user sites added.

Rules (also written into every run's ``summary.json`` under ``placement``):

- Public workshops: one per library, school, college, community centre, arts
  centre, youth centre, shopping centre and makerspace POI, at most
  ``facilities.max_per_kind`` of each kind (those nearest the map centre). A POI
  that carries its own opening hours (``hours``, e.g. the DCMS libraries of the
  Leeds map) opens at those hours instead of the kind's.
- Makerspace missing: ``facilities.makerspaces_if_missing`` placed at the craft
  POIs nearest the centre (crafts that make goods, ``MAKING_CRAFTS``, first),
  else at the walk-graph nodes nearest the centre.
- Professional makers: at craft POIs nearest the centre (crafts that make goods
  first, then other crafts), then industrial POIs, else at walk-graph nodes
  spread evenly by a seeded draw.
- Textile mills: at industrial POIs (largest distance from the centre first: mills
  sit at the edge); missing → the van-graph node farthest from the centre.
- Import depot (last-mile origin of imports): the van-graph node farthest from
  the centre.
- User sites (``facilities.sites_file``, ``facilities.extra_sites``; see
  ``citymodel.sites``) are added after these, snapped to the nearest node of each
  graph; ``facilities.poi_sites = false`` leaves out the POI public workshops
  (makers and mills stay).
- Homes: residential POIs; fewer than 200 → the walk-graph nodes on streets people live on
  (residential, living_street, unclassified, tertiary, secondary, primary, pedestrian;
  not footways, service alleys or tunnels); if even those are fewer, every walk-graph node.
  With zones that carry a population, homes are drawn in proportion to it (``citymodel.homes``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from citymodel.config import FacilityKindConfig
from citymodel.population import project
from citymodel.sites import check_on_map, snap_distance_m, user_sites
from citymodel.vocabulary import PUBLIC_WORKSHOP_KINDS

SITE_MODES = ("walk", "bike", "van")
# craft=* values of workshops that make or repair goods: preferred for professional makers and makerspaces
MAKING_CRAFTS = frozenset({
    "3d_printing", "blacksmith", "boatbuilder", "bookbinder", "cabinet_maker", "carpenter", "clockmaker",
    "dressmaker", "electronics_repair", "embroiderer", "engraver", "furniture", "glassblower", "handicraft",
    "jeweller", "joiner", "key_cutter", "leather", "locksmith", "metal_construction", "metal_works", "potter",
    "pottery", "saddler", "sawmill", "shoemaker", "sign_maker", "signmaker", "stonemason", "tailor",
    "upholsterer", "watchmaker", "weaver", "window_construction", "woodworker",
})
# Fewer residential POIs than this would crowd a whole city into a few buildings.
MIN_RESIDENTIAL_POIS = 200
# Streets with front doors: homes fall back to nodes on these (not footpaths, service alleys or tunnels).
HOME_STREETS = ("residential", "living_street", "unclassified", "tertiary", "secondary", "primary", "pedestrian")


@dataclass
class Site:
    """A chosen facility location.

    Attributes
    ----------
    kind
        Facility kind.
    name
        Label ("" if none).
    lon, lat
        Location (degrees).
    nodes
        Nearest node id per graph (walk, bike, van).
    placement
        How it was chosen: ``poi:<kind>``, ``user:<origin>`` or the fallback rule.
    machines, fee_per_hour, hours
        Replace the kind's machines, fee (£/h) or opening hours when not None.
    source
        Data source of the location (``osm``, ``osm-points``, ``dcms-libraries-2023``, ``user``, ``rule``).
    snap_m
        Distance (m) from the location to its walk-graph node.
    """

    kind: str
    name: str
    lon: float
    lat: float
    nodes: dict[str, int]
    placement: str
    machines: dict[str, int] | None = None
    fee_per_hour: float | None = None
    hours: list | None = None
    source: str = "rule"
    snap_m: float = float("nan")


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
               label: str | None = None, making_first: bool = False, city=None) -> list[Site]:
    chosen = pois[pois["kind"] == kind]
    if chosen.empty or count <= 0:
        return []
    distance = _distance_from_centre(chosen, centre)
    if farthest:
        distance = -distance
    if making_first:
        making = chosen["tag"].str.removeprefix("craft=").isin(MAKING_CRAFTS).to_numpy()
        order = np.lexsort((distance, ~making))
    else:
        order = np.argsort(distance, kind="stable")
    chosen = chosen.iloc[order[:count]]
    snap = _poi_snap_m(city, chosen) if city is not None else np.full(len(chosen), np.nan)
    hours = chosen["hours"] if "hours" in chosen.columns else pd.Series([""] * len(chosen), index=chosen.index)
    source = chosen["source"] if "source" in chosen.columns else pd.Series(["osm"] * len(chosen), index=chosen.index)
    return [
        Site(label or kind, str(r.name_) if r.name_ else "", float(r.lon), float(r.lat),
             {m: int(getattr(r, f"node_{m}")) for m in SITE_MODES}, f"poi:{kind}",
             hours=json.loads(h) if h else None, source=str(src), snap_m=float(d))
        for r, h, src, d in zip(chosen.rename(columns={"name": "name_"}).itertuples(), hours, source, snap,
                                strict=True)
    ]


def _poi_snap_m(city, pois: pd.DataFrame) -> np.ndarray:
    graph = city.graph("walk")
    nodes = pois["node_walk"].to_numpy()
    return snap_distance_m(pois["lon"].to_numpy(), pois["lat"].to_numpy(),
                           np.array([graph.nodes[int(n)]["x"] for n in nodes]),
                           np.array([graph.nodes[int(n)]["y"] for n in nodes]))


def centre_of(city) -> tuple[float, float]:
    """(lon, lat) of the map's bounding-box centre."""
    west, south, east, north = city.bbox
    return (west + east) / 2, (south + north) / 2


def choose_sites(city, facilities_cfg, rng: np.random.Generator) -> tuple[list[Site], list[str]]:
    """Pick facility sites from the city's POIs, then add the user's sites; return the sites and notes.

    Raises
    ------
    citymodel.errors.ConfigError
        A user site with bad values or off the map (one line naming the file and row).
    """
    pois = city.pois
    centre = centre_of(city)
    notes: list[str] = []
    sites: list[Site] = []
    extra = user_sites(facilities_cfg)
    added = _user_site_objects(city, extra)
    if facilities_cfg.poi_sites:
        for kind in PUBLIC_WORKSHOP_KINDS:
            sites += _poi_sites(pois, kind, facilities_cfg.max_per_kind, centre, city=city)
        timed = [s for s in sites if s.hours]
        if timed:
            notes.append(f"{len(timed)} public workshop(s) open at their own hours from "
                         f"{', '.join(sorted({s.source for s in timed}))}: " + "; ".join(s.name for s in timed))
    else:
        notes.append("facilities.poi_sites = false: no public workshops at the map's POIs, only the user's sites")
    if facilities_cfg.poi_sites and not (pois["kind"] == "makerspace").any() \
            and facilities_cfg.makerspaces_if_missing > 0:
        fallback = _poi_sites(pois, "craft", facilities_cfg.makerspaces_if_missing, centre, label="makerspace",
                              making_first=True, city=city)
        if fallback:
            notes.append("no makerspace POI: makerspace placed at the craft POI(s) nearest the centre")
        else:
            fallback = _node_sites(city, "makerspace", facilities_cfg.makerspaces_if_missing, centre)
            notes.append("no makerspace or craft POI: makerspace placed at the walk node(s) nearest the centre")
        sites += fallback
    pro = _poi_sites(pois, "craft", facilities_cfg.pro_makers, centre, label="maker", making_first=True, city=city)
    if len(pro) < facilities_cfg.pro_makers:
        pro += _poi_sites(pois, "industrial", facilities_cfg.pro_makers - len(pro), centre, label="maker", city=city)
    if len(pro) < facilities_cfg.pro_makers:
        missing = facilities_cfg.pro_makers - len(pro)
        pro += _random_node_sites(city, "maker", missing, rng)
        notes.append(f"{missing} professional maker(s) placed at random walk nodes (too few craft/industrial POIs)")
    sites += pro
    mills = _poi_sites(pois, "industrial", facilities_cfg.textile_mills, centre, farthest=True, label="textile_mill",
                       city=city)
    if len(mills) < facilities_cfg.textile_mills:
        missing = facilities_cfg.textile_mills - len(mills)
        mills += _farthest_node_sites(city, "textile_mill", missing, centre)
        notes.append(f"no industrial POI for {missing} textile mill(s): "
                     "placed at the van node farthest from the centre")
    sites += mills
    if added:
        sites += added
        kinds = pd.Series([s.kind for s in added]).value_counts().sort_index()
        snap = np.array([s.snap_m for s in added])
        origins = [o for o in (facilities_cfg.sites_file, "facilities.extra_sites" if facilities_cfg.extra_sites
                               else "") if o]
        notes.append(f"{len(added)} user site(s) added from {' and '.join(origins)}"
                     f" ({', '.join(f'{k} {n}' for k, n in kinds.items())}); snapped to the walk graph within "
                     f"{snap.min():.0f}-{snap.max():.0f} m (median {np.median(snap):.0f} m)")
    return sites, notes


def check_user_sites(city, facilities_cfg) -> None:
    """Read, check and snap the user's sites (``sites_file``, ``extra_sites``): one-line error if one is bad."""
    _user_site_objects(city, user_sites(facilities_cfg))


def _user_site_objects(city, extra) -> list[Site]:
    """User sites snapped to every graph; refused (one line) if off the map."""
    if not extra:
        return []
    lon = np.array([s.lon for s in extra])
    lat = np.array([s.lat for s in extra])
    graph = city.graph("walk")
    walk = np.asarray(city.router("walk").snap(lon, lat))
    snap = snap_distance_m(lon, lat, np.array([graph.nodes[int(n)]["x"] for n in walk]),
                           np.array([graph.nodes[int(n)]["y"] for n in walk]))
    check_on_map(extra, snap, f"map {city.source}")
    snapped = _snap_all(city, lon, lat)
    return [Site(s.kind, s.name, s.lon, s.lat, nodes, f"user:{s.label}", machines=s.machines,
                 fee_per_hour=s.fee_per_hour, source="user", snap_m=float(d))
            for s, nodes, d in zip(extra, snapped, snap, strict=True)]


def site_spec(config, site: Site) -> FacilityKindConfig:
    """The machines, hours and fee of ``site``: its kind's (``facilities.kinds``), with the site's own values.

    A professional maker site (kind ``maker``) uses the ``pro_maker`` kind.
    """
    spec_kind = "pro_maker" if site.kind == "maker" else site.kind
    spec = config.facility_kind(spec_kind)
    changes = {}
    if site.machines is not None:
        changes["machines"] = dict(site.machines)
    if site.fee_per_hour is not None:
        changes["fee_per_hour"] = float(site.fee_per_hour)
    if site.hours:
        changes["hours"] = [list(entry) for entry in site.hours]
    return replace(spec, **changes) if changes else spec


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
