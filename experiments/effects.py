"""A policy's effect on each metric: paired differences over replicates, t intervals, cost per outcome.

Replicate ``k`` of a policy and of the baseline share a seed (common random numbers), so
the effect is estimated from the paired differences ``d_k = policy_k - baseline_k``:
the mean difference, and the 95 % t interval ``mean ± t(0.975, n-1) · s / √n`` (``s`` the
sample standard deviation of the ``d_k``, ``n`` the replicates where both runs have the
metric). Cost-effectiveness is the ratio of mean differences ``mean(Δspend) / mean(Δeffect)``
with a percentile bootstrap interval over replicates (paired resampling of whole
replicates; a resample whose mean effect is not positive gives an unbounded ratio).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20160815  # fixed: the same runs give the same intervals


@dataclass(frozen=True)
class Effect:
    """Mean paired difference with its t interval (NaN bounds with fewer than two pairs)."""

    mean_diff: float
    ci_low: float
    ci_high: float
    n: int


def paired_differences(policy: Sequence[float], baseline: Sequence[float]) -> np.ndarray:
    """``policy_k - baseline_k`` for the replicates where both are numbers (NaN = missing)."""
    p = np.asarray(policy, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if p.shape != b.shape:
        msg = f"paired values need the same replicates, got {p.shape} and {b.shape}"
        raise ValueError(msg)
    keep = np.isfinite(p) & np.isfinite(b)
    return p[keep] - b[keep]


def t_interval(diffs: Sequence[float], confidence: float = CONFIDENCE) -> Effect:
    """Mean of ``diffs`` and its two-sided t interval at ``confidence``.

    With identical differences the interval is that value exactly (zero width); with one
    difference the bounds are NaN; with none the mean is NaN and n = 0.
    """
    d = np.asarray(diffs, dtype=float)
    n = len(d)
    if n == 0:
        return Effect(math.nan, math.nan, math.nan, 0)
    mean = float(d.mean())
    if n == 1:
        return Effect(mean, math.nan, math.nan, 1)
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        return Effect(mean, mean, mean, n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return Effect(mean, mean - half, mean + half, n)


def effect(policy: Sequence[float], baseline: Sequence[float], confidence: float = CONFIDENCE) -> Effect:
    """The paired effect of a policy on one metric (see :func:`t_interval`)."""
    return t_interval(paired_differences(policy, baseline), confidence)


@dataclass(frozen=True)
class CostEffect:
    """Public spend per unit of outcome: estimate and bootstrap interval (£ per unit).

    ``estimate`` is NaN when the mean outcome difference is not positive; ``ci_high`` is
    inf when some resamples have no positive mean outcome.
    """

    spend_diff: float
    effect_diff: float
    estimate: float
    ci_low: float
    ci_high: float
    n: int


def _ratio(spend: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Ratio of means along the last axis; +inf (or NaN for no extra spend) where the mean outcome is <= 0."""
    s, o = spend.mean(axis=-1), outcome.mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = s / o
    return np.where(o > 0, r, np.where(s > 0, np.inf, np.nan))


def cost_effect(spend_diff: Sequence[float], outcome_diff: Sequence[float], *,
                samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED,
                confidence: float = CONFIDENCE) -> CostEffect:
    """Cost per unit of outcome from paired per-replicate differences (NaN pairs dropped).

    Parameters
    ----------
    spend_diff
        Δ public spend per replicate (£).
    outcome_diff
        Δ outcome per replicate (e.g. additional included citizens, hours saved).
    samples, seed
        Bootstrap resamples of the replicates and their seed.
    confidence
        Coverage of the percentile interval.
    """
    s = np.asarray(spend_diff, dtype=float)
    o = np.asarray(outcome_diff, dtype=float)
    keep = np.isfinite(s) & np.isfinite(o)
    s, o = s[keep], o[keep]
    n = len(s)
    if n == 0:
        return CostEffect(math.nan, math.nan, math.nan, math.nan, math.nan, 0)
    estimate = float(_ratio(s, o))
    estimate = estimate if math.isfinite(estimate) else math.nan
    if n < 2:
        return CostEffect(float(s.mean()), float(o.mean()), estimate, math.nan, math.nan, n)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(samples, n))
    ratios = _ratio(s[idx], o[idx])
    ratios = ratios[~np.isnan(ratios)]
    if len(ratios) == 0:
        return CostEffect(float(s.mean()), float(o.mean()), estimate, math.nan, math.nan, n)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(ratios, [tail, 100 - tail], method="inverted_cdf")  # no interpolation with inf
    return CostEffect(float(s.mean()), float(o.mean()), estimate, float(low), float(high), n)


def hours_saved(base_mean_h: Sequence[float], policy_mean_h: Sequence[float],
                policy_n: Sequence[float]) -> np.ndarray:
    """Delivery hours saved per replicate: (baseline mean − policy mean delivery time, h) × policy deliveries.

    The policy's delivered orders, each valued at the baseline's mean delivery time of the
    same replicate; NaN where either mean is missing.
    """
    b = np.asarray(base_mean_h, dtype=float)
    p = np.asarray(policy_mean_h, dtype=float)
    n = np.asarray(policy_n, dtype=float)
    return (b - p) * n
