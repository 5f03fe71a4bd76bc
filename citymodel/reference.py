"""The city model written the way a typical Mesa model is written: the yardstick of ``citymodel bench``.

:class:`ReferenceModel` implements the rules of :class:`citymodel.model.CityModel`
with the habits of most published Mesa models:

* every citizen is a :class:`ReferenceCitizen` (a ``mesa.Agent``) holding its own
  state as Python attributes and its ties as a list of agents;
* each simulated hour the model calls ``agents.shuffle_do("step")``: every
  citizen checks its own need clocks, and for each need computes its own
  channel utilities and draws its own choice;
* adoption is decided by each agent from its ties' stages (two phases,
  ``decide`` then ``advance``, so the update is synchronous as in the fast model);
* every trip is routed on the street graph with ``networkx.shortest_path``
  (and its time and length summed edge by edge); nearest workshops come from
  one ``networkx`` Dijkstra per workshop; platform matching runs one
  ``networkx`` Dijkstra per order from the customer's home;
* the hourly time series is counted by looping over agents and facilities.

What it shares with the fast model, so that the two can be compared output by
output: the city (map, population via ``build_population``, facility sites,
designers — the same set-up draws), the facility side (the same
``FacilityAgent`` classes with ``MachinePool`` queues and ``WeeklyCalendar``
opening hours), the event queue, order book, trip log and ledger classes, the
rule functions ``choice.utilities`` and ``adoption.*_probability``, and the
keyed random numbers (:class:`citymodel.keyed_random.KeyedRandom`), which make each
draw a function of who draws it and why, not of the order of drawing. Nodes of a
home in the bike and van graphs are found with the routers' nearest-node snapping
(the same as the fast model); no route is ever taken from the routers' tables.

Routed times and distances are sums of the same edge values in another order
(networkx path, edge by edge, versus scipy's Dijkstra and tree sums), so they
agree with the fast model to ~1e-12 relative, not always to the last bit; every
discrete output (who orders what, when, through which channel and facility,
every trip's nodes, every stage count) is identical for the same seed
(``tests/test_equivalence.py``).
"""

from __future__ import annotations

import time
from typing import Any

import mesa
import networkx as nx
import numpy as np
import pandas as pd

from citymodel import adoption
from citymodel.agents import Design, FacilityAgent, Maker, PublicWorkshop, TextileMill, publish_designs
from citymodel.calendar import MINUTES_PER_DAY, WeeklyCalendar
from citymodel.choice import IMPORT, PLATFORM, SELF_FABRICATION, Alternatives, utilities
from citymodel.config import Config
from citymodel.events import EventQueue
from citymodel.keyed_random import KeyedRandom
from citymodel.ledger import Ledger
from citymodel.model import (
    AWARENESS,
    CHOICE_NOISE,
    DELIVER,
    DESIGN_PICK,
    FACILITY_KINDS,
    IMPORT_LEAD,
    JOB_DONE,
    MACHINE_PURCHASE,
    MACHINE_TIME,
    MINUTES_PER_YEAR,
    NEED_GAP,
    PLATFORM_ACCEPT,
    POOL_OPEN,
    SELF_FAB_ARRIVE,
    STREAMS,
    TRAINING,
    WALK_15_MIN_S,
)
from citymodel.orderbook import OrderBook, TripLog
from citymodel.population import AWARE, MAKER, PROSUMER, STAGES, UNAWARE
from citymodel.residents import populate, with_resolved_citizens
from citymodel.siting import PUBLIC_WORKSHOP_KINDS, choose_sites, import_depot, site_spec
from citymodel.travel import GRAPH_OF_MODE


class ReferenceCitizen(mesa.Agent):
    """A resident as a plain Mesa agent: its own attributes, its own ``step``.

    Attributes
    ----------
    row
        Citizen id (row of the shared population table it was created from).
    home, home_bike, home_van
        OSM node ids of the home in the walk, bike and van graphs.
    income, income_quintile, skill, stage
        As in :class:`citymodel.population.Population` (income £/year, skill 0..1, stage code).
    ties
        The agents this citizen is tied to.
    next_need, need_count
        Per product: time of the next need (minutes) and its index k.
    """

    def __init__(self, model: ReferenceModel, row: int, home: int, home_bike: int, home_van: int,
                 income: float, income_quintile: int, skill: float) -> None:
        super().__init__(model)
        self.row = row
        self.home = home
        self.home_bike = home_bike
        self.home_van = home_van
        self.income = income
        self.income_quintile = income_quintile
        self.skill = skill
        self.stage = UNAWARE
        self.stage_day = [float("nan")] * len(STAGES)
        self.ties: list[ReferenceCitizen] = []
        self.orders_by_channel = [0, 0, 0]
        self.next_need: list[float] = []
        self.need_count: list[int] = []
        self.walk_to_workshop_s = float("inf")
        self.nearest: dict[str, tuple[int, float]] = {}
        self._decision = False

    # ---- needs and channel choice (hourly)
    def start_need_clocks(self) -> None:
        """Draw the first need of every product: an exponential gap after time 0."""
        model = self.model
        for p, mean in enumerate(model.gap_mean):
            self.next_need.append(0.0 + float(model.keyed.exponential(NEED_GAP, mean, self.row, p, 0)[0]))
            self.need_count.append(0)

    def step(self) -> None:
        """This hour's needs: for each product whose clock rings before the hour ends, choose a channel."""
        model = self.model
        end = model.hour_end
        for p in range(len(model.products)):
            while self.next_need[p] < end:
                t = self.next_need[p]
                k = self.need_count[p]
                choice = self.choose_channel(p, k)
                model.needs_this_hour.append((t, self.row, p, k, choice))
                self.need_count[p] = k + 1
                self.next_need[p] = t + float(model.keyed.exponential(NEED_GAP, model.gap_mean[p], self.row, p,
                                                                      k + 1)[0])

    def choose_channel(self, p: int, k: int) -> int:
        """Utilities of import, platform and self-fabrication for one need; the logit draw."""
        model = self.model
        cfg = model.config
        spec = model.specs[p]
        fee, backlog = model.estimates[spec.machine]
        share = 1.0 - cfg.platform.royalty_share - cfg.platform.commission
        base = fee * spec.machine_hours + spec.material_cost + cfg.platform.delivery_fee
        eligible = self.income_quintile in cfg.policy.targeted_quintiles
        w_index, walk_s = self.nearest[spec.machine]
        reach = np.isfinite(walk_s) and w_index >= 0
        ws_fee = model.public[w_index].fee_per_hour if w_index >= 0 else float("nan")
        waiver = cfg.policy.fee_waiver_share if eligible else 0.0
        material = 1 - cfg.policy.material_subsidy_share if eligible else 1.0
        round_trip_h = 2 * (walk_s if reach else 0.0) / 3600.0
        price = np.array([[spec.import_price, base / share,
                           ws_fee * (1 - waiver) * spec.machine_hours + spec.material_cost * material]])
        days = np.array([[spec.import_lead_days,
                          cfg.platform.acceptance_minutes / 1440 + backlog + spec.machine_hours / 8.0 + 0.1,
                          (round_trip_h + spec.machine_hours) / 24.0 + 0.5]])
        travel = np.array([[0.0, 0.0, round_trip_h]])
        personal = np.array([[0.0, spec.personalisation_value, spec.personalisation_value]])
        aware = self.stage >= AWARE
        available = np.array([[True, bool(np.isfinite(fee)) and aware,
                               reach and aware and self.skill >= cfg.adoption.self_fab_min_skill]])
        u = utilities(Alternatives(np.nan_to_num(price), days, travel, personal, available),
                      np.array([self.income]), np.array([self.skill]), model.median_income, cfg.choice)[0]
        noise = model.keyed.gumbel(CHOICE_NOISE, self.row, p, k, np.arange(3))
        return int(np.argmax(u + noise))

    # ---- adoption (daily, synchronous: decide for everyone, then advance)
    def share_of_ties(self, stages: tuple[int, ...]) -> float:
        """Share of this citizen's ties whose stage is in ``stages`` (0 without ties)."""
        if not self.ties:
            return 0.0
        return sum(1 for t in self.ties if t.stage in stages) / len(self.ties)

    def decide_awareness(self, day_key: int, population_share: float | None) -> None:
        """Whether an unaware citizen becomes aware today (Bass hazard from its ties)."""
        self._decision = False
        if self.stage != UNAWARE:
            return
        cfg = self.model.config.adoption
        share = population_share if population_share is not None else self.share_of_ties((AWARE, PROSUMER, MAKER))
        prob = adoption.awareness_probability(cfg.bass_p, cfg.bass_q, np.array([share]),
                                              1.0 / adoption.DAYS_PER_YEAR)[0]
        self._decision = bool(self.model.keyed.uniform(AWARENESS, self.row, day_key)[0] < prob)

    def advance_awareness(self, day: float) -> None:
        """Apply today's awareness decision."""
        if self._decision:
            self.stage = AWARE
            self.stage_day[AWARE] = day

    def decide_training(self, day_key: int) -> bool:
        """Whether this citizen takes a training session today (and gains skill)."""
        model = self.model
        cfg = model.config.adoption
        if not (self.stage >= AWARE and self.skill < cfg.self_fab_min_skill
                and self.walk_to_workshop_s <= WALK_15_MIN_S):
            return False
        rate = cfg.training_rate * model.config.policy.training_multiplier
        if model.keyed.uniform(TRAINING, self.row, day_key)[0] < 1.0 - np.exp(-rate * (1.0 / adoption.DAYS_PER_YEAR)):
            self.skill = min(self.skill + cfg.training_skill_gain, 1.0)
            return True
        return False

    def decide_machine(self, day_key: int) -> None:
        """Whether a prosumer buys a machine today (maker hazard with imitation of maker ties)."""
        self._decision = False
        if self.stage != PROSUMER:
            return
        model = self.model
        cfg = model.config
        grant = cfg.policy.machine_grant if self.income_quintile in cfg.policy.targeted_quintiles else 0.0
        prob = adoption.maker_probability(cfg.adoption.maker_rate, np.array([self.income]), model.median_income,
                                          cfg.adoption.machine_cost, np.array([grant]), cfg.adoption.maker_imitation,
                                          np.array([self.share_of_ties((MAKER,))]), 1.0 / adoption.DAYS_PER_YEAR)[0]
        self._decision = bool(model.keyed.uniform(MACHINE_PURCHASE, self.row, day_key)[0] < prob)


class ReferenceModel(mesa.Model):
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
        networkx shortest-path computations made (per-trip paths and per-order / per-workshop Dijkstras).
    setup_route_queries
        Those made while building the model (one Dijkstra per public workshop).
    """

    def __init__(self, config: Config | None = None, city=None) -> None:
        config = (config or Config()).validate()
        super().__init__(rng=config.run.seed)
        self.config = config
        seeds = np.random.SeedSequence(config.run.seed).spawn(len(STREAMS))
        self.streams = {name: np.random.default_rng(s) for name, s in zip(STREAMS, seeds, strict=True)}
        self.keyed = KeyedRandom(config.run.seed)
        if city is None:
            from citymodel.maps import load_city

            city = load_city(config.run.map)
        self.city = city
        self.config = config = with_resolved_citizens(config, city)  # issue 10: run.citizens 0 = map's population
        self.now = 0.0
        self.hour_end = 60.0
        self.route_queries = 0
        self.events = EventQueue()
        self.products = list(config.needs.products)
        self.specs = [config.needs.product(p) for p in self.products]
        rates = [config.needs.products[p]["needs_per_citizen_year"] for p in self.products]
        self.gap_mean = [MINUTES_PER_YEAR / r if r > 0 else float("inf") for r in rates]
        self.orders = OrderBook(self.products, [p["machine"] for p in config.needs.products.values()])
        self.trips = TripLog()
        self.ledger = Ledger()
        self.timeseries_rows: list[dict] = []
        self._calendars: dict[str, WeeklyCalendar] = {}
        self.needs_this_hour: list[tuple[float, int, int, int, int]] = []
        self.hour_orders = [0, 0, 0]
        self.estimates: dict[str, tuple[float, float]] = {}
        self.graphs = {m: city.graph(m) for m in ("walk", "bike", "van", config.platform.delivery_mode)}
        self.reversed = {m: g.reverse(copy=False) for m, g in self.graphs.items()}
        self._build_citizens()
        self._build_facilities()
        self._build_designers()
        self._seed_adoption()
        for c in self.citizens:
            c.start_need_clocks()
        self.setup_route_queries = self.route_queries

    # ------------------------------------------------------------------ set-up
    def _build_citizens(self) -> None:
        cfg = self.config
        pop, _ = populate(self.city, cfg, self.streams)  # issue 10: the fast model's set-up (citymodel.residents)
        self.median_income = float(cfg.population.income_median)
        walk = self.graphs["walk"]
        lon = np.array([walk.nodes[int(n)]["x"] for n in pop.home_node])
        lat = np.array([walk.nodes[int(n)]["y"] for n in pop.home_node])
        bike = self.city.router("bike").snap(lon, lat)
        van = self.city.router("van").snap(lon, lat)
        self.citizens = [
            ReferenceCitizen(self, i, int(pop.home_node[i]), int(bike[i]), int(van[i]), float(pop.income[i]),
                             int(pop.income_quintile[i]), float(pop.skill[i]))
            for i in range(cfg.run.citizens)
        ]
        indptr, indices = pop.ties.indptr, pop.ties.indices
        for c in self.citizens:
            c.ties = [self.citizens[j] for j in indices[indptr[c.row]:indptr[c.row + 1]]]

    def calendar_for(self, kind: str) -> WeeklyCalendar:
        """The (shared) calendar of facility ``kind``."""
        if kind not in self._calendars:
            self._calendars[kind] = WeeklyCalendar(self.config.facilities.kinds[kind]["hours"],
                                                   self.config.run.start_weekday,
                                                   name=f"facilities.kinds.{kind}.hours")
        return self._calendars[kind]

    def _build_facilities(self) -> None:
        cfg = self.config
        sites, _ = choose_sites(self.city, cfg.facilities, self.streams["population"])
        self.facilities: list[FacilityAgent] = []
        extra = {"3d_printer": cfg.policy.extra_printers_per_workshop} if cfg.policy.extra_printers_per_workshop else {}
        for site in sites:
            cls = PublicWorkshop if site.kind in PUBLIC_WORKSHOP_KINDS else (
                TextileMill if site.kind == "textile_mill" else Maker)
            spec_kind = "pro_maker" if site.kind == "maker" else site.kind
            self.facilities.append(cls(self, len(self.facilities), site.kind, site_spec(cfg, site), site.nodes,
                                       site.name, site.lon, site.lat, site.placement, self.now,
                                       extra if cls is PublicWorkshop else None, spec_kind))
        self.depot = import_depot(self.city)
        self.public = [f for f in self.facilities if isinstance(f, PublicWorkshop)]
        # Walking time from every node to each workshop: one networkx Dijkstra per workshop.
        to_workshop = []
        for w in self.public:
            self.route_queries += 1
            to_workshop.append(nx.single_source_dijkstra_path_length(self.reversed["walk"], w.nodes["walk"],
                                                                     weight="travel_time"))
        machines = {s.machine for s in self.specs}
        for c in self.citizens:
            best_any = float("inf")
            for k in range(len(self.public)):
                best_any = min(best_any, to_workshop[k].get(c.home, float("inf")))
            c.walk_to_workshop_s = best_any
            for m in machines:
                best, best_t = -1, float("inf")
                for k, w in enumerate(self.public):
                    t = to_workshop[k].get(c.home, float("inf"))
                    if m in w.pools and t < best_t:
                        best, best_t = k, t
                c.nearest[m] = (best, best_t)
        grant_cost = cfg.policy.extra_printers_per_workshop * cfg.policy.printer_grant_cost * len(self.public)
        if grant_cost > 0:
            self.ledger.pay(0.0, -1, "public_budget", "machine_supplier", grant_cost, "grant")
        for mill in (f for f in self.facilities if isinstance(f, TextileMill)):
            if cfg.policy.mill_support > 0:
                self.ledger.pay(0.0, -1, "public_budget", f"facility:{mill.facility_id}",
                                cfg.policy.mill_support, "grant")
                mill.revenue += cfg.policy.mill_support

    def _build_designers(self) -> None:
        self.designers, self.designs, self.design_cdf = publish_designs(self, self.streams["designers"])

    def _seed_adoption(self) -> None:
        cfg = self.config.adoption
        for c in self.citizens:
            if self.keyed.uniform(AWARENESS, c.row, 0)[0] < cfg.initial_aware_share:
                c.stage = AWARE
                c.stage_day[AWARE] = 0.0
        n = len(self.citizens)
        n_makers = int(round(cfg.initial_maker_share * n))
        if n_makers:
            income = np.array([c.income for c in self.citizens])
            rows = self.streams["adoption"].choice(n, size=n_makers, replace=False, p=income / income.sum())
            for row in np.sort(rows):
                self._become_maker(self.citizens[int(row)], pay=False)

    # ------------------------------------------------------------------ routing (networkx, per trip)
    def route(self, mode: str, source: int, target: int) -> tuple[float, float]:
        """Travel time (s) and length (m) of the fastest path, found with ``networkx.shortest_path``."""
        self.route_queries += 1
        graph = self.graphs[mode]
        path = nx.shortest_path(graph, source, target, weight="travel_time")
        time_s = 0.0
        dist_m = 0.0
        for u, v in zip(path[:-1], path[1:], strict=True):
            edge = min(graph[u][v].values(), key=lambda e: e["travel_time"])
            time_s += edge["travel_time"]
            dist_m += edge["length"]
        return time_s, dist_m

    def _home_node(self, citizen: ReferenceCitizen, mode: str) -> int:
        graph = GRAPH_OF_MODE[mode]
        return {"walk": citizen.home, "bike": citizen.home_bike, "van": citizen.home_van}[graph]

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """One simulated hour: daily adoption at midnight, every citizen's step, then the hour's events."""
        start = self.now
        self.hour_end = start + 60.0
        if start % MINUTES_PER_DAY == 0:
            self._daily_update()
        self.hour_orders = [0, 0, 0]
        self.estimates = self._platform_estimates()
        self.needs_this_hour = []
        self.agents_by_type[ReferenceCitizen].shuffle_do("step")
        self._place_orders()
        for time_min, kind, payload in self.events.pop_until(self.hour_end):
            self.now = time_min
            self._dispatch[kind](self, payload)
        self.now = self.hour_end
        self._record_hour(start)

    def run(self, days: float | None = None) -> None:
        """Run ``days`` (default ``config.run.days``) simulated days."""
        for _ in range(int(round((days if days is not None else self.config.run.days) * 24))):
            self.step()

    def _platform_estimates(self) -> dict[str, tuple[float, float]]:
        out = {}
        for machine in {s.machine for s in self.specs}:
            offering = [f for f in self.facilities if f.takes_platform_orders and machine in f.pools]
            if not offering:
                out[machine] = (np.nan, np.nan)
                continue
            fee = float(np.median([f.fee_per_hour for f in offering]))
            backlog = float(np.mean([f.pools[machine].backlog_min() for f in offering])) / (8 * 60)
            out[machine] = (fee, backlog)
        return out

    def _place_orders(self) -> None:
        """Book the hour's needs in time order: imports first, then local orders (as the fast model does)."""
        cfg = self.config
        needs = sorted(self.needs_this_hour)
        for _, row, _, _, choice in needs:
            self.citizens[row].orders_by_channel[choice] += 1
            self.hour_orders[choice] += 1
        sigma = np.sqrt(np.log1p(cfg.needs.import_lead_cv**2))
        for when, row, p, k, choice in needs:
            if choice != IMPORT:
                continue
            spec = self.specs[p]
            design = self._pick_design(row, p, k)
            lead = spec.import_lead_days * 1440.0 * self.keyed.lognormal(IMPORT_LEAD, -sigma**2 / 2, sigma, row, p, k)
            citizen = self.citizens[row]
            time_s, dist_m = self.route("van", self.depot, citizen.home_van)
            ids = self.orders.add_imports(np.array([row]), np.array([p]), np.array([when]), when + lead,
                                          np.array([spec.import_price]), self.depot, np.array([citizen.home_van]),
                                          np.array([time_s]), np.array([dist_m]), machines=[design.machine])
            self.ledger.pay(when, int(ids[0]), f"citizen:{row}", "import_supplier", spec.import_price, "price")
        shape = 1.0 / cfg.needs.machine_time_cv**2
        for when, row, p, k, choice in needs:
            if choice == IMPORT:
                continue
            spec = self.specs[p]
            design = self._pick_design(row, p, k)
            hours = float(self.keyed.gamma(MACHINE_TIME, shape, design.machine_hours / shape, row, p, k)[0])
            order_id = self.orders.new(citizen_id=row, channel=choice, product=p, design=design,
                                       machine=spec.machine, created_min=when, machine_hours=hours)
            if choice == PLATFORM:
                self.events.push(when + cfg.platform.acceptance_minutes, PLATFORM_ACCEPT, order_id)
            else:
                self._start_self_fabrication(order_id, self.citizens[row], spec.machine, when)

    def _pick_design(self, row: int, p: int, k: int) -> Design:
        product = self.products[p]
        return self.designs[product][int(self.keyed.choice(DESIGN_PICK, self.design_cdf[product], row, p, k)[0])]

    # ------------------------------------------------------------------ self-fabrication
    def _start_self_fabrication(self, order_id: int, citizen: ReferenceCitizen, machine: str, created: float) -> None:
        workshop = self.public[citizen.nearest[machine][0]]
        out_s, out_m = self.route("walk", citizen.home, workshop.nodes["walk"])
        arrive = created + out_s / 60.0
        if not workshop.calendar.is_open(arrive):
            arrive = workshop.calendar.next_open(arrive)
        depart = arrive - out_s / 60.0
        self.trips.add(citizen.row, "citizen", "self_fabrication", "walk", citizen.home, workshop.nodes["walk"],
                       depart, arrive, out_s, out_m, order_id)
        self.orders.assign(order_id, workshop, "walk")
        self.events.push(arrive, SELF_FAB_ARRIVE, order_id)

    def _on_self_fab_arrive(self, order_id: int) -> None:
        self._submit_job(order_id, platform=False)

    # ------------------------------------------------------------------ platform
    def _on_platform_accept(self, order_id: int) -> None:
        cfg = self.config
        machine = self.orders.machine_of(order_id)
        citizen = self.citizens[self.orders.citizen_of(order_id)]
        candidates = [f for f in self.facilities if f.takes_platform_orders and machine in f.pools]
        if not candidates:
            self.orders.cancel(order_id, self.now)
            return
        mode = cfg.platform.delivery_mode
        self.route_queries += 1
        to_home = nx.single_source_dijkstra_path_length(self.reversed[mode], self._home_node(citizen, mode),
                                                        weight="travel_time")
        node_key = GRAPH_OF_MODE[mode]
        time_s = np.array([to_home.get(f.nodes[node_key], np.inf) for f in candidates])
        reachable = np.isfinite(time_s)
        if not reachable.any():
            self.orders.cancel(order_id, self.now)
            return
        hours = self.orders.quote_hours(order_id)
        fee = np.array([f.fee_per_hour for f in candidates])
        if cfg.platform.matching == "nearest":
            score = time_s
        elif cfg.platform.matching == "cheapest":
            score = fee * hours + time_s / 3600.0 * 1e-6
        else:
            finish = np.array([f.calendar.time_after_open_minutes(f.calendar.next_open(self.now),
                                                                  f.pools[machine].backlog_min() + hours * 60.0)
                               for f in candidates])
            score = finish + time_s / 60.0
        facility = candidates[int(np.argmin(np.where(reachable, score, np.inf)))]
        base = facility.fee_per_hour * hours + self.orders.material_of(order_id) + cfg.platform.delivery_fee
        price = base / (1.0 - cfg.platform.royalty_share - cfg.platform.commission)
        self.orders.assign(order_id, facility, mode, price=price, royalty=price * cfg.platform.royalty_share)
        self._submit_job(order_id, platform=True)

    # ------------------------------------------------------------------ production (shared MachinePool rules)
    def _submit_job(self, order_id: int, platform: bool) -> None:
        facility = self.facilities[self.orders.facility_of(order_id)]
        machine = self.orders.machine_of(order_id)
        facility.pools[machine].submit(order_id, self.orders.machine_minutes(order_id), platform)
        self._start_pool(facility, machine)

    def _start_pool(self, facility: FacilityAgent, machine: str) -> None:
        pool = facility.pools[machine]
        for batch_id, batch in pool.start_ready(self.now):
            for order_id in batch.order_ids:
                self.orders.set_started(order_id, self.now)
            self.events.push(batch.finish_min, JOB_DONE, (facility.facility_id, machine, batch_id))
        if pool.queue and pool.free > 0 and not facility.calendar.is_open(self.now):
            opens = facility.calendar.next_open(self.now)
            if pool.wakeup_at != opens:
                pool.wakeup_at = opens
                self.events.push(opens, POOL_OPEN, (facility.facility_id, machine))

    def _on_pool_open(self, payload: tuple[int, str]) -> None:
        facility = self.facilities[payload[0]]
        facility.pools[payload[1]].wakeup_at = -1.0
        self._start_pool(facility, payload[1])

    def _on_job_done(self, payload: tuple[int, str, int]) -> None:
        facility_id, machine, batch_id = payload
        facility = self.facilities[facility_id]
        batch = facility.pools[machine].finish(batch_id)
        for order_id in batch.order_ids:
            self.orders.set_completed(order_id, self.now)
            if self.orders.channel_of(order_id) == PLATFORM:
                self._deliver_platform(order_id, facility)
            else:
                self._finish_self_fabrication(order_id, facility)
        self._start_pool(facility, machine)

    def _deliver_platform(self, order_id: int, facility: FacilityAgent) -> None:
        cfg = self.config
        citizen = self.citizens[self.orders.citizen_of(order_id)]
        mode = cfg.platform.delivery_mode
        origin = int(facility.nodes[GRAPH_OF_MODE[mode]])
        dest = self._home_node(citizen, mode)
        time_s, dist_m = self.route(mode, origin, dest)
        self.trips.add(facility.facility_id, facility.kind, "delivery", mode, origin, dest, self.now,
                       self.now + time_s / 60.0, time_s, dist_m, order_id)
        vehicle_km = dist_m / 1000.0 if mode in ("van", "cargo_bike") else 0.0
        self.orders.set_trip(order_id, origin, dest, time_s, dist_m, vehicle_km)
        price = self.orders.price_of(order_id)
        royalty = self.orders.royalty_of(order_id)
        base = price * (1.0 - cfg.platform.royalty_share - cfg.platform.commission)
        self.ledger.pay(self.now, order_id, f"citizen:{citizen.row}", "platform", price, "price")
        self.ledger.pay(self.now, order_id, "platform", f"facility:{facility.facility_id}", base, "fee")
        designer = self.designers[self.orders.designer_of(order_id)]
        self.ledger.pay(self.now, order_id, "platform", f"designer:{designer.designer_id}", royalty, "royalty")
        facility.revenue += base
        designer.earn(royalty, self.now)
        self.events.push(self.now + time_s / 60.0, DELIVER, order_id)

    def _finish_self_fabrication(self, order_id: int, workshop: FacilityAgent) -> None:
        cfg = self.config
        citizen = self.citizens[self.orders.citizen_of(order_id)]
        hours = self.orders.machine_minutes(order_id) / 60.0
        fee = workshop.fee_per_hour * hours
        material = self.orders.material_of(order_id)
        subsidy = 0.0
        if citizen.income_quintile in cfg.policy.targeted_quintiles:
            subsidy = fee * cfg.policy.fee_waiver_share + material * cfg.policy.material_subsidy_share
        paid = fee + material - subsidy
        payee = f"facility:{workshop.facility_id}"
        self.ledger.pay(self.now, order_id, f"citizen:{citizen.row}", payee, paid, "fee")
        if subsidy > 0:
            self.ledger.pay(self.now, order_id, "public_budget", payee, subsidy, "subsidy")
        workshop.revenue += fee + material
        self.orders.set_money(order_id, price=paid, subsidy=subsidy)
        back_s, back_m = self.route("walk", workshop.nodes["walk"], citizen.home)
        self.trips.add(citizen.row, "citizen", "return_home", "walk", workshop.nodes["walk"], citizen.home, self.now,
                       self.now + back_s / 60.0, back_s, back_m, order_id)
        self.orders.set_trip(order_id, workshop.nodes["walk"], citizen.home, back_s, back_m, 0.0)
        if citizen.stage < PROSUMER:
            citizen.stage = PROSUMER
            citizen.stage_day[PROSUMER] = self.now / MINUTES_PER_DAY
        self.events.push(self.now + back_s / 60.0, DELIVER, order_id)

    def _on_deliver(self, order_id: int) -> None:
        self.orders.set_delivered(order_id, self.now)

    _dispatch = {
        PLATFORM_ACCEPT: _on_platform_accept,
        SELF_FAB_ARRIVE: _on_self_fab_arrive,
        JOB_DONE: _on_job_done,
        DELIVER: _on_deliver,
        POOL_OPEN: _on_pool_open,
    }

    # ------------------------------------------------------------------ daily adoption (per agent)
    def _daily_update(self) -> None:
        cfg = self.config
        day = self.now / MINUTES_PER_DAY
        day_key = int(self.now // MINUTES_PER_DAY) + 1
        population_share = None
        if cfg.adoption.well_mixed:
            population_share = sum(1 for c in self.citizens if c.stage >= AWARE) / len(self.citizens)
        self.agents_by_type[ReferenceCitizen].do("decide_awareness", day_key, population_share)
        self.agents_by_type[ReferenceCitizen].do("advance_awareness", day)
        trained = [c.row for c in self.citizens if c.decide_training(day_key)]
        cost = cfg.policy.training_cost_per_session
        if trained and cost > 0:
            for _ in trained:
                self.ledger.pay(self.now, -1, "public_budget", "training_provider", cost, "training")
        self.agents_by_type[ReferenceCitizen].do("decide_machine", day_key)
        for c in [c for c in self.citizens if c._decision]:
            self._become_maker(c, pay=True)

    def _become_maker(self, citizen: ReferenceCitizen, pay: bool) -> None:
        cfg = self.config
        citizen.stage = MAKER
        citizen.stage_day[MAKER] = self.now / MINUTES_PER_DAY
        if pay:
            eligible = citizen.income_quintile in cfg.policy.targeted_quintiles
            grant = min(cfg.policy.machine_grant, cfg.adoption.machine_cost) if eligible else 0.0
            self.ledger.pay(self.now, -1, f"citizen:{citizen.row}", "machine_supplier",
                            cfg.adoption.machine_cost - grant, "machine")
            if grant > 0:
                self.ledger.pay(self.now, -1, "public_budget", "machine_supplier", grant, "grant")
        nodes = {"walk": citizen.home, "bike": citizen.home_bike, "van": citizen.home_van}
        maker = Maker(self, len(self.facilities), "maker", cfg.facility_kind("maker"), nodes,
                      f"maker at citizen {citizen.row}", float("nan"), float("nan"), "citizen_home", self.now,
                      None, "maker")
        maker.owner = citizen.row
        self.facilities.append(maker)

    # ------------------------------------------------------------------ time series (loops)
    def _record_hour(self, start: float) -> None:
        row: dict[str, Any] = {"hour": int(start // 60), "day": int(start // MINUTES_PER_DAY)}
        for s, name in enumerate(STAGES):
            row[f"n_{name}"] = sum(1 for c in self.citizens if c.stage == s)
        at = start + 60.0
        busy = dict.fromkeys(FACILITY_KINDS, 0)
        open_ = dict.fromkeys(FACILITY_KINDS, 0)
        queue = dict.fromkeys(FACILITY_KINDS, 0)
        for f in self.facilities:
            is_open = f.calendar.is_open(at)
            for pool in f.pools.values():
                queue[f.kind] += len(pool.queue)
                if is_open:
                    busy[f.kind] += len(pool.running)
                    open_[f.kind] += pool.count
        for kind in FACILITY_KINDS:
            row[f"busy_machines_{kind}"] = busy[kind]
            row[f"open_machines_{kind}"] = open_[kind]
            row[f"queue_{kind}"] = queue[kind]
        for c, name in enumerate(("import", "platform", "self_fabrication")):
            row[f"orders_{name}"] = self.hour_orders[c]
        self.timeseries_rows.append(row)

    # ------------------------------------------------------------------ outputs for comparison
    def citizens_frame(self) -> pd.DataFrame:
        """Final state per citizen (the columns of ``agents.parquet`` that both models keep)."""
        return pd.DataFrame({
            "citizen_id": [c.row for c in self.citizens],
            "stage": [STAGES[c.stage] for c in self.citizens],
            "skill": [c.skill for c in self.citizens],
            "orders_import": [c.orders_by_channel[IMPORT] for c in self.citizens],
            "orders_platform": [c.orders_by_channel[PLATFORM] for c in self.citizens],
            "orders_self_fabrication": [c.orders_by_channel[SELF_FABRICATION] for c in self.citizens],
            **{f"became_{name}_day": [c.stage_day[s] for c in self.citizens]
               for s, name in enumerate(STAGES[1:], start=1)},
        })


def run_reference(config: Config, city=None) -> tuple[ReferenceModel, dict[str, float]]:
    """Build and run a :class:`ReferenceModel`; return it and its seconds: ``build_model``,
    ``simulate`` (wall) and ``simulate_cpu`` (process CPU time)."""
    t0 = time.perf_counter()
    model = ReferenceModel(config, city)
    t1 = time.perf_counter()
    cpu1 = time.process_time()
    model.run()
    return model, {"build_model": t1 - t0, "simulate": time.perf_counter() - t1,
                   "simulate_cpu": time.process_time() - cpu1}
