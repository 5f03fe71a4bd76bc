"""Machine pools: FIFO queues of jobs on identical machines that work only while open.

A facility has one :class:`MachinePool` per machine type (3D printer, laser
cutter, CNC router, knitting). A job needs a number of machine minutes; it may
start only while the facility is open, pauses while it is closed and resumes at
the next opening (its finish time comes from the facility's
:class:`~citymodel.calendar.WeeklyCalendar`). A batch pool (a textile mill)
takes up to ``batch_size`` queued jobs at once and adds one set-up time per batch;
it waits for ``batch_min`` jobs, or until the oldest has waited ``batch_wait_min``.
The same code serves the city model, the per-agent reference and the queueing
validation (``always_open``); :class:`Production` is the component that owns the
pools' calendars, drives them through the model's event queue and keeps live
counters for the time series.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from citymodel.calendar import WeeklyCalendar
from citymodel.events import JOB_DONE, POOL_OPEN
from citymodel.keyed_random import MACHINE_TIME, KeyedRandom


def job_machine_hours(keyed: KeyedRandom, design_hours: np.ndarray, cv: float, who: np.ndarray,
                      product: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Machine time (hours) of jobs: gamma with mean the design's machine hours and coefficient of variation ``cv``
    (``needs.machine_time_cv``), keyed by citizen, product code and need k."""
    shape = 1.0 / cv**2
    return keyed.gamma(MACHINE_TIME, shape, design_hours / shape, who, product, k)


@dataclass
class Batch:
    """Jobs running together on one machine (one job unless the pool batches)."""

    order_ids: list[int]
    start_min: float
    finish_min: float
    work_min: float
    platform_work_min: float

    @property
    def size(self) -> int:
        """Jobs in the batch."""
        return len(self.order_ids)


@dataclass
class MachinePool:
    """Identical machines of one type at one facility.

    Attributes
    ----------
    machine
        Machine type name (e.g. ``"3d_printer"``).
    count
        Number of identical machines.
    calendar
        Opening hours of the facility.
    batch_size
        Most jobs run together on one machine (1 for workshops).
    setup_min
        Set-up time per batch (minutes of open time), shared by the batch's jobs.
    batch_min
        A batch pool starts a batch once this many jobs wait ...
    batch_wait_min
        ... or once the oldest waiting job has waited this long (minutes), whichever comes first.
    busy_work_min
        Machine minutes of finished batches (within open hours by construction).
    """

    machine: str
    count: int
    calendar: WeeklyCalendar
    batch_size: int = 1
    setup_min: float = 0.0
    batch_min: int = 1
    batch_wait_min: float = 0.0
    queue: deque = field(default_factory=deque)
    running: dict[int, Batch] = field(default_factory=dict)
    busy_work_min: float = 0.0
    platform_work_min: float = 0.0
    queued_work_min: float = 0.0
    booked: dict = field(default_factory=dict)
    setup_work_min: float = 0.0
    wakeup_at: float = -1.0
    _next_batch: int = 0
    _projection: float | None = None
    _free_heap: list = field(default_factory=list)
    _last_booked: tuple = ()

    @property
    def free(self) -> int:
        """Machines without a batch."""
        return self.count - len(self.running)

    @property
    def batches(self) -> bool:
        """Whether the pool runs jobs in batches."""
        return self.batch_size > 1

    def submit(self, order_id: int, work_min: float, platform: bool, now: float = 0.0) -> None:
        """Queue a job needing ``work_min`` open machine minutes, submitted at ``now``."""
        self.queue.append((order_id, work_min, platform, now))
        self.queued_work_min += work_min
        self._projection = None

    def ready_at(self, now: float) -> float:
        """The earliest time ≥ ``now`` at which the waiting jobs may start as a batch (the fill rule)."""
        if not self.batches or len(self.queue) >= self.batch_min or not self.queue:
            return now
        return max(now, self.queue[0][3] + self.batch_wait_min)

    def start_ready(self, now: float) -> list[tuple[int, Batch]]:
        """Start queued jobs on free machines if open at ``now`` (and batches full or due); return the new batches."""
        started: list[tuple[int, Batch]] = []
        if not self.queue or self.free <= 0 or not self.calendar.is_open(now):
            return started
        while self.queue and self.free > 0 and self.ready_at(now) <= now:
            ids: list[int] = []
            work = 0.0
            platform_work = 0.0
            while self.queue and len(ids) < self.batch_size:
                order_id, job_min, platform, _ = self.queue.popleft()
                self.queued_work_min -= job_min
                ids.append(order_id)
                work += job_min
                if platform:
                    platform_work += job_min
            total = work + self.setup_min
            finish = self.calendar.time_after_open_minutes(now, total)
            batch = Batch(ids, now, finish, total, platform_work)
            batch_id = self._next_batch
            self._next_batch += 1
            self.running[batch_id] = batch
            started.append((batch_id, batch))
        return started  # the kept projection already put these jobs here (see available_at)

    def finish(self, batch_id: int) -> Batch:
        """Free the machine of ``batch_id`` and account its busy minutes."""
        batch = self.running.pop(batch_id)  # the kept projection stays valid (see available_at)
        self.busy_work_min += batch.work_min
        self.setup_work_min += self.setup_min
        self.platform_work_min += batch.platform_work_min
        return batch

    def busy_minutes_until(self, now: float) -> float:
        """Busy open machine minutes up to ``now``, counting running batches partly."""
        partial = sum(
            self.calendar.open_minutes_between(b.start_min, min(now, b.finish_min))
            for b in self.running.values()
        )
        return self.busy_work_min + partial

    def platform_minutes_until(self, now: float) -> float:
        """Busy open minutes spent on platform orders up to ``now`` (running batches pro rata)."""
        partial = 0.0
        for b in self.running.values():
            if b.work_min > 0:
                done = self.calendar.open_minutes_between(b.start_min, min(now, b.finish_min))
                partial += done * b.platform_work_min / b.work_min
        return self.platform_work_min + partial

    def backlog_min(self) -> float:
        """Open machine minutes of queued work per machine."""
        return self.queued_work_min / max(self.count, 1)

    def available_at(self, now: float) -> float:
        """When a machine would be free for a new job, projecting the known work first-come first-served.

        The running batches end at their finish times; the queued jobs (in batches at a batching
        pool, each with its set-up) start as machines free up; booked jobs (accepted, not yet
        released: :attr:`booked`, release minute -> stated work) start no earlier than their
        release. Every job runs on the opening hours. Returns ``now`` for an idle pool.

        At a pool without batches the projection is kept until the work changes: it does not depend on
        ``now`` (running jobs end at their finish, booked ones start at their release, queued ones at a
        freed machine — a free machine with a queue only waits for the opening, when the pool wakes), and
        the pool's own events do not change it (a job starts exactly when and where the projection put it:
        at the first machine to free up, at the same minute). A booking released later than every other
        is added to it (:meth:`book`); anything else recomputes it. Batching pools start a waiting batch
        now, so theirs is recomputed every time.
        """
        if not (self.running or self.queue or self.booked):
            return now
        if self._projection is not None:
            return max(self._projection, now)
        free = [b.finish_min for b in self.running.values()] + [now] * max(self.count - len(self.running), 0)
        heapq.heapify(free)
        jobs = [(now, w) for w in self._queued_batches()]
        booked = sorted(self.booked.values())
        jobs += booked
        calendar = self.calendar
        for release, work in jobs:
            start = calendar.next_open(max(heapq.heappop(free), release))
            heapq.heappush(free, calendar.time_after_open_minutes(start, work))
        if not self.batches:
            self._projection = free[0]
            self._free_heap = free
            self._last_booked = booked[-1] if booked else ()
        return max(free[0], now)

    def book(self, order_id: int, release_min: float, work_min: float) -> None:
        """Enter order ``order_id`` (``work_min`` stated minutes, released at ``release_min``) in the order book."""
        job = (release_min, work_min)
        self.booked[order_id] = job
        if self._projection is None or self.batches or not self.count or job < self._last_booked:
            self._projection = None
            return
        # the projection so far stays valid: this job comes last (FIFO by release), on the first free machine
        free = self._free_heap
        start = self.calendar.next_open(max(heapq.heappop(free), release_min))
        heapq.heappush(free, self.calendar.time_after_open_minutes(start, work_min))
        self._projection = free[0]
        self._last_booked = job

    def unbook(self, order_id: int) -> None:
        """Take order ``order_id`` out of the order book (it is released)."""
        del self.booked[order_id]
        self._projection = None

    def _queued_batches(self) -> list[float]:
        """Work (open minutes) of the queued jobs as they will run: one job each, or batches with their set-up."""
        works = [job[1] for job in self.queue]
        if not self.batches:
            return works
        return [sum(works[i:i + self.batch_size]) + self.setup_min for i in range(0, len(works), self.batch_size)]


class KindGroup:
    """Facilities of one kind sharing one calendar: live counters for the hourly time series.

    ``busy_min`` and ``open_min`` integrate machines running and machines open over
    time, counting only open minutes of the calendar (jobs pause while closed), so
    the time series' machine-hours per hour add up exactly to the facilities' totals.
    """

    __slots__ = ("busy_min", "calendar", "kind", "last_min", "machines", "open_min", "running")

    def __init__(self, kind: str, calendar: WeeklyCalendar, now: float = 0.0) -> None:
        self.kind = kind
        self.calendar = calendar
        self.machines = 0
        self.running = 0
        self.busy_min = 0.0
        self.open_min = 0.0
        self.last_min = now

    def advance(self, now: float) -> None:
        """Integrate running and open machines from the last change up to ``now`` (minutes)."""
        if now > self.last_min:
            if self.running or self.machines:
                open_between = self.calendar.open_minutes_between(self.last_min, now)
                self.busy_min += self.running * open_between
                self.open_min += self.machines * open_between
            self.last_min = now


class Production:
    """The production component: every facility's machine pools, their calendars, and the jobs' events.

    A job is queued when an order reaches its facility (:meth:`submit`), starts on a
    free machine while the facility is open, and ends at its exact minute
    (a ``JOB_DONE`` event); a pool with queued work and free machines at a closed
    facility wakes up when it opens (a ``POOL_OPEN`` event). The component keeps
    live counters per facility kind (machines, running batches, queued jobs) for the
    time series, so an hour's record needs no loop over facilities.

    Parameters
    ----------
    events
        The model's event queue.
    orders
        The order book (jobs' start times are written into it).
    hours_by_kind
        Facility kind -> opening hours entries (``facilities.kinds.<kind>.hours``).
    start_weekday
        Weekday of simulated day 0 (0 = Monday).
    always_open
        Open every facility 24/7 (validation).
    on_backlog
        Called as ``on_backlog(pool)`` after a pool's queue changed (the platform's quotes).
    """

    def __init__(self, events, orders, hours_by_kind: dict[str, list], start_weekday: int = 0,
                 always_open: bool = False, on_backlog=None) -> None:
        self.events = events
        self.orders = orders
        self.hours_by_kind = hours_by_kind
        self.start_weekday = start_weekday
        self.always_open = always_open
        self.on_backlog = on_backlog
        self.calendars: dict[str, WeeklyCalendar] = {}
        self.calendar_list: list[WeeklyCalendar] = []
        self._calendar_index: dict[int, int] = {}
        self.kind_groups: dict[tuple[str, int], KindGroup] = {}
        self.queued_by_kind: dict[str, int] = {}

    def calendar_for(self, kind: str) -> WeeklyCalendar:
        """The (shared) calendar with the opening hours of facility ``kind``."""
        if kind not in self.calendars:
            self.calendars[kind] = WeeklyCalendar(self.hours_by_kind[kind], self.start_weekday,
                                                  always_open=self.always_open,
                                                  name=f"facilities.kinds.{kind}.hours")
        return self.calendars[kind]

    def site_calendar(self, kind: str, hours: list, name: str = "") -> WeeklyCalendar:
        """A calendar for a site of ``kind`` open at its own ``hours`` (shared by sites with the same hours)."""
        key = f"{kind}@{hours!r}"
        if key not in self.calendars:
            self.calendars[key] = WeeklyCalendar(hours, self.start_weekday, always_open=self.always_open,
                                                 name=f"opening hours of {kind} site {name!r}")
        return self.calendars[key]

    def calendar_index(self, calendar: WeeklyCalendar) -> int:
        """Index of ``calendar`` in :attr:`calendar_list` (added if new)."""
        index = self._calendar_index.setdefault(id(calendar), len(self.calendar_list))
        if index == len(self.calendar_list):
            self.calendar_list.append(calendar)
        return index

    def track(self, facility, now: float = 0.0) -> None:
        """Add ``facility``'s pools to the live counters (it opens at ``now``)."""
        cal = self.calendar_index(facility.calendar)
        key = (facility.kind, cal)
        group = self.kind_groups.get(key)
        if group is None:
            group = self.kind_groups[key] = KindGroup(facility.kind, facility.calendar, now)
        group.advance(now)
        for pool in facility.pools.values():
            pool.kind_group = group
            group.machines += pool.count
            group.running += len(pool.running)
            self.queued_by_kind[facility.kind] = self.queued_by_kind.get(facility.kind, 0) + len(pool.queue)

    def close(self, facility, now: float) -> None:
        """``facility`` stops trading at ``now``: its machines no longer count as open."""
        for pool in facility.pools.values():
            pool.kind_group.advance(now)
            pool.kind_group.machines -= pool.count

    def book(self, facility, machine: str, order_id: int, release_min: float, work_min: float) -> None:
        """Order ``order_id`` (``work_min`` stated machine minutes) is booked at ``facility`` for release at
        ``release_min``: in its order book until then."""
        pool = facility.pools[machine]
        pool.book(order_id, release_min, work_min)
        if self.on_backlog is not None:
            self.on_backlog(pool)

    def release(self, facility, machine: str, order_id: int, work_min: float, now: float) -> None:
        """A booked order is released into the queue with its actual ``work_min``."""
        facility.pools[machine].unbook(order_id)
        self.submit(facility, machine, order_id, work_min, True, now)

    def submit(self, facility, machine: str, order_id: int, work_min: float, platform: bool, now: float) -> None:
        """Queue order ``order_id`` (``work_min`` open machine minutes) at ``facility`` and start what can start."""
        facility.pools[machine].submit(order_id, work_min, platform, now)
        self.queued_by_kind[facility.kind] += 1
        self.start(facility, machine, now)

    def start(self, facility, machine: str, now: float) -> None:
        """Start queued jobs on free machines if open; else schedule a wake-up at the next opening."""
        pool = facility.pools[machine]
        for batch_id, batch in pool.start_ready(now):
            for order_id in batch.order_ids:
                self.orders.set_started(order_id, now, batch.size)
            self.queued_by_kind[facility.kind] -= len(batch.order_ids)
            pool.kind_group.advance(now)
            pool.kind_group.running += 1
            self.events.push(batch.finish_min, JOB_DONE, (facility.facility_id, machine, batch_id))
        if self.on_backlog is not None:
            self.on_backlog(pool)
        if pool.queue and pool.free > 0:
            ready = pool.ready_at(now)
            if ready > now or not facility.calendar.is_open(now):
                opens = facility.calendar.next_open(ready)
                if pool.wakeup_at != opens:
                    pool.wakeup_at = opens
                    self.events.push(opens, POOL_OPEN, (facility.facility_id, machine))

    def wake(self, facility, machine: str, now: float) -> None:
        """A ``POOL_OPEN`` event: the facility opened; start the queued jobs."""
        facility.pools[machine].wakeup_at = -1.0
        self.start(facility, machine, now)

    def finish(self, facility, machine: str, batch_id: int, now: float) -> Batch:
        """A ``JOB_DONE`` event: free the machine of ``batch_id``; return the batch (its orders are done)."""
        pool = facility.pools[machine]
        batch = pool.finish(batch_id)
        pool.kind_group.advance(now)
        pool.kind_group.running -= 1
        return batch

    def machine_minutes(self, now: float) -> tuple[dict[str, float], dict[str, float]]:
        """Busy and open machine minutes from the start up to ``now``, by facility kind (exact integrals)."""
        busy: dict[str, float] = {}
        open_: dict[str, float] = {}
        for group in self.kind_groups.values():
            group.advance(now)
            busy[group.kind] = busy.get(group.kind, 0.0) + group.busy_min
            open_[group.kind] = open_.get(group.kind, 0.0) + group.open_min
        return busy, open_

    def busy_and_open(self, at: float) -> tuple[dict[str, int], dict[str, int]]:
        """Machines running and machines open at time ``at``, by facility kind."""
        busy: dict[str, int] = {}
        open_: dict[str, int] = {}
        open_cache: dict[int, bool] = {}
        for group in self.kind_groups.values():
            key = id(group.calendar)
            is_open = open_cache.get(key)
            if is_open is None:
                is_open = open_cache[key] = group.calendar.is_open(at)
            if is_open:
                busy[group.kind] = busy.get(group.kind, 0) + group.running
                open_[group.kind] = open_.get(group.kind, 0) + group.machines
        return busy, open_
