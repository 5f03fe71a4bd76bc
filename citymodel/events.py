"""A time-ordered event queue: a trip or a job ends at its exact minute, not at the next tick.

Events are ``(time_min, seq, kind, payload)`` tuples in a binary heap; ``seq``
breaks ties in insertion order so that runs are deterministic. The model owns
one queue and drains it up to the end of every hourly step.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

# Event kinds.
PLATFORM_ACCEPT, SELF_FAB_ARRIVE, JOB_DONE, DELIVER, POOL_OPEN, JOB_RELEASE = range(6)
EVENT_KINDS = ("platform_accept", "self_fab_arrive", "job_done", "deliver", "pool_open", "job_release")


class EventQueue:
    """A min-heap of events keyed by time in minutes since the run started."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, Any]] = []
        self._seq = 0
        self.processed = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, time_min: float, kind: int, payload: Any = None) -> None:
        """Schedule an event of ``kind`` at ``time_min`` (minutes)."""
        heapq.heappush(self._heap, (time_min, self._seq, kind, payload))
        self._seq += 1

    def peek_time(self) -> float:
        """Time of the next event (inf when empty)."""
        return self._heap[0][0] if self._heap else float("inf")

    def pop_until(self, end_min: float) -> Iterator[tuple[float, int, Any]]:
        """Yield ``(time, kind, payload)`` for events with time < ``end_min``, in order.

        Events pushed while iterating are yielded too if they fall before ``end_min``.
        """
        heap = self._heap
        while heap and heap[0][0] < end_min:
            time_min, _, kind, payload = heapq.heappop(heap)
            self.processed += 1
            yield time_min, kind, payload
