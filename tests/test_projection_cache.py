"""A pool's kept projection (when a machine frees up for a new job) equals one recomputed from its work.

:meth:`MachinePool.available_at` keeps its answer while a pool's jobs start and finish and adds
late bookings to it incrementally; these tests recompute it from the pool's running, queued and booked
work at every quote of a real run on the Leeds map and require the same minute, bit for bit.
"""

from __future__ import annotations

import heapq

import pytest

from citymodel import CityModel
from citymodel.calendar import WeeklyCalendar
from citymodel.production import MachinePool


def recomputed(pool: MachinePool, now: float) -> float:
    """The projection from scratch: running jobs' ends, then queued, then booked jobs first come first served."""
    if not (pool.running or pool.queue or pool.booked):
        return now
    free = [b.finish_min for b in pool.running.values()] + [now] * max(pool.count - len(pool.running), 0)
    heapq.heapify(free)
    jobs = [(now, w) for w in pool._queued_batches()] + sorted(pool.booked.values())
    for release, work in jobs:
        start = pool.calendar.next_open(max(heapq.heappop(free), release))
        heapq.heappush(free, pool.calendar.time_after_open_minutes(start, work))
    return max(free[0], now)


@pytest.fixture
def checked(monkeypatch):
    """Every projection asked for during the test, with its recomputed value."""
    seen: list[tuple[float, float, bool]] = []
    kept = MachinePool.available_at

    def checking(self, now):
        was_kept = self._projection is not None
        got = kept(self, now)
        seen.append((got, recomputed(self, now), was_kept))
        return got

    monkeypatch.setattr(MachinePool, "available_at", checking)
    return seen


@pytest.mark.parametrize("params", [
    {},
    {"platform__matching": "earliest", "fabrication__failure_machine": 0.3},
    {"policy__extra_printers_per_workshop": 3, "choice__asc_platform": 3.0},
], ids=["default", "earliest-with-failures", "busy-workshops"])
def test_kept_projection_equals_recomputed(default_city, checked, params):
    CityModel(citizens=20_000, days=45, seed=3, city=default_city, **params).run_model()
    kept = [(got, want) for got, want, was_kept in checked if was_kept]
    assert len(kept) > 100, "the run should reuse projections"
    assert [got for got, _, _ in checked] == [want for _, want, _ in checked]


def test_a_stale_projection_is_caught():
    """The recomputation sees a job the kept projection missed (the check can fail)."""
    pool = MachinePool("3d_printer", 1, WeeklyCalendar(always_open=True))
    pool.book(1, 100.0, 60.0)
    assert pool.available_at(0.0) == recomputed(pool, 0.0) == 160.0
    pool.booked[2] = (300.0, 30.0)  # a booking that bypassed book(): never added to the kept projection
    assert pool.available_at(0.0) == 160.0 != recomputed(pool, 0.0) == 330.0
    pool.book(3, 10.0, 5.0)  # an earlier booking through book() recomputes
    assert pool.available_at(0.0) == recomputed(pool, 0.0)
