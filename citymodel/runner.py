"""Run a configured model end to end: map -> model -> tables -> metrics (-> run folder).

The CLI, the validation checks, the benchmarks and the tests all call
:func:`simulate` (in memory) or :func:`run_to_folder` (writes a run folder), so
a run is computed the same way everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from citymodel.config import Config
from citymodel.metrics import compute_summary
from citymodel.outputs import RunFolder
from citymodel.tables import model_tables

Progress = Callable[[int, int], None]
"""Called as ``progress(hours_done, hours_total)`` after each simulated hour."""


@dataclass
class RunResult:
    """What one run produced.

    Attributes
    ----------
    model
        The finished :class:`~citymodel.model.CityModel` (its agents and state).
    tables
        The output tables (see :mod:`citymodel.tables`).
    summary
        ``summary.json`` as a dict (see ``docs/metrics.md``).
    timings
        Wall-clock seconds of ``load_map``, ``build_model``, ``simulate`` and ``outputs``.
    folder
        The run folder, when one was written.
    """

    model: Any
    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    folder: Path | None = None


def co2_factors(config: Config) -> dict[str, float]:
    """Emission factors by delivery mode (kg CO2e per vehicle-km) from the configuration."""
    return {
        "van": config.logistics.co2_van_kg_per_km,
        "cargo_bike": config.logistics.co2_cargo_bike_kg_per_km,
        "bike": 0.0,
        "walk": 0.0,
    }


def summarise(model, tables: dict[str, pd.DataFrame], baseline: dict | None = None) -> dict[str, Any]:
    """``summary.json`` of a finished model (metrics plus the run's notes and factors)."""
    cfg = model.config
    days = model.now / 1440.0 if model.now > 0 else float(cfg.run.days)
    summary = compute_summary(tables, days=days, n_citizens=len(model.population),
                              co2_kg_per_vehicle_km=co2_factors(cfg), baseline=baseline,
                              n_designers=len(model.designers), access_threshold_s=cfg.access.threshold_min * 60.0,
                              access_curve_minutes=cfg.access.curve_minutes)
    summary["run"].update({
        "seed": cfg.run.seed,
        "map": cfg.run.map,
        "map_checksum": model.city.checksum,
        "facilities_by_kind": tables["facilities"]["kind"].value_counts().sort_index().to_dict()
        if len(tables["facilities"]) else {},
        "n_designers": len(model.designers),
        "currency": model.city.metadata.get("currency") or "GBP",
        "notes": list(model.notes),
    })
    # issue 10: where incomes and zones came from (the printed summary says when incomes are synthetic)
    pop = model.population
    summary["run"]["zones"] = pop.zones.name if pop.zones is not None else None
    summary["run"]["n_zones"] = len(pop.zones) if pop.zones is not None else 0
    summary["inclusion"]["income_source"] = pop.income_source
    summary["inclusion"]["incomes_synthetic"] = pop.income_source == "synthetic"
    return summary


def simulate(config: Config, city=None, progress: Progress | None = None,
             baseline: dict | None = None) -> RunResult:
    """Build and run a model in memory; return its tables and summary."""
    from citymodel.maps import load_city
    from citymodel.model import CityModel

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if city is None:
        city = load_city(config.run.map)
    timings["load_map"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    model = CityModel(config, city)
    timings["build_model"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    model.run(progress=progress)
    timings["simulate"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    tables = model_tables(model)
    summary = summarise(model, tables, baseline)
    timings["outputs"] = time.perf_counter() - t3
    return RunResult(model, tables, summary, timings)


def run_to_folder(config: Config, out: Path, city=None, progress: Progress | None = None,
                  argv: list[str] | None = None, baseline: dict | None = None) -> RunResult:
    """Run a model and write its run folder ``out`` (which must be new or empty)."""
    from citymodel.maps import load_city
    from citymodel.residents import with_resolved_citizens
    from citymodel.siting import check_user_sites

    t0 = time.perf_counter()
    if city is None:
        city = load_city(config.run.map)
    load_s = time.perf_counter() - t0
    # issue 10: run.citizens 0 = the map's population, recorded as a number; a bad zones or sites file
    # fails here, before the run folder is created
    config = with_resolved_citizens(config, city)
    check_user_sites(city, config.facilities)
    folder = RunFolder(out)
    folder.start(config, city, argv)
    try:
        result = simulate(config, city, progress, baseline)
    except KeyboardInterrupt:
        folder.finish("interrupted")
        raise
    except Exception as exc:
        folder.finish("failed", error=f"{type(exc).__name__}: {exc}")
        raise
    result.timings["load_map"] = load_s
    t1 = time.perf_counter()
    folder.write_tables(result.tables)
    folder.write_summary(result.summary)
    result.timings["write"] = time.perf_counter() - t1
    folder.finish("completed", notes=result.model.notes, timings=result.timings)
    result.folder = folder.path
    return result
