"""What ``citymodel run`` shows: the progress bar while it simulates, the headline metrics when it ends.

The two consoles (``out`` for results, ``err`` for progress and messages) are shared by every command.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

out = Console(soft_wrap=True, width=max(110, shutil.get_terminal_size((110, 24)).columns))
err = Console(stderr=True)


def run_with_progress(cfg, folder: Path, city, quiet: bool, baseline: dict | None = None):
    """Run ``cfg`` into ``folder`` (:func:`citymodel.runner.run_to_folder`), a progress bar unless ``quiet``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from citymodel.runner import run_to_folder

    if quiet:
        return run_to_folder(cfg, folder, city=city, argv=sys.argv, baseline=baseline)
    columns = (TextColumn("[bold]simulating"), BarColumn(), MofNCompleteColumn(),
               TextColumn("hours"), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("run", total=int(round(cfg.run.days * 24)))

        def progress(done: int, total: int) -> None:
            if done % 24 == 0 or done == total:
                bar.update(task, completed=done)

        return run_to_folder(cfg, folder, city=city, progress=progress, argv=sys.argv, baseline=baseline)


def fmt(value, digits: int = 1, pct: bool = False) -> str:
    """A number for the console: '–' for None, thousands separators, or a percentage with ``pct``."""
    if value is None:
        return "–"
    if pct:
        return f"{100 * value:.{digits}f} %"
    return f"{value:,.{digits}f}"


def print_run_summary(result) -> None:
    """Print the headline metrics of a finished run."""
    s = result.summary
    run_info = s["run"]
    out.print(f"[bold]citymodel run[/bold] — {run_info['n_citizens']:,} citizens, "
              f"{run_info['days']:g} days, seed {run_info['seed']}, map {run_info['map']}")
    table = Table(title="orders by channel", show_edge=False)
    table.add_column("channel", no_wrap=True, min_width=16)
    for col in ("created", "delivered", "in progress", "cancelled", "mean h", "p90 h"):
        table.add_column(col, justify="right")
    for channel, counts in s["orders"].items():
        times = s["delivery_time_h"]["by_channel"].get(channel, {})
        table.add_row(channel, f"{counts['created']:,}", f"{counts['delivered']:,}",
                      f"{counts['in_progress']:,}", f"{counts['cancelled']:,}",
                      fmt(times.get("mean")), fmt(times.get("p90")))
    out.print(table)
    util = s["utilization"]
    kinds = ", ".join(f"{k} {fmt(v, 1, True)}" for k, v in util["by_facility_kind"].items())
    out.print(f"utilization: overall {fmt(util['overall'], 1, True)}; {kinds}")
    ad = s["adoption"]["final_counts"]
    out.print("adoption: " + ", ".join(f"{k} {v:,}" for k, v in ad.items()))
    inc = s["inclusion"]
    out.print("access ≤15 min walk by income quintile: "
              + " ".join(fmt(v, 0, True) for v in inc["access_15min_walk_by_income_quintile"]))
    out.print("DM participation by income quintile: "
              + " ".join(fmt(v, 1, True) for v in inc["participation_by_income_quintile"]))
    for what, key, digits in (("access ≤15 min walk", "access_15min_walk_by_imd_decile", 0),
                              ("DM participation", "participation_by_imd_decile", 1)):
        values = inc.get(key) or []
        if any(v is not None for v in values):
            out.print(f"{what} by IMD decile (1 = most deprived): "
                      + " ".join(f"{d}:{fmt(v, digits, True)}" for d, v in enumerate(values, 1) if v is not None))
    if inc.get("incomes_synthetic", False):
        out.print("incomes: synthetic (lognormal with a random spatial field; no zones with income or deciles)")
    elif inc.get("income_source"):
        out.print(f"incomes: from {inc['income_source'].removeprefix('zones: ')}")
    loc = s["localisation"]
    out.print(f"local share of units: {fmt(loc.get('local_share_of_units'), 1, True)}; "
              f"delivery vehicle-km {fmt(loc.get('delivery_vehicle_km'))}; "
              f"CO2 {fmt(loc.get('co2_kg'))} kg")
    for note in run_info.get("notes", []):
        out.print(f"[yellow]note:[/yellow] {note}")
    ok = s["conservation"]["all_ok"]
    out.print(f"conservation checks: {'ok' if ok else '[red]FAILED[/red]'}")
    out.print(f"run folder: {result.folder}")
