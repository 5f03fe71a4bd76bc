"""Validation checks: the model's own code against analytic limits and accounting invariants.

Five checks, each returning :class:`CheckResult` rows (``citymodel validate``):

``bass``
    A well-mixed :class:`~citymodel.model.CityModel` with no needs (so no
    capacity, price or maker effects) and nobody aware at day 0; the share of
    citizens aware or beyond at the end of each simulated day is compared with
    the Bass curve F(t) over the whole S. Tolerance: the discrete-time
    recursion's deviation from F plus a Bonferroni band from the linear-noise
    (binomial) variance of a population of N citizens.
``erlang``
    One :class:`~citymodel.production.MachinePool` of ``c`` machines on an
    always-open :class:`~citymodel.calendar.WeeklyCalendar`, driven through the
    :class:`~citymodel.events.EventQueue` the way the model drives it, with
    Poisson arrivals and exponential work: utilization against λ/(cμ) and the
    mean wait in queue (times μ) against Erlang C. Tolerance: batch-means
    confidence half-width.
``routing``
    Every trip and every order with a travel time in a default-map run equals
    networkx's shortest ``travel_time`` path on the same mode graph.
``conservation``
    Orders created = delivered + in progress + cancelled; busy ≤ open
    machine-hours at every facility; money paid = money received, and every
    facility's and designer's books agree with the ledger.
``reproducibility``
    The same seed run twice (once in this process, once in a freshly spawned
    worker process) writes byte-identical Parquet files; another seed differs.

The derivations and measured results are in ``docs/validation.md``.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from citymodel.validation.bass import bass_check, bass_config, bass_days_to, bass_discrete
from citymodel.validation.conservation import (
    MONEY_REL_TOL,
    _check_conservation,
    books_vs_ledger,
    conservation_config,
    conservation_gaps,
    conservation_rows,
    facility_specs,
)
from citymodel.validation.context import Progress, _Context, city_config
from citymodel.validation.erlang import (
    ERLANG_LOADS,
    ERLANG_POINTS,
    ERLANG_SERVERS,
    _check_erlang,
    _erlang_points,
    erlang_point,
    grid_queue,
    hours_check,
    queue_config,
)
from citymodel.validation.minute_grid import open_minute_grid
from citymodel.validation.patterns import PATTERNS, check_patterns, pattern_values
from citymodel.validation.reproducibility import _check_reproducibility, parquet_bytes
from citymodel.validation.results import CheckResult, format_table, results_to_json
from citymodel.validation.routing import ROUTING_REL_TOL, _check_routing, routing_errors
from citymodel.validation.settings import CHECKS, SETTINGS, resolve_settings

__all__ = [
    "CHECKS",
    "CheckResult",
    "ERLANG_LOADS",
    "ERLANG_POINTS",
    "ERLANG_SERVERS",
    "MONEY_REL_TOL",
    "PATTERNS",
    "ROUTING_REL_TOL",
    "SETTINGS",
    "bass_check",
    "bass_config",
    "bass_days_to",
    "bass_discrete",
    "books_vs_ledger",
    "city_config",
    "conservation_config",
    "conservation_gaps",
    "conservation_rows",
    "erlang_point",
    "facility_specs",
    "format_table",
    "grid_queue",
    "hours_check",
    "open_minute_grid",
    "parquet_bytes",
    "pattern_values",
    "queue_config",
    "resolve_settings",
    "results_to_json",
    "routing_errors",
    "run_checks",
]




# --------------------------------------------------------------------------- entry point
def run_checks(only: list[str] | None = None, settings: dict[str, str] | None = None,
               progress: Progress | None = None, workers: int | None = None) -> list[CheckResult]:
    """Run the selected checks (all by default) and return one row per compared quantity.

    Parameters
    ----------
    only
        Check names (see :data:`CHECKS`); None runs all.
    settings
        ``--set`` values as strings (or numbers), see :data:`SETTINGS`.
    progress
        Called with a one-line message as each check or erlang point starts and ends.
    workers
        Processes for the compute-bound parts (the bass run and the erlang points); default
        ``min(2, CPU count)``. They run in spawned worker processes while this process runs
        routing, conservation and reproducibility. Results do not depend on ``workers``.

    Returns
    -------
    list of CheckResult
        Checks in the order of ``only`` (:data:`CHECKS` order by default); erlang points in
        grid order (servers, then load).

    Raises
    ------
    ConfigError
        For an unknown check or setting, or a setting of the wrong type or range.
    """
    resolved = resolve_settings(only, settings)
    say = progress or (lambda message: None)
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    context = _Context(say)
    # Compute-bound units of work: (check, label, function, arguments).
    tasks: list[tuple[str, str, Callable[..., list[CheckResult]], tuple]] = []
    for check, s in resolved.items():
        if check == "bass":
            tasks.append((check, "bass", bass_check, (s,)))
        elif check == "erlang":
            points = _erlang_points(s)
            tasks += [(check, f"erlang c={c} load={rho:g}", erlang_point, (s, c, rho, len(points)))
                      for c, rho in points]
        elif check == "erlang_hours":
            tasks.append((check, "erlang_hours", hours_check, (s,)))
    done: dict[str, list[CheckResult]] = {}
    local = [c for c in resolved if c not in ("bass", "erlang", "erlang_hours")]
    if workers > 1 and len(tasks) > 1:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=ctx) as pool:
            futures = [(check, label, pool.submit(fn, *args)) for check, label, fn, args in tasks]
            say(f"{len(tasks)} compute tasks ({', '.join(t[1] for t in tasks)}) "
                f"in {min(workers, len(tasks))} worker processes")
            for check in local:
                say(f"{check} …")
                done[check] = _RUNNERS[check](resolved[check], context)
            for check, label, future in futures:
                rows = future.result()
                say(f"{label} done ({rows[0].seconds:.1f} s)")
                done.setdefault(check, []).extend(rows)
    else:
        for check, label, fn, args in tasks:
            say(f"{label} …")
            rows = fn(*args, context) if check == "erlang_hours" else fn(*args, city=context.city)
            done.setdefault(check, []).extend(rows)
        for check in local:
            say(f"{check} …")
            done[check] = _RUNNERS[check](resolved[check], context)
    return [row for check in resolved for row in done.get(check, [])]


_RUNNERS: dict[str, Callable[[dict[str, Any], _Context], list[CheckResult]]] = {
    "bass": lambda s, ctx: bass_check(s, ctx.city),
    "erlang": _check_erlang,
    "erlang_hours": hours_check,
    "routing": _check_routing,
    "conservation": _check_conservation,
    "reproducibility": _check_reproducibility,
    "patterns": check_patterns,
}
