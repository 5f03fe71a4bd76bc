"""Growable columnar tables in numpy: the model's order book, trip log and ledger.

Rows are appended one at a time (``append``) or in vectorised blocks
(``extend``) into per-column numpy arrays whose capacity doubles, so a run of
millions of orders stays compact (no Python object per cell). Text columns are
stored as small integer codes of a fixed vocabulary and come out as strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


class ColumnTable:
    """A table with typed numpy columns and optional categorical (coded) columns.

    Parameters
    ----------
    dtypes
        Column name -> numpy dtype (in output order).
    categories
        Column name -> vocabulary; such a column stores ``vocab.index(value)``.
    fill
        Column name -> value of new rows (default 0; NaN for float columns).
    """

    def __init__(self, dtypes: Mapping[str, Any], categories: Mapping[str, Sequence[str]] | None = None,
                 fill: Mapping[str, Any] | None = None, capacity: int = 1024) -> None:
        self.categories = {k: list(v) for k, v in (categories or {}).items()}
        self._codes = {k: {name: i for i, name in enumerate(v)} for k, v in self.categories.items()}
        self.dtypes = {k: np.dtype(v) for k, v in dtypes.items()}
        self.fill = dict(fill or {})
        self.n = 0
        self._cols = {k: self._new(k, capacity) for k in self.dtypes}

    def _new(self, name: str, size: int) -> np.ndarray:
        dtype = self.dtypes[name]
        default = self.fill.get(name, np.nan if dtype.kind == "f" else 0)
        return np.full(size, default, dtype=dtype)

    def _reserve(self, extra: int) -> None:
        capacity = len(next(iter(self._cols.values())))
        if self.n + extra <= capacity:
            return
        new_cap = max(capacity * 2, self.n + extra)
        for name, col in self._cols.items():
            grown = self._new(name, new_cap)
            grown[: self.n] = col[: self.n]
            self._cols[name] = grown

    def code(self, column: str, value: str) -> int:
        """The integer code of ``value`` in a categorical column."""
        return self._codes[column][value]

    def append(self, **values: Any) -> int:
        """Add one row; return its index."""
        self._reserve(1)
        i = self.n
        for name, value in values.items():
            if name in self._codes and isinstance(value, str):
                value = self._codes[name][value]
            self._cols[name][i] = value
        self.n += 1
        return i

    def extend(self, count: int, **values: Any) -> np.ndarray:
        """Add ``count`` rows from arrays or scalars; return their indices."""
        self._reserve(count)
        start = self.n
        for name, value in values.items():
            if name in self._codes and isinstance(value, str):
                value = self._codes[name][value]
            self._cols[name][start : start + count] = value
        self.n += count
        return np.arange(start, start + count)

    def __getitem__(self, column: str) -> np.ndarray:
        """A writable view of the filled part of ``column``."""
        return self._cols[column][: self.n]

    def set(self, row: int, **values: Any) -> None:
        """Set values of one existing row."""
        for name, value in values.items():
            if name in self._codes and isinstance(value, str):
                value = self._codes[name][value]
            self._cols[name][row] = value

    def get(self, row: int, column: str) -> Any:
        """One cell (categorical cells as their code)."""
        return self._cols[column][row]

    def __len__(self) -> int:
        return self.n

    def to_frame(self) -> pd.DataFrame:
        """A pandas DataFrame copy with categorical columns decoded to strings."""
        data = {}
        for name in self.dtypes:
            col = self._cols[name][: self.n].copy()
            if name in self.categories:
                vocab = np.asarray(self.categories[name], dtype=object)
                data[name] = vocab[col]
            else:
                data[name] = col
        return pd.DataFrame(data)
