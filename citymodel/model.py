"""The city model: citizens, designers, makers, public workshops and mills on a real street graph.

One Mesa step is one simulated hour. Within the hour, needs arrive at exact
minutes (a Poisson process per citizen and product), channels are chosen by
a vectorised logit, and every
discrete happening — a platform order accepted, a citizen arriving at a
workshop, a job finishing, a delivery reaching a home, a closed workshop
opening — is an event at its exact minute in :class:`~citymodel.events.EventQueue`.
Adoption, training and machine purchases are updated once per simulated day.
Time is in minutes since the start of day 0; money in £; distances in metres.

Random numbers of the dynamics are *keyed* (:class:`~citymodel.keyed_random.KeyedRandom`): the draw
for, say, the choice noise of citizen i's k-th furniture need is a fixed
function of (seed, stream, i, product, k), not of the order in which draws are
made. Vectorised code and a per-agent implementation (``citymodel.reference``)
therefore draw the same numbers, and results do not depend on processing order.
"""

from __future__ import annotations

from collections.abc import Callable

import mesa
import numpy as np

from citymodel import adoption
from citymodel.agents import Citizen, FacilityAgent, Maker, PublicWorkshop, TextileMill, publish_designs
from citymodel.calendar import MINUTES_PER_DAY, WeeklyCalendar
from citymodel.choice import IMPORT, PLATFORM, SELF_FABRICATION, Alternatives, utilities
from citymodel.config import Config
from citymodel.events import EventQueue
from citymodel.keyed_random import KeyedRandom
from citymodel.ledger import Ledger
from citymodel.orderbook import CANCELLED, DELIVERED, OrderBook, TripLog
from citymodel.population import AWARE, MAKER, PROSUMER, STAGES, UNAWARE
from citymodel.residents import populate, with_resolved_citizens
from citymodel.siting import PUBLIC_WORKSHOP_KINDS, centre_of, choose_sites, import_depot, site_spec
from citymodel.travel import TravelTables

# Event kinds.
PLATFORM_ACCEPT, SELF_FAB_ARRIVE, JOB_DONE, DELIVER, POOL_OPEN = range(5)
STREAMS = ("population", "ties", "needs", "choice", "durations", "adoption", "designers", "imports", "zones")
FACILITY_KINDS = (*PUBLIC_WORKSHOP_KINDS, "maker", "textile_mill")
WALK_15_MIN_S = 900.0
MINUTES_PER_YEAR = 365.0 * MINUTES_PER_DAY

# Keyed streams (see KeyedRandom). Keys: needs (citizen, product, k[, alternative]); daily draws (citizen, day + 1).
NEED_GAP, CHOICE_NOISE, DESIGN_PICK, MACHINE_TIME, IMPORT_LEAD, AWARENESS, TRAINING, MACHINE_PURCHASE = range(8)
class _KindGroup:
    """Facilities of one kind sharing one calendar: live counters for the hourly time series."""

    __slots__ = ("calendar", "kind", "machines", "running")

    def __init__(self, kind: str, calendar: WeeklyCalendar) -> None:
        self.kind = kind
        self.calendar = calendar
        self.machines = 0
        self.running = 0


class _PlatformPools:
    """The pools of one machine type at facilities that take platform orders, as arrays in facility order.

    Holds what matching needs per candidate — facility id, fee (£/h), calendar,
    delivery-table row and backlog (open machine minutes queued per machine) — so
    that matching an order is a few array operations instead of a loop over
    every facility. ``backlog[k]`` is kept equal to ``pools[k].backlog_min()``.
    """

    def __init__(self) -> None:
        self.n = 0
        self.pools: list = []
        self.fid = np.empty(16, dtype=np.int64)
        self.fee = np.empty(16)
        self.row = np.empty(16, dtype=np.int64)
        self.backlog = np.empty(16)
        self.cal = np.empty(16, dtype=np.int64)
        self._median_fee: float | None = None
        self._groups: dict[int, np.ndarray] | None = None

    def add(self, pool, facility, row: int, cal: int) -> int:
        """Append ``pool`` of ``facility``; return its slot."""
        if self.n == len(self.fid):
            for name in ("fid", "fee", "row", "backlog", "cal"):
                old = getattr(self, name)
                grown = np.empty(2 * len(old), dtype=old.dtype)
                grown[: self.n] = old[: self.n]
                setattr(self, name, grown)
        k = self.n
        self.pools.append(pool)
        self.fid[k] = facility.facility_id
        self.fee[k] = facility.fee_per_hour
        self.row[k] = row
        self.backlog[k] = pool.backlog_min()
        self.cal[k] = cal
        self.n += 1
        self._median_fee = None
        self._groups = None
        return k

    def median_fee(self) -> float:
        """Median fee (£/h) over the pools (cached until a pool is added)."""
        if self._median_fee is None:
            self._median_fee = float(np.median(self.fee[: self.n]))
        return self._median_fee

    def groups(self) -> dict[int, np.ndarray]:
        """Calendar index -> slots with that calendar (cached until a pool is added)."""
        if self._groups is None:
            cal = self.cal[: self.n]
            self._groups = {int(g): np.flatnonzero(cal == g) for g in np.unique(cal)}
        return self._groups


class CityModel(mesa.Model):
    """Distributed manufacturing in a city (Srai et al. 2016 §4.4–4.5) as an agent-based model.

    Parameters
    ----------
    config
        The run's configuration (defaults if None); ``config.run.seed`` seeds every stream.
    city
        A loaded :class:`citymodel.maps.City`; loaded from ``config.run.map`` if None.
    always_open
        Open every facility 24/7 (used by validation checks).

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
    """

    def __init__(self, config: Config | None = None, city=None, *, always_open: bool = False) -> None:
        config = (config or Config()).validate()
        super().__init__(rng=config.run.seed)
        self.config = config
        self.always_open = always_open
        seeds = np.random.SeedSequence(config.run.seed).spawn(len(STREAMS))
        self.streams = {name: np.random.default_rng(s) for name, s in zip(STREAMS, seeds, strict=True)}
        self.keyed = KeyedRandom(config.run.seed)
        if city is None:
            from citymodel.maps import load_city

            city = load_city(config.run.map)
        self.city = city
        self.config = config = with_resolved_citizens(config, city)  # issue 10: run.citizens 0 = map's population
        self.now = 0.0
        self.events = EventQueue()
        self.products = list(config.needs.products)
        self.orders = OrderBook(self.products, [p["machine"] for p in config.needs.products.values()])
        self.trips = TripLog()
        self.ledger = Ledger()
        self.notes: list[str] = []
        self._calendars: dict[str, WeeklyCalendar] = {}
        self.timeseries_rows: list[dict] = []
        # Live counters that replace per-hour and per-order loops over every facility.
        self._kind_groups: dict[tuple[str, int], _KindGroup] = {}
        self._queued_by_kind: dict[str, int] = dict.fromkeys(FACILITY_KINDS, 0)
        self._platform: dict[str, _PlatformPools] = {}
        self._calendar_index: dict[int, int] = {}
        self._calendar_list: list[WeeklyCalendar] = []
        self._build_population()
        self._build_facilities()
        self._build_designers()
        self._seed_adoption()
        self._stage_counts = np.bincount(self.population.stage, minlength=len(STAGES)).astype(np.int64)
        self._hour_orders = np.zeros(3, dtype=np.int64)
        self._init_needs()

    # ------------------------------------------------------------------ set-up
    def _build_population(self) -> None:
        cfg = self.config
        # issue 10: homes, zones and incomes in one set-up shared with the reference model (citymodel.residents)
        self.population, notes = populate(self.city, cfg, self.streams)
        self.notes += notes
        self.centre = centre_of(self.city)
        self.median_income = float(cfg.population.income_median)
        self.degree = np.asarray(self.population.ties.sum(axis=1)).ravel()
        self._degree_f64 = self.degree.astype(np.float64)
        ties = self.population.ties
        self._ties_symmetric = (ties != ties.T).nnz == 0 and bool(np.all(ties.data == 1))
        self._tie_counts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.citizens = Citizen.create_many(self, cfg.run.citizens)

    def _build_facilities(self) -> None:
        cfg = self.config
        sites, notes = choose_sites(self.city, cfg.facilities, self.streams["population"])
        self.notes += notes
        self.facilities: list[FacilityAgent] = []
        extra = {"3d_printer": cfg.policy.extra_printers_per_workshop} if cfg.policy.extra_printers_per_workshop else {}
        for site in sites:
            cls = PublicWorkshop if site.kind in PUBLIC_WORKSHOP_KINDS else (
                TextileMill if site.kind == "textile_mill" else Maker)
            spec_kind = "pro_maker" if site.kind == "maker" else site.kind
            self._add_facility(cls, site.kind, spec_kind, site.nodes, site.name, site.lon, site.lat,
                               site.placement, extra if cls is PublicWorkshop else None,
                               spec=site_spec(cfg, site))  # issue 10: a site's own machines, fee, hours
        self.travel = TravelTables(self.city, self.population, cfg)
        for facility in self.facilities:
            self.travel.add_facility(facility)
            self._track_facility(facility)
        self.depot_node = import_depot(self.city)
        self.import_last_mile = self.travel.import_last_mile(self.depot_node)
        # Nearest public workshop per citizen and machine type (walking, home -> workshop).
        self.public = [f for f in self.facilities if isinstance(f, PublicWorkshop)]
        self._public_fees = np.array([f.fee_per_hour for f in self.public] + [np.nan])
        self.walk_to_workshop_s = self.travel.nearest_walk(self.public, machine=None)[1]
        machines = sorted({p["machine"] for p in cfg.needs.products.values()})
        self.nearest_workshop = {m: self.travel.nearest_walk(self.public, machine=m) for m in machines}
        # Per product constants and per (machine, citizen) nearest workshops, for the vectorised utilities.
        specs = [cfg.needs.product(p) for p in self.products]
        self._product_table = {
            "machine": [s.machine for s in specs],
            "machine_index": np.array([machines.index(s.machine) for s in specs], dtype=np.int64),
            **{name: np.array([getattr(s, name) for s in specs], dtype=float)
               for name in ("machine_hours", "material_cost", "import_price", "import_lead_days",
                            "personalisation_value")},
        }
        self._nearest_index = np.stack([self.nearest_workshop[m][0] for m in machines])
        self._nearest_walk_s = np.stack([self.nearest_workshop[m][1] for m in machines])
        self._eligible = np.isin(self.population.income_quintile, cfg.policy.targeted_quintiles)
        grant_cost = cfg.policy.extra_printers_per_workshop * cfg.policy.printer_grant_cost * len(self.public)
        if grant_cost > 0:
            self.ledger.pay(0.0, -1, "public_budget", "machine_supplier", grant_cost, "grant")
        for mill in (f for f in self.facilities if isinstance(f, TextileMill)):
            if cfg.policy.mill_support > 0:
                self.ledger.pay(0.0, -1, "public_budget", f"facility:{mill.facility_id}",
                                cfg.policy.mill_support, "grant")
                mill.revenue += cfg.policy.mill_support

    def _add_facility(self, cls, kind: str, spec_kind: str, nodes: dict[str, int], name: str = "",
                      lon: float = float("nan"), lat: float = float("nan"), placement: str = "poi",
                      extra: dict[str, int] | None = None, spec=None) -> FacilityAgent:
        spec = spec if spec is not None else self.config.facility_kind(spec_kind)  # issue 10
        facility = cls(self, len(self.facilities), kind, spec, nodes, name,
                       lon, lat, placement, self.now, extra, spec_kind)
        self.facilities.append(facility)
        return facility

    def _track_facility(self, facility: FacilityAgent) -> None:
        """Add ``facility`` to the live counters (time series) and to the platform's candidate arrays."""
        cal = self._calendar_index.setdefault(id(facility.calendar), len(self._calendar_list))
        if cal == len(self._calendar_list):
            self._calendar_list.append(facility.calendar)
        key = (facility.kind, cal)
        group = self._kind_groups.get(key)
        if group is None:
            group = self._kind_groups[key] = _KindGroup(facility.kind, facility.calendar)
        row = self.travel.delivery_row(facility) if facility.takes_platform_orders else -1
        for machine, pool in facility.pools.items():
            pool.kind_group = group
            pool.platform_slot = -1
            group.machines += pool.count
            group.running += len(pool.running)
            self._queued_by_kind[facility.kind] += len(pool.queue)
            if facility.takes_platform_orders:
                platform = self._platform.get(machine)
                if platform is None:
                    platform = self._platform[machine] = _PlatformPools()
                pool.platform_slot = platform.add(pool, facility, row, cal)

    def _build_designers(self) -> None:
        self.designers, self.designs, self._design_cdf = publish_designs(self, self.streams["designers"])
        self._design_objects = {}
        for product, designs in self.designs.items():
            arr = np.empty(len(designs), dtype=object)
            arr[:] = designs
            self._design_objects[product] = arr

    def _seed_adoption(self) -> None:
        cfg = self.config.adoption
        rng = self.streams["adoption"]
        pop = self.population
        n = len(pop)
        aware = self.keyed.uniform(AWARENESS, np.arange(n), 0) < cfg.initial_aware_share
        pop.stage[aware] = AWARE
        pop.stage_day[aware, AWARE] = 0.0
        n_makers = int(round(cfg.initial_maker_share * n))
        if n_makers:
            weights = pop.income / pop.income.sum()
            for row in np.sort(rng.choice(n, size=n_makers, replace=False, p=weights)):
                self._become_maker(int(row), pay=False)

    # ------------------------------------------------------------------ stepping
    @property
    def day(self) -> int:
        """Current simulated day (0-based)."""
        return int(self.now // MINUTES_PER_DAY)

    def step(self) -> None:
        """Advance one simulated hour."""
        start = self.now
        end = start + 60.0
        if start % MINUTES_PER_DAY == 0:
            self._daily_update()
        self._hour_orders[:] = 0
        self._generate_needs(start, end)
        for time_min, kind, payload in self.events.pop_until(end):
            self.now = time_min
            self._dispatch[kind](self, payload)
        self.now = end
        self._record_hour(start)

    def run(self, days: float | None = None, progress: Callable[[int, int], None] | None = None) -> None:
        """Run ``days`` (default ``config.run.days``) simulated days, calling ``progress(hour, total)``."""
        hours = int(round((days if days is not None else self.config.run.days) * 24))
        for h in range(hours):
            self.step()
            if progress is not None:
                progress(h + 1, hours)

    # ------------------------------------------------------------------ needs and channels
    def need_gap_mean_min(self) -> np.ndarray:
        """Mean time between two needs of one citizen, per product (minutes; inf if the rate is 0)."""
        rates = np.array([self.config.needs.products[p]["needs_per_citizen_year"] for p in self.products], dtype=float)
        with np.errstate(divide="ignore"):
            return np.where(rates > 0, MINUTES_PER_YEAR / np.where(rates > 0, rates, 1.0), np.inf)

    def _init_needs(self) -> None:
        """Start every citizen's need clock per product: first arrival = an exponential gap after time 0."""
        n, n_products = len(self.population), len(self.products)
        self._gap_mean = self.need_gap_mean_min()
        rows = np.repeat(np.arange(n), n_products)
        cols = np.tile(np.arange(n_products), n)
        self._next_need = (0.0 + self.keyed.exponential(NEED_GAP, self._gap_mean[cols], rows, cols, 0)
                           ).reshape(n, n_products)
        self._need_count = np.zeros((n, n_products), dtype=np.int64)
        self._day_needs: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def _needs_of_day(self, day: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every need arriving in ``day``: (day, time min, citizen, product, k), sorted by time, citizen, product.

        Each citizen's needs of each product are a Poisson process: the k-th need
        comes an exponential gap (keyed by citizen, product, k) after the previous
        one. One scan per day finds the clocks that ring today; only those advance.
        """
        day_end = (day + 1) * MINUTES_PER_DAY
        nxt, count = self._next_need, self._need_count
        rows, cols = np.nonzero(nxt < day_end)
        parts: list[tuple[np.ndarray, ...]] = []
        while rows.size:
            t = nxt[rows, cols]
            k = count[rows, cols]
            parts.append((t, rows, cols, k))
            k1 = k + 1
            t_next = t + self.keyed.exponential(NEED_GAP, self._gap_mean[cols], rows, cols, k1)
            nxt[rows, cols] = t_next
            count[rows, cols] = k1
            again = t_next < day_end
            rows, cols = rows[again], cols[again]
        if not parts:
            empty = np.empty(0, dtype=np.int64)
            return day, np.empty(0), empty, empty, empty
        t, who, product, k = (np.concatenate([part[j] for part in parts]) for j in range(4))
        order = np.lexsort((product, who, t))
        return day, t[order], who[order], product[order], k[order]

    def _generate_needs(self, start: float, end: float) -> None:
        day = int(start // MINUTES_PER_DAY)
        if self._day_needs is None or self._day_needs[0] != day:
            self._day_needs = self._needs_of_day(day)
        _, t, who, product, k = self._day_needs
        lo, hi = np.searchsorted(t, [start, end], side="left")
        if hi <= lo:
            return
        when, who, product_idx, k = t[lo:hi], who[lo:hi], product[lo:hi], k[lo:hi]
        u = self._utilities(product_idx, who)
        noise = self.keyed.gumbel(CHOICE_NOISE, who[:, None], product_idx[:, None], k[:, None], np.arange(3)[None, :])
        choice = np.argmax(u + noise, axis=1)
        self._place_orders(product_idx, who, when, choice, k)

    def _platform_estimates(self) -> dict[str, tuple[float, float]]:
        """Per machine type: (typical fee £/h, current mean backlog in days) on the platform."""
        out = {}
        for machine in {p["machine"] for p in self.config.needs.products.values()}:
            platform = self._platform.get(machine)
            if platform is None or platform.n == 0:
                out[machine] = (np.nan, np.nan)
                continue
            backlog_days = float(np.mean(platform.backlog[: platform.n])) / (8 * 60)
            out[machine] = (platform.median_fee(), backlog_days)
        return out

    def _utilities(self, product_idx: np.ndarray, who: np.ndarray) -> np.ndarray:
        """Utilities [n, 3] of the hour's needs (product ``product_idx`` of citizen ``who``), −inf if unavailable.

        Per-product quantities are computed once per hour as small arrays and gathered
        per need; each element is the same float expression as for a single need.
        """
        cfg = self.config
        pop = self.population
        t = self._product_table
        m = len(who)
        estimates = self._platform_estimates()
        fee = np.array([estimates[machine][0] for machine in t["machine"]])
        backlog = np.array([estimates[machine][1] for machine in t["machine"]])
        share = 1.0 - cfg.platform.royalty_share - cfg.platform.commission
        base = fee * t["machine_hours"] + t["material_cost"] + cfg.platform.delivery_fee
        platform_days = cfg.platform.acceptance_minutes / 1440 + backlog + t["machine_hours"] / 8.0 + 0.1
        p = product_idx
        machine_hours = t["machine_hours"][p]
        stage_ok = pop.stage[who] >= AWARE
        price = np.empty((m, 3))
        days = np.empty((m, 3))
        travel = np.zeros((m, 3))
        personal = np.zeros((m, 3))
        available = np.ones((m, 3), dtype=bool)
        price[:, IMPORT] = t["import_price"][p]
        days[:, IMPORT] = t["import_lead_days"][p]
        price[:, PLATFORM] = (base / share)[p]
        days[:, PLATFORM] = platform_days[p]
        available[:, PLATFORM] = np.isfinite(fee)[p] & stage_ok
        personal[:, PLATFORM] = personal[:, SELF_FABRICATION] = t["personalisation_value"][p]
        machine = t["machine_index"][p]
        w_index = self._nearest_index[machine, who]
        walk_s = self._nearest_walk_s[machine, who]
        reach = np.isfinite(walk_s) & (w_index >= 0)
        fees = self._public_fees[w_index]
        eligible = self._eligible[who]
        waiver = np.where(eligible, cfg.policy.fee_waiver_share, 0.0)
        material = np.where(eligible, 1 - cfg.policy.material_subsidy_share, 1.0)
        price[:, SELF_FABRICATION] = fees * (1 - waiver) * machine_hours + t["material_cost"][p] * material
        round_trip_h = 2 * np.where(reach, walk_s, 0.0) / 3600.0
        travel[:, SELF_FABRICATION] = round_trip_h
        days[:, SELF_FABRICATION] = (round_trip_h + machine_hours) / 24.0 + 0.5
        available[:, SELF_FABRICATION] = reach & stage_ok & (pop.skill[who] >= cfg.adoption.self_fab_min_skill)
        return utilities(Alternatives(np.nan_to_num(price), days, travel, personal, available),
                         pop.income[who], pop.skill[who], self.median_income, cfg.choice)

    def _place_orders(self, product_idx: np.ndarray, who: np.ndarray, when: np.ndarray,
                      choice: np.ndarray, k: np.ndarray) -> None:
        """Book the hour's needs: imports first (vectorised), then local orders in time order."""
        cfg = self.config
        pop = self.population
        np.add.at(pop.orders_by_channel, (who, choice), 1)
        self._hour_orders += np.bincount(choice, minlength=3)
        designs = self._pick_designs(product_idx, who, k)
        is_import = choice == IMPORT
        if is_import.any():
            self._place_imports(product_idx[is_import], who[is_import], when[is_import], designs[is_import],
                                k[is_import])
        local = np.flatnonzero(~is_import)
        if local.size == 0:
            return
        shape = 1.0 / cfg.needs.machine_time_cv**2
        scale = np.array([designs[i].machine_hours / shape for i in local])
        hours = self.keyed.gamma(MACHINE_TIME, shape, scale, who[local], product_idx[local], k[local])
        machines = [self.config.needs.products[p]["machine"] for p in self.products]
        for j, i in enumerate(local):
            order_id = self.orders.new(citizen_id=int(who[i]), channel=int(choice[i]), product=int(product_idx[i]),
                                       design=designs[i], machine=machines[product_idx[i]],
                                       created_min=float(when[i]), machine_hours=float(hours[j]))
            if choice[i] == PLATFORM:
                self.events.push(float(when[i]) + cfg.platform.acceptance_minutes, PLATFORM_ACCEPT, order_id)
            else:
                self._start_self_fabrication(order_id, int(who[i]), machines[product_idx[i]], float(when[i]))

    def _pick_designs(self, product_idx: np.ndarray, who: np.ndarray, k: np.ndarray) -> np.ndarray:
        """The design of each need (Zipf popularity), drawn with keys (citizen, product, k)."""
        out = np.empty(len(product_idx), dtype=object)
        u = self.keyed.uniform(DESIGN_PICK, who, product_idx, k)
        for p_index, product in enumerate(self.products):
            rows = np.flatnonzero(product_idx == p_index)
            if rows.size:
                picks = np.searchsorted(self._design_cdf[product], u[rows], side="right")
                out[rows] = self._design_objects[product][picks]
        return out

    def _place_imports(self, product_idx, who, when, designs, k) -> None:
        cfg = self.config
        lead_days = np.array([cfg.needs.products[p]["import_lead_days"] for p in self.products])[product_idx]
        price = np.array([cfg.needs.products[p]["import_price"] for p in self.products])[product_idx]
        sigma = np.sqrt(np.log1p(cfg.needs.import_lead_cv**2))
        lead_min = lead_days * 1440.0 * self.keyed.lognormal(IMPORT_LEAD, -sigma**2 / 2, sigma, who, product_idx, k)
        time_s, dist_m, dest = self.import_last_mile(who)
        delivered = when + lead_min
        ids = self.orders.add_imports(who, product_idx, when, delivered, price, self.depot_node, dest, time_s, dist_m,
                                      machines=[d.machine for d in designs])
        self.ledger.pay_many(when, ids, [f"citizen:{c}" for c in who], "import_supplier", price, "price")

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

    # ------------------------------------------------------------------ platform
    def _on_platform_accept(self, order_id: int) -> None:
        cfg = self.config
        machine = self.orders.machine_of(order_id)
        citizen = self.orders.citizen_of(order_id)
        # Candidates: every pool of this machine at a facility taking platform orders, in facility order.
        platform = self._platform.get(machine)
        if platform is None or platform.n == 0:
            self.orders.cancel(order_id, self.now)
            return
        n = platform.n
        time_s = self.travel.delivery_times(platform.row[:n], citizen)
        reachable = np.isfinite(time_s)
        if not reachable.any():
            self.orders.cancel(order_id, self.now)
            return
        hours = self.orders.quote_hours(order_id)
        fee = platform.fee[:n]
        rule = cfg.platform.matching
        if rule == "nearest":
            score = time_s
        elif rule == "cheapest":
            score = fee * hours + time_s / 3600.0 * 1e-6
        else:
            # _estimate_finish for every candidate, one calendar at a time: idle pools (no backlog)
            # of a calendar share one finish time; only pools with a queue need their own.
            work_min = hours * 60.0
            finish = np.empty(n)
            for cal, slots in platform.groups().items():
                calendar = self._calendar_list[cal]
                start = calendar.next_open(self.now)
                finish[slots] = calendar.time_after_open_minutes(start, 0.0 + work_min)
                backlog = platform.backlog[slots]
                queued = np.flatnonzero(backlog != 0.0)
                if queued.size:
                    finish[slots[queued]] = calendar.time_after_open_minutes_many(start, backlog[queued] + work_min)
            score = finish + time_s / 60.0
        score = np.where(reachable, score, np.inf)
        facility = self.facilities[int(platform.fid[int(np.argmin(score))])]
        base = facility.fee_per_hour * hours + self.orders.material_of(order_id) + cfg.platform.delivery_fee
        price = base / (1.0 - cfg.platform.royalty_share - cfg.platform.commission)
        self.orders.assign(order_id, facility, cfg.platform.delivery_mode, price=price,
                           royalty=price * cfg.platform.royalty_share)
        self._submit_job(order_id, platform=True)

    def _estimate_finish(self, facility: FacilityAgent, machine: str, hours: float) -> float:
        pool = facility.pools[machine]
        start = facility.calendar.next_open(self.now)
        return facility.calendar.time_after_open_minutes(start, pool.backlog_min() + hours * 60.0)

    # ------------------------------------------------------------------ production
    def _submit_job(self, order_id: int, platform: bool) -> None:
        facility = self.facilities[self.orders.facility_of(order_id)]
        machine = self.orders.machine_of(order_id)
        pool = facility.pools[machine]
        pool.submit(order_id, self.orders.machine_minutes(order_id), platform)
        self._queued_by_kind[facility.kind] += 1
        self._start_pool(facility, machine)

    def _start_pool(self, facility: FacilityAgent, machine: str) -> None:
        pool = facility.pools[machine]
        for batch_id, batch in pool.start_ready(self.now):
            for order_id in batch.order_ids:
                self.orders.set_started(order_id, self.now)
            self._queued_by_kind[facility.kind] -= len(batch.order_ids)
            pool.kind_group.running += 1
            self.events.push(batch.finish_min, JOB_DONE, (facility.facility_id, machine, batch_id))
        if pool.platform_slot >= 0:
            self._platform[machine].backlog[pool.platform_slot] = pool.backlog_min()
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
        pool = facility.pools[machine]
        batch = pool.finish(batch_id)
        pool.kind_group.running -= 1
        for order_id in batch.order_ids:
            self.orders.set_completed(order_id, self.now)
            if self.orders.channel_of(order_id) == PLATFORM:
                self._deliver_platform(order_id, facility)
            else:
                self._finish_self_fabrication(order_id, facility)
        self._start_pool(facility, machine)

    def _deliver_platform(self, order_id: int, facility: FacilityAgent) -> None:
        cfg = self.config
        citizen = self.orders.citizen_of(order_id)
        mode = cfg.platform.delivery_mode
        time_s, dist_m, origin, dest = self.travel.delivery_leg(facility, citizen)
        self.trips.add(facility.facility_id, facility.kind, "delivery", mode, origin, dest, self.now,
                       self.now + time_s / 60.0, time_s, dist_m, order_id)
        vehicle_km = dist_m / 1000.0 if mode in ("van", "cargo_bike") else 0.0
        self.orders.set_trip(order_id, origin, dest, time_s, dist_m, vehicle_km)
        price = self.orders.price_of(order_id)
        royalty = self.orders.royalty_of(order_id)
        base = price * (1.0 - cfg.platform.royalty_share - cfg.platform.commission)
        payer = f"citizen:{citizen}"
        self.ledger.pay(self.now, order_id, payer, "platform", price, "price")
        self.ledger.pay(self.now, order_id, "platform", f"facility:{facility.facility_id}", base, "fee")
        designer = self.designers[self.orders.designer_of(order_id)]
        self.ledger.pay(self.now, order_id, "platform", f"designer:{designer.designer_id}", royalty, "royalty")
        facility.revenue += base
        designer.earn(royalty, self.now)
        self.events.push(self.now + time_s / 60.0, DELIVER, order_id)

    def _finish_self_fabrication(self, order_id: int, workshop: FacilityAgent) -> None:
        cfg = self.config
        citizen = self.orders.citizen_of(order_id)
        hours = self.orders.machine_minutes(order_id) / 60.0
        fee = workshop.fee_per_hour * hours
        material = self.orders.material_of(order_id)
        eligible = int(self.population.income_quintile[citizen]) in cfg.policy.targeted_quintiles
        subsidy = 0.0
        if eligible:
            subsidy = fee * cfg.policy.fee_waiver_share + material * cfg.policy.material_subsidy_share
        paid = fee + material - subsidy
        payee = f"facility:{workshop.facility_id}"
        self.ledger.pay(self.now, order_id, f"citizen:{citizen}", payee, paid, "fee")
        if subsidy > 0:
            self.ledger.pay(self.now, order_id, "public_budget", payee, subsidy, "subsidy")
        workshop.revenue += fee + material
        self.orders.set_money(order_id, price=paid, subsidy=subsidy)
        back_s, back_m = self.travel.walk_workshop_to_home(workshop, citizen)
        home = int(self.population.home_node[citizen])
        self.trips.add(citizen, "citizen", "return_home", "walk", workshop.nodes["walk"], home, self.now,
                       self.now + back_s / 60.0, back_s, back_m, order_id)
        self.orders.set_trip(order_id, workshop.nodes["walk"], home, back_s, back_m, 0.0)
        if self.population.stage[citizen] < PROSUMER:
            self._stage_counts[self.population.stage[citizen]] -= 1
            self._stage_counts[PROSUMER] += 1
            self.population.stage[citizen] = PROSUMER
            self.population.stage_day[citizen, PROSUMER] = self.now / MINUTES_PER_DAY
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

    # ------------------------------------------------------------------ daily adoption
    def _daily_update(self) -> None:
        cfg = self.config.adoption
        pop = self.population
        dt = 1.0 / adoption.DAYS_PER_YEAR
        day = self.now / MINUTES_PER_DAY
        # Re-count stages once a day (counts are kept live between days).
        self._stage_counts = np.bincount(pop.stage, minlength=len(STAGES)).astype(np.int64)
        aware_or_beyond = pop.stage >= AWARE
        if cfg.well_mixed:
            share = np.full(len(pop), aware_or_beyond.mean())
        else:
            share = self._tie_share("aware_or_beyond", aware_or_beyond)
        unaware = np.flatnonzero(pop.stage == UNAWARE)
        prob = adoption.awareness_probability(cfg.bass_p, cfg.bass_q, share[unaware], dt)
        day_key = int(self.now // MINUTES_PER_DAY) + 1
        new = unaware[self.keyed.uniform(AWARENESS, unaware, day_key) < prob]
        pop.stage[new] = AWARE
        pop.stage_day[new, AWARE] = day
        self._stage_counts[UNAWARE] -= new.size
        self._stage_counts[AWARE] += new.size
        self._train(day_key, dt)
        prosumers = np.flatnonzero(pop.stage == PROSUMER)
        if prosumers.size:
            eligible = np.isin(pop.income_quintile[prosumers], self.config.policy.targeted_quintiles)
            grant = np.where(eligible, self.config.policy.machine_grant, 0.0)
            maker_share = self._tie_share("maker", pop.stage == MAKER)[prosumers]
            prob = adoption.maker_probability(cfg.maker_rate, pop.income[prosumers], self.median_income,
                                              cfg.machine_cost, grant, cfg.maker_imitation, maker_share, dt)
            for row in prosumers[self.keyed.uniform(MACHINE_PURCHASE, prosumers, day_key) < prob]:
                self._become_maker(int(row), pay=True)

    def _tie_share(self, name: str, flag: np.ndarray) -> np.ndarray:
        """``adoption.tie_share(ties, flag, degree)``, kept up to date from the rows whose flag changed.

        The count of flagged ties per citizen changes only around citizens whose flag
        changed since the last call (stages only move forward, so few do per day): their
        rows of the symmetric tie matrix are added (or removed). Counts are whole numbers,
        so the shares are exactly those of the full sparse product.
        """
        pop = self.population
        if not self._ties_symmetric:
            return adoption.tie_share(pop.ties, flag, self.degree)
        state = self._tie_counts.get(name)
        if state is None:
            state = self._tie_counts[name] = (np.zeros(len(flag), dtype=bool), np.zeros(len(flag)))
        previous, counts = state
        for rows, sign in ((np.flatnonzero(flag & ~previous), 1.0), (np.flatnonzero(previous & ~flag), -1.0)):
            if rows.size:
                counts += sign * np.bincount(pop.ties[rows].indices, minlength=len(flag))
        previous[:] = flag
        degree = self._degree_f64
        return np.divide(counts, degree, out=np.zeros(len(flag)), where=degree > 0)

    def _train(self, day_key: int, dt: float) -> None:
        cfg = self.config.adoption
        pop = self.population
        rate = cfg.training_rate * self.config.policy.training_multiplier
        candidates = np.flatnonzero((pop.stage >= AWARE) & (pop.skill < cfg.self_fab_min_skill)
                                    & (self.walk_to_workshop_s <= WALK_15_MIN_S))
        trained = candidates[self.keyed.uniform(TRAINING, candidates, day_key) < 1.0 - np.exp(-rate * dt)]
        if trained.size == 0:
            return
        pop.skill[trained] = np.minimum(pop.skill[trained] + cfg.training_skill_gain, 1.0)
        cost = self.config.policy.training_cost_per_session
        if cost > 0:
            self.ledger.pay_many(np.full(trained.size, self.now), np.full(trained.size, -1),
                                 "public_budget", "training_provider", np.full(trained.size, cost), "training")

    def _become_maker(self, row: int, pay: bool) -> None:
        cfg = self.config
        pop = self.population
        if hasattr(self, "_stage_counts"):
            self._stage_counts[pop.stage[row]] -= 1
            self._stage_counts[MAKER] += 1
        pop.stage[row] = MAKER
        pop.stage_day[row, MAKER] = self.now / MINUTES_PER_DAY
        if pay:
            eligible = int(pop.income_quintile[row]) in cfg.policy.targeted_quintiles
            grant = min(cfg.policy.machine_grant, cfg.adoption.machine_cost) if eligible else 0.0
            self.ledger.pay(self.now, -1, f"citizen:{row}", "machine_supplier", cfg.adoption.machine_cost - grant,
                            "machine")
            if grant > 0:
                self.ledger.pay(self.now, -1, "public_budget", "machine_supplier", grant, "grant")
        nodes = self.travel.home_nodes(row)
        maker = self._add_facility(Maker, "maker", "maker", nodes, f"maker at citizen {row}",
                                   placement="citizen_home")
        maker.owner = row
        if hasattr(self, "travel"):
            self.travel.add_facility(maker)
            self._track_facility(maker)

    # ------------------------------------------------------------------ time series
    def _record_hour(self, start: float) -> None:
        counts = self._stage_counts
        row = {"hour": int(start // 60), "day": int(start // MINUTES_PER_DAY)}
        for s, name in enumerate(STAGES):
            row[f"n_{name}"] = int(counts[s])
        at = start + 60.0
        busy: dict[str, int] = dict.fromkeys(FACILITY_KINDS, 0)
        open_: dict[str, int] = dict.fromkeys(FACILITY_KINDS, 0)
        queue = self._queued_by_kind
        open_cache: dict[int, bool] = {}
        for group in self._kind_groups.values():
            key = id(group.calendar)
            is_open = open_cache.get(key)
            if is_open is None:
                is_open = open_cache[key] = group.calendar.is_open(at)
            if is_open:
                busy[group.kind] += group.running
                open_[group.kind] += group.machines
        for kind in FACILITY_KINDS:
            row[f"busy_machines_{kind}"] = busy[kind]
            row[f"open_machines_{kind}"] = open_[kind]
            row[f"queue_{kind}"] = queue[kind]
        for c, name in enumerate(("import", "platform", "self_fabrication")):
            row[f"orders_{name}"] = int(self._hour_orders[c])
        self.timeseries_rows.append(row)

    def calendar_for(self, kind: str) -> WeeklyCalendar:
        """The (shared) calendar with the opening hours of facility ``kind``."""
        if kind not in self._calendars:
            self._calendars[kind] = WeeklyCalendar(
                self.config.facilities.kinds[kind]["hours"], self.config.run.start_weekday,
                always_open=self.always_open, name=f"facilities.kinds.{kind}.hours")
        return self._calendars[kind]

    @property
    def status_counts(self) -> dict[str, int]:
        """Orders by status now."""
        return self.orders.status_counts(self.now)

    DELIVERED = DELIVERED
    CANCELLED = CANCELLED
