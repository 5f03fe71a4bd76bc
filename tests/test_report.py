"""The plotting report on a small real run: every PNG written, valid, not blank; bad folders."""

from __future__ import annotations

import copy
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from citymodel.config import Config
from citymodel.errors import CitymodelError
from citymodel.maps import load_city
from citymodel.report import DPI, PLOT_DIR, PLOT_FILES, write_report
from citymodel.runner import run_to_folder


@pytest.fixture(scope="module")
def city():
    """The embedded default map (central Leeds), loaded once."""
    return load_city("default")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, city) -> Path:
    """A finished run folder of a small real model: 1000 citizens, 7 days."""
    config = Config()
    config.run.citizens = 1000
    config.run.days = 7
    out = tmp_path_factory.mktemp("report") / "run"
    run_to_folder(config, out, city=city, argv=["test_report"])
    return out


@pytest.fixture(scope="module")
def plots(run_dir) -> list[Path]:
    """The report of ``run_dir``, its map loaded from the manifest's source ("default")."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["map"]["source"] == "default"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the run's own map gives no checksum warning
        return write_report(str(run_dir))  # a str is accepted too


def _digests(folder: Path) -> dict[str, str]:
    """sha256 of every file directly in ``folder`` (the run's own files, not plots/)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def test_every_plot_is_a_non_blank_png(plots, run_dir):
    assert [p.name for p in plots] == list(PLOT_FILES)
    for path in plots:
        assert path.parent == run_dir / PLOT_DIR
        assert path.is_file()
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path.name
        assert path.stat().st_size > 20_000, path.name
        pixels = mpimg.imread(path)
        height, width = pixels.shape[:2]
        # at least 6 x 4 inches at the report's resolution
        assert width >= 6 * DPI and height >= 4 * DPI, (path.name, width, height)
        rgb = pixels[..., :3]
        assert float(rgb.var()) > 1e-3, f"{path.name} is blank"
        # some colour besides grey (data, not just axes and text)
        assert float(np.abs(rgb[..., 0] - rgb[..., 2]).max()) > 0.2, path.name
    leftovers = [p.name for p in (run_dir / PLOT_DIR).iterdir() if p.name not in PLOT_FILES]
    assert leftovers == []


def test_rerun_overwrites_only_plots_and_warns_on_another_map(plots, run_dir, city):
    before = _digests(run_dir)
    entries = sorted(p.name for p in run_dir.iterdir())
    other = copy.copy(city)
    other.checksum = "sha256:" + "0" * 64
    with pytest.warns(UserWarning, match="differs from the one run folder"):
        again = write_report(run_dir, city=other)
    assert [p.name for p in again] == list(PLOT_FILES)
    assert _digests(run_dir) == before  # config, manifest, tables, summary untouched
    assert sorted(p.name for p in run_dir.iterdir()) == entries
    assert not list((run_dir / PLOT_DIR).glob(".*"))  # no temporary files left


def test_missing_folder_is_a_one_line_error(tmp_path):
    missing = tmp_path / "no_such_run"
    with pytest.raises(CitymodelError) as err:
        write_report(missing)
    assert str(missing) in str(err.value)
    assert "\n" not in str(err.value)
    assert not missing.exists()


def test_folder_that_is_not_a_run_is_an_error(tmp_path):
    folder = tmp_path / "not_a_run"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(CitymodelError) as err:
        write_report(folder)
    assert str(folder) in str(err.value)
    assert "\n" not in str(err.value)
    assert not (folder / PLOT_DIR).exists()


def test_file_instead_of_folder_is_an_error(tmp_path):
    path = tmp_path / "run.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(CitymodelError, match="not a folder"):
        write_report(path)


def test_run_without_tables_is_an_error(tmp_path, run_dir):
    """A run that stopped before its tables were written (manifest only)."""
    broken = tmp_path / "broken_run"
    broken.mkdir()
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["status"] = "failed"
    (broken / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(CitymodelError) as err:
        write_report(broken)
    message = str(err.value)
    assert str(broken) in message and "timeseries.parquet" in message and "failed" in message
    assert "\n" not in message


# --------------------------------------------------------------------------- the plotted numbers
@pytest.fixture(scope="module")
def figures(run_dir, city):
    from citymodel.report import report_figures

    return {name: build() for name, build in report_figures(run_dir, city).items()}


@pytest.fixture(scope="module")
def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))


def _tables(run_dir):
    import pandas as pd

    return {name: pd.read_parquet(run_dir / f"{name}.parquet") for name in ("timeseries", "agents", "orders")}


def test_inclusion_bars_are_the_summary_shares(figures, summary):
    fig = figures["inclusion.png"]
    keys = ["access_15min_walk_by_income_quintile", "participation_by_income_quintile",
            "prosumer_share_by_income_quintile"]
    axes = [ax for ax in fig.axes if ax.patches]
    assert len(axes) == 3
    for ax, key in zip(axes, keys, strict=True):
        heights = [bar.get_height() for bar in ax.patches]
        expected = [0.0 if v is None else 100.0 * v for v in summary["inclusion"][key]]
        assert heights == pytest.approx(expected, abs=1e-9), key
    assert max(expected) > 0  # the figure shows data, not an empty frame


def test_utilization_run_lines_are_the_summary_totals_and_bars_the_daily_ratios(figures, summary, run_dir):
    fig = figures["utilization.png"]
    util = summary["utilization"]
    ts = _tables(run_dir)["timeseries"]
    panels = [ax for ax in fig.axes if ax.patches]
    titles = [ax.get_title(loc="left") for ax in panels]
    assert titles[-1].startswith("all kinds pooled")
    pooled = panels[-1]
    dashed = [line for line in pooled.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_ydata()[0] for line in dashed] == pytest.approx([100.0 * util["overall"]])
    # the pooled daily bars: busy / open machines over each day's hourly snapshots
    busy = ts.filter(like="busy_machines_").sum(axis=1).groupby(ts["hour"] // 24).sum()
    open_ = ts.filter(like="open_machines_").sum(axis=1).groupby(ts["hour"] // 24).sum()
    expected = (100.0 * busy / open_.where(open_ > 0)).fillna(0.0).to_numpy()
    heights = np.nan_to_num([bar.get_height() for bar in pooled.patches])
    assert heights == pytest.approx(expected, abs=1e-9)
    assert heights.max() > 0
    for ax, title in zip(panels[:-1], titles[:-1], strict=True):
        from citymodel.report import _pretty

        kind = next(k for k in util["by_facility_kind"] if title.split(" (run")[0] == _pretty(k))
        lines = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        total = util["by_facility_kind"][kind]
        if total is not None:
            assert lines[0].get_ydata()[0] == pytest.approx(100.0 * total)


def test_adoption_lines_end_at_the_final_stage_shares(figures, run_dir):
    fig = figures["adoption.png"]
    agents = _tables(run_dir)["agents"]
    ts = _tables(run_dir)["timeseries"]
    line_ax = next(ax for ax in fig.axes if ax.get_yscale() == "log")
    ends = {line.get_label().split(" (")[0]: line.get_ydata()[-1] for line in line_ax.get_lines()
            if "(end" in line.get_label()}
    stage = agents["stage"].astype(str)
    n = len(agents)
    assert ends["aware or beyond"] == pytest.approx(100.0 * (stage != "unaware").sum() / n)
    assert ends["prosumer or beyond"] == pytest.approx(100.0 * stage.isin(["prosumer", "maker"]).sum() / n)
    x = line_ax.get_lines()[0].get_xdata()
    assert x[-1] == pytest.approx((ts["hour"].max() + 1) / 24.0)
