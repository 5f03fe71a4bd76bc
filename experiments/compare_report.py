"""The report of a policy comparison: ``report.md``, ``report.html`` and three PNG charts in ``img/``.

Charts (matplotlib object API, the run report's style): each policy's effect on the key
metrics with its 95 % interval (``effects.png``); DM participation by income quintile,
baseline against each policy (``inclusion_by_quintile.png``); extra public spend against
additional included citizens, both with intervals (``spend_vs_effect.png``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure

from citymodel.report import STYLE, save_figure

if TYPE_CHECKING:
    from .compare import ComparePlan

KEY_METRICS = (
    ("inclusion.participation_share", "DM participation (share of citizens)", 100.0, "pp"),
    ("inclusion.concentration_index", "concentration index (participation by income)", 1.0, ""),
    ("utilization.overall", "utilization of machines", 100.0, "pp"),
    ("localisation.local_share_of_units", "local share of units", 100.0, "pp"),
    ("localisation.co2_kg", "delivery CO2 (kg)", 1.0, "kg"),
    ("economics.public_spend", "public spend (£)", 1.0, "£"),
)
TABLE_METRICS = (
    "inclusion.participants", "inclusion.participation_share", "inclusion.participation_by_income_quintile[0]",
    "inclusion.participation_by_imd_decile[0]", "inclusion.concentration_index",
    "adoption.prosumers_and_makers", "utilization.overall",
    "delivery_time_h.by_channel.self_fabrication.p50", "delivery_time_h.by_channel.platform.p90",
    "localisation.local_share_of_units", "localisation.co2_kg", "economics.public_spend",
    "economics.rationed_spend",
)


def _fmt(value: float, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    return f"{value:,.{digits}g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _interval(low: float, high: float) -> str:
    return f"[{_fmt(low)}, {_fmt(high)}]"


def effects_summary(effects: pd.DataFrame, metrics: Sequence[str] = TABLE_METRICS) -> pd.DataFrame:
    """One row per policy and key metric: mean difference and interval as text."""
    rows = effects[effects["metric"].isin(metrics)].copy()
    rows["order"] = rows["metric"].map({m: i for i, m in enumerate(metrics)})
    rows = rows.sort_values(["scenario", "order"], kind="stable")
    return pd.DataFrame({"scenario": rows["scenario"], "metric": rows["metric"],
                         "mean difference": [_fmt(v) for v in rows["mean_diff"]],
                         "95 % CI": [_interval(a, b) for a, b in zip(rows["ci_low"], rows["ci_high"], strict=True)],
                         "n": rows["n"]})


def costs_summary(costs: pd.DataFrame) -> pd.DataFrame:
    """One row per policy and cost measure, as text."""
    return pd.DataFrame({
        "scenario": costs["scenario"], "measure": costs["measure"],
        "Δ spend (£)": [_fmt(v) for v in costs["spend_diff"]],
        "Δ outcome": [_fmt(v) for v in costs["outcome_diff"]],
        "outcome 95 % CI": [_interval(a, b) for a, b in zip(costs["outcome_ci_low"], costs["outcome_ci_high"],
                                                            strict=True)],
        "£ per unit": [_fmt(v) for v in costs["cost_per_unit"]],
        "bootstrap 95 % CI": [_interval(a, b) for a, b in zip(costs["ci_low"], costs["ci_high"], strict=True)],
        "n": costs["n"]})


def markdown_table(table: pd.DataFrame) -> str:
    """A pipe table of ``table`` (every cell as text)."""
    cells = [[str(c) for c in table.columns], *([str(v).replace("|", "\\|") for v in row]
                                                for row in table.itertuples(index=False))]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines) + "\n"


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), facecolor="white", layout="constrained")


def effects_figure(effects: pd.DataFrame, labels: Sequence[str]) -> Figure:
    """Each policy's mean difference from the baseline on the key metrics, with 95 % intervals."""
    policies = list(labels[1:])
    with rc_context(STYLE):
        fig = _figure(13.0, 1.6 + 2 * (1.0 + 0.28 * len(policies)))
        axes = fig.subplots(2, 3, sharey=True).ravel()
        y = np.arange(len(policies))
        for ax, (metric, title, scale, unit) in zip(axes, KEY_METRICS, strict=True):
            rows = effects[effects["metric"] == metric].set_index("scenario").reindex(policies)
            mean = rows["mean_diff"].to_numpy(float) * scale
            err = np.vstack([mean - rows["ci_low"].to_numpy(float) * scale,
                             rows["ci_high"].to_numpy(float) * scale - mean])
            ax.errorbar(mean, y, xerr=np.nan_to_num(err), fmt="o", color="#4c72b0", capsize=3)
            ax.axvline(0.0, color="0.4", linewidth=0.8)
            ax.set_title(title, fontsize=10.5)
            ax.set_xlabel(f"difference from baseline ({unit})" if unit else "difference from baseline")
        axes[0].set_yticks(y, policies)
        axes[3].set_yticks(y, policies)
        axes[0].invert_yaxis()
        fig.suptitle("Effect of each policy (mean paired difference, 95 % t interval over replicates)",
                     fontweight="bold")
    return fig


def quintile_figure(runs: pd.DataFrame, labels: Sequence[str]) -> Figure:
    """Mean DM participation by income quintile: the baseline (grey) and each policy."""
    columns = [f"inclusion.participation_by_income_quintile[{i}]" for i in range(5)]
    ok = runs[runs["status"] == "ok"]
    with rc_context(STYLE):
        n = len(labels) - 1
        cols = min(3, n)
        rows_n = math.ceil(n / cols)
        fig = _figure(4.0 * cols, 2.8 * rows_n + 0.6)
        axes = np.atleast_1d(fig.subplots(rows_n, cols, sharey=True, squeeze=False)).ravel()
        base = ok[ok["scenario"] == labels[0]][columns].mean().to_numpy(float) * 100
        x = np.arange(1, 6)
        for ax, label in zip(axes, labels[1:], strict=False):
            pol = ok[ok["scenario"] == label][columns].mean().to_numpy(float) * 100
            ax.plot(x, base, "o-", color="#7f7f7f", label="baseline")
            ax.plot(x, pol, "D--", color="#dd8452", label="policy")
            ax.set_title(label, fontsize=10)
            ax.set_xticks(x)
            ax.set_xlabel("income quintile (1 = poorest)")
        for ax in axes[n:]:
            ax.set_visible(False)
        axes[0].set_ylabel("participation (%)")
        axes[0].legend(loc="upper left")
        fig.suptitle("DM participation by income quintile, baseline vs policy (mean over replicates; axis not from 0)",
                     fontweight="bold")
    return fig


def spend_figure(costs: pd.DataFrame, effects: pd.DataFrame, labels: Sequence[str]) -> Figure:
    """Extra public spend against additional included citizens per policy (both with 95 % intervals)."""
    rows = costs[costs["measure"] == "cost_per_additional_included_citizen"].set_index("scenario")
    spend = effects[effects["metric"] == "economics.public_spend"].set_index("scenario")
    with rc_context(STYLE):
        fig = _figure(8.0, 5.5)
        ax = fig.subplots()
        for label in labels[1:]:
            if label not in rows.index or label not in spend.index:
                continue
            x, s = rows.loc[label], spend.loc[label]
            ax.errorbar(x["outcome_diff"], s["mean_diff"],
                        xerr=[[max(x["outcome_diff"] - x["outcome_ci_low"], 0)],
                              [max(x["outcome_ci_high"] - x["outcome_diff"], 0)]],
                        yerr=[[max(s["mean_diff"] - s["ci_low"], 0)], [max(s["ci_high"] - s["mean_diff"], 0)]],
                        fmt="o", capsize=3)
            ax.annotate(label, (x["outcome_diff"], s["mean_diff"]), textcoords="offset points", xytext=(5, 4),
                        fontsize=8.5)
        ax.axvline(0.0, color="0.4", linewidth=0.8)
        ax.set_xlabel("additional included citizens (participants, vs baseline)")
        ax.set_ylabel("extra public spend over the run (£)")
        ax.set_title("Spend against effect (95 % t intervals over replicates)")
    return fig


def _html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in table.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _intro(plan: ComparePlan, runs: pd.DataFrame) -> list[str]:
    cfg = plan.scenarios[0].config.run
    ok = int((runs["status"] == "ok").sum())
    citizens = runs["run.n_citizens"].iloc[0] if "run.n_citizens" in runs else None
    seeds = "common random numbers (replicate k of every scenario has the same seed)" \
        if plan.common_random_numbers else "independent seeds per scenario"
    lines = [f"Map `{cfg.map}`, {cfg.days:g} days, citizens {cfg.citizens or 'from the map'}"
             + (f" ({_fmt(citizens)})" if citizens is not None else "")
             + f", {plan.replicates} replicates per scenario, seed {plan.seed}, {seeds}; "
             f"{ok} of {len(runs)} runs ok.",
             "Effects are mean paired differences (policy − baseline) over replicates with 95 % t intervals; "
             "cost per unit is mean Δ public spend / mean Δ outcome with a percentile bootstrap interval over "
             "replicates (2,000 resamples; ∞ when some resamples have no positive outcome)."]
    return lines


def write_report(out: Path, plan: ComparePlan, runs: pd.DataFrame, effects: pd.DataFrame,
                 costs: pd.DataFrame) -> list[Path]:
    """Write ``report.md``, ``report.html`` and ``img/*.png`` in ``out``; return their paths."""
    img = out / "img"
    img.mkdir(exist_ok=True)
    figures = {"effects.png": effects_figure(effects, plan.labels),
               "inclusion_by_quintile.png": quintile_figure(runs, plan.labels),
               "spend_vs_effect.png": spend_figure(costs, effects, plan.labels)}
    paths = [save_figure(fig, img / name) for name, fig in figures.items()]
    scen = pd.DataFrame({"scenario": plan.labels, "file": [s.path.name for s in plan.scenarios],
                         "description": [s.description for s in plan.scenarios]})
    base_label = plan.labels[0]
    base_rows = [{"metric": m, "baseline mean": _fmt(float(np.nanmean(v))) if np.isfinite(v).any() else "–"}
                 for m in TABLE_METRICS
                 for v in [runs.loc[(runs["scenario"] == base_label) & (runs["status"] == "ok"), m]
                           .to_numpy(float)]]
    sections = [("Scenarios", scen), (f"Baseline ({base_label})", pd.DataFrame(base_rows)),
                ("Effects on key metrics (all metrics: effects.csv)", effects_summary(effects)),
                ("Cost-effectiveness", costs_summary(costs))]
    intro = _intro(plan, runs)
    md = ["# Policy comparison", "", *intro, ""]
    for title, table in sections:
        md += [f"## {title}", "", markdown_table(table)]
    md += ["## Charts", ""] + [f"![{p.stem}](img/{p.name})" for p in paths] + [""]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
    body = [f"<p>{html.escape(line)}</p>" for line in intro]
    for title, table in sections:
        body += [f"<h2>{html.escape(title)}</h2>", _html_table(table)]
    body += ["<h2>Charts</h2>"] + [f'<p><img src="img/{p.name}" alt="{p.stem}" style="max-width:100%"></p>'
                                   for p in paths]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:0.9em}td,th{border:1px solid #ccc;padding:2px 6px}th{background:#eee}")
    (out / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>Policy comparison</title><style>{style}</style>"
        f"</head><body><h1>Policy comparison</h1>{''.join(body)}</body></html>\n", encoding="utf-8")
    return [out / "report.md", out / "report.html", *paths]

