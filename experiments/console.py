"""Terminal output of ``citymodel sweep`` and ``citymodel analyze``: progress bar and summaries."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .analyze import Analysis
from .execute import Progress as ProgressCallback
from .sweep import SweepOutcome


@contextlib.contextmanager
def run_progress(console: Console, label: str = "runs") -> Iterator[ProgressCallback]:
    """A rich progress bar with ETA on ``console`` (stderr); yields ``progress(done, total)``.

    The bar appears at the first call (when the runs start), so an error found
    while checking the input is not preceded by an empty bar.
    """
    columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn("elapsed"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with contextlib.ExitStack() as stack:
        state: dict[str, object] = {}

        def progress(done: int, total: int) -> None:
            if "bar" not in state:
                bar = stack.enter_context(Progress(*columns, console=console, transient=False))
                state["bar"], state["task"] = bar, bar.add_task(label, total=total, completed=done)
            state["bar"].update(state["task"], completed=done, total=total)

        yield progress


def print_sweep_outcome(console: Console, outcome: SweepOutcome) -> None:
    """One paragraph: runs by status, time, throughput, where the results are."""
    counts = outcome.counts
    report = outcome.report
    ran = report.ok + report.failed + report.lost
    rate = 60.0 * ran / report.wall_s if report.wall_s > 0 else 0.0
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    console.print(f"[bold]citymodel sweep[/bold] — {outcome.spec.design} design, {outcome.total_runs} runs "
                  f"({parts or 'none yet'}) on {outcome.workers} workers")
    console.print(f"this session: {ran} runs in {report.wall_s:.1f} s ({rate:.1f} runs/min)"
                  + (f", {report.resubmitted} resubmitted after a lost worker" if report.resubmitted else ""))
    if counts.get("failed"):
        console.print("[yellow]failed runs are recorded with their error in the 'error' column[/yellow]")
    if counts.get("lost"):
        console.print("[yellow]lost runs (worker died repeatedly) run again with --resume[/yellow]")
    console.print(f"results: {outcome.out_dir / 'results.parquet'}")


def print_analysis(console: Console, analysis: Analysis, max_rows: int = 20) -> None:
    """The indices (sobol / morris) or the first point means, the notes and the files written."""
    if len(analysis.indices):
        table = Table(title="sensitivity indices", show_edge=False)
        for col in analysis.indices.columns:
            table.add_column(col, justify="left" if col in ("output", "parameter") else "right")
        for row in analysis.indices.itertuples(index=False):
            table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
        console.print(table)
    else:
        table = Table(title="point means (95 % t-interval over replicates)", show_edge=False)
        cols = [c for c in analysis.points.columns if c not in ("std",)]
        for col in cols:
            table.add_column(col, justify="left" if col == "output" else "right")
        for row in analysis.points[cols].head(max_rows).itertuples(index=False):
            table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
        console.print(table)
        if len(analysis.points) > max_rows:
            console.print(f"… {len(analysis.points) - max_rows} more rows in points.csv")
    for note in analysis.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    for path in analysis.files:
        console.print(str(path))
