"""The ``patterns`` section: observed patterns (PARAMETERS) the default run should reproduce — reported,
not forced.

Each row is a default-configuration run's value beside the range a source gives and whether it
lies inside. The rows are ``counted = False``: ``citymodel validate`` prints them and never fails
on them, because the model is not calibrated to them (they are what calibration would target).
The metrics are the project's own (:mod:`citymodel.metrics`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from citymodel.validation.context import _Context
from citymodel.validation.results import CheckResult

MAKERSPACE_OPEN_H_PER_YEAR = 36 * 52
"""A makerspace's open hours a year at its default hours (mon-thu 13-20, sat 10-18: 36 h a week)."""

PATTERNS: dict[str, tuple[float, float, str]] = {
    "makerspace_utilization": (
        250 / MAKERSPACE_OPEN_H_PER_YEAR, 1000 / MAKERSPACE_OPEN_H_PER_YEAR,
        "a UK hackspace laser cutter runs ~500 h/yr (Bristol Hackspace 2015, PARAMETERS §5) = 0.27 of a "
        "makerspace's 1,872 open h/yr; range a factor 2 either side (EST)"),
    "dm_share_of_purchases": (
        0.01, 0.06,
        "early market: 1-3 % of households own a printer (EST), 6 % of adults want one (Ipsos MORI 2013, "
        "PARAMETERS §6); no measured share of purchases found"),
    "platform_household_delivery_days": (
        3.0, 9.0, "3D printing services: 3-7 business days incl. post (PARAMETERS §3) = 3-9 calendar days"),
    "platform_furniture_delivery_days": (
        14.0, 28.0, "Opendesk lead time 2-4 weeks (PARAMETERS §2)"),
    "platform_textiles_delivery_days": (
        3.0, 21.0, "knit mill: sample 3-5 working days, bulk ~21 days (AzKnit, PARAMETERS §8)"),
    "self_fabrication_failed_attempt_share": (
        0.26, 0.41, "novice FDM prints: 41 % fail, 26 % by human error (Song & Telenko 2019, PARAMETERS §4)"),
}
"""Pattern -> (low, high, source) of the source's range."""


def pattern_values(tables: dict[str, Any], end_min: float) -> dict[str, tuple[float, str]]:
    """The model's value of every pattern (and a note on what it counts) from a run's tables."""
    from citymodel.metrics import delivery_time_stats, localisation, utilization

    orders = tables["orders"]
    util = utilization(tables["facilities"])["by_facility_kind"].get("makerspace")
    local = localisation(orders)["local_share_of_units"]
    out: dict[str, tuple[float, str]] = {
        "makerspace_utilization": (np.nan if util is None else float(util), "busy / open machine-hours"),
        "dm_share_of_purchases": (np.nan if local is None else float(local),
                                  "platform + self-fabrication share of orders delivered or in progress"),
    }
    channel = orders["channel"].astype(str)
    delivered = (orders["status"].astype(str) == "delivered").to_numpy()
    days = (orders["delivered_min"].to_numpy(dtype=float) - orders["created_min"].to_numpy(dtype=float)) / 1440.0
    for product in ("household", "furniture", "textiles"):
        mask = delivered & (channel == "platform").to_numpy() & (orders["product"].astype(str) == product).to_numpy()
        stats = delivery_time_stats(days[mask])
        median = stats.get("p50")
        waiting = int(((channel == "platform") & (orders["product"].astype(str) == product)).sum() - mask.sum())
        out[f"platform_{product}_delivery_days"] = (
            np.nan if median is None else float(median),
            f"median of {stats['n']} delivered platform orders ({waiting} not delivered by day "
            f"{end_min / 1440:g})")
    selffab = channel == "self_fabrication"
    attempts = orders.loc[selffab, "attempts"].to_numpy(dtype=float)
    made = np.isfinite(orders.loc[selffab, "completed_min"].to_numpy(dtype=float))
    cancelled = (orders.loc[selffab, "status"].astype(str) == "cancelled").to_numpy()
    ended = made | cancelled
    total = attempts[ended].sum()
    failed = total - made.sum()
    out["self_fabrication_failed_attempt_share"] = (
        float(failed / total) if total else np.nan, f"{int(failed)} failed of {int(total)} finished attempts")
    return out


def check_patterns(s: dict[str, Any], ctx: _Context) -> list[CheckResult]:
    """The ``patterns`` rows (reported, ``counted = False``) of a default run of the given size."""
    t0 = time.perf_counter()
    result = ctx.city_run(s["citizens"], s["days"], s["seed"])
    values = pattern_values(result.tables, s["days"] * 1440.0)
    params = {"citizens": s["citizens"], "days": s["days"], "seed": s["seed"], "map": "default",
              "config": "default"}
    seconds = time.perf_counter() - t0
    rows = []
    for name, (low, high, source) in PATTERNS.items():
        value, note = values[name]
        inside = bool(np.isfinite(value) and low <= value <= high)
        rows.append(CheckResult(
            "patterns", name, params, value, (low + high) / 2, (high - low) / 2, inside,
            tolerance_basis=f"source range {low:.3g}-{high:.3g}: {source}", detail=note, seconds=seconds,
            counted=False))
    return rows
