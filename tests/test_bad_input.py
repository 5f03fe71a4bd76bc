"""Bad input gets one clear line: every map, zones and config mistake a user makes, through the real command.

Each case runs the ``citymodel`` command on a malformed file generated here and
checks exit code 2, exactly one stderr line naming the file or field, and no
traceback. A representative case of each kind runs as a real process; the many
variants run the same entry point in-process (``citymodel.cli.main(argv)``,
which returns the exit code) to keep the suite fast. See docs/errors.md.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import osmium
import pytest
from config_cases import invalid_values, record_cases, section_fields, toml_literal

from citymodel.cli import main
from citymodel.config import Config, apply_overrides, load_config
from citymodel.errors import ConfigError
from citymodel.maps import load_city

CLI = [sys.executable, "-m", "citymodel.cli"]


def citymodel(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def in_process(capsys, *args: str) -> subprocess.CompletedProcess:
    """``citymodel ARGS`` through the console entry point in this process (same code, no start-up cost)."""
    code = main(list(args))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and proc.stderr.endswith("\n"), proc.stderr
    assert lines[0].startswith("citymodel: error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# --------------------------------------------------------------------------- maps
def _truncated(src: Path, out: Path) -> Path:
    data = src.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    return out


def _no_streets(out: Path) -> Path:
    # a building outline and a motorway: no way a citizen can walk
    out.write_text('<?xml version="1.0"?><osm version="0.6">'
                   '<node id="1" lat="60.170" lon="24.940"/><node id="2" lat="60.171" lon="24.941"/>'
                   '<node id="3" lat="60.171" lon="24.940"/>'
                   '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/>'
                   '<tag k="building" v="yes"/></way>'
                   '<way id="11"><nd ref="1"/><nd ref="2"/><tag k="highway" v="motorway"/></way></osm>')
    return out


BAD_MAPS = {
    # case: (file name, how to make it, words the error line must hold)
    "missing file": ("missing.osm", None, "does not exist"),
    "empty file": ("empty.osm", lambda p, v: p.write_bytes(b"") or p, "is empty (0 bytes)"),
    "truncated .osm": ("cut.osm", lambda p, v: _truncated(v[".osm"], p), "not a readable OSM file"),
    "truncated .osm.gz": ("cut.osm.gz", lambda p, v: _truncated(v[".osm.gz"], p), "not a readable OSM file"),
    "truncated .osm.bz2": ("cut.osm.bz2", lambda p, v: _truncated(v[".osm.bz2"], p), "not a readable OSM file"),
    "truncated .osm.pbf": ("cut.osm.pbf", lambda p, v: _truncated(v[".osm.pbf"], p), "not a readable OSM file"),
    "JSON named .osm": ("data.osm", lambda p, v: p.write_text(json.dumps({"type": "FeatureCollection",
                                                                         "features": []})) or p,
                        "not a readable OSM file"),
    "HTML named .osm": ("page.osm", lambda p, v: p.write_text("<!DOCTYPE html><html><head><title>Not found"
                                                              "</title></head><body>404</body></html>") or p,
                        "not a readable OSM file"),
    "gzip of JSON named .osm.gz": ("data.osm.gz", lambda p, v: p.write_bytes(gzip.compress(b'{"a": 1}')) or p,
                                   "not a readable OSM file"),
    "random bytes .osm.pbf": ("noise.osm.pbf", lambda p, v: p.write_bytes(random.Random(16).randbytes(4096)) or p,
                              "not a readable OSM file"),
    "no usable streets": ("motorway.osm", lambda p, v: _no_streets(p), "no streets usable by mode 'walk'"),
    "malformed coordinate": ("coords.osm", lambda p, v: p.write_text(
        '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="60.1.7" lon="24.94"/></osm>') or p,
        "not a readable OSM file"),
}


AS_PROCESS = ("missing file", "HTML named .osm", "random bytes .osm.pbf")


@pytest.mark.parametrize("case", list(BAD_MAPS))
def test_bad_map_file_is_one_line_naming_it(case, tmp_path, osm_clip_variants, capsys):
    name, make, words = BAD_MAPS[case]
    path = tmp_path / name
    if make is not None:
        make(path, osm_clip_variants)
    args = ("map", "info", str(path))
    proc = citymodel(*args) if case in AS_PROCESS else in_process(capsys, *args)
    line = assert_one_line_error(proc, str(path.resolve()), words)
    assert "expected" in line


@pytest.mark.parametrize("damage", ["pois JSON", "stats JSON", "edge length"])
def test_damaged_citymodel_graphml_is_one_line(damage, clip_city, tmp_path, capsys):
    text = clip_city.save(tmp_path / "whole.graphml").read_text(encoding="utf-8")
    if damage == "edge length":
        bad = text.replace('<data key="e_length">', '<data key="e_length">x', 1)
    else:
        key = "g_pois" if damage == "pois JSON" else "g_stats"
        start = text.index(f'<data key="{key}">') + len(f'<data key="{key}">')
        bad = text[:start] + "{" + text[start + 5:]
    path = tmp_path / "damaged.graphml"
    path.write_text(bad, encoding="utf-8")
    assert_one_line_error(in_process(capsys, "map", "info", str(path)), str(path),
                          "is not a readable citymodel GraphML file")


@pytest.mark.parametrize("args", [("map", "info", "~nosuchuser/city.osm"), ("run", "--config", "~nosuchuser/c.toml"),
                                  ("run", "--set", "population.zones_file=~nosuchuser/z.csv"),
                                  ("report", "~nosuchuser/run")])
def test_a_home_folder_of_an_unknown_user_is_not_found(args, capsys):
    assert_one_line_error(in_process(capsys, *args), "~nosuchuser")


def test_bad_map_in_a_run_leaves_no_run_folder(tmp_path, osm_clip_variants):
    bad = _truncated(osm_clip_variants[".osm.bz2"], tmp_path / "cut.osm.bz2")
    out = tmp_path / "run"
    assert_one_line_error(citymodel("run", "--map", str(bad), "--out", str(out)), str(bad.resolve()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.osm.bz2"]


def test_debug_shows_the_traceback_of_a_bad_map(tmp_path):
    bad = tmp_path / "noise.osm.pbf"
    bad.write_bytes(random.Random(3).randbytes(512))
    proc = citymodel("--debug", "map", "info", str(bad))
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and "MapError" in proc.stderr


def test_fragmented_map_warns_once_with_the_share_kept(tmp_path):
    # ten separate two-node streets: the largest strongly connected part is 2 of 20 nodes
    parts = ['<?xml version="1.0"?><osm version="0.6">']
    for k in range(10):
        lat = 60.170 + 0.001 * k
        parts.append(f'<node id="{2 * k + 1}" lat="{lat:.3f}" lon="24.940"/>'
                     f'<node id="{2 * k + 2}" lat="{lat:.3f}" lon="24.941"/>'
                     f'<way id="{100 + k}"><nd ref="{2 * k + 1}"/><nd ref="{2 * k + 2}"/>'
                     '<tag k="highway" v="residential"/></way>')
    path = tmp_path / "pieces.osm"
    path.write_text("".join(parts) + "</osm>")
    proc = citymodel("map", "info", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("citymodel: warning: ")
    assert str(path.resolve()) in lines[0] and "10.0 % for walk (2 of 20)" in lines[0]
    assert "Traceback" not in proc.stderr
    info = json.loads(proc.stdout)
    assert info["modes"]["walk"]["kept_node_share"] == pytest.approx(0.1)


def test_a_healthy_map_gives_no_warning(capsys):
    proc = in_process(capsys, "map", "info", "default", "--json")
    assert proc.returncode == 0 and proc.stderr == ""


def _strip_pois(src: Path, out: Path) -> Path:
    """Only the highway ways of ``src`` and their nodes, every node's tags removed: a map without POIs."""
    ways, nodes = set(), set()
    for way in osmium.FileProcessor(str(src), osmium.osm.WAY):
        if "highway" in way.tags:
            ways.add(way.id)
            nodes.update(n.ref for n in way.nodes)
    writer = osmium.SimpleWriter(str(out))
    try:
        for obj in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY):
            if obj.is_node() and obj.id in nodes:
                writer.add_node(obj.replace(tags={}))
            elif obj.is_way() and obj.id in ways:
                writer.add_way(obj)
    finally:
        writer.close()
    return out


def test_map_without_pois_falls_back_and_says_so(tmp_path, osm_clip):
    streets = _strip_pois(osm_clip, tmp_path / "streets_only.osm")
    assert load_city(streets).pois.empty
    out = tmp_path / "run"
    proc = citymodel("run", "--map", str(streets), "--citizens", "300", "--days", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    notes = json.loads((out / "manifest.json").read_text())["notes"]
    summary_notes = json.loads((out / "summary.json").read_text())["run"]["notes"]
    assert notes == summary_notes
    for words in ("no public-workshop POI", "residential POIs", "makerspace placed at the walk node",
                  "professional maker(s) placed at random walk nodes", "textile mill"):
        assert any(words in n for n in notes), (words, notes)
        assert words in proc.stdout


# --------------------------------------------------------------------------- zones
def _square(lon: float, lat: float, size: float = 0.01) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


@pytest.mark.parametrize("kind", ["geojson", "csv", "geojson with lon/lat swapped"])
def test_zones_that_miss_the_map_are_one_line(tmp_path, kind, capsys):
    if kind == "csv":
        path = tmp_path / "leeds.csv"
        path.write_text("lon,lat,imd_decile\n-1.55,53.80,3\n-1.54,53.81,7\n")
    else:
        # Leeds areas for the Helsinki map, or Helsinki areas written lat-first
        ring = _square(-1.55, 53.80) if kind == "geojson" else [[y, x] for x, y in _square(24.93, 60.16, 0.03)]
        path = tmp_path / "zones.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"income": 30000}, "geometry": {"type": "Polygon",
                                                                               "coordinates": [ring]}}]}))
    out = tmp_path / "run"
    args = ("run", "--map", "helsinki", "--zones", str(path), "--citizens", "200", "--days", "0.1", "--out", str(out))
    proc = citymodel(*args) if kind == "geojson" else in_process(capsys, *args)
    assert_one_line_error(proc, f"zones file {path}")
    # a mistake in the input: nothing was computed, no run folder (final or temporary) is left
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize(("name", "text", "words"), [
    ("empty.geojson", "", "is empty"),
    ("list.geojson", '{"type": "FeatureCollection", "features": [1, 2]}', "feature 0"),
    ("props.geojson", '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": 5, '
                      '"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}',
     "properties"),
    ("inf.csv", "lon,lat,income\n24.94,60.17,inf\n", "'income'"),
])
def test_malformed_zones_files_are_one_line(tmp_path, name, text, words, capsys):
    path = tmp_path / name
    path.write_text(text)
    proc = in_process(capsys, "run", "--zones", str(path), "--citizens", "200", "--days", "0.1",
                      "--out", str(tmp_path / "run"))
    assert_one_line_error(proc, str(path), words)


# --------------------------------------------------------------------------- baseline
@pytest.mark.parametrize("text", ["[1, 2]", '{"economics": {"public_spend": "x"}, "inclusion": {"participants": 3}}',
                                  '{"run": {}}', "not json"])
def test_a_baseline_that_is_not_a_run_summary_is_one_line(text, tmp_path, capsys):
    folder = tmp_path / "baseline"
    folder.mkdir()
    (folder / "summary.json").write_text(text)
    proc = in_process(capsys, "run", "--baseline", str(folder), "--citizens", "50", "--days", "0.1",
                      "--out", str(tmp_path / "run"))
    assert_one_line_error(proc, f"--baseline {folder / 'summary.json'}")
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- config
def test_unknown_config_field_suggests_the_nearest(tmp_path):
    proc = citymodel("run", "--set", "adoption.bass_qq=0.5")
    line = assert_one_line_error(proc)
    assert line == "citymodel: error: unknown config field 'adoption.bass_qq': did you mean 'adoption.bass_q'?"
    toml = tmp_path / "typo.toml"
    toml.write_text("[adoptoin]\nbass_q = 0.5\n")
    line = assert_one_line_error(citymodel("run", "--config", str(toml)))
    assert line == (f"citymodel: error: config file {toml}: unknown config field 'adoptoin.bass_q': "
                    "did you mean 'adoption.bass_q'?")


@pytest.mark.parametrize(("item", "suggestion"), [
    ("platform.comission=0.1", "platform.commission"),
    ("policy.fee_waiver=0.5", "policy.fee_waiver_share"),
    ("bass_p=0.01", "adoption.bass_p"),
    ("needs.products.furniture.machine_hourz=3", "needs.products.furniture.machine_hours"),
    ("facilities.kinds.librar.fee_per_hour=2", "facilities.kinds.library"),
])
def test_misspelt_fields_anywhere_get_a_suggestion(item, suggestion, capsys):
    assert main(["run", "--set", item]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"did you mean '{suggestion}'?" in err


def test_missing_empty_and_binary_config_files_are_one_line(tmp_path, capsys):
    missing = tmp_path / "missing.toml"
    assert_one_line_error(in_process(capsys, "run", "--config", str(missing)), str(missing), "not found")
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert_one_line_error(in_process(capsys, "run", "--config", str(empty)), str(empty), "is empty")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(random.Random(5).randbytes(200))
    assert_one_line_error(in_process(capsys, "run", "--config", str(binary)), str(binary), "not valid TOML")


@pytest.mark.parametrize("item", ["run.citizens=-5", "adoption.initial_aware_share=1.5", "run.days=nan"])
def test_out_of_range_and_wrong_type_through_the_real_command(item):
    field = item.split("=")[0]
    assert_one_line_error(citymodel("run", "--set", item), f"config field '{field}'", "expected")


def test_a_zero_day_count_is_refused_everywhere(tmp_path, capsys):
    toml = tmp_path / "zero.toml"
    toml.write_text("[run]\ndays = 0\n")
    for args in (("run", "--days", "0"), ("run", "--set", "run.days=0"), ("run", "--config", str(toml))):
        line = assert_one_line_error(in_process(capsys, *args), "days")
        assert "at least one simulated hour" in line


ALL_FIELDS = section_fields() + record_cases()


@pytest.mark.parametrize("case", ALL_FIELDS, ids=[c.name for c in ALL_FIELDS])
def test_every_invalid_value_of_every_field_is_refused(case, tmp_path, capsys):
    """Out of range, NaN, infinities, wrong types: through --set and a TOML file (the config API the CLI calls),
    and the first of them through the command itself."""
    *tables, key = case.name.split(".")
    toml = tmp_path / "bad.toml"
    values = invalid_values(case)
    for label, value in values:
        literal = toml_literal(value)
        with pytest.raises(ConfigError) as err:
            apply_overrides(Config(), [f"{case.name}={literal}"])
        assert f"config field '{case.name}' = " in str(err.value) and "\n" not in str(err.value), label
        toml.write_text(f"[{'.'.join(tables)}]\n{key} = {literal}\n")
        with pytest.raises(ConfigError) as err:
            load_config(toml)
        assert str(err.value).startswith(f"config file {toml}: config field '{case.name}' = "), label
    # --citizens/--days keep an accidental run tiny; they are not given when the case is about them
    extra = [] if case.name in ("run.citizens", "run.days") else ["--citizens", "20", "--days", "0.05"]
    proc = in_process(capsys, "run", "--set", f"{case.name}={toml_literal(values[0][1])}", *extra,
                      "--out", str(tmp_path / "run"))
    assert_one_line_error(proc, f"config field '{case.name}' = ")
    assert not (tmp_path / "run").exists()


def test_every_ranged_field_has_a_case():
    """Guards the generated cases: every numeric field with a bound gets an out-of-range value."""
    for case in ALL_FIELDS:
        bounded = any(b is not None for b in (case.range.ge, case.range.gt, case.range.le, case.range.lt))
        labels = [label for label, _ in invalid_values(case)]
        if case.kind in ("int", "float") and bounded:
            assert any(label.startswith("out of range") for label in labels), case.name
        assert labels, case.name
