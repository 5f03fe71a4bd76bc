"""Plots of one finished run folder: adoption, utilization, delivery times, inclusion, access map.

:func:`write_report` reads a run folder written by :func:`citymodel.runner.run_to_folder`
(through :func:`citymodel.outputs.read_run`) and writes PNG files into
``<run folder>/plots/``. It never touches any other file of the run; running it again
replaces only its own plots. Every figure is built with matplotlib's object API and
the Agg canvas (no pyplot, no global backend switch), so it is safe to call from the
CLI, a notebook or a web UI.

The figures (see ``docs/report.md`` for how each is computed):

``adoption.png``
    Citizens by adoption stage over simulated time, as shares of the population.
``utilization.png``
    Busy / open machines by facility kind, per simulated day and by hour of day (%).
``delivery_times.png``
    Order-to-receipt time of delivered orders by channel (hours, log scale), p50/p90 marked.
``inclusion.png``
    Access within 15 min walk, participation and prosumer share by income quintile.
``access_map.png``
    The walking street graph with homes coloured by walking time to the nearest public
    workshop (minutes) and the workshops marked by kind.
"""

from __future__ import annotations

import functools
import json
import math
import os
import textwrap
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from citymodel.errors import CitymodelError
from citymodel.metrics import (
    ACCESS_THRESHOLD_S,
    CHANNELS,
    PUBLIC_WORKSHOP_KINDS,
    STAGES,
    delivery_time_stats,
    inclusion,
)
from citymodel.outputs import SUMMARY, read_run
from citymodel.paths import user_path

__all__ = [
    "ATTRIBUTION",
    "DPI",
    "PLOT_DIR",
    "PLOT_FILES",
    "RunInfo",
    "access_map_figure",
    "adoption_figure",
    "delivery_times_figure",
    "inclusion_figure",
    "run_info",
    "save_figure",
    "utilization_figure",
    "write_report",
]

PLOT_DIR = "plots"
"""Sub-folder of the run folder that holds the plots (the only place the report writes)."""

PLOT_FILES: tuple[str, ...] = (
    "adoption.png",
    "utilization.png",
    "delivery_times.png",
    "inclusion.png",
    "access_map.png",
)
"""File names written by :func:`write_report`, in order."""

DPI = 150
"""Resolution of every PNG (dots per inch)."""

ATTRIBUTION = "© OpenStreetMap contributors, ODbL"
"""Credit shown on the map when the run's manifest names none."""

REQUIRED_TABLES: tuple[str, ...] = ("timeseries", "orders", "agents", "facilities")
"""Tables the report reads."""

STYLE: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 12.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 11.5,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9.5,
    "legend.title_fontsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
}
"""matplotlib rc settings applied while a figure is built and saved."""

STAGE_COLORS: Mapping[str, str] = {
    "unaware": "#cfcfcf",
    "aware": "#74a9cf",
    "prosumer": "#fd8d3c",
    "maker": "#b10026",
}
CHANNEL_COLORS: Mapping[str, str] = {
    "import": "#4c72b0",
    "platform": "#dd8452",
    "self_fabrication": "#55a868",
}
KIND_STYLE: Mapping[str, tuple[str, str]] = {
    # kind: (colour, map marker)
    "library": ("#1f77b4", "^"),
    "school": ("#ff7f0e", "s"),
    "college": ("#7b4173", "p"),
    "community_centre": ("#2ca02c", "D"),
    "arts_centre": ("#e7969c", "d"),
    "youth_centre": ("#9467bd", "P"),
    "shopping_centre": ("#e377c2", "h"),
    "makerspace": ("#d62728", "*"),
    "maker": ("#8c564b", "o"),
    "textile_mill": ("#17becf", "X"),
}
_EXTRA_COLORS = ("#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5")
_EXTRA_MARKERS = ("v", "<", ">", "p", "d", "8")

_HEADER_IN = 0.78  # inches reserved at the top for the title and the run line
_FOOTER_IN = 0.42  # inches reserved at the bottom for the note line
_M_PER_DEG_LAT = 111_320.0  # metres per degree of latitude (and of longitude at the equator)
_HOUR_TICKS = (0.25, 0.5, 1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 672, 1344, 2688)


# ---------------------------------------------------------------------------
# run information and file handling


@dataclass(frozen=True)
class RunInfo:
    """What the report says about a run in every figure's subtitle.

    Attributes
    ----------
    name : str
        The run folder's name.
    seed : int or None
        Seed of the run.
    citizens : int or None
        Population size (persons).
    days : float or None
        Configured run length (simulated days).
    map_name : str
        Human name of the map.
    attribution : str
        Data licence credit of the map.
    status : str
        The manifest's status (``completed``, ``failed``, ...).
    """

    name: str
    seed: int | None
    citizens: int | None
    days: float | None
    map_name: str
    attribution: str = ATTRIBUTION
    status: str = "completed"

    @property
    def subtitle(self) -> str:
        """One line: run folder, seed, citizens, days and map."""
        parts = [f"run {self.name}"]
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        if self.citizens is not None:
            parts.append(f"{self.citizens:,} citizens")
        if self.days is not None:
            parts.append(f"{self.days:g} days")
        if self.map_name:
            parts.append(f"map: {self.map_name}")
        if self.status != "completed":
            parts.append(f"status: {self.status}")
        return "  ·  ".join(parts)


def run_info(manifest: Mapping[str, Any], run_dir: Path) -> RunInfo:
    """The :class:`RunInfo` of a run from its ``manifest.json`` contents."""
    map_meta = manifest.get("map") or {}

    def _num(key: str, cast: type) -> Any:
        value = manifest.get(key)
        try:
            return None if value is None else cast(value)
        except (TypeError, ValueError):
            return None

    return RunInfo(
        name=Path(run_dir).name,
        seed=_num("seed", int),
        citizens=_num("citizens", int),
        days=_num("days", float),
        map_name=str(map_meta.get("name") or map_meta.get("source") or ""),
        attribution=str(map_meta.get("attribution") or ATTRIBUTION),
        status=str(manifest.get("status", "completed")),
    )


def save_figure(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG at :data:`DPI` through a temporary file and a rename.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    FigureCanvasAgg(fig)
    tmp = path.with_name(f".{path.name}.tmp")
    with rc_context(STYLE):
        fig.savefig(tmp, format="png", dpi=DPI, facecolor="white",
                    metadata={"Software": "citymodel report (matplotlib)"})
    os.replace(tmp, path)
    return path


def _styled(builder: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build the figure under the report's rc settings (:data:`STYLE`)."""

    @functools.wraps(builder)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with rc_context(STYLE):
            return builder(*args, **kwargs)

    return wrapper


def _new_figure(width: float, height: float, info: RunInfo, title: str,
                note: str | None = None, *, compress: bool = False) -> Figure:
    """A white figure (inches) with the title and the run line on top and a note below.

    The constrained layout engine lays the axes out inside the band left between
    the header and the footer; the footer grows with the note's lines (``\\n``).
    ``compress`` removes the white space around fixed-aspect axes (maps).
    """
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    top = 1.0 - _HEADER_IN / height
    lines = note.count("\n") + 1 if note else 0
    bottom = (_FOOTER_IN + 0.17 * (lines - 1)) / height if note else 0.0
    fig.set_layout_engine("constrained", rect=(0.0, bottom, 1.0, top - bottom),
                          h_pad=0.06, w_pad=0.06, compress=compress)
    fig.text(0.012, 1.0 - 0.10 / height, title, ha="left", va="top",
             fontsize=15, fontweight="bold")
    fig.text(0.012, 1.0 - 0.44 / height, info.subtitle, ha="left", va="top",
             fontsize=10, color="0.3")
    if note:
        fig.text(0.012, 0.10 / height, note, ha="left", va="bottom", fontsize=8.8,
                 color="0.3", linespacing=1.35)
    return fig


def _empty(ax: Axes, text: str) -> None:
    """Write ``text`` in the middle of an axes that has nothing to show."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=11, color="0.4")


def _pretty(name: str) -> str:
    """``self_fabrication`` -> ``self-fabrication``, ``community_centre`` -> ``community centre``."""
    return name.replace("self_fabrication", "self-fabrication").replace("_", " ")


def _kind_style(kind: str, index: int) -> tuple[str, str]:
    if kind in KIND_STYLE:
        return KIND_STYLE[kind]
    return _EXTRA_COLORS[index % len(_EXTRA_COLORS)], _EXTRA_MARKERS[index % len(_EXTRA_MARKERS)]


def _pct_formatter() -> FuncFormatter:
    """Tick labels of an axis in percent: ``2.5 %``, ``100 %``."""
    return FuncFormatter(lambda v, _pos: f"{v:g} %")


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.{digits}f} %"


# ---------------------------------------------------------------------------
# adoption


@_styled
def adoption_figure(timeseries: pd.DataFrame, info: RunInfo) -> Figure:
    """Citizens by adoption stage over simulated time (shares of the population).

    Parameters
    ----------
    timeseries : pandas.DataFrame
        The hourly ``timeseries`` table (``hour``, ``n_unaware``, ``n_aware``,
        ``n_prosumer``, ``n_maker``; counts at the end of each hour).
    info : RunInfo
        For the subtitle.

    Returns
    -------
    matplotlib.figure.Figure
        Left: stacked shares of all four stages (%). Right: share at each stage or
        beyond (%, log scale) with the 10 % and 50 % marks of ``summary.adoption``.
    """
    note = ("Counts from the hourly timeseries at the end of each simulated hour; shares of "
            "all citizens. \"or beyond\": aware+ = aware + prosumer + maker; "
            "prosumer+ = prosumer + maker.")
    fig = _new_figure(13.0, 5.4, info, "Adoption of distributed manufacturing", note)
    ax_stack, ax_line = fig.subplots(1, 2, width_ratios=[1.0, 1.0])
    cols = [f"n_{s}" for s in STAGES]
    missing = [c for c in ["hour", *cols] if c not in timeseries.columns]
    if missing or timeseries.empty:
        for ax in (ax_stack, ax_line):
            _empty(ax, "no timeseries rows" if not missing else f"missing {', '.join(missing)}")
        return fig
    ts = timeseries.sort_values("hour")
    t_days = (ts["hour"].to_numpy(dtype=float) + 1.0) / 24.0
    counts = ts[cols].to_numpy(dtype=float)
    total = counts.sum(axis=1)
    shares = 100.0 * counts / np.where(total > 0, total, np.nan)[:, None]

    # the furthest stage at the bottom, so the adopters sit on the x axis
    order = list(range(len(STAGES)))[::-1]
    labels = [f"{_pretty(STAGES[i])} ({shares[-1, i]:.1f} % at end)" for i in order]
    ax_stack.stackplot(t_days, shares[:, order].T, labels=labels,
                       colors=[STAGE_COLORS[STAGES[i]] for i in order], alpha=0.95,
                       linewidth=0)
    ax_stack.set_xlim(0, max(t_days[-1], 1e-9))
    ax_stack.set_ylim(0, 100)
    ax_stack.yaxis.set_major_formatter(_pct_formatter())
    ax_stack.set_xlabel("simulated time (days)")
    ax_stack.set_ylabel("share of citizens (%)")
    ax_stack.set_title("Citizens by stage (stacked)")
    handles, leg_labels = ax_stack.get_legend_handles_labels()
    ax_stack.legend(handles[::-1], leg_labels[::-1], loc="center left", title="stage",
                    framealpha=0.9)
    ax_stack.grid(False)

    beyond = {
        "aware or beyond": shares[:, 1:].sum(axis=1),
        "prosumer or beyond": shares[:, 2:].sum(axis=1),
        "maker": shares[:, 3],
    }
    colors = [STAGE_COLORS["aware"], STAGE_COLORS["prosumer"], STAGE_COLORS["maker"]]
    positive = np.concatenate([v[v > 0] for v in beyond.values()])
    for (label, values), color in zip(beyond.items(), colors, strict=True):
        masked = np.where(values > 0, values, np.nan)
        ax_line.plot(t_days, masked, color=color, linewidth=2.2,
                     label=f"{label} (end {values[-1]:.2f} %)")
    for level in (10, 50):
        ax_line.axhline(level, color="0.35", linestyle="--", linewidth=1.0)
        ax_line.text(0.01, level * 0.97, f"{level} % of citizens",
                     transform=ax_line.get_yaxis_transform(), ha="left", va="top",
                     fontsize=9, color="0.35")
    ax_line.set_yscale("log")
    low = float(positive.min()) / 2.0 if positive.size else 0.01
    ax_line.set_ylim(max(low, 1e-3), 100.0)
    ax_line.yaxis.set_major_formatter(_pct_formatter())
    ax_line.yaxis.set_minor_formatter(NullFormatter())
    ax_line.set_xlim(0, max(t_days[-1], 1e-9))
    ax_line.set_xlabel("simulated time (days)")
    ax_line.set_ylabel("share of citizens (%, log scale)")
    ax_line.set_title("At each stage or beyond")
    ax_line.legend(loc="center right", framealpha=0.9)
    return fig


# ---------------------------------------------------------------------------
# utilization


def _machine_kinds(timeseries: pd.DataFrame) -> list[str]:
    """Facility kinds with busy/open columns and some open machines during the run."""
    kinds = []
    for col in timeseries.columns:
        if col.startswith("busy_machines_"):
            kind = col.removeprefix("busy_machines_")
            open_col = f"open_machines_{kind}"
            if open_col in timeseries.columns and timeseries[open_col].sum() > 0:
                kinds.append(kind)
    order = {k: i for i, k in enumerate(KIND_STYLE)}
    return sorted(kinds, key=lambda k: (order.get(k, len(order)), k))


def _ratio_pct(busy: pd.Series, open_: pd.Series) -> pd.Series:
    return 100.0 * busy / open_.where(open_ > 0)


@_styled
def utilization_figure(timeseries: pd.DataFrame, info: RunInfo,
                       summary: Mapping[str, Any] | None = None) -> Figure:
    """Machine utilization by facility kind, day by day and over the hours of a day.

    Parameters
    ----------
    timeseries : pandas.DataFrame
        The hourly ``timeseries`` (``hour``, ``day``, ``busy_machines_<kind>``,
        ``open_machines_<kind>``: machines busy / open at the end of each hour).
    info : RunInfo
        For the subtitle.
    summary : mapping, optional
        ``summary.json``; its ``utilization`` run totals (busy / open machine-hours) are
        drawn as dashed lines and quoted in the panel titles.

    Returns
    -------
    matplotlib.figure.Figure
        One small panel per facility kind (and all kinds pooled): bars = per simulated
        day, sum of busy machines / sum of open machines over the day's hourly snapshots
        (%); line = the same over a trailing 7-day window. Right: the pooled ratio for
        each hour of the day over all days, one line per kind (%).
    """
    note = ("Utilization = Σ busy machines / Σ open machines over the hourly snapshots at the "
            "end of each hour (closed hours count in neither; no bar = closed all day).\n"
            "Dashed line and \"run\" value: run total from summary.json "
            "(busy / open machine-hours, integrated exactly).")
    kinds = _machine_kinds(timeseries) if ("hour" in timeseries.columns
                                           and not timeseries.empty) else []
    n_panels = len(kinds) + 1
    ncols = 3 if n_panels > 4 else 2
    nrows = max(1, math.ceil(n_panels / ncols))
    fig = _new_figure(15.5, 2.0 * nrows + 2.6, info, "Machine utilization by facility kind",
                      note)
    outer = fig.add_gridspec(1, 2, width_ratios=[2.1, 1.0])
    small = outer[0].subgridspec(nrows, ncols)
    ax_hour = fig.add_subplot(outer[1])
    if not kinds:
        _empty(fig.add_subplot(small[:, :]), "no machine was open during the run")
        _empty(ax_hour, "no machine was open during the run")
        return fig
    util = (summary or {}).get("utilization") or {}
    run_util = util.get("by_facility_kind") or {}
    ts = timeseries.sort_values("hour").copy()
    if "day" not in ts.columns:
        ts["day"] = ts["hour"] // 24
    ts["hour_of_day"] = ts["hour"] % 24
    ts["busy_machines___all"] = ts[[f"busy_machines_{k}" for k in kinds]].sum(axis=1)
    ts["open_machines___all"] = ts[[f"open_machines_{k}" for k in kinds]].sum(axis=1)
    days = np.arange(int(ts["day"].min()), int(ts["day"].max()) + 1)
    daily = ts.groupby("day").sum(numeric_only=True).reindex(days, fill_value=0)
    hourly = ts.groupby("hour_of_day").sum(numeric_only=True)
    window = 7 if len(days) >= 7 else max(1, len(days))
    rolling = daily.rolling(window, min_periods=1).sum()

    series = [*kinds, "__all"]
    day_pct = {k: _ratio_pct(daily[f"busy_machines_{k}"], daily[f"open_machines_{k}"])
               for k in series}
    roll_pct = {k: _ratio_pct(rolling[f"busy_machines_{k}"], rolling[f"open_machines_{k}"])
                for k in series}
    top = max(float(np.nanmax(v.to_numpy(), initial=0.0)) for v in day_pct.values())
    ymax = max(2.0, top * 1.15)
    axes: list[Axes] = []
    for i, kind in enumerate(series):
        ax = fig.add_subplot(small[i // ncols, i % ncols],
                             sharex=axes[0] if axes else None, sharey=axes[0] if axes else None)
        axes.append(ax)
        if kind == "__all":
            color, name, total = "0.2", "all kinds pooled", util.get("overall")
        else:
            color, name, total = _kind_style(kind, i)[0], _pretty(kind), run_util.get(kind)
        ax.bar(days + 0.5, day_pct[kind].to_numpy(), width=0.85, color=color, alpha=0.45,
               label="per day")
        ax.plot(days + 1.0, roll_pct[kind].to_numpy(), color=color, linewidth=2.0,
                label=f"trailing {window}-day" if window > 1 else "per day")
        if total is not None:
            ax.axhline(100.0 * total, color="black", linestyle="--", linewidth=1.0,
                       label="run total")
        ax.set_title(f"{name} (run {_pct(total)})", fontsize=10.5, loc="left")
        ax.tick_params(labelsize=9)
    for i, ax in enumerate(axes):
        if i % ncols == 0:
            ax.set_ylabel("busy / open (%)", fontsize=10)
        else:
            ax.tick_params(labelleft=False)
        last_row = i + ncols >= len(axes)
        if last_row:
            ax.set_xlabel("simulated time (days)", fontsize=10)
        else:
            ax.tick_params(labelbottom=False)
    axes[0].set_ylim(0, ymax)
    axes[0].set_xlim(days[0], days[-1] + 1.0)
    axes[0].yaxis.set_major_formatter(_pct_formatter())
    axes[0].xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axes[0].legend(loc="upper left", fontsize=8.5, framealpha=0.9, ncols=1)

    for i, kind in enumerate(series):
        pct = _ratio_pct(hourly[f"busy_machines_{kind}"], hourly[f"open_machines_{kind}"])
        if kind == "__all":
            color, width, label, marker = "black", 2.6, "all kinds pooled", None
        else:
            color, width, label, marker = _kind_style(kind, i)[0], 1.5, _pretty(kind), "o"
        ax_hour.plot(hourly.index.to_numpy(), pct.to_numpy(), color=color, linewidth=width,
                     marker=marker, markersize=3.5, label=label)
    ax_hour.set_ylim(bottom=0)
    ax_hour.yaxis.set_major_formatter(_pct_formatter())
    ax_hour.set_xlim(-0.5, 23.5)
    ax_hour.set_xticks(range(0, 24, 3))
    ax_hour.set_xlabel("hour of day (h; snapshot at the end of the hour)")
    ax_hour.set_ylabel("busy / open machines (%)")
    ax_hour.set_title("Average day (all days pooled)")
    ax_hour.legend(loc="upper right", title="facility kind", framealpha=0.9)
    return fig


# ---------------------------------------------------------------------------
# delivery times


def _delivery_hours(orders: pd.DataFrame) -> pd.DataFrame:
    """Delivered orders with a finite time: columns ``channel`` and ``h`` (hours)."""
    h = (orders["delivered_min"].astype(float) - orders["created_min"].astype(float)) / 60.0
    ok = (orders["status"] == "delivered").to_numpy() & np.isfinite(h.to_numpy())
    return pd.DataFrame({"channel": orders["channel"].astype(str).to_numpy()[ok],
                         "h": h.to_numpy()[ok]})


def _hour_ticks(ax: Axes, low: float, high: float) -> None:
    ticks = [t for t in _HOUR_TICKS if low <= t <= high]
    if len(ticks) >= 2:
        ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())


@_styled
def delivery_times_figure(orders: pd.DataFrame, info: RunInfo) -> Figure:
    """Order-to-receipt time distributions by channel (hours, log scale).

    Parameters
    ----------
    orders : pandas.DataFrame
        The ``orders`` table (``channel``, ``status``, ``created_min``,
        ``delivered_min``; minutes since the run start).
    info : RunInfo
        For the subtitle.

    Returns
    -------
    matplotlib.figure.Figure
        Left: one histogram per channel of (delivered_min - created_min) / 60 over
        delivered orders, log-spaced bins, with p50 and p90 (the same
        :func:`citymodel.metrics.delivery_time_stats` as ``summary.json``). Right:
        the cumulative share delivered within a time, per channel.
    """
    note = ("Delivered orders only: orders still in progress at the end of the run are not "
            "shown (right-censoring), so a channel with a long backlog looks faster than it "
            "is. Times under 0.1 h are drawn at 0.1 h.")
    channels = [c for c in CHANNELS]
    extra = sorted(set(orders["channel"].dropna().astype(str)) - set(channels)) if len(
        orders) else []
    channels += extra
    height = max(5.6, 1.75 * len(channels) + 1.8)
    fig = _new_figure(13.5, height, info, "Delivery time by channel", note)
    grid = fig.add_gridspec(len(channels), 2, width_ratios=[1.45, 1.0])
    hist_axes = [fig.add_subplot(grid[i, 0]) for i in range(len(channels))]
    for ax in hist_axes[1:]:
        ax.sharex(hist_axes[0])
    ax_cdf = fig.add_subplot(grid[:, 1])
    done = _delivery_hours(orders) if len(orders) else pd.DataFrame({"channel": [], "h": []})
    floor = 0.1
    if len(done):
        low = max(floor, float(done["h"].min()))
        high = max(float(done["h"].max()), low * 2.0)
        bins = np.geomspace(low / 1.05, high * 1.05, 45)
    else:
        low, high, bins = 1.0, 100.0, np.geomspace(1.0, 100.0, 45)
    status = orders.groupby(["channel", "status"]).size() if len(orders) else pd.Series(
        dtype=int)
    for i, (ax, channel) in enumerate(zip(hist_axes, channels, strict=True)):
        color = CHANNEL_COLORS.get(channel, _EXTRA_COLORS[i % len(_EXTRA_COLORS)])
        hours = np.maximum(done.loc[done["channel"] == channel, "h"].to_numpy(), floor)
        in_progress = int(status.get((channel, "in_progress"), 0))
        cancelled = int(status.get((channel, "cancelled"), 0))
        title = f"{_pretty(channel)}: {hours.size:,} delivered, {in_progress:,} in progress"
        if cancelled:
            title += f", {cancelled:,} cancelled"
        ax.set_title(title, loc="left", fontsize=11)
        ax.set_xscale("log")
        ax.set_ylabel("orders")
        if hours.size == 0:
            _empty(ax, "no delivered orders")
            ax.set_yticks([])
            continue
        stats = delivery_time_stats(hours)
        ax.hist(hours, bins=bins, color=color, alpha=0.85, label="delivered orders")
        ax.axvline(stats["p50"], color="black", linestyle="--", linewidth=1.4,
                   label=f"p50 = {stats['p50']:.1f} h")
        ax.axvline(stats["p90"], color="black", linestyle=":", linewidth=1.6,
                   label=f"p90 = {stats['p90']:.1f} h")
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax.legend(loc="upper left", framealpha=0.9, fontsize=9)
        sorted_h = np.sort(hours)
        share = 100.0 * np.arange(0, sorted_h.size + 1) / sorted_h.size
        ax_cdf.step(np.concatenate([sorted_h[:1], sorted_h]), share, where="post", color=color, linewidth=2.0,
                    label=f"{_pretty(channel)} (mean {stats['mean']:.1f} h)")
    for ax in hist_axes[:-1]:
        ax.tick_params(labelbottom=False)
    hist_axes[-1].set_xlabel("order-to-receipt time (h, log scale)")
    hist_axes[0].set_xlim(bins[0], bins[-1])
    _hour_ticks(hist_axes[-1], bins[0], bins[-1])
    ax_cdf.set_xscale("log")
    ax_cdf.set_xlim(bins[0], bins[-1])
    _hour_ticks(ax_cdf, bins[0], bins[-1])
    ax_cdf.set_ylim(0, 100)
    ax_cdf.yaxis.set_major_formatter(_pct_formatter())
    for level in (50, 90):
        ax_cdf.axhline(level, color="0.5", linestyle=":", linewidth=1.0)
    ax_cdf.set_xlabel("order-to-receipt time (h, log scale)")
    ax_cdf.set_ylabel("delivered within this time (% of delivered)")
    ax_cdf.set_title("Cumulative distribution")
    for day_h, text in ((24, "1 day"), (168, "1 week")):
        if bins[0] < day_h < bins[-1]:
            ax_cdf.axvline(day_h, color="0.6", linewidth=0.8)
            ax_cdf.text(day_h, 2, f" {text}", fontsize=8.5, color="0.4", rotation=90,
                        va="bottom")
    if ax_cdf.get_legend_handles_labels()[0]:
        ax_cdf.legend(loc="center left", title="channel", framealpha=0.9)
    else:
        _empty(ax_cdf, "no delivered orders")
    return fig


# ---------------------------------------------------------------------------
# inclusion


def _wilson(share: float | None, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95 % by default) of a share from n people, as (low, high)."""
    if share is None or n <= 0 or not math.isfinite(share):
        return math.nan, math.nan
    denom = 1.0 + z * z / n
    centre = (share + z * z / (2 * n)) / denom
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@_styled
def inclusion_figure(agents: pd.DataFrame, info: RunInfo,
                     access_threshold_s: float = ACCESS_THRESHOLD_S) -> Figure:
    """Access, participation and prosumer share by income quintile.

    Parameters
    ----------
    agents : pandas.DataFrame
        The ``agents`` table (see :func:`citymodel.metrics.inclusion`).
    info : RunInfo
        For the subtitle.
    access_threshold_s : float, default 900
        Walking time that counts as access (seconds).

    Returns
    -------
    matplotlib.figure.Figure
        Three bar charts (%, quintile 1 = poorest), each with 95 % Wilson intervals;
        values from :func:`citymodel.metrics.inclusion`, as in ``summary.json``.
    """
    incl = inclusion(agents, access_threshold_s=access_threshold_s)
    n_q = incl["n_by_income_quintile"]
    minutes = access_threshold_s / 60.0

    def _fmt(value: Any, digits: int = 3) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    note = (f"Concentration index of DM orders over income rank: "
            f"{_fmt(incl['concentration_index'])} (> 0: used more by the rich); Erreygers "
            f"index of participation: {_fmt(incl['erreygers_index'])}; Gini of walking time: "
            f"{_fmt(incl['access_gini'])}; citizens who cannot reach any workshop: "
            f"{incl['access_n_unreachable']}.\nValues from citymodel.metrics.inclusion (as in "
            "summary.json); error bars: 95 % Wilson score intervals of each share.")
    fig = _new_figure(13.5, 5.4, info, "Inclusion by income quintile", note)
    axes = fig.subplots(1, 3)
    panels = [
        ("access_15min_walk_by_income_quintile", f"Public workshop within {minutes:g} min walk",
         "share of citizens with access (%)", "#2b8cbe"),
        ("participation_by_income_quintile", "≥ 1 platform or self-fab. order",
         "share of citizens who used DM (%)", "#e6550d"),
        ("prosumer_share_by_income_quintile", "Prosumer or maker at the end",
         "share of citizens (%)", "#756bb1"),
    ]
    labels = []
    medians = agents.groupby("income_quintile")["income"].median()
    for q in range(1, 6):
        extra = {1: "\npoorest", 5: "\nrichest"}.get(q, "\n")
        median = medians.get(q)
        money = f"\n£{median / 1000:.0f}k" if median is not None and math.isfinite(
            median) else ""
        labels.append(f"Q{q}{extra}{money}")
    x = np.arange(1, 6)
    for ax, (key, title, ylabel, color) in zip(axes, panels, strict=True):
        values = incl[key]
        heights = np.array([np.nan if v is None else 100.0 * v for v in values])
        ci = np.array([_wilson(v, n) for v, n in zip(values, n_q, strict=True)]) * 100.0
        err = np.vstack([heights - ci[:, 0], ci[:, 1] - heights])
        ax.bar(x, np.nan_to_num(heights), color=color, alpha=0.85, width=0.7,
               label="share of citizens")
        ax.errorbar(x, heights, yerr=np.where(np.isfinite(err), err, 0.0), fmt="none",
                    ecolor="black", capsize=4, linewidth=1.2, label="95 % interval")
        top = float(np.nanmax(ci[:, 1], initial=0.0)) if np.isfinite(ci).any() else 1.0
        ymax = 100.0 if top > 60 else max(top * 1.25, 1.0)
        ax.set_ylim(0, ymax * (1.12 if top > 60 else 1.0))
        for xi, h, hi in zip(x, heights, ci[:, 1], strict=True):
            if not math.isfinite(h):
                continue
            if h >= 0.18 * ymax:  # inside the bar, below the error bar
                ax.text(xi, h * 0.45, f"{h:.1f} %", ha="center", va="center", fontsize=9.5,
                        color="white", fontweight="bold")
            else:  # above the error bar
                ax.annotate(f"{h:.1f} %", (xi, hi if math.isfinite(hi) else h), xytext=(0, 3),
                            textcoords="offset points", ha="center", va="bottom", fontsize=9,
                            color="0.15")
        ax.set_xticks(x, labels)
        ax.yaxis.set_major_formatter(_pct_formatter())
        if top > 60:
            ax.set_yticks(np.arange(0, 101, 20))
        ax.set_xlabel("income quintile (median income, £/year)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(axis="x", visible=False)
        if not len(agents):
            _empty(ax, "no citizens")
    handles = [Patch(color="0.55", alpha=0.85, label="share of citizens in the quintile"),
               Line2D([], [], color="black", marker="|", markersize=10, linewidth=1.2,
                      label="95 % Wilson interval")]
    fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.995, 0.995), ncols=1,
               frameon=False)
    return fig


# ---------------------------------------------------------------------------
# access map


def _node_xy(graph: Any) -> pd.DataFrame:
    """Node longitude/latitude (degrees) of a networkx graph, indexed by node id."""
    ids, xs, ys = [], [], []
    for node, data in graph.nodes(data=True):
        ids.append(node)
        xs.append(float(data["x"]))
        ys.append(float(data["y"]))
    return pd.DataFrame({"x": xs, "y": ys}, index=pd.Index(ids, dtype=np.int64, name="node"))


def _edge_segments(graph: Any, xy: pd.DataFrame) -> np.ndarray:
    """One straight segment per street (undirected, parallel edges merged): (n, 2, 2) degrees."""
    pairs = {(u, v) if u <= v else (v, u) for u, v in graph.edges() if u != v}
    if not pairs:
        return np.zeros((0, 2, 2))
    arr = np.array(sorted(pairs), dtype=np.int64)
    a = xy.loc[arr[:, 0], ["x", "y"]].to_numpy()
    b = xy.loc[arr[:, 1], ["x", "y"]].to_numpy()
    return np.stack([a, b], axis=1)


def _scale_bar(ax: Axes, lat: float) -> None:
    """A round-length scale bar in the lower left corner (metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    m_per_deg_lon = _M_PER_DEG_LAT * math.cos(math.radians(lat))
    width_m = (x1 - x0) * m_per_deg_lon
    length = next((L for L in (5000, 2000, 1000, 500, 200, 100, 50) if width_m / 5 >= L), 20)
    deg = length / m_per_deg_lon
    bx, by = x0 + 0.03 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    ax.plot([bx, bx + deg], [by, by], color="black", linewidth=3, solid_capstyle="butt",
            zorder=6)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length} m"
    ax.text(bx + deg / 2, by + 0.012 * (y1 - y0), label, ha="center", va="bottom",
            fontsize=9.5, zorder=6,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})


def _access_cmap(split: float, n: int = 256) -> ListedColormap:
    """Light to dark blue up to ``split`` (share of the colour range), then light to dark red."""
    k = int(round(min(max(split, 0.0), 1.0) * n))
    below = colormaps["YlGnBu"](np.linspace(0.25, 1.0, max(k, 1)))
    above = colormaps["Reds"](np.linspace(0.55, 1.0, max(n - k, 1)))
    return ListedColormap(np.vstack([below[:k], above[: n - k]]), name="access")


@_styled
def access_map_figure(agents: pd.DataFrame, facilities: pd.DataFrame, city: Any, info: RunInfo,
                      access_threshold_s: float = ACCESS_THRESHOLD_S,
                      public_kinds: Sequence[str] = PUBLIC_WORKSHOP_KINDS) -> Figure:
    """Map of walking access: street graph, homes by walking time, workshops by kind.

    Parameters
    ----------
    agents : pandas.DataFrame
        The ``agents`` table (``home_node``, ``walk_time_to_workshop_s`` in s).
    facilities : pandas.DataFrame
        The ``facilities`` table (``kind``, ``lon``, ``lat`` in degrees).
    city : citymodel.maps.City
        The run's map; ``city.graph("walk")`` nodes carry ``x`` (lon) and ``y`` (lat).
    info : RunInfo
        For the subtitle and the map credit.
    access_threshold_s : float, default 900
        Walking time marked on the colour bar (seconds).
    public_kinds : sequence of str
        Facility kinds that are public workshops (the walking-time targets).

    Returns
    -------
    matplotlib.figure.Figure
        Homes (one dot per home node, area growing with its citizens) coloured by
        walking time in minutes; workshops drawn at their lon/lat.
    """
    graph = city.graph("walk")
    xy = _node_xy(graph)
    homes = (agents.groupby("home_node")
             .agg(citizens=("home_node", "size"), walk_s=("walk_time_to_workshop_s", "max"))
             .reset_index())
    known = homes["home_node"].isin(xy.index)
    if not known.all():
        lost = int(homes.loc[~known, "citizens"].sum())
        warnings.warn(f"{lost} citizens live at nodes missing from the map's walk graph; "
                      "they are left off the access map", UserWarning, stacklevel=3)
        homes = homes[known]
    homes = homes.join(xy, on="home_node")
    minutes = homes["walk_s"].to_numpy(dtype=float) / 60.0
    finite = np.isfinite(minutes)
    walk_all = agents["walk_time_to_workshop_s"].to_numpy(dtype=float)
    within = float(np.mean(walk_all <= access_threshold_s)) if walk_all.size else math.nan
    threshold_min = access_threshold_s / 60.0
    note = (f"Walking time on the street graph from each home to the nearest public workshop "
            f"(agents.walk_time_to_workshop_s); {_pct(within)} of citizens live within "
            f"{threshold_min:g} min. Dot area grows with the citizens at a home node. "
            + textwrap.fill(f"Map data {info.attribution.rstrip('.')}.", 160))
    west, south, east, north = (xy["x"].min(), xy["y"].min(), xy["x"].max(), xy["y"].max())
    pad_x, pad_y = 0.02 * (east - west or 1e-3), 0.02 * (north - south or 1e-3)
    mid_lat = float((south + north) / 2.0)
    stretch = 1.0 / max(math.cos(math.radians(mid_lat)), 1e-6)
    # size the figure to the map: the longer side of the map gets 8.5 inches
    ground_w = (east - west + 2 * pad_x) / stretch
    ground_h = north - south + 2 * pad_y
    map_w, map_h = (8.5, 8.5 * ground_h / ground_w) if ground_w >= ground_h else (
        8.5 * ground_w / ground_h, 8.5)
    map_w, map_h = max(map_w, 4.0), max(map_h, 4.0)
    note = note.replace(" Dot area", "\nDot area")
    fig = _new_figure(map_w + 6.0, map_h + 2.6, info, "Walking access to public workshops", note,
                      compress=True)
    ax = fig.add_subplot()
    segments = _edge_segments(graph, xy)
    ax.add_collection(LineCollection(segments, colors="0.7", linewidths=0.45, zorder=1))
    ax.set_xlim(west - pad_x, east + pad_x)
    ax.set_ylim(south - pad_y, north + pad_y)
    ax.set_aspect(stretch)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6))

    vmax = max(threshold_min * 1.2, float(np.ceil(minutes[finite].max())) if finite.any() else 0)
    norm = Normalize(vmin=0.0, vmax=vmax)
    cmap = _access_cmap(threshold_min / vmax)
    order = np.argsort(np.where(finite, minutes, np.inf), kind="stable")
    h = homes.iloc[order]
    m = minutes[order]
    f = finite[order]
    far = f & (m > threshold_min)
    sizes = (5.0 + 4.0 * np.sqrt(h["citizens"].to_numpy(dtype=float))) * np.where(far, 2.0, 1.0)
    scatter = ax.scatter(h["x"].to_numpy()[f], h["y"].to_numpy()[f], c=m[f], s=sizes[f],
                         cmap=cmap, norm=norm, linewidths=0, alpha=0.9, zorder=2)
    n_far = int(h.loc[far, "citizens"].sum())
    handles: list[Any] = [
        Line2D([], [], color="0.7", linewidth=1.2, label="street (walk graph)"),
        Line2D([], [], linestyle="none", marker="o", markersize=6,
               markerfacecolor=cmap(norm(threshold_min / 2)), markeredgecolor="none",
               label=f"home within {threshold_min:g} min ({int(h.loc[f & ~far, 'citizens'].sum()):,}"
                     " citizens)"),
        Line2D([], [], linestyle="none", marker="o", markersize=8,
               markerfacecolor=cmap(norm(min(vmax, threshold_min * 1.15))),
               markeredgecolor="none", label=f"home beyond {threshold_min:g} min ({n_far:,})"),
    ]
    if (~f).any():
        ax.scatter(h["x"].to_numpy()[~f], h["y"].to_numpy()[~f], marker="x", s=36,
                   color="black", linewidths=1.4, zorder=3)
        handles.append(Line2D([], [], linestyle="none", marker="x", color="black",
                              label=f"home, no workshop reachable "
                                    f"({int(h.loc[~f, 'citizens'].sum()):,})"))
    kinds = list(dict.fromkeys(facilities["kind"].astype(str))) if len(facilities) else []
    public = [k for k in kinds if k in public_kinds]
    others = [k for k in kinds if k not in public_kinds]
    for i, kind in enumerate(public + others):
        rows = facilities[facilities["kind"] == kind]
        color, marker = _kind_style(kind, i)
        is_public = kind in public_kinds
        size = 260 if marker == "*" else 140
        if not is_public:
            size = 70 if kind != "maker" else 22
        ax.scatter(rows["lon"], rows["lat"], marker=marker, s=size, c=color,
                   edgecolors="black" if is_public else "white",
                   linewidths=1.0 if is_public else 0.6, zorder=5 if is_public else 4)
        label = f"{_pretty(kind)} ({len(rows)})"
        if not is_public:
            label += " — not a public workshop"
        handles.append(Line2D([], [], linestyle="none", marker=marker, markersize=(
            13 if marker == "*" else 9) if is_public else 6, markerfacecolor=color,
            markeredgecolor="black" if is_public else "white", label=label))
    cbar = fig.colorbar(scatter, ax=ax, shrink=0.75, pad=0.02, aspect=30)
    cbar.set_label(f"walking time to the nearest public workshop (min)\n"
                   f"blue: within {threshold_min:g} min, red: beyond")
    cbar.ax.axhline(threshold_min, color="black", linewidth=2.0)
    fig.legend(handles=handles, loc="outside right upper", frameon=False,
               title="legend (count)", alignment="left")
    _scale_bar(ax, mid_lat)
    # the street credit on the map; the full attribution (zones, libraries) is in the note below it
    ax.text(0.995, 0.005, info.attribution.split(". ")[0], transform=ax.transAxes, ha="right",
            va="bottom", fontsize=9, zorder=7,
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "0.7", "alpha": 0.9})
    ax.set_xlabel("longitude (° E)")
    ax.set_ylabel("latitude (° N)")
    ax.set_title(f"{_pct(within, 1)} of citizens within {threshold_min:g} min walk",
                 fontsize=12)
    ax.grid(False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    return fig


# ---------------------------------------------------------------------------
# the report


def _load_summary(run_dir: Path) -> dict[str, Any]:
    """``summary.json`` of the run as a dict ({} if the run has none)."""
    path = run_dir / SUMMARY
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        msg = f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})"
        raise CitymodelError(msg) from exc


def _load_city(manifest: Mapping[str, Any], run_dir: Path) -> Any:
    """The run's map, loaded from ``manifest["map"]["source"]``."""
    from citymodel.maps import load_city

    source = (manifest.get("map") or {}).get("source")
    if not source:
        msg = f"run folder {run_dir} names no map in its manifest.json; pass city= to the report"
        raise CitymodelError(msg)
    try:
        return load_city(source)
    except CitymodelError as exc:
        msg = f"cannot load the map of run folder {run_dir} ({exc}); pass the map explicitly"
        raise CitymodelError(msg) from exc


def report_figures(run_dir: Path, city: Any = None) -> dict[str, Callable[[], Figure]]:
    """The builders of a finished run's plots, by file name (in the order of :data:`PLOT_FILES`).

    Each builder returns the :class:`~matplotlib.figure.Figure` that :func:`write_report` saves,
    so tests (and notebooks) can read the plotted numbers. Arguments and errors as in
    :func:`write_report`.
    """
    run_dir = user_path(run_dir)
    if not run_dir.exists():
        msg = f"run folder {run_dir} does not exist"
        raise CitymodelError(msg)
    if not run_dir.is_dir():
        msg = f"run folder {run_dir} is not a folder"
        raise CitymodelError(msg)
    manifest, tables = read_run(run_dir)
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    if missing:
        status = manifest.get("status", "unknown")
        msg = (f"run folder {run_dir} lacks {', '.join(f'{m}.parquet' for m in missing)} "
               f"(run status: {status}); only a completed run can be reported")
        raise CitymodelError(msg)
    summary = _load_summary(run_dir)
    info = run_info(manifest, run_dir)
    if city is None:
        city = _load_city(manifest, run_dir)
    expected = (manifest.get("map") or {}).get("checksum")
    actual = getattr(city, "checksum", None)
    if expected and actual and expected != actual:
        warnings.warn(f"the map ({actual}) differs from the one run folder {run_dir} was run on "
                      f"({expected}); the access map may not match the run",
                      UserWarning, stacklevel=3)
    threshold = float((summary.get("inclusion") or {}).get("access_threshold_s")
                      or ACCESS_THRESHOLD_S)
    builders = {
        "adoption.png": lambda: adoption_figure(tables["timeseries"], info),
        "utilization.png": lambda: utilization_figure(tables["timeseries"], info, summary),
        "delivery_times.png": lambda: delivery_times_figure(tables["orders"], info),
        "inclusion.png": lambda: inclusion_figure(tables["agents"], info, threshold),
        "access_map.png": lambda: access_map_figure(tables["agents"], tables["facilities"],
                                                    city, info, threshold),
    }
    return {name: builders[name] for name in PLOT_FILES}


def write_report(run_dir: Path, city: Any = None) -> list[Path]:
    """Write the plots of a finished run into ``run_dir/plots/``.

    Parameters
    ----------
    run_dir : pathlib.Path
        A run folder written by :func:`citymodel.runner.run_to_folder` (``manifest.json``,
        the Parquet tables, optionally ``summary.json``).
    city : citymodel.maps.City, optional
        The run's map. Loaded from the manifest's map source when not given; a
        checksum different from the manifest's gives a ``UserWarning``.

    Returns
    -------
    list of pathlib.Path
        The PNG files written, in the order of :data:`PLOT_FILES`.

    Raises
    ------
    citymodel.errors.CitymodelError
        One line naming the folder: it is missing, not a run folder, lacks a table
        the report needs, or its map cannot be loaded.
    """
    builders = report_figures(run_dir, city)
    out = user_path(run_dir) / PLOT_DIR
    if out.exists() and not out.is_dir():
        msg = f"cannot write plots: {out} exists and is not a folder"
        raise CitymodelError(msg)
    out.mkdir(exist_ok=True)
    return [save_figure(build(), out / name) for name, build in builders.items()]
