"""Real sweeps on Dask: 2 local worker processes, a loopback cluster, a killed and resumed sweep.

Every sweep runs the real model on the embedded map (300 citizens, 1 day per run).
Tables are compared on every column except ``wall_time_s``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from citymodel.cli import main
from citymodel.config import config_from_dict
from citymodel.errors import CitymodelError
from citymodel.experiments.config_keys import apply_values
from citymodel.experiments.designs import design_of, point_values
from citymodel.experiments.execute import RunTask, run_task_table
from citymodel.experiments.seeds import run_seed
from citymodel.experiments.spec import load_spec
from citymodel.experiments.sweep import run_sweep
from citymodel.runner import simulate

SPEC = """
[sweep]
design = "grid"
replicates = 2
seed = 11
days = 1
outputs = ["utilization.overall", "inclusion.participation_share", "orders.all.created",
           "delivery_time_h.by_channel.platform.p50", "economics.public_spend",
           "inclusion.participation_by_income_quintile[0]"]

[base]
citizens = 300

[parameters]
"adoption.initial_aware_share" = [0.1, 0.6]
"policy.fee_waiver_share" = { min = 0.0, max = 1.0, levels = 2 }
"""
N_RUNS = 2 * 2 * 2


def _comparable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=["wall_time_s"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "small.toml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def local_sweep(spec_file: Path, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """The uninterrupted reference: 2 local worker processes."""
    out = tmp_path_factory.mktemp("local") / "sweep"
    outcome = run_sweep(spec_file, out, workers=2)
    assert outcome.workers == 2
    return out, pd.read_parquet(out / "results.parquet")


def test_two_worker_sweep_writes_one_row_per_run(local_sweep, spec_file: Path) -> None:
    out, table = local_sweep
    spec = load_spec(spec_file)
    assert list(table["run"]) == list(range(N_RUNS))
    assert list(table.columns) == ["run", "point", "replicate", "adoption.initial_aware_share",
                                   "policy.fee_waiver_share", "seed", *spec.outputs, "wall_time_s", "status",
                                   "error"]
    assert (table["status"] == "ok").all() and table["error"].isna().all()
    assert list(table["seed"]) == [run_seed(11, p, r) for p in range(4) for r in range(2)]
    assert set(zip(table["adoption.initial_aware_share"], table["policy.fee_waiver_share"], strict=True)) == {
        (0.1, 0.0), (0.1, 1.0), (0.6, 0.0), (0.6, 1.0)}
    assert (table["wall_time_s"] > 0).all()
    record = json.loads((out / "sweep.json").read_text())
    assert record["status"] == "completed"
    assert record["runs"] == {"ok": N_RUNS, "total": N_RUNS}
    assert record["map"]["checksum"].startswith("sha256:")
    assert record["spec"] == spec.raw
    assert record["citymodel_version"]


def test_sweep_rows_equal_bare_runs(local_sweep, spec_file: Path, default_city) -> None:
    """The cached city on a worker gives exactly what a plain simulate() of the same config gives."""
    _, table = local_sweep
    spec = load_spec(spec_file)
    design = design_of(spec)
    for run in (0, 7):
        row = table.iloc[run]
        cfg = apply_values(spec.base_config(), point_values(design, int(row["point"])))
        cfg.run.seed = run_seed(spec.seed, int(row["point"]), int(row["replicate"]))
        summary = simulate(cfg, default_city).summary
        from citymodel.experiments.summary_paths import lookup

        for output in spec.outputs:
            expected = lookup(summary, output)
            got = row[output]
            assert (expected is None and math.isnan(got)) or got == expected, output


# --------------------------------------------------------------------------- loopback cluster
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def loopback_cluster(tmp_path_factory) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1 (free ports)."""
    logs = tmp_path_factory.mktemp("dask-logs")
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    procs: list[subprocess.Popen] = []
    try:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", port,
             "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=open(logs / "scheduler.log", "w")))  # noqa: SIM115
        for i in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny",
                 "--no-dashboard", "--host", "127.0.0.1", "--name", f"worker-{i}"],
                stdout=subprocess.DEVNULL, stderr=open(logs / f"worker-{i}.log", "w")))  # noqa: SIM115
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, procs[1:]
    finally:
        for proc in reversed(procs):
            _stop(proc)


def test_loopback_cluster_gives_the_same_table_even_when_a_worker_dies(
        local_sweep, spec_file: Path, loopback_cluster, tmp_path: Path) -> None:
    address, workers = loopback_cluster
    _, reference = local_sweep
    killed: list[int] = []

    def kill_one_worker(done: int, total: int) -> None:
        if done >= 3 and not killed:  # a worker dies mid-sweep: its runs go to the other one
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append(done)

    outcome = run_sweep(spec_file, tmp_path / "cluster", scheduler=address, progress=kill_one_worker)
    assert killed and outcome.counts == {"ok": N_RUNS}
    table = pd.read_parquet(tmp_path / "cluster" / "results.parquet")
    pd.testing.assert_frame_equal(_comparable(table), _comparable(reference))
    record = json.loads((tmp_path / "cluster" / "sweep.json").read_text())
    assert record["sessions"][0]["scheduler"] == address


def test_a_failing_run_is_recorded_and_the_others_go_on(loopback_cluster, tmp_path: Path) -> None:
    """Through the generic entry point other callers use (labels of their own, Config objects)."""
    address, _ = loopback_cluster
    good = config_from_dict({"run": {"citizens": 200, "days": 1.0, "seed": 5}})
    broken = config_from_dict({"run": {"citizens": 200, "days": 1.0, "seed": 6}})
    broken.needs.products = {"furniture": {"machine": "cnc_router"}}  # unvalidated: the model cannot run it
    outputs = ["utilization.overall"]
    tasks = [RunTask(0, broken, {"scenario": "broken"}), RunTask(1, good, {"scenario": "good"})]
    path = tmp_path / "compare" / "results.parquet"
    report = run_task_table(tasks, outputs, path, [("scenario", pa.string())], scheduler=address)
    rows = pd.read_parquet(path)
    assert (report.ok, report.failed) == (1, 1)
    assert list(rows.columns) == ["run", "scenario", "seed", "utilization.overall", "wall_time_s", "status", "error"]
    assert list(rows["status"]) == ["failed", "ok"]
    assert "needs.products" in rows["error"][0] and "\n" not in rows["error"][0]
    assert math.isnan(rows["utilization.overall"][0]) and rows["utilization.overall"][1] >= 0
    assert rows["seed"].tolist() == [6, 5]
    with pytest.raises(CitymodelError, match="never overwritten"):
        run_task_table(tasks, outputs, path, [("scenario", pa.string())], scheduler=address)
    # resume with every row present: nothing runs again
    again = run_task_table(tasks, outputs, path, [("scenario", pa.string())], scheduler=address, resume=True)
    assert again.submitted == 0
    pd.testing.assert_frame_equal(pd.read_parquet(path), rows)


def test_unreachable_scheduler_is_one_line_and_leaves_no_folder(spec_file: Path, tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(CitymodelError, match=r"--scheduler tcp://127.0.0.1:\d+: cannot connect") as info:
        run_sweep(spec_file, tmp_path / "never", scheduler=address, connect_timeout_s=2)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "never").exists()  # a second try is not refused as "not empty"


# --------------------------------------------------------------------------- kill and resume
def test_killed_sweep_resumes_to_the_uninterrupted_table(local_sweep, spec_file: Path, tmp_path: Path,
                                                         capsys) -> None:
    _, reference = local_sweep
    out = tmp_path / "killed"
    # one worker each time (the reference used two): also checks the table does not depend on it
    proc = subprocess.Popen([sys.executable, "-m", "citymodel.cli", "sweep", str(spec_file), "--workers", "1",
                             "--out", str(out), "--quiet"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    partial = None
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if (out / "results.parquet").exists():
                partial = pd.read_parquet(out / "results.parquet")  # atomic: always a complete file
                if len(partial):
                    os.kill(proc.pid, signal.SIGKILL)
                    break
            if proc.poll() is not None:
                pytest.fail(f"sweep ended before it could be killed: {proc.stderr.read().decode()}")
            time.sleep(0.02)
        proc.wait(timeout=30)
    finally:
        with __import__("contextlib").suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its worker processes
    assert proc.returncode == -signal.SIGKILL
    assert partial is not None and 0 < len(partial) < N_RUNS
    after_kill = pd.read_parquet(out / "results.parquet")
    assert len(after_kill) < N_RUNS
    assert json.loads((out / "sweep.json").read_text())["status"] == "running"  # never looks finished
    # without --resume the folder is refused; with it, only the missing runs run
    assert main(["sweep", str(spec_file), "--workers", "1", "--out", str(out), "--quiet"]) == 2
    assert "results are never overwritten" in capsys.readouterr().err
    assert main(["sweep", str(spec_file), "--workers", "1", "--out", str(out), "--resume", "--quiet"]) == 0
    resumed = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(_comparable(resumed), _comparable(reference))
    record = json.loads((out / "sweep.json").read_text())
    assert record["status"] == "completed"
    assert record["sessions"][-1]["resumed_with_rows"] == len(after_kill)
    assert record["sessions"][-1]["ran"] == N_RUNS - len(after_kill)


def test_resume_refuses_another_spec(local_sweep, tmp_path: Path) -> None:
    out, _ = local_sweep
    changed = tmp_path / "changed.toml"
    changed.write_text(SPEC.replace("replicates = 2", "replicates = 4"), encoding="utf-8")
    with pytest.raises(CitymodelError, match=r"the spec differs .*sweep\.replicates: 2 in sweep.json, now 4"):
        run_sweep(changed, out, workers=1, resume=True)


def test_analyze_a_real_sweep_folder(local_sweep, capsys) -> None:
    out, table = local_sweep
    assert main(["analyze", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "point means" in printed and "points.csv" in printed
    points = pd.read_csv(out / "analysis" / "points.csv")
    assert len(points) == 4 * 6  # points x outputs
    for output in ("utilization.overall", "orders.all.created"):
        runs = table[table["point"] == 2][output]
        row = points[(points["point"] == 2) & (points["output"] == output)].iloc[0]
        assert row["n"] == 2 and row["mean"] == pytest.approx(runs.mean())
        assert row["ci_low"] <= row["mean"] <= row["ci_high"]
    plots = sorted((out / "analysis" / "plots").glob("*.png"))
    assert len(plots) == 6
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000 for p in plots)
    summary = json.loads((out / "analysis" / "analysis.json").read_text())
    assert summary["ok"] == N_RUNS and summary["notes"] == []
