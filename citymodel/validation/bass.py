"""The ``bass`` check: the model's adoption component against the Bass curve and a per-agent reference."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy import optimize, stats

from citymodel import analytic
from citymodel.validation.results import CheckResult


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
