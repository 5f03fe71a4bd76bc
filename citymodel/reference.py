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
from typing import Any

import mesa
import networkx as nx
import numpy as np
import pandas as pd

from citymodel import adoption
from citymodel.accounts import Accounts
from citymodel.agents import Design, FacilityAgent, PublicWorkshop, TextileMill, publish_designs
from citymodel.choice import ProductTable, quote_alternatives, utilities
from citymodel.config import Config
from citymodel.events import DELIVER, JOB_DONE, PLATFORM_ACCEPT, POOL_OPEN, SELF_FAB_ARRIVE, EventQueue
from citymodel.initialization import create_sites, home_maker, initial_population, initial_sites
from citymodel.keyed_random import (
    AWARENESS,
    CHOICE_NOISE,
    DESIGN_PICK,
    IMPORT_LEAD,
    MACHINE_PURCHASE,
    MACHINE_TIME,
    TRAINING,
    KeyedRandom,
    setup_generators,
)
from citymodel.needs import gap_means, next_arrival
from citymodel.observation import Observation
from citymodel.orderbook import OrderBook, TripLog
from citymodel.platform import backlog_days, expected_finish, match_scores, platform_price, typical_fee
from citymodel.policy import eligible as policy_eligible
from citymodel.production import Production
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
    UNAWARE,
    VEHICLE_MODES,
)


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
        self.eligible = bool(policy_eligible(income_quintile, model.config.policy))
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
            self.next_need.append(float(next_arrival(model.keyed, 0.0, mean, self.row, p, 0)[0]))
            self.need_count.append(0)

    def step(self) -> None:
        """This hour's needs: for each product whose clock rings before the hour ends, choose a channel."""
        model = self.model
        for p in range(len(model.products.names)):
            while self.next_need[p] < model.hour_end:
                t = self.next_need[p]
                k = self.need_count[p]
                model.needs_this_hour.append((t, self.row, p, k, self.choose_channel(p, k)))
                self.need_count[p] = k + 1
                self.next_need[p] = float(next_arrival(model.keyed, t, model.gap_mean[p], self.row, p, k + 1)[0])

    def choose_channel(self, p: int, k: int) -> int:
        """This citizen's quote of each channel for one need, its utilities and its logit draw."""
        model = self.model
        w_index, walk_s = self.nearest[model.products.machine[p]]
        reach = bool(np.isfinite(walk_s) and w_index >= 0)
        ws_fee = model.public[w_index].fee_per_hour if w_index >= 0 else float("nan")
        alts = quote_alternatives(model.products, np.array([p]), model.fee_by_product, model.backlog_by_product,
                                  np.array([self.stage >= AWARE]), np.array([self.skill]), np.array([ws_fee]),
                                  np.array([walk_s]), np.array([reach]), np.array([self.eligible]), model.config)
        u = utilities(alts, np.array([self.income]), np.array([self.skill]), model.median_income,
                      model.config.choice)[0]
        noise = model.keyed.gumbel(CHOICE_NOISE, self.row, p, k, np.arange(3))
        return int(np.argmax(u + noise))

    # ---- adoption (daily, synchronous: decide for everyone, then advance)
    def share_of_ties(self, stages: tuple[int, ...]) -> float:
        """Share of this citizen's ties whose stage is in ``stages`` (0 without ties)."""
        if not self.ties:
            return 0.0
        return sum(1 for t in self.ties if t.stage in stages) / len(self.ties)

    def decide_awareness(self, key: int, population_share: float | None) -> None:
        """Whether an unaware citizen becomes aware today (Bass hazard from its ties)."""
        self._decision = False
        if self.stage != UNAWARE:
            return
        cfg = self.model.config.adoption
        share = population_share if population_share is not None else self.share_of_ties((AWARE, PROSUMER, MAKER))
        prob = adoption.awareness_probability(cfg.bass_p, cfg.bass_q, np.array([share]), adoption.DT_YEARS)[0]
        self._decision = bool(self.model.keyed.uniform(AWARENESS, self.row, key)[0] < prob)

    def advance_awareness(self, day: float) -> None:
        """Apply today's awareness decision."""
        if self._decision:
            self.stage = AWARE
            self.stage_day[AWARE] = day

    def decide_training(self, key: int) -> bool:
        """Whether this citizen takes a training session today (and gains skill)."""
        model = self.model
        cfg = model.config
        if not adoption.can_train(np.array([self.stage]), np.array([self.skill]),
                                  np.array([self.walk_to_workshop_s]), cfg.adoption)[0]:
            return False
        if model.keyed.uniform(TRAINING, self.row, key)[0] < adoption.training_probability(cfg):
            self.skill = float(adoption.trained_skill(self.skill, cfg.adoption))
            return True
        return False

    def decide_machine(self, key: int) -> None:
        """Whether a prosumer buys a machine today (maker hazard with imitation of maker ties)."""
        self._decision = False
        if self.stage != PROSUMER:
            return
        model = self.model
        prob = adoption.purchase_probability(np.array([self.income]), np.array([self.eligible]),
                                             np.array([self.share_of_ties((MAKER,))]), model.config,
                                             model.median_income)[0]
        self._decision = bool(model.keyed.uniform(MACHINE_PURCHASE, self.row, key)[0] < prob)


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
        self.streams = setup_generators(config.run.seed)
        self.keyed = KeyedRandom(config.run.seed)
        if city is None:
            from citymodel.maps import load_city

            city = load_city(config.run.map)
        self.city = city
        self.now = 0.0
        self.hour_end = 60.0
        self.route_queries = 0
        self.events = EventQueue()
        self.products = ProductTable.from_config(config)
        self.gap_mean = gap_means([config.needs.products[p]["needs_per_citizen_year"] for p in self.products.names])
        self.orders = OrderBook(self.products.names, self.products.machine)
        self.trips = TripLog()
        self.accounts = Accounts(config)
        self.ledger = self.accounts.ledger
        self.observation = Observation()
        self.timeseries_rows = self.observation.rows
        self.production = Production(self.events, self.orders,
                                     {k: v["hours"] for k, v in config.facilities.kinds.items()},
                                     config.run.start_weekday)
        self.needs_this_hour: list[tuple[float, int, int, int, int]] = []
        self.fee_by_product = np.full(len(self.products.names), np.nan)
        self.backlog_by_product = np.full(len(self.products.names), np.nan)
        self.graphs = {m: city.graph(m) for m in ("walk", "bike", "van", config.platform.delivery_mode)}
        self.reversed = {m: g.reverse(copy=False) for m, g in self.graphs.items()}
        self._build_citizens()
        self._build_facilities()
        self.designers, self.designs, self.design_cdf = publish_designs(self, self.streams["designers"])
        self._seed_adoption()
        for c in self.citizens:
            c.start_need_clocks()
        self.setup_route_queries = self.route_queries

    # ------------------------------------------------------------------ set-up
    def _build_citizens(self) -> None:
        pop, _, _ = initial_population(self.config, self.city, self.streams)
        self.median_income = float(self.config.population.income_median)
        walk = self.graphs["walk"]
        lon = np.array([walk.nodes[int(n)]["x"] for n in pop.home_node])
        lat = np.array([walk.nodes[int(n)]["y"] for n in pop.home_node])
        bike = self.city.router("bike").snap(lon, lat)
        van = self.city.router("van").snap(lon, lat)
        self.citizens = [
            ReferenceCitizen(self, i, int(pop.home_node[i]), int(bike[i]), int(van[i]), float(pop.income[i]),
                             int(pop.income_quintile[i]), float(pop.skill[i]))
            for i in range(len(pop))
        ]
        indptr, indices = pop.ties.indptr, pop.ties.indices
        for c in self.citizens:
            c.ties = [self.citizens[j] for j in indices[indptr[c.row]:indptr[c.row + 1]]]

    def calendar_for(self, kind: str):
        """The (shared) calendar of facility ``kind``."""
        return self.production.calendar_for(kind)

    def _build_facilities(self) -> None:
        sites, _ = initial_sites(self.config, self.city, self.streams)
        self.facilities: list[FacilityAgent] = []
        create_sites(self, sites)
        for facility in self.facilities:
            self.production.track(facility)
        self.depot = import_depot(self.city)
        self.public = [f for f in self.facilities if isinstance(f, PublicWorkshop)]
        # Walking time from every node to each workshop: one networkx Dijkstra per workshop.
        to_workshop = []
        for w in self.public:
            self.route_queries += 1
            to_workshop.append(nx.single_source_dijkstra_path_length(self.reversed["walk"], w.nodes["walk"],
                                                                     weight="travel_time"))
        for c in self.citizens:
            c.walk_to_workshop_s = min((t.get(c.home, float("inf")) for t in to_workshop), default=float("inf"))
            for m in self.products.machines:
                best, best_t = -1, float("inf")
                for k, w in enumerate(self.public):
                    t = to_workshop[k].get(c.home, float("inf"))
                    if m in w.pools and t < best_t:
                        best, best_t = k, t
                c.nearest[m] = (best, best_t)
        self.accounts.equipment_grants(len(self.public))
        self.accounts.mill_support([f for f in self.facilities if isinstance(f, TextileMill)])

    def _seed_adoption(self) -> None:
        cfg = self.config.adoption
        for c in self.citizens:
            if adoption.initially_aware(self.keyed, c.row, cfg)[0]:
                c.stage = AWARE
                c.stage_day[AWARE] = 0.0
        income = np.array([c.income for c in self.citizens])
        for row in adoption.initial_maker_rows(income, cfg, self.streams["adoption"]):
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
        return {"walk": citizen.home, "bike": citizen.home_bike, "van": citizen.home_van}[GRAPH_OF_MODE[mode]]

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """One simulated hour: daily adoption at midnight, every citizen's step, then the hour's events."""
        start = self.now
        self.hour_end = start + 60.0
        if start % MINUTES_PER_DAY == 0:
            self._daily_update()
        self.observation.start_hour()
        self._update_quote_basis()
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

    def _offering(self, machine: str) -> list[FacilityAgent]:
        return [f for f in self.facilities if f.takes_platform_orders and machine in f.pools]

    def _update_quote_basis(self) -> None:
        """Per product: the platform's typical fee and queue this hour (a loop over the offering facilities)."""
        for p, machine in enumerate(self.products.machine):
            offering = self._offering(machine)
            if offering:
                self.fee_by_product[p] = typical_fee(np.array([f.fee_per_hour for f in offering]))
                self.backlog_by_product[p] = backlog_days(np.array([f.pools[machine].backlog_min() for f in offering]),
                                                          self.config)
            else:
                self.fee_by_product[p] = self.backlog_by_product[p] = np.nan

    def _place_orders(self) -> None:
        """Book the hour's needs in time order: imports first, then local orders (as the fast model does)."""
        cfg = self.config
        needs = sorted(self.needs_this_hour)
        for _, row, _, _, choice in needs:
            self.citizens[row].orders_by_channel[choice] += 1
        self.observation.count_orders(np.array([n[4] for n in needs], dtype=np.int64))
        sigma = np.sqrt(np.log1p(cfg.needs.import_lead_cv**2))
        for when, row, p, k, choice in needs:
            if choice != IMPORT:
                continue
            design = self._pick_design(row, p, k)
            price = self.products.import_price[p]
            lead = self.products.import_lead_days[p] * 1440.0 * self.keyed.lognormal(IMPORT_LEAD, -sigma**2 / 2,
                                                                                      sigma, row, p, k)
            citizen = self.citizens[row]
            time_s, dist_m = self.route("van", self.depot, citizen.home_van)
            ids = self.orders.add_imports(np.array([row]), np.array([p]), np.array([when]), when + lead,
                                          np.array([price]), self.depot, np.array([citizen.home_van]),
                                          np.array([time_s]), np.array([dist_m]), machines=[design.machine])
            self.accounts.imports(np.array([when]), ids, np.array([row]), np.array([price]))
        shape = 1.0 / cfg.needs.machine_time_cv**2
        for when, row, p, k, choice in needs:
            if choice == IMPORT:
                continue
            design = self._pick_design(row, p, k)
            hours = float(self.keyed.gamma(MACHINE_TIME, shape, design.machine_hours / shape, row, p, k)[0])
            machine = self.products.machine[p]
            order_id = self.orders.new(citizen_id=row, channel=choice, product=p, design=design, machine=machine,
                                       created_min=when, machine_hours=hours)
            if choice == PLATFORM:
                self.events.push(when + cfg.platform.acceptance_minutes, PLATFORM_ACCEPT, order_id)
            else:
                self._start_self_fabrication(order_id, self.citizens[row], machine, when)

    def _pick_design(self, row: int, p: int, k: int) -> Design:
        product = self.products.names[p]
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

    def _finish_self_fabrication(self, order_id: int, workshop: FacilityAgent) -> None:
        citizen = self.citizens[self.orders.citizen_of(order_id)]
        paid, subsidy = self.accounts.self_fabrication(self.now, order_id, citizen.row, workshop,
                                                       self.orders.machine_minutes(order_id) / 60.0,
                                                       self.orders.material_of(order_id), citizen.eligible)
        self.orders.set_money(order_id, price=paid, subsidy=subsidy)
        back_s, back_m = self.route("walk", workshop.nodes["walk"], citizen.home)
        self.trips.add(citizen.row, "citizen", "return_home", "walk", workshop.nodes["walk"], citizen.home, self.now,
                       self.now + back_s / 60.0, back_s, back_m, order_id)
        self.orders.set_trip(order_id, workshop.nodes["walk"], citizen.home, back_s, back_m, 0.0)
        if citizen.stage < PROSUMER:
            citizen.stage = PROSUMER
            citizen.stage_day[PROSUMER] = self.now / MINUTES_PER_DAY
        self.events.push(self.now + back_s / 60.0, DELIVER, order_id)

    # ------------------------------------------------------------------ platform
    def _on_platform_accept(self, order_id: int) -> None:
        cfg = self.config
        machine = self.orders.machine_of(order_id)
        citizen = self.citizens[self.orders.citizen_of(order_id)]
        candidates = self._offering(machine)
        if not candidates:
            self.orders.cancel(order_id, self.now)
            return
        mode = cfg.platform.delivery_mode
        self.route_queries += 1
        to_home = nx.single_source_dijkstra_path_length(self.reversed[mode], self._home_node(citizen, mode),
                                                        weight="travel_time")
        time_s = np.array([to_home.get(f.nodes[GRAPH_OF_MODE[mode]], np.inf) for f in candidates])
        if not np.isfinite(time_s).any():
            self.orders.cancel(order_id, self.now)
            return
        hours = self.orders.quote_hours(order_id)
        finish = np.array([expected_finish(f.calendar, self.now, f.pools[machine].backlog_min(), hours * 60.0)
                           for f in candidates])
        score = match_scores(cfg.platform.matching, time_s, np.array([f.fee_per_hour for f in candidates]),
                             hours, finish)
        facility = candidates[int(np.argmin(score))]
        price = platform_price(facility.fee_per_hour, hours, self.orders.material_of(order_id), cfg.platform)
        self.orders.assign(order_id, facility, mode, price=price, royalty=price * cfg.platform.royalty_share)
        self._submit_job(order_id, platform=True)

    def _deliver_platform(self, order_id: int, facility: FacilityAgent) -> None:
        mode = self.config.platform.delivery_mode
        citizen = self.citizens[self.orders.citizen_of(order_id)]
        origin = int(facility.nodes[GRAPH_OF_MODE[mode]])
        dest = self._home_node(citizen, mode)
        time_s, dist_m = self.route(mode, origin, dest)
        self.trips.add(facility.facility_id, facility.kind, "delivery", mode, origin, dest, self.now,
                       self.now + time_s / 60.0, time_s, dist_m, order_id)
        self.orders.set_trip(order_id, origin, dest, time_s, dist_m, dist_m / 1000.0 if mode in VEHICLE_MODES else 0.0)
        self.accounts.platform_order(self.now, order_id, citizen.row, facility,
                                     self.designers[self.orders.designer_of(order_id)],
                                     self.orders.price_of(order_id), self.orders.royalty_of(order_id))
        self.events.push(self.now + time_s / 60.0, DELIVER, order_id)

    # ------------------------------------------------------------------ production (the shared component)
    def _submit_job(self, order_id: int, platform: bool) -> None:
        facility = self.facilities[self.orders.facility_of(order_id)]
        self.production.submit(facility, self.orders.machine_of(order_id), order_id,
                               self.orders.machine_minutes(order_id), platform, self.now)

    def _on_pool_open(self, payload: tuple[int, str]) -> None:
        self.production.wake(self.facilities[payload[0]], payload[1], self.now)

    def _on_job_done(self, payload: tuple[int, str, int]) -> None:
        facility_id, machine, batch_id = payload
        facility = self.facilities[facility_id]
        batch = self.production.finish(facility, machine, batch_id)
        for order_id in batch.order_ids:
            self.orders.set_completed(order_id, self.now)
            if self.orders.channel_of(order_id) == PLATFORM:
                self._deliver_platform(order_id, facility)
            else:
                self._finish_self_fabrication(order_id, facility)
        self.production.start(facility, machine, self.now)

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
        day = self.now / MINUTES_PER_DAY
        key = adoption.day_key(self.now)
        population_share = None
        if self.config.adoption.well_mixed:
            population_share = sum(1 for c in self.citizens if c.stage >= AWARE) / len(self.citizens)
        citizens = self.agents_by_type[ReferenceCitizen]
        citizens.do("decide_awareness", key, population_share)
        citizens.do("advance_awareness", day)
        trained = sum(1 for c in self.citizens if c.decide_training(key))
        self.accounts.training(self.now, trained)
        citizens.do("decide_machine", key)
        for c in [c for c in self.citizens if c._decision]:
            self._become_maker(c, pay=True)

    def _become_maker(self, citizen: ReferenceCitizen, pay: bool) -> None:
        citizen.stage = MAKER
        citizen.stage_day[MAKER] = self.now / MINUTES_PER_DAY
        if pay:
            self.accounts.machine(self.now, citizen.row, citizen.eligible)
        nodes = {"walk": citizen.home, "bike": citizen.home_bike, "van": citizen.home_van}
        self.production.track(home_maker(self, citizen.row, nodes))

    # ------------------------------------------------------------------ time series (loops)
    def _record_hour(self, start: float) -> None:
        stages = np.zeros(len(STAGES), dtype=np.int64)
        for c in self.citizens:
            stages[c.stage] += 1
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
        self.observation.record(start, stages, busy, open_, queue)

    # ------------------------------------------------------------------ outputs for comparison
    def citizens_frame(self) -> pd.DataFrame:
        """Final state per citizen (the columns of ``agents.parquet`` that both models keep)."""
        return pd.DataFrame({
            "citizen_id": [c.row for c in self.citizens],
            "stage": [STAGES[c.stage] for c in self.citizens],
            "skill": [c.skill for c in self.citizens],
            **{f"orders_{name}": [c.orders_by_channel[i] for c in self.citizens] for i, name in enumerate(CHANNELS)},
            **{f"became_{name}_day": [c.stage_day[s] for c in self.citizens]
               for s, name in enumerate(STAGES[1:], start=1)},
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
