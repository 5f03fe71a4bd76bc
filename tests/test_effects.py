"""The effect and cost-effectiveness arithmetic of `citymodel compare`, checked against scipy.stats."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from citymodel.experiments.effects import cost_effect, effect, hours_saved, paired_differences, t_interval


@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_t_interval_matches_scipy_paired_t_test(n):
    rng = np.random.default_rng(n)
    policy, baseline = rng.normal(3.0, 2.0, n), rng.normal(2.0, 2.0, n)
    e = effect(policy, baseline)
    ci = stats.ttest_rel(policy, baseline).confidence_interval(0.95)
    assert e.n == n
    assert e.mean_diff == pytest.approx(np.mean(policy - baseline), rel=1e-12)
    assert (e.ci_low, e.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    lo, hi = stats.t.interval(0.95, n - 1, loc=np.mean(policy - baseline), scale=stats.sem(policy - baseline))
    assert (e.ci_low, e.ci_high) == pytest.approx((lo, hi), rel=1e-10)


def test_identical_runs_give_exactly_zero_with_zero_width():
    values = [0.013, 0.0125, 0.0151]
    e = effect(values, list(values))
    assert (e.mean_diff, e.ci_low, e.ci_high, e.n) == (0.0, 0.0, 0.0, 3)


def test_constant_difference_has_zero_width_interval():
    e = t_interval([2.5, 2.5, 2.5, 2.5])
    assert (e.mean_diff, e.ci_low, e.ci_high) == (2.5, 2.5, 2.5)


def test_missing_values_drop_the_pair_and_few_pairs_give_nan_bounds():
    assert paired_differences([1.0, np.nan, 3.0], [0.5, 1.0, np.nan]).tolist() == [0.5]
    one = effect([1.0, np.nan], [0.0, 2.0])
    assert one.n == 1 and one.mean_diff == 1.0 and math.isnan(one.ci_low) and math.isnan(one.ci_high)
    none = effect([np.nan], [1.0])
    assert none.n == 0 and math.isnan(none.mean_diff)
    with pytest.raises(ValueError, match="same replicates"):
        paired_differences([1.0, 2.0], [1.0])


def test_interval_covers_the_true_effect_95_percent_of_the_time_and_a_z_interval_would_not():
    """Coverage over 4,000 experiments of 3 replicates: the t interval covers ~95 %; the normal (z) interval,
    the smallest plausible mistake, covers ~82 % and falls outside the tolerance."""
    rng = np.random.default_rng(7)
    true, n, trials = 1.5, 3, 4000
    diffs = rng.normal(true, 1.0, (trials, n))
    covered = 0
    z_covered = 0
    for d in diffs:
        e = t_interval(d)
        covered += e.ci_low <= true <= e.ci_high
        half_z = 1.959964 * d.std(ddof=1) / math.sqrt(n)
        z_covered += d.mean() - half_z <= true <= d.mean() + half_z
    tolerance = 3 * math.sqrt(0.95 * 0.05 / trials)  # three binomial standard errors
    assert abs(covered / trials - 0.95) < tolerance
    assert abs(z_covered / trials - 0.95) > tolerance


def test_cost_effect_is_the_ratio_of_mean_differences_with_a_bootstrap_interval():
    spend = np.array([100.0, 120.0, 80.0, 110.0, 90.0])
    extra = np.array([2.0, 3.0, 1.0, 2.0, 2.0])
    c = cost_effect(spend, extra)
    assert c.n == 5
    assert c.estimate == pytest.approx(spend.mean() / extra.mean())
    assert c.ci_low <= c.estimate <= c.ci_high
    # the same percentile bootstrap written out by hand (same seed, same resamples)
    rng = np.random.default_rng(20160815)
    idx = rng.integers(0, 5, size=(2000, 5))
    ratios = spend[idx].mean(axis=1) / extra[idx].mean(axis=1)
    low, high = np.percentile(ratios, [2.5, 97.5], method="inverted_cdf")
    assert (c.ci_low, c.ci_high) == pytest.approx((low, high))
    assert cost_effect(spend, extra) == c  # same runs, same interval


def test_cost_effect_without_a_positive_effect():
    none = cost_effect([100.0, 100.0, 100.0], [0.0, 0.0, 0.0])
    assert math.isnan(none.estimate) and none.ci_low == none.ci_high == math.inf  # no extra citizen at any price
    mixed = cost_effect([100.0, 100.0, 100.0], [3.0, -1.0, 1.0])
    assert mixed.estimate == pytest.approx(100.0)
    assert mixed.ci_high == math.inf  # some resamples have no positive mean effect: the ratio is unbounded
    exact = cost_effect([10.0, 10.0, 10.0], [1.0, 1.0, 1.0])
    assert (exact.estimate, exact.ci_low, exact.ci_high) == (10.0, 10.0, 10.0)


def test_hours_saved_values_the_policy_deliveries_at_the_baseline_mean():
    saved = hours_saved([100.0, 90.0], [80.0, 95.0], [10, 4])
    assert saved.tolist() == [200.0, -20.0]
    assert math.isnan(hours_saved([np.nan], [1.0], [3])[0])
