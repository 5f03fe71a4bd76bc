"""City-scale benchmark: the model at several population sizes beside a typical-Mesa reference.

``citymodel bench`` (and ``benchmarks/bench_scale.py``) call
:func:`run_scale_benchmark`. Every measurement runs in a fresh interpreter
(``multiprocessing`` with the ``spawn`` start method), so the peak resident
memory of one size is not inflated by another and caches start cold; the child
reports its own peak (``resource.getrusage(RUSAGE_SELF).ru_maxrss``).

Per size the fast model runs through :func:`citymodel.runner.simulate` — load the
map, build the model (routers, citizens, facilities), simulate, build the output
tables and the summary — and the row reports:

``citizens``, ``days``
    Size of the run.
``wall_s``
    Wall time of the simulation (``model.run``), s.
``cpu_s``
    CPU time of the simulation (s): close to ``wall_s`` unless the machine is busy.
``sim_days_per_s``
    Simulated days per second of ``wall_s``.
``us_per_citizen_hour``
    ``wall_s / (citizens × simulated hours)`` in microseconds.
``startup_s``
    Load the map + build the model (routing tables, citizens, facilities), s.
``outputs_s``, ``total_s``
    Output tables and summary, s; everything (start-up + simulation + outputs), s.
``peak_rss_mb``
    Peak resident memory of the child process (MiB, 2^20 bytes).
``routes``, ``routes_per_s``
    Routed legs in the run's outputs (every trip, every import's last mile), and
    their number per second of ``wall_s``. Each is a shortest path on the street
    graph; the fast model reads them from precomputed Dijkstra tables.
``dijkstra_sources``
    Single-source shortest-path trees the fast model computed (its routing work).
``orders``, ``events``, ``us_per_order``, ``us_per_event``
    Orders placed and events handled in the simulation, and ``wall_s`` per order and
    per event in microseconds.
``reference_us_per_citizen_hour``, ``ratio``, ``ratio_per_order``, ``ratio_per_event``
    On the ``same_size`` row only — the fast model run at the reference's own citizens,
    days and seed — the reference's costs and ``reference / fast`` per citizen-hour, per
    order and per event: the fair speed-up (same work on both sides). The city-scale rows
    carry no ratio: dividing a small reference by a big run would credit the fast model
    with its amortised start-up.

The reference row (``kind = "reference"``, followed by the ``same_size`` row) runs
:class:`citymodel.reference.ReferenceModel`
(one Mesa agent per citizen with its own ``step``, ``networkx.shortest_path`` per
trip) on the same map with the same rates, at a size it can manage; its
``routes`` are the networkx shortest-path computations of its simulation (a
path per trip and import leg, a Dijkstra per platform order). With two or more sizes a
last row (``kind = "fit"``) gives the least-squares line ``wall_s = a + b ·
citizens`` (``slope_s_per_1000_citizens``), the marginal cost per citizen-hour
(``us_per_citizen_hour`` of that row), the log-log growth exponent of wall time
and of peak memory (1 = linear) and the memory per 1,000 citizens.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from rich.table import Table

Row = dict[str, Any]

REQUIRED_KEYS = ("citizens", "days", "wall_s", "us_per_citizen_hour", "peak_rss_mb", "routes_per_s")


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def machine_info() -> dict[str, Any]:
    """Where a benchmark ran: CPU count, processor, Python and platform."""
    return {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "platform": platform.platform()}


def _config(citizens: int, days: float, seed: int):
    from citymodel.config import Config

    cfg = Config()
    cfg.run.citizens = int(citizens)
    cfg.run.days = float(days)
    cfg.run.seed = int(seed)
    return cfg.validate()


def measure_fast(citizens: int, days: float, seed: int) -> Row:
    """Run the fast model once in this process — the steps of :func:`citymodel.runner.simulate`
    (load the map, build, simulate, output tables and summary), each timed — and measure it.

    Call it in a fresh process (as :func:`run_scale_benchmark` does) for an honest peak memory.
    """
    from citymodel.maps import load_city
    from citymodel.model import CityModel
    from citymodel.runner import summarise
    from citymodel.tables import model_tables

    cfg = _config(citizens, days, seed)
    t0 = time.perf_counter()
    city = load_city(cfg.run.map)
    t1 = time.perf_counter()
    model = CityModel(cfg, city)
    t2 = time.perf_counter()
    cpu2 = time.process_time()
    model.run()
    t3 = time.perf_counter()
    cpu3 = time.process_time()
    tables = model_tables(model)
    summarise(model, tables)
    t4 = time.perf_counter()
    hours = int(round(days * 24))
    wall = t3 - t2
    routes = len(tables["trips"]) + int((tables["orders"]["channel"] == "import").sum())
    return {
        "kind": "fast",
        "citizens": int(citizens),
        "days": float(days),
        "wall_s": wall,
        "cpu_s": cpu3 - cpu2,
        "sim_days_per_s": days / wall if wall > 0 else None,
        "us_per_citizen_hour": wall / (citizens * hours) * 1e6,
        "startup_s": t2 - t0,
        "load_map_s": t1 - t0,
        "build_model_s": t2 - t1,
        "outputs_s": t4 - t3,
        "total_s": t4 - t0,
        "peak_rss_mb": _peak_rss_mb(),
        "routes": routes,
        "routes_per_s": routes / wall if wall > 0 else None,
        "dijkstra_sources": int(model.travel.dijkstra_sources),
        "orders": len(tables["orders"]),
        "facilities": len(model.facilities),
        "events": int(model.events.processed),
        "us_per_order": wall / len(tables["orders"]) * 1e6 if len(tables["orders"]) else None,
        "us_per_event": wall / model.events.processed * 1e6 if model.events.processed else None,
        "seed": int(seed),
    }


def measure_reference(citizens: int, days: float, seed: int) -> Row:
    """Run the typical-Mesa reference once in this process and measure it (fresh process advised)."""
    from citymodel.maps import load_city
    from citymodel.reference import run_reference

    t0 = time.perf_counter()
    city = load_city("default")
    load_s = time.perf_counter() - t0
    model, timings = run_reference(_config(citizens, days, seed), city)
    hours = int(round(days * 24))
    wall = timings["simulate"]
    us = wall / (citizens * hours) * 1e6
    routes = int(model.route_queries - model.setup_route_queries)
    return {
        "kind": "reference",
        "citizens": int(citizens),
        "days": float(days),
        "wall_s": wall,
        "cpu_s": timings["simulate_cpu"],
        "sim_days_per_s": days / wall if wall > 0 else None,
        "us_per_citizen_hour": us,
        "startup_s": load_s + timings["build_model"],
        "outputs_s": None,
        "total_s": load_s + timings["build_model"] + wall,
        "peak_rss_mb": _peak_rss_mb(),
        "routes": routes,
        "routes_per_s": routes / wall if wall > 0 else None,
        "dijkstra_sources": None,
        "orders": len(model.orders),
        "facilities": len(model.facilities),
        "events": int(model.events.processed),
        "us_per_order": wall / len(model.orders) * 1e6 if len(model.orders) else None,
        "us_per_event": wall / model.events.processed * 1e6 if model.events.processed else None,
        "seed": int(seed),
    }


def _in_fresh_process(fn: Callable[..., Row], *args: Any) -> Row:
    """Call ``fn(*args)`` in a newly spawned interpreter and return its row."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(fn, *args).result()


def fit_rows(rows: list[Row]) -> Row | None:
    """Least-squares growth of wall time and peak memory with citizens over the fast rows (None if < 2 sizes)."""
    fast = [r for r in rows if r.get("kind") == "fast"]
    sizes = sorted({r["citizens"] for r in fast})
    if len(sizes) < 2:
        return None
    n = [float(r["citizens"]) for r in fast]
    wall = [float(r["wall_s"]) for r in fast]
    mem = [float(r["peak_rss_mb"]) for r in fast]
    days = fast[0]["days"]
    slope, intercept = _line(n, wall)
    mem_slope, mem_intercept = _line(n, mem)
    exponent = _line([math.log(x) for x in n], [math.log(max(w, 1e-9)) for w in wall])[0]
    mem_exponent = _line([math.log(x) for x in n], [math.log(max(m, 1e-9)) for m in mem])[0]
    hours = int(round(days * 24))
    return {
        "kind": "fit",
        "citizens": None,
        "days": days,
        "wall_s": None,
        "us_per_citizen_hour": slope / hours * 1e6,
        "peak_rss_mb": None,
        "routes_per_s": None,
        "slope_s_per_1000_citizens": slope * 1000.0,
        "intercept_s": intercept,
        "wall_loglog_exponent": exponent,
        "memory_mb_per_1000_citizens": mem_slope * 1000.0,
        "memory_intercept_mb": mem_intercept,
        "memory_loglog_exponent": mem_exponent,
        "sizes": sizes,
    }


def _line(x: list[float], y: list[float]) -> tuple[float, float]:
    """Ordinary least squares ``y = a + b x``; returns (b, a)."""
    k = len(x)
    mx, my = sum(x) / k, sum(y) / k
    sxx = sum((a - mx) ** 2 for a in x)
    b = sum((a - mx) * (c - my) for a, c in zip(x, y, strict=True)) / sxx if sxx > 0 else 0.0
    return b, my - b * mx


def run_scale_benchmark(sizes: list[int], days: float, reference_citizens: int, reference_days: float,
                        seed: int, emit: Callable[[Row], Any] | None = None,
                        fresh_process: bool = True) -> Iterator[Row]:
    """Measure the reference, then each size, then the fit; yield one row (dict) per measurement.

    Parameters
    ----------
    sizes
        Citizens per fast run (e.g. ``[10_000, 100_000, 500_000]``).
    days
        Simulated days of each fast run.
    reference_citizens, reference_days
        Size of the typical-Mesa reference run (it must finish in reasonable time).
    seed
        Seed of every run.
    emit
        Called with each row as soon as it is measured (e.g. to print JSON lines).
    fresh_process
        Run every measurement in a newly spawned interpreter (True: honest peak memory).

    Yields
    ------
    dict
        ``kind`` ``"reference"``, then ``"same_size"`` (the fast model at the reference's size,
        with the fair ``ratio``, ``ratio_per_order`` and ``ratio_per_event``), then ``"fast"`` per
        size, then ``"fit"`` when there are two sizes or more. See the module docstring.
    """
    call = _in_fresh_process if fresh_process else (lambda fn, *a: fn(*a))
    info = machine_info()
    reference = call(measure_reference, reference_citizens, reference_days, seed)
    reference.update(info)
    rows = [reference]
    if emit is not None:
        emit(reference)
    yield reference
    same = call(measure_fast, reference_citizens, reference_days, seed)
    same["kind"] = "same_size"
    same.update(fair_ratios(reference, same))
    same.update(info)
    if emit is not None:
        emit(same)
    yield same
    for n in sizes:
        row = call(measure_fast, n, days, seed)
        row.update(info)
        rows.append(row)
        if emit is not None:
            emit(row)
        yield row
    fit = fit_rows(rows)
    if fit is not None:
        fit.update(info)
        if emit is not None:
            emit(fit)
        yield fit


def fair_ratios(reference: Row, fast: Row) -> Row:
    """``reference / fast`` cost per citizen-hour (``ratio``), per order and per event, with the
    reference's costs; both rows must be of the same citizens and days."""
    if (reference["citizens"], reference["days"]) != (fast["citizens"], fast["days"]):
        msg = (f"fair ratio needs equal sizes: reference {reference['citizens']} x {reference['days']} d, "
               f"fast {fast['citizens']} x {fast['days']} d")
        raise ValueError(msg)

    def ratio(key: str) -> float | None:
        a, b = reference.get(key), fast.get(key)
        return a / b if a and b else None

    return {"reference_us_per_citizen_hour": reference["us_per_citizen_hour"],
            "reference_us_per_order": reference.get("us_per_order"),
            "reference_us_per_event": reference.get("us_per_event"),
            "ratio": ratio("us_per_citizen_hour"), "ratio_per_order": ratio("us_per_order"),
            "ratio_per_event": ratio("us_per_event")}


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def format_row(row: Row) -> str:
    """One human-readable line for a row."""
    kind = row.get("kind", "fast")
    if kind == "fit":
        return (f"fit over {', '.join(f'{s:,}' for s in row['sizes'])} citizens x {_fmt(row['days'])} d: "
                f"wall = {_fmt(row['intercept_s'])} s + {_fmt(row['slope_s_per_1000_citizens'])} s per 1,000 "
                f"citizens ({_fmt(row['us_per_citizen_hour'])} µs per citizen-hour at the margin); "
                f"growth exponent {row['wall_loglog_exponent']:.2f} "
                f"(1 = linear); memory {_fmt(row['memory_intercept_mb'])} MiB + "
                f"{_fmt(row['memory_mb_per_1000_citizens'])} MiB per 1,000 citizens "
                f"(exponent {row['memory_loglog_exponent']:.2f})")
    label = {"reference": "reference (typical Mesa)", "same_size": "citymodel at the reference's size"}.get(
        kind, "citymodel")
    text = (f"{label}: {row['citizens']:,} citizens x {_fmt(row['days'])} d: wall {_fmt(row['wall_s'])} s "
            f"({_fmt(row['sim_days_per_s'])} simulated days/s), {_fmt(row['us_per_citizen_hour'])} µs per "
            f"citizen-hour, peak {_fmt(row['peak_rss_mb'])} MiB, {_fmt(row['routes_per_s'])} routes/s, "
            f"start-up {_fmt(row['startup_s'])} s, {_fmt(row.get('us_per_order'))} µs per order, "
            f"{_fmt(row.get('us_per_event'))} µs per event")
    if kind != "reference":
        text += f", total {_fmt(row['total_s'])} s"
    if kind == "same_size":
        text += (f"; {_fmt(row['ratio'])}x faster than the reference per citizen-hour, "
                 f"{_fmt(row['ratio_per_order'])}x per order, {_fmt(row['ratio_per_event'])}x per event "
                 f"(same citizens, days and seed)")
    return text


def format_rows(rows: list[Row]) -> Table | str:
    """One line for a single row (the CLI prints rows as they come); a table for several."""
    if len(rows) == 1:
        return format_row(rows[0])
    table = Table(title="citymodel bench: city scale vs a typical Mesa model")
    for name in ("kind", "citizens", "days", "wall s", "days/s", "µs/citizen-h", "µs/order", "µs/event",
                 "peak MiB", "routes/s", "start-up s", "total s", "x ref (same size)"):
        table.add_column(name, justify="left" if name == "kind" else "right")
    for r in rows:
        table.add_row(str(r.get("kind", "")), _fmt(r.get("citizens")), _fmt(r.get("days")), _fmt(r.get("wall_s")),
                      _fmt(r.get("sim_days_per_s")), _fmt(r.get("us_per_citizen_hour")), _fmt(r.get("us_per_order")),
                      _fmt(r.get("us_per_event")), _fmt(r.get("peak_rss_mb")),
                      _fmt(r.get("routes_per_s")), _fmt(r.get("startup_s")), _fmt(r.get("total_s")),
                      _fmt(r.get("ratio")))
    return table


def profile_run(citizens: int, days: float, seed: int = 42, top: int = 25) -> str:
    """cProfile one fast run (build + simulate, in this process); the top entries by own time, as text."""
    import cProfile
    import io
    import pstats

    from citymodel.maps import load_city
    from citymodel.model import CityModel

    city = load_city("default")
    profiler = cProfile.Profile()
    profiler.enable()
    model = CityModel(_config(citizens, days, seed), city)
    model.run()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()
