"""Sweep benchmark: runs per minute on 1 and 2 workers, overhead per run, coordinator memory.

Runs the real ``citymodel sweep`` code path (:func:`citymodel.experiments.sweep.run_sweep`)
on local Dask clusters and prints:

* runs per minute with 1 and 2 worker processes for a fixed small spec (grid of 2
  ``adoption.bass_q`` values x ``--runs / 2`` replicates, ``--citizens`` citizens,
  ``--days`` days), counted from the first submission to the last result (cluster
  start and map loading are reported apart);
* the overhead per run: the sweep's wall time on one worker minus the model's own
  time inside it (``wall_time_s`` of the rows), per run, against the bare run time of
  the same configurations run one after another in this process with
  :func:`citymodel.runner.simulate`;
* resident memory (RSS) of the coordinating process over a ``--memory-runs`` sweep of
  tiny runs (50 citizens, one simulated hour), at start and every quarter.

Usage::

    python benchmarks/bench_sweep.py                      # 40 runs x 300 citizens x 2 days; 1,000-run memory
    python benchmarks/bench_sweep.py --runs 20 --memory-runs 0
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import psutil

SPEC = """
[sweep]
design = "grid"
replicates = {replicates}
seed = 1
days = {days}
outputs = ["utilization.overall", "inclusion.participation_share", "orders.all.created"]

[base]
citizens = {citizens}

[parameters]
"adoption.bass_q" = [0.3, 0.6]
"""

TINY = """
[sweep]
design = "grid"
replicates = {replicates}
seed = 2
days = 0.0417
outputs = ["utilization.overall", "orders.all.created"]

[base]
citizens = 50
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def throughput(spec: Path, folder: Path, workers: int) -> dict:
    """One sweep on ``workers`` local processes: runs/min and the model's own time per run."""
    import pandas as pd

    from citymodel.experiments.sweep import run_sweep

    t0 = time.perf_counter()
    outcome = run_sweep(spec, folder / f"w{workers}", workers=workers)
    total = time.perf_counter() - t0
    table = pd.read_parquet(folder / f"w{workers}" / "results.parquet")
    runs = len(table)
    return {"workers": workers, "runs": runs, "sweep_s": outcome.report.wall_s, "total_s": total,
            "startup_s": total - outcome.report.wall_s, "runs_per_min": 60 * runs / outcome.report.wall_s,
            "model_s_per_run": float(table["wall_time_s"].mean()), "ok": int((table["status"] == "ok").sum())}


def bare_time_per_run(spec: Path) -> float:
    """Mean seconds of ``simulate`` for the sweep's configurations, in this process, map loaded once."""
    from citymodel.experiments.designs import design_of
    from citymodel.experiments.execute import load_city_with_routers
    from citymodel.experiments.spec import load_spec
    from citymodel.experiments.sweep import point_configs, sweep_tasks
    from citymodel.runner import simulate

    s = load_spec(spec)
    design = design_of(s)
    city = load_city_with_routers(s.map)
    tasks = list(sweep_tasks(s, design, point_configs(s, design, s.base_config())))
    simulate(tasks[0].config, city)  # warm-up, as a worker's first run
    t0 = time.perf_counter()
    for task in tasks:
        simulate(task.config, city)
    return (time.perf_counter() - t0) / len(tasks)


def memory(spec: Path, folder: Path, workers: int) -> list[tuple[int, float]]:
    """RSS (MB) of this process at the start and after each quarter of a sweep of tiny runs."""
    from citymodel.experiments.sweep import run_sweep

    proc = psutil.Process()
    samples: list[tuple[int, float]] = []

    def progress(done: int, total: int) -> None:
        if done == 0 or done * 4 // total != (done - 1) * 4 // total or done == total:
            samples.append((done, proc.memory_info().rss / 2**20))

    run_sweep(spec, folder / "memory", workers=workers, progress=progress)
    return samples


def main() -> None:
    """Parse the options, run the measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="runs of the throughput spec (even)")
    parser.add_argument("--citizens", type=int, default=300, help="citizens per run")
    parser.add_argument("--days", type=float, default=2.0, help="simulated days per run")
    parser.add_argument("--memory-runs", type=int, default=1000, help="runs of the memory sweep (0: skip)")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {psutil.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}, "
          f"load average {' '.join(f'{x:.2f}' for x in psutil.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        folder = Path(tmp)
        spec = _write(folder, "small.toml", SPEC.format(replicates=args.runs // 2, days=args.days,
                                                        citizens=args.citizens))
        print(f"spec: 2 points x {args.runs // 2} replicates, {args.citizens} citizens, {args.days:g} days")
        bare = bare_time_per_run(spec)
        print(f"bare simulate(): {bare:.3f} s per run (in this process, map loaded once)")
        rows = [throughput(spec, folder, w) for w in (1, 2)]
        print(f"{'workers':>7} {'runs':>5} {'sweep s':>8} {'runs/min':>9} {'start s':>8} {'model s/run':>12} "
              f"{'overhead s/run':>15} {'overhead %':>11}")
        for r in rows:
            overhead = (r["sweep_s"] * r["workers"] / r["runs"]) - r["model_s_per_run"]
            print(f"{r['workers']:>7} {r['runs']:>5} {r['sweep_s']:>8.2f} {r['runs_per_min']:>9.1f} "
                  f"{r['startup_s']:>8.2f} {r['model_s_per_run']:>12.3f} {overhead:>15.4f} "
                  f"{100 * overhead / bare:>10.1f} %")
        print("overhead per run = sweep wall time x workers / runs - model time per run (wall_time_s), "
              "relative to the bare simulate() time")
        if args.memory_runs:
            tiny = _write(folder, "tiny.toml", TINY.format(replicates=args.memory_runs))
            t0 = time.perf_counter()
            samples = memory(tiny, folder, workers=2)
            elapsed = time.perf_counter() - t0
            print(f"coordinator RSS over a {args.memory_runs}-run sweep of tiny runs (2 workers, {elapsed:.0f} s):")
            print("  " + ", ".join(f"{done} runs: {mb:.1f} MB" for done, mb in samples))
            print(f"  start {samples[0][1]:.1f} MB, end {samples[-1][1]:.1f} MB, "
                  f"growth {samples[-1][1] - samples[0][1]:+.1f} MB")


if __name__ == "__main__":
    main()
