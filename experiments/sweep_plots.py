"""PNG plots of a sweep: each output against each parameter, and sensitivity indices.

Figures use matplotlib's object API with the Agg canvas (no pyplot, no global backend),
and are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .designs import Design
from .results import STATUS_OK

DPI = 120
RUN_COLOUR = "0.65"
MEAN_COLOUR = "#1f5fa8"
TOTAL_COLOUR = "#c4452d"


def slug(name: str) -> str:
    """A file-name-safe version of an output path (``inclusion.x[0]`` -> ``inclusion.x_0``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")


def save_png(fig: Figure, path: Path) -> Path:
    """Write ``fig`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fig.savefig(tmp, format="png", dpi=DPI, facecolor="white", bbox_inches="tight")
    os.replace(tmp, path)
    return path


def output_figure(results: pd.DataFrame, points: pd.DataFrame, design: Design, output: str) -> Figure:
    """One panel per parameter: every run (grey) and each point's mean with its 95 % interval."""
    params = list(design.parameters)
    n = max(1, len(params))
    fig = Figure(figsize=(4.2 * n, 3.6), layout="constrained")
    ok = results[results["status"] == STATUS_OK]
    stats = points[points["output"] == output]
    axes = fig.subplots(1, n, squeeze=False)[0]
    if not params:
        ax = axes[0]
        ax.plot(np.zeros(len(ok)), ok[output], "o", color=RUN_COLOUR, alpha=0.6, label="runs")
        ax.set_xticks([])
        ax.set_ylabel(output)
    for ax, p in zip(axes, params, strict=False):
        numeric = p.dtype in ("int", "float")
        if numeric:
            x_runs, x_points = ok[p.name].to_numpy(dtype=float), stats[p.name].to_numpy(dtype=float)
        else:
            order = {v: i for i, v in enumerate(design.points[p.name].drop_duplicates())}
            x_runs = ok[p.name].map(order).to_numpy(dtype=float)
            x_points = stats[p.name].map(order).to_numpy(dtype=float)
            ax.set_xticks(list(order.values()), [str(v) for v in order])
        ax.plot(x_runs, ok[output].to_numpy(dtype=float), "o", ms=3, color=RUN_COLOUR, alpha=0.6,
                label="runs", zorder=1)
        mean = stats["mean"].to_numpy(dtype=float)
        low = np.nan_to_num(mean - stats["ci_low"].to_numpy(dtype=float), nan=0.0)
        high = np.nan_to_num(stats["ci_high"].to_numpy(dtype=float) - mean, nan=0.0)
        ax.errorbar(x_points, mean, yerr=[low, high], fmt="o", ms=4, color=MEAN_COLOUR, capsize=3,
                    elinewidth=1, label="point mean, 95 % CI", zorder=2)
        ax.set_xlabel(p.name)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(output)
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle(f"{output} — {design.name} design, {len(design)} points", fontsize=11)
    return fig


def sobol_figure(indices: pd.DataFrame, output: str) -> Figure:
    """First-order (S1) and total (ST) Sobol' indices with their 95 % confidence half-widths."""
    rows = indices[indices["output"] == output]
    fig = Figure(figsize=(1.2 * len(rows) + 3, 3.6), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(rows))
    ax.bar(x - 0.2, rows["S1"], 0.4, yerr=rows["S1_conf"], capsize=3, color=MEAN_COLOUR, label="first order S1")
    ax.bar(x + 0.2, rows["ST"], 0.4, yerr=rows["ST_conf"], capsize=3, color=TOTAL_COLOUR, label="total ST")
    ax.set_xticks(x, rows["parameter"], rotation=20, ha="right")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("Sobol index (share of variance)")
    ax.set_title(f"Sobol indices of {output} (95 % CI)", fontsize=11)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def morris_figure(indices: pd.DataFrame, output: str) -> Figure:
    """Morris mu* (mean absolute elementary effect) against sigma, one point per parameter."""
    rows = indices[indices["output"] == output]
    fig = Figure(figsize=(5.2, 4.0), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(rows["mu_star"], rows["sigma"], xerr=rows["mu_star_conf"], fmt="o", color=MEAN_COLOUR, capsize=3)
    for _, r in rows.iterrows():
        ax.annotate(r["parameter"], (r["mu_star"], r["sigma"]), textcoords="offset points", xytext=(4, 4),
                    fontsize=8)
    ax.set_xlabel("mu* (mean |elementary effect|)")
    ax.set_ylabel("sigma (std of elementary effects)")
    ax.set_title(f"Morris screening of {output}", fontsize=11)
    ax.grid(alpha=0.3)
    return fig


def write_plots(folder: Path, results: pd.DataFrame, points: pd.DataFrame, indices: pd.DataFrame,
                design: Design, outputs: Sequence[str]) -> list[Path]:
    """Write every plot of an analysis into ``folder``; return the paths."""
    paths = []
    for output in outputs:
        paths.append(save_png(output_figure(results, points, design, output), folder / f"{slug(output)}.png"))
        if len(indices) and (indices["output"] == output).any():
            if design.name == "sobol":
                paths.append(save_png(sobol_figure(indices, output), folder / f"sobol_{slug(output)}.png"))
            elif design.name == "morris":
                paths.append(save_png(morris_figure(indices, output), folder / f"morris_{slug(output)}.png"))
    return paths
