"""``citymodel compare``: policy scenarios against a baseline, with common random numbers, on Dask.

Every scenario runs ``replicates`` times through the sweep's execution path
(:func:`~citymodel.experiments.execute.run_task_table`); replicate ``k`` of every
scenario has the same seed, ``run_seed(seed, 0, k)``, so each keyed draw (a citizen's
income, ties, needs, choice noise, …) is the same number in the baseline and in the
policy and the paired difference removes most of the noise. The comparison folder
(``--out``) gets:

- ``runs.parquet`` / ``runs.csv``: one row per run (scenario, replicate, seed, metrics);
- ``effects.csv``: ``scenario, metric, mean_diff, ci_low, ci_high, n`` per policy and
  headline metric (:mod:`~citymodel.experiments.effects`), plus three cost-effectiveness
  rows per policy (``cost_per_*``: there ``mean_diff`` is the ratio of mean differences
  and the interval a bootstrap over replicates);
- ``cost_effectiveness.csv``: those ratios with the spend and outcome differences;
- ``compare.json``: the scenarios, their resolved configurations, options, status;
- ``report.md``, ``report.html`` and the charts in ``img/``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from citymodel import __version__
from citymodel.errors import CitymodelError

from .effects import cost_effect, effect, hours_saved
from .execute import Progress, RunReport, RunTask, run_task_table
from .results import STATUS_OK, check_results_folder, read_json, write_json_atomic
from .scenario import Scenario, check_sites, load_scenario
from .seeds import run_seed

FORMAT = "citymodel-compare/1"
RUNS = "runs.parquet"
RECORD = "compare.json"
CHANNELS = ("import", "platform", "self_fabrication")
HEADLINE: tuple[str, ...] = (
    "utilization.overall", "utilization.public_workshops",
    *(f"delivery_time_h.by_channel.{c}.{s}" for c in CHANNELS for s in ("p50", "p90")),
    "inclusion.participants", "inclusion.participation_share",
    *(f"inclusion.participation_by_income_quintile[{i}]" for i in range(5)),
    *(f"inclusion.participation_by_imd_decile[{i}]" for i in range(10)),
    "inclusion.concentration_index",
    "adoption.final_shares.aware", "adoption.final_counts.prosumer", "adoption.final_counts.maker",
    "localisation.local_share_of_units", "localisation.co2_kg",
    "economics.public_spend",
)
RATIONED_KINDS = ("subsidy", "grant", "training")
EXTRA_OUTPUTS: tuple[str, ...] = (
    "run.n_citizens", "delivery_time_h.all.mean", "delivery_time_h.all.n",
    *(f"economics.public_spend_by_kind.{k}" for k in (*RATIONED_KINDS, "capital", "running")),
)
PROSUMERS = "adoption.prosumers_and_makers"
RATIONED = "economics.rationed_spend"
DERIVED = (PROSUMERS, RATIONED)
METRICS: tuple[str, ...] = (*HEADLINE, *DERIVED)
COST_MEASURES = {
    "cost_per_additional_included_citizen": "inclusion.participants",
    "cost_per_additional_prosumer": PROSUMERS,
    "cost_per_hour_delivery_time_saved": "delivery_hours_saved",
}
LABELS = (("scenario", pa.string()), ("scenario_index", pa.int64()), ("replicate", pa.int64()))


@dataclass
class ComparePlan:
    """The scenarios (baseline first), their labels and the runs."""

    scenarios: list[Scenario]
    labels: list[str]
    replicates: int
    seed: int
    common_random_numbers: bool
    tasks: list[RunTask] = field(default_factory=list)


@dataclass
class CompareOutcome:
    """What :func:`run_compare` wrote: the folder, the tables and this session's run report."""

    out_dir: Path
    plan: ComparePlan
    runs: pd.DataFrame
    effects: pd.DataFrame
    costs: pd.DataFrame
    report: RunReport
    files: list[Path]


def _labels(scenarios: Sequence[Scenario]) -> list[str]:
    """Scenario names, made unique (a name given twice gets ``-2``, ``-3``, …)."""
    seen: dict[str, int] = {}
    labels = []
    for s in scenarios:
        seen[s.name] = seen.get(s.name, 0) + 1
        labels.append(s.name if seen[s.name] == 1 else f"{s.name}-{seen[s.name]}")
    return labels


def plan_compare(baseline: str | Path, policies: Sequence[str | Path], *, replicates: int = 5,
                 days: float | None = None, citizens: int | None = None, seed: int = 42,
                 common_random_numbers: bool = True) -> ComparePlan:
    """Load and check the scenarios and lay out their runs (nothing runs yet).

    ``days`` and ``citizens`` override every scenario's ``run`` values. The scenarios must
    agree on ``run`` (map, citizens, days, start weekday): paired runs simulate the same
    city for the same time. Run index = scenario index × replicates + replicate; the seed
    of replicate ``k`` is ``run_seed(seed, 0, k)`` for every scenario (common random
    numbers) or ``run_seed(seed, scenario index, k)`` (independent seeds, to measure what
    common random numbers gain).

    Raises
    ------
    CitymodelError
        A bad scenario file (one line naming it and the key), no policy, bad options.
    """
    if not policies:
        msg = "compare needs a baseline and at least one policy scenario file"
        raise CitymodelError(msg)
    if replicates < 2:
        msg = f"--replicates must be a whole number >= 2 (an interval needs two pairs), got {replicates}"
        raise CitymodelError(msg)
    if citizens is not None and citizens < 1:
        msg = f"--citizens must be a whole number >= 1, got {citizens}"
        raise CitymodelError(msg)
    if days is not None and not days * 24 >= 1 - 1e-9:
        msg = f"--days must be at least one simulated hour (>= 1/24 = 0.0417 days), got {days:g}"
        raise CitymodelError(msg)
    if seed < 0:
        msg = f"--seed must be a whole number >= 0, got {seed}"
        raise CitymodelError(msg)
    scenarios = [load_scenario(p) for p in (baseline, *policies)]
    for s in scenarios:
        check_sites(s)
    for s in scenarios:
        if days is not None:
            s.config.run.days = float(days)
        if citizens is not None:
            s.config.run.citizens = int(citizens)
    base_run = scenarios[0].config.run
    for s in scenarios[1:]:
        for key in ("map", "citizens", "days", "start_weekday"):
            mine, theirs = getattr(s.config.run, key), getattr(base_run, key)
            if mine != theirs:
                msg = (f"scenario file {s.path}: run.{key} = {mine!r} differs from the baseline's {theirs!r} "
                       "(paired runs simulate the same city for the same time)")
                raise CitymodelError(msg)
    plan = ComparePlan(scenarios, _labels(scenarios), replicates, seed, common_random_numbers)
    for i, (s, label) in enumerate(zip(scenarios, plan.labels, strict=True)):
        for k in range(replicates):
            cfg = copy.deepcopy(s.config)
            cfg.run.seed = run_seed(seed, 0 if common_random_numbers else i, k)
            plan.tasks.append(RunTask(run=i * replicates + k, config=cfg.validate(),
                                      labels={"scenario": label, "scenario_index": i, "replicate": k}))
    return plan


def _record(plan: ComparePlan) -> dict[str, Any]:
    return json.loads(json.dumps({
        "format": FORMAT,
        "seed": plan.seed,
        "replicates": plan.replicates,
        "common_random_numbers": plan.common_random_numbers,
        "metrics": list(METRICS),
        "scenarios": [{"label": label, "name": s.name, "description": s.description, "file": str(s.path),
                       "config": s.config.to_dict()} for s, label in zip(plan.scenarios, plan.labels, strict=True)],
    }, default=str))


def _prepare_out(out: Path, plan: ComparePlan, resume: bool) -> None:
    record = _record(plan)
    check_results_folder(out, resume, RECORD, "comparison")
    if resume:
        old = read_json(out / RECORD)
        for key in ("format", "seed", "replicates", "common_random_numbers", "scenarios"):
            if old.get(key) != record[key]:
                msg = (f"--resume {out}: '{key}' differs from the comparison started there; "
                       "use the same scenario files and options, or a new --out")
                raise CitymodelError(msg)
        return
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / RECORD, {**record, "citymodel_version": __version__, "status": "running",
                                     "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})


def default_out_dir(baseline: Path, root: Path = Path("comparisons")) -> Path:
    """``comparisons/compare-<UTC time>``."""
    return root / f"compare-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def add_derived(runs: pd.DataFrame) -> pd.DataFrame:
    """Add prosumers and makers together (citizens at least at the prosumer stage) and the rationed spend
    (subsidies, grants and training: what a budget cap limits), both from the run's own summary."""
    runs = runs.copy()
    runs[PROSUMERS] = runs["adoption.final_counts.prosumer"] + runs["adoption.final_counts.maker"]
    runs[RATIONED] = sum(runs[f"economics.public_spend_by_kind.{k}"].fillna(0.0) for k in RATIONED_KINDS)
    runs.loc[runs["economics.public_spend"].isna(), RATIONED] = np.nan
    return runs


def _by_replicate(runs: pd.DataFrame, label: str, column: str, replicates: int) -> np.ndarray:
    """The column's values of scenario ``label`` by replicate 0..R-1 (NaN for a missing or failed run)."""
    rows = runs[(runs["scenario"] == label) & (runs["status"] == STATUS_OK)]
    values = np.full(replicates, np.nan)
    for k, v in zip(rows["replicate"], rows[column], strict=True):
        values[int(k)] = np.nan if v is None else float(v)
    return values


def effects_table(runs: pd.DataFrame, labels: Sequence[str], replicates: int) -> pd.DataFrame:
    """``scenario, metric, mean_diff, ci_low, ci_high, n`` for every policy and metric with a pair."""
    rows = []
    base = labels[0]
    for label in labels[1:]:
        for metric in METRICS:
            e = effect(_by_replicate(runs, label, metric, replicates), _by_replicate(runs, base, metric, replicates))
            if e.n:
                rows.append({"scenario": label, "metric": metric, "mean_diff": e.mean_diff,
                             "ci_low": e.ci_low, "ci_high": e.ci_high, "n": e.n})
    return pd.DataFrame(rows, columns=["scenario", "metric", "mean_diff", "ci_low", "ci_high", "n"])


def costs_table(runs: pd.DataFrame, labels: Sequence[str], replicates: int) -> pd.DataFrame:
    """Public spend per additional included citizen, per additional prosumer and per hour of delivery time
    saved, per policy: mean differences, ratio and bootstrap interval."""
    base = labels[0]

    def get(label: str, column: str) -> np.ndarray:
        return _by_replicate(runs, label, column, replicates)

    rows = []
    for label in labels[1:]:
        spend = get(label, "economics.public_spend") - get(base, "economics.public_spend")
        outcomes = {
            "inclusion.participants": get(label, "inclusion.participants") - get(base, "inclusion.participants"),
            PROSUMERS: get(label, PROSUMERS) - get(base, PROSUMERS),
            "delivery_hours_saved": hours_saved(get(base, "delivery_time_h.all.mean"),
                                                get(label, "delivery_time_h.all.mean"),
                                                get(label, "delivery_time_h.all.n")),
        }
        for measure, outcome in COST_MEASURES.items():
            c = cost_effect(spend, outcomes[outcome])
            e = effect(outcomes[outcome], np.zeros(replicates))
            rows.append({"scenario": label, "measure": measure, "outcome": outcome,
                         "spend_diff": c.spend_diff, "outcome_diff": c.effect_diff,
                         "outcome_ci_low": e.ci_low, "outcome_ci_high": e.ci_high,
                         "cost_per_unit": c.estimate, "ci_low": c.ci_low, "ci_high": c.ci_high, "n": c.n})
    return pd.DataFrame(rows)


def _effects_with_costs(effects: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    extra = costs.rename(columns={"measure": "metric", "cost_per_unit": "mean_diff"})
    extra = extra[["scenario", "metric", "mean_diff", "ci_low", "ci_high", "n"]]
    return pd.concat([effects, extra], ignore_index=True) if len(extra) else effects


def run_compare(baseline: str | Path, policies: Sequence[str | Path], *, replicates: int = 5,
                days: float | None = None, citizens: int | None = None, seed: int = 42,
                workers: int | None = None, scheduler: str | None = None, out_dir: str | Path | None = None,
                resume: bool = False, common_random_numbers: bool = True,
                progress: Progress | None = None) -> CompareOutcome:
    """Check the scenarios, run them on Dask and write the comparison folder (see the module docstring).

    Raises
    ------
    CitymodelError
        A bad scenario file or option, an existing non-empty ``out_dir`` (without
        ``resume``), an unreachable scheduler.
    """
    from .compare_report import write_report

    plan = plan_compare(baseline, policies, replicates=replicates, days=days, citizens=citizens, seed=seed,
                        common_random_numbers=common_random_numbers)
    out = Path(out_dir) if out_dir is not None else default_out_dir(Path(baseline))
    _prepare_out(out, plan, resume)
    report = run_task_table(plan.tasks, (*HEADLINE, *EXTRA_OUTPUTS), out / RUNS, LABELS, workers=workers,
                            scheduler=scheduler, resume=resume, progress=progress)
    runs = add_derived(pd.read_parquet(out / RUNS))
    runs.to_csv(out / "runs.csv", index=False)
    effects = effects_table(runs, plan.labels, replicates)
    costs = costs_table(runs, plan.labels, replicates)
    _effects_with_costs(effects, costs).to_csv(out / "effects.csv", index=False)
    costs.to_csv(out / "cost_effectiveness.csv", index=False)
    files = [out / RUNS, out / "runs.csv", out / "effects.csv", out / "cost_effectiveness.csv"]
    files += write_report(out, plan, runs, effects, costs)
    record = read_json(out / RECORD)
    counts = runs["status"].value_counts().to_dict()
    record.update({"status": "completed" if counts.get(STATUS_OK, 0) == len(plan.tasks) else "incomplete",
                   "runs_by_status": {str(k): int(v) for k, v in counts.items()},
                   "finished": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
    write_json_atomic(out / RECORD, record)
    return CompareOutcome(out, plan, runs, effects, costs, report, files)
