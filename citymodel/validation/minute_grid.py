"""A week as a grid of open and closed minutes, walked minute by minute: the brute-force oracle that the
``erlang_hours`` check and the calendar tests hold :class:`~citymodel.calendar.WeeklyCalendar` and the
machine pools against (it knows nothing of their cumulative-time arithmetic)."""

from __future__ import annotations

import math

import numpy as np

MINUTES_PER_WEEK = 7 * 1440


def open_minute_grid(hours: list, start_weekday: int = 0) -> np.ndarray:
    """Minute m of the simulated week (0 = midnight starting day 0) open or not, from the hours entries."""
    from citymodel.config import parse_hours_entry

    grid = np.zeros(MINUTES_PER_WEEK, dtype=bool)
    for entry in hours:
        days, a, b = parse_hours_entry(entry, "hours")
        for day in days:
            offset = ((day - start_weekday) % 7) * 1440
            grid[int(round(offset + a * 60)): int(round(offset + b * 60))] = True
    return grid


def grid_is_open(grid: np.ndarray, t: float) -> bool:
    """Whether minute ``t`` (minutes since the start) falls in an open minute of the week."""
    return bool(grid[int(math.floor(t)) % len(grid)])


def grid_next_open(grid: np.ndarray, t: float) -> float:
    """``t`` if open, else the start of the next open minute (loops forever on a grid without one)."""
    if grid_is_open(grid, t):
        return t
    m = int(math.floor(t)) + 1
    while not grid[m % len(grid)]:
        m += 1
    return float(m)


def grid_finish(grid: np.ndarray, t: float, work: float) -> float:
    """When ``work`` open minutes started at ``t`` are done, spending only open minutes (no work: ``t``).

    Work that ends exactly at a closing ends there, not at the next opening.
    """
    if work <= 0:
        return t
    now, left = t, work
    while True:
        m = int(math.floor(now))
        step = m + 1 - now
        if grid[m % len(grid)]:
            if left <= step:
                return now + left
            left -= step
        now = float(m + 1)
