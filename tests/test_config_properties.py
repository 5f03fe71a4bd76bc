"""Property tests of the config parser: valid values parse and round-trip through TOML; invalid ones are ConfigErrors.

Valid and invalid values are drawn from each field's range metadata
(``citymodel/config.py``), so every field — and every field added later — is
covered without a list here.
"""

from __future__ import annotations

import math
import string
import tomllib
from pathlib import Path
from typing import Any

import pytest
from config_cases import FieldCase, record_cases, section_fields, toml_literal
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from citymodel.config import Config, apply_overrides, config_from_dict, config_to_toml, load_config
from citymodel.errors import ConfigError
from citymodel.ranges import INT64_MAX, INT64_MIN

FIELDS = section_fields() + record_cases()
BY_NAME = {case.name: case for case in FIELDS}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


# --------------------------------------------------------------------------- strategies
def _bounds(case: FieldCase) -> tuple[float | None, float | None, bool, bool]:
    r = case.range
    low = r.ge if r.ge is not None else r.gt
    high = r.le if r.le is not None else r.lt
    return low, high, r.gt is not None, r.lt is not None


def number_in_range(case: FieldCase, kind: str | None = None) -> st.SearchStrategy:
    kind = kind or case.kind
    low, high, open_low, open_high = _bounds(case)
    if kind == "int":
        lo = INT64_MIN if low is None else math.floor(low) + 1 if open_low or low != math.floor(low) else int(low)
        hi = INT64_MAX if high is None else math.ceil(high) - 1 if open_high or high != math.ceil(high) else int(high)
        return st.integers(lo, hi)
    return st.floats(low, high, exclude_min=open_low, exclude_max=open_high, allow_nan=False, allow_infinity=False)


def valid_value(case: FieldCase) -> st.SearchStrategy:
    """Values ``case`` must accept (a field with a custom check: its default or text the check accepts)."""
    if case.kind in ("int", "float"):
        return number_in_range(case)
    if case.kind == "bool":
        return st.booleans()
    if case.kind == "str":
        if case.range.choices:
            return st.sampled_from(case.range.choices)
        return st.one_of(st.just(case.default), TEXT) if case.has_check else TEXT
    if case.kind == "list":
        if case.item_kind == "any":
            return st.just(case.default)  # a list of tables (checked by its own rule): its default
        return st.lists(number_in_range(case, case.item_kind), max_size=6)
    return st.just(case.default)  # a table of free-form entries: its default


def invalid_value(case: FieldCase) -> st.SearchStrategy:
    """Values ``case`` must refuse: outside the range, NaN/inf, or of another type."""
    wrong_type: list[st.SearchStrategy] = [st.lists(st.integers(), min_size=1, max_size=3),
                                           st.dictionaries(st.sampled_from("abc"), st.integers(), min_size=1)]
    if case.kind in ("int", "float"):
        low, high, open_low, open_high = _bounds(case)
        out: list[st.SearchStrategy] = [st.sampled_from([math.nan, math.inf, -math.inf]), st.booleans(),
                                        TEXT.filter(lambda s: not _is_number(s)), *wrong_type]
        if low is not None:
            out.append(st.floats(max_value=low, exclude_max=not open_low, allow_nan=False, allow_infinity=False)
                       if case.kind == "float" else st.integers(max_value=math.ceil(low) - (0 if open_low else 1)))
        if high is not None:
            out.append(st.floats(min_value=high, exclude_min=not open_high, allow_nan=False, allow_infinity=False)
                       if case.kind == "float" else st.integers(min_value=math.floor(high) + (0 if open_high else 1)))
        if case.kind == "int":
            out += [st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not float(x).is_integer()),
                    st.integers(min_value=INT64_MAX + 1), st.integers(max_value=INT64_MIN - 1)]
        return st.one_of(out)
    if case.kind == "bool":
        return st.one_of(st.integers(), st.floats(allow_nan=False), TEXT.filter(lambda s: s.lower() not in
                                                                                ("true", "false")), *wrong_type)
    if case.kind == "str":
        out = [st.booleans(), *wrong_type]
        if case.range.choices:
            out.append(TEXT.filter(lambda s: s not in case.range.choices))
        return st.one_of(out)
    if case.kind == "list":
        low, high, _, _ = _bounds(case)
        items = [TEXT, st.booleans(), st.floats(allow_nan=False).filter(lambda x: not float(x).is_integer())]
        if low is not None:
            items.append(st.integers(max_value=math.ceil(low) - 1))
        if high is not None:
            items.append(st.integers(min_value=math.floor(high) + 1))
        return st.one_of(st.integers(), TEXT, st.lists(st.one_of(items), min_size=1, max_size=3)
                         .map(lambda xs: [*xs]))
    return st.one_of(st.integers(), TEXT, st.lists(st.integers(), min_size=1))  # a table field


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _nested(name: str, value: Any) -> dict[str, Any]:
    *tables, key = name.split(".")
    out: dict[str, Any] = {key: value}
    for table in reversed(tables):
        out = {table: out}
    return out


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(a.get(key), dict):
            _merge(a[key], value)
        else:
            a[key] = value
    return a


def _get(cfg: Config, name: str) -> Any:
    node: Any = cfg.to_dict()
    for part in name.split("."):
        node = node[part]
    return node


@st.composite
def valid_assignments(draw) -> dict[str, Any]:
    """A random set of fields with valid values, {dotted name: value}."""
    names = draw(st.lists(st.sampled_from(sorted(BY_NAME)), min_size=1, max_size=12, unique=True))
    values = {name: draw(valid_value(BY_NAME[name])) for name in names}
    # a custom check (run.map non-empty, zones_file existing) decides on its own
    for name, value in values.items():
        if BY_NAME[name].has_check:
            try:
                config_from_dict(_nested(name, value))
            except ConfigError:
                assume(False)
    return values


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return float(a) == float(b)
    return a == b


# --------------------------------------------------------------------------- valid input
@SETTINGS
@given(valid_assignments())
def test_valid_dicts_parse_and_round_trip_through_toml(tmp_path_factory, values):
    data: dict[str, Any] = {}
    for name, value in values.items():
        _merge(data, _nested(name, value))
    cfg = config_from_dict(data)
    for name, value in values.items():
        assert _same(_get(cfg, name), value), name
    path = Path(tmp_path_factory.mktemp("toml")) / "config.toml"
    path.write_text(config_to_toml(cfg), encoding="utf-8")
    again = load_config(path)
    assert again.to_dict() == cfg.to_dict()
    # and the TOML text is stable: writing the reloaded config gives the same text
    assert config_to_toml(again) == config_to_toml(cfg)


@SETTINGS
@given(valid_assignments())
def test_valid_overrides_parse_like_the_dict(values):
    overridden = apply_overrides(Config(), [f"{name}={toml_literal(value)}" for name, value in values.items()])
    data: dict[str, Any] = {}
    for name, value in values.items():
        _merge(data, _nested(name, value))
    assert overridden.to_dict() == config_from_dict(data).to_dict()


# --------------------------------------------------------------------------- invalid input
@st.composite
def one_invalid(draw) -> tuple[str, Any]:
    name = draw(st.sampled_from(sorted(BY_NAME)))
    return name, draw(invalid_value(BY_NAME[name]))


def _representable(value: Any) -> bool:
    """TOML cannot hold every Python value (no None, integers are 64-bit at most in some writers)."""
    try:
        tomllib.loads(f"v = {toml_literal(value)}")
    except (tomllib.TOMLDecodeError, TypeError):
        return False
    return True


@SETTINGS
@given(one_invalid())
def test_invalid_values_are_config_errors_naming_the_field(name_value):
    name, value = name_value
    with pytest.raises(ConfigError) as err:
        config_from_dict(_nested(name, value))
    assert f"'{name}'" in str(err.value) and "\n" not in str(err.value)
    if _representable(value):
        with pytest.raises(ConfigError) as err:
            apply_overrides(Config(), [f"{name}={toml_literal(value)}"])
        assert f"'{name}'" in str(err.value)


@SETTINGS
@given(st.lists(TEXT, min_size=1, max_size=3))
def test_any_override_text_is_accepted_or_a_config_error(items):
    try:
        apply_overrides(Config(), items)
    except ConfigError as err:
        assert "\n" not in str(err).strip("\n") or "\n" in "".join(items)


KEYS = sorted({part for name in BY_NAME for part in name.split(".")} | {"nosuch", "adoptoin"})
TOML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(INT64_MIN, INT64_MAX) | st.floats() | TEXT
    | st.lists(st.integers(-3, 8), max_size=3),
    lambda inner: st.dictionaries(st.sampled_from(KEYS), inner, max_size=4), max_leaves=12)


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS + list(string.ascii_lowercase[:3])), TOML_VALUES, max_size=4))
def test_any_document_is_a_config_or_a_config_error(data):
    """Random tables of real and misspelt names with any values: never another exception."""
    try:
        cfg = config_from_dict(data)
    except ConfigError as err:
        message = str(err)
        assert message.startswith(("config field '", "unknown config field '", "override ")), message
        return
    assert config_from_dict(tomllib.loads(config_to_toml(cfg))).to_dict() == cfg.to_dict()
