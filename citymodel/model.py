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
from citymodel.events import DELIVER, JOB_RELEASE, PLATFORM_ACCEPT, SELF_FAB_ARRIVE, EventQueue
from citymodel.initialization import build_city, home_maker
from citymodel.keyed_random import KeyedRandom, setup_generators
from citymodel.makers import job_margin, maker_exits
from citymodel.needs import NeedClocks
from citymodel.observation import Observation, timeseries_datacollector
from citymodel.orderbook import OrderBook, TripLog
from citymodel.params import config_from_params
from citymodel.platform import Platform
from citymodel.policy import subsidy_applies
from citymodel.production import Production, job_machine_hours
from citymodel.residents import with_resolved_citizens
from citymodel.scheduling import EventHandling
from citymodel.vocabulary import (
    AWARE,
    IMPORT,
    MINUTES_PER_DAY,
    PLATFORM,
    VEHICLE_MODES,
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

    # ------------------------------------------------------------------ platform orders
    def _place_platform_order(self, order_id: int, facility_id: int, price: float) -> None:
        """The order goes to the facility whose offer the citizen took, at the offered price."""
        facility = self.facilities[facility_id]
        self.orders.assign(order_id, facility, self.config.platform.delivery_mode, price=price,
                           royalty=price * self.config.platform.royalty_share)
        facility.open_orders += 1
        process = self.platform.processes[self.products.process[self.orders.product_of(order_id)]]
        accept = self.orders.created_of(order_id) + process.quote_min
        self._book_job(order_id, accept + process.booking_min)
        self.events.push(accept, PLATFORM_ACCEPT, order_id)

    def _on_platform_accept(self, order_id: int) -> None:
        """The quote is accepted: the job joins the facility's queue after the maker's booking lead."""
        process = self.platform.processes[self.products.process[self.orders.product_of(order_id)]]
        if self.orders.machine_of(order_id) == self.config.adoption.maker_machine:
            self.demand.append((self.now, self.orders.citizen_of(order_id)))
        self.events.push(self.now + process.booking_min, JOB_RELEASE, order_id)

    def _deliver_platform(self, order_id: int, facility: FacilityAgent) -> None:
        """A platform job is done: paid now; delivered by the courier's next round after the dispatch wait."""
        mode = self.config.platform.delivery_mode
        citizen = self.orders.citizen_of(order_id)
        process = self.platform.processes[self.products.process[self.orders.product_of(order_id)]]
        depart = self.now + process.dispatch_min
        time_s, dist_m, origin, dest = self.travel.delivery_leg(facility, citizen)
        self.trips.add(facility.facility_id, facility.kind, "delivery", mode, origin, dest, depart,
                       depart + time_s / 60.0, time_s, dist_m, order_id)
        self.orders.set_trip(order_id, origin, dest, time_s, dist_m, dist_m / 1000.0 if mode in VEHICLE_MODES else 0.0)
        self.accounts.platform_order(self.now, order_id, citizen, facility,
                                     self.designers[self.orders.designer_of(order_id)],
                                     self.orders.price_of(order_id), self.orders.royalty_of(order_id))
        facility.record_margin(self.now, job_margin(facility, self.orders, order_id, self.config))
        self.events.push(depart + time_s / 60.0, DELIVER, order_id)

    # ------------------------------------------------------------------ self-fabrication
    def _start_self_fabrication(self, order_id: int, citizen: int, workshop: FacilityAgent, depart: float,
                                arrive: float) -> None:
        """The citizen walks to the workshop to arrive when the job is expected to start."""
        out_s, out_m = self.travel.walk_home_to(workshop, citizen)
        self.trips.add(citizen, "citizen", "self_fabrication", "walk", int(self.population.home_node[citizen]),
                       workshop.nodes["walk"], depart, arrive, out_s, out_m, order_id)
        self.orders.assign(order_id, workshop, "walk")
        self.events.push(arrive, SELF_FAB_ARRIVE, order_id)

    def _finish_self_fabrication(self, order_id: int, workshop: FacilityAgent, success: bool) -> None:
        """The item is made (or given up after the last failed attempt): the citizen pays and walks home."""
        citizen = self.orders.citizen_of(order_id)
        attempts = self.orders.attempts_of(order_id)
        eligible = bool(self.eligible[citizen]) and subsidy_applies(workshop.kind, self.orders.machine_of(order_id),
                                                                    self.config.policy)
        paid, subsidy = self.accounts.self_fabrication(
            self.now, order_id, citizen, workshop, attempts * self.orders.machine_minutes(order_id) / 60.0,
            attempts * self.orders.material_of(order_id), eligible)
        self.orders.set_money(order_id, price=paid, subsidy=subsidy)
        back_s, back_m = self.travel.walk_workshop_to_home(workshop, citizen)
        home = int(self.population.home_node[citizen])
        self.trips.add(citizen, "citizen", "return_home", "walk", workshop.nodes["walk"], home, self.now,
                       self.now + back_s / 60.0, back_s, back_m, order_id)
        self.orders.set_trip(order_id, workshop.nodes["walk"], home, back_s, back_m, 0.0)
        if success:
            self.adoption.become_prosumer(citizen, self.now)
            self.events.push(self.now + back_s / 60.0, DELIVER, order_id)
        else:
            self.orders.cancel(order_id, self.now)
            self.adoption.record_use(citizen, 0.0, self.now)

    def _skill_of(self, citizen: int) -> float:
        return float(self.population.skill[citizen])

    def _record_use(self, citizen: int, satisfaction_: float, now: float) -> None:
        self.adoption.record_use(citizen, satisfaction_, now)

    # ------------------------------------------------------------------ daily adoption, makers in and out
    def _daily_update(self) -> None:
        window_start = self.now - self.config.adoption.demand_window_days * MINUTES_PER_DAY
        while self.demand and self.demand[0][0] < window_start:
            self.demand.popleft()
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

    def _close_maker(self, maker: FacilityAgent) -> None:
        """A maker making losses sells the machine and stops trading."""
        maker.closed_min = self.now
        self.production.close(maker, self.now)
        for machine, pool in maker.pools.items():
            if pool.platform_slot >= 0:
                self.platform.withdraw(machine, pool.platform_slot)
        self.accounts.resale(self.now, maker.owner)
        self.adoption.leave_maker(maker.owner, self.now)
        del self.home_makers[maker.owner]
