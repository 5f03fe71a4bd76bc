"""Initialization of a run: the citizens, facility sites and machines every model of the city starts from.

:func:`build_city` sets up a :class:`~citymodel.model.CityModel` (citizens,
facilities wired into its components, designers, day-0 adoption).

The vectorised :class:`~citymodel.model.CityModel` and the per-agent
:class:`~citymodel.reference.ReferenceModel` both call these functions, so they
start from the same city: the same homes, incomes, skills and ties, the same
sites and machines, drawn from the same set-up generators.
"""

from __future__ import annotations

import numpy as np

from citymodel.adoption import Adoption, initial_maker_rows
from citymodel.agents import Citizen, Maker, PublicWorkshop, TextileMill, publish_designs
from citymodel.choice import ChannelChoice
from citymodel.config import Config
from citymodel.imports import ImportChannel, van_graph_circuity
from citymodel.policy import eligible as policy_eligible
from citymodel.population import Population, project
from citymodel.residents import populate
from citymodel.siting import Site, centre_of, choose_sites, import_depot, site_spec
from citymodel.travel import TravelTables
from citymodel.vocabulary import PUBLIC_WORKSHOP_KINDS


def initial_population(config: Config, city, streams: dict[str, np.random.Generator]
                       ) -> tuple[Population, tuple[float, float], list[str]]:
    """Citizens at homes of ``city`` with income, skill and ties; returns (population, map centre, notes).

    The residents come from :func:`citymodel.residents.populate`: the zones in use (the map's own,
    or ``population.zones_file``), homes drawn in proportion to their population, incomes drawn
    within each zone's decile (synthetic without zones).
    """
    pop, notes = populate(city, config, streams)
    return pop, centre_of(city), notes


def initial_sites(config: Config, city, streams: dict[str, np.random.Generator]) -> tuple[list[Site], list[str]]:
    """The facility sites of the city (real POIs, then stated fallbacks) and notes on the fallbacks used."""
    return choose_sites(city, config.facilities, streams["population"])


def facility_type(kind: str) -> tuple[type, str]:
    """The agent class of a site ``kind`` and the ``facilities.kinds`` entry that specifies it."""
    if kind in PUBLIC_WORKSHOP_KINDS:
        return PublicWorkshop, kind
    if kind == "textile_mill":
        return TextileMill, kind
    return Maker, "pro_maker"


def extra_machines(config: Config, cls: type) -> dict[str, int] | None:
    """Machines added by the equipment-grant policy to a facility of class ``cls`` (public workshops only)."""
    extra = config.policy.extra_printers_per_workshop
    return {"3d_printer": extra} if extra and cls is PublicWorkshop else None


def create_facility(model, cls: type, kind: str, spec_kind: str, nodes: dict[str, int], name: str = "",
                    lon: float = float("nan"), lat: float = float("nan"), placement: str = "poi",
                    extra: dict[str, int] | None = None, spec=None):
    """A new facility agent of ``model`` with the next facility id, appended to ``model.facilities``.

    ``spec`` (machines, hours, fee) defaults to the ``facilities.kinds`` entry ``spec_kind``.
    """
    spec = spec if spec is not None else model.config.facility_kind(spec_kind)
    facility = cls(model, len(model.facilities), kind, spec, nodes, name, lon, lat, placement, model.now, extra,
                   spec_kind)
    model.facilities.append(facility)
    return facility


def create_sites(model, sites: list[Site], centre: tuple[float, float]) -> None:
    """Create the facility agents of ``sites`` in ``model`` (in site order); ``centre`` (lon, lat) of the map."""
    for site in sites:
        cls, spec_kind = facility_type(site.kind)
        facility = create_facility(model, cls, site.kind, spec_kind, site.nodes, site.name, site.lon, site.lat,
                                   site.placement, extra_machines(model.config, cls), site_spec(model.config, site))
        facility.x_m, facility.y_m = (float(v) for v in project(site.lon, site.lat, *centre))


def home_maker(model, row: int, nodes: dict[str, int], x_m: float, y_m: float):
    """The workshop of citizen ``row`` who became a maker, at their home (``nodes`` per graph; x, y in m)."""
    maker = create_facility(model, Maker, "maker", "maker", nodes, f"maker at citizen {row}",
                            placement="citizen_home")
    maker.owner = row
    maker.x_m, maker.y_m = float(x_m), float(y_m)
    return maker


def qualifying_workshops(public: list, config: Config) -> list:
    """The public workshops that count for access: open at least ``access.min_weekly_open_hours`` a week."""
    return [w for w in public if w.calendar.open_minutes_per_week >= config.access.min_weekly_open_hours * 60.0]


def node_xy(city, mode: str, nodes: np.ndarray, centre: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Positions (m from ``centre``) of graph ``nodes`` of ``mode``."""
    graph = city.graph(mode)
    lon = np.array([graph.nodes[int(n)]["x"] for n in nodes], dtype=float)
    lat = np.array([graph.nodes[int(n)]["y"] for n in nodes], dtype=float)
    return project(lon, lat, *centre)


def build_city(model) -> None:
    """Set up ``model``: citizens, facilities (wired into travel, production and platform), designers and
    day-0 adoption, in the order that fixes which set-up draws each part takes."""
    cfg = model.config
    model.population, model.centre, notes = initial_population(cfg, model.city, model.streams)
    model.notes += notes
    model.median_income = float(cfg.population.income_median)
    model.citizens = [Citizen(model, row) for row in range(len(model.population))]
    sites, notes = initial_sites(cfg, model.city, model.streams)
    model.notes += notes
    model.facilities = []
    create_sites(model, sites, model.centre)
    model.travel = TravelTables(model.city, model.population, cfg)
    for facility in model.facilities:
        model.open_facility(facility)
    depot = import_depot(model.city)
    van = model.city.router("van")
    circuity, speed = van_graph_circuity(van, lambda nodes: node_xy(model.city, "van", nodes, model.centre),
                                         np.random.default_rng(0))
    depot_xy = node_xy(model.city, "van", np.array([depot]), model.centre)
    model.imports = ImportChannel(cfg, model.products, depot, model.travel.import_last_mile(depot),
                                  (float(depot_xy[0][0]), float(depot_xy[1][0])), circuity, speed)
    model.public = [f for f in model.facilities if isinstance(f, PublicWorkshop)]
    qualifying = qualifying_workshops(model.public, cfg)
    model.walk_to_workshop_s = model.travel.nearest_walk(qualifying, machine=None)[1]
    model.access_walk_s = {m: model.travel.nearest_walk(qualifying, machine=m)[1] for m in model.products.machines}
    model.nearest_workshop = {m: model.travel.nearest_walk(model.public, machine=m) for m in model.products.machines}
    model.eligible = policy_eligible(model.population.income_quintile, cfg.policy,
                                     model.population.zone_column("imd_decile", -1))
    model.choice = ChannelChoice(cfg, model.products, model.population, model.keyed, model.public,
                                 np.stack([model.nearest_workshop[m][0] for m in model.products.machines]),
                                 np.stack([model.nearest_workshop[m][1] for m in model.products.machines]),
                                 model.eligible, model.median_income)
    model.accounts.mill_support([f for f in model.facilities if isinstance(f, TextileMill)])
    model.catalogue = publish_designs(model, model.streams["designers"])
    model.designers = model.catalogue.designers
    model.adoption = Adoption(cfg, model.population, model.keyed, model.walk_to_workshop_s, model.median_income,
                              model.eligible)
    model.adoption.seed_awareness()
    for row in initial_maker_rows(model.population.income, cfg.adoption, model.streams["adoption"]):
        model.become_maker(int(row), pay=False)
    model.adoption.recount()
