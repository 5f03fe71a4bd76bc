"""Property tests of the scenario parser (``experiments/scenario.py``): a scenario file means exactly the
configuration its tables say, and every bad value is one ConfigError line naming the file and the field.

Values are drawn from each configuration field's range metadata with the strategies of
``test_config_properties.py``, so every field (and every field added later) is covered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config_cases import toml_literal
from hypothesis import assume, given
from hypothesis import strategies as st
from test_config_properties import (
    BY_NAME,
    SETTINGS,
    TEXT,
    _get,
    _merge,
    _nested,
    _same,
    invalid_value,
    valid_assignments,
)

from citymodel.config import Config, config_from_dict
from citymodel.errors import ConfigError
from citymodel.experiments.scenario import differences, load_scenario

# run.seed is refused in a scenario (compare gives replicate k of every scenario the same seed);
# a file path is resolved against the scenario's folder, so its value is not the text written.
SKIP = {"run.seed", "facilities.sites_file", "population.zones_file"}
SCENARIO_FIELDS = sorted(name for name in BY_NAME if name not in SKIP and "." in name)


def _toml(data: dict[str, Any], prefix: str = "") -> str:
    """``data`` (nested tables) as TOML text: scalars first, then sub-tables."""
    scalars = [f"{key} = {toml_literal(value)}" for key, value in data.items() if not isinstance(value, dict)]
    lines = [f"[{prefix}]", *scalars] if prefix and scalars else scalars
    for key, value in data.items():
        if isinstance(value, dict):
            sub = f"{prefix}.{key}" if prefix else key
            lines.append(_toml(value, sub) if value else f"[{sub}]")
    return "\n".join(lines)


def _scenario_file(folder: Path, values: dict[str, Any]) -> Path:
    data: dict[str, Any] = {}
    for name, value in values.items():
        _merge(data, _nested(name, value))
    sources = "\n".join(f'"{name}" = "assumption"' for name in values)
    path = folder / "scenario.toml"
    path.write_text(f'[scenario]\nname = "prop"\ndescription = "drawn"\n\n[scenario.sources]\n{sources}\n\n'
                    f"{_toml(data)}\n", encoding="utf-8")
    return path


def _refusal(path: Path) -> str:
    """The one-line ConfigError that loading ``path`` must raise."""
    try:
        load_scenario(path)
    except ConfigError as exc:
        message = str(exc)
    else:
        raise AssertionError(f"{path} was accepted:\n{path.read_text(encoding='utf-8')}")
    assert "\n" not in message
    return message


@SETTINGS
@given(valid_assignments())
def test_a_scenario_means_the_configuration_its_tables_say(tmp_path_factory, values):
    assume(not (set(values) & SKIP))
    path = _scenario_file(Path(tmp_path_factory.mktemp("scenario")), values)
    scenario = load_scenario(path)
    data: dict[str, Any] = {}
    for name, value in values.items():
        _merge(data, _nested(name, value))
    assert scenario.config.to_dict() == config_from_dict(data, Config()).to_dict()
    for name, value in values.items():
        assert _same(_get(scenario.config, name), value), name
    # what `scenario show` lists: exactly the values that differ from the defaults
    changed = {key for key, _, _ in differences(scenario.config, Config())}
    for name, value in values.items():
        if name.count(".") == 1 and not isinstance(value, (list, dict)):  # a section's own scalar field
            assert (name in changed) == (not _same(_get(Config(), name), value)), name


@SETTINGS
@given(st.sampled_from(SCENARIO_FIELDS), st.data())
def test_every_bad_value_is_one_line_naming_the_file_and_the_field(tmp_path_factory, name, data):
    value = data.draw(invalid_value(BY_NAME[name]))
    try:
        config_from_dict(_nested(name, value), Config())
    except ConfigError:
        pass
    else:
        assume(False)  # a value the config accepts (e.g. a table field's free-form entry) is not bad
    path = _scenario_file(Path(tmp_path_factory.mktemp("bad")), {name: value})
    message = _refusal(path)
    assert message.startswith(f"scenario file {path}: ")
    assert name.split(".")[-1] in message or name in message


@SETTINGS
@given(st.dictionaries(TEXT.filter(lambda k: k not in ("name", "description", "sources") and k.strip()),
                       st.one_of(st.integers(), TEXT, st.booleans()), min_size=1, max_size=3))
def test_an_unknown_scenario_header_key_is_refused_by_name(tmp_path_factory, extra):
    path = Path(tmp_path_factory.mktemp("head")) / "scenario.toml"
    head = "\n".join(f"{toml_literal(key)} = {toml_literal(value)}" for key, value in extra.items())
    path.write_text(f'[scenario]\nname = "prop"\n{head}\n', encoding="utf-8")
    message = _refusal(path)
    assert message.startswith(f"scenario file {path}: [scenario] ")
    assert any(repr(key) in message for key in extra)  # the key as written, control characters escaped
