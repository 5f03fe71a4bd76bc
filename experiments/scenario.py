"""Policy scenario files: a readable TOML of configuration tables applied over the defaults.

A scenario file names and describes one policy and sets the configuration values it
changes; everything else keeps its default (``citymodel params``)::

    [scenario]
    name = "free-printing-libraries"
    description = "Free 3D printing (fees and materials) in libraries and social spaces"

    [scenario.sources]          # where each unit cost comes from (or "assumption")
    "policy.fee_waiver_share" = "Srai et al. 2016 §7: 'free' 3DP technology in social spaces"

    [policy]
    fee_waiver_share = 1.0
    subsidised_kinds = ["library", "community_centre", "youth_centre"]

The tables other than ``[scenario]`` are configuration sections (as in ``citymodel run
--config``). Paths (``facilities.sites_file``, ``population.zones_file``) are relative to
the scenario file's folder. ``run.seed`` is refused: a comparison gives replicate ``k`` of
every scenario the same seed (common random numbers). Every mistake is one
:class:`~citymodel.errors.ConfigError` line naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citymodel.config import Config, config_from_dict
from citymodel.errors import ConfigError
from citymodel.paths import user_path

SCENARIO_KEYS = ("name", "description", "sources")
PATH_KEYS = (("facilities", "sites_file"), ("population", "zones_file"))
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


@dataclass
class Scenario:
    """One loaded scenario.

    Attributes
    ----------
    name, description
        From ``[scenario]``.
    path
        The file it was read from.
    tables
        The configuration tables as written (paths made absolute).
    config
        The defaults with ``tables`` applied, validated.
    sources
        Dotted configuration key -> where its value comes from (``[scenario.sources]``).
    """

    name: str
    description: str
    path: Path
    tables: dict[str, Any]
    config: Config
    sources: dict[str, str] = field(default_factory=dict)


def _fail(path: Path, message: str) -> None:
    msg = f"scenario file {path}: {message}"
    raise ConfigError(msg)


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        _fail(path, "not found (expected a TOML scenario file, e.g. experiments/scenarios/baseline.toml)")
    if not path.is_file():
        _fail(path, "not a file (expected a TOML scenario file)")
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        lines = str(exc).strip().splitlines()
        _fail(path, f"not valid TOML ({lines[0] if lines else type(exc).__name__})")
    except OSError as exc:
        _fail(path, f"cannot be read ({exc.strerror or exc})")
    return data


def _suggest(key: str, names: list[str]) -> str:
    near = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    return f"; did you mean '{near[0]}'?" if near else f" (expected one of {', '.join(names)})"


def _check_header(path: Path, head: Any) -> tuple[str, str, dict[str, str]]:
    if not isinstance(head, dict):
        _fail(path, "[scenario] missing: expected a [scenario] table with name and description")
    for key in head:
        if key not in SCENARIO_KEYS:
            _fail(path, f"[scenario] {key!r}: unknown key{_suggest(key, list(SCENARIO_KEYS))}")
    name = head.get("name")
    if not isinstance(name, str) or not name.strip() or any(c in name for c in ",\n\"'"):
        _fail(path, f"[scenario] name = {name!r}: expected a short text without commas or quotes")
    description = head.get("description", "")
    if not isinstance(description, str):
        _fail(path, f"[scenario] description = {description!r}: expected text")
    sources = head.get("sources", {})
    if not isinstance(sources, dict) or not all(isinstance(v, str) and v.strip() for v in sources.values()):
        _fail(path, "[scenario.sources]: expected a table of \"section.field\" = \"source or 'assumption'\"")
    return name.strip(), description.strip(), dict(sources)


def _absolute_paths(tables: dict[str, Any], folder: Path) -> None:
    """Make the file paths of the tables relative to the scenario file's folder."""
    for section, key in PATH_KEYS:
        value = (tables.get(section) or {}).get(key) if isinstance(tables.get(section), dict) else None
        if isinstance(value, str) and value and not user_path(value).is_absolute():
            tables[section][key] = str((folder / value).resolve())


def config_leaves(cfg: Config) -> dict[str, Any]:
    """Every configuration value by dotted key; tables are followed down to non-table values."""
    leaves: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, sub in value.items():
                walk(f"{prefix}.{key}", sub)
        else:
            leaves[prefix] = value

    for section, values in cfg.to_dict().items():
        for key, value in values.items():
            walk(f"{section}.{key}", value)
    return leaves


def _check_sources(path: Path, sources: dict[str, str], cfg: Config) -> None:
    leaves = config_leaves(cfg)
    for key in sources:
        if key not in leaves and not any(k.startswith(key + ".") for k in leaves):
            _fail(path, f"[scenario.sources] {key!r}: unknown configuration key{_suggest(key, list(leaves))}")


def load_scenario(path: str | Path) -> Scenario:
    """Read, check and resolve a scenario file.

    Raises
    ------
    ConfigError
        One line naming the file and the key: a missing ``[scenario]`` name, an unknown
        table or key (with the nearest valid name), a value out of range, ``run.seed``.
    """
    path = user_path(path)
    data = _read_toml(path)
    name, description, sources = _check_header(path, data.pop("scenario", None))
    if "seed" in (data.get("run") or {}):
        _fail(path, "run.seed: not allowed in a scenario; `citymodel compare` gives replicate k of every "
              "scenario the same seed (common random numbers)")
    _absolute_paths(data, path.parent)
    try:
        cfg = config_from_dict(data, Config())
    except ConfigError as exc:
        _fail(path, str(exc))
    _check_sources(path, sources, cfg)
    scenario = Scenario(name=name, description=description, path=path, tables=data, config=cfg, sources=sources)
    missing = unsourced_levers(scenario)
    if missing:
        _fail(path, f"{missing[0]}: a public-budget lever set without its unit cost's source; add "
              f"\"{missing[0]}\" = \"<source, or 'assumption'>\" to [scenario.sources]")
    return scenario


def differences(cfg: Config, reference: Config) -> list[tuple[str, Any, Any]]:
    """(dotted key, reference value, value) of every configuration value that differs, in key order."""
    mine, ref = config_leaves(cfg), config_leaves(reference)
    keys = sorted(set(mine) | set(ref))
    return [(k, ref.get(k, "<absent>"), mine.get(k, "<absent>")) for k in keys if mine.get(k) != ref.get(k)]


def field_metadata(key: str) -> dict[str, Any]:
    """Unit and source of the configuration field a dotted key belongs to ({} if unknown)."""
    section, _, rest = key.partition(".")
    name = rest.split(".", 1)[0]
    obj = getattr(Config(), section, None)
    if obj is None or not dataclasses.is_dataclass(obj):
        return {}
    for f in dataclasses.fields(obj):
        if f.name == name:
            return dict(f.metadata)
    return {}


def source_of(scenario: Scenario, key: str) -> str:
    """Where a value comes from: the scenario's ``[scenario.sources]`` entry (or a parent key's), else the
    field's documented source."""
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in scenario.sources:
            return scenario.sources[candidate]
    return str(field_metadata(key).get("source", "assumption"))


# the levers paid by the public budget and their unit costs (configuration keys)
COST_KEYS = (
    "policy.fee_waiver_share", "policy.material_subsidy_share", "policy.training_cost_per_session",
    "policy.machine_grant", "policy.mill_support", "policy.workshop_staff_cost_per_hour",
    "policy.workshop_space_cost_per_week", "policy.capital_life_years", "policy.budget_cap",
)


SOURCED_KEYS = (*COST_KEYS, "facilities.sites_file", "facilities.extra_sites", "facilities.textile_mills",
                "facilities.machine_prices", "policy.training_multiplier", "policy.extra_printers_per_workshop")


def unsourced_levers(scenario: Scenario) -> list[str]:
    """Public-budget levers the scenario changes from the defaults without a ``[scenario.sources]`` entry.

    A lever counts as sourced when its key, or a parent key, is in ``[scenario.sources]``.
    """
    changed = {key for key, _, _ in differences(scenario.config, Config())}
    missing = []
    for lever in SOURCED_KEYS:
        touched = any(k == lever or k.startswith(lever + ".") for k in changed)
        sourced = any(lever == s or lever.startswith(s + ".") or s.startswith(lever + ".")
                      for s in scenario.sources)
        if touched and not sourced:
            missing.append(lever)
    return missing


def cost_rows(scenario: Scenario) -> list[dict[str, str]]:
    """The public-budget levers of a scenario: key, value, unit, source (machine prices included)."""
    leaves = config_leaves(scenario.config)
    keys = [*COST_KEYS, *(k for k in leaves if k.startswith("facilities.machine_prices."))]
    rows = []
    for key in keys:
        meta = field_metadata(key)
        rows.append({"key": key, "value": repr(leaves[key]), "unit": str(meta.get("unit", "")),
                     "source": source_of(scenario, key)})
    return rows


def shipped_scenarios() -> list[Path]:
    """The scenario files shipped in ``experiments/scenarios`` (baseline first)."""
    files = sorted(SCENARIO_DIR.glob("*.toml"))
    return sorted(files, key=lambda p: (p.stem != "baseline", p.name))


def check_sites(scenario: Scenario) -> None:
    """Read the scenario's user sites and place them on its map (one line naming the file if one is bad).

    Loads the map only when the scenario adds sites (``facilities.sites_file``, ``extra_sites``).
    """
    facilities = scenario.config.facilities
    if not facilities.sites_file and not facilities.extra_sites:
        return
    from citymodel.maps import load_city
    from citymodel.siting import check_user_sites

    try:
        check_user_sites(load_city(scenario.config.run.map), facilities)
    except ConfigError as exc:
        _fail(scenario.path, str(exc))
