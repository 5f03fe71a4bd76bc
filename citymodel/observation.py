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

from array import array
from collections.abc import Iterator, Sequence
from functools import partial

import mesa
import numpy as np
import pandas as pd

from citymodel.vocabulary import CHANNELS, FACILITY_KINDS, MINUTES_PER_DAY, STAGES

TIMESERIES_COLUMNS: tuple[str, ...] = (
    "hour", "day", *(f"n_{s}" for s in STAGES),
    *(f"{what}_{kind}" for kind in FACILITY_KINDS
      for what in ("busy_machines", "open_machines", "queue", "busy_machine_hours", "open_machine_hours")),
    *(f"orders_{c}" for c in CHANNELS),
)
"""Columns of the hourly time series, in table order."""

FLOAT_COLUMNS = frozenset(f"{what}_{kind}" for kind in FACILITY_KINDS
                          for what in ("busy_machine_hours", "open_machine_hours"))
"""The columns in hours (float); every other column is a count (int)."""


class Observation:
    """The observation component: the rows of the hourly time series, held as columns.

    The values are stored in two numpy arrays (counts as int64, machine-hours as
    float64; 8 bytes a value, ~4 MB a simulated year) rather than one dict per
    hour, so memory grows by little over a long run.

    Attributes
    ----------
    rows
        The rows so far as a read-only sequence of dicts (keys :data:`TIMESERIES_COLUMNS`).
    hour_orders
        Orders placed in the current hour, per channel code.
    """

    def __init__(self) -> None:
        self.hour_orders = np.zeros(len(CHANNELS), dtype=np.int64)
        self._busy_min: dict[str, float] = {}
        self._open_min: dict[str, float] = {}
        self._int_names = [c for c in TIMESERIES_COLUMNS if c not in FLOAT_COLUMNS]
        self._float_names = [c for c in TIMESERIES_COLUMNS if c in FLOAT_COLUMNS]
        self._ints = np.zeros((64, len(self._int_names)), dtype=np.int64)
        self._floats = np.zeros((64, len(self._float_names)), dtype=np.float64)
        self.n = 0
        self._latest: dict[str, float] = {}

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
        if self.n == len(self._ints):
            self._ints = np.concatenate([self._ints, np.zeros_like(self._ints)])
            self._floats = np.concatenate([self._floats, np.zeros_like(self._floats)])
        self._ints[self.n] = [row[c] for c in self._int_names]
        self._floats[self.n] = [row[c] for c in self._float_names]
        self.n += 1
        self._latest = row
        return row

    @property
    def latest(self) -> dict[str, float]:
        """The last recorded row (empty before the first hour)."""
        return self._latest

    @property
    def rows(self) -> TimeseriesRows:
        """The rows so far, as dicts made on demand."""
        return TimeseriesRows(self)

    def row(self, i: int) -> dict[str, float]:
        """Row ``i`` (0-based hour) as a dict in column order."""
        values = dict(zip(self._int_names, self._ints[i].tolist(), strict=True))
        values.update(zip(self._float_names, self._floats[i].tolist(), strict=True))
        return {c: values[c] for c in TIMESERIES_COLUMNS}

    def frame(self) -> pd.DataFrame:
        """The time series as a table: one row per hour, :data:`TIMESERIES_COLUMNS` (counts int64, hours float64)."""
        data = {c: self._ints[: self.n, j].copy() for j, c in enumerate(self._int_names)}
        data.update({c: self._floats[: self.n, j].copy() for j, c in enumerate(self._float_names)})
        return pd.DataFrame({c: data[c] for c in TIMESERIES_COLUMNS})

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored values (the arrays at their current capacity)."""
        return self._ints.nbytes + self._floats.nbytes


class TimeseriesRows(Sequence):
    """A read-only view of an :class:`Observation`'s rows (dicts built when asked for)."""

    def __init__(self, observation: Observation) -> None:
        self._observation = observation

    def __len__(self) -> int:
        return self._observation.n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._observation.row(i) for i in range(*index.indices(len(self)))]
        n = len(self)
        if not -n <= index < n:
            raise IndexError("time-series row out of range")
        return self._observation.row(index % n)

    def __iter__(self) -> Iterator[dict[str, float]]:
        return (self._observation.row(i) for i in range(len(self)))


def timeseries_value(name: str, model) -> float:
    """Column ``name`` of the model's latest time-series row (a DataCollector model reporter)."""
    return model.observation.latest.get(name, 0)


class TimeseriesCollector(mesa.DataCollector):
    """A ``mesa.DataCollector`` whose model variables are compact typed arrays (8 bytes a value).

    Mesa's collector deep-copies each reported value into a Python list (~32 bytes a value);
    the time-series reporters return plain numbers, so ``collect`` appends them to
    ``array("q")`` (counts) or ``array("d")`` (hours) instead. ``model_vars`` and
    ``get_model_vars_dataframe()`` work as in Mesa.
    """

    def __init__(self, model_reporters: dict) -> None:
        super().__init__(model_reporters=model_reporters)
        for name in model_reporters:
            self.model_vars[name] = array("d" if name in FLOAT_COLUMNS else "q")

    def collect(self, model) -> None:
        """Append each reporter's value for ``model``'s latest hour."""
        for name, reporter in self.model_reporters.items():
            self.model_vars[name].append(reporter(model))


def timeseries_datacollector() -> mesa.DataCollector:
    """A DataCollector with one model reporter per time-series column.

    Reporters are ``functools.partial(timeseries_value, name)``: Mesa calls a partial with the
    model, and a partial of a module function pickles (a model travels to Dask workers).
    """
    return TimeseriesCollector({name: partial(timeseries_value, name) for name in TIMESERIES_COLUMNS})
