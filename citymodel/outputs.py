"""The run folder: config, manifest, Parquet tables and summary, written so results are never lost.

A run folder holds ``config.toml`` (the exact configuration), ``manifest.json``
(package version, seed, map source and checksum, start/end time, status, notes),
one ``<table>.parquet`` per output table and ``summary.json``.

Results are never lost or half-visible:

* the folder is written under a hidden temporary sibling,
  ``.<name>.partial-<pid>``, and renamed to its final name only when every file
  is written and the manifest says ``completed`` (files are flushed to disk
  first). A folder under the final name is therefore always finished; a run
  stopped by Ctrl-C, SIGTERM, SIGKILL or a crash leaves nothing there.
* a final name that exists and is not an empty folder is refused at the start,
  and the rename itself cannot replace a non-empty folder (the finished run is
  then kept under the temporary name and the error says where).
* a run that fails or is interrupted keeps its temporary folder, with the
  manifest's ``status`` ``failed`` (and ``error``) or ``interrupted``; a killed
  run's manifest still says ``running``. Such folders can be inspected and
  deleted; ``citymodel report`` refuses them (they hold no tables).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from citymodel import __version__, interrupts
from citymodel.config import Config, config_to_toml
from citymodel.errors import CitymodelError
from citymodel.paths import user_path

MANIFEST = "manifest.json"
SUMMARY = "summary.json"
CONFIG = "config.toml"
PARTIAL_MARK = ".partial-"
"""Temporary folders are named ``.<final name>.partial-<pid>``."""


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


def partial_dir(final: Path) -> Path:
    """The temporary sibling a run folder is written in: ``.<name>.partial-<pid>`` (suffixed if taken)."""
    base = final.with_name(f".{final.name}{PARTIAL_MARK}{os.getpid()}")
    candidate, k = base, 1
    while candidate.exists():
        k += 1
        candidate = base.with_name(f"{base.name}-{k}")
    return candidate


def is_partial_dir(path: Path) -> bool:
    """True for a temporary run folder (``.<name>.partial-<pid>``)."""
    return path.name.startswith(".") and PARTIAL_MARK in path.name


def _fsync_tree(folder: Path) -> None:
    """Flush every file of ``folder`` and the folder itself to disk."""
    for file in folder.iterdir():
        if file.is_file():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory
        pass
    finally:
        os.close(fd)


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
    """The folder of one run; created empty under a temporary name, renamed when complete.

    Parameters
    ----------
    path
        The run folder to produce. It must not exist yet or be empty.

    Attributes
    ----------
    path : pathlib.Path
        Where the files are now: the temporary folder while the run goes on
        (and after a failure), the final folder once :meth:`finish` marked it
        ``completed``.
    final_path : pathlib.Path
        The folder asked for.
    partial_path : pathlib.Path
        The temporary folder, ``.<name>.partial-<pid>`` beside ``final_path``.
    manifest : dict
        The manifest as last written.
    """

    def __init__(self, path: Path) -> None:
        path = Path(os.path.abspath(user_path(path)))
        if Path.cwd() == path or path in Path.cwd().parents:
            msg = (f"output folder {path} is the current folder (or contains it); a run folder is created "
                   "whole when the run completes, so pass a new folder, e.g. --out runs/my-run")
            raise CitymodelError(msg)
        _refuse_existing(path)
        partial = partial_dir(path)
        try:
            partial.mkdir(parents=True)
        except OSError as exc:
            msg = f"cannot create output folder {path}: {exc.strerror or exc}"
            raise CitymodelError(msg) from exc
        self.final_path = path
        self.partial_path = partial
        self.path = partial
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
        """Mark the run ``completed``, ``failed`` or ``interrupted`` with its end time.

        ``completed`` flushes the files to disk and renames the temporary folder
        to the final name (``path`` then points there); the other statuses keep
        the temporary folder.

        Raises
        ------
        CitymodelError
            If the final name was taken by a non-empty folder or a file while the
            run went on; the finished run stays in ``partial_path``.
        """
        if not self.manifest:  # stopped before start(): say what little is known
            self.manifest = {"citymodel_version": __version__, "started_utc": None, "files": [MANIFEST]}
        self.manifest["status"] = status
        self.manifest["ended_utc"] = utc_now()
        if notes:
            self.manifest["notes"] = list(notes)
        if error:
            self.manifest["error"] = error
        if timings:
            self.manifest["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
        self._write_manifest()
        if status == "completed":
            self._publish()

    def abandon(self, status: str, error: str | None = None) -> str:
        """Mark an unfinished run ``failed`` or ``interrupted`` and keep its temporary folder.

        Returns the note the CLI prints: where the folder is and its status.
        """
        # the disk may be why the run failed: then keep the first error, not this one
        with contextlib.suppress(OSError):
            self.finish(status, error=error)
        return f"partial run kept in {self.path} (manifest status '{status}')"

    def discard(self) -> None:
        """Remove the temporary folder (a run that stopped on bad input before computing anything)."""
        if self.path == self.partial_path:
            shutil.rmtree(self.partial_path, ignore_errors=True)

    def _publish(self) -> None:
        """Rename the finished temporary folder to its final name, atomically."""
        _fsync_tree(self.partial_path)
        final = self.final_path
        with interrupts.deferred():
            try:
                _refuse_existing(final)
                # rename(2) replaces an empty folder atomically and fails on a non-empty one
                os.rename(self.partial_path, final)
            except (OSError, CitymodelError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "it now holds files"
                msg = (f"finished run kept in {self.partial_path}: could not rename it to {final} "
                       f"({reason}); move it yourself (finished results are never overwritten)")
                raise CitymodelError(msg) from exc
            self.path = final
        _fsync_dir(final.parent)

    def _write_manifest(self) -> None:
        write_json(self.path / MANIFEST, self.manifest)


def _refuse_existing(path: Path) -> None:
    """Refuse a run folder name taken by a file or a non-empty folder."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        msg = (f"output folder {path} already exists and is not empty; "
               "choose a new --out (finished results are never overwritten)")
        raise CitymodelError(msg)


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
