"""``citymodel analyze``: per-point means with 95 % intervals, Sobol' and Morris indices, plots.

:func:`analyze_results` works on any results table and design (the sweep's, or a test
function's such as Ishigami's); :func:`analyze_sweep` reads a sweep folder and writes
``SWEEP_DIR/analysis/``:

``points.csv``
    One row per (point, output): the point's parameters, ``n`` (successful replicates),
    ``mean``, ``std`` (ddof = 1) and the 95 % Student-t interval ``ci_low``, ``ci_high``.
``indices.csv``
    Sobol: ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (SALib's 95 % bootstrap half-widths);
    Morris: ``mu``, ``mu_star``, ``mu_star_conf``, ``sigma``; per output and parameter,
    from the point means (replicates averaged first).
``plots/*.png``
    Each output against each parameter; the indices of each output.
``analysis.json``
    Design, counts and notes (outputs that could not be analysed and why).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from citymodel.errors import CitymodelError

from .designs import Design, salib_problem
from .results import RESULTS, STATUS_OK, SWEEP_JSON, read_json, write_json_atomic
from .spec import Parameter

ANALYSIS = "analysis"
CONFIDENCE = 0.95


@dataclass
class Analysis:
    """What :func:`analyze_results` found.

    Attributes
    ----------
    points : pandas.DataFrame
        Long table: point, parameters, output, n, mean, std, ci_low, ci_high.
    indices : pandas.DataFrame
        Sensitivity indices (empty for grid and lhs designs).
    notes : list of str
        Outputs or indices left out, and why.
    files : list of Path
        Files written (when an output folder was given).
    """

    points: pd.DataFrame
    indices: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def t_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[int, float, float, float, float]:
    """n, mean, std (ddof=1) and the Student-t interval of the mean of finite ``values``.

    With fewer than two values the std and interval are NaN.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return 0, math.nan, math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return n, mean, math.nan, math.nan, math.nan
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return n, mean, std, mean - half, mean + half


def point_statistics(results: pd.DataFrame, design: Design, outputs: Sequence[str]) -> pd.DataFrame:
    """Mean and 95 % interval of each output at each design point, over its successful runs."""
    ok = results[results["status"] == STATUS_OK]
    groups = {int(k): g for k, g in ok.groupby("point")}
    rows = []
    names = [p.name for p in design.parameters]
    for point in range(len(design)):
        group = groups.get(point)
        values = {name: design.points[name].iloc[point] for name in names}
        for output in outputs:
            column = group[output].to_numpy(dtype=float) if group is not None else np.array([])
            n, mean, std, low, high = t_interval(column)
            rows.append({"point": point, **values, "output": output, "n": n, "mean": mean, "std": std,
                         "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=["point", *names, "output", "n", "mean", "std", "ci_low", "ci_high"])


def _means(points: pd.DataFrame, output: str, n_points: int) -> np.ndarray:
    sel = points[points["output"] == output].set_index("point")["mean"]
    return sel.reindex(range(n_points)).to_numpy(dtype=float)


def _usable(y: np.ndarray, output: str, what: str, notes: list[str]) -> bool:
    missing = int((~np.isfinite(y)).sum())
    if missing:
        notes.append(f"{what} of {output}: skipped, no value at {missing} of {y.size} points "
                     "(every point needs one)")
        return False
    if np.ptp(y) == 0:
        notes.append(f"{what} of {output}: skipped, the output is the same at every point ({y[0]:g})")
        return False
    return True


def _note_warnings(caught: list[warnings.WarningMessage], what: str, notes: list[str]) -> None:
    """SALib's warnings (e.g. constant values in a subset of the sample) as one note each."""
    for message in dict.fromkeys(" ".join(str(w.message).split()) for w in caught
                                 if not issubclass(w.category, DeprecationWarning)):
        notes.append(f"{what}: SALib warns: {message}")


def _indices(design: Design, means: dict[str, np.ndarray], notes: list[str], what: str, analyze,
             columns: Sequence[str]) -> pd.DataFrame:
    """Rows (output, parameter, ``columns``...) of ``analyze(problem, y)`` (a SALib result) for each output."""
    rows = []
    problem = salib_problem(design.parameters)
    for output, y in means.items():
        if not _usable(y, output, what, notes):
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = analyze(problem, y)
        _note_warnings(caught, f"{what} of {output}", notes)
        for j, p in enumerate(design.parameters):
            rows.append({"output": output, "parameter": p.name, **{c: res[c][j] for c in columns}})
    return pd.DataFrame(rows, columns=["output", "parameter", *columns])


def sobol_indices(design: Design, means: dict[str, np.ndarray], notes: list[str]) -> pd.DataFrame:
    """First-order and total Sobol' indices (SALib ``sobol.analyze``) of each output."""
    from SALib.analyze import sobol

    def analyze(problem, y):
        return sobol.analyze(problem, y, calc_second_order=design.second_order, conf_level=CONFIDENCE,
                             seed=design.seed)

    return _indices(design, means, notes, "Sobol indices", analyze, ("S1", "S1_conf", "ST", "ST_conf"))


def morris_indices(design: Design, means: dict[str, np.ndarray], notes: list[str]) -> pd.DataFrame:
    """Morris elementary-effect statistics mu, mu*, sigma (SALib ``morris.analyze``) of each output."""
    from SALib.analyze import morris

    def analyze(problem, y):
        return morris.analyze(problem, design.matrix, y, conf_level=CONFIDENCE, num_levels=design.levels,
                              seed=design.seed)

    return _indices(design, means, notes, "Morris indices", analyze, ("mu", "mu_star", "mu_star_conf", "sigma"))


def analyze_results(results: pd.DataFrame, design: Design, outputs: Sequence[str],
                    out_dir: Path | None = None) -> Analysis:
    """Statistics per point and, for sobol / morris designs, sensitivity indices.

    Parameters
    ----------
    results
        Rows with ``point``, ``status`` and one column per output (failed runs are
        left out).
    design
        The design the points come from.
    outputs
        Output columns to analyse.
    out_dir
        If given, write points.csv, indices.csv and the plots there.
    """
    points = point_statistics(results, design, outputs)
    notes: list[str] = []
    failed = int((results["status"] != STATUS_OK).sum())
    if failed:
        notes.append(f"{failed} runs not ok (failed or lost) are left out")
    means = {o: _means(points, o, len(design)) for o in outputs}
    if design.name == "sobol":
        indices = sobol_indices(design, means, notes)
    elif design.name == "morris":
        indices = morris_indices(design, means, notes)
    else:
        indices = pd.DataFrame()
    analysis = Analysis(points=points, indices=indices, notes=notes)
    if out_dir is not None:
        from .sweep_plots import write_plots

        out_dir.mkdir(parents=True, exist_ok=True)
        points.to_csv(out_dir / "points.csv", index=False)
        analysis.files.append(out_dir / "points.csv")
        if len(indices):
            indices.to_csv(out_dir / "indices.csv", index=False)
            analysis.files.append(out_dir / "indices.csv")
        analysis.files.extend(write_plots(out_dir / "plots", results, points, indices, design, outputs))
    return analysis


def design_from_folder(sweep_dir: Path, record: dict[str, Any]) -> Design:
    """Rebuild the :class:`Design` of a sweep folder from sweep.json and design.parquet."""
    from .sweep import DESIGN, SAMPLED_SUFFIX

    plan = record["plan"]
    parameters = tuple(Parameter.from_json(p) for p in plan["parameters"])
    try:
        table = pd.read_parquet(sweep_dir / DESIGN)
    except (OSError, ValueError) as exc:
        msg = f"{sweep_dir / DESIGN}: unreadable ({exc})"
        raise CitymodelError(msg) from None
    names = [p.name for p in parameters]
    points = table[names] if names else pd.DataFrame(index=range(len(table)))
    points.index = pd.RangeIndex(len(points), name="point")
    if plan["design"] == "grid":
        matrix = np.array([[float(v) if isinstance(v, int | float) else np.nan for v in row]
                           for row in points.itertuples(index=False)], dtype=float).reshape(len(points), len(names))
    else:
        matrix = table[[n + SAMPLED_SUFFIX for n in names]].to_numpy(dtype=float)
    problem = salib_problem(parameters) if plan["design"] != "grid" else {}
    return Design(name=plan["design"], parameters=parameters, points=points, matrix=matrix, problem=problem,
                  samples=plan["samples"], levels=plan["levels"], second_order=plan["second_order"],
                  seed=record["design"]["sampler_seed"])


def analyze_sweep(sweep_dir: str | Path) -> Analysis:
    """Analyse a sweep folder; write ``SWEEP_DIR/analysis/`` (see the module docstring).

    Raises
    ------
    CitymodelError
        If the folder is not a sweep folder or has no results yet.
    """
    sweep_dir = Path(sweep_dir)
    if not (sweep_dir / SWEEP_JSON).is_file():
        msg = f"{sweep_dir}: no {SWEEP_JSON} (expected a folder written by `citymodel sweep`)"
        raise CitymodelError(msg)
    record = read_json(sweep_dir / SWEEP_JSON)
    if not (sweep_dir / RESULTS).is_file():
        msg = f"{sweep_dir}: no {RESULTS} yet (no run has finished)"
        raise CitymodelError(msg)
    try:
        results = pd.read_parquet(sweep_dir / RESULTS)
    except (OSError, ValueError) as exc:
        msg = f"{sweep_dir / RESULTS}: unreadable ({exc})"
        raise CitymodelError(msg) from None
    design = design_from_folder(sweep_dir, record)
    outputs = record["plan"]["outputs"]
    analysis = analyze_results(results, design, outputs, out_dir=sweep_dir / ANALYSIS)
    total = record["design"]["runs"]
    if len(results) < total:
        analysis.notes.insert(0, f"{len(results)} of {total} runs have results (sweep {record.get('status')}; "
                                 "`citymodel sweep --resume` runs the rest)")
    summary = {"design": record["design"], "status": record.get("status"), "rows": len(results),
               "ok": int((results["status"] == STATUS_OK).sum()), "notes": analysis.notes,
               "files": [str(p.relative_to(sweep_dir)) for p in analysis.files]}
    write_json_atomic(sweep_dir / ANALYSIS / "analysis.json", summary)
    analysis.files.append(sweep_dir / ANALYSIS / "analysis.json")
    return analysis
