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

import json
import math
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, stats

from citymodel import analytic
from citymodel.errors import ConfigError

CHECKS = ("bass", "erlang", "routing", "conservation", "reproducibility")
"""Names of the checks, in the order :func:`run_checks` runs them."""

Progress = Callable[[str], None]
"""Called with a one-line message when a check (or an erlang point) starts."""

ERLANG_SERVERS = (1, 2, 4)
ERLANG_LOADS = (0.5, 0.8, 0.9)
ROUTING_REL_TOL = 1e-9
MONEY_REL_TOL = 1e-9
"""Relative float tolerance of money sums (£ per £ moved): rounding only, no modelling slack."""


# --------------------------------------------------------------------------- results
@dataclass
class CheckResult:
    """One compared quantity of one check.

    Attributes
    ----------
    check
        Check name (one of :data:`CHECKS`).
    quantity
        What is compared (e.g. ``utilization``, ``max_abs_gap``).
    parameters
        The point the check ran at (units in the key names or in ``docs/validation.md``).
    model_value
        What the model produced.
    analytic_value
        The reference value (closed form, or the exact value of an invariant).
    tolerance
        Largest accepted ``|model_value - analytic_value|``.
    passed
        Whether the model value is within tolerance.
    tolerance_basis
        How the tolerance was derived (confidence level, formula).
    detail
        Extra diagnostics (counts, confidence intervals, batch-mean autocorrelation).
    """

    check: str
    quantity: str
    parameters: dict[str, Any]
    model_value: float
    analytic_value: float
    tolerance: float
    passed: bool
    tolerance_basis: str = ""
    detail: str = ""
    seconds: float = field(default=math.nan, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict: ``check, quantity, parameters, model_value, analytic_value,
        tolerance, passed`` plus ``tolerance_basis``, ``detail`` and ``seconds`` (wall clock of
        the check point this row belongs to). Non-finite numbers become ``None``."""
        return {
            "check": self.check,
            "quantity": self.quantity,
            "parameters": {k: _plain(v) for k, v in self.parameters.items()},
            "model_value": _plain(self.model_value),
            "analytic_value": _plain(self.analytic_value),
            "tolerance": _plain(self.tolerance),
            "passed": bool(self.passed),
            "tolerance_basis": self.tolerance_basis,
            "detail": self.detail,
            "seconds": _plain(self.seconds),
        }


def _plain(value: Any) -> Any:
    """A JSON-safe Python scalar (numpy scalars unwrapped, NaN/inf as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def results_to_json(results: Iterable[CheckResult]) -> str:
    """The results as a JSON list of objects (see :meth:`CheckResult.to_dict`)."""
    return json.dumps([r.to_dict() for r in results], indent=2, allow_nan=False)


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if value == 0:
        return "0"
    return f"{value:.4g}"


def _param_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v) if isinstance(v, float) else v}" for k, v in params.items())


def format_table(results: Iterable[CheckResult]):
    """A :class:`rich.table.Table` of check, quantity, parameters, model, analytic, tolerance
    and result.

    A row shows the parameters that vary between the rows of its check (e.g. an erlang point's
    servers and load); those shared by all rows of a check, and the basis of each tolerance
    (the ``[n]`` after it), are listed in the caption.
    """
    from rich.table import Table

    results = list(results)
    shared: dict[str, dict[str, Any]] = {}
    for r in results:
        common = shared.setdefault(r.check, dict(r.parameters))
        for key in list(common):
            if key not in r.parameters or r.parameters[key] != common[key]:
                del common[key]
    table = Table(title="citymodel validation", caption_justify="left")
    for name, justify in (("check", "left"), ("quantity", "left"), ("parameters", "left"),
                          ("model", "right"), ("analytic", "right"), ("tolerance", "right"),
                          ("result", "center")):
        table.add_column(name, justify=justify, overflow="fold",
                         no_wrap=name not in ("quantity", "parameters"),
                         min_width=18 if name == "parameters" else None)
    notes: dict[str, int] = {}
    for r in results:
        own = {k: v for k, v in r.parameters.items() if k not in shared[r.check]}
        verdict = "[green]pass[/green]" if r.passed else "[bold red]FAIL[/bold red]"
        tolerance = _fmt(r.tolerance)
        if r.tolerance_basis:
            note = notes.setdefault(r.tolerance_basis, len(notes) + 1)
            tolerance += f" [{note}]"
        table.add_row(r.check, r.quantity, _param_text(own) or "–", _fmt(r.model_value),
                      _fmt(r.analytic_value), tolerance, verdict)
    lines = [f"{check}: {_param_text(common)}" for check, common in shared.items() if common]
    lines += [f"[{n}] {basis}" for basis, n in notes.items()]
    table.caption = "\n".join(lines) if lines else None
    return table


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class _Setting:
    """A ``--set`` parameter of a check: type, default and accepted range."""

    kind: type
    default: Any
    lower: float
    upper: float = math.inf
    lower_open: bool = False
    upper_open: bool = False
    doc: str = ""

    def expected(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        lo = f"> {self.lower:g}" if self.lower_open else f">= {self.lower:g}"
        if math.isinf(self.upper):
            return f"{what} {lo}"
        hi = f"< {self.upper:g}" if self.upper_open else f"<= {self.upper:g}"
        return f"{what} {lo} and {hi}"

    def parse(self, name: str, raw: Any) -> Any:
        """Coerce ``raw`` (a CLI string or a number) or raise a one-line :class:`ConfigError`."""
        try:
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            if self.kind is int:
                if not value.is_integer():
                    raise ValueError
                value = int(value)
        except (TypeError, ValueError):
            msg = f"validation setting '{name}' = {raw!r}: expected {self.expected()}"
            raise ConfigError(msg) from None
        low_bad = value <= self.lower if self.lower_open else value < self.lower
        high_bad = value >= self.upper if self.upper_open else value > self.upper
        if low_bad or high_bad:
            msg = f"validation setting '{name}' = {raw!r}: expected {self.expected()}"
            raise ConfigError(msg)
        return value


_SEED = _Setting(int, 2024, 0, doc="seed of the run")
SETTINGS: dict[str, dict[str, _Setting]] = {
    "bass": {
        "p": _Setting(float, None, 0, lower_open=True, doc="innovation (1/year); default config"),
        "q": _Setting(float, None, 0, doc="imitation (1/year); default from the config"),
        "citizens": _Setting(int, 50_000, 100, doc="population N"),
        "days": _Setting(int, None, 1, doc="simulated days; default: until F(t) = 0.95"),
        "seed": _SEED,
        "confidence": _Setting(float, 0.999, 0, 1, True, True,
                               doc="family-wise confidence of the band over the whole curve"),
        "inject_q_factor": _Setting(float, 1.0, 0,
                                    doc="fault injection: the model runs with q times this "
                                    "(the analytic curve keeps q)"),
    },
    "erlang": {
        "servers": _Setting(int, None, 1, doc="machines c; default grid 1, 2, 4"),
        "load": _Setting(float, None, 0, 1, True, True,
                         doc="rho = lambda/(c mu); default grid 0.5, 0.8, 0.9"),
        "mu": _Setting(float, 1.0, 0, lower_open=True, doc="service rate per machine (1/hour)"),
        "jobs": _Setting(int, 400_000, 1000, doc="measured jobs per point"),
        "warmup": _Setting(int, 40_000, 0, doc="jobs discarded before measuring"),
        "seed": _SEED,
        "confidence": _Setting(float, 0.999, 0, 1, True, True,
                               doc="two-sided confidence of each batch-means interval"),
        "batches": _Setting(int, 20, 2, doc="number of batch means"),
        "inject_service_factor": _Setting(float, 1.0, 0, lower_open=True,
                                          doc="fault injection: work per job is multiplied by "
                                          "this (the analytic values keep mu)"),
    },
    "routing": {"citizens": _Setting(int, 5000, 10), "days": _Setting(int, 14, 1), "seed": _SEED},
    "conservation": {"citizens": _Setting(int, 5000, 10), "days": _Setting(int, 14, 1),
                     "seed": _SEED},
    "reproducibility": {"citizens": _Setting(int, 2000, 10), "days": _Setting(int, 7, 1),
                        "seed": _SEED},
}


def resolve_settings(only: Iterable[str] | None,
                     settings: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Check names and ``--set`` values; return ``{check: {name: value}}`` with defaults filled.

    A plain key (``servers=2``) goes to every selected check that has it; a dotted key
    (``erlang.seed=3``) to that check only. A key no selected check knows, a value of the
    wrong type or out of range, or an unknown check name raises :class:`ConfigError`.
    """
    checks = list(dict.fromkeys(only)) if only else list(CHECKS)
    for name in checks:
        if name not in CHECKS:
            msg = f"unknown check {name!r}: expected one of {', '.join(CHECKS)}"
            raise ConfigError(msg)
    resolved = {c: {k: s.default for k, s in SETTINGS[c].items()} for c in checks}
    for key, raw in (settings or {}).items():
        check, _, name = key.rpartition(".")
        targets = [check] if check else [c for c in checks if name in SETTINGS[c]]
        if check and check not in CHECKS:
            msg = (f"validation setting {key!r}: unknown check {check!r}, "
                   f"expected one of {', '.join(CHECKS)}")
            raise ConfigError(msg)
        if check and check not in checks:
            msg = (f"validation setting {key!r}: check {check!r} is not selected "
                   f"(expected one of {', '.join(checks)})")
            raise ConfigError(msg)
        if not targets or name not in SETTINGS[targets[0]]:
            known = sorted({k for c in ([check] if check else checks) for k in SETTINGS[c]})
            msg = (f"unknown validation setting {key!r} for {', '.join(targets or checks)}: "
                   f"expected one of {', '.join(known)}")
            raise ConfigError(msg)
        for target in targets:
            resolved[target][name] = SETTINGS[target][name].parse(key, raw)
    return resolved


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
    done: dict[str, list[CheckResult]] = {}
    local = [c for c in resolved if c not in ("bass", "erlang")]
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
            kwargs = {"city": context.city} if check == "bass" else {}
            done.setdefault(check, []).extend(fn(*args, **kwargs))
        for check in local:
            say(f"{check} …")
            done[check] = _RUNNERS[check](resolved[check], context)
    return [row for check in resolved for row in done.get(check, [])]


class _Context:
    """What the checks of one :func:`run_checks` call share: the map and finished runs."""

    def __init__(self, progress: Progress) -> None:
        self.say = progress
        self._city = None
        self._runs: dict[tuple[int, int, int], Any] = {}

    @property
    def city(self):
        if self._city is None:
            from citymodel.maps import load_city

            self._city = load_city("default")
        return self._city

    def city_run(self, citizens: int, days: int, seed: int):
        """A default-map run (``runner.simulate``) with these size, length and seed, cached."""
        key = (citizens, days, seed)
        if key not in self._runs:
            from citymodel.runner import simulate

            self._runs[key] = simulate(city_config(citizens, days, seed), self.city)
        return self._runs[key]


def city_config(citizens: int, days: int, seed: int):
    """The default configuration on the default map with a given size (persons), length (days)
    and seed."""
    from citymodel.config import Config

    cfg = Config()
    cfg.run.map = "default"
    cfg.run.citizens = int(citizens)
    cfg.run.days = float(days)
    cfg.run.seed = int(seed)
    return cfg.validate()


# --------------------------------------------------------------------------- bass
def bass_discrete(p: float, q: float, days: int, dt_years: float = 1.0 / 365.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Mean path and linear-noise variance of the model's daily awareness update.

    The model (``CityModel._daily_update``, well mixed) makes each unaware citizen aware
    with probability ``h(x) = 1 - exp(-(p + q x) dt)``, ``x`` the aware share. Its mean
    path is ``x[k+1] = x[k] + (1 - x[k]) h(x[k])`` and, linearising around it, the variance
    of ``N x[k]`` divided by ``N`` follows ``V[k+1] = phi'(x[k])**2 V[k] + (1 - x[k]) h (1 - h)``
    with ``phi'(x) = 1 - h(x) + (1 - x) q dt exp(-(p + q x) dt)`` (binomial draws).

    Parameters
    ----------
    p, q
        Innovation and imitation (1/year).
    days
        Number of daily updates K.
    dt_years
        Update interval (years).

    Returns
    -------
    x, v : numpy.ndarray
        Shape ``[K + 1]``: mean share after k updates, and ``N * Var(share)`` (so the standard
        deviation of the share with N citizens is ``sqrt(v / N)``).
    """
    x = np.zeros(days + 1)
    v = np.zeros(days + 1)
    for k in range(days):
        decay = math.exp(-(p + q * x[k]) * dt_years)
        h = 1.0 - decay
        phi = 1.0 - h + (1.0 - x[k]) * q * dt_years * decay
        v[k + 1] = phi * phi * v[k] + (1.0 - x[k]) * h * (1.0 - h)
        x[k + 1] = x[k] + (1.0 - x[k]) * h
    return x, v


def bass_days_to(p: float, q: float, share: float = 0.95) -> int:
    """Whole days until the Bass curve F reaches ``share`` (p, q per year)."""
    t = optimize.brentq(lambda s: float(analytic.bass_adopter_share(s, p, q)) - share, 0.0, 1e4)
    return int(math.ceil(t * 365.0))


def bass_config(p: float, q: float, citizens: int, seed: int):
    """The model configuration of the Bass limit: well mixed, nobody aware at day 0, no needs
    (hence no orders, prosumers, capacity or price effects), no makers, no training."""
    from citymodel.config import Config

    cfg = Config()
    cfg.run.map = "default"
    cfg.run.citizens = int(citizens)
    cfg.run.seed = int(seed)
    a = cfg.adoption
    a.bass_p, a.bass_q = float(p), float(q)
    a.well_mixed = True
    a.imitation = "aware"
    a.initial_aware_share = 0.0
    a.initial_maker_share = 0.0
    a.maker_rate = 0.0
    a.training_rate = 0.0
    for product in cfg.needs.products.values():
        product["needs_per_citizen_year"] = 0.0
    return cfg.validate()


def bass_check(s: dict[str, Any], city=None) -> list[CheckResult]:
    """The ``bass`` check with resolved settings ``s`` (see :data:`SETTINGS`) on ``city``
    (the default map if None)."""
    from citymodel.config import Config
    from citymodel.model import CityModel
    from citymodel.population import AWARE, STAGES
    from citymodel.tables import model_tables

    t0 = time.perf_counter()
    base = Config().adoption
    p = s["p"] if s["p"] is not None else base.bass_p
    q = s["q"] if s["q"] is not None else base.bass_q
    n = s["citizens"]
    days = s["days"] if s["days"] is not None else bass_days_to(p, q)
    cfg = bass_config(p, q * s["inject_q_factor"], n, s["seed"])
    if city is None:
        from citymodel.maps import load_city

        city = load_city("default")
    model = CityModel(cfg, city)
    model.run(days)
    ts = model_tables(model)["timeseries"]
    # Row ``hour`` is recorded at the end of that hour; the last row of day d holds the state
    # after the updates at the start of days 0..d, i.e. at t = (d + 1) days in Bass time.
    end_of_day = ts[(ts["hour"] + 1) % 24 == 0]
    k = (end_of_day["hour"].to_numpy() + 1) // 24
    beyond = [f"n_{name}" for name in STAGES[AWARE:]]
    share = end_of_day[beyond].sum(axis=1).to_numpy() / n
    t_years = k / 365.0
    f = analytic.bass_adopter_share(t_years, p, q)
    gap = np.abs(share - f)

    x, v = bass_discrete(p, q, days)
    det = np.abs(x[k] - f)
    alpha = 1.0 - s["confidence"]
    z = float(stats.norm.ppf(1.0 - alpha / (2 * len(k))))
    band = det + z * np.sqrt(v[k] / n)
    tolerance = float(band.max())
    worst = int(np.argmax(gap))
    return [CheckResult(
        "bass", "max_abs_gap",
        {"p_per_year": p, "q_per_year": q, "citizens": n, "days": days, "seed": s["seed"],
         "dt_days": 1, **({"inject_q_factor": s["inject_q_factor"]}
                          if s["inject_q_factor"] != 1.0 else {})},
        float(gap.max()), 0.0, tolerance, bool(gap.max() <= tolerance),
        tolerance_basis=(f"max_k(|x_k-F(t_k)| + z*sd_k), discrete-time deviation "
                         f"max {det.max():.1e} + linear-noise sd, z={z:.2f} (Bonferroni over "
                         f"{len(k)} days, family-wise {100 * s['confidence']:g} %)"),
        detail=(f"largest gap at day {int(k[worst])} (t={t_years[worst]:.2f} y): model "
                f"{share[worst]:.4f} vs F {f[worst]:.4f}; final share {share[-1]:.4f} vs "
                f"F {f[-1]:.4f}; max sd {math.sqrt(v.max() / n):.4f}"),
        seconds=time.perf_counter() - t0,
    )]


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


# --------------------------------------------------------------------------- routing
def routing_errors(city, legs) -> tuple[np.ndarray, int]:
    """Relative error of each leg's travel time against networkx on the mode's graph.

    Parameters
    ----------
    city
        The :class:`~citymodel.maps.City` the run used.
    legs
        A DataFrame with ``mode, origin_node, destination_node, travel_time_s`` and a
        RangeIndex.

    Returns
    -------
    errors, unreachable : numpy.ndarray, int
        ``|model - networkx| / networkx`` per leg (0 when both are 0 or both unreachable;
        inf when exactly one is); and the number of legs networkx finds no path for.
    """
    import networkx as nx

    errors = np.zeros(len(legs))
    unreachable = 0
    for (mode, origin), group in legs.groupby(["mode", "origin_node"], sort=True, observed=True):
        graph = city.graph(str(mode))
        lengths = (nx.shortest_path_length(graph, source=int(origin), weight="travel_time")
                   if int(origin) in graph else {})
        for pos, dest, model_s in zip(group.index, group["destination_node"],
                                      group["travel_time_s"], strict=True):
            ref = float(lengths.get(int(dest), math.inf))
            unreachable += math.isinf(ref)
            if ref == model_s:
                errors[pos] = 0.0
            elif ref > 0 and math.isfinite(ref):
                errors[pos] = abs(model_s - ref) / ref
            else:
                errors[pos] = math.inf
    return errors, unreachable


def _check_routing(s: dict[str, Any], ctx: _Context) -> list[CheckResult]:
    t0 = time.perf_counter()
    result = ctx.city_run(s["citizens"], s["days"], s["seed"])
    cols = ["mode", "origin_node", "destination_node", "travel_time_s"]
    trips = result.tables["trips"][cols].reset_index(drop=True)
    orders = result.tables["orders"]
    orders = orders.loc[np.isfinite(orders["travel_time_s"].to_numpy(dtype=float)), cols]
    orders = orders.reset_index(drop=True)
    out = []
    params = {"citizens": s["citizens"], "days": s["days"], "seed": s["seed"], "map": "default"}
    for quantity, legs in (("max_rel_error_trips", trips), ("max_rel_error_orders", orders)):
        legs = legs.astype({"mode": str})
        errors, unreachable = routing_errors(ctx.city, legs)
        worst = float(errors.max()) if len(errors) else math.nan
        modes = legs["mode"].value_counts().sort_index().to_dict()
        out.append(CheckResult(
            "routing", quantity, {**params, "legs": len(legs)}, worst, 0.0, ROUTING_REL_TOL,
            bool(len(errors) > 0 and worst <= ROUTING_REL_TOL),
            tolerance_basis="float64 rounding of path sums (scipy vs networkx Dijkstra)",
            detail=(f"{len(legs)} legs by mode {modes}; {unreachable} unreachable in networkx"
                    if len(legs) else "no legs to check: the run made none"),
            seconds=time.perf_counter() - t0))
    return out


# --------------------------------------------------------------------------- conservation
def books_vs_ledger(tables: Mapping[str, Any]) -> tuple[float, float]:
    """Largest |book - ledger| (£) over facilities and designers, and the total money moved (£).

    A facility's ``revenue`` and a designer's ``royalty_total`` are kept by the agents; the
    ledger's receipts of ``facility:<id>`` and ``designer:<id>`` are recorded separately.
    """
    ledger = tables["ledger"]
    received = ledger.groupby("payee")["amount"].sum()
    gaps = [0.0]
    for df, prefix, id_col, value_col in (
        (tables["facilities"], "facility", "facility_id", "revenue"),
        (tables["designers"], "designer", "designer_id", "royalty_total"),
    ):
        keys = prefix + ":" + df[id_col].astype(str)
        ledger_side = received.reindex(keys.to_numpy(), fill_value=0.0).to_numpy()
        gaps.append(float(np.max(np.abs(df[value_col].to_numpy(dtype=float) - ledger_side),
                                 initial=0.0)))
    return max(gaps), float(ledger["amount"].abs().sum())


def _check_conservation(s: dict[str, Any], ctx: _Context) -> list[CheckResult]:
    from citymodel.metrics import conservation

    t0 = time.perf_counter()
    result = ctx.city_run(s["citizens"], s["days"], s["seed"])
    tables = result.tables
    cons = conservation(tables["orders"], tables["facilities"], tables["ledger"])
    params = {"citizens": s["citizens"], "days": s["days"], "seed": s["seed"], "map": "default"}
    seconds = time.perf_counter() - t0
    o, m, money = cons["orders"], cons["machine_hours"], cons["money"]
    fac = tables["facilities"]
    busy = fac["busy_machine_hours"].to_numpy(dtype=float)
    open_h = fac["open_machine_hours"].to_numpy(dtype=float)
    over = int(np.sum(busy > open_h * (1 + 1e-12) + 1e-9))
    book_gap, moved = books_vs_ledger(tables)
    money_tol = MONEY_REL_TOL * max(moved, 1.0)
    exact = "exact identity (integers)"
    return [
        CheckResult("conservation", "orders_unaccounted", params, float(o["unaccounted"]), 0.0,
                    0.0, bool(o["unaccounted"] == 0 and o["ok"]), tolerance_basis=exact,
                    detail=(f"created {o['created']} = delivered {o['delivered']} + in progress "
                            f"{o['in_progress']} + cancelled {o['cancelled']}"),
                    seconds=seconds),
        CheckResult("conservation", "facilities_busy_over_open", params, float(over), 0.0, 0.0,
                    bool(over == 0 and m["ok"]), tolerance_basis=exact + "; busy <= open per "
                    "facility within float rounding (1e-12 relative)",
                    detail=(f"{len(fac)} facilities; worst busy/open "
                            f"{m['worst_busy_to_open_ratio']:.4f}; metrics violations "
                            f"{m['n_violations']}"), seconds=seconds),
        CheckResult("conservation", "money_paid_minus_received_gbp", params,
                    float(money["total_paid_gbp"] - money["total_received_gbp"]), 0.0, money_tol,
                    bool(money["ok"] and abs(money["residual_gbp"]) <= money_tol
                         and abs(money["total_paid_gbp"] - money["total_received_gbp"])
                         <= money_tol),
                    tolerance_basis=f"float rounding: {MONEY_REL_TOL:g} x £ moved",
                    detail=(f"£{money['total_paid_gbp']:,.2f} paid; net balance residual "
                            f"£{money['residual_gbp']:.3g}; {money['n_bad_rows']} bad rows"),
                    seconds=seconds),
        CheckResult("conservation", "books_minus_ledger_gbp", params, book_gap, 0.0, money_tol,
                    bool(book_gap <= money_tol),
                    tolerance_basis=f"float rounding: {MONEY_REL_TOL:g} x £ moved",
                    detail="largest |facility revenue or designer royalty - ledger receipts|",
                    seconds=seconds),
    ]


# --------------------------------------------------------------------------- reproducibility
def _run_folder(citizens: int, days: int, seed: int, out: str) -> str:
    """Write one default-map run folder (module level so a spawned worker can call it)."""
    from citymodel.runner import run_to_folder

    run_to_folder(city_config(citizens, days, seed), Path(out))
    return out


def parquet_bytes(folder: Path) -> dict[str, bytes]:
    """Every ``.parquet`` file of a run folder by name, as bytes."""
    return {p.name: p.read_bytes() for p in sorted(Path(folder).glob("*.parquet"))}


def _check_reproducibility(s: dict[str, Any], ctx: _Context) -> list[CheckResult]:
    from citymodel.runner import run_to_folder

    t0 = time.perf_counter()
    n, days, seed = s["citizens"], s["days"], s["seed"]
    other = seed + 1
    with tempfile.TemporaryDirectory(prefix="citymodel-validate-") as tmp:
        a, b, c = (Path(tmp) / name for name in ("same_seed_here", "same_seed_worker",
                                                 "other_seed"))
        run_to_folder(city_config(n, days, seed), a, city=ctx.city)
        # A fresh interpreter (spawn): other hash seed, nothing shared with this process.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(_run_folder, n, days, seed, str(b)).result()
        run_to_folder(city_config(n, days, other), c, city=ctx.city)
        first, second, third = parquet_bytes(a), parquet_bytes(b), parquet_bytes(c)
    names = sorted(set(first) | set(second))
    same = [name for name in names if first.get(name) == second.get(name)]
    differ = [name for name in names if name not in same]
    orders_differ = first.get("orders.parquet") != third.get("orders.parquet")
    params = {"citizens": n, "days": days, "seed": seed}
    seconds = time.perf_counter() - t0
    return [
        CheckResult("reproducibility", "identical_files", params, float(len(same)),
                    float(len(names)), 0.0, bool(names and not differ),
                    tolerance_basis="exact: byte-for-byte",
                    detail=(f"seed {seed} in this process and in a spawned worker; "
                            + (f"differ: {', '.join(differ)}" if differ
                               else f"all of {', '.join(names)} identical")),
                    seconds=seconds),
        CheckResult("reproducibility", "different_seed_differs", {**params, "other_seed": other},
                    float(orders_differ), 1.0, 0.0, bool(orders_differ and "orders.parquet"
                                                         in third),
                    tolerance_basis="exact: orders.parquet bytes differ",
                    detail=f"seed {seed} vs {other}: orders.parquet "
                    + ("differs" if orders_differ else "is identical"), seconds=seconds),
    ]


_RUNNERS: dict[str, Callable[[dict[str, Any], _Context], list[CheckResult]]] = {
    "bass": lambda s, ctx: bass_check(s, ctx.city),
    "erlang": _check_erlang,
    "routing": _check_routing,
    "conservation": _check_conservation,
    "reproducibility": _check_reproducibility,
}
