"""Sweep spec parsing and validation: one-line errors before any run, property tests, summary paths."""

from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citymodel.cli import main
from citymodel.config import Config
from citymodel.experiments.designs import design_of
from citymodel.experiments.spec import (
    DESIGNS,
    SWEEP_KEYS,
    TABLES,
    SpecError,
    count_points,
    load_spec,
    parse_spec,
)
from citymodel.experiments.summary_paths import PATTERNS, lookup, numeric_leaves, split_path, summary_paths
from citymodel.runner import simulate

EXAMPLE = Path(__file__).resolve().parents[1] / "experiments" / "sweeps" / "example.toml"

ISSUE_SPEC = """
[sweep]
design = "grid"          # grid | lhs | sobol | morris
samples = 64             # base samples, for lhs / sobol / morris
replicates = 3
seed = 42
days = 30
map = "default"
outputs = ["utilization.overall", "inclusion.concentration_index"]

[base]                   # any Config key
citizens = 5000

[parameters]             # a list = grid values; {min, max} = a range
citizens = [2000, 5000]
"policy.fee_waiver_share" = { min = 0.0, max = 1.0 }
"""


def _spec(text: str) -> dict:
    return tomllib.loads(text)


def _error(data: dict) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec(data, source="s.toml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("s.toml: ")
    return message


# --------------------------------------------------------------------------- valid specs
def test_the_issue_spec_parses_with_its_names() -> None:
    spec = parse_spec(_spec(ISSUE_SPEC))
    assert spec.design == "grid" and spec.replicates == 3 and spec.seed == 42 and spec.days == 30.0
    assert spec.outputs == ("utilization.overall", "inclusion.concentration_index")
    assert spec.base == {"run.citizens": 5000}
    citizens, waiver = spec.parameters
    assert (citizens.name, citizens.key, citizens.values) == ("citizens", "run.citizens", (2000, 5000))
    assert (waiver.key, waiver.low, waiver.high) == ("policy.fee_waiver_share", 0.0, 1.0)
    # a range in a grid takes `levels` (default 4) evenly spaced values
    assert count_points(spec) == 2 * 4
    design = design_of(spec)
    assert sorted(set(design.points["policy.fee_waiver_share"])) == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert spec.base_config().run.citizens == 5000


def test_example_spec_in_the_repository_is_valid() -> None:
    spec = load_spec(EXAMPLE)
    assert count_points(spec) == len(design_of(spec))


def test_nested_tables_and_deep_keys_resolve() -> None:
    spec = parse_spec(_spec("""
[sweep]
outputs = ["delivery_time_h.by_product.furniture.p90", "inclusion.participation_by_income_quintile[0]"]
[base.adoption]
bass_q = 0.5
[parameters]
needs.products.furniture.import_price = [150.0, 250.0]
facilities.kinds.library = { fee_per_hour = [0.0, 3.0] }
"""))
    assert spec.base == {"adoption.bass_q": 0.5}
    assert [p.key for p in spec.parameters] == ["needs.products.furniture.import_price",
                                                "facilities.kinds.library.fee_per_hour"]
    cfg = spec.base_config()
    from citymodel.experiments.config_keys import apply_values

    point = apply_values(cfg, {"needs.products.furniture.import_price": 250.0,
                               "facilities.kinds.library.fee_per_hour": 0.0})
    assert point.needs.products["furniture"]["import_price"] == 250.0
    assert point.needs.products["furniture"]["machine"] == "cnc_router"  # the rest of the table is kept
    assert point.facilities.kinds["library"]["fee_per_hour"] == 0.0
    assert point.facilities.kinds["library"]["machines"] == Config().facilities.kinds["library"]["machines"]


def test_sobol_counts_saltelli_points() -> None:
    spec = parse_spec(_spec("""
[sweep]
design = "sobol"
samples = 8
outputs = ["utilization.overall"]
[parameters]
"adoption.bass_p" = { min = 0.01, max = 0.05 }
"adoption.bass_q" = { min = 0.2, max = 0.6 }
citizens = { min = 100, max = 300 }
"""))
    design = design_of(spec)
    assert len(design) == count_points(spec) == 8 * (3 + 2)
    assert design.points["citizens"].between(100, 300).all()
    assert design.points["citizens"].map(type).eq(int).all()


# --------------------------------------------------------------------------- one-line errors
@pytest.mark.parametrize(("text", "expected"), [
    ('[sweep]\nreplicats = 2\noutputs = ["utilization.overall"]',
     "'replicats': unknown key; did you mean 'replicates'"),
    ('[sweep]\noutputs = ["utilization.overall"]\n[parameters]\ncitizns = [1, 2]',
     "'citizns': unknown configuration key; did you mean 'citizens'"),
    ('[sweep]\noutputs = ["utilization.overal"]', "'utilization.overal': unknown summary.json key path; "
     "did you mean 'utilization.overall'"),
    ('[sweep]\noutputs = ["inclusion.participation_by_income_quintile"]', "name one entry, e.g. "
     "'inclusion.participation_by_income_quintile[0]'"),
    ('[sweep]\noutputs = ["utilization.overall"]\n[parameters]\n"policy.fee_waiver_share" = {min = 0.5, max = 0.5}',
     "min = 0.5 is not below max = 0.5"),
    ('[sweep]\noutputs = ["utilization.overall"]\n[parameters]\n"policy.fee_waiver_share" = {min = 0.0, max = 1.5}',
     "policy.fee_waiver_share' = 1.5: expected a number from 0 to 1"),
    ('[sweep]\noutputs = ["utilization.overall"]\n[parameters]\n"policy.fee_waiver_share" = {min = 0, mx = 1}',
     "'mx': unknown range key; did you mean 'max'"),
    ('[sweep]\ndesign = "sobl"\noutputs = ["utilization.overall"]', "did you mean 'sobol'"),
    ('[sweep]\ndesign = "sobol"\nsamples = 10\noutputs = ["utilization.overall"]\n[parameters]\n'
     '"adoption.bass_p" = {min = 0, max = 1}', "power of 2 (e.g. 8 or 16)"),
    ('[sweep]\ndesign = "lhs"\nsamples = 10\noutputs = ["utilization.overall"]\n[parameters]\n'
     'citizens = [100, 200]', "design lhs samples ranges"),
    ('[sweep]\noutputs = ["utilization.overall"]\n[parameters]\ncitizens = [100, -5]',
     "run.citizens' = -5: expected a whole number >= 0"),
    ('[sweep]\noutputs = ["utilization.overall"]\n[parameters]\ncitizens = { min = 10.5, max = 20 }',
     "run.citizens is a whole number"),
    ('[sweep]\noutputs = ["utilization.overall"]\n[base]\nseed = 3', "'seed': set by [sweep] seed"),
    ('[sweep]\ndays = 0\noutputs = ["utilization.overall"]', "[sweep] days: 0: expected a number of days"),
    ('[sweep]\nreplicates = 0\noutputs = ["utilization.overall"]', "[sweep] replicates: 0"),
    ('[sweep]\noutputs = ["utilization.overall"]\n[parameter]\ncitizens = [1]', "[parameter]: unknown table; "
     "did you mean 'parameters'"),
    ('[sweep]\noutputs = ["utilization.overall"]\n[base]\nadoption = 3', "'adoption': is a table of settings"),
    ('[sweep]\nmap = "nowhere.osm"\noutputs = ["utilization.overall"]', "[sweep] map: 'nowhere.osm': no such file"),
    ('[sweep]\noutputs = []', "expected a non-empty list"),
    ('[sweep]\nmap = "~no-such-user/x.osm"\noutputs = ["utilization.overall"]', "no such file"),
    ('[sweep]\nconfig = "a\\u0000b"\noutputs = ["utilization.overall"]', "[sweep] config"),
    ('[sweep]\noutputs = ["utilization.overall"]\n[parameters]\n'
     'citizens = {min = 1, max = 9, levels = 1000000000000}', "expected a whole number from 2 to 10,000"),
    ('[sweep]\noutputs = ["utilization.overall"]\n[base]\n"adoption.bass_p" = nan', "expected a finite number"),
])
def test_mistakes_are_one_line_naming_the_key(text: str, expected: str) -> None:
    assert expected in _error(_spec(text))


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[sweep\noutputs = 3\n")
    with pytest.raises(SpecError, match=r"bad.toml: not valid TOML") as info:
        load_spec(bad)
    assert "\n" not in str(info.value)
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "none.toml")


def test_cli_typo_fails_before_any_run(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "typo.toml"
    spec.write_text('[sweep]\ndays = 1\noutputs = ["utilization.overall"]\n[parameters]\n'
                    '"adoption.bass_pp" = [0.01, 0.02]\n')
    out = tmp_path / "sweep"
    code = main(["sweep", str(spec), "--workers", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "'adoption.bass_pp'" in err and "did you mean 'adoption.bass_p'" in err
    assert not out.exists()  # nothing was started, no folder written


# --------------------------------------------------------------------------- property tests
NUMERIC = {  # canonical key or alias -> (dtype, low, high) of values the model accepts
    "citizens": ("int", 50, 5000),
    "adoption.bass_p": ("float", 0.0, 0.2),
    "adoption.initial_aware_share": ("float", 0.0, 1.0),
    "policy.fee_waiver_share": ("float", 0.0, 1.0),
    "platform.delivery_fee": ("float", 0.0, 20.0),
    "choice.beta_price": ("float", 0.0, 0.2),
    "needs.products.household.import_price": ("float", 1.0, 50.0),
}
OUTPUTS = summary_paths()
finite = {"allow_nan": False, "allow_infinity": False}


@st.composite
def valid_specs(draw) -> dict:
    design = draw(st.sampled_from(DESIGNS))
    names = draw(st.lists(st.sampled_from(sorted(NUMERIC)), min_size=1 if design != "grid" else 0,
                          max_size=3, unique=True))
    params = {}
    for name in names:
        dtype, low, high = NUMERIC[name]
        number = st.integers(low, high) if dtype == "int" else st.floats(low, high, **finite)
        if design == "grid" and draw(st.booleans()):
            params[name] = draw(st.lists(number, min_size=1, max_size=4, unique=True))
        else:
            a, b = draw(number), draw(number)
            if a == b:
                b = a + 1 if dtype == "int" and a < high else b
            lo, hi = min(a, b), max(a, b)
            if lo == hi:
                lo, hi = low, high
            params[name] = {"min": lo, "max": hi}
            if design == "grid" and draw(st.booleans()):
                params[name]["levels"] = draw(st.integers(2, 5))
    sweep = {"design": design, "outputs": draw(st.lists(st.sampled_from(OUTPUTS), min_size=1, max_size=4,
                                                        unique=True))}
    if design == "sobol":
        sweep["samples"] = 2 ** draw(st.integers(0, 5))
    elif design != "grid":
        sweep["samples"] = draw(st.integers(1, 20))
    if design == "morris":
        sweep["levels"] = draw(st.sampled_from([2, 4, 6]))
    for key, strategy in (("replicates", st.integers(1, 5)), ("seed", st.integers(0, 2**63 - 1)),
                          ("days", st.floats(1 / 24 + 1e-6, 365, **finite))):
        if draw(st.booleans()):
            sweep[key] = draw(strategy)
    base = draw(st.dictionaries(st.sampled_from(["adoption.bass_q", "platform.matching", "adoption.well_mixed"]),
                                st.just(None), max_size=3))
    base_values = {"adoption.bass_q": 0.4, "platform.matching": "cheapest", "adoption.well_mixed": True}
    return {"sweep": sweep, "base": {k: base_values[k] for k in base}, "parameters": params}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_random_valid_specs_parse(data: dict) -> None:
    data = tomllib.loads(tomli_w.dumps(data))  # what a user's file would hold
    spec = parse_spec(data)
    assert spec.design == data["sweep"]["design"]
    assert [p.name for p in spec.parameters] == list(data["parameters"])
    assert spec.outputs == tuple(data["sweep"]["outputs"])
    design = design_of(spec)
    assert len(design) == count_points(spec)
    for p in spec.parameters:
        column = design.points[p.name]
        if p.is_range:
            assert column.between(p.low, p.high).all()
        else:
            assert set(column) <= set(p.values)


def _typo(word: str, draw) -> str:
    i = draw(st.integers(0, len(word) - 1))
    letter = draw(st.sampled_from(string.ascii_lowercase))
    out = word[:i] + letter + word[i + 1:]
    return out if out != word else word + letter


@st.composite
def invalid_specs(draw) -> tuple[dict, str]:
    """A valid spec with one mistake, and a string the error must contain."""
    data = draw(valid_specs())
    sweep, params = data["sweep"], data["parameters"]
    kinds = ["sweep_key", "output", "replicates", "design", "table"]
    if params:
        kinds += ["param_name", "range"]
    kind = draw(st.sampled_from(kinds))
    if kind == "sweep_key":
        key = draw(st.sampled_from(sorted(sweep)))
        bad = _typo(key, draw)
        if bad in SWEEP_KEYS:
            bad = key + "_x"
        sweep[bad] = sweep.pop(key)
        return data, repr(bad)
    if kind == "output":
        bad = _typo(sweep["outputs"][0], draw)
        if bad in OUTPUTS:
            bad += "x"
        sweep["outputs"][0] = bad
        return data, repr(bad)
    if kind == "replicates":
        sweep["replicates"] = draw(st.one_of(st.integers(max_value=0), st.text(max_size=3), st.floats(0.5, 3.5)))
        return data, "[sweep] replicates"
    if kind == "design":
        sweep["design"] = draw(st.text(max_size=8).filter(lambda s: s not in DESIGNS))
        return data, "[sweep] design"
    if kind == "table":
        bad = _typo("parameters", draw)
        data[bad if bad not in TABLES else "paramz"] = {}
        return data, "unknown table"
    name = draw(st.sampled_from(sorted(params)))
    if kind == "param_name":
        bad = _typo(name, draw).replace(".", "_")
        params[bad] = params.pop(name)
        return data, repr(bad)
    dtype, low, high = NUMERIC[name]
    params[name] = {"min": high, "max": low}  # reversed range
    return data, f"[parameters] {name!r}"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invalid_specs())
def test_random_invalid_specs_give_the_one_line_error(case: tuple[dict, str]) -> None:
    data, expected = case
    message = _error(data)
    assert expected in message


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=3)),
                      max_leaves=8)
keys = st.one_of(st.sampled_from([*SWEEP_KEYS, "citizens", "adoption", "adoption.bass_p", "min", "max",
                                  "levels"]), st.text(max_size=10))
tables = st.dictionaries(keys, values, max_size=5)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.one_of(st.sampled_from(TABLES), st.text(max_size=8)), tables, max_size=4),
       st.sampled_from(OUTPUTS))
def test_arbitrary_documents_never_raise_anything_else(data: dict, output: str) -> None:
    if isinstance(data.get("sweep"), dict) and "outputs" not in data["sweep"]:
        data["sweep"]["outputs"] = [output]
    try:
        parse_spec(data, source="s.toml")
    except SpecError as exc:
        assert "\n" not in str(exc)


# --------------------------------------------------------------------------- summary paths
@pytest.fixture(scope="module")
def tiny_summary(default_city) -> dict:
    from citymodel.config import config_from_dict

    cfg = config_from_dict({"run": {"citizens": 300, "days": 2.0, "seed": 3},
                            "policy": {"fee_waiver_share": 0.5, "training_multiplier": 2.0}})
    return simulate(cfg, default_city).summary


def _exists(summary: dict, path: str) -> bool:
    node = summary
    for part in split_path(path):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return False
        elif not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


DATA_DEPENDENT = ("{kind}", "{product}", "{mode}", "{spend_kind}", "{party}", "{batch_size}", "[d]")


def test_summary_paths_cover_a_real_summary(tiny_summary: dict) -> None:
    documented = set(summary_paths())
    real = set(numeric_leaves(tiny_summary))
    assert real - documented == set(), "summary.json has numeric keys that summary_paths does not list"
    # every path whose keys do not depend on what happened in the run is in a real summary
    fixed = [p for p in PATTERNS if not any(v in p for v in DATA_DEPENDENT)]
    fixed_paths = [p for p in documented if any(re.fullmatch(_regex(f), p) for f in fixed)]
    missing = [p for p in fixed_paths if not _exists(tiny_summary, p)]
    assert missing == []
    assert len(fixed_paths) > 100


def _regex(pattern: str) -> str:
    out = re.escape(pattern.removesuffix("[i]"))
    out = re.sub(r"\\\{\w+\\\}", r"[^.]+", out)
    return out + (r"\[\d\]" if pattern.endswith("[i]") else "")


def test_lookup_reads_numbers_and_refuses_tables(tiny_summary: dict) -> None:
    assert lookup(tiny_summary, "run.n_citizens") == 300.0
    assert lookup(tiny_summary, "inclusion.n_by_income_quintile[0]") == 60.0
    assert lookup(tiny_summary, "conservation.all_ok") == 1.0
    assert lookup(tiny_summary, "delivery_time_h.by_product.no_such_product.p90") is None
    with pytest.raises(TypeError, match="not a number"):
        lookup(tiny_summary, "utilization.by_facility_kind")
