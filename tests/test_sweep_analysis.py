"""Sweep analysis: Sobol indices of Ishigami, Morris of a linear function, t-intervals per point."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from citymodel.experiments.analyze import analyze_results, point_statistics, t_interval
from citymodel.experiments.designs import make_design
from citymodel.experiments.spec import Parameter

# analytic Sobol indices of Ishigami (a = 7, b = 0.1) on [-pi, pi]^3 (Ishigami & Homma 1990;
# Saltelli et al. 2008, Global Sensitivity Analysis: The Primer, §4.1)
ISHIGAMI_S1 = np.array([0.3139, 0.4424, 0.0])
ISHIGAMI_ST = np.array([0.5576, 0.4424, 0.2437])


def _results(design, y: np.ndarray, replicates: int = 1) -> pd.DataFrame:
    """A results table in the sweep's layout for a deterministic function of the points."""
    rows = []
    for point in range(len(design)):
        for replicate in range(replicates):
            rows.append({"run": point * replicates + replicate, "point": point, "replicate": replicate,
                         **{p.name: design.points[p.name].iloc[point] for p in design.parameters},
                         "y": y[point], "status": "ok"})
    return pd.DataFrame(rows)


def test_sobol_of_ishigami_matches_the_analytic_indices() -> None:
    params = tuple(Parameter(f"x{i}", f"test.x{i}", "float", low=-math.pi, high=math.pi) for i in (1, 2, 3))
    design = make_design(params, "sobol", samples=1024, seed=42)
    x = design.matrix
    y = np.sin(x[:, 0]) + 7.0 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    analysis = analyze_results(_results(design, y), design, ["y"])
    assert analysis.notes == []
    indices = analysis.indices.set_index("parameter").loc[["x1", "x2", "x3"]]
    # SALib's *_conf is the 95 % bootstrap half-width, 1.96 standard errors. Six indices are
    # tested at once: a family-wise 5 % level (Bonferroni, 0.05 / 6 per index, two-sided)
    # needs z = 2.64, i.e. a tolerance of 2.64 / 1.96 = 1.35 times each half-width.
    z_family = stats.norm.ppf(1 - 0.05 / (2 * 6))
    factor = z_family / stats.norm.ppf(0.975)
    for column, truth in (("S1", ISHIGAMI_S1), ("ST", ISHIGAMI_ST)):
        conf = indices[f"{column}_conf"].to_numpy()
        assert (conf < 0.12).all()  # N = 1024 is precise enough for the test to mean something
        error = np.abs(indices[column].to_numpy() - truth)
        assert (error <= factor * conf).all(), (column, indices[column].to_numpy(), conf)
    # the ranking a modeller reads off: x2 > x1 first order, x3 acts only through interaction
    assert indices.loc["x2", "S1"] > indices.loc["x1", "S1"] > indices.loc["x3", "S1"]
    assert indices.loc["x3", "ST"] - indices.loc["x3", "S1"] > 0.15


def test_morris_of_a_linear_function_gives_its_slopes_times_ranges() -> None:
    params = (Parameter("a", "t.a", "float", low=-1.0, high=1.0), Parameter("b", "t.b", "float", low=0.0, high=2.0),
              Parameter("c", "t.c", "float", low=5.0, high=6.0))
    design = make_design(params, "morris", samples=10, levels=4, seed=3)
    y = 3.0 * design.matrix[:, 0] - 0.5 * design.matrix[:, 1]
    indices = analyze_results(_results(design, y, replicates=2), design, ["y"]).indices.set_index("parameter")
    # an elementary effect is the change of y per unit of the [0, 1]-scaled input: slope x range
    assert indices["mu"].to_numpy() == pytest.approx([6.0, -1.0, 0.0], abs=1e-9)
    assert indices["mu_star"].to_numpy() == pytest.approx([6.0, 1.0, 0.0], abs=1e-9)
    assert indices["sigma"].to_numpy() == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)


def test_t_interval_by_hand() -> None:
    n, mean, std, low, high = t_interval(np.array([1.0, 2.0, 3.0, 4.0, np.nan]))
    # t(0.975, 3) = 3.18245; s = sqrt(5/3) = 1.29099; half-width = 3.182446 * 0.645497 = 2.054260
    assert (n, mean) == (4, 2.5)
    assert std == pytest.approx(1.290994, rel=1e-6)
    assert (low, high) == pytest.approx((2.5 - 2.054260, 2.5 + 2.054260), rel=1e-6)
    assert math.isnan(t_interval(np.array([7.0]))[3])


def test_point_statistics_leave_out_failed_runs_and_sobol_notes_missing_points() -> None:
    params = (Parameter("a", "t.a", "float", low=0.0, high=1.0), Parameter("b", "t.b", "float", low=0.0, high=1.0))
    design = make_design(params, "sobol", samples=4, seed=1)
    table = _results(design, design.matrix[:, 0] + design.matrix[:, 1], replicates=2)
    table.loc[0, "status"], table.loc[0, "y"] = "failed", np.nan
    table.loc[1, "y"] = 1e9  # would shift the mean of point 0 if failed runs were counted... it is ok
    table.loc[2, "status"], table.loc[3, "status"] = "failed", "lost"  # point 1 has no successful run
    points = point_statistics(table, design, ["y"])
    assert points.loc[points["point"] == 0, ["n", "mean"]].to_numpy().tolist() == [[1, 1e9]]
    assert points.loc[points["point"] == 1, "n"].item() == 0
    analysis = analyze_results(table, design, ["y"])
    assert analysis.indices.empty
    assert any("no value at 1 of 16 points" in note for note in analysis.notes)
    assert any("3 runs not ok" in note for note in analysis.notes)
