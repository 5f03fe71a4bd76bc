"""Policy scenario files: the shipped ones are valid, bad ones are one line and exit 2, `scenario show`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from citymodel.config import Config
from citymodel.experiments.scenario import (
    SCENARIO_DIR,
    differences,
    load_scenario,
    shipped_scenarios,
    unsourced_levers,
)

POLICY_LEVERS = {  # the reference paper's policies (Srai et al. 2016 §4.5, §7) and the key that makes each
    "free-printing-libraries": "policy.fee_waiver_share",
    "subsidised-materials": "policy.material_subsidy_share",
    "waiver-income-q1-q2": "policy.targeted_quintiles",
    "waiver-imd-d1-d2": "policy.targeted_imd_deciles",
    "training-programme": "policy.training_multiplier",
    "machine-grants": "policy.machine_grant",
    "textile-mills": "policy.mill_support",
    "new-workshops": "facilities.sites_file",
    "combined-package": "policy.budget_cap",
}


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    assert shutil.which("citymodel"), "the citymodel command must be on PATH"
    return subprocess.run(["citymodel", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_every_shipped_scenario_passes_scenario_check_from_any_folder(tmp_path):
    files = shipped_scenarios()
    assert files[0].name == "baseline.toml" and len(files) >= 8
    result = cli("scenario", "check", *map(str, files), cwd=tmp_path)  # paths inside resolve from the file
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(files)


def test_the_reference_papers_policies_are_shipped_each_changing_its_lever_with_a_source():
    by_name = {load_scenario(p).name: load_scenario(p) for p in shipped_scenarios()}
    assert "baseline" in by_name
    assert differences(by_name["baseline"].config, Config()) == []
    for name, lever in POLICY_LEVERS.items():
        scenario = by_name[name]
        changed = [k for k, _, _ in differences(scenario.config, Config())]
        assert any(k == lever or k.startswith(lever + ".") for k in changed), (name, changed)
        assert scenario.description
        assert unsourced_levers(scenario) == []
    assert by_name["combined-package"].config.policy.budget_cap > 0


def test_the_shipped_sites_file_places_its_workshops_on_the_default_map():
    from citymodel.maps import load_city
    from citymodel.sites import user_sites
    from citymodel.siting import check_user_sites

    scenario = load_scenario(SCENARIO_DIR / "new_workshops.toml")
    sites = user_sites(scenario.config.facilities)
    assert len(sites) == 3 and all(s.kind == "community_centre" for s in sites)
    check_user_sites(load_city("default"), scenario.config.facilities)  # raises if a site is off the map


def _write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BAD = [
    ("[scenario]\nname = 'x'\n[policy]\nfee_waiver_shar = 1.0\n", "fee_waiver_shar",
     "did you mean 'policy.fee_waiver_share'"),
    ("[scenario]\nnam = 'x'\n", "'nam'", "did you mean 'name'"),
    ("[policy]\nfee_waiver_share = 1.0\n", "[scenario]", "name and description"),
    ("[scenario]\nname = 'x'\n[policy]\nfee_waiver_share = 2.0\n", "policy.fee_waiver_share", "from 0 to 1"),
    ("[scenario]\nname = 'x'\n[polcy]\nfee_waiver_share = 1.0\n", "polcy", "unknown"),
    ("[scenario]\nname = 'x'\n[run]\nseed = 3\n", "run.seed", "common random numbers"),
    ("[scenario]\nname = 'x'\n[policy]\nmachine_grant = 100.0\n", "policy.machine_grant", "[scenario.sources]"),
    ("[scenario]\nname = 'x'\n[scenario.sources]\n'policy.grant' = 'assumption'\n", "policy.grant",
     "did you mean 'policy.machine_grant'"),
    ("[scenario]\nname = 'x'\n[facilities]\nsites_file = 'missing.csv'\n", "sites_file", "existing"),
    ("[scenario\nname = 'x'\n", "not valid TOML", "line 1"),
]


@pytest.mark.parametrize(("text", "names", "expects"), BAD)
def test_bad_scenario_file_is_one_line_naming_file_and_key_exit_2(tmp_path, text, names, expects):
    path = _write(tmp_path, text)
    result = cli("scenario", "check", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(path) in lines[0] and names in lines[0] and expects in lines[0], lines[0]


def test_missing_scenario_file_and_off_map_site_are_refused(tmp_path):
    result = cli("scenario", "check", str(tmp_path / "nope.toml"))
    assert result.returncode == 2 and "nope.toml" in result.stderr and "not found" in result.stderr
    (tmp_path / "far.csv").write_text("lon,lat,kind\n-1.40,53.70,library\n", encoding="utf-8")
    path = _write(tmp_path, "[scenario]\nname = 'far'\n[scenario.sources]\n'facilities.sites_file' = 'test'\n"
                  "[facilities]\nsites_file = 'far.csv'\n")
    result = cli("scenario", "check", str(path))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert str(path) in result.stderr and "far.csv" in result.stderr


def test_scenario_show_lists_what_differs_and_the_levers_costs():
    path = SCENARIO_DIR / "waiver_low_income.toml"
    result = cli("scenario", "show", str(path))
    assert result.returncode == 0, result.stderr
    assert "waiver-income-q1-q2" in result.stdout
    assert "3 values differ from the default configuration" in result.stdout
    for key in ("policy.fee_waiver_share", "policy.targeted_quintiles", "policy.training_cost_per_session",
                "facilities.machine_prices.3d_printer"):
        assert key in result.stdout
    assert "ONS 2024 income quintiles" in result.stdout  # the scenario's stated source
    against = cli("scenario", "show", str(SCENARIO_DIR / "combined_package.toml"),
                  "--baseline", str(SCENARIO_DIR / "baseline.toml"))
    assert against.returncode == 0 and "differ from the baseline baseline configuration" in against.stdout
    resolved = cli("scenario", "show", str(path), "--toml")
    assert resolved.returncode == 0 and "targeted_quintiles = [\n    1,\n    2,\n]" in resolved.stdout
