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

from bisect import bisect_left, bisect_right
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
        # The cumulative open-minutes function over one week, per opening interval k: it starts at
        # starts[k], lasts lens[k], and cum[k] minutes were open before it (cum_end = cum + lens).
        starts = [a for a, _ in self.intervals]
        lens = [b - a for a, b in self.intervals]
        cum = [0.0]
        for length in lens[:-1]:
            cum.append(cum[-1] + length)
        cum_end = [c + length for c, length in zip(cum, lens, strict=True)] if lens else []
        self._starts_l, self._lens_l, self._cum_l, self._cum_end_l = starts, lens, cum[: len(lens)], cum_end
        self._ends_l = [b for _, b in self.intervals]
        self._starts = np.asarray(starts, dtype=float)
        self._lens = np.asarray(lens, dtype=float)
        self._cum = np.asarray(cum[: len(lens)], dtype=float)
        self._cum_end = np.asarray(cum_end, dtype=float)
        self._ends = np.asarray(self._ends_l, dtype=float)
        self.open_minutes_per_week = float(cum_end[-1]) if cum_end else 0.0

    # The scalar methods are plain Python and the array methods numpy, doing the same float operations in
    # the same order, so that a loop over agents and a vectorised step get the same bits.
    def open_minutes_until(self, t: float | np.ndarray) -> float | np.ndarray:
        """Cumulative open minutes from time 0 to ``t`` (minutes)."""
        if np.ndim(t) == 0:
            return self._until(float(t))
        t = np.asarray(t, dtype=float)
        weeks, rest = np.divmod(t, MINUTES_PER_WEEK)
        if not self._lens_l:
            return weeks * 0.0
        k = np.searchsorted(self._starts, rest, side="right") - 1
        kk = np.maximum(k, 0)
        within = np.where(k >= 0, self._cum[kk] + np.minimum(rest - self._starts[kk], self._lens[kk]), 0.0)
        return weeks * self.open_minutes_per_week + within

    def _until(self, t: float) -> float:
        weeks, rest = divmod(t, MINUTES_PER_WEEK)
        k = bisect_right(self._starts_l, rest) - 1
        within = self._cum_l[k] + min(rest - self._starts_l[k], self._lens_l[k]) if k >= 0 else 0.0
        return weeks * self.open_minutes_per_week + within

    def open_minutes_between(self, a: float, b: float) -> float:
        """Open minutes in the interval [a, b]."""
        return self._until_cached(b) - self._until_cached(a)

    def _until_cached(self, t: float) -> float:
        """:meth:`open_minutes_until` of one time, remembering recent answers (many counters ask at the same
        minutes)."""
        cache = self.__dict__.setdefault("_until_cache", {})
        value = cache.get(t)
        if value is None:
            if len(cache) > 64:
                cache.clear()
            value = cache[t] = self._until(float(t))
        return value

    def time_after_open_minutes(self, t: float, duration: float) -> float:
        """The time at which ``duration`` open minutes have elapsed after ``t`` (never earlier than ``t``).

        ``finish = O⁻¹(O(t) + d)``: the first time at which the cumulative open minutes reach
        ``O(t) + d`` — a finish exactly at a closing time is reported as the closing, not the next
        opening — and never earlier than ``t`` (a zero duration in a closed period ends at ``t``).
        """
        if self.open_minutes_per_week <= 0:
            return float("inf")
        t = float(t)
        target = self._until(t) + duration
        weeks, rest = divmod(target, self.open_minutes_per_week)
        if rest == 0 and weeks > 0:  # finishing exactly at a closing time: the closing, not the next opening
            weeks -= 1
            rest = self.open_minutes_per_week
        k = min(bisect_left(self._cum_end_l, rest), len(self._cum_end_l) - 1)
        off = rest - self._cum_l[k]
        within = self._starts_l[k] + off if off > 0 else 0.0
        return max(weeks * MINUTES_PER_WEEK + within, t)

    def time_after_open_minutes_many(self, t: float, durations: np.ndarray) -> np.ndarray:
        """:meth:`time_after_open_minutes` for one start ``t`` and many ``durations`` (minutes)."""
        return self.time_after_open_minutes_at(t, durations)

    def time_after_open_minutes_at(self, t: float | np.ndarray, durations: float | np.ndarray) -> np.ndarray:
        """Element-wise :meth:`time_after_open_minutes` for starts ``t`` and ``durations`` (broadcast, minutes)."""
        t = np.asarray(t, dtype=float)
        durations = np.asarray(durations, dtype=float)
        if self.open_minutes_per_week <= 0:
            return np.full(np.broadcast(t, durations).shape, np.inf)
        target = np.asarray(self.open_minutes_until(t)) + durations
        weeks, rest = np.divmod(target, self.open_minutes_per_week)
        at_close = (rest == 0) & (weeks > 0)
        weeks = np.where(at_close, weeks - 1, weeks)
        rest = np.where(at_close, self.open_minutes_per_week, rest)
        k = np.minimum(np.searchsorted(self._cum_end, rest, side="left"), len(self._cum_end) - 1)
        off = rest - self._cum[k]
        within = np.where(off > 0, self._starts[k] + off, 0.0)
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
        starts, ends = self._starts, self._ends
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
