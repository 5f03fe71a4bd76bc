"""The city model: the Mesa ``Model`` that wires the components and owns the clock and the event queue.

One Mesa step is one simulated hour. Within the hour, needs arrive at exact
minutes (:class:`~citymodel.needs.NeedClocks`), channels are chosen by a
vectorised logit over the quotes of :mod:`citymodel.choice`, and every
discrete happening — a platform order accepted, a citizen arriving at a
workshop, a job finishing, a delivery reaching a home, a closed workshop
opening — is an event at its exact minute in the
:class:`~citymodel.events.EventQueue`. Adoption, training and machine purchases
are updated once per simulated day (:class:`~citymodel.adoption.Adoption`).
Time is in minutes since the start of day 0; money in £; distances in metres.

The components and the state each owns (see ``docs/architecture.md``):

============ =================================== ==========================================
component    module                              state
============ =================================== ==========================================
needs        :mod:`citymodel.needs`              next need and need count per citizen, product
choice       :mod:`citymodel.choice`             the product table (quotes are computed)
platform     :mod:`citymodel.platform`           candidate pools per machine: fees, backlogs
production   :mod:`citymodel.production`         calendars, machine pools, live kind counters
travel       :mod:`citymodel.travel`             walking and delivery tables
accounts     :mod:`citymodel.accounts`           the ledger
adoption     :mod:`citymodel.adoption`           stage counts, tie counts
observation  :mod:`citymodel.observation`        the hourly rows (and the DataCollector)
============ =================================== ==========================================

Random numbers of the dynamics are *keyed* (:class:`~citymodel.keyed_random.KeyedRandom`): the draw
for, say, the choice noise of citizen i's k-th furniture need is a fixed
function of (seed, stream, i, product, k), not of the order in which draws are
made. Vectorised code and a per-agent implementation (``citymodel.reference``)
therefore draw the same numbers, and results do not depend on processing order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import mesa
import numpy as np

from citymodel.accounts import Accounts
from citymodel.adoption import Adoption, initial_maker_rows
from citymodel.agents import Citizen, FacilityAgent, PublicWorkshop, TextileMill, publish_designs
from citymodel.calendar import WeeklyCalendar
from citymodel.choice import ProductTable, choose, quote_alternatives, utilities
from citymodel.config import Config
from citymodel.events import DELIVER, JOB_DONE, PLATFORM_ACCEPT, POOL_OPEN, SELF_FAB_ARRIVE, EventQueue
from citymodel.initialization import create_sites, home_maker, initial_population, initial_sites
from citymodel.keyed_random import (
    CHOICE_NOISE,
    DESIGN_PICK,
    IMPORT_LEAD,
    MACHINE_TIME,
    KeyedRandom,
    setup_generators,
)
from citymodel.needs import NeedClocks
from citymodel.observation import Observation, timeseries_datacollector
from citymodel.orderbook import OrderBook, TripLog
from citymodel.params import config_from_params
from citymodel.platform import Platform, platform_price
from citymodel.policy import eligible as policy_eligible
from citymodel.production import Production
from citymodel.siting import import_depot
from citymodel.travel import TravelTables
from citymodel.vocabulary import (
    CANCELLED,
    DELIVERED,
    IMPORT,
    MINUTES_PER_DAY,
    PLATFORM,
    VEHICLE_MODES,
)


class CityModel(mesa.Model):
    """Distributed manufacturing in a city (Srai et al. 2016 §4.4–4.5) as an agent-based model.

    Build it the way any Mesa model is built::

        CityModel()                                      # defaults: the embedded map
        CityModel(citizens=2000, days=7, seed=1)         # flat keyword parameters
        CityModel(policy__fee_waiver_share=0.5)          # any config key as section__name
        CityModel.from_params({"policy.fee_waiver_share": 0.5, "citizens": 2000})
        CityModel(config=Config(...), city=city)         # a full configuration and a loaded map

    ``model.run_model()`` steps one simulated hour at a time until ``run.days`` are
    simulated (then ``running`` is False); ``model.datacollector`` records the
    hourly time series, so ``mesa.batch_run(CityModel, {...})`` works. A model
    pickles, and a loaded :class:`~citymodel.maps.City` may be shared by many models
    (the model never changes it; without ``city`` the map comes from a per-process
    cache, :func:`citymodel.maps.shared_city`).

    Parameters
    ----------
    config
        The run's configuration (defaults if None); ``config.run.seed`` seeds every stream.
    city
        A loaded :class:`citymodel.maps.City`; ``config.run.map`` from the shared cache if None.
    always_open
        Open every facility 24/7 (used by validation checks).
    **kwargs
        Flat parameters applied over ``config``: ``citizens``, ``days``, ``seed``, ``map``,
        ``start_weekday`` (``run.*``) and any config key as ``section__name``
        (see :func:`citymodel.params.config_from_params`).

    Attributes
    ----------
    now
        Current time (minutes since the start of day 0).
    population
        Citizen state as numpy columns (see :class:`~citymodel.population.Population`).
    citizens, designers, facilities
        The Mesa agents (citizens are thin handles onto ``population`` rows).
    orders, trips, ledger
        The order book, the trip log and the payments, as columnar tables.
    needs, platform, production, travel, accounts, adoption, observation
        The components (module docstring).
    datacollector
        A ``mesa.DataCollector`` with one model reporter per time-series column.
    """

    def __init__(self, config: Config | None = None, city=None, *, always_open: bool = False,
                 **kwargs: Any) -> None:
        config = config_from_params(kwargs, config)
        super().__init__(rng=config.run.seed)
        self.config = config
        self.always_open = always_open
        self.streams = setup_generators(config.run.seed)
        self.keyed = KeyedRandom(config.run.seed)
        if city is None:
            from citymodel.maps import shared_city

            city = shared_city(config.run.map)
        self.city = city
        self.now = 0.0
        self.horizon_min = config.run.days * MINUTES_PER_DAY
        self.events = EventQueue()
        self.products = ProductTable.from_config(config)
        self.orders = OrderBook(self.products.names, self.products.machine)
        self.trips = TripLog()
        self.accounts = Accounts(config)
        self.observation = Observation()
        self.production = Production(self.events, self.orders,
                                     {k: v["hours"] for k, v in config.facilities.kinds.items()},
                                     config.run.start_weekday, always_open, on_backlog=self._on_backlog)
        self.platform = Platform(config, self.production.calendar_list)
        self.notes: list[str] = []
        self._build_city()
        self.needs = NeedClocks(np.array([config.needs.products[p]["needs_per_citizen_year"]
                                          for p in self.products.names], dtype=float), len(self.population),
                                self.keyed)
        self.datacollector = timeseries_datacollector()

    @classmethod
    def from_params(cls, params: Mapping[str, Any], city=None, **kwargs: Any) -> CityModel:
        """A model from a dict of parameters (``"citizens"``, ``"policy.fee_waiver_share"``, ``"policy__…"``)."""
        return cls(config_from_params(params), city, **kwargs)

    # ------------------------------------------------------------------ set-up
    def _build_city(self) -> None:
        cfg = self.config
        self.population, self.centre, notes = initial_population(cfg, self.city, self.streams)
        self.notes += notes
        self.median_income = float(cfg.population.income_median)
        self.citizens = [Citizen(self, row) for row in range(len(self.population))]
        sites, notes = initial_sites(cfg, self.city, self.streams)
        self.notes += notes
        self.facilities: list[FacilityAgent] = []
        create_sites(self, sites)
        self.travel = TravelTables(self.city, self.population, cfg)
        for facility in self.facilities:
            self._open_facility(facility)
        self.depot_node = import_depot(self.city)
        self.import_last_mile = self.travel.import_last_mile(self.depot_node)
        # Nearest public workshop per citizen (any machine, and per machine type), walking home -> workshop.
        self.public = [f for f in self.facilities if isinstance(f, PublicWorkshop)]
        self._public_fees = np.array([f.fee_per_hour for f in self.public] + [np.nan])
        self.walk_to_workshop_s = self.travel.nearest_walk(self.public, machine=None)[1]
        self.nearest_workshop = {m: self.travel.nearest_walk(self.public, machine=m) for m in self.products.machines}
        self._nearest_index = np.stack([self.nearest_workshop[m][0] for m in self.products.machines])
        self._nearest_walk_s = np.stack([self.nearest_workshop[m][1] for m in self.products.machines])
        self._eligible = policy_eligible(self.population.income_quintile, cfg.policy)
        self.accounts.equipment_grants(len(self.public))
        self.accounts.mill_support([f for f in self.facilities if isinstance(f, TextileMill)])
        self.designers, self.designs, self._design_cdf = publish_designs(self, self.streams["designers"])
        self._design_objects = {}
        for product, designs in self.designs.items():
            arr = np.empty(len(designs), dtype=object)
            arr[:] = designs
            self._design_objects[product] = arr
        self.adoption = Adoption(cfg, self.population, self.keyed, self.walk_to_workshop_s, self.median_income)
        self.adoption.seed_awareness()
        for row in initial_maker_rows(self.population.income, cfg.adoption, self.streams["adoption"]):
            self._become_maker(int(row), pay=False)
        self.adoption.recount()

    def _open_facility(self, facility: FacilityAgent) -> None:
        """Wire a new facility into travel, production and (if it takes orders) the platform."""
        self.travel.add_facility(facility)
        self.production.track(facility)
        row = self.travel.delivery_row(facility) if facility.takes_platform_orders else -1
        cal = self.production.calendar_index(facility.calendar)
        for machine, pool in facility.pools.items():
            pool.platform_slot = -1
            if facility.takes_platform_orders:
                pool.platform_slot = self.platform.add_pool(machine, pool, facility, row, cal)

    def _on_backlog(self, pool) -> None:
        if pool.platform_slot >= 0:
            self.platform.update_backlog(pool.machine, pool.platform_slot, pool.backlog_min())

    def calendar_for(self, kind: str) -> WeeklyCalendar:
        """The (shared) calendar with the opening hours of facility ``kind``."""
        return self.production.calendar_for(kind)

    # ------------------------------------------------------------------ the Mesa face
    @property
    def day(self) -> int:
        """Current simulated day (0-based)."""
        return int(self.now // MINUTES_PER_DAY)

    @property
    def ledger(self):
        """The run's payments (:class:`~citymodel.ledger.Ledger`)."""
        return self.accounts.ledger

    @property
    def timeseries_rows(self) -> list[dict[str, int]]:
        """The hourly time series so far, one dict per hour."""
        return self.observation.rows

    @property
    def degree(self) -> np.ndarray:
        """Social ties per citizen."""
        return self.adoption.degree

    def step(self) -> None:
        """Advance one simulated hour (the schedule of ``docs/architecture.md``)."""
        start = self.now
        end = start + 60.0
        if start % MINUTES_PER_DAY == 0:
            self._daily_update()
        self.observation.start_hour()
        self._choose_channels(start, end)
        for time_min, kind, payload in self.events.pop_until(end):
            self.now = time_min
            self._dispatch[kind](self, payload)
        self.now = end
        busy, open_ = self.production.busy_and_open(end)
        self.observation.record(start, self.adoption.stage_counts, busy, open_, self.production.queued_by_kind)
        self.datacollector.collect(self)
        if self.now >= self.horizon_min - 1e-9:
            self.running = False

    def run(self, days: float | None = None, progress: Callable[[int, int], None] | None = None) -> None:
        """Run ``days`` (default ``config.run.days``) simulated days, calling ``progress(hour, total)``."""
        hours = int(round((days if days is not None else self.config.run.days) * 24))
        for h in range(hours):
            self.step()
            if progress is not None:
                progress(h + 1, hours)

    # ------------------------------------------------------------------ needs and channels
    def _choose_channels(self, start: float, end: float) -> None:
        when, who, product, k = self.needs.arrivals(start, end)
        if not who.size:
            return
        u = self._utilities(product, who)
        noise = self.keyed.gumbel(CHOICE_NOISE, who[:, None], product[:, None], k[:, None], np.arange(3)[None, :])
        self._place_orders(product, who, when, choose(u, noise), k)

    def _utilities(self, product: np.ndarray, who: np.ndarray) -> np.ndarray:
        """Utilities [n, 3] of the hour's needs (product codes of citizens ``who``), −inf if unavailable."""
        pop = self.population
        fee, backlog = self.platform.quote_basis(self.products.machines)
        machine = self.products.machine_index
        walk_s = self._nearest_walk_s[machine[product], who]
        w_index = self._nearest_index[machine[product], who]
        reach = np.isfinite(walk_s) & (w_index >= 0)
        alts = quote_alternatives(self.products, product, fee[machine], backlog[machine], pop.stage[who] >= 1,
                                  pop.skill[who], self._public_fees[w_index], walk_s, reach, self._eligible[who],
                                  self.config)
        return utilities(alts, pop.income[who], pop.skill[who], self.median_income, self.config.choice)

    def _place_orders(self, product: np.ndarray, who: np.ndarray, when: np.ndarray, choice: np.ndarray,
                      k: np.ndarray) -> None:
        """Book the hour's needs: imports first (vectorised), then local orders in time order."""
        cfg = self.config
        np.add.at(self.population.orders_by_channel, (who, choice), 1)
        self.observation.count_orders(choice)
        designs = self._pick_designs(product, who, k)
        is_import = choice == IMPORT
        if is_import.any():
            self._place_imports(product[is_import], who[is_import], when[is_import], designs[is_import],
                                k[is_import])
        local = np.flatnonzero(~is_import)
        if local.size == 0:
            return
        shape = 1.0 / cfg.needs.machine_time_cv**2
        scale = np.array([designs[i].machine_hours / shape for i in local])
        hours = self.keyed.gamma(MACHINE_TIME, shape, scale, who[local], product[local], k[local])
        for j, i in enumerate(local):
            machine = self.products.machine[product[i]]
            order_id = self.orders.new(citizen_id=int(who[i]), channel=int(choice[i]), product=int(product[i]),
                                       design=designs[i], machine=machine, created_min=float(when[i]),
                                       machine_hours=float(hours[j]))
            if choice[i] == PLATFORM:
                self.events.push(float(when[i]) + cfg.platform.acceptance_minutes, PLATFORM_ACCEPT, order_id)
            else:
                self._start_self_fabrication(order_id, int(who[i]), machine, float(when[i]))

    def _pick_designs(self, product: np.ndarray, who: np.ndarray, k: np.ndarray) -> np.ndarray:
        """The design of each need (Zipf popularity), drawn with keys (citizen, product, k)."""
        out = np.empty(len(product), dtype=object)
        u = self.keyed.uniform(DESIGN_PICK, who, product, k)
        for code, name in enumerate(self.products.names):
            rows = np.flatnonzero(product == code)
            if rows.size:
                picks = np.searchsorted(self._design_cdf[name], u[rows], side="right")
                out[rows] = self._design_objects[name][picks]
        return out

    def _place_imports(self, product, who, when, designs, k) -> None:
        sigma = np.sqrt(np.log1p(self.config.needs.import_lead_cv**2))
        lead_days = self.products.import_lead_days[product]
        price = self.products.import_price[product]
        lead_min = lead_days * 1440.0 * self.keyed.lognormal(IMPORT_LEAD, -sigma**2 / 2, sigma, who, product, k)
        time_s, dist_m, dest = self.import_last_mile(who)
        ids = self.orders.add_imports(who, product, when, when + lead_min, price, self.depot_node, dest, time_s,
                                      dist_m, machines=[d.machine for d in designs])
        self.accounts.imports(when, ids, who, price)

    # ------------------------------------------------------------------ self-fabrication
    def _start_self_fabrication(self, order_id: int, citizen: int, machine: str, created: float) -> None:
        w_index, _ = self.nearest_workshop[machine]
        workshop = self.public[int(w_index[citizen])]
        home = int(self.population.home_node[citizen])
        out_s, out_m = self.travel.walk_home_to(workshop, citizen)
        arrive = created + out_s / 60.0
        if not workshop.calendar.is_open(arrive):
            arrive = workshop.calendar.next_open(arrive)
        depart = arrive - out_s / 60.0
        self.trips.add(citizen, "citizen", "self_fabrication", "walk", home, workshop.nodes["walk"], depart, arrive,
                       out_s, out_m, order_id)
        self.orders.assign(order_id, workshop, "walk")
        self.events.push(arrive, SELF_FAB_ARRIVE, order_id)

    def _on_self_fab_arrive(self, order_id: int) -> None:
        self._submit_job(order_id, platform=False)

    def _finish_self_fabrication(self, order_id: int, workshop: FacilityAgent) -> None:
        citizen = self.orders.citizen_of(order_id)
        paid, subsidy = self.accounts.self_fabrication(
            self.now, order_id, citizen, workshop, self.orders.machine_minutes(order_id) / 60.0,
            self.orders.material_of(order_id), bool(self._eligible[citizen]))
        self.orders.set_money(order_id, price=paid, subsidy=subsidy)
        back_s, back_m = self.travel.walk_workshop_to_home(workshop, citizen)
        home = int(self.population.home_node[citizen])
        self.trips.add(citizen, "citizen", "return_home", "walk", workshop.nodes["walk"], home, self.now,
                       self.now + back_s / 60.0, back_s, back_m, order_id)
        self.orders.set_trip(order_id, workshop.nodes["walk"], home, back_s, back_m, 0.0)
        self.adoption.become_prosumer(citizen, self.now)
        self.events.push(self.now + back_s / 60.0, DELIVER, order_id)

    # ------------------------------------------------------------------ platform
    def _on_platform_accept(self, order_id: int) -> None:
        cfg = self.config
        citizen = self.orders.citizen_of(order_id)
        hours = self.orders.quote_hours(order_id)
        fid = self.platform.match(self.orders.machine_of(order_id), self.now,
                                  lambda rows: self.travel.delivery_times(rows, citizen), hours)
        if fid < 0:
            self.orders.cancel(order_id, self.now)
            return
        facility = self.facilities[fid]
        price = platform_price(facility.fee_per_hour, hours, self.orders.material_of(order_id), cfg.platform)
        self.orders.assign(order_id, facility, cfg.platform.delivery_mode, price=price,
                           royalty=price * cfg.platform.royalty_share)
        self._submit_job(order_id, platform=True)

    def _deliver_platform(self, order_id: int, facility: FacilityAgent) -> None:
        mode = self.config.platform.delivery_mode
        citizen = self.orders.citizen_of(order_id)
        time_s, dist_m, origin, dest = self.travel.delivery_leg(facility, citizen)
        self.trips.add(facility.facility_id, facility.kind, "delivery", mode, origin, dest, self.now,
                       self.now + time_s / 60.0, time_s, dist_m, order_id)
        self.orders.set_trip(order_id, origin, dest, time_s, dist_m, dist_m / 1000.0 if mode in VEHICLE_MODES else 0.0)
        self.accounts.platform_order(self.now, order_id, citizen, facility,
                                     self.designers[self.orders.designer_of(order_id)],
                                     self.orders.price_of(order_id), self.orders.royalty_of(order_id))
        self.events.push(self.now + time_s / 60.0, DELIVER, order_id)

    # ------------------------------------------------------------------ production
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

    # ------------------------------------------------------------------ daily adoption
    def _daily_update(self) -> None:
        trained, buyers = self.adoption.daily(self.now)
        self.accounts.training(self.now, trained)
        for row in buyers:
            self._become_maker(int(row), pay=True)

    def _become_maker(self, row: int, pay: bool) -> None:
        self.adoption.become_maker(row, self.now)
        if pay:
            self.accounts.machine(self.now, row, bool(self._eligible[row]))
        self._open_facility(home_maker(self, row, self.travel.home_nodes(row)))

    @property
    def status_counts(self) -> dict[str, int]:
        """Orders by status now."""
        return self.orders.status_counts(self.now)

    DELIVERED = DELIVERED
    CANCELLED = CANCELLED
