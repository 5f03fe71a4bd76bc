"""The `citymodel` command as a user runs it: a real process, real files, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

CLI = [sys.executable, "-m", "citymodel.cli"]


def citymodel(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    exe = shutil.which("citymodel")
    cmd = [exe] if exe else CLI
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    proc = citymodel("run", "--citizens", "800", "--days", "1", "--seed", "3", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def test_run_writes_the_run_folder(default_run):
    names = {p.name for p in default_run.iterdir()}
    assert {"config.toml", "manifest.json", "trips.parquet", "orders.parquet", "agents.parquet",
            "facilities.parquet", "timeseries.parquet", "summary.json"} <= names
    manifest = json.loads((default_run / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["seed"] == 3
    assert manifest["map"]["source"] == "default"
    assert manifest["map"]["checksum"].startswith("sha256:")
    assert manifest["citymodel_version"]
    assert manifest["started_utc"] <= manifest["ended_utc"]
    trips = pd.read_parquet(default_run / "trips.parquet")
    assert {"agent_id", "mode", "origin_node", "destination_node", "departure_min", "arrival_min",
            "travel_time_s", "distance_m"} <= set(trips.columns)
    summary = json.loads((default_run / "summary.json").read_text())
    for key in ("utilization", "delivery_time_h", "inclusion", "adoption", "localisation", "economics", "orders"):
        assert key in summary
    assert summary["run"]["n_citizens"] == 800
    agents = pd.read_parquet(default_run / "agents.parquet")
    # central Leeds ships its LSOAs: every citizen has a zone (E01... code) and its IMD and income deciles
    assert agents["zone_id"].str.match(r"^E0\d{7}$").all()
    assert agents["imd_decile"].between(1, 10).all() and agents["income_decile"].between(1, 10).all()
    assert sum(summary["inclusion"]["n_by_imd_decile"]) == 800


def test_config_toml_of_a_run_reproduces_it(default_run, tmp_path):
    out = tmp_path / "again"
    proc = citymodel("run", "--config", str(default_run / "config.toml"), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    for name in ("orders.parquet", "agents.parquet", "trips.parquet"):
        assert (out / name).read_bytes() == (default_run / name).read_bytes()


def test_run_prints_a_summary(tmp_path):
    proc = citymodel("run", "--citizens", "300", "--days", "0.5", "--out", str(tmp_path / "r"),
                     "--set", "adoption.initial_aware_share=0.5")
    assert proc.returncode == 0, proc.stderr
    assert "orders by channel" in proc.stdout
    assert "utilization" in proc.stdout
    assert "access ≤15 min walk by IMD decile (1 = most deprived):" in proc.stdout
    assert "incomes: from leeds-lsoa11-imd2019.geojson" in proc.stdout
    assert str(tmp_path / "r") in proc.stdout
    cfg = (tmp_path / "r" / "config.toml").read_text()
    assert "initial_aware_share = 0.5" in cfg


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--citizens", "-5"], "--citizens"),
        (["run", "--citizens", "many"], "--citizens"),
        (["run", "--days", "0"], "--days"),
        (["run", "--map", "/no/such/map.osm"], "/no/such/map.osm"),
        (["run", "--config", "/no/such/config.toml"], "/no/such/config.toml"),
        (["run", "--set", "adoption.bass_p=fast"], "adoption.bass_p"),
        (["run", "--set", "nosuch.field=1"], "nosuch"),
        (["run", "--set", "platform.matching=random"], "platform.matching"),
        (["map", "info", "/no/such/file.osm.pbf"], "/no/such/file.osm.pbf"),
        (["report", "/"], "/"),
        (["validate", "--only", "nosuch"], "nosuch"),
        (["run", "--baseline", "/no/such/run"], "/no/such/run"),
        (["run", "--zones", "/no/such/zones.geojson"], "/no/such/zones.geojson"),
        (["run", "--sites", "/no/such/sites.csv"], "/no/such/sites.csv"),
        (["map", "info", "default", "--sites", "/no/such/sites.csv"], "/no/such/sites.csv"),
        (["run", "--map", "helsinki", "--set", "population.homes_by=population"], "population.homes_by"),
    ],
)
def test_bad_input_is_one_line_without_traceback(args, needle):
    proc = citymodel(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert needle in lines[0]


def test_bad_toml_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\ncitizens = 3\n")
    proc = citymodel("run", "--config", str(bad))
    assert proc.returncode == 2
    assert str(bad) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_existing_run_folder_is_refused_and_kept(default_run):
    before = (default_run / "orders.parquet").read_bytes()
    proc = citymodel("run", "--citizens", "100", "--days", "0.2", "--out", str(default_run))
    assert proc.returncode == 2
    assert "already exists" in proc.stderr
    assert (default_run / "orders.parquet").read_bytes() == before


def test_debug_shows_the_traceback():
    proc = citymodel("--debug", "run", "--map", "/no/such/map.osm")
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr


def test_map_info_default_lists_the_leeds_sites():
    proc = citymodel("map", "info", "default")
    assert proc.returncode == 0, proc.stderr
    for word in ("walk", "bike", "van", "library", "sha256:", "OpenStreetMap contributors", "Open Government Licence",
                 "currency: GBP (£)", "zones: 30", "45,455 residents on the map",
                 "Leeds Central Library", "Leeds Art Gallery", "mon-thu 09:00-19:45", "dcms-libraries-2023"):
        assert word in proc.stdout, word
    proc = citymodel("map", "info", "default", "--json")
    info = json.loads(proc.stdout)
    assert info["modes"]["walk"]["nodes"] > 1000
    assert 0 < info["modes"]["walk"]["kept_node_share"] <= 1
    libraries = [s for s in info["sites"] if s["kind"] == "library"]
    assert {s["name"] for s in libraries} == {"Leeds Central Library", "Kirkgate Market Community Hub & Library"}
    assert all(s["source"] == "dcms-libraries-2023" and s["hours"] for s in libraries)
    names = {s["name"] for s in info["sites"]}
    assert {"University of Leeds (West Campus)", "Caring Together in Little London & Woodhouse", "Restrap"} <= names


def test_map_info_places_the_sites_of_a_file(tmp_path):
    sites = tmp_path / "eight_libraries.csv"
    sites.write_text("lon,lat,kind,name\n-1.5600,53.8150,library,Hyde Park pop-up\n"
                     "-1.5450,53.8100,library,Little London pop-up\n")
    proc = citymodel("map", "info", "default", "--sites", str(sites), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    added = [s for s in info["sites"] if s["source"] == "user"]
    assert [s["name"] for s in added] == ["Hyde Park pop-up", "Little London pop-up"]
    assert all(0 <= s["snap_m"] < 100 for s in added)
    assert any("2 user site(s) added from" in n for n in info["site_notes"])


def test_map_list_names_the_embedded_maps():
    proc = citymodel("map", "list")
    assert proc.returncode == 0, proc.stderr
    for word in ("leeds (default)", "helsinki", "central Leeds", "central Helsinki", "MB", "OGL v3.0", "ODbL",
                 "Helsinki.osm.pbf"):
        assert word in proc.stdout, word
    rows = json.loads(citymodel("map", "list", "--json").stdout)
    assert [r["name"] for r in rows] == ["leeds", "helsinki"]


def test_run_on_the_embedded_helsinki_map(tmp_path):
    out = tmp_path / "hel"
    proc = citymodel("run", "--map", "helsinki", "--citizens", "300", "--days", "0.5", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["map"]["source"] == "helsinki" and manifest["map"]["name"] == "Helsinki (central)"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["inclusion"]["incomes_synthetic"] is True
    assert "incomes: synthetic" in proc.stdout and "by IMD decile" not in proc.stdout


def test_run_with_sites_adds_them(tmp_path):
    sites = tmp_path / "sites.geojson"
    sites.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.5600, 53.8150]},
         "properties": {"kind": "makerspace", "name": "Hyde Park lab", "machines": {"3d_printer": 3}}}]}))
    out = tmp_path / "with_sites"
    proc = citymodel("run", "--citizens", "300", "--days", "0.5", "--sites", str(sites), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    facilities = pd.read_parquet(out / "facilities.parquet")
    lab = facilities[facilities["name"] == "Hyde Park lab"]
    assert lab["placement"].tolist() == ["user:sites.geojson feature 0"] and lab["machines"].tolist() == [3]
    assert "1 user site(s) added from" in proc.stdout
    assert "sites_file" in (out / "config.toml").read_text()


def test_bad_sites_and_zones_files_exit_2_naming_file_and_row(tmp_path):
    sites = tmp_path / "far.csv"
    sites.write_text("lon,lat,kind\n-1.5600,53.8150,library\n-0.1276,51.5072,library\n")  # row 2: London
    proc = citymodel("run", "--citizens", "100", "--days", "0.1", "--sites", str(sites), "--out", str(tmp_path / "a"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert str(sites) in proc.stderr and "row 2" in proc.stderr and "m from the nearest street" in proc.stderr
    assert not (tmp_path / "a").exists()
    zones = tmp_path / "york.geojson"
    ring = [[-1.10, 53.95], [-1.09, 53.95], [-1.09, 53.96], [-1.10, 53.96], [-1.10, 53.95]]
    zones.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"population": 10},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    proc = citymodel("run", "--zones", str(zones), "--out", str(tmp_path / "b"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert str(zones) in proc.stderr and "feature 0" in proc.stderr and "km away" in proc.stderr
    assert not (tmp_path / "b").exists()


def test_help_names_the_embedded_maps():
    for command in (["run"], ["map"], ["map", "info"]):
        text = " ".join(citymodel(*command, "--help").stdout.split())
        assert "helsinki" in text and "Leeds" in text, command
    assert "list" in citymodel("map", "--help").stdout


@pytest.mark.parametrize("command", [[], ["run"], ["map"], ["map", "info"], ["map", "list"], ["validate"], ["report"],
                                     ["bench"], ["bench", "routing"], ["params"]])
def test_every_command_has_help(command):
    proc = citymodel(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    assert len(proc.stdout.splitlines()) > 4


def test_params_lists_every_parameter_with_unit_and_source():
    proc = citymodel("params", "--markdown")
    assert proc.returncode == 0
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "---" not in line][1:]
    from citymodel.config import parameter_rows

    assert len(rows) == len(parameter_rows())
    assert any("adoption.bass_p" in r and "PARAMETERS §1" in r for r in rows)


def test_docs_parameter_table_is_generated_from_the_code():
    from citymodel.cli import parameters_markdown
    from citymodel.config import parameter_rows

    docs = (Path(__file__).parent.parent / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert parameters_markdown(parameter_rows()) in docs, "regenerate docs/parameters.md (see its header)"


def test_run_on_a_local_osm_file(osm_clip, tmp_path):
    out = tmp_path / "local"
    proc = citymodel("run", "--map", str(osm_clip), "--citizens", "500", "--days", "3", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["map"]["source"] == str(osm_clip)
    orders = pd.read_parquet(out / "orders.parquet")
    facilities = pd.read_parquet(out / "facilities.parquet")
    assert len(orders) > 0 and len(facilities) > 0
    assert manifest["status"] == "completed"
