"""Reading and writing a :class:`~citymodel.config.Config`: TOML files, nested dicts, ``--set`` overrides,
the parameter table.

Every name here is also importable from :mod:`citymodel.config`.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from citymodel.config import ASSUMPTION, Config, _copy, _default, _fail
from citymodel.errors import ConfigError
from citymodel.paths import user_path
from citymodel.ranges import Range, kind_of, leaf_names, unknown_field


def _merge(target: Any, data: dict[str, Any], prefix: str, root: Any = None) -> None:
    """Merge ``data`` into the dataclass ``target``, checking names and types."""
    root = target if root is None else root
    names = {f.name: f for f in dataclasses.fields(target)}
    if not isinstance(data, dict):
        _fail(prefix[:-1], data, "a table")
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in names:
            typed = leaf_names(value, dotted + ".") or [dotted]
            raise unknown_field(typed[0] if len(typed) == 1 else dotted,
                                [f"{prefix}{n}" for n in names], _all_leaves(root))
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                _fail(dotted, value, "a table")
            _merge(current, value, dotted + ".", root)
        else:
            setattr(target, key, _coerce(dotted, current, value, names[key].metadata))


def _all_leaves(cfg: Any) -> list[str]:
    """Every valid dotted field name of ``cfg`` (for suggestions)."""
    names = []
    for section in dataclasses.fields(cfg):
        obj = getattr(cfg, section.name)
        names += [f"{section.name}.{f.name}" for f in dataclasses.fields(obj)]
    return names


def _coerce(name: str, current: Any, value: Any, meta: Any = None) -> Any:
    """Coerce ``value`` to the type of ``current`` (the default) or fail naming ``name``.

    Tables are merged key by key into the current table, at every depth, so
    ``--set facilities.kinds.library.machines.3d_printer=5`` keeps the library's
    other machines.
    """
    kind = kind_of(current)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        _fail(name, value, "true or false")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            _fail(name, value, "an integer")
        if isinstance(value, int):
            return value
        try:
            as_float = float(value)
        except (TypeError, ValueError, OverflowError):
            _fail(name, value, "an integer")
        if not as_float.is_integer():
            _fail(name, value, "an integer")
        return int(as_float)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            _fail(name, value, "a number")
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            _fail(name, value, "a finite number")
    if kind == "dict":
        if not isinstance(value, dict):
            _fail(name, value, "a table")
        return _deep_merge(current, value)
    if kind == "list":
        if not isinstance(value, list):
            _fail(name, value, "a list")
        return value
    if kind == "str":
        if isinstance(value, (bool, list, dict)):
            _fail(name, value, "text")
        return str(value)
    return value


def _deep_merge(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = _copy(current)
    for key, sub in update.items():
        if isinstance(sub, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], sub)
        else:
            merged[key] = _copy(sub)
    return merged


def config_from_dict(data: dict[str, Any], base: Config | None = None) -> Config:
    """Build a validated :class:`Config` from a nested dict (e.g. parsed TOML)."""
    cfg = base if base is not None else Config()
    _merge(cfg, data, "")
    return cfg.validate()


def load_config(path: str | Path, base: Config | None = None) -> Config:
    """Load a TOML configuration file; unknown or ill-typed fields are one-line errors."""
    path = user_path(path)
    if not path.exists():
        msg = f"config file {path}: not found (expected a TOML file)"
        raise ConfigError(msg)
    if not path.is_file():
        msg = f"config file {path}: not a file (expected a TOML file)"
        raise ConfigError(msg)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"config file {path}: not valid TOML ({_first_line(exc)})"
        raise ConfigError(msg) from None
    except OSError as exc:
        msg = f"config file {path}: cannot be read ({exc.strerror or exc})"
        raise ConfigError(msg) from None
    if not text.strip():
        msg = (f"config file {path}: is empty; expected TOML tables such as [run] "
               "(`citymodel params --toml` prints a complete file)")
        raise ConfigError(msg)
    try:
        return config_from_dict(data, base)
    except ConfigError as exc:
        msg = f"config file {path}: {exc}"
        raise ConfigError(msg) from None


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def apply_overrides(cfg: Config, assignments: list[str]) -> Config:
    """Apply ``section.field=value`` strings (values parsed as TOML literals when possible)."""
    for item in assignments:
        if "=" not in item:
            msg = f"override '{item}': expected section.field=value"
            raise ConfigError(msg)
        key, raw = item.split("=", 1)
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        parts = [part.strip() for part in key.split(".")]
        if not all(parts):
            msg = f"override '{item}': expected section.field=value"
            raise ConfigError(msg)
        nested: dict[str, Any] = {}
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        config_from_dict(nested, cfg)
    return cfg


def config_to_toml(cfg: Config) -> str:
    """Serialise ``cfg`` as TOML text (round-trips through :func:`load_config`)."""
    import tomli_w

    return tomli_w.dumps(cfg.to_dict())


def parameter_rows(cfg: Config | None = None) -> list[dict[str, str]]:
    """Every parameter as a row: name, default, unit, allowed values, source, description."""
    cfg = cfg or Config()
    rows: list[dict[str, str]] = []
    for section in dataclasses.fields(cfg):
        obj = getattr(cfg, section.name)
        for f in dataclasses.fields(obj):
            rows.append({
                "name": f"{section.name}.{f.name}",
                "default": repr(getattr(obj, f.name)),
                "unit": f.metadata.get("unit", ""),
                "allowed": allowed_values(f),
                "source": f.metadata.get("source", ASSUMPTION),
                "doc": f.metadata.get("doc", ""),
            })
    return rows


def allowed_values(f: dataclasses.Field) -> str:
    """The allowed values of a config field in short form ('0..1', '>= 0', 'true|false')."""
    if "record" in f.metadata:
        return "see fields"
    kind = kind_of(_default(f))
    rng: Range = f.metadata.get("range") or Range()
    if kind == "bool":
        return "true|false"
    text = rng.short()
    if kind == "int":
        return f"integer {text}".strip()
    if kind == "list":
        item = kind_of((_default(f) or [None])[0])
        return f"list of {'integers' if item == 'int' else 'values'} {text}".strip()
    if kind == "float":
        return text or "finite"
    return text or "text"
