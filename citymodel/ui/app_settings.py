"""What the app server was started with (map, configuration file) and what it offers to pick from.

``citymodel ui`` checks its options, then hands them to the Solara app through
one environment variable (:data:`ENV_VAR`, JSON), because Solara imports the
app module itself. The pickers list the maps embedded in the package and the
scenario files under ``experiments/scenarios/``.
"""

from __future__ import annotations

import copy
import json
import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from citymodel.config import Config, config_from_dict, load_config
from citymodel.errors import ConfigError

ENV_VAR = "CITYMODEL_UI_SETTINGS"
SCENARIO_META_TABLE = "scenario"
"""Top-level TOML table of a scenario file that describes it (name, description) rather than configures it."""


@dataclass(frozen=True)
class AppSettings:
    """Options of one app server.

    Attributes
    ----------
    map_source
        Map of a new browser tab (a map source as for ``citymodel run --map``).
    config_file
        TOML configuration the levers start from ('' = defaults).
    """

    map_source: str = "default"
    config_file: str = ""

    def to_env(self) -> str:
        """The settings as the JSON text of :data:`ENV_VAR`."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> AppSettings:
        """The settings of this server (defaults if :data:`ENV_VAR` is not set)."""
        text = os.environ.get(ENV_VAR, "")
        return cls(**json.loads(text)) if text else cls()

    def base_config(self) -> Config:
        """The configuration of a new tab: defaults, or the ``--config`` file."""
        config = load_config(self.config_file) if self.config_file else Config()
        if self.map_source:
            config.run.map = self.map_source
        return config


def embedded_maps() -> dict[str, str]:
    """Label -> map source of the maps shipped with the package (``default`` first, then each file)."""
    import citymodel.maps

    maps = {"default": "default"}
    for path in sorted((Path(citymodel.maps.__file__).parent / "data").glob("*.graphml*")):
        stem = path.name.split(".")[0]
        if not stem.startswith("default"):  # the default map's own file is "default" above
            maps[stem.replace("_", " ")] = str(path)
    return maps


def scenario_dirs() -> list[Path]:
    """Folders searched for scenario files: the package's ``experiments/scenarios`` and ``./experiments/scenarios``."""
    import citymodel.experiments as experiments

    dirs = [Path(experiments.__file__).parent / "scenarios", Path.cwd() / "experiments" / "scenarios"]
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and all(d.resolve() != u.resolve() for u in unique):
            unique.append(d)
    return unique


def scenario_files() -> dict[str, str]:
    """Label -> path of every ``*.toml`` scenario file found (empty if there is none)."""
    return {p.stem.replace("_", " "): str(p) for d in scenario_dirs() for p in sorted(d.glob("*.toml"))}


def scenario_config(path: str, base: Config) -> Config:
    """``base`` with the settings of scenario file ``path`` applied (its ``[scenario]`` table is description).

    Raises
    ------
    ConfigError
        If the file is missing, not TOML or sets an unknown or invalid field (message names the file).
    """
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"scenario file {file}: not found"
        raise ConfigError(msg) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"scenario file {file}: not valid TOML ({exc})"
        raise ConfigError(msg) from None
    data.pop(SCENARIO_META_TABLE, None)
    try:
        return config_from_dict(data, copy.deepcopy(base))
    except ConfigError as exc:
        msg = f"scenario file {file}: {exc}"
        raise ConfigError(msg) from None
