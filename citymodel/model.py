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

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import mesa
import numpy as np

from citymodel.accounts import Accounts, grant_fundable
from citymodel.agents import FacilityAgent
from citymodel.calendar import WeeklyCalendar
from citymodel.choice import ProductTable, quote_alternatives
from citymodel.config import Config
from citymodel.events import EventQueue
from citymodel.initialization import build_city, home_maker
from citymodel.keyed_random import KeyedRandom, setup_generators
from citymodel.makers import maker_exits
from citymodel.needs import NeedClocks
from citymodel.observation import Observation, TimeseriesRows, timeseries_datacollector
from citymodel.orderbook import OrderBook, TripLog
from citymodel.params import config_from_params
from citymodel.platform import Platform
from citymodel.production import Production, job_machine_hours
from citymodel.residents import with_resolved_citizens
from citymodel.scheduling import EventHandling
from citymodel.vocabulary import (
    AWARE,
    IMPORT,
    MINUTES_PER_DAY,
    PLATFORM,
)


class CityModel(EventHandling, mesa.Model):
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
        if city is None:
            from citymodel.maps import shared_city

            city = shared_city(config.run.map)
        self.city = city
        self.config = config = with_resolved_citizens(config, city)  # run.citizens 0: the map's population
        self.always_open = always_open
        self.streams = setup_generators(config.run.seed)
        self.keyed = KeyedRandom(config.run.seed)
        self.config = config = with_resolved_citizens(config, city)  # issue 10: run.citizens 0 = map's population
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
        self.demand: deque[tuple[float, int]] = deque()
        self.home_makers: dict[int, FacilityAgent] = {}
        build_city(self)
        self.needs = NeedClocks(np.array([config.needs.products[p]["needs_per_citizen_year"]
                                          for p in self.products.names], dtype=float), len(self.population),
                                self.keyed)
        self.datacollector = timeseries_datacollector()

    @classmethod
    def from_params(cls, params: Mapping[str, Any], city=None, **kwargs: Any) -> CityModel:
        """A model from a dict of parameters (``"citizens"``, ``"policy.fee_waiver_share"``, ``"policy__…"``)."""
        return cls(config_from_params(params), city, **kwargs)

    # ------------------------------------------------------------------ set-up
    def open_facility(self, facility: FacilityAgent) -> None:
        """Wire a new facility into travel, production and (if it takes orders) the platform."""
        self.travel.add_facility(facility)
        self.production.track(facility, self.now)
        row = self.travel.delivery_row(facility) if facility.takes_platform_orders else -1
        cal = self.production.calendar_index(facility.calendar)
        for machine, pool in facility.pools.items():
            pool.platform_slot = -1
            if facility.takes_platform_orders:
                pool.platform_slot = self.platform.add_pool(machine, pool, facility, row, cal)

    def _on_backlog(self, pool) -> None:
        if pool.platform_slot >= 0:
            self.platform.work_changed(pool.machine, pool.platform_slot)

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
    def timeseries_rows(self) -> TimeseriesRows:
        """The hourly time series so far, one dict per hour (a read-only view; ``observation.frame()`` as a table)."""
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
        self.process_events(end)
        self.now = end
        busy, open_ = self.production.busy_and_open(end)
        self.observation.record(start, self.adoption.stage_counts, busy, open_, self.production.queued_by_kind,
                                *self.production.machine_minutes(end))
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

    # ------------------------------------------------------------------ needs, quotes and channels
    def _choose_channels(self, start: float, end: float) -> None:
        """The hour's needs: their designs, the quotes of each channel, the choice, and the orders they become."""
        when, who, product, k = self.needs.arrivals(start, end)
        if not who.size:
            return
        designs = self.catalogue.pick(self.keyed, self.products.names, product, who, k)
        hours = np.array([d.machine_hours for d in designs])
        material = np.array([d.material_cost for d in designs])
        aware = self.population.stage[who] >= AWARE
        offer, offer_price, offer_ready = self._platform_offers(start, when, who, product, hours, material, aware)
        fab = self.choice.self_fabrication_quotes(start, when, who, product, hours, material,
                                                  self.accounts.budget_left > 0)
        alts = quote_alternatives(self.products, product, when, offer_price, offer_ready, fab["price"],
                                  fab["ready"], fab["travel_hours"], aware, fab["possible"])
        choice = self.choice.choose(product, who, k, alts)
        np.add.at(self.population.orders_by_channel, (who, choice), 1)
        self.observation.count_orders(choice)
        is_import = choice == IMPORT
        if is_import.any():
            self.imports.place(self.orders, self.accounts, self.keyed, product[is_import], who[is_import],
                               when[is_import], designs[is_import], k[is_import])
        local = np.flatnonzero(~is_import)
        job_hours = job_machine_hours(self.keyed, hours[local], self.config.needs.machine_time_cv, who[local],
                                      product[local], k[local])
        for j, i in enumerate(local):
            platform = choice[i] == PLATFORM
            order_id = self.orders.new(citizen_id=int(who[i]), channel=int(choice[i]), product=int(product[i]),
                                       design=designs[i], machine=self.products.machine[product[i]],
                                       created_min=float(when[i]), machine_hours=float(job_hours[j]),
                                       quoted_price=float(offer_price[i] if platform else fab["price"][i]),
                                       quoted_ready_min=float(offer_ready[i] if platform else fab["ready"][i]))
            if platform:
                self._place_platform_order(order_id, int(offer[i]), float(offer_price[i]))
            else:
                self._start_self_fabrication(order_id, int(who[i]), self.public[int(fab["workshop"][i])],
                                             float(fab["depart"][i]), float(fab["arrive"][i]))

    def _platform_offers(self, now: float, when, who, product, hours, material, aware):
        """The platform offer of each need of an aware citizen: (facility id or −1, price £, ready time min)."""
        fid = np.full(len(who), -1, dtype=np.int64)
        price = np.full(len(who), np.nan)
        ready = np.full(len(who), np.inf)
        for code, machine in enumerate(self.products.machine):
            rows = np.flatnonzero((product == code) & aware)
            if rows.size:
                homes = who[rows]
                fid[rows], price[rows], ready[rows] = self.platform.offers(
                    machine, self.products.process[code], now, when[rows], hours[rows], material[rows],
                    lambda candidate_rows, homes=homes: self.travel.delivery_times_many(candidate_rows, homes))
        return fid, price, ready

    # ------------------------------------------------------------------ what the shared handlers ask of this model
    @property
    def processes(self):
        """The platform processes by name (:class:`~citymodel.platform.Process`)."""
        return self.platform.processes

    def _delivery_leg(self, facility: FacilityAgent, citizen: int) -> tuple[float, float, int, int]:
        """The courier's leg (s, m, origin node, home node) from the delivery tables."""
        return self.travel.delivery_leg(facility, citizen)

    def _walk_out(self, workshop: FacilityAgent, citizen: int) -> tuple[float, float, int]:
        """The walk (s, m) from the citizen's home (node) to the workshop."""
        return (*self.travel.walk_home_to(workshop, citizen), int(self.population.home_node[citizen]))

    def _walk_back(self, workshop: FacilityAgent, citizen: int) -> tuple[float, float, int]:
        """The walk (s, m) from the workshop back to the citizen's home (node)."""
        return (*self.travel.walk_workshop_to_home(workshop, citizen), int(self.population.home_node[citizen]))

    def _is_eligible(self, citizen: int) -> bool:
        return bool(self.eligible[citizen])

    def _become_prosumer(self, citizen: int) -> None:
        self.adoption.become_prosumer(citizen, self.now)

    def _skill_of(self, citizen: int) -> float:
        return float(self.population.skill[citizen])

    def _record_use(self, citizen: int, satisfaction_: float, now: float) -> None:
        self.adoption.record_use(citizen, satisfaction_, now)

    # ------------------------------------------------------------------ daily adoption, makers in and out
    def _daily_update(self) -> None:
        self._prune_demand()
        pop = self.population
        buyers_of = np.array([c for _, c in self.demand], dtype=np.int64)
        makers = [self.facilities[int(f)] for f in self.platform.active_facilities(self.config.adoption.maker_machine)]
        trained, buyers = self.adoption.daily(self.now, (pop.x_m[buyers_of], pop.y_m[buyers_of]),
                                              (np.array([f.x_m for f in makers]), np.array([f.y_m for f in makers])),
                                              self.accounts.sessions_fundable(),
                                              grant_fundable(self.accounts, self.config))
        self.accounts.training(self.now, trained)
        self.accounts.workshop_costs(self.now, self.public)
        self.imports.deliver_day(self.orders, self.population, self.day)
        for row in buyers:
            self.become_maker(int(row), pay=True)
        for maker in list(self.home_makers.values()):
            if maker_exits(maker, self.now, self.config):
                self._close_maker(maker)

    def become_maker(self, row: int, pay: bool) -> None:
        """Citizen ``row`` buys a machine (``pay``: out of pocket, less any grant) and trades from home."""
        self.adoption.become_maker(row, self.now)
        if pay:
            self.accounts.machine(self.now, row, bool(self.eligible[row]))
        maker = home_maker(self, row, self.travel.home_nodes(row), self.population.x_m[row], self.population.y_m[row])
        self.home_makers[row] = maker
        self.open_facility(maker)

    def _maker_closed(self, maker: FacilityAgent) -> None:
        """The maker's pools leave the platform; the citizen is a prosumer again."""
        for machine, pool in maker.pools.items():
            if pool.platform_slot >= 0:
                self.platform.withdraw(machine, pool.platform_slot)
        self.adoption.leave_maker(maker.owner, self.now)
        del self.home_makers[maker.owner]
