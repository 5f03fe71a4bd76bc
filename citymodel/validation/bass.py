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


def _aware_by_day(model, n: int, days: int) -> np.ndarray:
    """Citizens aware or beyond at the end of each simulated day 0..days-1 (the model's time series)."""
    from citymodel.population import AWARE, STAGES
    from citymodel.tables import model_tables

    ts = model_tables(model)["timeseries"]
    # Row ``hour`` is recorded at the end of that hour; the last row of day d holds the state
    # after the updates at the start of days 0..d, i.e. at t = (d + 1) days in Bass time.
    end_of_day = ts[(ts["hour"] + 1) % 24 == 0]
    beyond = [f"n_{name}" for name in STAGES[AWARE:]]
    return end_of_day[beyond].sum(axis=1).to_numpy()[:days]


def _run_bass_model(p: float, q: float, n: int, days: int, seed: int, city, well_mixed: bool,
                    users: float = 0.0):
    """The Bass-limit :class:`~citymodel.model.CityModel` run for ``days``: (model, aware per day).

    ``users`` > 0: the default imitation (``adoption.imitation = "users"``) with that share of
    citizens owning a machine at day 0 — the only DM users of a run without orders."""
    from citymodel.model import CityModel

    cfg = bass_config(p, q, n, seed)
    cfg.adoption.well_mixed = well_mixed
    if users > 0:
        cfg.adoption.imitation = "users"
        cfg.adoption.initial_maker_share = users
    if city is None:
        from citymodel.maps import load_city

        city = load_city("default")
    model = CityModel(cfg, city)
    model.run(days)
    return model, _aware_by_day(model, n, days)


def network_reference(ties, p: float, q: float, days: int, seed: int, users: np.ndarray | None = None
                      ) -> np.ndarray:
    """The Bass process on a tie graph, simulated agent by agent (plain Python over networkx).

    Each day, every unaware citizen i becomes aware with probability
    ``1 - exp(-(p + q a_i / k_i) / 365)``, ``a_i`` its aware neighbours and ``k_i`` its degree
    (0 share without ties), all from the state at the start of the day. With ``users`` (a
    boolean per citizen: the DM users, aware from the start) ``a_i`` counts the neighbours who
    are users instead (the default imitation in a run without orders: users never change). The uniforms are the
    run's keyed draws (stream ``AWARENESS``, key (citizen, day + 1)), made afresh from the seed,
    so a correct model makes exactly the same citizens aware on the same days.

    Parameters
    ----------
    ties
        The model's tie matrix (symmetric, 0/1), turned into a :class:`networkx.Graph`.
    p, q
        Innovation and imitation (1/year).
    days
        Daily updates.
    seed
        The run's seed.

    Returns
    -------
    numpy.ndarray
        Citizens aware at the end of each day 0..days-1.
    """
    import networkx as nx

    from citymodel.keyed_random import AWARENESS, KeyedRandom

    graph = nx.from_scipy_sparse_array(ties)
    n = graph.number_of_nodes()
    keyed = KeyedRandom(seed)
    degree = [graph.degree(i) for i in range(n)]
    neighbours = [list(graph.neighbors(i)) for i in range(n)]
    aware = [False] * n
    aware_ties = [0] * n
    total = 0
    if users is not None:
        for i in np.flatnonzero(users).tolist():
            aware[i] = True
            total += 1
            for j in neighbours[i]:
                aware_ties[j] += 1
    out = np.zeros(days, dtype=np.int64)
    dt = 1.0 / 365.0
    for day in range(days):
        u = keyed.uniform(AWARENESS, np.arange(n), day + 1).tolist()
        new = []
        for i in range(n):
            if aware[i]:
                continue
            share = aware_ties[i] / degree[i] if degree[i] else 0.0
            if u[i] < 1.0 - math.exp(-(p + q * share) * dt):
                new.append(i)
        for i in new:
            aware[i] = True
            if users is None:
                for j in neighbours[i]:
                    aware_ties[j] += 1
        total += len(new)
        out[day] = total
    return out


def bass_check(s: dict[str, Any], city=None) -> list[CheckResult]:
    """The ``bass`` check with resolved settings ``s`` (see :data:`SETTINGS`) on ``city``
    (the default map if None): two rows.

    ``days_outside_band``
        The well-mixed model (imitation from the whole population: the complete-graph limit)
        against the Bass curve F(t), every day against its own band
        ``|x_k - F(t_k)| + z sd_k`` (discrete-time deviation plus linear-noise standard
        deviation, z Bonferroni over the days).
    ``network_max_citizens_differing``
        The model on its tie graph against :func:`network_reference` on the same graph and
        the same draws: the largest daily difference in aware citizens (exactly 0).
    """
    from citymodel.config import Config

    t0 = time.perf_counter()
    base = Config().adoption
    p = s["p"] if s["p"] is not None else base.bass_p
    q = s["q"] if s["q"] is not None else base.bass_q
    n = s["citizens"]
    factor = s["inject_q_factor"]
    days = s["days"] if s["days"] is not None else bass_days_to(p, q)
    _, aware = _run_bass_model(p, q * factor, n, days, s["seed"], city, well_mixed=True)
    k = np.arange(1, days + 1)
    share = aware / n
    t_years = k / 365.0
    f = analytic.bass_adopter_share(t_years, p, q)
    gap = np.abs(share - f)
    x, v = bass_discrete(p, q, days)
    det = np.abs(x[k] - f)
    alpha = 1.0 - s["confidence"]
    z = float(stats.norm.ppf(1.0 - alpha / (2 * days)))
    band = det + z * np.sqrt(v[k] / n)
    outside = gap > band
    ratio = gap / band
    worst = int(np.argmax(ratio))
    injected = {"inject_q_factor": factor} if factor != 1.0 else {}
    mixed = CheckResult(
        "bass", "days_outside_band",
        {"case": "complete graph (well mixed)", "p_per_year": p, "q_per_year": q, "citizens": n,
         "days": days, "seed": s["seed"], "dt_days": 1, **injected},
        float(outside.sum()), 0.0, 0.0, bool(not outside.any()),
        tolerance_basis=(f"every day k: |share_k - F(t_k)| <= |x_k - F(t_k)| + z sd_k (discrete-time "
                         f"deviation, max {det.max():.1e}, plus linear-noise sd), z={z:.2f} "
                         f"(Bonferroni over {days} days, family-wise {100 * s['confidence']:g} %)"),
        detail=(f"largest gap/band {ratio[worst]:.2f} at day {int(k[worst])}: model "
                f"{share[worst]:.4f} vs F {f[worst]:.4f} (band {band[worst]:.4f}); narrowest band "
                f"{band.min():.4f}, widest {band.max():.4f}; final share {share[-1]:.4f} vs "
                f"F {f[-1]:.4f}"),
        seconds=time.perf_counter() - t0,
        series={"model_series": share.tolist(), "analytic_series": f.tolist(),
                "band_series": band.tolist()},
    )
    t1 = time.perf_counter()
    pn, qn, nn = s["network_p"], s["network_q"], s["network_citizens"]
    dn = s["network_days"] if s["network_days"] is not None else bass_days_to(pn, qn)
    model, net = _run_bass_model(pn, qn * factor, nn, dn, s["seed"], city, well_mixed=False)
    ref = network_reference(model.population.ties, pn, qn, dn, s["seed"])
    diff = np.abs(net - ref)
    first = int(np.argmax(diff > 0)) if diff.any() else -1
    kn = np.arange(1, dn + 1) / 365.0
    network = CheckResult(
        "bass", "network_max_citizens_differing",
        {"case": "tie graph (imitation of aware ties)", "p_per_year": pn, "q_per_year": qn,
         "citizens": nn, "days": dn, "seed": s["seed"], "dt_days": 1, **injected},
        float(diff.max()), 0.0, 0.0, bool(not diff.any()),
        tolerance_basis=("exact: the same draws on the same graph give the same citizens "
                         "(a 1-ulp difference in exp flips a draw with probability ~1e-16)"),
        detail=(f"{int(model.degree.sum()) // 2} ties, mean degree {model.degree.mean():.2f}; final aware "
                f"{net[-1] / nn:.4f} (reference {ref[-1] / nn:.4f}, well-mixed F "
                f"{float(analytic.bass_adopter_share(kn[-1], pn, qn)):.4f})"
                + (f"; first difference on day {first}" if first >= 0 else "")),
        seconds=time.perf_counter() - t1,
        series={"model_series": (net / nn).tolist(), "analytic_series": (ref / nn).tolist(),
                "band_series": [0.0] * dn},
    )
    t2 = time.perf_counter()
    share_users = s["network_users"]
    model, net_u = _run_bass_model(pn, qn * factor, nn, dn, s["seed"], city, well_mixed=False, users=share_users)
    from citymodel.population import PROSUMER

    users = model.population.stage >= PROSUMER  # the day-0 machine owners (nobody else can become one)
    ref_u = network_reference(model.population.ties, pn, qn, dn, s["seed"], users=users)
    diff_u = np.abs(net_u - ref_u)
    first_u = int(np.argmax(diff_u > 0)) if diff_u.any() else -1
    network_users = CheckResult(
        "bass", "network_users_max_citizens_differing",
        {"case": "tie graph (imitation of DM users: the default)", "p_per_year": pn, "q_per_year": qn,
         "citizens": nn, "days": dn, "seed": s["seed"], "dt_days": 1, "users_share": share_users, **injected},
        float(diff_u.max()), 0.0, 0.0, bool(not diff_u.any()),
        tolerance_basis="exact: the same draws on the same graph give the same citizens",
        detail=(f"{int(users.sum())} users (machine owners at day 0); final aware {net_u[-1] / nn:.4f} "
                f"(reference {ref_u[-1] / nn:.4f})" + (f"; first difference on day {first_u}" if first_u >= 0
                                                        else "")),
        seconds=time.perf_counter() - t2,
        series={"model_series": (net_u / nn).tolist(), "analytic_series": (ref_u / nn).tolist(),
                "band_series": [0.0] * dn},
    )
    return [mixed, network, network_users]
