"""Start the app's Solara server: check the options first, make it work offline, then serve.

Before anything listens, the map and the configuration are loaded once (a
mistake is one line and exit code 2, as for every command) and the port is
tried. The page needs no internet: Solara's front-end files come from the
``solara-assets`` package and the widget front-ends from the Jupyter data
folders; both are located here even when they live in a base environment
below a virtualenv, and Solara's usage statistics and version check are off.
"""

from __future__ import annotations

import importlib.metadata
import os
import socket
import sys
from pathlib import Path

from citymodel.errors import CitymodelError
from citymodel.ui.app_settings import ENV_VAR, AppSettings

APP_MODULE = "citymodel.ui.app"
WIDGET_CONFIG = Path("nbconfig") / "notebook.d" / "jupyter-vuetify.json"


def solara_assets_dir() -> Path | None:
    """The folder of Solara's front-end files installed by ``solara-assets`` (None if not installed)."""
    try:
        dist = importlib.metadata.distribution("solara-assets")
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or []:
        parts = Path(str(file)).parts
        if "cdn" in parts and "solara" in parts:
            path = Path(str(dist.locate_file(file))).resolve()
            while path.name != "cdn":
                path = path.parent
            return path
    return None


def _widget_config_roots() -> list[Path]:
    """Jupyter config folders (this environment's, then the base one's) that enable the Vuetify widgets."""
    prefixes = dict.fromkeys([Path(sys.prefix), Path(sys.base_prefix)])
    return [p / "etc" / "jupyter" for p in prefixes if (p / "etc" / "jupyter" / WIDGET_CONFIG).is_file()]


def offline_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables for a Solara server that fetches nothing from the internet.

    Raises
    ------
    CitymodelError
        If the widget front-end (ipyvuetify's Jupyter extension) cannot be found.
    """
    env = dict(os.environ if env is None else env)
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    assets = solara_assets_dir()
    if assets is not None and "SOLARA_ASSETS_PROXY_CACHE_DIR" not in env:
        env["SOLARA_ASSETS_PROXY_CACHE_DIR"] = str(assets)
    roots = _widget_config_roots()
    if not roots:
        msg = ("cannot find the Jupyter widget front-end (etc/jupyter/nbconfig/notebook.d/jupyter-vuetify.json); "
               "reinstall ipyvuetify (pip install --force-reinstall 'ipyvuetify<3')")
        raise CitymodelError(msg)
    extra_config = [str(r) for r in roots]
    extra_data = [str(r.parent.parent / "share" / "jupyter") for r in roots]
    for name, paths in (("JUPYTER_CONFIG_PATH", extra_config), ("JUPYTER_PATH", extra_data)):
        current = [p for p in env.get(name, "").split(os.pathsep) if p]
        env[name] = os.pathsep.join(dict.fromkeys([*current, *paths]))
    return env


def check_port(host: str, port: int) -> None:
    """Refuse a port out of range or already taken on ``host``, with one line."""
    if not 1 <= port <= 65535:
        msg = f"--port {port}: expected a port number between 1 and 65535"
        raise CitymodelError(msg)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        msg = f"--host {host!r}: not a known address of this machine ({exc.strerror})"
        raise CitymodelError(msg) from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            msg = f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
            raise CitymodelError(msg) from None


def check_settings(map_source: str | None, config_file: Path | None) -> AppSettings:
    """Load the configuration and the map once, so a mistake is reported before serving."""
    from citymodel.config import load_config
    from citymodel.maps import shared_city

    config_path = ""
    source = map_source or "default"
    if config_file is not None:
        config = load_config(config_file)
        config_path = str(Path(config_file).expanduser().resolve())
        source = map_source or config.run.map
    shared_city(source)
    return AppSettings(map_source=source, config_file=config_path)


def serve(map_source: str | None, config_file: Path | None, port: int, host: str) -> None:
    """Check the options, then run the Solara server of the app until interrupted.

    Parameters
    ----------
    map_source
        Map of a new tab (``None``: the configuration's map, else ``default``).
    config_file
        TOML configuration the levers start from.
    port, host
        Where to listen (``127.0.0.1`` unless told otherwise: the app is for the local user).
    """
    check_port(host, port)
    settings = check_settings(map_source, config_file)
    os.environ.update(offline_environment())
    os.environ[ENV_VAR] = settings.to_env()
    sys.stderr.write(f"citymodel ui: map {settings.map_source} at http://{host}:{port}/ (Ctrl-C to stop)\n")
    sys.stderr.flush()
    from solara.__main__ import run as solara_run

    solara_run.main(args=[APP_MODULE, "--host", host, "--port", str(port), "--production", "--no-open",
                          "--no-check-version", "--log-level", "warning"], standalone_mode=False)
