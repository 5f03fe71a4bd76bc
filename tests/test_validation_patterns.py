"""The empirical patterns section (reported, never failing) and the reproducibility check's fault test."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from citymodel import accounts as accounts_module
from citymodel.validation import PATTERNS, run_checks


@pytest.fixture(scope="module")
def rows():
    return {r.quantity: r for r in run_checks(["patterns"], {"citizens": "2500", "days": "21"}, workers=1)}


def test_patterns_are_reported_with_the_source_range_and_not_counted(rows):
    assert set(rows) == set(PATTERNS)
    for name, r in rows.items():
        low, high, source = PATTERNS[name]
        assert not r.counted
        assert r.analytic_value - r.tolerance == pytest.approx(low)
        assert r.analytic_value + r.tolerance == pytest.approx(high)
        assert r.passed == bool(np.isfinite(r.model_value) and low <= r.model_value <= high)
        assert "PARAMETERS" in r.tolerance_basis and source in r.tolerance_basis


def test_pattern_values_are_the_metrics_of_the_run(default_city):
    from citymodel.runner import simulate
    from citymodel.validation import city_config, pattern_values

    result = simulate(city_config(1500, 14, 3), default_city)
    values = pattern_values(result.tables, 14 * 1440.0)
    fac = result.tables["facilities"]
    spaces = fac[fac["kind"] == "makerspace"]
    assert values["makerspace_utilization"][0] == pytest.approx(
        spaces["busy_machine_hours"].sum() / spaces["open_machine_hours"].sum())
    orders = result.tables["orders"]
    live = orders["status"].astype(str).isin(["delivered", "in_progress"])
    local = live & (orders["channel"].astype(str) != "import")
    assert values["dm_share_of_purchases"][0] == pytest.approx(local.sum() / live.sum())
    platform = orders[(orders["channel"].astype(str) == "platform") & (orders["product"].astype(str) == "household")
                      & (orders["status"].astype(str) == "delivered")]
    days = (platform["delivered_min"] - platform["created_min"]) / 1440.0
    assert values["platform_household_delivery_days"][0] == pytest.approx(float(np.median(days)))


def test_a_pattern_outside_its_range_does_not_fail_validate():
    out = subprocess.run(["citymodel", "validate", "--only", "patterns", "--set", "citizens=1500",
                          "--set", "days=14", "--json"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert all(d["counted"] is False for d in data)
    text = subprocess.run(["citymodel", "validate", "--only", "patterns", "--set", "citizens=1500",
                           "--set", "days=14"], capture_output=True, text=True, check=False).stdout
    assert "0 of 0 passed; 6 empirical patterns reported (not counted)" in text


# --------------------------------------------------------------------------- reproducibility
def test_reproducibility_fails_when_this_process_rounds_one_payment_differently(monkeypatch):
    # The spawned worker runs the unpatched code; here every facility's share moves by one ulp.
    split = accounts_module.platform_split
    monkeypatch.setattr(accounts_module, "platform_split",
                        lambda price, platform: (np.nextafter(split(price, platform)[0], np.inf),
                                                 split(price, platform)[1]))
    rows = {r.quantity: r for r in run_checks(["reproducibility"], {"citizens": "1500", "days": "4"}, workers=1)}
    assert not rows["identical_files"].passed
    assert "ledger.parquet" in rows["identical_files"].detail
