"""The erlang checks run a one-facility CityModel: Erlang C at light and heavy load, and the
same queue with opening hours against a brute-force minute grid; small faults make them fail."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel import model as model_module
from citymodel.calendar import WeeklyCalendar
from citymodel.production import MachinePool, Production
from citymodel.validation import (
    ERLANG_POINTS,
    grid_queue,
    open_minute_grid,
    queue_config,
    run_checks,
)

LIGHT = {"servers": "1", "load": "0.05", "jobs": "3000", "warmup": "300"}
LIGHT_TWO = {"servers": "2", "load": "0.1", "jobs": "2000", "warmup": "200"}
HOURS = {"days": "21"}


def _rows(check: str, settings: dict) -> dict:
    return {r.quantity: r for r in run_checks([check], settings, workers=1)}


def test_the_queue_config_is_one_facility_with_poisson_orders_and_exponential_jobs(default_city):
    from citymodel.model import CityModel
    from citymodel.tables import model_tables

    cfg = queue_config(2, 12.0, 60.0, 2, seed=3)
    m = CityModel(cfg, default_city, always_open=True)
    assert len(m.facilities) == 1
    (facility,) = m.facilities
    assert facility.pools["3d_printer"].count == 2 and facility.calendar.always_open
    m.run()
    orders = model_tables(m)["orders"]
    assert set(orders["channel"].astype(str)) == {"platform"}
    # about 12 orders an hour over 48 hours, job times with mean 1 minute and cv 1
    assert 480 < len(orders) < 680
    hours = orders["machine_hours"].to_numpy() * 60
    assert hours.mean() == pytest.approx(1.0, rel=0.15)
    assert hours.std() / hours.mean() == pytest.approx(1.0, rel=0.15)


def test_light_load_point_passes_and_the_default_points_include_light_load():
    assert min(rho for _, rho in ERLANG_POINTS) <= 0.05
    rows = _rows("erlang", LIGHT)
    for r in rows.values():
        assert r.passed, (r.quantity, r.model_value, r.analytic_value, r.tolerance)
    assert rows["utilization"].analytic_value == pytest.approx(0.05)
    assert rows["utilization"].tolerance < 0.2 * 0.05  # can see a 20 % longer job


def test_jobs_twenty_percent_longer_fail_the_light_point():
    rows = _rows("erlang", {**LIGHT, "inject_service_factor": "1.2"})
    assert not rows["utilization"].passed
    assert rows["utilization"].model_value == pytest.approx(0.06, abs=0.006)


def test_a_model_drawing_job_times_twenty_percent_too_long_fails(monkeypatch):
    draw = model_module.job_machine_hours
    monkeypatch.setattr(model_module, "job_machine_hours", lambda *a: draw(*a) * 1.2)
    assert not _rows("erlang", LIGHT)["utilization"].passed


def test_a_pool_that_leaves_one_machine_idle_fails_the_wait(monkeypatch):
    # with two machines the pool only ever uses one: utilization is unchanged, waits are not
    monkeypatch.setattr(MachinePool, "free", property(lambda self: self.count - len(self.running) - 1))
    rows = _rows("erlang", LIGHT_TWO)
    assert rows["utilization"].passed
    assert not rows["wait_in_service_times"].passed


# --------------------------------------------------------------------------- opening hours
def test_grid_queue_by_hand():
    grid = open_minute_grid([["mon-fri", 8, 18]])
    monday_17h = 17 * 60.0
    start, end = grid_queue(np.array([monday_17h, monday_17h + 1]), np.array([90.0, 10.0]), 1, grid)
    # the first job pauses at 18:00 and resumes at 08:00 on Tuesday; the second waits for it
    assert start[0] == monday_17h and end[0] == 1440 + 8 * 60 + 30
    assert start[1] == end[0] and end[1] == end[0] + 10
    # a job ending at closing time: the next starts at the next opening
    start, end = grid_queue(np.array([17 * 60.0, 17 * 60.0]), np.array([60.0, 5.0]), 1, grid)
    assert end[0] == 18 * 60 and start[1] == 1440 + 8 * 60


def test_opening_hours_match_the_minute_grid():
    rows = _rows("erlang_hours", HOURS)
    for r in rows.values():
        assert r.passed, (r.quantity, r.model_value, r.detail)
        assert r.parameters["jobs"] > 80
    assert "released while closed" in rows["max_start_gap_min"].detail
    assert "started by the wait rule" in rows["batch_max_start_gap_min"].detail


def test_work_that_does_not_pause_for_the_last_closing_minute_fails(monkeypatch):
    # the smallest calendar fault: every job takes 0.1 % more open time than it needs
    finish = WeeklyCalendar.time_after_open_minutes
    monkeypatch.setattr(WeeklyCalendar, "time_after_open_minutes",
                        lambda self, t, d: finish(self, t, d * 1.001))
    rows = _rows("erlang_hours", HOURS)
    assert not rows["max_finish_gap_min"].passed


def test_a_pool_that_wakes_a_minute_after_the_opening_fails(monkeypatch):
    from citymodel.events import POOL_OPEN

    original = Production.wake

    def wake(self, facility, machine, now):
        pool = facility.pools[machine]
        if getattr(pool, "late_wake", None) == now:
            return original(self, facility, machine, now)
        pool.late_wake = now + 1.0
        self.events.push(now + 1.0, POOL_OPEN, (facility.facility_id, machine))
        return None

    monkeypatch.setattr(Production, "wake", wake)
    rows = _rows("erlang_hours", HOURS)
    assert not rows["max_start_gap_min"].passed
    assert rows["max_start_gap_min"].model_value >= 1.0 - 1e-9


def test_grid_queue_batches_by_hand():
    grid = open_minute_grid([["mon-fri", 8, 18]])
    # batches of up to 3, 30 min set-up, wait for 2 jobs or 60 minutes
    rule = {"batch_size": 3, "setup_min": 30.0, "batch_min": 2, "batch_wait_min": 60.0}
    nine = 9 * 60.0
    start, end = grid_queue(np.array([nine, nine + 10, nine + 200]), np.array([20.0, 20.0, 20.0]), 1, grid,
                            **rule)
    assert start[0] == start[1] == nine + 10  # the second job fills the batch
    assert end[0] == end[1] == nine + 10 + 30 + 40
    assert start[2] == nine + 260 and end[2] == nine + 260 + 50  # alone: starts on the wait rule


def test_a_batch_that_waits_a_minute_too_long_fails(monkeypatch):
    ready = MachinePool.ready_at

    def late(self, now):
        due = ready(self, now)
        return due + 1.0 if due > now else due

    monkeypatch.setattr(MachinePool, "ready_at", late)
    rows = _rows("erlang_hours", HOURS)
    assert rows["max_start_gap_min"].passed  # no batching there: unaffected
    assert not rows["batch_max_start_gap_min"].passed


def test_a_set_up_one_percent_too_long_fails(monkeypatch):
    start_ready = MachinePool.start_ready

    def longer(self, now):
        self.setup_min *= 1.01
        try:
            return start_ready(self, now)
        finally:
            self.setup_min /= 1.01

    monkeypatch.setattr(MachinePool, "start_ready", longer)
    rows = _rows("erlang_hours", HOURS)
    assert not rows["batch_max_finish_gap_min"].passed


@pytest.mark.slow
def test_erlang_default_points_pass():
    results = run_checks(["erlang"])
    assert len(results) == 2 * len(ERLANG_POINTS)
    failed = [(r.parameters["servers"], r.parameters["load"], r.quantity) for r in results if not r.passed]
    assert not failed
