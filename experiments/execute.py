"""Run many model runs on a Dask cluster: the one execution path of sweeps and comparisons.

Every run is one task on a :class:`distributed.Client` — a :class:`~distributed.LocalCluster`
of worker processes by default, or an existing cluster (``--scheduler tcp://host:port``).
A :class:`CityCache` worker plugin loads each map and builds its routers once per worker;
:func:`run_tasks` keeps a bounded number of runs in flight, takes results as they finish
(``as_completed``), writes each row to a :class:`~citymodel.experiments.results.ResultsTable`
and skips runs that already have a row (resume). A run that raises is recorded with its
error; a run whose worker dies is resubmitted (and recorded as ``lost`` after
``max_attempts``).

A caller (the sweep, a policy comparison) describes each run as a :class:`RunTask`: its
index, its complete :class:`~citymodel.config.Config` (seed included) and the label
values of its row.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask
from distributed import Client, LocalCluster, WorkerPlugin, as_completed, get_worker

from citymodel.config import Config
from citymodel.errors import CitymodelError

from .results import STATUS_FAILED, STATUS_LOST, STATUS_OK, ResultsTable
from .summary_paths import lookup

Progress = Callable[[int, int], None]
"""Called as ``progress(runs_done, runs_total)`` in the coordinating process."""

ERROR_CHARS = 500
LOW_LEVEL_LOG_LENGTH = 50  # distributed's default: 1,000


@dataclass(frozen=True)
class RunTask:
    """One model run to execute.

    Attributes
    ----------
    run : int
        Unique run index (the results table is sorted by it; resume skips indices
        already in the table).
    config : Config
        The complete configuration, ``run.seed`` included.
    labels : mapping
        Values of the label columns of its row (e.g. point, replicate, parameters).
    """

    run: int
    config: Config
    labels: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class RunReport:
    """What :func:`run_tasks` did: runs submitted, finished by status, resubmissions, time."""

    submitted: int = 0
    ok: int = 0
    failed: int = 0
    lost: int = 0
    resubmitted: int = 0
    wall_s: float = 0.0


# --------------------------------------------------------------------------- worker side
class CityCache(WorkerPlugin):
    """Worker plugin: load each map (and build its routers) once per worker process.

    Parameters
    ----------
    sources
        Map sources to load when the plugin is set up (``default``, a file path,
        ``place:<name>``); others are loaded on first use and kept.
    """

    idempotent = True  # registering the same maps again keeps the loaded ones

    def __init__(self, sources: Sequence[str], ignore_interrupt: bool = False) -> None:
        self.sources = tuple(dict.fromkeys(sources))
        self.ignore_interrupt = ignore_interrupt
        self.name = plugin_name(self.sources) + ("-local" if ignore_interrupt else "")
        self._cities: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"sources": self.sources, "name": self.name, "ignore_interrupt": self.ignore_interrupt}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.sources, self.name = state["sources"], state["name"]
        self.ignore_interrupt = state["ignore_interrupt"]
        self._cities = {}

    def setup(self, worker=None) -> None:
        """Load every map of ``sources`` (called by distributed on each worker).

        With ``ignore_interrupt`` (workers of a local cluster, which share the
        terminal of ``citymodel sweep``), Ctrl-C is left to the coordinating
        process, which records the interruption and stops the workers.
        """
        if self.ignore_interrupt:
            with contextlib.suppress(ValueError):  # not the main thread: keep the default
                signal.signal(signal.SIGINT, signal.SIG_IGN)
        for source in self.sources:
            self.city(source)

    def city(self, source: str):
        """The loaded :class:`~citymodel.maps.City` of ``source``, routers built."""
        if source not in self._cities:
            self._cities[source] = load_city_with_routers(source)
        return self._cities[source]

    def checksums(self) -> dict[str, str]:
        """Map source -> checksum of the loaded file."""
        return {source: city.checksum for source, city in self._cities.items()}


def plugin_name(sources: Sequence[str]) -> str:
    """The plugin's name on the cluster, one per set of map sources."""
    digest = hashlib.sha256("\n".join(sources).encode()).hexdigest()[:12]
    return f"citymodel-city-cache-{digest}"


def load_city_with_routers(source: str):
    """Load a map and build the router of every travel mode it has (done once per worker)."""
    from citymodel.maps import DERIVED_MODES, MODES, load_city

    city = load_city(source)
    for mode in (*MODES, *DERIVED_MODES):
        if city.has_mode(mode):
            city.router(mode)
    return city


_LOCAL_CACHE = CityCache(())


def _cache(name: str) -> CityCache:
    try:
        worker = get_worker()
    except ValueError:  # called outside a worker (a direct call in tests or benchmarks)
        return _LOCAL_CACHE
    plugin = worker.plugins.get(name)
    return plugin if isinstance(plugin, CityCache) else _LOCAL_CACHE


def execute_run(config: Config, outputs: Sequence[str], cache_name: str = "") -> dict[str, Any]:
    """Run one model on this worker and return its row (seed, outputs, time, status, error).

    Any exception of the run is caught and recorded (``status`` "failed", ``error``
    its type and message on one line); the outputs are then None.
    """
    from citymodel.runner import simulate

    values: dict[str, Any] = dict.fromkeys(outputs)
    t0 = time.perf_counter()
    try:
        city = _cache(cache_name).city(config.run.map)
        t0 = time.perf_counter()
        result = simulate(config, city)
        values = {path: lookup(result.summary, path) for path in outputs}
        status, error = STATUS_OK, None
    except Exception as exc:  # recorded in the row; the sweep goes on
        status = STATUS_FAILED
        error = " ".join(f"{type(exc).__name__}: {exc}".split())[:ERROR_CHARS]
        logging.getLogger(__name__).debug("run failed:\n%s", traceback.format_exc())
    return {"seed": int(config.run.seed), **values, "wall_time_s": time.perf_counter() - t0,
            "status": status, "error": error}


def _worker_checksums(name: str, dask_worker=None) -> dict[str, str]:
    plugin = dask_worker.plugins.get(name) if dask_worker is not None else None
    return plugin.checksums() if isinstance(plugin, CityCache) else {}


# --------------------------------------------------------------------------- coordinator side
@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None,
                timeout_s: float = 30.0) -> Iterator[Client]:
    """A client of a new local cluster (``workers`` processes, one thread each) or of ``scheduler``.

    Parameters
    ----------
    workers
        Worker processes of the local cluster (default: the number of cores).
    scheduler
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786``.
    timeout_s
        Seconds to wait for the scheduler and for its first worker.

    Raises
    ------
    CitymodelError
        Both options given, a bad worker count, an unreachable scheduler, or a
        cluster without workers.
    """
    if scheduler is not None and workers is not None:
        msg = "--workers and --scheduler exclude each other (the cluster's workers do the runs)"
        raise CitymodelError(msg)
    if workers is not None and workers < 1:
        msg = f"--workers must be a whole number >= 1, got {workers}"
        raise CitymodelError(msg)
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{timeout_s}s")
        except (OSError, TimeoutError, ValueError) as exc:
            msg = f"--scheduler {scheduler}: cannot connect ({' '.join(str(exc).split()) or type(exc).__name__})"
            raise CitymodelError(msg) from None
        try:
            try:
                client.wait_for_workers(1, timeout=timeout_s)
            except TimeoutError:
                msg = (f"--scheduler {scheduler}: no worker joined within {timeout_s:g} s "
                       f"(start one with `dask worker {scheduler}`)")
                raise CitymodelError(msg) from None
            yield client
        finally:
            client.close()
        return
    # The local scheduler runs in this process; its debugging logs keep the last
    # low-level-log-length messages per worker, each holding a run's whole Config:
    # a short log keeps this process's memory flat over long sweeps.
    with dask.config.set({"distributed.admin.low-level-log-length": LOW_LEVEL_LOG_LENGTH}):
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.CRITICAL)
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()


def prepare_workers(client: Client, map_sources: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Register the :class:`CityCache` plugin (maps load on every worker); return its name and checksums.

    Workers of a :class:`~distributed.LocalCluster` started by :func:`dask_client` leave
    Ctrl-C to this process; workers of an external cluster keep their own handling.

    Raises
    ------
    CitymodelError
        If a map fails to load on a worker, or workers loaded different files for
        the same source.
    """
    plugin = CityCache(map_sources, ignore_interrupt=isinstance(client.cluster, LocalCluster))
    try:
        client.register_plugin(plugin)
    except CitymodelError as exc:
        msg = f"loading the map on the workers: {exc}"
        raise CitymodelError(msg) from None
    by_worker = client.run(_worker_checksums, plugin.name)
    checksums: dict[str, str] = {}
    for worker, sums in sorted(by_worker.items()):
        for source, checksum in sums.items():
            if checksums.setdefault(source, checksum) != checksum:
                msg = (f"map {source}: worker {worker} loaded a different file ({checksum}, others "
                       f"{checksums[source]}); every worker needs the same map")
                raise CitymodelError(msg)
    return plugin.name, checksums


def total_threads(client: Client) -> int:
    """Worker threads of the cluster now (at least 1)."""
    return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))


def run_tasks(client: Client, tasks: Iterable[RunTask], outputs: Sequence[str], results: ResultsTable, *,
              cache_name: str = "", total: int | None = None, max_in_flight: int | None = None,
              max_attempts: int = 3, progress: Progress | None = None) -> RunReport:
    """Run ``tasks`` on the cluster, writing one row per run to ``results`` as runs finish.

    Parameters
    ----------
    client
        A connected client (see :func:`dask_client`) whose workers have the maps
        (:func:`prepare_workers`; without it each worker loads a map on first use).
    tasks
        The runs (an iterable, consumed lazily). Runs whose index already has a row in
        ``results`` are skipped: that is how a sweep resumes.
    outputs
        ``summary.json`` key paths to collect (see :mod:`citymodel.experiments.summary_paths`).
    results
        The table rows go to; it must have a label column for every key of the tasks' labels.
    cache_name
        The name returned by :func:`prepare_workers`.
    total
        Runs in the whole table (for ``progress``), default: rows present + tasks to run.
    max_in_flight
        Runs submitted but not finished (default: twice the cluster's threads): bounds
        the memory of the scheduler and of this process.
    max_attempts
        Submissions of a run whose worker is lost before it is recorded as ``lost``.
    progress
        Called after each finished run.

    Returns
    -------
    RunReport
        Counts of this call (rows already present are not counted).
    """
    t_start = time.perf_counter()
    report = RunReport()
    done = results.done()
    pending = (t for t in tasks if t.run not in done)
    outputs = tuple(outputs)
    if total is None:
        pending_list = list(pending)
        total = len(done) + len(pending_list)
        pending = iter(pending_list)
    limit = max_in_flight or 2 * total_threads(client)
    in_flight: dict[str, tuple[Any, RunTask, int]] = {}
    finished = len(done)
    queue = as_completed()

    def submit(task: RunTask, attempt: int) -> None:
        future = client.submit(execute_run, task.config, outputs, cache_name, pure=False)
        in_flight[future.key] = (future, task, attempt)
        queue.add(future)

    def fill() -> None:
        while len(in_flight) < limit:
            task = next(pending, None)
            if task is None:
                return
            submit(task, 1)
            report.submitted += 1

    try:
        fill()
        if progress is not None:
            progress(finished, total)
        for future in queue:
            _, task, attempt = in_flight.pop(future.key)
            if future.status == "finished":
                row = future.result()
            else:  # the worker died (KilledWorker), the connection broke, or the task was cancelled
                exc = _exception_of(future)
                if attempt < max_attempts:
                    future.release()
                    submit(task, attempt + 1)
                    report.resubmitted += 1
                    continue
                message = " ".join(f"{type(exc).__name__}: {exc}".split())[:ERROR_CHARS]
                row = {"seed": int(task.config.run.seed), **dict.fromkeys(outputs), "wall_time_s": None,
                       "status": STATUS_LOST, "error": f"worker lost {attempt} times ({message})"}
            future.release()
            results.add({"run": task.run, **task.labels, **row})
            setattr(report, row["status"], getattr(report, row["status"]) + 1)
            finished += 1
            if progress is not None:
                progress(finished, total)
            fill()
    finally:
        if in_flight:
            client.cancel([f for f, _, _ in in_flight.values()])
        results.flush(force=True)
        report.wall_s = time.perf_counter() - t_start
    return report


def _exception_of(future) -> BaseException:
    try:
        return future.exception()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a cancelled future raises instead of returning its error
        return exc


def run_task_table(tasks: Sequence[RunTask], outputs: Sequence[str], path, labels: Sequence[tuple[str, Any]], *,
                   workers: int | None = None, scheduler: str | None = None, map_sources: Sequence[str] = (),
                   resume: bool = False, progress: Progress | None = None) -> RunReport:
    """Run ``tasks`` on a new local cluster or on ``scheduler`` into the Parquet table ``path``.

    The whole execution path in one call, for callers other than the sweep (e.g. a
    policy comparison submitting scenario x replicate tasks with common seeds).

    Parameters
    ----------
    tasks
        The runs; their labels must have exactly the ``labels`` columns.
    outputs
        ``summary.json`` key paths to collect.
    path
        The results file; with ``resume`` its rows are kept and their runs skipped,
        otherwise it must not exist (finished results are never overwritten).
    labels
        (name, pyarrow type) of the label columns, in order.
    workers, scheduler
        As for :func:`dask_client`.
    map_sources
        Maps to load on every worker before the first run (default: those of the tasks).
    resume, progress
        See :func:`run_tasks`.

    Raises
    ------
    CitymodelError
        An existing file without ``resume``, a file with other columns, an unreachable
        scheduler or a map that does not load.
    """
    from pathlib import Path

    from .results import results_schema

    path = Path(path)
    if path.exists() and not resume:
        msg = f"{path}: exists; results are never overwritten (resume, or choose another file)"
        raise CitymodelError(msg)
    table = ResultsTable(path, results_schema(labels, outputs))
    if resume:
        table.load_existing()
    sources = list(map_sources) or list(dict.fromkeys(t.config.run.map for t in tasks))
    with dask_client(workers, scheduler) as client:
        cache_name, _ = prepare_workers(client, sources)
        path.parent.mkdir(parents=True, exist_ok=True)
        return run_tasks(client, tasks, outputs, table, cache_name=cache_name, progress=progress)
