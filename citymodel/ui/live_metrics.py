"""The headline metrics of a running model, sampled step by step with the functions of ``summary.json``.

Each sample calls :mod:`citymodel.metrics` on the model's tables as of now
(the columns of :func:`citymodel.tables.agents_table` that the metrics read,
:func:`~citymodel.tables.facilities_table`, the order book): the app's charts and panels therefore show exactly what
``summary.json`` would say if the run stopped at that hour. Samples are appended
(one per step the app takes); nothing already sampled is recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from citymodel import metrics
from citymodel.tables import facilities_table
from citymodel.vocabulary import CHANNELS, STAGES

DELIVERY_WINDOW_H = 168.0
"""Rolling window of the delivery-time percentiles: orders delivered in the last week (hours)."""


@dataclass
class Sample:
    """The metrics of one moment of a run.

    Attributes
    ----------
    hour
        Simulated hours since the start.
    adoption
        Share of citizens per stage (``metrics.adoption(...)["final_shares"]``).
    utilization
        ``metrics.utilization(facilities)``: busy / open machine-hours so far, overall and by kind.
    delivery
        Channel -> ``{"p50", "p90", "n"}`` (hours) over orders delivered in the last
        :data:`DELIVERY_WINDOW_H` hours (``metrics.delivery_time_h`` of those orders).
    inclusion
        ``metrics.inclusion(agents)`` (access, participation, prosumers by income quintile).
    walk_min
        Mean walk to the nearest public workshop (minutes) over citizens who can reach one
        (the ``walk_time_to_workshop_s`` that ``metrics.inclusion`` reads); None if nobody can.
    """

    hour: float
    adoption: dict[str, float | None]
    utilization: dict[str, Any]
    delivery: dict[str, dict[str, float | None]]
    inclusion: dict[str, Any]
    walk_min: float | None = None

    def access_share(self) -> float | None:
        """Share of all citizens within a 15-minute walk of a workshop (from the quintile shares)."""
        n = self.inclusion["n_by_income_quintile"]
        shares = self.inclusion["access_15min_walk_by_income_quintile"]
        total = sum(n)
        if total == 0:
            return None
        return sum(k * (s or 0.0) for k, s in zip(n, shares, strict=True)) / total

    def has_deciles(self) -> bool:
        """True if citizens carry the IMD decile of their zone (a map with zones)."""
        by_decile = self.inclusion.get("n_by_imd_decile")
        return bool(by_decile) and sum(by_decile) > 0


def delivery_window(orders: pd.DataFrame, now_min: float, window_h: float = DELIVERY_WINDOW_H
                    ) -> dict[str, dict[str, float | None]]:
    """p50/p90 delivery time (hours) by channel over orders delivered in the last ``window_h`` hours."""
    recent = orders[(orders["status"] == "delivered")
                    & (orders["delivered_min"].astype(float) > now_min - window_h * 60.0)]
    by_channel = metrics.delivery_time_h(recent)["by_channel"]
    return {ch: {"p50": s["p50"], "p90": s["p90"], "n": s["n"]} for ch, s in by_channel.items()}


def agents_frame(model) -> pd.DataFrame:
    """The columns of :func:`citymodel.tables.agents_table` that inclusion and adoption read, built cheaply.

    Same values and dtypes as the full table (``stage`` as a categorical of the stage
    names), without the columns the live metrics do not need.
    """
    pop = model.population
    frame = pd.DataFrame({
        "income": pop.income.astype(np.float64),
        "income_quintile": pop.income_quintile.astype(np.int8),
        "stage": pd.Categorical.from_codes(pop.stage.astype(np.int64), categories=list(STAGES)),
        "walk_time_to_workshop_s": np.asarray(model.walk_to_workshop_s, dtype=np.float64),
    })
    for c, name in enumerate(CHANNELS):
        frame[f"orders_{name}"] = pop.orders_by_channel[:, c].astype(np.int64)
    zone_column = getattr(pop, "zone_column", None)  # populations placed by zones carry their IMD decile
    if zone_column is not None:
        frame["imd_decile"] = zone_column("imd_decile", -1).astype(np.int8)
    return frame


def sample_model(model) -> Sample:
    """The metrics of ``model`` as of ``model.now`` (see :class:`Sample`)."""
    agents = agents_frame(model)
    ts = pd.DataFrame(model.timeseries_rows[-1:],
                      columns=["hour", "day", *[f"n_{s}" for s in STAGES]])
    adoption = metrics.adoption(agents, ts, n_citizens=len(agents))["final_shares"]
    utilization = metrics.utilization(facilities_table(model))
    delivery = delivery_window(model.orders.to_frame(model.now), model.now)
    inclusion = metrics.inclusion(agents)
    walk = agents["walk_time_to_workshop_s"].to_numpy()
    finite = walk[np.isfinite(walk)]
    walk_min = float(finite.mean() / 60.0) if finite.size else None
    return Sample(model.now / 60.0, adoption, utilization, delivery, inclusion, walk_min)


class LiveMetrics:
    """The samples of one run, in time order (one per step the app has taken, plus hour 0)."""

    def __init__(self, model) -> None:
        self.samples: list[Sample] = [sample_model(model)]

    def record(self, model) -> Sample:
        """Sample ``model`` now and append the sample."""
        sample = sample_model(model)
        self.samples.append(sample)
        return sample

    @property
    def latest(self) -> Sample:
        """The most recent sample."""
        return self.samples[-1]

    def at_hour(self, hour: float) -> Sample | None:
        """The last sample at or before ``hour`` (None if there is none)."""
        hours = np.array([s.hour for s in self.samples])
        k = int(np.searchsorted(hours, hour + 1e-9, side="right")) - 1
        return self.samples[k] if k >= 0 else None
