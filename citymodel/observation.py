"""Observation: the hourly time series of a run, and the Mesa DataCollector that mirrors it.

At the end of every simulated hour one row records the citizens per adoption
stage; per facility kind the machines running and open and the jobs queued at
the hour's end, and the machine-hours busy and open *during* the hour (exact
integrals over the opening hours, so they add up to ``facilities.parquet``);
and the orders placed that hour per channel.
The columns are :data:`TIMESERIES_COLUMNS`; ``timeseries.parquet`` holds the
rows, and the model's ``datacollector`` (a ``mesa.DataCollector``) has one
model reporter per column, so ``mesa.batch_run`` and SolaraViz plots see the
same numbers.
"""

from __future__ import annotations

from functools import partial

import mesa
import numpy as np

from citymodel.vocabulary import CHANNELS, FACILITY_KINDS, MINUTES_PER_DAY, STAGES

TIMESERIES_COLUMNS: tuple[str, ...] = (
    "hour", "day", *(f"n_{s}" for s in STAGES),
    *(f"{what}_{kind}" for kind in FACILITY_KINDS
      for what in ("busy_machines", "open_machines", "queue", "busy_machine_hours", "open_machine_hours")),
    *(f"orders_{c}" for c in CHANNELS),
)
"""Columns of the hourly time series, in table order."""


class Observation:
    """The observation component: the rows of the hourly time series.

    Attributes
    ----------
    rows
        One dict per simulated hour (keys :data:`TIMESERIES_COLUMNS`).
    hour_orders
        Orders placed in the current hour, per channel code.
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self.hour_orders = np.zeros(len(CHANNELS), dtype=np.int64)
        self._busy_min: dict[str, float] = {}
        self._open_min: dict[str, float] = {}

    def start_hour(self) -> None:
        """Reset the hour's order counts."""
        self.hour_orders[:] = 0

    def count_orders(self, channels: np.ndarray) -> None:
        """Add the hour's new orders (channel codes)."""
        self.hour_orders += np.bincount(channels, minlength=len(CHANNELS))

    def record(self, start_min: float, stage_counts: np.ndarray, busy: dict[str, int], open_: dict[str, int],
               queued: dict[str, int], busy_min: dict[str, float], open_min: dict[str, float]) -> dict[str, float]:
        """Append the row of the hour that started at ``start_min`` and return it.

        ``busy``, ``open_`` and ``queued`` are machines and jobs at the hour's end by kind;
        ``busy_min`` and ``open_min`` the cumulative busy and open machine minutes since the start.
        """
        row = {"hour": int(start_min // 60), "day": int(start_min // MINUTES_PER_DAY)}
        for s, name in enumerate(STAGES):
            row[f"n_{name}"] = int(stage_counts[s])
        for kind in FACILITY_KINDS:
            row[f"busy_machines_{kind}"] = busy.get(kind, 0)
            row[f"open_machines_{kind}"] = open_.get(kind, 0)
            row[f"queue_{kind}"] = queued.get(kind, 0)
            row[f"busy_machine_hours_{kind}"] = (busy_min.get(kind, 0.0) - self._busy_min.get(kind, 0.0)) / 60.0
            row[f"open_machine_hours_{kind}"] = (open_min.get(kind, 0.0) - self._open_min.get(kind, 0.0)) / 60.0
        self._busy_min, self._open_min = dict(busy_min), dict(open_min)
        for c, name in enumerate(CHANNELS):
            row[f"orders_{name}"] = int(self.hour_orders[c])
        self.rows.append(row)
        return row

    @property
    def latest(self) -> dict[str, float]:
        """The last recorded row (empty before the first hour)."""
        return self.rows[-1] if self.rows else {}


def timeseries_value(name: str, model) -> float:
    """Column ``name`` of the model's latest time-series row (a DataCollector model reporter)."""
    return model.observation.latest.get(name, 0)


def timeseries_datacollector() -> mesa.DataCollector:
    """A DataCollector with one model reporter per time-series column.

    Reporters are ``functools.partial(timeseries_value, name)``: Mesa calls a partial with the
    model, and a partial of a module function pickles (a model travels to Dask workers).
    """
    return mesa.DataCollector(model_reporters={name: partial(timeseries_value, name) for name in TIMESERIES_COLUMNS})
