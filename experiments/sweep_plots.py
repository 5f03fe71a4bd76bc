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
LINE_COLOURS = ("#1f5fa8", "#c4452d", "#2e8b57", "#8e44ad", "#d4a017", "#17becf", "#7f7f7f", "#e377c2")


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


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
            x_of = lambda col: col.to_numpy(dtype=float)  # noqa: E731
        else:
            order = {v: i for i, v in enumerate(design.points[p.name].drop_duplicates())}
            x_of = lambda col, order=order: col.map(order).to_numpy(dtype=float)  # noqa: E731
            ax.set_xticks(list(order.values()), [str(v) for v in order])
        ax.plot(x_of(ok[p.name]), ok[output].to_numpy(dtype=float), "o", ms=3, color=RUN_COLOUR, alpha=0.6,
                label="runs", zorder=1)
        others = [q.name for q in params if q.name != p.name]
        groups = list(stats.groupby(others, sort=True)) if design.name == "grid" and others else [((), stats)]
        if len(groups) > len(LINE_COLOURS):
            groups = [((), stats)]
        span = np.ptp(x_of(stats[p.name])) if len(stats) else 0.0
        for i, (values, group) in enumerate(groups):
            values = values if isinstance(values, tuple) else (values,)
            label = ", ".join(f"{name} = {_fmt(v)}" for name, v in zip(others, values, strict=False)) \
                if values else "point mean, 95 % CI"
            dodge = (i - (len(groups) - 1) / 2) * 0.012 * (span or 1.0)
            x = x_of(group[p.name]) + dodge
            mean = group["mean"].to_numpy(dtype=float)
            low = np.nan_to_num(mean - group["ci_low"].to_numpy(dtype=float), nan=0.0)
            high = np.nan_to_num(group["ci_high"].to_numpy(dtype=float) - mean, nan=0.0)
            colour = LINE_COLOURS[i] if len(groups) > 1 else MEAN_COLOUR
            line = "-" if len(groups) > 1 else ""
            ax.errorbar(x, mean, yerr=[low, high], fmt="o" + line, ms=4, color=colour, capsize=3, elinewidth=1,
                        linewidth=1.2, label=label, zorder=2)
        ax.set_xlabel(p.name)
        ax.grid(alpha=0.3)
        if len(groups) > 1:
            ax.legend(fontsize=7, loc="best", title="means, 95 % CI", title_fontsize=7)
    axes[0].set_ylabel(output)
    if axes[0].get_legend() is None:
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
