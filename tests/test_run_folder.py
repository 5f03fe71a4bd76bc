"""Finished results are never lost: run folders appear under their name only when complete.

``citymodel run`` is started as a real process and stopped with real signals
(SIGINT as Ctrl-C sends it, SIGTERM as ``kill``/Slurm do, SIGKILL which nothing
can catch) while it simulates; the in-process tests drive ``run_to_folder`` into
a failure, a user error and a folder that appears under the final name mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citymodel.config import Config
from citymodel.errors import CitymodelError
from citymodel.outputs import MANIFEST, RunFolder, is_partial_dir
from citymodel.runner import run_to_folder

CLI = [sys.executable, "-m", "citymodel.cli"]
# long enough to be stopped mid-simulation on a loaded machine (about 10 s of simulation alone)
LONG_RUN = ["run", "--citizens", "20000", "--days", "365", "--seed", "5"]


def small_config(citizens: int = 300, days: float = 1, seed: int = 1) -> Config:
    cfg = Config()
    cfg.run.citizens, cfg.run.days, cfg.run.seed = citizens, days, seed
    return cfg.validate()


def partial_dirs(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if is_partial_dir(p))


def start_and_wait_until_simulating(out: Path, timeout: float = 240) -> subprocess.Popen:
    """Start ``citymodel run`` and return once its temporary folder holds the 'running' manifest."""
    proc = subprocess.Popen([*CLI, *LONG_RUN, "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for folder in partial_dirs(out.parent):
            manifest = folder / MANIFEST
            if manifest.is_file() and json.loads(manifest.read_text())["status"] == "running":
                return proc
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be stopped: {proc.stderr.read()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run never started simulating")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_stopped_run_leaves_nothing_under_the_final_name(tmp_path, sig, code):
    out = tmp_path / "run"
    proc = start_and_wait_until_simulating(out)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert not out.exists()
    [partial] = partial_dirs(tmp_path)
    assert partial.name == f".run.partial-{proc.pid}"
    manifest = json.loads((partial / MANIFEST).read_text())
    assert manifest["status"] == "interrupted" and manifest["ended_utc"]
    assert not list(partial.glob("*.parquet")) and not (partial / "summary.json").exists()
    # one line: which signal, where the partial run is, no traceback
    assert "Traceback" not in stderr
    assert stderr.splitlines() == [f"citymodel: interrupted ({sig.name}); partial run kept in {partial} "
                                   "(manifest status 'interrupted')"]


def test_killed_run_leaves_nothing_under_the_final_name(tmp_path):
    out = tmp_path / "run"
    proc = start_and_wait_until_simulating(out)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    [partial] = partial_dirs(tmp_path)
    # nothing could mark it: the manifest still says running, never completed
    assert json.loads((partial / MANIFEST).read_text())["status"] == "running"


def test_report_refuses_a_partial_folder(tmp_path):
    out = tmp_path / "run"
    proc = start_and_wait_until_simulating(out)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    [partial] = partial_dirs(tmp_path)
    report = subprocess.run([*CLI, "report", str(partial)], capture_output=True, text=True, timeout=120)
    assert report.returncode == 2
    assert len(report.stderr.splitlines()) == 1 and "only a completed run can be reported" in report.stderr
    assert "interrupted" in report.stderr


def test_completed_run_is_renamed_into_place(tmp_path, default_city):
    out = tmp_path / "runs" / "a"
    seen: list[Path] = []

    def progress(done: int, total: int) -> None:
        if done == 1:
            seen.extend(partial_dirs(out.parent))
            assert not out.exists()

    result = run_to_folder(small_config(), out, city=default_city, progress=progress)
    assert [p.name for p in seen] == [f".a.partial-{os.getpid()}"]
    assert result.folder == out and out.is_dir()
    assert partial_dirs(out.parent) == []
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["status"] == "completed"
    assert sorted(manifest["files"]) == sorted(p.name for p in out.iterdir())


def test_an_empty_folder_is_filled_and_a_non_empty_one_refused(tmp_path, default_city):
    empty = tmp_path / "empty"
    empty.mkdir()
    run_to_folder(small_config(), empty, city=default_city)
    assert json.loads((empty / MANIFEST).read_text())["status"] == "completed"
    before = {p.name: p.read_bytes() for p in empty.iterdir()}
    with pytest.raises(CitymodelError, match="already exists and is not empty"):
        run_to_folder(small_config(seed=2), empty, city=default_city)
    assert {p.name: p.read_bytes() for p in empty.iterdir()} == before
    assert partial_dirs(tmp_path) == []


def test_a_folder_that_appears_meanwhile_is_not_overwritten(tmp_path, default_city):
    out = tmp_path / "run"

    def someone_else_writes_there(done: int, total: int) -> None:
        if done == 2:
            out.mkdir()
            (out / "theirs.txt").write_text("precious")

    with pytest.raises(CitymodelError) as err:
        run_to_folder(small_config(), out, city=default_city, progress=someone_else_writes_there)
    [partial] = partial_dirs(tmp_path)
    message = str(err.value)
    assert "\n" not in message and f"finished run kept in {partial}" in message and str(out) in message
    assert sorted(p.name for p in out.iterdir()) == ["theirs.txt"]
    assert (out / "theirs.txt").read_text() == "precious"
    # the finished run is complete where the message says
    assert json.loads((partial / MANIFEST).read_text())["status"] == "completed"
    assert (partial / "summary.json").is_file() and (partial / "orders.parquet").is_file()


def test_a_failing_run_is_kept_marked_failed(tmp_path, default_city):
    out = tmp_path / "run"

    def crash(done: int, total: int) -> None:
        if done == 3:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError) as err:
        run_to_folder(small_config(), out, city=default_city, progress=crash)
    assert not out.exists()
    [partial] = partial_dirs(tmp_path)
    assert err.value.partial_run_folder == partial
    assert f"partial run kept in {partial} (manifest status 'failed')" in err.value.__notes__
    manifest = json.loads((partial / MANIFEST).read_text())
    assert manifest["status"] == "failed" and manifest["error"] == "RuntimeError: disk on fire"


def test_a_user_error_while_building_leaves_nothing(tmp_path, default_city):
    zones = tmp_path / "elsewhere.csv"
    zones.write_text("lon,lat,income\n24.94,60.17,30000\n")  # Helsinki: off the Leeds default map
    cfg = small_config()
    cfg.population.zones_file = str(zones)
    with pytest.raises(CitymodelError, match="zones file"):
        run_to_folder(cfg, tmp_path / "run", city=default_city)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.csv"]


def test_run_folder_keeps_its_public_api(tmp_path, default_city):
    folder = RunFolder(tmp_path / "x")
    assert folder.path == folder.partial_path != folder.final_path == tmp_path / "x"
    folder.start(small_config(), default_city)
    folder.finish("interrupted")
    assert folder.path == folder.partial_path and not (tmp_path / "x").exists()
    assert json.loads((folder.path / MANIFEST).read_text())["status"] == "interrupted"


def test_the_current_folder_is_refused_as_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for out in (".", str(tmp_path.parent)):
        with pytest.raises(CitymodelError, match="is the current folder") as err:
            RunFolder(Path(out))
        assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []
