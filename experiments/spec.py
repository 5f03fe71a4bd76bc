"""Parse and validate a sweep spec (TOML) before any run: every mistake is one line naming the key.

A spec has three tables (see ``docs/sweeps.md`` for every key)::

    [sweep]                  # design, samples, replicates, seed, days, map, outputs, ...
    [base]                   # any configuration key: the values every run shares
    [parameters]             # a list = grid values; {min, max} = a range

:func:`load_spec` reads a file, :func:`parse_spec` a parsed dict. Both return a
:class:`SweepSpec` or raise :class:`SpecError` (a :class:`~citymodel.errors.CitymodelError`),
whose message is one line naming the file, the table and key, and what was expected,
with the nearest valid key when a name is unknown.
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from citymodel.config import Config, load_config
from citymodel.errors import CitymodelError

from .config_keys import BRANCH, LEAF, ConfigKeys, apply_values, coerce_like
from .summary_paths import summary_paths

DESIGNS = ("grid", "lhs", "sobol", "morris")
SAMPLED_DESIGNS = ("lhs", "sobol", "morris")
TABLES = ("sweep", "base", "parameters")
SWEEP_KEYS = ("design", "samples", "replicates", "seed", "days", "map", "outputs", "levels",
              "second_order", "config")
RANGE_KEYS = ("min", "max", "levels")
# set in [sweep] (days, map) or derived for each run (seed), never in [base]/[parameters]
RESERVED = {"run.days": "days", "run.map": "map", "run.seed": "seed"}
DEFAULT_LEVELS = 4
MAX_RUNS = 1_000_000
MAX_LEVELS = 10_000


class SpecError(CitymodelError):
    """A sweep spec is invalid (one line: file, key, what was expected)."""


@dataclass(frozen=True)
class Parameter:
    """One varied configuration value.

    Attributes
    ----------
    name : str
        The name as written in the spec (the results column), e.g. ``citizens``.
    key : str
        The canonical configuration key, e.g. ``run.citizens``.
    dtype : str
        ``"int"``, ``"float"``, ``"bool"`` or ``"str"`` (the configuration field's type).
    values : tuple or None
        Grid values (a list in the spec).
    low, high : float or None
        Bounds of a range (``{min, max}``), in the field's unit.
    levels : int or None
        Evenly spaced values of a range in a grid (ends included).
    """

    name: str
    key: str
    dtype: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    levels: int | None = None

    @property
    def is_range(self) -> bool:
        """True for a ``{min, max}`` range, False for a list of values."""
        return self.values is None

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (stored in ``sweep.json``)."""
        return {"name": self.name, "key": self.key, "dtype": self.dtype,
                "values": list(self.values) if self.values is not None else None,
                "min": self.low, "max": self.high, "levels": self.levels}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Parameter:
        """Inverse of :meth:`to_json`."""
        values = data.get("values")
        return cls(name=data["name"], key=data["key"], dtype=data["dtype"],
                   values=tuple(values) if values is not None else None,
                   low=data.get("min"), high=data.get("max"), levels=data.get("levels"))


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: what to vary, how to sample it, what to collect.

    Attributes
    ----------
    source : str
        The spec file (or a label) named in error messages.
    design : str
        ``grid``, ``lhs``, ``sobol`` or ``morris``.
    samples : int or None
        Base samples N of lhs / sobol / morris (points: N, N(D+2) or N(2D+2), N(D+1)).
    replicates : int
        Runs per point, each with its own seed.
    seed : int
        The sweep's seed: every run seed and the design's sample derive from it.
    days : float
        Simulated days of each run.
    map : str
        ``default``, ``place:<name>`` or an absolute map file path.
    outputs : tuple of str
        ``summary.json`` key paths collected per run (columns of the results).
    levels : int
        Grid values of a range without its own ``levels``; Morris ``num_levels``.
    second_order : bool
        Sobol: also sample for second-order indices (N(2D+2) points instead of N(D+2)).
    config_file : str or None
        Absolute path of a citymodel configuration TOML applied before ``[base]``.
    base : dict
        Canonical configuration key -> value shared by every run.
    parameters : tuple of Parameter
        The varied values, in spec order.
    raw : dict
        The spec as parsed from TOML (compared on ``--resume``).
    """

    source: str
    design: str
    samples: int | None
    replicates: int
    seed: int
    days: float
    map: str
    outputs: tuple[str, ...]
    levels: int
    second_order: bool
    config_file: str | None
    base: dict[str, Any]
    parameters: tuple[Parameter, ...]
    raw: dict[str, Any] = field(repr=False)

    def base_config(self) -> Config:
        """The configuration every run starts from: config file, ``[base]``, days and map."""
        cfg = load_config(self.config_file) if self.config_file else Config()
        values = dict(self.base) | {"run.days": self.days, "run.map": self.map}
        return apply_values(cfg, values)

    def to_json(self) -> dict[str, Any]:
        """The resolved plan as a JSON-safe dict (stored in ``sweep.json``)."""
        return {"design": self.design, "samples": self.samples, "replicates": self.replicates,
                "seed": self.seed, "days": self.days, "map": self.map, "outputs": list(self.outputs),
                "levels": self.levels, "second_order": self.second_order, "config": self.config_file,
                "base": self.base, "parameters": [p.to_json() for p in self.parameters]}


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec file.

    Parameters
    ----------
    path
        A TOML file. Relative ``map`` and ``config`` paths in it are relative to its folder.

    Raises
    ------
    SpecError
        Missing, unreadable or invalid spec (one line naming the file and key).
    """
    path = Path(path)
    if not path.is_file():
        msg = f"sweep spec {path}: not found (expected a TOML file)"
        raise SpecError(msg)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(_one_line(f"sweep spec {path}: not valid TOML ({exc})")) from None
    return parse_spec(data, source=str(path), base_dir=path.resolve().parent)


def parse_spec(data: Mapping[str, Any], source: str = "sweep spec", base_dir: Path | None = None) -> SweepSpec:
    """Validate a parsed spec; see :func:`load_spec`."""
    try:
        return _Parser(data, source, base_dir or Path.cwd()).parse()
    except SpecError as exc:
        raise SpecError(_one_line(str(exc))) from None
    except CitymodelError as exc:  # a ConfigError from the model's own validation
        raise SpecError(_one_line(f"{source}: {exc}")) from None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _suggest(name: str, pool: tuple[str, ...] | list[str]) -> str:
    match = difflib.get_close_matches(name, list(pool), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else f"; expected one of {', '.join(pool)}"


class _Parser:
    def __init__(self, data: Mapping[str, Any], source: str, base_dir: Path) -> None:
        self.data = data
        self.source = source
        self.base_dir = base_dir

    def fail(self, where: str, message: str) -> None:
        raise SpecError(f"{self.source}: {where}: {message}")

    # ------------------------------------------------------------------ top level
    def parse(self) -> SweepSpec:
        if not isinstance(self.data, Mapping):
            self.fail("spec", "expected a TOML document with [sweep], [base] and [parameters] tables")
        for key in self.data:
            if key not in TABLES:
                self.fail(f"[{key}]", "unknown table" + _suggest(str(key), TABLES))
        for key in TABLES:
            if key in self.data and not isinstance(self.data[key], Mapping):
                self.fail(f"{key}", f"expected a table [{key}]")
        if "sweep" not in self.data:
            self.fail("[sweep]", "missing (it names the design, replicates, seed, days, map and outputs)")
        sweep = dict(self.data["sweep"])
        for key in sweep:
            if key not in SWEEP_KEYS:
                self.fail(f"[sweep] {key!r}", "unknown key" + _suggest(str(key), SWEEP_KEYS))
        defaults = Config()
        design = sweep.get("design", "grid")
        if design not in DESIGNS:
            self.fail("[sweep] design", f"{design!r}: expected one of {', '.join(DESIGNS)}"
                      + (_suggest(design, DESIGNS) if isinstance(design, str) else ""))
        samples = sweep.get("samples")
        if samples is not None and not (_is_int(samples) and samples >= 1):
            self.fail("[sweep] samples", f"{samples!r}: expected a whole number >= 1")
        if design in SAMPLED_DESIGNS and samples is None:
            self.fail("[sweep] samples", f"missing: design {design} needs a number of base samples")
        if design == "sobol" and samples & (samples - 1):
            self.fail("[sweep] samples", f"{samples}: design sobol needs a power of 2 (e.g. "
                      f"{1 << (samples.bit_length() - 1)} or {1 << samples.bit_length()})")
        replicates = sweep.get("replicates", 1)
        if not (_is_int(replicates) and replicates >= 1):
            self.fail("[sweep] replicates", f"{replicates!r}: expected a whole number >= 1")
        seed = sweep.get("seed", defaults.run.seed)
        if not (_is_int(seed) and 0 <= seed < 2**63):
            self.fail("[sweep] seed", f"{seed!r}: expected a whole number >= 0")
        days = sweep.get("days", defaults.run.days)
        if not (_is_number(days) and days * 24 >= 1 - 1e-9):
            self.fail("[sweep] days", f"{days!r}: expected a number of days of at least one simulated "
                      "hour (>= 1/24 = 0.0417)")
        levels = sweep.get("levels", DEFAULT_LEVELS)
        if not (_is_int(levels) and 2 <= levels <= MAX_LEVELS):
            self.fail("[sweep] levels", f"{levels!r}: expected a whole number from 2 to {MAX_LEVELS:,}")
        if design == "morris" and levels % 2:
            self.fail("[sweep] levels", f"{levels}: design morris needs an even number of levels (SALib)")
        second_order = sweep.get("second_order", False)
        if not isinstance(second_order, bool):
            self.fail("[sweep] second_order", f"{second_order!r}: expected true or false")
        map_source = self._map(sweep.get("map", defaults.run.map))
        config_file = self._config_file(sweep.get("config"))
        base_cfg = load_config(config_file) if config_file else Config()
        keys = ConfigKeys(base_cfg)
        base = self._base(keys)
        cfg = apply_values(base_cfg, dict(base) | {"run.days": float(days), "run.map": map_source})
        parameters = self._parameters(keys, cfg, design)
        if design in SAMPLED_DESIGNS and not parameters:
            self.fail("[parameters]", f"design {design} needs at least one parameter range")
        if design == "sobol" and second_order and len(parameters) < 2:
            self.fail("[sweep] second_order", "needs at least two parameters")
        outputs = self._outputs(sweep.get("outputs"), cfg, parameters)
        spec = SweepSpec(
            source=self.source, design=design, samples=samples, replicates=replicates, seed=seed,
            days=float(days), map=map_source, outputs=outputs, levels=levels, second_order=second_order,
            config_file=config_file, base=base, parameters=parameters,
            raw=json.loads(json.dumps(self.data, default=str)),
        )
        n_runs = count_points(spec) * replicates
        if n_runs > MAX_RUNS:
            self.fail("[sweep]", f"{n_runs:,} runs: more than {MAX_RUNS:,} (split the sweep)")
        return spec

    def _existing_file(self, value: str) -> Path | None:
        """The absolute path of ``value`` (relative to the spec's folder) if it is a file."""
        try:
            path = (self.base_dir / Path(value).expanduser()).resolve()
            return path if path.is_file() else None
        except (OSError, ValueError, RuntimeError):  # NUL bytes, unknown ~user, ...
            return None

    def _map(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail("[sweep] map", f"{value!r}: expected 'default', 'place:<name>' or a map file path")
        if value == "default" or value.startswith("place:"):
            return value
        path = self._existing_file(value)
        if path is None:
            self.fail("[sweep] map", f"{value!r}: no such file (relative to {self.base_dir}); expected "
                      "'default', 'place:<name>' or a .osm/.osm.pbf/.graphml file")
        return str(path)

    def _config_file(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail("[sweep] config", f"{value!r}: expected the path of a citymodel config TOML")
        path = self._existing_file(value)
        if path is None:
            self.fail("[sweep] config", f"{value!r}: no such file (relative to {self.base_dir})")
        return str(path)

    # ------------------------------------------------------------------ [base], [parameters]
    def _walk(self, table: Mapping[str, Any], keys: ConfigKeys, where: str,
              prefix: str = "") -> Iterator[tuple[str, str, Any]]:
        """Yield (name as written, canonical key, value) for each leaf of a nested table."""
        for raw_key, value in table.items():
            name = f"{prefix}.{raw_key}" if prefix else str(raw_key)
            # bare aliases (citizens -> run.citizens) only at the top of the table
            kind = keys.kind(name) if not prefix else keys.kinds.get(keys.canonical(prefix) + f".{raw_key}")
            canonical = keys.canonical(name) if not prefix else f"{keys.canonical(prefix)}.{raw_key}"
            if kind == LEAF:
                if canonical in RESERVED:
                    self.fail(f"[{where}] {name!r}", f"set by [sweep] {RESERVED[canonical]}"
                              + (" (each run's seed derives from it)" if canonical == "run.seed" else ""))
                yield name, canonical, value
            elif kind == BRANCH:
                if not isinstance(value, Mapping):
                    self.fail(f"[{where}] {name!r}", "is a table of settings, not a value; set one of its "
                              f"keys, e.g. {keys.example_leaf(canonical)!r}")
                yield from self._walk(value, keys, where, name)
            else:
                hint = keys.suggest(canonical if prefix else name)
                self.fail(f"[{where}] {name!r}", "unknown configuration key"
                          + (f"; did you mean {hint!r}?" if hint else " (see `citymodel params`)"))

    def _base(self, keys: ConfigKeys) -> dict[str, Any]:
        base: dict[str, Any] = {}
        for name, canonical, value in self._walk(self.data.get("base", {}), keys, "base"):
            if canonical in base:
                self.fail(f"[base] {name!r}", f"set twice (as {canonical!r})")
            base[canonical] = self._value(keys, canonical, value, f"[base] {name!r}")
        return base

    def _value(self, keys: ConfigKeys, canonical: str, value: Any, where: str) -> Any:
        try:
            return coerce_like(keys.leaves[canonical].default, value, canonical)
        except CitymodelError as exc:
            self.fail(where, str(exc))
        return None  # unreachable

    def _check_value(self, cfg: Config, canonical: str, value: Any, where: str) -> None:
        """Build the configuration with ``value`` once: the model's own range checks."""
        try:
            apply_values(cfg, {canonical: value})
        except CitymodelError as exc:
            self.fail(where, str(exc))
        except (TypeError, ValueError) as exc:
            self.fail(where, f"{value!r} not accepted by the configuration ({type(exc).__name__}: {exc})")

    def _parameters(self, keys: ConfigKeys, cfg: Config, design: str) -> tuple[Parameter, ...]:
        params: list[Parameter] = []
        seen: dict[str, str] = {}
        table = self.data.get("parameters", {})
        for name, canonical, value in self._walk(table, keys, "parameters"):
            where = f"[parameters] {name!r}"
            if canonical in seen:
                self.fail(where, f"the same key as {seen[canonical]!r} ({canonical})")
            seen[canonical] = name
            key = keys.leaves[canonical]
            if key.dtype == "list":
                self.fail(where, f"{canonical} is a list setting; vary it with a config file per value")
            if isinstance(value, Mapping):
                param = self._range(name, canonical, key.dtype, value, design, where)
                for bound in (param.low, param.high):
                    self._check_value(cfg, canonical, int(bound) if key.dtype == "int" else bound, where)
            elif isinstance(value, list):
                if design in SAMPLED_DESIGNS:
                    self.fail(where, f"design {design} samples ranges: write {{ min = ..., max = ... }} "
                              "(a list of values is for design grid)")
                if not value:
                    self.fail(where, "an empty list of values")
                coerced = tuple(self._value(keys, canonical, v, where) for v in value)
                if len(set(coerced)) != len(coerced):
                    self.fail(where, f"repeated values in {list(value)!r}")
                for v in coerced:
                    self._check_value(cfg, canonical, v, where)
                param = Parameter(name=name, key=canonical, dtype=key.dtype, values=coerced)
            else:
                self.fail(where, f"{value!r}: expected a list of values or a range {{ min = ..., max = ... }} "
                          "(a fixed value belongs in [base])")
            params.append(param)
        return tuple(params)

    def _range(self, name: str, canonical: str, dtype: str, table: Mapping[str, Any], design: str,
               where: str) -> Parameter:
        for key in table:
            if key not in RANGE_KEYS:
                self.fail(f"{where} {key!r}", "unknown range key" + _suggest(str(key), RANGE_KEYS))
        if dtype not in ("int", "float"):
            self.fail(where, f"a range needs a numeric setting; {canonical} is {dtype} (use a list of values)")
        for bound in ("min", "max"):
            if bound not in table:
                self.fail(where, f"range without {bound!r} (expected {{ min = ..., max = ... }})")
            if not _is_number(table[bound]):
                self.fail(f"{where} {bound}", f"{table[bound]!r}: expected a finite number")
            if dtype == "int" and float(table[bound]) != int(table[bound]):
                self.fail(f"{where} {bound}", f"{table[bound]!r}: {canonical} is a whole number")
        low, high = float(table["min"]), float(table["max"])
        if not low < high:
            self.fail(where, f"min = {table['min']!r} is not below max = {table['max']!r}")
        levels = table.get("levels")
        if levels is not None:
            if design != "grid":
                self.fail(f"{where} levels", f"only for design grid (design {design} samples the range)")
            if not (_is_int(levels) and 2 <= levels <= MAX_LEVELS):
                self.fail(f"{where} levels", f"{levels!r}: expected a whole number from 2 to {MAX_LEVELS:,}")
        return Parameter(name=name, key=canonical, dtype=dtype, low=low, high=high, levels=levels)

    # ------------------------------------------------------------------ outputs
    def _outputs(self, value: Any, cfg: Config, parameters: tuple[Parameter, ...]) -> tuple[str, ...]:
        if value is None:
            self.fail("[sweep] outputs", "missing: list the summary.json key paths to collect, e.g. "
                      "[\"utilization.overall\"]")
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.fail("[sweep] outputs", f"{value!r}: expected a non-empty list of summary.json key paths")
        valid = summary_paths(cfg)
        valid_set = set(valid)
        reserved_columns = {"run", "point", "replicate", "seed", "wall_time_s", "status", "error",
                            *(p.name for p in parameters)}
        for path in value:
            if path not in valid_set:
                match = difflib.get_close_matches(path, valid, n=1, cutoff=0.6)
                hint = f"; did you mean {match[0]!r}?" if match else " (see docs/metrics.md)"
                listy = [p for p in valid if p.startswith(path + "[") or p.startswith(path + ".")]
                if listy:
                    hint = f": not a number but a {'list' if listy[0][len(path)] == '[' else 'table'}; " \
                           f"name one entry, e.g. {listy[0]!r}"
                self.fail(f"[sweep] outputs {path!r}", "unknown summary.json key path" + hint)
            if path in reserved_columns:
                self.fail(f"[sweep] outputs {path!r}", "clashes with a column of the results table")
        if len(set(value)) != len(value):
            dup = next(v for v in value if value.count(v) > 1)
            self.fail(f"[sweep] outputs {dup!r}", "listed twice")
        return tuple(value)


def count_points(spec: SweepSpec) -> int:
    """Number of design points (runs = points x replicates), without sampling."""
    d = len(spec.parameters)
    if spec.design == "grid":
        n = 1
        for p in spec.parameters:
            n *= len(grid_values(p, spec.levels))
        return n
    samples = spec.samples or 0
    if spec.design == "lhs":
        return samples
    if spec.design == "sobol":
        return samples * (2 * d + 2 if spec.second_order else d + 2)
    return samples * (d + 1)  # morris trajectories


def grid_values(param: Parameter, default_levels: int = DEFAULT_LEVELS) -> tuple[Any, ...]:
    """The values a grid takes for ``param``: its list, or its range at evenly spaced levels.

    A range gives ``levels`` values from min to max, ends included (``param.levels``,
    else ``default_levels``); an integer setting takes the distinct rounded values.
    """
    if param.values is not None:
        return param.values
    levels = param.levels or default_levels
    values = np.linspace(param.low, param.high, levels)
    if param.dtype == "int":
        return tuple(int(v) for v in np.unique(np.round(values)))
    return tuple(float(v) for v in values)
