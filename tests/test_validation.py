"""The validation suite's plumbing: results, JSON and table output, settings, workers, routing,
reproducibility and check order. Each family's checks and fault tests have their own files
(``test_validation_bass.py``, ``test_validation_erlang.py``, ``test_conservation.py``,
``test_validation_patterns.py``, ``test_calendar.py``).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from rich.table import Table

from citymodel.analytic import bass_adopter_share
from citymodel.errors import ConfigError
from citymodel.validation import (
    CHECKS,
    ROUTING_REL_TOL,
    CheckResult,
    bass_discrete,
    books_vs_ledger,
    format_table,
    resolve_settings,
    results_to_json,
    routing_errors,
    run_checks,
)

REQUIRED_KEYS = {"check", "quantity", "parameters", "model_value", "analytic_value", "tolerance",
                 "passed"}
SMALL_CITY = {"citizens": "1500", "days": "7"}


def _by_quantity(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.quantity: r for r in results}


@pytest.fixture(scope="module")
def city():
    from citymodel.maps import load_city

    return load_city("default")


# --------------------------------------------------------------------------- results and output
def test_result_dict_has_the_documented_keys():
    r = CheckResult("erlang", "utilization", {"servers": 1}, 0.5, 0.5, 0.01, True, "basis")
    d = r.to_dict()
    assert set(d) >= REQUIRED_KEYS
    assert d["passed"] is True and d["tolerance_basis"] == "basis"


def test_json_and_table_output():
    rows = [CheckResult("routing", "max_rel_error_trips", {"citizens": 10}, 0.0, 0.0, 1e-9, True),
            CheckResult("bass", "max_abs_gap", {"p_per_year": 0.03}, math.inf, 0.0, 0.02, False)]
    data = json.loads(results_to_json(rows))
    assert [d["check"] for d in data] == ["routing", "bass"]
    assert all(set(d) >= REQUIRED_KEYS for d in data)
    assert data[1]["model_value"] is None  # inf is not JSON: written as null
    table = format_table(rows)
    assert isinstance(table, Table) and table.row_count == 2


# --------------------------------------------------------------------------- settings
@pytest.mark.parametrize(("only", "settings", "fragment"), [
    (["bas"], None, "unknown check 'bas'"),
    (["erlang"], {"server": "2"}, "unknown validation setting 'server'"),
    (["erlang"], {"servers": "two"}, "'servers' = 'two': expected an integer >= 1"),
    (["erlang"], {"servers": "1.5"}, "expected an integer"),
    (["erlang"], {"load": "1.2"}, "'load' = '1.2': expected a number > 0 and < 1"),
    (["erlang"], {"load": "nan"}, "expected a number"),
    (["erlang"], {"mu": "0"}, "'mu' = '0'"),
    (["bass"], {"p": "-0.1"}, "'p' = '-0.1'"),
    (["bass"], {"servers": "2"}, "unknown validation setting 'servers'"),
    (["erlang"], {"bass.p": "0.1"}, "check 'bass' is not selected"),
    (["erlang"], {"erlang.citizens": "10"}, "unknown validation setting 'erlang.citizens'"),
])
def test_bad_settings_are_one_line_config_errors(only, settings, fragment):
    with pytest.raises(ConfigError) as err:
        run_checks(only=only, settings=settings)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_settings_go_to_every_selected_check_that_has_them():
    resolved = resolve_settings(None, {"seed": "7", "erlang.seed": "9", "citizens": "300"})
    assert list(resolved) == list(CHECKS)
    assert resolved["erlang"]["seed"] == 9
    assert resolved["bass"]["seed"] == resolved["routing"]["seed"] == 7
    assert resolved["bass"]["citizens"] == resolved["reproducibility"]["citizens"] == 300
    assert resolve_settings(["erlang"], {"servers": 4})["erlang"]["servers"] == 4


# --------------------------------------------------------------------------- bass
def test_discrete_bass_recursion_tends_to_the_bass_curve():
    # The daily update is first order in dt: ten times smaller steps, ten times smaller deviation.
    p, q, years = 0.03, 0.38, 14
    coarse, _ = bass_discrete(p, q, years * 365, 1 / 365)
    fine, _ = bass_discrete(p, q, years * 3650, 1 / 3650)
    dev_coarse = np.abs(coarse - bass_adopter_share(np.arange(coarse.size) / 365, p, q)).max()
    dev_fine = np.abs(fine - bass_adopter_share(np.arange(fine.size) / 3650, p, q)).max()
    assert dev_coarse < 1e-3
    assert dev_fine == pytest.approx(dev_coarse / 10, rel=0.05)


def test_linear_noise_variance_matches_binomial_replicates():
    # 4000 replicates of the model's rule (binomial draws, hazard p + q x) against the mean path
    # and linear-noise standard deviation that the bass tolerance uses.
    p, q, n, days = 0.3, 3.8, 5000, 400
    x, v = bass_discrete(p, q, days)
    peak = int(np.argmax(v))
    rng = np.random.default_rng(1)
    counts = np.zeros(4000)
    at_peak = None
    for day in range(days):
        h = 1 - np.exp(-(p + q * counts / n) / 365)
        counts = counts + rng.binomial((n - counts).astype(np.int64), h)
        if day + 1 == peak:
            at_peak = counts / n
    assert (counts / n).mean() == pytest.approx(x[-1], abs=2e-3)
    assert at_peak.mean() == pytest.approx(x[peak], abs=5e-3)
    assert at_peak.std() == pytest.approx(math.sqrt(v[peak] / n), rel=0.1)


# --------------------------------------------------------------------------- workers
def test_parallel_workers_give_the_same_results():
    settings = {"servers": "1", "jobs": "400", "warmup": "50"}
    serial = run_checks(["erlang"], settings, workers=1)
    parallel = run_checks(["erlang"], settings, workers=2)
    assert [(r.parameters["load"], r.quantity) for r in serial] == [
        (load, q) for load in (0.05, 0.1, 0.5, 0.8) for q in ("utilization", "wait_in_service_times")]
    assert [r.model_value for r in serial] == [r.model_value for r in parallel]


# --------------------------------------------------------------------------- routing
def test_routing_check_passes():
    results = run_checks(["routing"], SMALL_CITY)
    assert {r.quantity for r in results} == {"max_rel_error_trips", "max_rel_error_orders"}
    for r in results:
        assert r.parameters["legs"] > 0
        assert r.passed, r.detail


def test_routing_check_detects_a_wrong_travel_time(city):
    graph = city.graph("walk")
    nodes = list(graph.nodes)[:4]
    import networkx as nx

    exact = [nx.shortest_path_length(graph, nodes[0], d, weight="travel_time") for d in nodes[1:]]
    legs = pd.DataFrame({"mode": "walk", "origin_node": nodes[0], "destination_node": nodes[1:],
                         "travel_time_s": exact})
    errors, unreachable = routing_errors(city, legs)
    assert unreachable == 0 and errors.max() == 0.0
    legs.loc[1, "travel_time_s"] *= 1 + 1e-6
    errors, _ = routing_errors(city, legs)
    assert errors[1] == pytest.approx(1e-6, rel=1e-3) and errors[1] > ROUTING_REL_TOL


# --------------------------------------------------------------------------- conservation
def test_books_vs_ledger_detects_unrecorded_revenue():
    tables = {
        "ledger": pd.DataFrame({"payer": ["citizen:1", "platform"],
                                "payee": ["platform", "facility:0"], "amount": [10.0, 8.0]}),
        "facilities": pd.DataFrame({"facility_id": [0, 1], "revenue": [8.0, 0.0]}),
        "designers": pd.DataFrame({"designer_id": [0], "royalty_total": [0.0]}),
    }
    assert books_vs_ledger(tables) == (0.0, 18.0)
    tables["facilities"].loc[1, "revenue"] = 5.0
    assert books_vs_ledger(tables)[0] == 5.0


# --------------------------------------------------------------------------- reproducibility
def test_reproducibility_check_passes():
    results = _by_quantity(run_checks(["reproducibility"], {"citizens": "800", "days": "3"}))
    same = results["identical_files"]
    assert same.passed and same.model_value == same.analytic_value >= 7
    assert results["different_seed_differs"].passed


def test_run_checks_keeps_check_order():
    results = run_checks(["conservation", "routing"], SMALL_CITY)
    assert [r.check for r in results][:9] == ["conservation"] * 9
    assert [r.check for r in results][9:] == ["routing"] * 2
