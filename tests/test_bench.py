"""`citymodel bench`: rows with the documented keys and sane numbers (timings are not asserted)."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from citymodel.bench import REQUIRED_KEYS, fit_rows, format_rows, run_scale_benchmark
from citymodel.cli import app


@pytest.fixture(scope="module")
def rows():
    emitted: list[dict] = []
    out = list(run_scale_benchmark([2000, 3000], 2.0, 200, 1.0, 7, emit=emitted.append))
    assert emitted == out
    return out


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_rows_are_reference_then_sizes_then_fit(rows):
    assert [r["kind"] for r in rows] == ["reference", "fast", "fast", "fit"]
    assert [r["citizens"] for r in rows[:3]] == [200, 2000, 3000]


def test_measured_rows_have_the_documented_keys_with_positive_finite_values(rows):
    for row in rows[:3]:
        for key in (*REQUIRED_KEYS, "reference_us_per_citizen_hour", "ratio", "sim_days_per_s", "startup_s"):
            assert _positive(row[key]), (row["kind"], key, row[key])
    fast = rows[1]
    assert fast["ratio"] == pytest.approx(rows[0]["us_per_citizen_hour"] / fast["us_per_citizen_hour"])
    assert fast["us_per_citizen_hour"] == pytest.approx(fast["wall_s"] / (2000 * 48) * 1e6)
    assert fast["routes"] > 0 and fast["dijkstra_sources"] > 0
    assert rows[0]["routes"] > 0  # the reference routed with networkx


def test_fit_row_and_json(rows):
    fit = rows[-1]
    assert fit["sizes"] == [2000, 3000]
    assert math.isfinite(fit["wall_loglog_exponent"]) and math.isfinite(fit["slope_s_per_1000_citizens"])
    for row in rows:
        assert set(REQUIRED_KEYS) <= set(row)
        json.loads(json.dumps(row, allow_nan=False))


def test_format_rows_gives_a_line_per_row_and_a_table_for_several(rows):
    line = format_rows([rows[1]])
    assert isinstance(line, str) and "2,000 citizens" in line and "µs per citizen-hour" in line
    assert "reference" in format_rows([rows[0]])
    assert "growth exponent" in format_rows([rows[-1]])
    assert format_rows(rows).row_count == len(rows)


def test_fit_is_linear_on_linear_data():
    rows = [{"kind": "fast", "citizens": n, "days": 1.0, "wall_s": 0.5 + 2e-5 * n, "peak_rss_mb": 200 + 1e-3 * n}
            for n in (1000, 10_000, 100_000)]
    fit = fit_rows(rows)
    assert fit["slope_s_per_1000_citizens"] == pytest.approx(0.02)
    assert fit["intercept_s"] == pytest.approx(0.5)
    assert fit["memory_mb_per_1000_citizens"] == pytest.approx(1.0)
    assert fit_rows(rows[:1]) is None


def test_cli_bench_json_lines():
    result = CliRunner().invoke(app, ["bench", "--citizens", "1500", "--days", "1", "--reference-citizens", "150",
                                      "--reference-days", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.output.splitlines() if x.strip()]
    assert [x["kind"] for x in lines] == ["reference", "fast"]
    assert all(set(REQUIRED_KEYS) <= set(x) for x in lines)
