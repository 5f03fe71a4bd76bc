"""The ``erlang`` and ``erlang_hours`` checks: a one-facility :class:`~citymodel.model.CityModel`
against Erlang C, and with opening hours against a brute-force minute-grid queue.

The city is configured, not rewritten: no POI workshops, one professional maker
(``facilities.pro_makers = 1``) with ``c`` 3D printers, everybody aware, no machine
purchases or training, one product (household items) whose designs all take the same
machine time (``platform.design_time_sigma = 0``) with exponential job times
(``needs.machine_time_cv = 1``), and an import price so high that every need becomes a
platform order. Needs arrive as the superposition of the citizens' Poisson clocks, so
the orders are a Poisson stream of rate λ; each is released to the maker's queue a
constant quote + booking lead after it is placed, so the queue sees Poisson arrivals too.
Everything in between — choice, the platform's offers and order book, the pool, the
event handlers, the payments and deliveries — is the model's own code.
"""

from __future__ import annotations

import heapq
import math
import time
from typing import Any

import numpy as np

from citymodel import analytic
from citymodel.validation.context import _Context
from citymodel.validation.minute_grid import grid_finish, grid_is_open, grid_next_open, open_minute_grid
from citymodel.validation.results import CheckResult

ERLANG_POINTS = ((1, 0.05), (2, 0.1), (1, 0.5), (2, 0.8))
"""Default (servers, load) points: two light (the model's own load is 0.01-0.07) and two loaded."""
ERLANG_SERVERS = tuple(sorted({c for c, _ in ERLANG_POINTS}))
ERLANG_LOADS = tuple(sorted({rho for _, rho in ERLANG_POINTS}))
PRODUCT = "household"
CITIZENS = 2000
HOURS = [["mon-fri", 8, 18]]
"""Opening hours of the ``erlang_hours`` facility (the professional maker's default)."""


def queue_config(servers: int, lam_per_h: float, mu_per_h: float, days: float, seed: int,
                 service_factor: float = 1.0, hours: list | None = None, batch: dict | None = None):
    """The configuration of the one-facility queue (module docstring).

    Parameters
    ----------
    servers
        Machines c at the one facility.
    lam_per_h
        Orders per hour λ (the citizens' need rates add up to it).
    mu_per_h
        Service rate of one machine (1/hour): mean job time 1/μ hours.
    days
        Simulated days.
    seed
        Seed of the run.
    service_factor
        Multiplies the mean job time (fault injection; 1 in a correct check).
    hours
        Opening hours of the facility (None: the kind's own; always open is a model flag).
    batch
        ``batch_size, setup_hours, batch_min, batch_wait_hours`` of the facility (None: no batching).
    """
    from citymodel.config import Config

    cfg = Config()
    cfg.run.map = "default"
    cfg.run.citizens = CITIZENS
    cfg.run.days = float(days)
    cfg.run.seed = int(seed)
    f = cfg.facilities
    f.poi_sites, f.pro_makers, f.textile_mills, f.makerspaces_if_missing = False, 1, 0, 0
    kind = f.kinds["pro_maker"]
    kind["machines"] = {"3d_printer": int(servers)}
    if hours is not None:
        kind["hours"] = hours
    kind.update(batch or {})
    a = cfg.adoption
    a.initial_aware_share, a.initial_maker_share, a.maker_rate, a.training_rate = 1.0, 0.0, 0.0, 0.0
    cfg.needs.machine_time_cv = 1.0
    cfg.platform.design_time_sigma = 0.0
    for product in cfg.needs.products.values():
        product["needs_per_citizen_year"] = 0.0
    item = cfg.needs.products[PRODUCT]
    item["machine_hours"] = service_factor / mu_per_h
    item["import_price"] = 1e6
    item["needs_per_citizen_year"] = lam_per_h * 8760.0 / CITIZENS
    return cfg.validate()


def run_queue(cfg, city, always_open: bool):
    """Run the one-facility model; return (orders with ``release_min``, hourly series, model)."""
    from citymodel.model import CityModel
    from citymodel.tables import model_tables

    if city is None:
        from citymodel.maps import load_city

        city = load_city("default")
    model = CityModel(cfg, city, always_open=always_open)
    model.run()
    tables = model_tables(model)
    orders = tables["orders"]
    process = model.processes[cfg.needs.products[PRODUCT]["platform_process"]]
    orders = orders.assign(release_min=orders["created_min"] + process.quote_min + process.booking_min)
    return orders.sort_values("release_min", kind="stable").reset_index(drop=True), tables, model


def _points(s: dict[str, Any]) -> list[tuple[int, float]]:
    if s["servers"] is None and s["load"] is None:
        return list(ERLANG_POINTS)
    servers = [s["servers"]] if s["servers"] is not None else list(ERLANG_SERVERS)
    loads = [s["load"]] if s["load"] is not None else list(ERLANG_LOADS)
    return [(c, rho) for c in servers for rho in loads]


_erlang_points = _points


def erlang_point(s: dict[str, Any], c: int, rho: float, n_points: int = 1, city=None) -> list[CheckResult]:
    """The ``erlang`` check at one point: ``c`` machines at load ``rho``; settings ``s`` as in
    :data:`SETTINGS`. Each point has its own seed ``(seed, c, rho)`` mixed into one integer.

    Rows: ``utilization`` (busy / open machine-hours per hour, against ρ) and
    ``wait_in_service_times`` (wait in queue × μ, against Erlang C), each with a batch-means
    confidence interval as its tolerance.
    """
    t0 = time.perf_counter()
    mu, conf, jobs, warmup = s["mu"], s["confidence"], s["jobs"], s["warmup"]
    lam = rho * c * mu
    seed = int(np.random.SeedSequence((s["seed"], c, round(rho * 1e6))).generate_state(1)[0] % 2**31)
    lead_h = 0.75 + 48.0  # the hubs process: quote + booking lead before an order reaches the queue
    days = math.ceil((lead_h + (warmup + jobs) / lam) / 24.0 + 1.0)
    cfg = queue_config(c, lam, mu, days, seed, s["inject_service_factor"])
    orders, tables, _ = run_queue(cfg, city, always_open=True)
    horizon = days * 1440.0
    started = orders["started_min"].to_numpy(dtype=float)
    release = orders["release_min"].to_numpy(dtype=float)
    # measured: the jobs after the warm-up, released at least a day before the end (all started)
    keep = np.arange(len(orders)) >= warmup
    keep &= release < horizon - 1440.0
    wait_h = (started - release)[keep] / 60.0
    first_min = release[warmup] if len(release) > warmup else horizon
    ts = tables["timeseries"]
    kind = str(tables["facilities"]["kind"].iloc[0])
    hourly = ts[ts["hour"] * 60.0 >= first_min]
    hourly = hourly[hourly["hour"] * 60.0 < horizon - 1440.0]
    utilization = (hourly[f"busy_machine_hours_{kind}"] / hourly[f"open_machine_hours_{kind}"]).to_numpy()
    params = {"servers": c, "load": rho, "lambda_per_h": lam, "mu_per_h": mu, "jobs": int(keep.sum()),
              "warmup": warmup, "seed": s["seed"], "model": "CityModel, one facility"}
    if s["inject_service_factor"] != 1.0:
        params["inject_service_factor"] = s["inject_service_factor"]
    seconds = time.perf_counter() - t0
    basis = (f"batch means, {s['batches']} batches, t-interval at {100 * conf:g} % "
             f"(family-wise <= {100 * (1 - conf) * 2 * n_points:.2g} % false failure over "
             f"{2 * n_points} comparisons)")
    channels = orders["channel"].astype(str).value_counts().to_dict()
    pairs = (
        ("utilization", utilization, analytic.mmc_utilization(lam, mu, c),
         f"{len(utilization)} hours; orders by channel {channels}"),
        ("wait_in_service_times", wait_h * mu, analytic.erlang_c_mean_wait(lam, mu, c) * mu,
         f"{len(wait_h)} jobs; P(wait>0) model {float(np.mean(wait_h > 0)):.4f} "
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
    points = _points(s)
    return [row for c, rho in points for row in erlang_point(s, c, rho, len(points), ctx.city)]


# --------------------------------------------------------------------------- opening hours
def grid_queue(release_min: np.ndarray, work_min: np.ndarray, servers: int, grid: np.ndarray,
               batch_size: int = 1, setup_min: float = 0.0, batch_min: int = 1, batch_wait_min: float = 0.0
               ) -> tuple[np.ndarray, np.ndarray]:
    """FIFO queue of ``servers`` machines working only in open minutes of ``grid``, by brute force.

    Jobs in release order. A batch (one job unless ``batch_size`` > 1) starts at the first
    moment the facility is open, a machine is free and the waiting jobs may start (at least
    ``batch_min`` of them, or the oldest has waited ``batch_wait_min`` minutes); it takes up to
    ``batch_size`` queued jobs, and its finish is found by walking the minute grid spending its
    work plus ``setup_min`` only in open minutes (work ending exactly at a closing ends there;
    the next batch may only start at the next opening). Candidate start moments are every
    release, finish and batch deadline, and the next opening after each. Returns (start,
    finish) of every job in minutes (inf if it never starts).
    """
    n = len(release_min)
    releases = release_min.tolist()
    works = work_min.tolist()
    start = np.full(n, np.inf)
    end = np.full(n, np.inf)
    if n == 0:
        return start, end
    busy_until: list[float] = []  # finish times of running batches
    queue: list[int] = []
    moments: list[float] = []  # candidate times, a heap
    nxt = 0  # next job to release
    for t in (releases[0], grid_next_open(grid, releases[0])):
        heapq.heappush(moments, t)
    horizon = max(releases) + 60 * 1440.0 + sum(works) + setup_min * n
    while moments:
        t = heapq.heappop(moments)
        if t > horizon:
            break
        while nxt < n and releases[nxt] <= t:
            queue.append(nxt)
            nxt += 1
            if nxt < n:
                for u in (releases[nxt], grid_next_open(grid, releases[nxt])):
                    heapq.heappush(moments, u)
        busy_until = [f for f in busy_until if f > t]
        while (queue and len(busy_until) < servers and grid_is_open(grid, t)
               and (batch_size == 1 or len(queue) >= batch_min or t >= releases[queue[0]] + batch_wait_min)):
            jobs, queue = queue[:batch_size], queue[batch_size:]
            f = grid_finish(grid, t, sum(works[j] for j in jobs) + setup_min)
            for j in jobs:
                start[j], end[j] = t, f
            busy_until.append(f)
            heapq.heappush(moments, f)
            heapq.heappush(moments, grid_next_open(grid, f))
        if queue:
            deadline = releases[queue[0]] + batch_wait_min
            for u in (deadline, grid_next_open(grid, deadline), grid_next_open(grid, t)):
                if u > t:
                    heapq.heappush(moments, u)
    return start, end


BATCH = {"batch_size": 4, "setup_hours": 0.5, "batch_min": 2, "batch_wait_hours": 3.0}
"""The batching facility of the ``erlang_hours`` batch rows (a small mill's rule: up to 4 jobs a batch, half an
hour of set-up, a batch waits for 2 jobs or 3 hours)."""


def _hours_rows(s: dict[str, Any], ctx: _Context | None, batch: dict | None) -> list[CheckResult]:
    t0 = time.perf_counter()
    c, rho, mu = s["servers"], s["load"], s["mu"]
    grid = open_minute_grid(HOURS)
    lam = rho * c * mu * grid.mean()  # load rho of the open time
    if batch:
        lam *= 0.5  # a lighter load, so that batches also start part-full (on the wait rule)
    cfg = queue_config(c, lam, mu, s["days"], s["seed"], s["inject_service_factor"], hours=HOURS, batch=batch)
    orders, _, model = run_queue(cfg, ctx.city if ctx else None, always_open=False)
    release = orders["release_min"].to_numpy(dtype=float)
    horizon = s["days"] * 1440.0
    released = release < horizon
    work = orders["machine_hours"].to_numpy(dtype=float)[released] * 60.0
    b = batch or {}
    g_start, g_end = grid_queue(release[released], work, c, grid, b.get("batch_size", 1),
                                b.get("setup_hours", 0.0) * 60.0, b.get("batch_min", 1),
                                b.get("batch_wait_hours", 0.0) * 60.0)
    model_start = orders["started_min"].to_numpy(dtype=float)[released]
    model_end = orders["completed_min"].to_numpy(dtype=float)[released]
    seen = np.isfinite(model_start)
    ended = np.isfinite(model_end)
    start_gap = float(np.max(np.abs(model_start[seen] - g_start[seen]), initial=0.0))
    end_gap = float(np.max(np.abs(model_end[ended] - g_end[ended]), initial=0.0))
    # a job the grid starts before the end must have started in the model too (and vice versa)
    missing = int(np.sum(seen != (g_start < horizon)) + np.sum(ended != (g_end < horizon)))
    waited = float(np.mean(model_start[seen] > release[released][seen])) if seen.any() else math.nan
    calendar = model.calendar_for("pro_maker")
    closed = int(sum(not calendar.is_open(r) for r in release[released]))
    params = {"servers": c, "load_of_open_time": rho, "mu_per_h": mu, "days": s["days"], "seed": s["seed"],
              "hours": "mon-fri 8-18", "jobs": int(released.sum())}
    prefix = ""
    if batch:
        prefix = "batch_"
        params["batch"] = (f"up to {batch['batch_size']} jobs, set-up {batch['setup_hours']:g} h, waits for "
                           f"{batch['batch_min']} jobs or {batch['batch_wait_hours']:g} h")
    if s["inject_service_factor"] != 1.0:
        params["inject_service_factor"] = s["inject_service_factor"]
    tol = 1e-6
    basis = f"exact up to float rounding of minute sums ({tol:g} min)"
    sizes = orders["batch_size"].to_numpy()[released][seen]
    detail = (f"{int(ended.sum())} jobs finished; {closed} released while closed; {100 * waited:.0f} % waited; "
              f"{missing} started/finished in one and not the other"
              + (f"; mean batch {float(np.mean(sizes)):.2f} jobs, {int(np.sum(sizes < batch['batch_min']))} jobs "
                 f"in batches started by the wait rule" if batch and seen.any() else ""))
    seconds = time.perf_counter() - t0
    return [
        CheckResult("erlang_hours", f"{prefix}max_start_gap_min", params, start_gap, 0.0, tol,
                    bool(start_gap <= tol and missing == 0 and seen.any()), basis, detail, seconds),
        CheckResult("erlang_hours", f"{prefix}max_finish_gap_min", params, end_gap, 0.0, tol,
                    bool(end_gap <= tol and missing == 0 and ended.any()), basis, detail, seconds),
    ]


def hours_check(s: dict[str, Any], ctx: _Context | None = None) -> list[CheckResult]:
    """The ``erlang_hours`` check: the one-facility model with opening hours (jobs pause while
    closed, wake-ups at openings) against :func:`grid_queue` fed with the model's own releases
    and job times; then the same with a batching facility (:data:`BATCH`: batches, set-up,
    the fill-or-wait rule). Rows: largest |start − grid start| and |finish − grid finish|
    (minutes), plain and ``batch_``."""
    return _hours_rows(s, ctx, None) + _hours_rows(s, ctx, BATCH)
