"""Closed-form reference results (Bass diffusion, M/M/c queues, batch means) for validation."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "bass_adopter_share",
    "bass_peak_time",
    "batch_means_ci",
    "erlang_b",
    "erlang_c_mean_wait",
    "erlang_c_wait_probability",
    "mmc_utilization",
]


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        msg = f"{name} must be a finite number > 0, got {value!r}"
        raise ValueError(msg)


def _check_servers(servers: int) -> int:
    if isinstance(servers, bool) or int(servers) != servers or servers < 1:
        msg = f"servers must be an integer >= 1, got {servers!r}"
        raise ValueError(msg)
    return int(servers)


def bass_adopter_share(t_years: npt.ArrayLike, p: float, q: float) -> np.ndarray:
    """Cumulative share of adopters in the Bass (1969) diffusion model.

    F(t) = (1 - exp(-(p+q) t)) / (1 + (q/p) exp(-(p+q) t)).

    Parameters
    ----------
    t_years : array_like
        Time since launch (years, >= 0). Scalars give a 0-d array.
    p : float
        Coefficient of innovation (per year, > 0).
    q : float
        Coefficient of imitation (per year, >= 0).

    Returns
    -------
    numpy.ndarray
        Share of the population that has adopted by ``t_years`` (0..1), same
        shape as ``t_years``.
    """
    _check_positive("p", p)
    if not (math.isfinite(q) and q >= 0):
        msg = f"q must be a finite number >= 0, got {q!r}"
        raise ValueError(msg)
    t = np.asarray(t_years, dtype=float)
    if np.any(t < 0):
        msg = "t_years must be >= 0"
        raise ValueError(msg)
    decay = np.exp(-(p + q) * t)
    return (1.0 - decay) / (1.0 + (q / p) * decay)


def bass_peak_time(p: float, q: float) -> float:
    """Time of the adoption peak (inflection of F) in the Bass model.

    t* = ln(q/p) / (p+q), where F(t*) = (q - p) / (2q).

    Parameters
    ----------
    p : float
        Coefficient of innovation (per year, > 0).
    q : float
        Coefficient of imitation (per year, > p).

    Returns
    -------
    float
        Time of the peak adoption rate (years).
    """
    _check_positive("p", p)
    _check_positive("q", q)
    if q <= p:
        msg = f"the Bass curve has an interior peak only when q > p, got p={p!r}, q={q!r}"
        raise ValueError(msg)
    return math.log(q / p) / (p + q)


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B blocking probability, computed with the stable recursion.

    B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)); no factorials or powers, so
    hundreds of servers do not overflow.

    Parameters
    ----------
    servers : int
        Number of identical servers c (>= 1).
    offered_load : float
        Offered load a = lambda / mu (erlangs, > 0).

    Returns
    -------
    float
        Probability that all c servers are busy in an M/M/c/c loss system.
    """
    c = _check_servers(servers)
    _check_positive("offered_load", offered_load)
    b = 1.0
    for k in range(1, c + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def erlang_c_wait_probability(servers: int, offered_load: float) -> float:
    """Erlang C probability that an arrival has to wait in an M/M/c queue.

    C = c B / (c - a (1 - B)) with B the Erlang B value (Octave ``erlangc``).

    Parameters
    ----------
    servers : int
        Number of identical servers c (>= 1).
    offered_load : float
        Offered load a = lambda / mu (erlangs, 0 < a < c).

    Returns
    -------
    float
        P(wait > 0), between 0 and 1.
    """
    c = _check_servers(servers)
    _check_positive("offered_load", offered_load)
    if offered_load >= c:
        msg = f"offered_load must be < servers for a steady state, got a={offered_load!r}, c={c}"
        raise ValueError(msg)
    b = erlang_b(c, offered_load)
    return c * b / (c - offered_load * (1.0 - b))


def _check_stable(arrival_rate: float, service_rate: float, servers: int) -> int:
    c = _check_servers(servers)
    _check_positive("arrival_rate", arrival_rate)
    _check_positive("service_rate", service_rate)
    if arrival_rate >= c * service_rate:
        msg = (
            f"arrival_rate must be < servers * service_rate for a steady state, got "
            f"lambda={arrival_rate!r} >= c*mu={c * service_rate!r}"
        )
        raise ValueError(msg)
    return c


def erlang_c_mean_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean waiting time in queue W_q of an M/M/c FCFS queue.

    W_q = C(c, a) / (c mu - lambda), a = lambda / mu.

    Parameters
    ----------
    arrival_rate : float
        Poisson arrival rate lambda (jobs per time unit, > 0).
    service_rate : float
        Exponential service rate mu of one server (jobs per time unit, > 0).
    servers : int
        Number of identical servers c (>= 1); needs lambda < c mu.

    Returns
    -------
    float
        Mean time a job waits before service starts, in the time unit of the
        rates (e.g. hours if the rates are per hour).
    """
    c = _check_stable(arrival_rate, service_rate, servers)
    p_wait = erlang_c_wait_probability(c, arrival_rate / service_rate)
    return p_wait / (c * service_rate - arrival_rate)


def mmc_utilization(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Steady-state server utilization of an M/M/c queue, rho = lambda / (c mu).

    Parameters
    ----------
    arrival_rate : float
        Poisson arrival rate lambda (jobs per time unit, > 0).
    service_rate : float
        Service rate mu of one server (jobs per same time unit, > 0).
    servers : int
        Number of identical servers c (>= 1); needs lambda < c mu (an unstable
        queue has no steady state and raises ``ValueError``).

    Returns
    -------
    float
        Long-run fraction of server time busy (0..1).
    """
    c = _check_stable(arrival_rate, service_rate, servers)
    return arrival_rate / (c * service_rate)


def batch_means_ci(
    samples: npt.ArrayLike, n_batches: int = 20, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Confidence interval for a steady-state mean by non-overlapping batch means.

    The series (already past warm-up) is cut into ``n_batches`` batches of
    ``m = len(samples) // n_batches`` consecutive samples; when the length is
    not a multiple of ``n_batches`` the *earliest* remainder samples are
    dropped (they are the ones closest to the warm-up). The interval is
    ``mean +- t_{k-1, (1+confidence)/2} * s / sqrt(k)`` with ``s`` the sample
    standard deviation (ddof=1) of the k batch means (Law & Kelton).

    Parameters
    ----------
    samples : array_like
        1-d time-ordered output series (any unit), all finite.
    n_batches : int, default 20
        Number of batches k (>= 2).
    confidence : float, default 0.95
        Two-sided confidence level (0 < confidence < 1).

    Returns
    -------
    mean : float
        Grand mean of the batch means (unit of ``samples``).
    half_width : float
        Half width of the confidence interval (unit of ``samples``).
    lag1_autocorrelation : float
        Lag-1 autocorrelation of the batch means; near 0 means the batches
        are long enough to be treated as independent. NaN when all batch
        means are equal.
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim != 1:
        msg = f"samples must be 1-dimensional, got shape {x.shape}"
        raise ValueError(msg)
    if not np.all(np.isfinite(x)):
        msg = "samples must all be finite (no NaN or inf)"
        raise ValueError(msg)
    if isinstance(n_batches, bool) or int(n_batches) != n_batches or n_batches < 2:
        msg = f"n_batches must be an integer >= 2, got {n_batches!r}"
        raise ValueError(msg)
    k = int(n_batches)
    if not 0 < confidence < 1:
        msg = f"confidence must be between 0 and 1, got {confidence!r}"
        raise ValueError(msg)
    m = x.size // k
    if m < 1:
        msg = f"need at least n_batches={k} samples, got {x.size}"
        raise ValueError(msg)
    means = x[x.size - k * m :].reshape(k, m).mean(axis=1)
    grand = float(means.mean())
    s = float(means.std(ddof=1))
    t_quantile = float(stats.t.ppf(0.5 + confidence / 2.0, df=k - 1))
    half_width = t_quantile * s / math.sqrt(k)
    dev = means - grand
    denom = float(np.sum(dev**2))
    lag1 = float(np.sum(dev[:-1] * dev[1:]) / denom) if denom > 0 else math.nan
    return grand, half_width, lag1
