"""WeeklyCalendar against a brute-force minute grid over random weeks, opening hours and times.

The oracle knows only "is minute m of the week open" (from the hours entries, shifted by the
start weekday) and walks minute by minute: cumulative open minutes, the next open minute, and
the finish of ``d`` open minutes of work started at ``t`` (work pauses while closed). Hours are
whole or half hours, so every minute is either fully open or fully closed.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from citymodel.calendar import WeeklyCalendar
from citymodel.config_checks import WEEKDAYS
from citymodel.validation.minute_grid import grid_finish, grid_next_open
from citymodel.vocabulary import MINUTES_PER_DAY

MINUTES_PER_WEEK = 7 * 24 * 60


def open_grid(hours: list, start_weekday: int) -> np.ndarray:
    """Minute m of the simulated week (0 = midnight starting day 0) open or not."""
    grid = np.zeros(MINUTES_PER_WEEK, dtype=bool)
    for days, a, b in hours:
        first, _, last = days.partition("-")
        span = range(WEEKDAYS.index(first), WEEKDAYS.index(last or first) + 1)
        for day in span:
            offset = ((day - start_weekday) % 7) * MINUTES_PER_DAY
            grid[int(offset + a * 60): int(offset + b * 60)] = True
    return grid


def brute_until(grid: np.ndarray, t: float) -> float:
    whole = int(math.floor(t))
    weeks, rest = divmod(whole, MINUTES_PER_WEEK)
    return float(weeks * grid.sum() + grid[:rest].sum() + (t - whole) * grid[rest])


brute_next_open = grid_next_open  # the oracle's walkers: citymodel/validation/minute_grid.py
brute_finish = grid_finish


day_name = st.sampled_from(WEEKDAYS)
half_hours = st.integers(0, 47)


@st.composite
def hours_entries(draw) -> list:
    entries = []
    for _ in range(draw(st.integers(1, 4))):
        first = draw(st.integers(0, 6))
        last = draw(st.integers(first, 6))
        days = WEEKDAYS[first] if first == last else f"{WEEKDAYS[first]}-{WEEKDAYS[last]}"
        a = draw(half_hours)
        b = draw(st.integers(a + 1, 48))
        entries.append([days, a / 2, b / 2])
    return entries


times = st.one_of(st.integers(0, 3 * MINUTES_PER_WEEK).map(float),
                  st.floats(0, 3 * MINUTES_PER_WEEK, allow_nan=False))
# below 1e-6 minutes O(t) + d can round to O(t)
durations = st.one_of(st.integers(0, 4000).map(float), st.just(0.0), st.floats(1e-6, 4000))


@settings(max_examples=150, deadline=None)
@given(hours_entries(), st.integers(0, 6), times)
def test_open_minutes_is_open_and_next_open_match_the_minute_grid(hours, start_weekday, t):
    cal = WeeklyCalendar(hours, start_weekday)
    grid = open_grid(hours, start_weekday)
    assert cal.open_minutes_per_week == grid.sum()
    assert math.isclose(cal.open_minutes_until(t), brute_until(grid, t), rel_tol=1e-12, abs_tol=1e-9)
    assert math.isclose(float(cal.open_minutes_until(np.array([t]))[0]), brute_until(grid, t),
                        rel_tol=1e-12, abs_tol=1e-9)
    assert cal.is_open(t) == bool(grid[int(math.floor(t)) % MINUTES_PER_WEEK])
    assert bool(cal.open_mask(np.array([t]))[0]) == cal.is_open(t)
    assert cal.next_open(t) == brute_next_open(grid, t)
    assert float(cal.next_open_many(np.array([t]))[0]) == cal.next_open(t)


@settings(max_examples=150, deadline=None)
@given(hours_entries(), st.integers(0, 6), times, durations)
def test_finish_time_matches_walking_the_minute_grid(hours, start_weekday, t, duration):
    cal = WeeklyCalendar(hours, start_weekday)
    grid = open_grid(hours, start_weekday)
    expected = brute_finish(grid, t, duration)
    got = cal.time_after_open_minutes(t, duration)
    assert got >= t
    assert math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-7), (got, expected)
    many = cal.time_after_open_minutes_at(np.array([t, t]), np.array([duration, duration]))
    assert math.isclose(float(many[0]), expected, rel_tol=1e-12, abs_tol=1e-7)
    # the open minutes between start and finish are exactly the work
    assert math.isclose(cal.open_minutes_between(t, got), duration, rel_tol=1e-9, abs_tol=1e-7)


def test_zero_work_while_closed_ends_at_its_start_not_at_the_last_closing():
    library = WeeklyCalendar([["mon-fri", 10, 19], ["sat", 10, 16]], start_weekday=0)
    monday_20h = 20 * 60.0
    # the oracle says so too (the old code answered 19:00, the last closing)
    assert brute_finish(open_grid([["mon-fri", 10, 19], ["sat", 10, 16]], 0), monday_20h, 0.0) == monday_20h
    assert library.time_after_open_minutes(monday_20h, 0.0) == monday_20h
    assert library.time_after_open_minutes(monday_20h, 1.0) == MINUTES_PER_DAY + 10 * 60 + 1
    # work ending exactly at closing time ends at the closing, not at the next opening
    assert library.time_after_open_minutes(10 * 60.0, 9 * 60.0) == 19 * 60.0


def test_always_open_and_never_open():
    always = WeeklyCalendar(always_open=True)
    assert always.time_after_open_minutes(123.5, 77.25) == 200.75
    assert always.open_minutes_between(0, 3 * MINUTES_PER_WEEK) == 3 * MINUTES_PER_WEEK
    never = WeeklyCalendar([])
    assert never.time_after_open_minutes(5.0, 1.0) == math.inf
    assert never.next_open(5.0) == math.inf
