"""``citymodel sweep``: run a spec's design points x replicates on Dask into a sweep folder.

A sweep folder holds ``sweep.json`` (the spec, the resolved plan, the base configuration,
citymodel version, map checksum, status), ``design.parquet`` (the points) and
``results.parquet`` (one row per finished run). :func:`run_sweep` validates everything
before the first run, refuses to write into a non-empty folder unless resuming, and
on ``resume`` checks that the spec, the base configuration, the design and the map
are those of the folder before running only the runs that have no row.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from citymodel import __version__
from citymodel.config import Config
from citymodel.errors import CitymodelError

from .config_keys import apply_values
from .designs import Design, design_of, point_values
from .execute import Progress, RunReport, RunTask, dask_client, prepare_workers, run_tasks, total_threads
from .results import (
    DTYPES,
    RESULTS,
    SWEEP_JSON,
    ResultsTable,
    check_results_folder,
    read_json,
    results_schema,
    write_json_atomic,
)
from .seeds import run_seed
from .spec import SweepSpec, load_spec

DESIGN = "design.parquet"
FORMAT = "citymodel-sweep/1"
SAMPLED_SUFFIX = "__sampled"


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGINT) during a sweep: the finished runs are saved in ``out_dir``."""

    def __init__(self, out_dir: Path, rows: int, total: int) -> None:
        super().__init__(f"sweep interrupted with {rows} of {total} runs in {out_dir}")
        self.out_dir, self.rows, self.total = out_dir, rows, total


@dataclass
class SweepOutcome:
    """Result of :func:`run_sweep`: the folder, the spec, run counts and this session's report."""

    out_dir: Path
    spec: SweepSpec
    total_runs: int
    counts: dict[str, int]
    report: RunReport
    workers: int


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_out_dir(spec_path: Path, root: Path = Path("sweeps")) -> Path:
    """``sweeps/<spec name>-<UTC time>``."""
    return root / f"{spec_path.stem}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def sweep_schema(spec: SweepSpec) -> pa.Schema:
    """Columns of a sweep's results: run, point, replicate, parameters, seed, outputs, ..."""
    labels = [("point", pa.int64()), ("replicate", pa.int64()),
              *((p.name, DTYPES[p.dtype]) for p in spec.parameters)]
    return results_schema(labels, spec.outputs)


def point_configs(spec: SweepSpec, design: Design, base: Config) -> list[Config]:
    """The validated configuration of every design point (seed not yet set).

    Raises
    ------
    CitymodelError
        Naming the point and its values if the model refuses a combination.
    """
    configs = []
    for point in range(len(design)):
        values = point_values(design, point)
        try:
            configs.append(apply_values(base, values))
        except CitymodelError as exc:
            msg = f"{spec.source}: design point {point} {values}: {exc}"
            raise CitymodelError(msg) from None
    return configs


def sweep_tasks(spec: SweepSpec, design: Design, configs: list[Config]) -> Iterator[RunTask]:
    """One task per (point, replicate); run index = point * replicates + replicate."""
    for point, point_cfg in enumerate(configs):
        labels = {p.name: design.points[p.name].iloc[point] for p in design.parameters}
        labels = {k: v.item() if hasattr(v, "item") else v for k, v in labels.items()}
        for replicate in range(spec.replicates):
            cfg = copy.deepcopy(point_cfg)
            cfg.run.seed = run_seed(spec.seed, point, replicate)
            yield RunTask(run=point * spec.replicates + replicate, config=cfg,
                          labels={"point": point, "replicate": replicate, **labels})


def design_table(design: Design) -> pd.DataFrame:
    """``design.parquet``: point, the run values and (sampled designs) the unrounded sample."""
    table = design.points.reset_index()
    if design.name != "grid":
        for j, p in enumerate(design.parameters):
            table[p.name + SAMPLED_SUFFIX] = design.matrix[:, j]
    return table


def _json_normal(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key, "<missing>") != b.get(key, "<missing>"):
                return _first_difference(a.get(key, "<missing>"), b.get(key, "<missing>"),
                                         f"{path}.{key}" if path else str(key))
    return f"{path or '(top)'}: {a!r} in sweep.json, now {b!r}"


def _create_out_dir(out: Path) -> None:
    """Create the (new or empty) sweep folder; refuse if another process got there first."""
    try:
        out.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        if not out.is_dir() or any(out.iterdir()):
            msg = f"--out {out}: another process wrote there meanwhile; results are never overwritten"
            raise CitymodelError(msg) from None


def _check_resume(out: Path, record: dict[str, Any], spec: SweepSpec, base: Config, design: Design) -> None:
    if record.get("format") != FORMAT:
        msg = f"{out / SWEEP_JSON}: format {record.get('format')!r}, expected {FORMAT!r}"
        raise CitymodelError(msg)
    if record.get("spec") != spec.raw:
        msg = (f"--resume {out}: the spec differs from the one this sweep started with "
               f"({_first_difference(record.get('spec'), spec.raw)}); use the same spec or a new --out")
        raise CitymodelError(msg)
    if record.get("base_config") != _json_normal(base.to_dict()):
        msg = (f"--resume {out}: the base configuration changed since the sweep started "
               f"({_first_difference(record.get('base_config'), _json_normal(base.to_dict()))}); "
               "a changed config file or citymodel version gives other results: use a new --out")
        raise CitymodelError(msg)
    path = out / DESIGN
    try:
        stored = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        msg = f"{path}: unreadable ({exc})"
        raise CitymodelError(msg) from None
    fresh = design_table(design)
    same = list(stored.columns) == list(fresh.columns) and len(stored) == len(fresh) and all(
        np.array_equal(stored[c].to_numpy(), fresh[c].to_numpy()) for c in fresh.columns)
    if not same:
        msg = f"--resume {out}: {DESIGN} differs from the design this spec gives now (another SALib version?)"
        raise CitymodelError(msg)


def run_sweep(spec_path: str | Path, out_dir: str | Path | None = None, *, workers: int | None = None,
              scheduler: str | None = None, resume: bool = False, progress: Progress | None = None,
              max_in_flight: int | None = None, flush_seconds: float = 1.0,
              connect_timeout_s: float = 30.0) -> SweepOutcome:
    """Validate a spec, then run (or resume) its sweep on Dask.

    Parameters
    ----------
    spec_path
        The TOML spec (see ``docs/sweeps.md``).
    out_dir
        The sweep folder; default ``sweeps/<spec name>-<UTC time>``. It must not exist or
        be empty, unless ``resume``.
    workers, scheduler
        A local cluster of ``workers`` processes (default: the core count), or the
        address of a running scheduler.
    resume
        Continue the sweep in ``out_dir``: run only the runs without a row (and those
        recorded as ``lost``).
    progress
        Called as ``progress(runs_done, runs_total)``.
    max_in_flight
        Runs submitted at once (default twice the workers' threads).
    flush_seconds
        ``results.parquet`` is rewritten at most this often while runs finish (seconds).
    connect_timeout_s
        Seconds to wait for ``scheduler`` and its first worker.

    Raises
    ------
    CitymodelError
        Any invalid input, before the first run (one line).
    SweepInterrupted
        On Ctrl-C, after the finished runs are written and ``sweep.json`` says
        "interrupted".
    """
    spec_path = Path(spec_path)
    spec = load_spec(spec_path)
    design = design_of(spec)
    base = spec.base_config()
    configs = point_configs(spec, design, base)
    total = len(design) * spec.replicates
    if resume and out_dir is None:
        msg = "--resume needs --out DIR (the folder of the sweep to continue)"
        raise CitymodelError(msg)
    out = Path(out_dir) if out_dir is not None else default_out_dir(spec_path)
    check_results_folder(out, resume, SWEEP_JSON, "sweep")
    record: dict[str, Any]
    if resume:
        record = read_json(out / SWEEP_JSON)
        _check_resume(out, record, spec, base, design)
    schema = sweep_schema(spec)
    results = ResultsTable(out / RESULTS, schema, flush_seconds=flush_seconds)
    if resume:
        results.load_existing()
    if resume and len(results) == total:  # nothing left to run: no cluster needed
        if record.get("status") != "completed":
            record.update(status="completed", updated_utc=_utc_now(), finished_utc=_utc_now(),
                          runs=results.counts() | {"total": total})
            write_json_atomic(out / SWEEP_JSON, record)
        return SweepOutcome(out_dir=out, spec=spec, total_runs=total, counts=results.counts(), report=RunReport(),
                            workers=0)
    # the folder is created only once the workers have the map: a bad --scheduler or map leaves nothing
    with dask_client(workers, scheduler, timeout_s=connect_timeout_s) as client:
        cache_name, checksums = prepare_workers(client, [spec.map])
        checksum = checksums.get(spec.map)
        if resume and record["map"].get("checksum") not in (None, checksum):
            msg = (f"--resume {out}: the map {spec.map} changed since the sweep started "
                   f"({record['map']['checksum']} then, {checksum} now)")
            raise CitymodelError(msg)
        if not resume:
            _create_out_dir(out)
            design_table(design).to_parquet(out / DESIGN, index=False)
            record = {
                "format": FORMAT, "status": "running", "citymodel_version": __version__,
                "spec_file": str(spec_path.resolve()), "spec": spec.raw, "plan": spec.to_json(),
                "base_config": _json_normal(base.to_dict()),
                "design": {"name": design.name, "points": len(design), "replicates": spec.replicates,
                           "runs": total, "sampler_seed": design.seed},
                "columns": schema.names, "map": {"source": spec.map, "checksum": checksum},
                "started_utc": _utc_now(), "sessions": [],
            }
        n_workers = len(client.scheduler_info()["workers"])
        session = {"started_utc": _utc_now(), "scheduler": scheduler or "local", "workers": n_workers,
                   "threads": total_threads(client), "resumed_with_rows": len(results)}
        record.update(status="running", updated_utc=_utc_now())
        record["map"]["checksum"] = checksum
        record["sessions"].append(session)
        write_json_atomic(out / SWEEP_JSON, record)
        t0 = time.perf_counter()
        status = "interrupted"
        report = RunReport()
        try:
            report = run_tasks(client, sweep_tasks(spec, design, configs), spec.outputs, results,
                               cache_name=cache_name, total=total, max_in_flight=max_in_flight,
                               progress=progress)
            status = "completed" if len(results) == total and "lost" not in results.counts() else "incomplete"
        except KeyboardInterrupt:
            raise SweepInterrupted(out, len(results), total) from None
        finally:
            session.update(finished_utc=_utc_now(), wall_s=round(time.perf_counter() - t0, 3),
                           ran=len(results) - session["resumed_with_rows"], status=status)
            record.update(status=status, updated_utc=_utc_now(), runs=results.counts() | {"total": total})
            if status == "completed":
                record["finished_utc"] = _utc_now()
            write_json_atomic(out / SWEEP_JSON, record)
    return SweepOutcome(out_dir=out, spec=spec, total_runs=total, counts=results.counts(), report=report,
                        workers=n_workers)
