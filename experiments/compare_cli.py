"""Command line of policy comparisons: ``citymodel compare`` and ``citymodel scenario show|check``.

Registered on the main app by :mod:`citymodel.cli`; heavy modules load only when a command runs.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

out = Console(soft_wrap=True, width=max(160, shutil.get_terminal_size((160, 24)).columns))
err = Console(stderr=True)

scenario_app = typer.Typer(help="Policy scenario files: `scenario show FILE`, `scenario check FILE`.",
                           no_args_is_help=True)


def compare_command(
    baseline: Annotated[Path, typer.Argument(help="Baseline scenario file (TOML), e.g. "
                                             "experiments/scenarios/baseline.toml.")],
    policies: Annotated[list[Path], typer.Argument(help="One or more policy scenario files (TOML).")],
    replicates: Annotated[int, typer.Option(help="Runs per scenario (>= 2); replicate k of every scenario "
                                            "has the same seed.")] = 5,
    days: Annotated[float | None, typer.Option(help="Simulated days of every run (default: the scenarios' "
                                               "run.days, 30).")] = None,
    citizens: Annotated[int | None, typer.Option(help="Citizens of every run (default: the map's "
                                                 "population).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes of the local Dask cluster "
                                                "(default: the number of cores).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a running Dask scheduler instead of a "
                                                  "local cluster.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Comparison folder to create (must not exist "
                                                 "or be empty). Default: comparisons/compare-<UTC time>.")] = None,
    seed: Annotated[int, typer.Option(help="Seed the replicates' seeds derive from.")] = 42,
    independent_seeds: Annotated[bool, typer.Option(
        "--independent-seeds", help="Give every scenario its own seeds (no common random numbers), to see "
        "what common random numbers gain.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the comparison in --out: run only the "
                                         "runs without results (same files and options).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Run a baseline and policy scenarios with common random numbers on Dask; write effects with 95 %
    intervals, cost-effectiveness, the per-run table and report.md / report.html with charts."""
    from citymodel.experiments.compare import RUNS, default_out_dir, run_compare
    from citymodel.experiments.console import run_progress

    folder = out_dir if out_dir is not None else default_out_dir(baseline)
    try:
        with contextlib.nullcontext(None) if quiet or not err.is_terminal else run_progress(err) as progress:
            outcome = run_compare(baseline, policies, replicates=replicates, days=days, citizens=citizens,
                                  seed=seed, workers=workers, scheduler=scheduler, out_dir=folder, resume=resume,
                                  common_random_numbers=not independent_seeds, progress=progress)
    except KeyboardInterrupt:
        if not (folder / RUNS).is_file():
            raise
        import pyarrow.parquet as pq

        rows = pq.read_metadata(folder / RUNS).num_rows
        err.print(f"citymodel compare: interrupted; {rows} finished runs are saved in {folder} (continue with the "
                  f"same command and --resume --out {folder})", soft_wrap=True)
        raise typer.Exit(130) from None
    print_outcome(outcome)


def print_outcome(outcome) -> None:
    """Headline effects per policy and where the files are."""
    from citymodel.experiments.compare_report import costs_summary, effects_summary

    counts = outcome.runs["status"].value_counts().to_dict()
    out.print(f"[bold]citymodel compare[/bold] — {len(outcome.plan.labels)} scenarios x "
              f"{outcome.plan.replicates} replicates ({', '.join(f'{n} {s}' for s, n in counts.items())}); "
              f"this session {outcome.report.ok + outcome.report.failed + outcome.report.lost} runs in "
              f"{outcome.report.wall_s:.1f} s")
    metrics = ("inclusion.participants", "inclusion.concentration_index", "economics.public_spend")
    for title, table in (("effects (policy − baseline, 95 % t interval)", effects_summary(outcome.effects, metrics)),
                         ("cost-effectiveness (bootstrap 95 % interval)", costs_summary(outcome.costs))):
        rich_table = Table(title=title, show_edge=False)
        for col in table.columns:
            rich_table.add_column(str(col))
        for row in table.itertuples(index=False):
            rich_table.add_row(*(str(v) for v in row))
        out.print(rich_table)
    if counts.get("failed") or counts.get("lost"):
        out.print("[yellow]some runs failed: their errors are in runs.csv; effects use the complete pairs[/yellow]")
    out.print(f"report: {outcome.out_dir / 'report.md'} (and report.html); effects: {outcome.out_dir / 'effects.csv'}")


@scenario_app.command("show")
def scenario_show(
    file: Annotated[Path, typer.Argument(help="A scenario file (TOML).")],
    baseline: Annotated[Path | None, typer.Option(help="Show differences from this scenario file instead of "
                                                  "the defaults.")] = None,
    toml: Annotated[bool, typer.Option("--toml", help="Print the whole resolved configuration as TOML.")] = False,
) -> None:
    """Print a scenario's resolved parameters: what differs from the defaults (or --baseline), and the public
    budget's levers with their unit costs and sources."""
    from citymodel.config import Config, config_to_toml
    from citymodel.experiments.scenario import cost_rows, differences, field_metadata, load_scenario, source_of

    scenario = load_scenario(file)
    if toml:
        sys.stdout.write(config_to_toml(scenario.config))
        return
    reference = load_scenario(baseline) if baseline is not None else None
    ref_cfg = reference.config if reference is not None else Config()
    ref_name = f"baseline {reference.name}" if reference is not None else "default"
    out.print(f"[bold]{scenario.name}[/bold] ({scenario.path})")
    if scenario.description:
        out.print(scenario.description)
    diffs = differences(scenario.config, ref_cfg)
    table = Table(title=f"{len(diffs)} values differ from the {ref_name} configuration", show_edge=False)
    for col in ("parameter", ref_name, "scenario", "unit", "source"):
        table.add_column(col, overflow="fold")
    for key, ref_value, value in diffs:
        table.add_row(key, repr(ref_value), repr(value), str(field_metadata(key).get("unit", "")),
                      source_of(scenario, key))
    out.print(table)
    costs = Table(title="public budget: levers and unit costs", show_edge=False)
    for col in ("parameter", "value", "unit", "source"):
        costs.add_column(col, overflow="fold")
    for row in cost_rows(scenario):
        costs.add_row(row["key"], row["value"], row["unit"], row["source"])
    out.print(costs)
    out.print("all other parameters: their defaults (`citymodel params`); `--toml` prints the resolved configuration")


@scenario_app.command("check")
def scenario_check(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (TOML) to validate.")],
) -> None:
    """Validate scenario files without running (exit 0 if all are valid, 2 with one line for the first bad one)."""
    from citymodel.experiments.scenario import check_sites, load_scenario

    for file in files:
        scenario = load_scenario(file)
        check_sites(scenario)
        out.print(f"{file}: ok ({scenario.name})")
