"""`citymodel ui` refuses bad options before serving, and its server is set up to need no internet."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from citymodel.errors import CitymodelError
from citymodel.ui.server import check_port, offline_environment


def _citymodel(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("citymodel")
    cmd = [str(exe)] if exe.exists() else [shutil.which("citymodel") or "citymodel"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120)


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _one_line_error(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert needle in lines[0]


def test_missing_config_file_is_one_line(tmp_path):
    missing = tmp_path / "nope.toml"
    _one_line_error(_citymodel("ui", "--config", str(missing), "--port", _free_port()), str(missing))


def test_bad_config_value_is_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy]\nfee_waiver_share = 3\n", encoding="utf-8")
    _one_line_error(_citymodel("ui", "--config", str(bad), "--port", _free_port()), "policy.fee_waiver_share")


def test_missing_map_is_one_line():
    _one_line_error(_citymodel("ui", "--map", "/no/such/city.osm.pbf", "--port", _free_port()), "/no/such/city.osm.pbf")


def test_port_out_of_range_is_one_line():
    _one_line_error(_citymodel("ui", "--port", "70000"), "--port 70000")


def test_taken_port_is_refused():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CitymodelError, match=f"--port {port}"):
            check_port("127.0.0.1", port)
        _one_line_error(_citymodel("ui", "--port", str(port)), f"--port {port}")


def test_unknown_host_is_refused():
    with pytest.raises(CitymodelError, match="--host"):
        check_port("no-such-host.invalid", 8765)


def test_server_environment_points_at_local_front_end_files():
    env = offline_environment({})
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assets = Path(env["SOLARA_ASSETS_PROXY_CACHE_DIR"])
    assert any(assets.glob("@widgetti/solara-vuetify-app@*/dist/*.js")), assets
    assert (assets / "requirejs@2.3.6" / "require.js").is_file()
    configs = env["JUPYTER_CONFIG_PATH"].split(":")
    assert any((Path(c) / "nbconfig" / "notebook.d" / "jupyter-vuetify.json").is_file() for c in configs)
