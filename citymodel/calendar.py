"""Weekly opening hours as a cumulative open-time function (minutes).

Time in the model is minutes since the start of simulated day 0 (a weekday set
by ``run.start_weekday``). A :class:`WeeklyCalendar` answers whether a facility
is open, when it next opens, and — the key to exact production times — when a
job that needs ``d`` open minutes and starts at ``t`` finishes if work pauses
while the facility is closed: ``finish = O⁻¹(O(t) + d)`` where ``O`` is the
cumulative number of open minutes since time 0. Open machine-hours over any
interval are ``O(b) − O(a)`` per machine, so busy ≤ open holds by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from citymodel.config import parse_hours_entry
from citymodel.vocabulary import MINUTES_PER_DAY, MINUTES_PER_WEEK

__all__ = ["MINUTES_PER_DAY", "MINUTES_PER_WEEK", "WeeklyCalendar"]


class WeeklyCalendar:
    """Opening hours repeating every week.

    Parameters
    ----------
    hours
        Entries like ``["mon-fri", 10, 19]`` (days, open hour, close hour).
    start_weekday
        Weekday of simulated day 0 (0 = Monday).
    always_open
        Ignore ``hours``: open 24 hours a day, 7 days a week (queueing validation).
    """

    def __init__(self, hours: Sequence[Sequence[Any]] = (), start_weekday: int = 0,
                 always_open: bool = False, name: str = "hours") -> None:
        if always_open:
            intervals = [(0.0, MINUTES_PER_WEEK)]
        else:
            intervals = []
            for entry in hours:
                days, start_h, end_h = parse_hours_entry(entry, name)
                for day in days:
                    # Shift so that week-minute 0 is the start of simulated day 0.
                    offset = ((day - start_weekday) % 7) * MINUTES_PER_DAY
                    intervals.append((offset + start_h * 60.0, offset + end_h * 60.0))
        self.intervals = _merge_intervals(intervals)
        self.always_open = always_open
        # Breakpoints of the cumulative open-minutes function over one week.
        xs = [0.0]
        ys = [0.0]
        for a, b in self.intervals:
            xs += [a, b]
            ys += [ys[-1], ys[-1] + (b - a)]
        xs.append(MINUTES_PER_WEEK)
        ys.append(ys[-1])
        self._x = np.asarray(xs)
        self._y = np.asarray(ys)
        self.open_minutes_per_week = float(self._y[-1])

    def open_minutes_until(self, t: float | np.ndarray) -> float | np.ndarray:
        """Cumulative open minutes from time 0 to ``t`` (minutes)."""
        t = np.asarray(t, dtype=float)
        weeks, rest = np.divmod(t, MINUTES_PER_WEEK)
        out = weeks * self.open_minutes_per_week + np.interp(rest, self._x, self._y)
        return float(out) if out.ndim == 0 else out

    def open_minutes_between(self, a: float, b: float) -> float:
        """Open minutes in the interval [a, b]."""
        return float(self.open_minutes_until(b) - self.open_minutes_until(a))

    def time_after_open_minutes(self, t: float, duration: float) -> float:
        """The time at which ``duration`` open minutes have elapsed after ``t`` (never earlier than ``t``)."""
        return float(self.time_after_open_minutes_at(t, duration))

    def time_after_open_minutes_many(self, t: float, durations: np.ndarray) -> np.ndarray:
        """:meth:`time_after_open_minutes` for one start ``t`` and many ``durations`` (minutes)."""
        return self.time_after_open_minutes_at(t, durations)

    def time_after_open_minutes_at(self, t: float | np.ndarray, durations: float | np.ndarray) -> np.ndarray:
        """Element-wise :meth:`time_after_open_minutes` for starts ``t`` and ``durations`` (broadcast, minutes).

        ``finish = O⁻¹(O(t) + d)``: the first time at which the cumulative open minutes reach
        ``O(t) + d`` — a finish exactly at a closing time is reported as the closing, not the next
        opening — and never earlier than ``t`` (a zero duration in a closed period ends at ``t``).
        The scalar methods call this one, so every caller gets the same bits.
        """
        t = np.asarray(t, dtype=float)
        durations = np.asarray(durations, dtype=float)
        if self.open_minutes_per_week <= 0:
            return np.full(np.broadcast(t, durations).shape, np.inf)
        target = np.asarray(self.open_minutes_until(t)) + durations
        weeks, rest = np.divmod(target, self.open_minutes_per_week)
        at_close = (rest == 0) & (weeks > 0)
        weeks = np.where(at_close, weeks - 1, weeks)
        rest = np.where(at_close, self.open_minutes_per_week, rest)
        # Inverse of the cumulative function inside one week: first x where y reaches rest.
        idx = np.maximum(np.searchsorted(self._y, rest, side="left"), 1)
        y0, y1 = self._y[idx - 1], self._y[idx]
        x0, x1 = self._x[idx - 1], self._x[idx]
        flat = y1 == y0
        with np.errstate(divide="ignore", invalid="ignore"):
            within = np.where(flat, x0, x0 + (rest - y0) * (x1 - x0) / (y1 - y0))
        return np.maximum(weeks * MINUTES_PER_WEEK + within, t)

    def is_open(self, t: float) -> bool:
        """Whether the facility is open at time ``t`` (intervals are [open, close))."""
        rest = t % MINUTES_PER_WEEK
        return any(a <= rest < b for a, b in self.intervals)

    def next_open(self, t: float) -> float:
        """The first time ≥ ``t`` at which the facility is open (inf if never)."""
        if not self.intervals:
            return float("inf")
        week_start = (t // MINUTES_PER_WEEK) * MINUTES_PER_WEEK
        rest = t - week_start
        for a, b in self.intervals:
            if rest < b:
                return float(week_start + max(a, rest))
        return float(week_start + (MINUTES_PER_WEEK + self.intervals[0][0]))

    def next_open_many(self, t: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`next_open` (the same float operations, so the same bits)."""
        t = np.asarray(t, dtype=float)
        if not self.intervals:
            return np.full(t.shape, np.inf)
        starts = np.array([a for a, _ in self.intervals])
        ends = np.array([b for _, b in self.intervals])
        week_start = np.floor_divide(t, MINUTES_PER_WEEK) * MINUTES_PER_WEEK
        rest = t - week_start
        idx = np.searchsorted(ends, rest, side="right")
        inside = idx < len(ends)
        within = np.where(inside, np.maximum(starts[np.minimum(idx, len(ends) - 1)], rest),
                          MINUTES_PER_WEEK + starts[0])
        return week_start + within

    def open_mask(self, t: float | np.ndarray) -> np.ndarray:
        """Vectorised :meth:`is_open`."""
        rest = np.asarray(t, dtype=float) % MINUTES_PER_WEEK
        mask = np.zeros(rest.shape, dtype=bool)
        for a, b in self.intervals:
            mask |= (rest >= a) & (rest < b)
        return mask


def _merge_intervals(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sort and merge overlapping [a, b) intervals within one week."""
    merged: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged
