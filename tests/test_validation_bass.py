"""The bass check: every day against its own band, the network case against an agent-by-agent
reference, and the smallest faults in the model's adoption rule make it fail."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citymodel import adoption
from citymodel.analytic import bass_adopter_share
from citymodel.validation import bass_discrete, results_to_json, run_checks

# Ten times faster than the default (p, q per year): the S takes 496 days.
FAST = {"p": "0.3", "q": "3.8", "citizens": "5000", "network_citizens": "2000", "network_days": "250"}


def _rows(settings: dict) -> dict:
    return {r.quantity: r for r in run_checks(["bass"], settings, workers=1)}


@pytest.fixture(scope="module")
def fast_rows():
    return _rows(FAST)


def test_both_cases_pass_and_carry_their_per_day_series(fast_rows):
    mixed = fast_rows["days_outside_band"]
    network = fast_rows["network_max_citizens_differing"]
    users = fast_rows["network_users_max_citizens_differing"]
    assert mixed.passed and network.passed and users.passed, (mixed.detail, network.detail, users.detail)
    assert mixed.model_value == 0 and network.model_value == 0 and users.model_value == 0
    assert "100 users" in users.detail  # 5 % of 2,000 citizens own a machine at day 0
    days = mixed.parameters["days"]
    assert days == 496
    f = bass_adopter_share(np.arange(1, days + 1) / 365, 0.3, 3.8)
    assert mixed.series["analytic_series"] == pytest.approx(f.tolist(), abs=1e-15)
    model = np.array(mixed.series["model_series"])
    band = np.array(mixed.series["band_series"])
    assert model.shape == band.shape == (days,)
    assert np.all(np.abs(model - f) <= band)
    assert np.all(np.diff(model) >= 0) and 0.9 < model[-1] < 1.0
    assert len(network.series["model_series"]) == 250
    data = {d["quantity"]: d for d in json.loads(results_to_json(fast_rows.values()))}
    for name in ("model_series", "analytic_series", "band_series"):
        assert len(data["days_outside_band"][name]) == days
        assert len(data["network_max_citizens_differing"][name]) == 250


def test_the_band_is_per_day_and_narrow_early(fast_rows):
    band = np.array(fast_rows["days_outside_band"].series["band_series"])
    # at day 10 only a few citizens in 5,000 are aware: the band is about 0.01, not the widest 0.07
    assert band[9] < 0.012 < 0.05 < band.max()
    # the band is the linear-noise sd times z plus the discrete-time deviation
    x, v = bass_discrete(0.3, 3.8, 496)
    assert band[200] > np.sqrt(v[201] / 5000) * 3


def test_imitation_twenty_percent_too_strong_fails_both_cases():
    rows = _rows({**FAST, "inject_q_factor": "1.2"})
    assert not rows["days_outside_band"].passed
    assert rows["days_outside_band"].model_value > 10
    assert not rows["network_max_citizens_differing"].passed
    assert not rows["network_users_max_citizens_differing"].passed


def test_users_pulling_five_percent_less_fail_the_default_imitation_case(monkeypatch):
    weights = adoption.user_weights
    monkeypatch.setattr(adoption, "user_weights", lambda *a: weights(*a) * 0.95)
    rows = _rows({**FAST, "citizens": "500", "days": "30"})
    assert rows["network_max_citizens_differing"].passed  # the aware-imitation case does not use it
    assert not rows["network_users_max_citizens_differing"].passed


def test_a_wrong_hazard_in_the_models_adoption_rule_fails(monkeypatch):
    # the model's awareness rule with a 10 % longer day: the check must see it
    rule = adoption.awareness_probability
    monkeypatch.setattr(adoption, "awareness_probability",
                        lambda p, q, share, dt: rule(p, q, share, dt * 1.1))
    rows = _rows(FAST)
    assert not rows["days_outside_band"].passed
    assert not rows["network_max_citizens_differing"].passed


def test_a_tie_share_off_by_one_tie_fails_the_network_case(monkeypatch):
    # counting one tie too many in every degree: the complete-graph case cannot see it,
    # the network reference must
    original = adoption.Adoption.tie_share

    def share(self, name, flag):
        exact = original(self, name, flag)
        return exact * self.degree / (self.degree + 1.0)

    monkeypatch.setattr(adoption.Adoption, "tie_share", share)
    rows = _rows({**FAST, "citizens": "500", "days": "30"})
    assert not rows["network_max_citizens_differing"].passed


@pytest.mark.slow
def test_bass_check_passes_at_the_default_point():
    rows = _rows({})
    assert rows["days_outside_band"].parameters["citizens"] == 50_000
    assert all(r.passed for r in rows.values()), [r.detail for r in rows.values()]
