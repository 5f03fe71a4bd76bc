"""The DM platform: the facilities that take orders, the offers they make, and how one offer is chosen.

An order on the platform follows its product's *process* (``platform.processes``,
after the paper's cases): ``opendesk`` — a few local makers quote within a day,
then make; ``hubs`` — a partner accepts within 45 minutes, prints and posts. An
offer from a facility is its price (:func:`platform_price`, the fee for the job
and, at a mill, its share of the batch's set-up, material and delivery) and its
ready time: the quote window, the maker's booking lead, the work ahead of the
job — running, queued and booked jobs projected first-come first-served on the
facility's opening hours (:func:`expected_finish`) — the job, the dispatch wait
and the delivery trip. The matching rule (``platform.matching``)
picks one offer among those the process collects (:func:`select_offers`):

* ``nearest``: the shortest delivery trip;
* ``cheapest``: the lowest price (delivery time breaks ties);
* ``earliest``: the earliest ready time.

The citizen's choice sees the offer that will be made (a quote that holds: the
order is placed with that facility at that price); the ready time can move if
the facility's queue changes between quote and production.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.calendar import WeeklyCalendar
from citymodel.config import Config, PlatformConfig

MATCHING_RULES = ("nearest", "earliest", "cheapest")


@dataclass(frozen=True)
class Process:
    """One platform process (minutes).

    Attributes
    ----------
    quote_min
        From order to the accepted quote.
    quotes
        Facilities that quote (the nearest ones); the matching rule picks among them (1: among all).
    booking_min
        From the accepted quote to the job entering the facility's queue.
    dispatch_min
        From the job's end to the start of the delivery trip.
    """

    quote_min: float
    quotes: int
    booking_min: float
    dispatch_min: float

    @classmethod
    def from_config(cls, config: Config, name: str) -> Process:
        spec = config.platform.processes[name]
        return cls(spec["quote_hours"] * 60.0, int(spec["quotes"]), spec["booking_days"] * 1440.0,
                   spec["dispatch_days"] * 1440.0)


def platform_price(fee_per_hour: float | np.ndarray, machine_hours: float | np.ndarray,
                   material: float | np.ndarray, platform: PlatformConfig) -> float | np.ndarray:
    """Price (£) of a platform order: the facility's fee for the job, material and delivery, grossed up so
    that the royalty and the commission are shares of the price."""
    return (fee_per_hour * machine_hours + material + platform.delivery_fee) / (
        1.0 - platform.royalty_share - platform.commission)


def expected_finish(pool, now: float, release_min: float, work_min: float) -> float:
    """When a job of ``work_min`` open machine minutes, released at ``release_min``, would finish at ``pool``
    (its known work projected from ``now``; a batch's wait and set-up at a batching pool)."""
    calendar = pool.calendar
    ready = float(batch_due(pool, release_min)) if pool.batches else release_min
    start = calendar.next_open(max(pool.available_at(now), ready))
    return calendar.time_after_open_minutes(start, work_min + pool.setup_min)


def select_offers(rule: str, quotes: int, delivery_s: np.ndarray, price: np.ndarray, ready_min: np.ndarray,
                  available: np.ndarray) -> np.ndarray:
    """Index of the chosen offer per row (−1 if none): rows are needs, columns candidate facilities.

    With ``quotes`` > 1 only the ``quotes`` available facilities with the shortest delivery
    (ties by column order) quote; the rule picks among them.
    """
    delivery = np.where(available, delivery_s, np.inf)
    if quotes > 1 and delivery.shape[1] > quotes:
        order = np.argsort(delivery, axis=1, kind="stable")
        quoting = np.zeros(delivery.shape, dtype=bool)
        np.put_along_axis(quoting, order[:, :quotes], True, axis=1)
        delivery = np.where(quoting, delivery, np.inf)
    if rule == "nearest":
        score = delivery
    elif rule == "cheapest":
        score = price + delivery / 3600.0 * 1e-6
    else:
        score = ready_min
    score = np.where(np.isfinite(delivery), score, np.inf)
    best = np.argmin(score, axis=1)
    return np.where(np.isfinite(score[np.arange(len(best)), best]), best, -1)


class PlatformPools:
    """The pools of one machine type at facilities that take platform orders, as arrays in facility order.

    Holds what an offer needs per candidate — facility id, fee (£/h), calendar, delivery-table
    row, set-up share (h per job at a batching mill), whether it still trades, and when a machine
    is next free for a new job (:meth:`MachinePool.available_at`, refreshed by :meth:`refresh`) —
    so that the offers of many needs are a few array operations.
    """

    def __init__(self) -> None:
        self.n = 0
        self.pools: list = []
        self.fid = np.empty(16, dtype=np.int64)
        self.fee = np.empty(16)
        self.row = np.empty(16, dtype=np.int64)
        self.avail = np.empty(16)
        self.cal = np.empty(16, dtype=np.int64)
        self.setup_h = np.empty(16)
        self.active = np.empty(16, dtype=bool)
        self.changed: set[int] = set()
        self._groups: dict[int, np.ndarray] | None = None

    def add(self, pool, facility, row: int, cal: int) -> int:
        """Append ``pool`` of ``facility``; return its slot."""
        if self.n == len(self.fid):
            for name in ("fid", "fee", "row", "avail", "cal", "setup_h", "active"):
                old = getattr(self, name)
                grown = np.empty(2 * len(old), dtype=old.dtype)
                grown[: self.n] = old[: self.n]
                setattr(self, name, grown)
        k = self.n
        self.pools.append(pool)
        self.fid[k] = facility.facility_id
        self.fee[k] = facility.fee_per_hour
        self.row[k] = row
        self.avail[k] = -np.inf
        self.cal[k] = cal
        self.setup_h[k] = pool.setup_min / 60.0 / pool.batch_size if pool.batches else 0.0
        self.active[k] = True
        self.changed.add(k)
        self.n += 1
        self._groups = None
        return k

    def refresh(self, now: float) -> None:
        """Bring the availability of the pools whose work changed up to ``now``.

        A pool's projection (:meth:`MachinePool.available_at`) changes only when its work does
        (every change is reported through :meth:`Platform.work_changed`) — running jobs end at
        their events, booked jobs are released at theirs, a closed pool wakes at its opening — except
        at a batching pool, whose waiting batch is projected to start now: those are refreshed every
        time. A projection earlier than ``now`` only means a machine is free, and offers start no
        earlier than their release anyway.
        """
        keep: set[int] = set()
        for k in self.changed:
            pool = self.pools[k]
            if pool.running or pool.queue or pool.booked:
                self.avail[k] = pool.available_at(now)
                if pool.batches:
                    keep.add(k)
            else:
                self.avail[k] = -np.inf  # idle: free whenever a job comes
        self.changed = keep

    def groups(self) -> dict[int, np.ndarray]:
        """Calendar index -> slots with that calendar (cached until a pool is added)."""
        if self._groups is None:
            cal = self.cal[: self.n]
            self._groups = {int(g): np.flatnonzero(cal == g) for g in np.unique(cal)}
        return self._groups

    def ready_times(self, calendars: list[WeeklyCalendar], release_min: np.ndarray, work_min: np.ndarray,
                    dispatch_min: float, delivery_s: np.ndarray) -> np.ndarray:
        """Ready time (min) of a job of ``work_min`` released at ``release_min`` at every pool (rows: jobs).

        The job starts at the pool's next opening once it is released and a machine is free (at a
        batching pool, not before the batch it joins is due), runs its work (and a batch's set-up),
        waits ``dispatch_min`` and travels ``delivery_s``. Pools free before every release, of one
        calendar, share one finish time per job.
        """
        n = len(release_min)
        finish = np.empty((n, self.n))
        first = release_min.min() if n else 0.0
        small = n * len(self.groups()) <= 64  # few jobs: plain-Python calendar arithmetic is faster (same bits)
        for cal, slots in self.groups().items():
            calendar = calendars[cal]
            batching = self.setup_h[slots] != 0.0
            free = (self.avail[slots] <= first) & ~batching
            if free.any():
                if small:
                    column = np.array([calendar.time_after_open_minutes(calendar.next_open(r), w)
                                       for r, w in zip(release_min.tolist(), work_min.tolist(), strict=True)])
                else:
                    column = calendar.time_after_open_minutes_at(calendar.next_open_many(release_min), work_min)
                finish[:, slots[free]] = column[:, None]
            busy = slots[~free & ~batching]
            if busy.size:
                start = calendar.next_open_many(np.maximum(self.avail[busy][None, :], release_min[:, None]))
                finish[:, busy] = calendar.time_after_open_minutes_at(start, work_min[:, None] + 0.0)
            for k in slots[batching]:
                pool = self.pools[k]
                start = calendar.next_open_many(np.maximum(self.avail[k], batch_due(pool, release_min)))
                finish[:, k] = calendar.time_after_open_minutes_at(start, work_min + pool.setup_min)
        return finish + dispatch_min + delivery_s / 60.0


def batch_due(pool, release_min: np.ndarray) -> np.ndarray:
    """When a job released at ``release_min`` can start at a batching pool: at once if it completes a batch's
    minimum, else when the oldest waiting job (or the job itself) has waited the pool's batch wait."""
    release_min = np.asarray(release_min, dtype=float)
    if len(pool.queue) + 1 >= pool.batch_min:
        return release_min
    oldest = pool.queue[0][3] if pool.queue else release_min
    return np.maximum(release_min, oldest + pool.batch_wait_min)


class Platform:
    """The platform component: candidate pools per machine type and the offers they make.

    Parameters
    ----------
    config
        The run's configuration (``platform`` section).
    calendars
        The model's calendars by index (shared with production).
    """

    def __init__(self, config: Config, calendars: list[WeeklyCalendar]) -> None:
        self.config = config
        self.calendars = calendars
        self.by_machine: dict[str, PlatformPools] = {}
        self.processes = {name: Process.from_config(config, name) for name in config.platform.processes}

    def add_pool(self, machine: str, pool, facility, delivery_row: int, calendar_index: int) -> int:
        """Offer ``pool`` (of ``facility``) on the platform; return its slot."""
        pools = self.by_machine.get(machine)
        if pools is None:
            pools = self.by_machine[machine] = PlatformPools()
        return pools.add(pool, facility, delivery_row, calendar_index)

    def work_changed(self, machine: str, slot: int) -> None:
        """The pool in ``slot`` queued, started or finished work (its backlog is refreshed on the next offer)."""
        self.by_machine[machine].changed.add(slot)

    def withdraw(self, machine: str, slot: int) -> None:
        """The pool in ``slot`` stops trading (its maker sold the machine)."""
        self.by_machine[machine].active[slot] = False

    def active_facilities(self, machine: str) -> np.ndarray:
        """Ids of the facilities still offering ``machine`` (in slot order)."""
        pools = self.candidates(machine)
        if pools is None:
            return np.empty(0, dtype=np.int64)
        return pools.fid[: pools.n][pools.active[: pools.n]]

    def candidates(self, machine: str) -> PlatformPools | None:
        """The pools offering ``machine`` (None if none ever did)."""
        pools = self.by_machine.get(machine)
        return pools if pools is not None and pools.n else None

    def offers(self, machine: str, process: str, now: float, when: np.ndarray, machine_hours: np.ndarray,
               material: np.ndarray, delivery_s_of_rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The offer each need gets: (facility id or −1, price £, ready time min).

        Parameters
        ----------
        machine, process
            The machine type and the platform process of the needs' product.
        now
            The time the backlogs are read at (minutes).
        when
            The needs' times (minutes); ``machine_hours`` and ``material`` (£) of their designs.
        delivery_s_of_rows
            ``delivery_s_of_rows(rows)``: delivery times (s) [needs, candidates] from the candidates'
            delivery-table rows to each need's home.
        """
        n = len(when)
        none = (np.full(n, -1, dtype=np.int64), np.full(n, np.nan), np.full(n, np.inf))
        pools = self.candidates(machine)
        if pools is None or n == 0:
            return none
        pools.refresh(now)
        spec = self.processes[process]
        c = pools.n
        delivery_s = delivery_s_of_rows(pools.row[:c])
        price = platform_price(pools.fee[:c][None, :], machine_hours[:, None] + pools.setup_h[:c][None, :],
                               material[:, None], self.config.platform)
        release = when + spec.quote_min + spec.booking_min
        ready = pools.ready_times(self.calendars, release, machine_hours * 60.0, spec.dispatch_min, delivery_s)
        available = pools.active[:c][None, :] & np.isfinite(delivery_s)
        best = select_offers(self.config.platform.matching, spec.quotes, delivery_s, price, ready, available)
        got = best >= 0
        rows = np.flatnonzero(got)
        fid, best_price, best_ready = none
        fid[rows] = pools.fid[best[rows]]
        best_price[rows] = price[rows, best[rows]]
        best_ready[rows] = ready[rows, best[rows]]
        return fid, best_price, best_ready
