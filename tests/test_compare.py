"""`citymodel compare` end to end on the default Leeds map and a real local Dask cluster.

One comparison (baseline, the baseline again, a lever with no effect, a real policy, the same
policy under a budget cap) at a small size is shared by the tests; a second one of the real
policy with independent seeds measures what common random numbers gain.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citymodel.experiments.compare import METRICS, RATIONED_KINDS, effects_table
from citymodel.experiments.scenario import SCENARIO_DIR, load_scenario

CITIZENS, DAYS, REPLICATES = 2000, 7, 3
CAP = 60.0
BASELINE = SCENARIO_DIR / "baseline.toml"
POLICY = """[scenario]
name = "{name}"
description = "fees and materials free for everyone at every workshop, five times the training"
[scenario.sources]
"policy.fee_waiver_share" = "test"
"policy.material_subsidy_share" = "test"
"policy.training_multiplier" = "test"
"policy.budget_cap" = "test"
[policy]
fee_waiver_share = 1.0
material_subsidy_share = 1.0
training_multiplier = 5.0
budget_cap = {cap}
"""
NULL_LEVER = """[scenario]
name = "null-lever"
description = "a waiver for CNC routers in libraries, which have none: changes nothing that matters"
[scenario.sources]
"policy.fee_waiver_share" = "test"
[policy]
fee_waiver_share = 1.0
subsidised_kinds = ["library"]
subsidised_machines = ["cnc_router"]
"""


def cli(*args: str) -> subprocess.CompletedProcess:
    assert shutil.which("citymodel"), "the citymodel command must be on PATH"
    return subprocess.run(["citymodel", *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scenarios")
    paths = {"null": folder / "null.toml", "policy": folder / "policy.toml", "capped": folder / "capped.toml"}
    paths["null"].write_text(NULL_LEVER, encoding="utf-8")
    paths["policy"].write_text(POLICY.format(name="policy", cap=0.0), encoding="utf-8")
    paths["capped"].write_text(POLICY.format(name="capped", cap=CAP), encoding="utf-8")
    return paths


def _compare(out: Path, *scenarios: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return cli("compare", str(BASELINE), *map(str, scenarios), "--replicates", str(REPLICATES), "--days", str(DAYS),
               "--citizens", str(CITIZENS), "--workers", "2", "--out", str(out), "--quiet", *extra)


@pytest.fixture(scope="module")
def crn(files, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compare") / "crn"
    result = _compare(out, BASELINE, files["null"], files["policy"], files["capped"])
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def independent(files, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compare") / "independent"
    result = _compare(out, files["policy"], extra=("--independent-seeds",))
    assert result.returncode == 0, result.stderr
    return out


def test_writes_the_tables_report_and_charts(crn):
    for name in ("runs.parquet", "runs.csv", "effects.csv", "cost_effectiveness.csv", "compare.json",
                 "report.md", "report.html", "img/effects.png", "img/inclusion_by_quintile.png",
                 "img/spend_vs_effect.png"):
        assert (crn / name).is_file() and (crn / name).stat().st_size > 0, name
    assert (crn / "effects.csv").read_text().splitlines()[0] == "scenario,metric,mean_diff,ci_low,ci_high,n"
    runs = pd.read_parquet(crn / "runs.parquet")
    assert len(runs) == 5 * REPLICATES and set(runs["status"]) == {"ok"}
    report = (crn / "report.md").read_text()
    assert "![effects](img/effects.png)" in report and "cost_per_additional_included_citizen" in report
    assert '<img src="img/spend_vs_effect.png"' in (crn / "report.html").read_text()


def test_replicate_k_of_every_scenario_has_the_same_seed(crn, independent):
    runs = pd.read_parquet(crn / "runs.parquet")
    seeds = runs.pivot(index="replicate", columns="scenario", values="seed")
    assert (seeds.nunique(axis=1) == 1).all() and seeds.iloc[:, 0].nunique() == REPLICATES
    other = pd.read_parquet(independent / "runs.parquet").pivot(index="replicate", columns="scenario", values="seed")
    assert (other["baseline"] != other["policy"]).all()


def test_baseline_against_itself_is_exactly_zero_on_every_metric_in_every_replicate(crn):
    runs = pd.read_csv(crn / "runs.csv")
    base = runs[runs["scenario"] == "baseline"].set_index("replicate")
    again = runs[runs["scenario"] == "baseline-2"].set_index("replicate")
    metrics = [m for m in METRICS if m in runs]
    assert len(metrics) == len(METRICS)
    for metric in metrics:
        a, b = base[metric].to_numpy(float), again[metric].to_numpy(float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), metric
        assert np.array_equal(a[~np.isnan(a)], b[~np.isnan(b)]), metric
    effects = pd.read_csv(crn / "effects.csv")
    mine = effects[(effects["scenario"] == "baseline-2") & effects["metric"].isin(metrics)]
    assert len(mine) >= 20 and (mine["mean_diff"] == 0.0).all()
    pairs = mine[mine["n"] >= 2]  # one pair (a metric present in one replicate) has no interval
    assert (pairs[["ci_low", "ci_high"]] == 0.0).all().all() and mine.loc[mine["n"] < 2, "ci_low"].isna().all()


def test_a_lever_with_no_effect_gives_intervals_that_include_zero(crn):
    effects = pd.read_csv(crn / "effects.csv")
    null = effects[(effects["scenario"] == "null-lever") & effects["metric"].isin(METRICS)]
    assert len(null) >= 20
    null = null[null["n"] >= 2]
    assert ((null["ci_low"] <= 0.0) & (null["ci_high"] >= 0.0)).all(), null[null["ci_low"] > 0]
    # the smallest fault: the lever costs £1 more in every replicate; common random numbers see it
    runs = pd.read_csv(crn / "runs.csv")
    runs.loc[runs["scenario"] == "null-lever", "economics.public_spend"] += 1.0
    shifted = effects_table(runs, ["baseline", "null-lever"], REPLICATES).set_index("metric")
    row = shifted.loc["economics.public_spend", ["mean_diff", "ci_low", "ci_high"]]
    assert row.tolist() == pytest.approx([1.0] * 3)


def test_common_random_numbers_narrow_the_interval_of_a_real_policy(crn, independent):
    def width(folder: Path, metric: str) -> float:
        e = pd.read_csv(folder / "effects.csv")
        row = e[(e["scenario"] == "policy") & (e["metric"] == metric)].iloc[0]
        return float(row["ci_high"] - row["ci_low"])

    # metrics the policy moves through the citizens' choices; its own spend varies with use either way
    for metric in ("inclusion.participants", "inclusion.concentration_index", "localisation.co2_kg",
                   "localisation.local_share_of_units"):
        common, separate = width(crn, metric), width(independent, metric)
        assert common < separate, (metric, common, separate)


def test_a_budget_cap_is_never_exceeded(crn):
    runs = pd.read_parquet(crn / "runs.parquet")
    rationed = sum(runs[f"economics.public_spend_by_kind.{k}"].fillna(0.0) for k in RATIONED_KINDS)
    capped = rationed[runs["scenario"] == "capped"]
    uncapped = rationed[runs["scenario"] == "policy"]
    assert (capped <= CAP + 1e-9).all(), capped.tolist()
    assert (uncapped > CAP).all(), uncapped.tolist()  # the cap binds: a model ignoring it would fail above


def test_the_cap_holds_in_the_runs_own_ledger(files):
    from citymodel.runner import simulate

    cfg = load_scenario(files["capped"]).config
    cfg.run.citizens, cfg.run.days = CITIZENS, DAYS
    ledger = simulate(cfg).tables["ledger"]
    paid = ledger[(ledger["payer"] == "public_budget") & ledger["kind"].isin(RATIONED_KINDS)]["amount"].sum()
    assert 0 < paid <= CAP + 1e-9


def test_common_random_numbers_align_the_keyed_draws(files):
    """Same seed, different policy: the same citizens (income, home, ties) and the same needs."""
    from citymodel.runner import simulate

    results = {}
    for name, path in (("baseline", BASELINE), ("policy", files["policy"])):
        cfg = load_scenario(path).config
        cfg.run.citizens, cfg.run.days, cfg.run.seed = CITIZENS, DAYS, 11
        results[name] = simulate(cfg).tables
    a, b = results["baseline"]["agents"], results["policy"]["agents"]
    for column in ("income", "home_node", "degree", "zone_id"):
        assert a[column].equals(b[column]), column
    first = ["citizen_id", "product", "created_min"]
    needs_a = results["baseline"]["orders"][first].sort_values(first).reset_index(drop=True)
    needs_b = results["policy"]["orders"][first].sort_values(first).reset_index(drop=True)
    shared = needs_a.merge(needs_b, how="inner")
    assert len(shared) >= 0.9 * max(len(needs_a), len(needs_b))


def test_effects_are_the_paired_differences_of_the_run_table(crn):
    runs = pd.read_csv(crn / "runs.csv")
    recomputed = effects_table(runs, ["baseline", "policy"], REPLICATES).set_index("metric")
    written = pd.read_csv(crn / "effects.csv")
    written = written[written["scenario"] == "policy"].set_index("metric")
    base = runs[runs["scenario"] == "baseline"].sort_values("replicate")["economics.public_spend"].to_numpy()
    pol = runs[runs["scenario"] == "policy"].sort_values("replicate")["economics.public_spend"].to_numpy()
    assert written.loc["economics.public_spend", "mean_diff"] == pytest.approx((pol - base).mean())
    for metric in recomputed.index:
        assert written.loc[metric, "mean_diff"] == pytest.approx(recomputed.loc[metric, "mean_diff"], nan_ok=True)


def test_an_existing_comparison_is_never_overwritten_and_resumes(crn, files):
    before = (crn / "effects.csv").read_bytes()
    result = _compare(crn, BASELINE, files["null"], files["policy"], files["capped"])
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert str(crn) in result.stderr and "never overwritten" in result.stderr
    assert (crn / "effects.csv").read_bytes() == before
    other = _compare(crn, files["policy"], extra=("--resume",))
    assert other.returncode == 2 and "differs from the comparison started there" in other.stderr
    again = _compare(crn, BASELINE, files["null"], files["policy"], files["capped"], extra=("--resume",))
    assert again.returncode == 0, again.stderr
    assert "this session 0 runs" in again.stdout
    assert (crn / "effects.csv").read_bytes() == before


def test_bad_scenario_file_stops_compare_before_any_run(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nname = 'bad'\n[policy]\nbudget_cap = -1.0\n", encoding="utf-8")
    result = cli("compare", str(BASELINE), str(bad), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert str(bad) in result.stderr and "policy.budget_cap" in result.stderr
    assert not (tmp_path / "out").exists()
    few = cli("compare", str(BASELINE), str(BASELINE), "--replicates", "1", "--out", str(tmp_path / "out"))
    assert few.returncode == 2 and "--replicates" in few.stderr
