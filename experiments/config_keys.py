"""Name, look up and set any configuration value by a dotted key (``policy.fee_waiver_share``).

A key is ``section.field`` (a field of :class:`citymodel.config.Config`), a bare field
name when only one section has it (``citizens`` for ``run.citizens``), or a path into a
table-valued field (``needs.products.furniture.import_price``,
``facilities.kinds.library.fee_per_hour``). The keys are found by dataclass
introspection of a configuration, so a new field of the model is a new key here.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from citymodel.config import Config, config_from_dict
from citymodel.errors import CitymodelError

LEAF = "leaf"
BRANCH = "branch"


@dataclass(frozen=True)
class ConfigKey:
    """One settable value of the configuration.

    Attributes
    ----------
    path : tuple of str
        Section, field and (for table-valued fields) the keys inside it.
    default
        Its value in the configuration the keys were read from (gives the type).
    """

    path: tuple[str, ...]
    default: Any

    @property
    def name(self) -> str:
        """The canonical dotted name, e.g. ``run.citizens``."""
        return ".".join(self.path)

    @property
    def dtype(self) -> str:
        """``"bool"``, ``"int"``, ``"float"``, ``"str"`` or ``"list"``."""
        value = self.default
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, float):
            return "float"
        if isinstance(value, str):
            return "str"
        return "list"


class ConfigKeys:
    """Every key of a configuration, with bare-name aliases and near-miss suggestions.

    Parameters
    ----------
    config
        The configuration whose fields (and table contents, e.g. its products) define
        the keys; the defaults if None.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config if config is not None else Config()
        self.kinds: dict[str, str] = {}
        self.leaves: dict[str, ConfigKey] = {}
        for section in dataclasses.fields(self.config):
            self.kinds[section.name] = BRANCH
            obj = getattr(self.config, section.name)
            for f in dataclasses.fields(obj):
                self._add((section.name, f.name), getattr(obj, f.name))
        fields_by_name: dict[str, list[str]] = {}
        for key in self.leaves.values():
            if len(key.path) == 2:
                fields_by_name.setdefault(key.path[1], []).append(key.name)
        self.aliases = {bare: names[0] for bare, names in fields_by_name.items()
                        if len(names) == 1 and bare not in self.kinds}

    def _add(self, path: tuple[str, ...], value: Any) -> None:
        name = ".".join(path)
        if isinstance(value, Mapping):
            self.kinds[name] = BRANCH
            for key, sub in value.items():
                self._add((*path, str(key)), sub)
        else:
            self.kinds[name] = LEAF
            self.leaves[name] = ConfigKey(path, value)

    def canonical(self, name: str) -> str:
        """The canonical name of ``name`` (an alias or a canonical name), or ``name``."""
        return self.aliases.get(name, name)

    def kind(self, name: str) -> str | None:
        """``"leaf"`` (a value), ``"branch"`` (a section or table) or None (unknown)."""
        return self.kinds.get(self.canonical(name))

    def key(self, name: str) -> ConfigKey:
        """The :class:`ConfigKey` of a leaf ``name`` (KeyError if it is not one)."""
        return self.leaves[self.canonical(name)]

    def suggest(self, name: str, prefix: str = "") -> str | None:
        """The known key nearest to ``name`` (under ``prefix``), or None."""
        pool = [k for k in (*self.kinds, *self.aliases) if k.startswith(prefix)]
        matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
        return matches[0] if matches else None

    def example_leaf(self, branch: str) -> str:
        """A leaf under ``branch`` (for messages such as 'set one of its keys, e.g. ...')."""
        canonical = self.canonical(branch)
        return next(k for k in self.leaves if k.startswith(canonical + "."))


def coerce_like(default: Any, value: Any, name: str) -> Any:
    """``value`` as the type of ``default``, or a :class:`CitymodelError` naming ``name``.

    Numbers must be finite; an integer field takes integers (or floats with no
    fractional part); a float field takes any finite number; booleans and strings
    must match exactly; a list field takes a list.
    """
    def fail(expected: str) -> None:
        msg = f"{name} = {value!r}: expected {expected}"
        raise CitymodelError(msg)

    if isinstance(default, bool):
        if not isinstance(value, bool):
            fail("true or false")
        return value
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            fail("a finite number" if isinstance(default, float) else "an integer")
        if isinstance(default, int):
            if float(value) != int(value):
                fail("an integer")
            return int(value)
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            fail("a string")
        return value
    if isinstance(default, list | tuple):
        if not isinstance(value, list) or any(isinstance(v, dict | list) for v in value):
            fail("a list of plain values")
        for v in value:
            if isinstance(v, float) and not math.isfinite(v):
                fail("a list of finite numbers")
        return list(value)
    return value


def nested_override(config: Config, values: Mapping[str, Any]) -> dict[str, Any]:
    """A nested dict for :func:`citymodel.config.config_from_dict` that sets ``values``.

    ``values`` maps canonical names to values. A key inside a table-valued field
    (``needs.products.furniture.import_price``) is set on a copy of the whole table,
    so its other entries are kept.
    """
    nested: dict[str, Any] = {}
    for name, value in values.items():
        path = name.split(".")
        section, field_name, inner = path[0], path[1], path[2:]
        target = nested.setdefault(section, {})
        if not inner:
            target[field_name] = value
            continue
        if field_name not in target:
            target[field_name] = copy.deepcopy(getattr(getattr(config, section), field_name))
        node = target[field_name]
        for part in inner[:-1]:
            node = node[part]
        node[inner[-1]] = value
    return nested


def apply_values(config: Config, values: Mapping[str, Any]) -> Config:
    """Set canonical-name ``values`` on a copy of ``config``; return the validated copy.

    Raises
    ------
    citymodel.errors.ConfigError
        If a value is out of range for the model (from ``Config.validate``).
    """
    out = copy.deepcopy(config)
    return config_from_dict(nested_override(out, values), out)
