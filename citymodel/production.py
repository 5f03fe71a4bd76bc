"""Machine pools: FIFO queues of jobs on identical machines that work only while open.

A facility has one :class:`MachinePool` per machine type (3D printer, laser
cutter, CNC router, knitting). A job needs a number of machine minutes; it may
start only while the facility is open, pauses while it is closed and resumes at
the next opening (its finish time comes from the facility's
:class:`~citymodel.calendar.WeeklyCalendar`). A batch pool (a textile mill)
takes up to ``batch_size`` queued jobs at once and adds a set-up time per batch.
The same code serves the city model and the M/M/c validation (``always_open``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from citymodel.calendar import WeeklyCalendar


@dataclass
class Batch:
    """Jobs running together on one machine."""

    order_ids: list[int]
    start_min: float
    finish_min: float
    work_min: float
    platform_work_min: float


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
        Set-up time per batch (minutes of open time).
    busy_work_min
        Machine minutes of finished batches (within open hours by construction).
    """

    machine: str
    count: int
    calendar: WeeklyCalendar
    batch_size: int = 1
    setup_min: float = 0.0
    queue: deque = field(default_factory=deque)
    running: dict[int, Batch] = field(default_factory=dict)
    busy_work_min: float = 0.0
    platform_work_min: float = 0.0
    queued_work_min: float = 0.0
    wakeup_at: float = -1.0
    _next_batch: int = 0

    @property
    def free(self) -> int:
        """Machines without a batch."""
        return self.count - len(self.running)

    def submit(self, order_id: int, work_min: float, platform: bool) -> None:
        """Queue a job needing ``work_min`` open machine minutes."""
        self.queue.append((order_id, work_min, platform))
        self.queued_work_min += work_min

    def start_ready(self, now: float) -> list[tuple[int, Batch]]:
        """Start queued jobs on free machines if open at ``now``; return the new batches."""
        started: list[tuple[int, Batch]] = []
        if not self.queue or self.free <= 0 or not self.calendar.is_open(now):
            return started
        while self.queue and self.free > 0:
            ids: list[int] = []
            work = 0.0
            platform_work = 0.0
            while self.queue and len(ids) < self.batch_size:
                order_id, job_min, platform = self.queue.popleft()
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
        return started

    def finish(self, batch_id: int) -> Batch:
        """Free the machine of ``batch_id`` and account its busy minutes."""
        batch = self.running.pop(batch_id)
        self.busy_work_min += batch.work_min
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
        """Open machine minutes of queued work per machine (a completion-time estimate)."""
        return self.queued_work_min / max(self.count, 1)
