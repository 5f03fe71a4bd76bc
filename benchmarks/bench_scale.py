"""City-scale benchmark: the model at several sizes beside a typical-Mesa reference (``citymodel bench``).

Same code as ``citymodel bench`` (``citymodel.bench``); each size runs in a fresh
process. ``--profile`` instead cProfiles one in-process run (build + simulate) and
prints the top entries by own time. Usage::

    python benchmarks/bench_scale.py                                  # 10k, 100k, 500k citizens x 365 days
    python benchmarks/bench_scale.py --citizens 10000 --days 30 --json
    python benchmarks/bench_scale.py --profile --citizens 100000 --days 365
"""

from __future__ import annotations

import argparse
import json

from rich.console import Console

from citymodel.bench import format_rows, profile_run, run_scale_benchmark


def main() -> None:
    """Parse the command line; print a line (or JSON object) per row and the table at the end."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, action="append", help="population size (repeatable)")
    parser.add_argument("--days", type=float, default=365.0, help="simulated days per size")
    parser.add_argument("--reference-citizens", type=int, default=1000, help="size of the typical-Mesa run")
    parser.add_argument("--reference-days", type=float, default=7.0, help="days of the typical-Mesa run")
    parser.add_argument("--seed", type=int, default=42, help="seed of every run")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--profile", action="store_true", help="cProfile one run of the first size instead")
    parser.add_argument("--top", type=int, default=25, help="entries shown with --profile")
    args = parser.parse_args()
    sizes = args.citizens or [10_000, 100_000, 500_000]
    console = Console(soft_wrap=True, width=160)
    if args.profile:
        print(profile_run(sizes[0], args.days, args.seed, args.top))
        return
    rows = []
    for row in run_scale_benchmark(sizes, args.days, args.reference_citizens, args.reference_days, args.seed):
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            console.print(format_rows([row]))
    if not args.json:
        console.print(format_rows(rows))


if __name__ == "__main__":
    main()
