"""The results table of many runs (``results.parquet``) and the sweep record (``sweep.json``).

Both files are written atomically: to a temporary file in the same folder, flushed to
disk, then renamed over the old one (``os.replace``), so a reader (or a sweep killed
half-way) only ever sees a complete file. The table is sorted by run index, so its
content does not depend on the order in which runs finished.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from citymodel.errors import CitymodelError

RESULTS = "results.parquet"
SWEEP_JSON = "sweep.json"
STATUS_OK = "ok"
STATUS_FAILED = "failed"  # the run raised an error (recorded in ``error``)
STATUS_LOST = "lost"      # its worker died too often; run again on --resume
FIXED_BEFORE = (("run", pa.int64()),)
FIXED_AFTER = (("wall_time_s", pa.float64()), ("status", pa.string()), ("error", pa.string()))
DTYPES = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string()}


def results_schema(labels: Sequence[tuple[str, pa.DataType]], outputs: Sequence[str]) -> pa.Schema:
    """Columns of a results table.

    ``run``, the label columns (e.g. ``point``, ``replicate``, the parameters, or a
    scenario name), ``seed``, one float column per output path, ``wall_time_s``
    (seconds of the model run on its worker), ``status`` (ok, failed, lost) and
    ``error`` (one line, null when ok).
    """
    fields = [*FIXED_BEFORE, *labels, ("seed", pa.int64()), *((o, pa.float64()) for o in outputs),
              *FIXED_AFTER]
    names = [name for name, _ in fields]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        msg = f"results columns named twice: {', '.join(dup)}"
        raise ValueError(msg)
    return pa.schema([pa.field(name, dtype) for name, dtype in fields])


def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, allow_nan=False, default=str) + "\n", encoding="utf-8")
    _fsync_replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON file, or raise a one-line :class:`CitymodelError` naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{path}: not found"
        raise CitymodelError(msg) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"{path}: not valid JSON ({exc})"
        raise CitymodelError(msg) from None


def check_results_folder(out: Path, resume: bool, record: str, what: str) -> None:
    """Refuse an ``--out`` folder that would overwrite results, or a ``--resume`` folder that holds no
    started ``what`` (a sweep, a comparison: its ``record`` file). Raises :class:`CitymodelError`."""
    if resume:
        if not (out / record).is_file():
            msg = f"--resume {out}: no {record} there (expected the folder of a started {what})"
            raise CitymodelError(msg)
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        msg = (f"--out {out}: exists and is not empty; results are never overwritten "
               f"(add --resume to continue that {what}, or choose another --out)")
        raise CitymodelError(msg)


class ResultsTable:
    """Rows of finished runs, kept in memory and rewritten atomically to a Parquet file.

    Parameters
    ----------
    path
        The Parquet file (e.g. ``SWEEP_DIR/results.parquet``).
    schema
        From :func:`results_schema`.
    flush_seconds
        :meth:`add` rewrites the file at most this often (seconds); :meth:`flush`
        with ``force=True`` always does. Rows added since the last write are lost if
        the process is killed; ``--resume`` runs them again.

    Notes
    -----
    Memory grows by one small row (a dict of plain values) per run: about 1 kB for
    ten outputs.
    """

    def __init__(self, path: str | Path, schema: pa.Schema, flush_seconds: float = 1.0) -> None:
        self.path = Path(path)
        self.schema = schema
        self.flush_seconds = flush_seconds
        self._rows: dict[int, dict[str, Any]] = {}
        self._dirty = False
        self._last_write = 0.0

    def __len__(self) -> int:
        return len(self._rows)

    def load_existing(self, drop_status: Iterable[str] = (STATUS_LOST,)) -> int:
        """Read the rows already in the file (resume); drop rows with ``drop_status``.

        Returns
        -------
        int
            Rows kept.

        Raises
        ------
        CitymodelError
            If the file is unreadable or its columns differ from the schema.
        """
        if not self.path.exists():
            return 0
        try:
            table = pq.read_table(self.path)
        except (OSError, pa.ArrowException) as exc:
            msg = f"{self.path}: not a readable Parquet file ({exc})"
            raise CitymodelError(msg) from None
        if table.schema.names != self.schema.names or not table.schema.equals(self.schema):
            msg = (f"{self.path}: columns {table.schema.names} differ from this sweep's "
                   f"{self.schema.names}")
            raise CitymodelError(msg)
        drop = set(drop_status)
        for row in table.to_pylist():
            if row["status"] not in drop:
                self._rows[int(row["run"])] = row
        return len(self._rows)

    def done(self) -> set[int]:
        """Run indices with a row."""
        return set(self._rows)

    def counts(self) -> dict[str, int]:
        """Number of rows by status."""
        out: dict[str, int] = {}
        for row in self._rows.values():
            out[row["status"]] = out.get(row["status"], 0) + 1
        return out

    def add(self, row: Mapping[str, Any]) -> None:
        """Add (or replace) the row of ``row["run"]``; write the file if due."""
        missing = [name for name in self.schema.names if name not in row]
        if missing:
            msg = f"row of run {row.get('run')} lacks {missing}"
            raise ValueError(msg)
        self._rows[int(row["run"])] = {name: row[name] for name in self.schema.names}
        self._dirty = True
        self.flush(force=False)

    def table(self) -> pa.Table:
        """The rows as an Arrow table, sorted by run."""
        ordered = [self._rows[k] for k in sorted(self._rows)]
        return pa.Table.from_pylist(ordered, schema=self.schema)

    def flush(self, force: bool = True) -> None:
        """Rewrite the file atomically (if anything changed, and if due unless ``force``)."""
        now = time.monotonic()
        if not self._dirty or (not force and now - self._last_write < self.flush_seconds):
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        pq.write_table(self.table(), tmp, compression="zstd")
        _fsync_replace(tmp, self.path)
        self._dirty = False
        self._last_write = time.monotonic()
