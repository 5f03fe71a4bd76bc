"""Closed-form reference results: Bass diffusion, Erlang B/C, batch means."""

import math

import numpy as np
import pytest

from citymodel.analytic import (
    bass_adopter_share,
    bass_peak_time,
    batch_means_ci,
    erlang_b,
    erlang_c_mean_wait,
    erlang_c_wait_probability,
    mmc_utilization,
)

# ---------------------------------------------------------------- Bass


def test_bass_starts_at_zero_and_tends_to_one():
    f = bass_adopter_share([0.0, 1000.0], p=0.03, q=0.38)
    assert f[0] == 0.0
    assert f[1] == pytest.approx(1.0)


def test_bass_value_by_hand():
    # p = 0.03, q = 0.38, t = 1 yr: e^-(0.41) = 0.663650250,
    # F = (1 - 0.663650250) / (1 + (0.38/0.03) * 0.663650250)
    #   = 0.336349750 / (1 + 12.6666667 * 0.663650250) = 0.336349750 / 9.406236500 = 0.0357582
    assert float(bass_adopter_share(1.0, 0.03, 0.38)) == pytest.approx(0.0357582, rel=1e-5)


def test_bass_pure_innovation_is_exponential():
    # q = 0: F(t) = 1 - e^{-p t}; p = 0.5, t = 2: 1 - e^-1 = 0.632120559
    assert float(bass_adopter_share(2.0, 0.5, 0.0)) == pytest.approx(0.632120559)


def test_bass_inflection_and_symmetry():
    p, q = 0.03, 0.38
    t_star = bass_peak_time(p, q)
    # t* = ln(q/p)/(p+q) = ln(12.6667)/0.41 = 2.538974/0.41 = 6.19262 yr
    assert t_star == pytest.approx(6.19262, rel=1e-5)
    # F(t*) = (q - p)/(2q) = 0.35/0.76 = 0.460526
    assert float(bass_adopter_share(t_star, p, q)) == pytest.approx(0.35 / 0.76)
    # the adoption rate f = dF/dt is symmetric around t*
    d, h = 2.0, 1e-5

    def rate(t):
        return float((bass_adopter_share(t + h, p, q) - bass_adopter_share(t - h, p, q)) / (2 * h))

    assert rate(t_star - d) == pytest.approx(rate(t_star + d), rel=1e-6)
    assert rate(t_star) > rate(t_star + d)


def test_bass_is_monotone_and_keeps_shape():
    t = np.linspace(0, 30, 301).reshape(7, 43)
    f = bass_adopter_share(t, 0.01, 0.4)
    assert f.shape == t.shape
    assert np.all(np.diff(f.ravel()) > 0)


@pytest.mark.parametrize(("p", "q", "t"), [(0.0, 0.4, 1.0), (0.03, -0.1, 1.0), (0.03, 0.4, -1.0)])
def test_bass_rejects_bad_input(p, q, t):
    with pytest.raises(ValueError, match=r"p|q|t_years"):
        bass_adopter_share(t, p, q)


def test_bass_peak_needs_q_above_p():
    with pytest.raises(ValueError, match="q > p"):
        bass_peak_time(0.4, 0.1)


# ---------------------------------------------------------------- Erlang


def test_mm1_wait_matches_closed_form():
    # M/M/1, lambda = 0.5, mu = 1: rho = 0.5, P(wait) = rho = 0.5,
    # Wq = rho / (mu - lambda) = 0.5 / 0.5 = 1.0
    assert erlang_c_wait_probability(1, 0.5) == pytest.approx(0.5)
    assert erlang_c_mean_wait(0.5, 1.0, 1) == pytest.approx(1.0)
    # lambda = 3/h, mu = 4/h: rho = 0.75, Wq = 0.75 / (4 - 3) = 0.75 h
    assert erlang_c_mean_wait(3.0, 4.0, 1) == pytest.approx(0.75)


def test_mm2_matches_closed_form():
    # M/M/2, lambda = 1, mu = 1: a = 1, rho = a/c = 0.5.
    # P(wait) = 2 rho^2 / (1 + rho) = 0.5 / 1.5 = 1/3
    # Wq = rho^2 / (mu (1 - rho^2)) = 0.25 / 0.75 = 1/3 (= P(wait)/(c mu - lambda) = (1/3)/1)
    assert erlang_c_wait_probability(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c_mean_wait(1.0, 1.0, 2) == pytest.approx(1 / 3)
    # lambda = 3, mu = 2, c = 2: rho = 0.75, Wq = 0.5625 / (2 * (1 - 0.5625)) = 0.642857
    assert erlang_c_mean_wait(3.0, 2.0, 2) == pytest.approx(0.5625 / 0.875)


def test_erlang_b_by_hand_and_table():
    # c = 1: B = a / (1 + a); a = 2 -> 2/3
    assert erlang_b(1, 2.0) == pytest.approx(2 / 3)
    # c = 2, a = 1: B = (a^2/2) / (1 + a + a^2/2) = 0.5 / 2.5 = 0.2
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    # standard Erlang B table: c = 10, a = 5 erlangs -> 0.01838
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=5e-6)


def test_erlang_c_is_stable_for_many_servers():
    # a^c / c! would overflow a float for c = 500; the recursion does not.
    p_wait = erlang_c_wait_probability(500, 450.0)
    assert 0.0 < p_wait < 1.0
    assert math.isfinite(erlang_c_mean_wait(450.0, 1.0, 500))


def test_mmc_utilization():
    # rho = lambda / (c mu) = 3 / (4 * 1.5) = 0.5
    assert mmc_utilization(3.0, 1.5, 4) == pytest.approx(0.5)


@pytest.mark.parametrize(("lam", "mu", "c"), [(2.0, 1.0, 2), (3.0, 1.0, 2), (0.5, 1.0, 0)])
def test_unstable_or_invalid_queue_raises(lam, mu, c):
    with pytest.raises(ValueError, match=r"steady state|servers"):
        erlang_c_mean_wait(lam, mu, c)
    with pytest.raises(ValueError, match=r"steady state|servers"):
        mmc_utilization(lam, mu, c)


def test_erlang_c_rejects_load_at_capacity():
    with pytest.raises(ValueError, match="steady state"):
        erlang_c_wait_probability(2, 2.0)


# ---------------------------------------------------------------- batch means


def test_batch_means_by_hand():
    # 4 batches of 2: means 1, 2, 3, 4 -> grand mean 2.5
    # s^2 = (1.5^2 + 0.5^2 + 0.5^2 + 1.5^2) / 3 = 5/3, s = 1.290994
    # t_{3, 0.975} = 3.182446 -> half width = 3.182446 * 1.290994 / 2 = 2.054260
    # lag-1: [(-1.5)(-0.5) + (-0.5)(0.5) + (0.5)(1.5)] / 5 = 1.25 / 5 = 0.25
    mean, half, lag1 = batch_means_ci([1, 1, 2, 2, 3, 3, 4, 4], n_batches=4)
    assert mean == pytest.approx(2.5)
    assert half == pytest.approx(2.054260, rel=1e-6)
    assert lag1 == pytest.approx(0.25)


def test_batch_means_drops_earliest_remainder():
    # 9 samples, 4 batches of 2: the first sample (100, warm-up) is dropped
    mean, _, _ = batch_means_ci([100, 1, 1, 2, 2, 3, 3, 4, 4], n_batches=4)
    assert mean == pytest.approx(2.5)


def test_batch_means_covers_true_mean_of_iid_noise():
    rng = np.random.default_rng(7)
    x = rng.normal(10.0, 2.0, size=20_000)
    mean, half, lag1 = batch_means_ci(x, n_batches=20, confidence=0.99)
    assert abs(mean - 10.0) < half
    assert abs(lag1) < 0.6


def test_batch_means_constant_series():
    mean, half, lag1 = batch_means_ci(np.full(40, 3.0), n_batches=20)
    assert (mean, half) == (3.0, 0.0)
    assert math.isnan(lag1)


@pytest.mark.parametrize(
    ("samples", "k", "conf"),
    [([1.0, 2.0], 20, 0.95), (list(range(40)), 1, 0.95), (list(range(40)), 4, 1.5)],
)
def test_batch_means_rejects_bad_input(samples, k, conf):
    with pytest.raises(ValueError, match=r"n_batches|confidence"):
        batch_means_ci(samples, n_batches=k, confidence=conf)
