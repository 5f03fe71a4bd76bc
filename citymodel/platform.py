"""The DM platform: the facilities that take orders, how an order is matched to one, and its price.

Matching (``platform.matching``) scores every facility that has the machine and can
deliver to the customer:

* ``nearest``: the delivery time;
* ``cheapest``: the fee for the job (delivery time breaks ties);
* ``earliest``: when the job would be finished (its queue ahead on the facility's
  opening hours) plus the delivery time.

The price is :func:`platform_price`; the quote a citizen sees before ordering uses
the platform's typical fee (:func:`typical_fee`) and mean queue
(:func:`backlog_days`).
"""

from __future__ import annotations

import numpy as np

from citymodel.calendar import WeeklyCalendar
from citymodel.config import Config, PlatformConfig

MATCHING_RULES = ("nearest", "earliest", "cheapest")


def platform_price(fee_per_hour: float | np.ndarray, machine_hours: float | np.ndarray,
                   material: float | np.ndarray, platform: PlatformConfig) -> float | np.ndarray:
    """Price (£) of a platform order: the facility's fee for the job, material and delivery, grossed up so
    that the royalty and the commission are shares of the price."""
    return (fee_per_hour * machine_hours + material + platform.delivery_fee) / (
        1.0 - platform.royalty_share - platform.commission)


def typical_fee(fees: np.ndarray) -> float:
    """The fee (£/h) a citizen expects before ordering: the median over the facilities offering the machine."""
    return float(np.median(fees))


def backlog_days(backlog_min: np.ndarray, config: Config) -> float:
    """The mean queue (days of work at ``choice.working_hours_per_day``) over the offering facilities."""
    return float(np.mean(backlog_min)) / (config.choice.working_hours_per_day * 60)


def expected_finish(calendar: WeeklyCalendar, now: float, backlog_min: float, work_min: float) -> float:
    """When a job of ``work_min`` open machine minutes would finish behind ``backlog_min`` (minutes)."""
    return calendar.time_after_open_minutes(calendar.next_open(now), backlog_min + work_min)


def match_scores(rule: str, delivery_s: np.ndarray, fee: np.ndarray, machine_hours: float,
                 finish_min: np.ndarray | None) -> np.ndarray:
    """Score of each candidate facility under ``rule`` (lower is better; inf where it cannot deliver)."""
    if rule == "nearest":
        score = delivery_s
    elif rule == "cheapest":
        score = fee * machine_hours + delivery_s / 3600.0 * 1e-6
    else:
        score = finish_min + delivery_s / 60.0
    return np.where(np.isfinite(delivery_s), score, np.inf)


class PlatformPools:
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
        """:func:`typical_fee` over the pools (cached until a pool is added)."""
        if self._median_fee is None:
            self._median_fee = typical_fee(self.fee[: self.n])
        return self._median_fee

    def groups(self) -> dict[int, np.ndarray]:
        """Calendar index -> slots with that calendar (cached until a pool is added)."""
        if self._groups is None:
            cal = self.cal[: self.n]
            self._groups = {int(g): np.flatnonzero(cal == g) for g in np.unique(cal)}
        return self._groups

    def finish_times(self, calendars: list[WeeklyCalendar], now: float, work_min: float) -> np.ndarray:
        """:func:`expected_finish` of a job of ``work_min`` at every pool, one calendar at a time.

        Idle pools (no backlog) of a calendar share one finish time; only pools with a queue need their own.
        """
        finish = np.empty(self.n)
        for cal, slots in self.groups().items():
            calendar = calendars[cal]
            start = calendar.next_open(now)
            finish[slots] = calendar.time_after_open_minutes(start, 0.0 + work_min)
            backlog = self.backlog[slots]
            queued = np.flatnonzero(backlog != 0.0)
            if queued.size:
                finish[slots[queued]] = calendar.time_after_open_minutes_many(start, backlog[queued] + work_min)
        return finish


class Platform:
    """The platform component: candidate pools per machine type, quotes and matching.

    Parameters
    ----------
    config
        The run's configuration (``platform`` and ``choice`` sections).
    calendars
        The model's calendars by index (shared with production), for ``earliest`` matching.
    """

    def __init__(self, config: Config, calendars: list[WeeklyCalendar]) -> None:
        self.config = config
        self.calendars = calendars
        self.by_machine: dict[str, PlatformPools] = {}

    def add_pool(self, machine: str, pool, facility, delivery_row: int, calendar_index: int) -> int:
        """Offer ``pool`` (of ``facility``) on the platform; return its slot."""
        pools = self.by_machine.get(machine)
        if pools is None:
            pools = self.by_machine[machine] = PlatformPools()
        return pools.add(pool, facility, delivery_row, calendar_index)

    def update_backlog(self, machine: str, slot: int, backlog_min: float) -> None:
        """Record the queue of the pool in ``slot`` (open machine minutes per machine)."""
        self.by_machine[machine].backlog[slot] = backlog_min

    def quote_basis(self, machines: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per machine type in ``machines``: typical fee (£/h; NaN if nobody offers it) and queue (days)."""
        fee = np.full(len(machines), np.nan)
        backlog = np.full(len(machines), np.nan)
        for i, machine in enumerate(machines):
            pools = self.by_machine.get(machine)
            if pools is not None and pools.n:
                fee[i] = pools.median_fee()
                backlog[i] = backlog_days(pools.backlog[: pools.n], self.config)
        return fee, backlog

    def match(self, machine: str, now: float, delivery_s_of_rows, machine_hours: float) -> int:
        """The facility id that gets an order for ``machine`` (−1 if none can make and deliver it).

        ``delivery_s_of_rows(rows)`` gives the delivery time (s) from each candidate's delivery-table row.
        """
        pools = self.by_machine.get(machine)
        if pools is None or pools.n == 0:
            return -1
        n = pools.n
        delivery_s = delivery_s_of_rows(pools.row[:n])
        if not np.isfinite(delivery_s).any():
            return -1
        rule = self.config.platform.matching
        finish = pools.finish_times(self.calendars, now, machine_hours * 60.0) if rule == "earliest" else None
        score = match_scores(rule, delivery_s, pools.fee[:n], machine_hours, finish)
        return int(pools.fid[int(np.argmin(score))])
