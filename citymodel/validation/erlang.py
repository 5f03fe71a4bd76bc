"""The ``erlang`` check: machine pools against Erlang C."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from citymodel import analytic
from citymodel.validation.context import _Context
from citymodel.validation.results import CheckResult

ERLANG_SERVERS = (1, 2, 4)
ERLANG_LOADS = (0.5, 0.8, 0.9)

# --------------------------------------------------------------------------- erlang
ARRIVE, JOB_DONE = 0, 1


@dataclass
class QueueRun:
    """Raw output of one M/M/c run on a :class:`MachinePool`.

    Attributes
    ----------
    utilization
        Busy machine-minutes / open machine-minutes in consecutive equal windows after warm-up.
    wait_min
        Wait in queue (minutes) of each measured job, in arrival order.
    window_min
        Length of a utilization window (minutes).
    """

    utilization: np.ndarray
    wait_min: np.ndarray
    window_min: float


def simulate_mmc(servers: int, load: float, mu_per_hour: float, jobs: int, warmup: int,
                 seed: int | Sequence[int], service_factor: float = 1.0) -> QueueRun:
    """Poisson arrivals into one pool of ``servers`` machines, exponential work, FIFO.

    The pool is the model's :class:`~citymodel.production.MachinePool` on an always-open
    :class:`~citymodel.calendar.WeeklyCalendar`; events go through the model's
    :class:`~citymodel.events.EventQueue` and are handled as ``CityModel`` handles them
    (``_submit_job``: ``submit`` then ``start_ready``; ``_on_job_done``: ``finish`` then
    ``start_ready``), so job start and finish times come from the model's code.

    Parameters
    ----------
    servers
        Machines c.
    load
        rho = lambda / (c mu), 0 < rho < 1.
    mu_per_hour
        Service rate of one machine (jobs per hour): mean work 60/mu minutes.
    jobs, warmup
        Jobs measured, and jobs discarded first (the pool starts empty).
    seed
        Seed (or seed sequence entropy) of the arrival and work streams.
    service_factor
        Multiplies every job's work (1 in a correct check; fault injection otherwise).
    """
    from citymodel.calendar import WeeklyCalendar
    from citymodel.events import EventQueue
    from citymodel.production import MachinePool

    streams = np.random.SeedSequence(seed).spawn(2)
    arrival_rng, work_rng = (np.random.default_rng(s) for s in streams)
    lam_per_min = load * servers * mu_per_hour / 60.0
    n = warmup + jobs
    arrival = np.cumsum(arrival_rng.exponential(1.0 / lam_per_min, n))
    work = work_rng.exponential(60.0 / mu_per_hour, n) * service_factor
    start = np.full(n, np.nan)
    pool = MachinePool("validation_machine", servers, WeeklyCalendar(always_open=True))
    events = EventQueue()

    def start_pool(now: float) -> None:
        for batch_id, batch in pool.start_ready(now):
            for job in batch.order_ids:
                start[job] = now
            events.push(batch.finish_min, JOB_DONE, batch_id)

    def drain(until: float) -> None:
        for now, kind, payload in events.pop_until(until):
            if kind == ARRIVE:
                pool.submit(payload, float(work[payload]), False)
                if payload + 1 < n:
                    events.push(float(arrival[payload + 1]), ARRIVE, payload + 1)
            else:
                pool.finish(payload)
            start_pool(now)

    events.push(float(arrival[0]), ARRIVE, 0)
    t_first = float(arrival[warmup - 1]) if warmup else 0.0
    t_last = float(arrival[-1])
    # About 100 arrivals per window (at least 200 windows); utilization is measured while
    # arrivals continue, from the warm-up's last arrival to the last arrival.
    n_windows = max(jobs // 100, 200)
    window = (t_last - t_first) / n_windows
    edges = t_first + window * np.arange(n_windows + 1)
    busy = np.empty(n_windows + 1)
    for i, edge in enumerate(edges):
        drain(float(edge))
        busy[i] = pool.busy_minutes_until(float(edge))
    # FIFO: a job's wait depends only on earlier jobs, so draining after the last arrival
    # (no new arrivals) leaves every measured wait unchanged.
    drain(math.inf)
    utilization = np.diff(busy) / (servers * window)
    wait = (start - arrival)[warmup:]
    return QueueRun(utilization, wait, window)


def _erlang_points(s: dict[str, Any]) -> list[tuple[int, float]]:
    servers = [s["servers"]] if s["servers"] is not None else list(ERLANG_SERVERS)
    loads = [s["load"]] if s["load"] is not None else list(ERLANG_LOADS)
    return [(c, rho) for c in servers for rho in loads]


def erlang_point(s: dict[str, Any], c: int, rho: float, n_points: int = 1) -> list[CheckResult]:
    """The ``erlang`` check at one point: ``c`` machines at load ``rho``; settings ``s`` as in
    :data:`SETTINGS`. Each point has its own random streams, seeded by ``(seed, c, rho)``.
    ``n_points`` (points in this validation) only enters the stated family-wise error."""
    t0 = time.perf_counter()
    mu = s["mu"]
    conf = s["confidence"]
    run = simulate_mmc(c, rho, mu, s["jobs"], s["warmup"], (s["seed"], c, round(rho * 1e6)),
                       s["inject_service_factor"])
    lam = rho * c * mu
    params = {"servers": c, "load": rho, "lambda_per_h": lam, "mu_per_h": mu,
              "jobs": s["jobs"], "warmup": s["warmup"], "seed": s["seed"]}
    if s["inject_service_factor"] != 1.0:
        params["inject_service_factor"] = s["inject_service_factor"]
    seconds = time.perf_counter() - t0
    basis = (f"batch means, {s['batches']} batches, t-interval at {100 * conf:g} % "
             f"(family-wise <= {100 * (1 - conf) * 2 * n_points:.2g} % false failure over "
             f"{2 * n_points} comparisons)")
    pairs = (
        ("utilization", run.utilization, analytic.mmc_utilization(lam, mu, c),
         f"{len(run.utilization)} windows of {run.window_min / 60:.1f} h"),
        ("wait_in_service_times", run.wait_min * mu / 60.0,
         analytic.erlang_c_mean_wait(lam, mu, c) * mu,
         f"{len(run.wait_min)} jobs; P(wait>0) model {float(np.mean(run.wait_min > 0)):.4f} "
         f"vs Erlang C {analytic.erlang_c_wait_probability(c, rho * c):.4f}"),
    )
    out = []
    for quantity, series, reference, note in pairs:
        mean, half, lag1 = analytic.batch_means_ci(series, s["batches"], conf)
        out.append(CheckResult(
            "erlang", quantity, dict(params), mean, float(reference), half,
            bool(abs(mean - reference) <= half), tolerance_basis=basis,
            detail=f"{note}; lag-1 autocorrelation of batch means {lag1:.2f}", seconds=seconds))
    return out


def _check_erlang(s: dict[str, Any], ctx: _Context) -> list[CheckResult]:
    points = _erlang_points(s)
    return [row for c, rho in points for row in erlang_point(s, c, rho, len(points))]
