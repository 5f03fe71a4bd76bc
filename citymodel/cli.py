"""The ``citymodel`` command line: run, map, validate, report, bench, params, sweep, analyze, compare, scenario, ui.

Every user mistake (a missing file, a bad option value, an unknown parameter)
ends the command with one line on stderr and a non-zero exit code; ``citymodel
--debug …`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from typer.exceptions import TyperException

from citymodel.errors import CitymodelError
from citymodel.run_console import err, fmt, out, print_run_summary, run_with_progress

app = typer.Typer(
    name="citymodel",
    help="Agent-based model of distributed manufacturing in a city, on real OpenStreetMap streets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
map_app = typer.Typer(help="Inspect street maps: `map list` (the embedded maps: default = central Leeds, "
                      "helsinki), `map info SOURCE`.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks: model scale (default) and routing (`citymodel bench routing`).",
    invoke_without_command=True,
)
app.add_typer(map_app, name="map")
app.add_typer(bench_app, name="bench")


EXIT_USER_ERROR = 2
EXIT_CHECK_FAILED = 1


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """Agent-based model of distributed manufacturing in a city (Mesa, OpenStreetMap).

    Typical use: `citymodel run` (the embedded map of central Leeds with its
    45,455 residents and their IMD 2019 deprivation, 30 days), then `citymodel
    report runs/<run folder>`. Embedded maps: 'default' (central Leeds) and
    'helsinki'; `citymodel map list` lists them.
    """


# --------------------------------------------------------------------------- run
@app.command()
def run(
    map_source: Annotated[str | None, typer.Option(
        "--map", help="Map: an embedded map, 'default' (central Leeds, with its LSOA zones) or 'helsinki' "
        "(central Helsinki) — see `citymodel map list` —, a .osm/.osm.gz/.osm.bz2/.osm.pbf "
        "or citymodel .graphml file, or 'place:<name>' (online only).")] = None,
    citizens: Annotated[int | None, typer.Option(
        help="Number of citizens (>= 1). Default: the residents of the map's zones (central Leeds: "
        "45,455), or 10,000 on a map without zone population.")] = None,
    days: Annotated[float | None, typer.Option(help="Simulated days (> 0).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of every random stream (>= 0).")] = None,
    config: Annotated[Path | None, typer.Option(
        help="TOML configuration file (see `citymodel params`).")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override one parameter, e.g. --set adoption.bass_q=0.5 (repeatable).")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Run folder to create (must not exist or be empty). "
        "Default: runs/run-<UTC time>-seed<S>.")] = None,
    zones: Annotated[Path | None, typer.Option(
        help="GeoJSON/CSV of areas with 'income' (£/year) or 'decile'/'imd_decile' (1..10): incomes "
        "by the area of each home (same as --set population.zones_file=FILE); with 'population', homes "
        "follow it. Replaces the map's own zones.")] = None,
    sites: Annotated[Path | None, typer.Option(
        help="CSV (lon, lat, kind[, name, machines, fee_per_hour]) or GeoJSON points of facility sites added "
        "to the ones chosen from the map (same as --set facilities.sites_file=FILE).")] = None,
    plots: Annotated[bool, typer.Option("--plots", help="Write the report's PNG plots at the end.")] = False,
    baseline: Annotated[Path | None, typer.Option(
        help="Run folder of the baseline scenario: adds public spend per additional included "
        "citizen to the summary.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Run the model and write a run folder (config, manifest, Parquet tables, summary).

    Precedence: defaults < --config file < --set < --map/--citizens/--days/--seed.
    """
    from citymodel.outputs import default_run_dir

    overrides = list(set_ or [])
    if zones is not None:
        overrides.append(f"population.zones_file={json.dumps(str(zones))}")
    if sites is not None:
        overrides.append(f"facilities.sites_file={json.dumps(str(sites))}")
    cfg = build_config(config, overrides, map_source, citizens, days, seed)
    quiet = quiet or not err.is_terminal  # no progress bar in logs: stderr keeps only message lines
    baseline_summary = read_baseline(baseline) if baseline is not None else None
    folder = out_dir if out_dir is not None else default_run_dir(Path("runs"), cfg.run.seed)
    from citymodel.maps import load_city

    with err.status(f"loading map {cfg.run.map} …", spinner="dots") if not quiet else contextlib.nullcontext():
        city = load_city(cfg.run.map)
    result = run_with_progress(cfg, folder, city, quiet, baseline_summary)
    print_run_summary(result)
    if plots:
        from citymodel.report import write_report

        paths = write_report(result.folder, city=city)
        out.print(f"plots: {len(paths)} PNG files in {paths[0].parent if paths else result.folder}")


def build_config(config_file: Path | None, overrides: list[str], map_source: str | None,
                 citizens: int | None, days: float | None, seed: int | None):
    """The run's configuration from defaults, a TOML file, --set overrides and flags."""
    from citymodel.config import Config, apply_overrides, load_config

    if citizens is not None and citizens < 1:
        raise CitymodelError(f"--citizens must be a whole number >= 1, got {citizens}")
    if days is not None and not days * 24 >= 1 - 1e-9:
        raise CitymodelError(f"--days must be at least one simulated hour (>= 1/24 = 0.0417 days), got {days:g}")
    if seed is not None and seed < 0:
        raise CitymodelError(f"--seed must be a whole number >= 0, got {seed}")
    cfg = load_config(config_file) if config_file is not None else Config()
    apply_overrides(cfg, overrides)
    if map_source is not None:
        cfg.run.map = map_source
    if citizens is not None:
        cfg.run.citizens = citizens
    if days is not None:
        cfg.run.days = days
    if seed is not None:
        cfg.run.seed = seed
    return cfg.validate()


def read_baseline(run_dir: Path) -> dict:
    """The ``summary.json`` of a baseline run folder."""
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        raise CitymodelError(f"--baseline {run_dir}: no summary.json there (expected a finished run folder)")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CitymodelError(f"--baseline {path}: not valid JSON ({getattr(exc, 'msg', exc)})") from None
    for section, key in (("economics", "public_spend"), ("inclusion", "participants")):
        value = (summary.get(section) or {}).get(key) if isinstance(summary, dict) else None
        if not isinstance(summary, dict) or not isinstance(summary.get(section), dict) or not (
                value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))):
            raise CitymodelError(f"--baseline {path}: {section}.{key} = {value!r}, expected a number "
                                 "(a summary.json written by `citymodel run`)")
    return summary


# --------------------------------------------------------------------------- map
@map_app.command("info")
def map_info_cmd(
    source: Annotated[str, typer.Argument(
        help="An embedded map ('default' = central Leeds, 'helsinki'; see `citymodel map list`), a local "
        "OSM/GraphML file or 'place:<name>'.")],
    sites: Annotated[Path | None, typer.Option(
        help="Also place the sites of this CSV/GeoJSON file (as `citymodel run --sites`).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Print per mode: nodes, edges, km of street, share kept by the strongly connected
    filter; POI counts by kind; zones; the facility sites a default run uses (with
    --sites, the file's sites too, snapped to the streets); bounding box; checksum."""
    from citymodel.map_commands import info_json, map_sites, print_map_info
    from citymodel.maps import load_city
    from citymodel.maps.info import map_info

    city = load_city(source)
    info = map_info(city)
    site_rows, notes = map_sites(city, sites)
    if as_json:
        out.print_json(info_json(info, site_rows, notes))
        return
    print_map_info(info, site_rows, notes, out, fmt)


@map_app.command("list")
def map_list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the maps embedded in the package (name for --map, place, size, source files, licence)."""
    from citymodel.map_commands import print_map_list
    from citymodel.maps.embedded import list_embedded

    if as_json:
        out.print_json(json.dumps(list_embedded()))
        return
    print_map_list(out)


# --------------------------------------------------------------------------- validate
@app.command()
def validate(
    only: Annotated[list[str] | None, typer.Option(
        help="Run only this check (repeatable): bass, erlang, erlang_hours, routing, "
        "conservation, reproducibility, patterns.")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Check parameter, e.g. --set servers=2 --set load=0.7 (erlang), "
        "--set p=0.02 --set q=0.4 (bass).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of results.")] = False,
) -> None:
    """Compare the model with analytic results and independent references (Bass diffusion,
    Erlang C and a minute-grid queue with opening hours), exact routing, accounting identities
    and reproducibility; report empirical patterns (not counted); exit 1 if any check fails."""
    from citymodel.validation import format_table, results_to_json, run_checks

    settings = parse_settings(set_ or [])
    results = run_checks(only=only or None, settings=settings)
    if as_json:
        sys.stdout.write(results_to_json(results) + "\n")
    else:
        out.print(format_table(results))
    checked = [r for r in results if r.counted]
    failed = [r for r in checked if not r.passed]
    if not as_json:
        reported = len(results) - len(checked)
        out.print(f"{len(checked) - len(failed)} of {len(checked)} passed"
                  + (f"; {reported} empirical patterns reported (not counted)" if reported else ""))
    if failed:
        raise typer.Exit(EXIT_CHECK_FAILED)


def parse_settings(items: list[str]) -> dict[str, str]:
    """``["servers=2", "load=0.7"]`` -> ``{"servers": "2", "load": "0.7"}``."""
    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CitymodelError(f"--set {item!r}: expected name=value")
        settings[key.strip()] = value.strip()
    return settings


# --------------------------------------------------------------------------- report
@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `citymodel run`.")],
) -> None:
    """Write PNG plots into RUN_DIR/plots: adoption, utilization, delivery times,
    inclusion by income quintile, and a map of walking access to workshops."""
    from citymodel.report import write_report

    paths = write_report(run_dir)
    for path in paths:
        out.print(str(path))


# --------------------------------------------------------------------------- bench
@bench_app.callback()
def bench(
    ctx: typer.Context,
    citizens: Annotated[list[int] | None, typer.Option(
        help="Population sizes to time (repeatable). Default: 10000 100000 500000.")] = None,
    days: Annotated[float, typer.Option(help="Simulated days per size.")] = 365.0,
    reference_citizens: Annotated[int, typer.Option(
        help="Population of the typical-Mesa reference run.")] = 1000,
    reference_days: Annotated[float, typer.Option(help="Days of the reference run.")] = 7.0,
    seed: Annotated[int, typer.Option(help="Seed.")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Time the model at city scale beside a typical-Mesa reference (wall time, days/s,
    µs per citizen-hour, peak memory, routes/s, ratio)."""
    if ctx.invoked_subcommand is not None:
        return
    from citymodel.bench import format_rows, run_scale_benchmark

    for c in citizens or []:
        if c < 1:
            raise CitymodelError(f"--citizens must be >= 1, got {c}")
    if not days > 0:
        raise CitymodelError(f"--days must be > 0, got {days:g}")
    sizes = citizens or [10_000, 100_000, 500_000]
    for row in run_scale_benchmark(sizes, days, reference_citizens, reference_days, seed,
                                   emit=(lambda r: sys.stdout.write(json.dumps(r) + "\n"))
                                   if as_json else None):
        if not as_json:
            out.print(format_rows([row]))


@bench_app.command("routing")
def bench_routing(
    source: Annotated[str, typer.Option("--map", help="Map source.")] = "default",
    mode: Annotated[str, typer.Option(help="walk, bike, cargo_bike or van (comma list).")] = "walk",
    pairs: Annotated[int, typer.Option(help="Random origin/destination pairs.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the pair sample.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Single-pair queries/s, one-to-all time and nearest-facility precompute for all
    homes, each beside networkx on the same graph (ratio)."""
    from citymodel.maps.bench import format_benchmark, run_routing_benchmark

    if pairs < 1:
        raise CitymodelError(f"--pairs must be >= 1, got {pairs}")
    for m in mode.split(","):
        result = run_routing_benchmark(source, m.strip(), pairs, seed)
        if as_json:
            sys.stdout.write(json.dumps(result, default=float) + "\n")
        else:
            out.print(format_benchmark(result))


# --------------------------------------------------------------------------- params
@app.command()
def params(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")] = False,
    config: Annotated[Path | None, typer.Option(help="Show the values of this TOML file.")] = None,
    toml: Annotated[bool, typer.Option("--toml", help="Print the whole configuration as TOML "
                                       "(a starting point for --config).")] = False,
) -> None:
    """List every parameter with its default, unit and source."""
    from citymodel.config import Config, config_to_toml, load_config, parameter_rows

    cfg = load_config(config) if config is not None else Config()
    if toml:
        sys.stdout.write(config_to_toml(cfg))
        return
    rows = parameter_rows(cfg)
    if markdown:
        sys.stdout.write(parameters_markdown(rows))
        return
    table = Table(show_lines=False)
    for col in ("name", "default", "unit", "source"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["default"], row["unit"], row["source"])
    out.print(table)


def parameters_markdown(rows: list[dict[str, str]]) -> str:
    """The parameter table as Markdown (``docs/parameters.md`` is generated from this)."""
    lines = ["| parameter | default | unit | allowed | source | meaning |", "|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r["name"], f"`{r['default']}`", r["unit"], r.get("allowed", ""), r["source"], r["doc"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- sweep, analyze
@app.command()
def sweep(
    spec: Annotated[Path, typer.Argument(help="Sweep spec (TOML): [sweep], [base], [parameters]; "
                                         "see docs/sweeps.md.")],
    workers: Annotated[int | None, typer.Option(help="Worker processes of the local Dask cluster "
                                                "(default: the number of cores).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a running Dask scheduler, "
                                                  "e.g. tcp://10.0.0.5:8786, instead of a local cluster.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Sweep folder to create (must not exist or be "
                                                 "empty). Default: sweeps/<spec name>-<UTC time>.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the sweep in --out: run only the runs "
                                         "without results (the spec must be the same).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Run a parameter sweep (grid, lhs, sobol or morris design x replicates) on Dask into a
    sweep folder: sweep.json, design.parquet, results.parquet (one row per run)."""
    from citymodel.experiments.console import print_sweep_outcome, run_progress
    from citymodel.experiments.sweep import SweepInterrupted, run_sweep

    try:
        with contextlib.nullcontext(None) if quiet else run_progress(err) as progress:
            outcome = run_sweep(spec, out_dir, workers=workers, scheduler=scheduler, resume=resume,
                                progress=progress)
    except SweepInterrupted as stop:
        err.print(f"citymodel sweep: interrupted; {stop.rows} of {stop.total} runs are saved in {stop.out_dir} "
                  f"(continue with --resume --out {stop.out_dir})", soft_wrap=True)
        raise typer.Exit(130) from None
    print_sweep_outcome(out, outcome)


@app.command()
def analyze(
    sweep_dir: Annotated[Path, typer.Argument(help="A sweep folder written by `citymodel sweep`.")],
) -> None:
    """Means and 95 % intervals per point; Sobol (S1, ST) or Morris (mu*, sigma) indices; PNG
    plots of each output against each parameter: written to SWEEP_DIR/analysis/."""
    from citymodel.experiments.analyze import analyze_sweep
    from citymodel.experiments.console import print_analysis

    print_analysis(out, analyze_sweep(sweep_dir))


# --------------------------------------------------------------------------- compare, scenario
from citymodel.experiments.compare_cli import compare_command, scenario_app  # noqa: E402

app.command("compare")(compare_command)
app.add_typer(scenario_app, name="scenario")


# --------------------------------------------------------------------------- ui
@app.command()
def ui(
    map_source: Annotated[str | None, typer.Option(
        "--map", help="Map of a new browser tab: 'default', an OSM/GraphML file or 'place:<name>' "
        "(default: the --config file's run.map, else 'default').")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML configuration the levers start from.")] = None,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
) -> None:
    """Start the web app (Solara): watch a run on the map, try a what-if workshop, export the data."""
    from citymodel.ui.server import serve

    serve(map_source, config, port, host)


# --------------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turning user errors into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:  # accept --debug anywhere on the line, as a global option
        args = ["--debug", *(a for a in args if a != "--debug")]
    from citymodel import interrupts
    from citymodel.cli_messages import interrupted_line, one_line_warnings

    interrupts.reset()
    with interrupts.stop_signals_raise(), one_line_warnings():
        code = _run_app(args, debug)
    if code == 130 or interrupts.received() is not None:  # typer turns KeyboardInterrupt into exit code 130
        sys.stderr.write(interrupted_line(interrupts.received()))
        code = interrupts.exit_code(interrupts.received())
    return _exit(code, argv)


def _run_app(args: list[str], debug: bool) -> int:
    """Run the typer app; user errors become one stderr line and exit code 2."""
    try:
        code = app(args=args, prog_name="citymodel", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:  # end of input at a prompt
        sys.stderr.write("citymodel: aborted\n")
        code = 1
    except TyperException as exc:  # usage errors: bad option values, unknown options
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            sys.stdout.write(ctx.get_help() + "\n")
            return 0
        command = ctx.command_path if ctx is not None else "citymodel"
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        message = " ".join(str(message).split())
        sys.stderr.write(f"{command}: error: {message} (see --help)\n")
        code = getattr(exc, "exit_code", EXIT_USER_ERROR)
    except CitymodelError as exc:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"citymodel: error: {exc}\n")
        code = EXIT_USER_ERROR
    except KeyboardInterrupt:
        code = 130
    return int(code or 0)


def _exit(code, argv: list[str] | None) -> int:
    code = int(code or 0)
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
