"""Memory over a simulated year: resident memory (RSS) at the end of each simulated month of the default model.

Builds the default model (default map and configuration, 10,000 citizens) and
runs it for 365 days, printing after each calendar month (31, 28, 31, … days)
the process's resident memory (psutil), its growth since the end of the first
month, and what the run has accumulated by then: orders, trips, ledger rows,
hourly time-series rows, facilities, queued events, and the bytes held by the
growing output logs (numpy capacity of the order book, trip log and ledger, the
ledger's party strings and the hourly rows) and by the delivery-leg tables (a
row per facility: they grow as citizens become makers); "unexplained" is the
RSS growth minus the growth of both. ``--trace`` also runs tracemalloc
and prints the source lines whose live allocations grew most between the first
and the last month (slower). Usage::

    python benchmarks/bench_memory.py                       # 10,000 citizens x 365 days
    python benchmarks/bench_memory.py --citizens 100000 --json
    python benchmarks/bench_memory.py --trace --top 12
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
import tracemalloc

import numpy as np
import psutil

from citymodel.config import Config

MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
MIB = 2**20


def month_ends(days: float) -> list[tuple[int, int]]:
    """(month number, hour at its end) for every month end within ``days`` (365 = 12 months)."""
    out, day = [], 0
    for k, length in enumerate(MONTH_DAYS * (int(days) // 365 + 1), start=1):
        day += length
        if day > days:
            break
        out.append((k, day * 24))
    return out


def _table_bytes(table) -> int:
    return sum(col.nbytes for col in table._cols.values())


def _list_of_str_bytes(items: list[str]) -> int:
    """The list plus each distinct string object it holds (bytes)."""
    seen = {id(s): sys.getsizeof(s) for s in items}
    return sys.getsizeof(items) + sum(seen.values())


def _collector_bytes(collector) -> int:
    """The DataCollector's model variables: typed arrays (``array.array``) or lists of numbers (bytes)."""
    total = 0
    for values in collector.model_vars.values():
        total += sys.getsizeof(values)
        if isinstance(values, list):
            total += sum(sys.getsizeof(v) for v in values[-1:]) * len(values)
    return total


def log_bytes(model) -> dict[str, int]:
    """Bytes held by the output logs that grow with the run (numpy buffers and Python objects)."""
    return {
        "orders": _table_bytes(model.orders.t),
        "trips": _table_bytes(model.trips.t),
        "ledger": _table_bytes(model.ledger._rows) + _list_of_str_bytes(model.ledger._payer)
        + _list_of_str_bytes(model.ledger._payee),
        "timeseries_rows": model.observation.nbytes + _collector_bytes(model.datacollector),
    }


def delivery_table_bytes(model) -> int:
    """Bytes of the delivery-leg tables, one row per facility origin (they grow as citizens become makers)."""
    travel = getattr(model, "travel", None)
    arrays = [getattr(travel, name, None) for name in ("_d_time", "_d_dist", "_d_time_by_home")]
    return sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))


def measure(citizens: int, days: float, seed: int, trace: bool = False, top: int = 10,
            emit=None) -> dict:
    """Build and run the model; return the monthly rows (and the tracemalloc growth with ``trace``)."""
    from citymodel.maps import load_city
    from citymodel.model import CityModel

    process = psutil.Process()
    if trace:
        tracemalloc.start(10)
    cfg = Config()
    cfg.run.citizens, cfg.run.days, cfg.run.seed = citizens, days, seed
    cfg.validate()
    t0 = time.perf_counter()
    city = load_city(cfg.run.map)
    model = CityModel(cfg, city)
    build_s = time.perf_counter() - t0
    rss_built = process.memory_info().rss
    ends = dict((hour, month) for month, hour in month_ends(days))
    rows: list[dict] = []
    snapshots = {}

    def progress(hour: int, total: int) -> None:
        if hour not in ends:
            return
        logs = log_bytes(model)
        row = {
            "month": ends[hour], "day": hour // 24, "rss_mib": round(process.memory_info().rss / MIB, 1),
            "orders": len(model.orders), "trips": len(model.trips), "ledger_rows": len(model.ledger._payer),
            "timeseries_rows": len(model.timeseries_rows), "facilities": len(model.facilities),
            "queued_events": len(model.events), "log_mib": round(sum(logs.values()) / MIB, 1),
            "delivery_tables_mib": round(delivery_table_bytes(model) / MIB, 1),
            **{f"{k}_mib": round(v / MIB, 2) for k, v in logs.items()},
            "elapsed_s": round(time.perf_counter() - t0, 2),
        }
        first = rows[0] if rows else row
        row["growth_mib"] = round(row["rss_mib"] - first["rss_mib"], 1)
        explained = (row["log_mib"] - first["log_mib"]) + (row["delivery_tables_mib"] - first["delivery_tables_mib"])
        row["unexplained_mib"] = round(row["growth_mib"] - explained, 1)
        rows.append(row)
        if trace and ends[hour] in (1, max(ends.values())):
            gc.collect()
            snapshots[ends[hour]] = tracemalloc.take_snapshot()
        if emit is not None:
            emit(row)

    model.run(progress=progress)
    result = {"citizens": citizens, "days": days, "seed": seed, "build_s": round(build_s, 2),
              "rss_after_build_mib": round(rss_built / MIB, 1), "months": rows}
    if trace and len(snapshots) == 2:
        first, last = snapshots[1], snapshots[max(snapshots)]
        stats = last.compare_to(first, "lineno")
        result["growth_by_line"] = [
            {"where": str(s.traceback[0]), "kib": round(s.size_diff / 1024, 1), "count": s.count_diff}
            for s in stats[:top]
        ]
        tracemalloc.stop()
    return result


COLUMNS = ("month", "day", "rss_mib", "growth_mib", "log_mib", "delivery_tables_mib", "unexplained_mib", "orders",
           "trips", "ledger_rows", "timeseries_rows", "facilities", "queued_events", "elapsed_s")


def format_table(result: dict) -> str:
    """The monthly rows as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---:|" * len(COLUMNS)]
    for row in result["months"]:
        lines.append("| " + " | ".join(f"{row[c]:,}" if isinstance(row[c], int) else f"{row[c]}"
                                       for c in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> None:
    """Parse the command line, run, print one line per month and a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=10_000, help="population (default 10,000)")
    parser.add_argument("--days", type=float, default=365.0, help="simulated days (default 365)")
    parser.add_argument("--seed", type=int, default=42, help="seed")
    parser.add_argument("--json", action="store_true", help="one JSON object per month, then the result")
    parser.add_argument("--trace", action="store_true", help="tracemalloc: lines whose allocations grew most")
    parser.add_argument("--top", type=int, default=10, help="lines shown with --trace")
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {psutil.cpu_count()} CPUs, "
          f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM, Python {platform.python_version()}, "
          f"numpy {np.__version__}", file=sys.stderr)

    def emit(row: dict) -> None:
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(f"month {row['month']:2d} (day {row['day']:3d}): RSS {row['rss_mib']:7.1f} MiB "
                  f"({row['growth_mib']:+.1f} since month 1; output logs {row['log_mib']:.1f} MiB, of which "
                  f"hourly rows {row['timeseries_rows_mib']:.1f}; delivery tables {row['delivery_tables_mib']:.1f} "
                  f"MiB; unexplained {row['unexplained_mib']:+.1f}), {row['orders']:,} orders, "
                  f"{row['facilities']:,} facilities", flush=True)

    result = measure(args.citizens, args.days, args.seed, args.trace, args.top, emit)
    if args.json:
        print(json.dumps(result))
        return
    print(f"\nbuild {result['build_s']} s, RSS after build {result['rss_after_build_mib']} MiB\n")
    print(format_table(result))
    for entry in result.get("growth_by_line", []):
        print(f"{entry['kib']:>10,.1f} KiB {entry['count']:>+9,d} blocks  {entry['where']}")


if __name__ == "__main__":
    main()
