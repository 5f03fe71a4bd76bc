"""The ``reproducibility`` check: same seed, same bytes, in this process and a fresh one."""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from citymodel.validation.context import _Context, city_config
from citymodel.validation.results import CheckResult


# --------------------------------------------------------------------------- reproducibility
def _run_folder(citizens: int, days: int, seed: int, out: str) -> str:
    """Write one default-map run folder (module level so a spawned worker can call it)."""
    from citymodel.runner import run_to_folder

    run_to_folder(city_config(citizens, days, seed), Path(out))
    return out


def parquet_bytes(folder: Path) -> dict[str, bytes]:
    """Every ``.parquet`` file of a run folder by name, as bytes."""
    return {p.name: p.read_bytes() for p in sorted(Path(folder).glob("*.parquet"))}


def _check_reproducibility(s: dict[str, Any], ctx: _Context) -> list[CheckResult]:
    from citymodel.runner import run_to_folder

    t0 = time.perf_counter()
    n, days, seed = s["citizens"], s["days"], s["seed"]
    other = seed + 1
    with tempfile.TemporaryDirectory(prefix="citymodel-validate-") as tmp:
        a, b, c = (Path(tmp) / name for name in ("same_seed_here", "same_seed_worker",
                                                 "other_seed"))
        run_to_folder(city_config(n, days, seed), a, city=ctx.city)
        # A fresh interpreter (spawn): other hash seed, nothing shared with this process.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(_run_folder, n, days, seed, str(b)).result()
        run_to_folder(city_config(n, days, other), c, city=ctx.city)
        first, second, third = parquet_bytes(a), parquet_bytes(b), parquet_bytes(c)
    names = sorted(set(first) | set(second))
    same = [name for name in names if first.get(name) == second.get(name)]
    differ = [name for name in names if name not in same]
    orders_differ = first.get("orders.parquet") != third.get("orders.parquet")
    params = {"citizens": n, "days": days, "seed": seed}
    seconds = time.perf_counter() - t0
    return [
        CheckResult("reproducibility", "identical_files", params, float(len(same)),
                    float(len(names)), 0.0, bool(names and not differ),
                    tolerance_basis="exact: byte-for-byte",
                    detail=(f"seed {seed} in this process and in a spawned worker; "
                            + (f"differ: {', '.join(differ)}" if differ
                               else f"all of {', '.join(names)} identical")),
                    seconds=seconds),
        CheckResult("reproducibility", "different_seed_differs", {**params, "other_seed": other},
                    float(orders_differ), 1.0, 0.0, bool(orders_differ and "orders.parquet"
                                                         in third),
                    tolerance_basis="exact: orders.parquet bytes differ",
                    detail=f"seed {seed} vs {other}: orders.parquet "
                    + ("differs" if orders_differ else "is identical"), seconds=seconds),
    ]
