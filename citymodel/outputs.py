"""The run folder: config, manifest, Parquet tables and summary, written so results are never lost.

A run folder holds ``config.toml`` (the exact configuration), ``manifest.json``
(package version, seed, map source and checksum, start/end time, status, notes),
one ``<table>.parquet`` per output table and ``summary.json``. A folder that
already holds files is never written into, and every file is written to a
temporary name first and renamed, so an interrupted run cannot leave a
half-written table under a final name.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from citymodel import __version__
from citymodel.config import Config, config_to_toml
from citymodel.errors import CitymodelError

MANIFEST = "manifest.json"
SUMMARY = "summary.json"
CONFIG = "config.toml"


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_run_dir(root: Path, seed: int) -> Path:
    """A new folder name under ``root``: ``run-<UTC timestamp>-seed<seed>`` (suffixed if taken)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    base = root / f"run-{stamp}-seed{seed}"
    candidate, k = base, 1
    while candidate.exists():
        k += 1
        candidate = base.with_name(f"{base.name}-{k}")
    return candidate


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented, key-ordered JSON (no NaN allowed)."""
    text = json.dumps(obj, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    """Write ``df`` as Parquet deterministically (same table -> same bytes)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd", write_statistics=True)
    os.replace(tmp, path)


class RunFolder:
    """The folder of one run; created empty, filled as the run progresses.

    Parameters
    ----------
    path
        The folder to create. It must not exist yet or be empty.
    """

    def __init__(self, path: Path) -> None:
        path = Path(path).expanduser()
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            msg = (f"output folder {path} already exists and is not empty; "
                   "choose a new --out (finished results are never overwritten)")
            raise CitymodelError(msg)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"cannot create output folder {path}: {exc.strerror or exc}"
            raise CitymodelError(msg) from exc
        self.path = path
        self.manifest: dict[str, Any] = {}

    def start(self, config: Config, city, argv: list[str] | None = None) -> None:
        """Write ``config.toml`` and a ``running`` manifest."""
        atomic_write_bytes(self.path / CONFIG, config_to_toml(config).encode("utf-8"))
        self.manifest = {
            "citymodel_version": __version__,
            "status": "running",
            "seed": config.run.seed,
            "citizens": config.run.citizens,
            "days": config.run.days,
            "map": {
                "source": config.run.map,
                "name": city.name,
                "checksum": city.checksum,
                "attribution": city.attribution,
            },
            "started_utc": utc_now(),
            "ended_utc": None,
            "command": argv if argv is not None else sys.argv,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "notes": [],
            "files": [CONFIG, MANIFEST],
        }
        self._write_manifest()

    def write_tables(self, tables: dict[str, pd.DataFrame]) -> None:
        """Write each table as ``<name>.parquet``."""
        for name, df in tables.items():
            write_parquet(self.path / f"{name}.parquet", df)
            self.manifest["files"].append(f"{name}.parquet")
        self._write_manifest()

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write ``summary.json``."""
        write_json(self.path / SUMMARY, summary)
        self.manifest["files"].append(SUMMARY)
        self._write_manifest()

    def finish(self, status: str, notes: list[str] | None = None, error: str | None = None,
               timings: dict[str, float] | None = None) -> None:
        """Mark the run ``completed``, ``failed`` or ``interrupted`` with its end time."""
        self.manifest["status"] = status
        self.manifest["ended_utc"] = utc_now()
        if notes:
            self.manifest["notes"] = list(notes)
        if error:
            self.manifest["error"] = error
        if timings:
            self.manifest["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
        self._write_manifest()

    def _write_manifest(self) -> None:
        write_json(self.path / MANIFEST, self.manifest)


def read_run(path: Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Read a finished run folder: (manifest, {table name: DataFrame})."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        msg = f"{path} is not a run folder (no {MANIFEST}); pass a folder written by `citymodel run`"
        raise CitymodelError(msg)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        msg = f"{manifest_path} is not valid JSON ({exc.msg} at line {exc.lineno})"
        raise CitymodelError(msg) from exc
    tables = {}
    for file in sorted(path.glob("*.parquet")):
        try:
            tables[file.stem] = pd.read_parquet(file)
        except (OSError, pa.ArrowException) as exc:
            msg = f"{file} is not a readable Parquet file ({exc})"
            raise CitymodelError(msg) from exc
    return manifest, tables
