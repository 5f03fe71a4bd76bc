"""The app's live charts: what each one plots from the metric samples, and its PNG export.

A chart is a :class:`ChartSpec`: a title, a unit and named series whose values
are read from :class:`~citymodel.ui.live_metrics.Sample` objects. The browser
draws the rows as they are appended (see :mod:`citymodel.ui.chart_view`); the
same rows drawn by matplotlib give the PNG a user downloads.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from citymodel.report import CHANNEL_COLORS, KIND_STYLE, STAGE_COLORS
from citymodel.ui.live_metrics import Sample
from citymodel.vocabulary import CHANNELS, STAGES

QUINTILE_COLOURS = ("#b2182b", "#ef8a62", "#b8b8b8", "#67a9cf", "#2166ac")
DECILE_COLOURS = ("#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7",
                  "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061")


@dataclass(frozen=True)
class Series:
    """One line of a chart."""

    name: str
    colour: str
    dashed: bool = False


@dataclass(frozen=True)
class ChartSpec:
    """One live chart.

    Attributes
    ----------
    key
        Identifier (file name of the PNG export).
    title, y_label
        Texts shown with the chart.
    percent
        Values are shares (0..1) shown as %.
    series
        The lines, in the order of the values ``read`` returns.
    read
        Sample -> one value per series (None where undefined, e.g. no delivery yet).
    """

    key: str
    title: str
    y_label: str
    percent: bool
    series: tuple[Series, ...]
    read: Callable[[Sample], list[float | None]]

    def to_json(self, horizon_h: float) -> dict:
        """What the browser needs to draw the chart (without its rows)."""
        return {"key": self.key, "title": self.title, "y_label": self.y_label, "percent": self.percent,
                "x_max": float(horizon_h),
                "series": [{"name": s.name, "colour": s.colour, "dashed": s.dashed} for s in self.series]}


def _pretty(name: str) -> str:
    return name.replace("_", " ")


def chart_specs(kinds: Sequence[str], with_deciles: bool = False) -> list[ChartSpec]:
    """The app's charts for a model with facilities of ``kinds``; a decile chart if the map has zones."""
    kinds = [k for k in KIND_STYLE if k in kinds] + sorted(k for k in kinds if k not in KIND_STYLE)
    specs = [
        ChartSpec("adoption", "Adoption by stage", "share of citizens", True,
                  tuple(Series(s, STAGE_COLORS[s]) for s in STAGES),
                  lambda s: [s.adoption.get(name) for name in STAGES]),
        ChartSpec("utilization", "Utilization by facility kind (busy / open machine-hours so far)",
                  "utilization", True,
                  (*(Series(_pretty(k), KIND_STYLE.get(k, ("#7f7f7f", ""))[0]) for k in kinds),
                   Series("all facilities", "#000000", dashed=True)),
                  lambda s: [*(s.utilization["by_facility_kind"].get(k) for k in kinds),
                             s.utilization["overall"]]),
        ChartSpec("delivery", "Delivery time by channel, last 7 days (p50 solid, p90 dashed)", "hours", False,
                  tuple(Series(f"{_pretty(c)} {p}", CHANNEL_COLORS[c], dashed=p == "p90")
                        for c in CHANNELS for p in ("p50", "p90")),
                  lambda s: [s.delivery.get(c, {}).get(p) for c in CHANNELS for p in ("p50", "p90")]),
        ChartSpec("inclusion", "Participation by income quintile (≥ 1 local order)", "share of quintile", True,
                  tuple(Series(f"Q{q}" + (" poorest" if q == 1 else " richest" if q == 5 else ""),
                               QUINTILE_COLOURS[q - 1]) for q in range(1, 6)),
                  lambda s: list(s.inclusion["participation_by_income_quintile"])),
    ]
    if with_deciles:
        specs.append(ChartSpec(
            "inclusion_decile", "Participation by IMD decile (1 most deprived)", "share of decile", True,
            tuple(Series(f"D{d}", DECILE_COLOURS[d - 1]) for d in range(1, 11)),
            lambda s: list(s.inclusion.get("participation_by_imd_decile") or [None] * 10)))
    return specs


def _clean(value: float | None) -> float | None:
    return None if value is None or value != value else round(float(value), 5)


def chart_rows(spec: ChartSpec, samples: Sequence[Sample]) -> list[list[float | None]]:
    """``[hour, value per series]`` per sample that has at least one value."""
    rows = [[round(s.hour, 3), *(_clean(v) for v in spec.read(s))] for s in samples]
    return [row for row in rows if any(v is not None for v in row[1:])]


def chart_png(spec: ChartSpec, samples: Sequence[Sample], horizon_h: float, subtitle: str = "") -> bytes:
    """PNG bytes of a chart over ``samples`` (matplotlib Agg, same series and colours as the browser).

    The x axis spans the run so far (simulated hours, at most ``horizon_h``).
    """
    rows = chart_rows(spec, samples)
    fig = Figure(figsize=(7.5, 4.2), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.14, 0.62, 0.72))
    hours = [r[0] for r in rows]
    for j, series in enumerate(spec.series, start=1):
        values = [float("nan") if r[j] is None else r[j] * (100.0 if spec.percent else 1.0) for r in rows]
        ax.plot(hours, values, color=series.colour, linestyle="--" if series.dashed else "-", linewidth=1.6,
                label=series.name)
    ax.set_xlim(0, max(min(horizon_h, hours[-1]) if hours else 1.0, 1.0))  # the run so far
    ax.set_ylim(bottom=0)
    ax.set_xlabel("simulated hours")
    ax.set_ylabel(f"{spec.y_label} (%)" if spec.percent else spec.y_label)
    ax.grid(alpha=0.3)
    fig.suptitle(spec.title, fontsize=11, x=0.02, ha="left")
    if subtitle:
        fig.text(0.02, 0.9, subtitle, fontsize=8, color="#555555")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
