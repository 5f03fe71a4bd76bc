"""The city model written the way a typical Mesa model is written: the yardstick of ``citymodel bench``.

:class:`ReferenceModel` runs the rules of :class:`citymodel.model.CityModel`
with the habits of most published Mesa models:

* every citizen is a :class:`ReferenceCitizen` (a ``mesa.Agent``) holding its own
  state as Python attributes and its ties as a list of agents;
* each simulated hour the model calls ``agents.shuffle_do("step")``: every
  citizen checks its own need clocks, and for each need builds its own quote
  and draws its own choice;
* adoption is decided by each agent from its ties' stages (two phases,
  ``decide`` then ``advance``, so the update is synchronous as in the fast model);
* every trip is routed on the street graph with ``networkx.shortest_path``
  (and its time and length summed edge by edge); nearest workshops come from
  one ``networkx`` Dijkstra per workshop; platform matching runs one
  ``networkx`` Dijkstra per order from the customer's home and loops over the
  facilities;
* the hourly time series is counted by looping over agents and facilities.

It differs from the fast model in how it loops and routes, not in its rules:
both call the same rule functions — the quote (:func:`citymodel.choice.quote_alternatives`),
the logit (:func:`citymodel.choice.utilities`), prices and payments
(:mod:`citymodel.platform`, :mod:`citymodel.accounts`), the adoption hazards
(:mod:`citymodel.adoption`), the need clocks' gaps (:func:`citymodel.needs.next_arrival`)
— and share the set-up (:mod:`citymodel.initialization`), the production
component (machine pools on opening hours, :class:`citymodel.production.Production`)
and the keyed random numbers, which make each draw a function of who draws it and
why, not of the order of drawing.

Routed times and distances are sums of the same edge values in another order
(networkx path, edge by edge, versus scipy's Dijkstra and tree sums), so they
agree with the fast model to ~1e-12 relative, not always to the last bit; every
discrete output (who orders what, when, through which channel and facility,
every trip's nodes, every stage count) is identical for the same seed
(``tests/test_equivalence.py``).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import mesa
import networkx as nx
import numpy as np
import pandas as pd

from citymodel import adoption
from citymodel.accounts import Accounts, grant_fundable
from citymodel.agents import FacilityAgent, PublicWorkshop, TextileMill, publish_designs
from citymodel.choice import ProductTable
from citymodel.config import Config
from citymodel.events import EventQueue
from citymodel.imports import ImportChannel, van_graph_circuity
from citymodel.initialization import (
    create_sites,
    home_maker,
    initial_population,
    initial_sites,
    node_xy,
    qualifying_workshops,
)
from citymodel.keyed_random import KeyedRandom, setup_generators
from citymodel.makers import maker_exits
from citymodel.needs import gap_means
from citymodel.observation import Observation
from citymodel.orderbook import OrderBook, TripLog
from citymodel.platform import Process
from citymodel.production import Production, job_machine_hours
from citymodel.reference_citizen import ReferenceCitizen
from citymodel.residents import with_resolved_citizens
from citymodel.scheduling import EventHandling
from citymodel.siting import import_depot
from citymodel.vocabulary import (
    AWARE,
    CHANNELS,
    FACILITY_KINDS,
    GRAPH_OF_MODE,
    IMPORT,
    MAKER,
    MINUTES_PER_DAY,
    PLATFORM,
    PROSUMER,
    STAGES,
)


class ReferenceModel(EventHandling, mesa.Model):
    """The city economy as a typical Mesa model (see the module docstring).

    Parameters
    ----------
    config
        Run configuration (defaults if None).
    city
        A loaded :class:`citymodel.maps.City` (loaded from ``config.run.map`` if None).

    Attributes
    ----------
    route_queries
        networkx shortest-path computations made (per-trip paths and per-need / per-workshop Dijkstras).
    setup_route_queries
        Those made while building the model (one Dijkstra per public workshop, the depot's van legs).
    """

    def __init__(self, config: Config | None = None, city=None) -> None:
        config = (config or Config()).validate()
        super().__init__(rng=config.run.seed)
        self.config = config
        self.streams = setup_generators(config.run.seed)
        self.keyed = KeyedRandom(config.run.seed)
        if city is None:
            from citymodel.maps import load_city

            city = load_city(config.run.map)
        self.city = city
        self.config = config = with_resolved_citizens(config, city)  # issue 10: run.citizens 0 = map's population
        self.now = 0.0
        self.hour_start = 0.0
        self.hour_end = 60.0
        self.events = EventQueue()
        self.products = ProductTable.from_config(config)
        self.processes = {name: Process.from_config(config, name) for name in config.platform.processes}
        self.gap_mean = gap_means([config.needs.products[p]["needs_per_citizen_year"] for p in self.products.names])
        self.orders = OrderBook(self.products.names, self.products.machine)
        self.trips = TripLog()
        self.accounts = Accounts(config)
        self.ledger = self.accounts.ledger
        self.observation = Observation()
        self.timeseries_rows = self.observation.rows  # a live view
        self.production = Production(self.events, self.orders,
                                     {k: v["hours"] for k, v in config.facilities.kinds.items()},
                                     config.run.start_weekday)
        self.needs_this_hour: list[tuple] = []
        self.demand: deque[tuple[float, int]] = deque()
        self.home_makers: list[FacilityAgent] = []
        self.routes = NetworkxRoutes(city, ("walk", "bike", "van", config.platform.delivery_mode))
        self._build_citizens()
        self._build_facilities()
        self.catalogue = publish_designs(self, self.streams["designers"])
        self.designers = self.catalogue.designers
        self._seed_adoption()
        for c in self.citizens:
            c.start_need_clocks()
        self.setup_route_queries = self.route_queries

    # ------------------------------------------------------------------ set-up
    def _build_citizens(self) -> None:
        pop, self.centre, _ = initial_population(self.config, self.city, self.streams)
        self.median_income = float(self.config.population.income_median)
        self.citizens = reference_citizens(self, pop)

    def calendar_for(self, kind: str):
        """The (shared) calendar of facility ``kind``."""
        return self.production.calendar_for(kind)

    def _build_facilities(self) -> None:
        sites, _ = initial_sites(self.config, self.city, self.streams)
        self.facilities: list[FacilityAgent] = []
        create_sites(self, sites, self.centre)
        for facility in self.facilities:
            self.production.track(facility)
        self.public = [f for f in self.facilities if isinstance(f, PublicWorkshop)]
        # Walking time from every node to each workshop: one networkx Dijkstra per workshop.
        to_workshop = [self.routes.times_to("walk", w.nodes["walk"]) for w in self.public]
        qualifying = {id(w) for w in qualifying_workshops(self.public, self.config)}
        for c in self.citizens:
            c.walk_to_workshop_s = min((t.get(c.home, float("inf")) for t, w in zip(to_workshop, self.public,
                                                                                     strict=True)
                                        if id(w) in qualifying), default=float("inf"))
            for m in self.products.machines:
                best, best_t = -1, float("inf")
                for k, w in enumerate(self.public):
                    t = to_workshop[k].get(c.home, float("inf"))
                    if m in w.pools and t < best_t:
                        best, best_t = k, t
                c.nearest[m] = (best, best_t)
        self.accounts.mill_support([f for f in self.facilities if isinstance(f, TextileMill)])
        depot = import_depot(self.city)
        circuity, speed = van_graph_circuity(self.city.router("van"),
                                             lambda nodes: node_xy(self.city, "van", nodes, self.centre),
                                             np.random.default_rng(0))
        depot_xy = node_xy(self.city, "van", np.array([depot]), self.centre)
        self.imports = ImportChannel(self.config, self.products, depot, NetworkxLastMile(self, depot),
                                     (float(depot_xy[0][0]), float(depot_xy[1][0])), circuity, speed)

    def _seed_adoption(self) -> None:
        cfg = self.config.adoption
        for c in self.citizens:
            if adoption.initially_aware(self.keyed, c.row, cfg)[0]:
                c.stage = AWARE
                c.stage_day[AWARE] = 0.0
        income = np.array([c.income for c in self.citizens])
        for row in adoption.initial_maker_rows(income, cfg, self.streams["adoption"]):
            self._become_maker(self.citizens[int(row)], pay=False)

    def route(self, mode: str, source: int, target: int) -> tuple[float, float]:
        """Travel time (s) and length (m) of the fastest path (``networkx.shortest_path``)."""
        return self.routes.route(mode, source, target)

    @property
    def route_queries(self) -> int:
        """networkx shortest-path computations made so far."""
        return self.routes.queries

    def home_node(self, citizen: ReferenceCitizen, mode: str) -> int:
        """The citizen's home node in the graph of ``mode``."""
        return {"walk": citizen.home, "bike": citizen.home_bike, "van": citizen.home_van}[GRAPH_OF_MODE[mode]]

    def offering(self, machine: str) -> list[FacilityAgent]:
        """The facilities still trading ``machine`` on the platform (a loop over all facilities)."""
        return [f for f in self.facilities if f.takes_platform_orders and f.trading and machine in f.pools]

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """One simulated hour: daily adoption at midnight, every citizen's step, then the hour's events."""
        start = self.now
        self.hour_start = start
        self.hour_end = start + 60.0
        if start % MINUTES_PER_DAY == 0:
            self._daily_update()
        self.observation.start_hour()
        self.needs_this_hour = []
        self.agents_by_type[ReferenceCitizen].shuffle_do("step")
        self._place_orders()
        self.process_events(self.hour_end)
        self.now = self.hour_end
        self._record_hour(start)

    def run(self, days: float | None = None) -> None:
        """Run ``days`` (default ``config.run.days``) simulated days."""
        for _ in range(int(round((days if days is not None else self.config.run.days) * 24))):
            self.step()

    def _place_orders(self) -> None:
        """Book the hour's needs in time order: imports first, then local orders (as the fast model does)."""
        cfg = self.config
        needs = sorted(self.needs_this_hour, key=lambda n: (n[0], n[1], n[2]))
        for need in needs:
            self.citizens[need[1]].orders_by_channel[need[4]] += 1
        self.observation.count_orders(np.array([n[4] for n in needs], dtype=np.int64))
        for when, row, p, k, choice, design, _, _ in needs:
            if choice == IMPORT:
                self.imports.place(self.orders, self.accounts, self.keyed, np.array([p]), np.array([row]),
                                   np.array([when]), np.array([design], dtype=object), np.array([k]))
        for when, row, p, k, choice, design, offer, fab in needs:
            if choice == IMPORT:
                continue
            hours = float(job_machine_hours(self.keyed, design.machine_hours, cfg.needs.machine_time_cv, row, p, k)[0])
            platform = choice == PLATFORM
            order_id = self.orders.new(citizen_id=row, channel=choice, product=p, design=design,
                                       machine=self.products.machine[p], created_min=when, machine_hours=hours,
                                       quoted_price=offer[1] if platform else fab["price"],
                                       quoted_ready_min=offer[2] if platform else fab["ready"])
            if platform:
                self._place_platform_order(order_id, offer[0], offer[1])
            else:
                self._start_self_fabrication(order_id, row, self.public[fab["workshop"]], fab["depart"], fab["arrive"])

    # ------------------------------------------------------------------ what the shared handlers ask (networkx routes)
    def _delivery_leg(self, facility: FacilityAgent, citizen: int) -> tuple[float, float, int, int]:
        """The courier's leg (s, m, origin, home node): one ``networkx`` shortest path."""
        mode = self.config.platform.delivery_mode
        origin = int(facility.nodes[GRAPH_OF_MODE[mode]])
        dest = self.home_node(self.citizens[citizen], mode)
        return (*self.route(mode, origin, dest), origin, dest)

    def _walk_out(self, workshop: FacilityAgent, citizen: int) -> tuple[float, float, int]:
        home = self.citizens[citizen].home
        return (*self.route("walk", home, workshop.nodes["walk"]), home)

    def _walk_back(self, workshop: FacilityAgent, citizen: int) -> tuple[float, float, int]:
        home = self.citizens[citizen].home
        return (*self.route("walk", workshop.nodes["walk"], home), home)

    def _is_eligible(self, citizen: int) -> bool:
        return self.citizens[citizen].eligible

    def _become_prosumer(self, citizen: int) -> None:
        c = self.citizens[citizen]
        if c.stage < PROSUMER:
            c.stage = PROSUMER
            c.stage_day[PROSUMER] = self.now / MINUTES_PER_DAY

    def _skill_of(self, citizen: int) -> float:
        return self.citizens[citizen].skill

    def _record_use(self, citizen: int, satisfaction_: float, now: float) -> None:
        self.citizens[citizen].record_use(satisfaction_, now)

    # ------------------------------------------------------------------ daily adoption (per agent)
    def _daily_update(self) -> None:
        cfg = self.config
        day = self.now / MINUTES_PER_DAY
        key = adoption.day_key(self.now)
        self._prune_demand()
        population_share = None
        if cfg.adoption.well_mixed:
            if cfg.adoption.imitation == "aware":
                population_share = sum(1 for c in self.citizens if c.stage >= AWARE) / len(self.citizens)
            else:
                population_share = float(np.mean([c.pull(self.now) for c in self.citizens]))
        citizens = self.agents_by_type[ReferenceCitizen]
        citizens.do("decide_awareness", key, self.now, population_share)
        citizens.do("advance_awareness", day)
        fundable = self.accounts.sessions_fundable()
        trained = 0
        for c in self.citizens:
            if c.decide_training(key, funded=fundable is None or trained < fundable):
                trained += 1
        self.accounts.training(self.now, trained)
        self.accounts.workshop_costs(self.now, self.public)
        self.imports.deliver_day(self.orders, ReferencePositions(self.citizens), int(self.now // MINUTES_PER_DAY))
        order_xy = (np.array([self.citizens[c].x_m for _, c in self.demand]),
                    np.array([self.citizens[c].y_m for _, c in self.demand]))
        makers = self.offering(cfg.adoption.maker_machine)
        maker_xy = (np.array([f.x_m for f in makers]), np.array([f.y_m for f in makers]))
        citizens.do("decide_machine", key, order_xy, maker_xy, grant_fundable(self.accounts, cfg))
        for c in [c for c in self.citizens if c._decision]:
            self._become_maker(c, pay=True)
        for maker in list(self.home_makers):
            if maker_exits(maker, self.now, cfg):
                self._close_maker(maker)

    def _become_maker(self, citizen: ReferenceCitizen, pay: bool) -> None:
        citizen.stage = MAKER
        citizen.stage_day[MAKER] = self.now / MINUTES_PER_DAY
        if pay:
            self.accounts.machine(self.now, citizen.row, citizen.eligible)
        nodes = {"walk": citizen.home, "bike": citizen.home_bike, "van": citizen.home_van}
        maker = home_maker(self, citizen.row, nodes, citizen.x_m, citizen.y_m)
        self.home_makers.append(maker)
        self.production.track(maker, self.now)

    def _maker_closed(self, maker: FacilityAgent) -> None:
        citizen = self.citizens[maker.owner]
        citizen.stage = PROSUMER
        citizen.stage_day[PROSUMER] = self.now / MINUTES_PER_DAY
        self.home_makers.remove(maker)

    # ------------------------------------------------------------------ time series (loops)
    def _record_hour(self, start: float) -> None:
        self.observation.record(start, *count_by_loops(self.citizens, self.facilities, start + 60.0),
                                *self.production.machine_minutes(start + 60.0))

    def citizens_frame(self) -> pd.DataFrame:
        """Final state per citizen (the columns of ``agents.parquet`` that both models keep)."""
        return citizens_frame(self.citizens)


class NetworkxLastMile:
    """Van legs from the import depot to homes, one ``networkx`` path per parcel (the reference's last mile)."""

    def __init__(self, model: ReferenceModel, depot: int) -> None:
        self.model = model
        self.depot = depot

    def __call__(self, who: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        legs = [self.model.route("van", self.depot, self.model.citizens[int(c)].home_van) for c in who]
        dest = np.array([self.model.citizens[int(c)].home_van for c in who], dtype=np.int64)
        return np.array([t for t, _ in legs]), np.array([d for _, d in legs]), dest


class ReferencePositions:
    """The citizens' home positions as the columns ``x_m``, ``y_m`` (what the van rounds read)."""

    def __init__(self, citizens: list[ReferenceCitizen]) -> None:
        self.x_m = np.array([c.x_m for c in citizens])
        self.y_m = np.array([c.y_m for c in citizens])


def reference_citizens(model: ReferenceModel, pop) -> list[ReferenceCitizen]:
    """One :class:`ReferenceCitizen` per row of the set-up population, with its ties as a list of agents."""
    walk = model.routes.graphs["walk"]
    lon = np.array([walk.nodes[int(n)]["x"] for n in pop.home_node])
    lat = np.array([walk.nodes[int(n)]["y"] for n in pop.home_node])
    bike = model.city.router("bike").snap(lon, lat)
    van = model.city.router("van").snap(lon, lat)
    imd = pop.zone_column("imd_decile", -1)
    citizens = [ReferenceCitizen(model, i, int(pop.home_node[i]), int(bike[i]), int(van[i]), float(pop.x_m[i]),
                                 float(pop.y_m[i]), float(pop.income[i]), int(pop.income_quintile[i]),
                                 float(pop.skill[i]), int(imd[i])) for i in range(len(pop))]
    indptr, indices = pop.ties.indptr, pop.ties.indices
    for c in citizens:
        c.ties = [citizens[j] for j in indices[indptr[c.row]:indptr[c.row + 1]]]
    return citizens


class NetworkxRoutes:
    """Routing the typical way: ``networkx`` on the mode graphs, one search per query (counted).

    Parameters
    ----------
    city
        The loaded map.
    modes
        Travel modes to route.
    """

    def __init__(self, city, modes) -> None:
        self.graphs = {m: city.graph(m) for m in modes}
        self.reversed = {m: g.reverse(copy=False) for m, g in self.graphs.items()}
        self.queries = 0

    def route(self, mode: str, source: int, target: int) -> tuple[float, float]:
        """Travel time (s) and length (m) of the fastest path, found with ``networkx.shortest_path``."""
        self.queries += 1
        graph = self.graphs[mode]
        path = nx.shortest_path(graph, source, target, weight="travel_time")
        time_s = 0.0
        dist_m = 0.0
        for u, v in zip(path[:-1], path[1:], strict=True):
            edge = min(graph[u][v].values(), key=lambda e: e["travel_time"])
            time_s += edge["travel_time"]
            dist_m += edge["length"]
        return time_s, dist_m

    def times_to(self, mode: str, target: int) -> dict[int, float]:
        """Travel time (s) from every node to ``target`` (one networkx Dijkstra on the reversed graph)."""
        self.queries += 1
        return nx.single_source_dijkstra_path_length(self.reversed[mode], target, weight="travel_time")


def count_by_loops(citizens: list[ReferenceCitizen], facilities: list[FacilityAgent], at: float
                   ) -> tuple[np.ndarray, dict[str, int], dict[str, int], dict[str, int]]:
    """Citizens per stage and, by facility kind, machines busy and open at ``at`` and jobs queued (loops)."""
    stages = np.zeros(len(STAGES), dtype=np.int64)
    for c in citizens:
        stages[c.stage] += 1
    busy = dict.fromkeys(FACILITY_KINDS, 0)
    open_ = dict.fromkeys(FACILITY_KINDS, 0)
    queue = dict.fromkeys(FACILITY_KINDS, 0)
    for f in facilities:
        if not f.trading:
            continue
        is_open = f.calendar.is_open(at)
        for pool in f.pools.values():
            queue[f.kind] += len(pool.queue)
            if is_open:
                busy[f.kind] += len(pool.running)
                open_[f.kind] += pool.count
    return stages, busy, open_, queue


def citizens_frame(citizens: list[ReferenceCitizen]) -> pd.DataFrame:
    """Final state per citizen (the columns of ``agents.parquet`` that both models keep)."""
    return pd.DataFrame({
        "citizen_id": [c.row for c in citizens],
        "stage": [STAGES[c.stage] for c in citizens],
        "skill": [c.skill for c in citizens],
        **{f"orders_{name}": [c.orders_by_channel[i] for c in citizens] for i, name in enumerate(CHANNELS)},
        **{f"became_{name}_day": [c.stage_day[s] for c in citizens] for s, name in enumerate(STAGES[1:], start=1)},
    })


def run_reference(config: Config, city=None) -> tuple[ReferenceModel, dict[str, Any]]:
    """Build and run a :class:`ReferenceModel`; return it and its seconds: ``build_model``,
    ``simulate`` (wall) and ``simulate_cpu`` (process CPU time)."""
    t0 = time.perf_counter()
    model = ReferenceModel(config, city)
    t1 = time.perf_counter()
    cpu1 = time.process_time()
    model.run()
    return model, {"build_model": t1 - t0, "simulate": time.perf_counter() - t1,
                   "simulate_cpu": time.process_time() - cpu1}
